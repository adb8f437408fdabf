"""The shipped Word templates as text: each one's wording is kept in ``tests/snapshots/<kind>.txt``.

The templates in ``templates/`` are the source of every document and are edited in Word, so a
change of wording would otherwise hide inside a zip. This test writes each template's text —
paragraphs with their style, table rows, content controls with their tags, the header and the
footer — and compares it with the snapshot. When a template changes, the test rewrites the
snapshot (except in CI) and fails once: review ``git diff tests/snapshots`` and commit both.
"""

from __future__ import annotations

import pytest
from docx import Document
from docx.oxml.ns import qn

from agreementgen.kinds import KINDS
from conftest import ROOT, in_ci

SNAPSHOTS = ROOT / "tests" / "snapshots"


def template_text(path) -> str:
    """One line per paragraph (``[Style] text``) or table row (``| cell | cell |``); a content
    control shows as ``⟦tag: text⟧`` (locked ones ``⟦tag 🔒: text⟧``)."""
    document = Document(str(path))
    styles = {s.style_id: s.name for s in document.styles}
    lines: list[str] = []

    def inline(element) -> str:
        out = []
        for child in element:
            if child.tag == qn("w:t"):
                out.append(child.text or "")
            elif child.tag in (qn("w:tab"),):
                out.append("\t")
            elif child.tag == qn("w:br"):
                out.append("↵")
            elif child.tag == qn("w:sdt"):
                pr = child.find(qn("w:sdtPr"))
                tag = pr.find(qn("w:tag")) if pr is not None else None
                lock = pr.find(qn("w:lock")) if pr is not None else None
                name = tag.get(qn("w:val")) if tag is not None else "untagged"
                locked = " 🔒" if lock is not None and "Locked" in (lock.get(qn("w:val")) or "") else ""
                out.append(f"⟦{name}{locked}: {inline(child.find(qn('w:sdtContent')))}⟧")
            elif child.tag == qn("w:instrText"):
                out.append(f"{{field {(child.text or '').strip()}}}")
            elif child.tag not in (qn("w:rPr"), qn("w:pPr"), qn("w:sdtPr")):
                out.append(inline(child))
        return "".join(out)

    def paragraph(p, indent: str = "") -> None:
        ppr = p.find(qn("w:pPr"))
        style = ppr.find(qn("w:pStyle")) if ppr is not None else None
        name = styles.get(style.get(qn("w:val")), "?") if style is not None else "Normal"
        lines.append(f"{indent}[{name}] {inline(p)}".rstrip())

    def block(container, indent: str = "") -> None:
        for child in container:
            if child.tag == qn("w:p"):
                paragraph(child, indent)
            elif child.tag == qn("w:tbl"):
                lines.append(f"{indent}table:")
                for tr in child.iter(qn("w:tr")):
                    cells = [" / ".join(inline(p) for p in tc.iter(qn("w:p"))) for tc in tr.iter(qn("w:tc"))]
                    lines.append(f"{indent}  | " + " | ".join(cells) + " |")
            elif child.tag == qn("w:sdt"):
                block(child.find(qn("w:sdtContent")), indent + "  ")

    for section in document.sections[:1]:
        lines.append("== header ==")
        block(section.header._element)
    lines.append("== body ==")
    block(document.element.body)
    for section in document.sections[:1]:
        lines.append("== footer ==")
        block(section.footer._element)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_shipped_templates_wording_is_in_its_snapshot(kind: str):
    text = template_text(ROOT / "templates" / f"{kind}.docx")
    snapshot = SNAPSHOTS / f"{kind}.txt"
    before = snapshot.read_text(encoding="utf-8") if snapshot.exists() else None
    if before == text:
        return
    if not in_ci():
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(text, encoding="utf-8")
    pytest.fail(
        f"templates/{kind}.docx's text differs from {snapshot.relative_to(ROOT)}"
        + ("" if in_ci() else " (rewritten: review `git diff tests/snapshots` and commit it)")
    )


def test_the_snapshot_text_shows_styles_tables_and_controls():
    text = (SNAPSHOTS / "section7.txt").read_text(encoding="utf-8")
    assert "[Heading 1] 1. Background & Context" in text
    assert "⟦term_total 🔒: {{ terms.term_total }}⟧" in text
    assert "| Component | Rate per patient | Amount |" in text
    assert "{field PAGE}" in text
