"""The registry of document kinds against every shipped scheme: documented variables, the ``context``
command and ``check-template`` on the shipped templates, and what check-template says about bad ones.

Each kind's ``VARIABLES`` documents the dotted paths a template can use; the example context of every
shipped scheme the kind applies to must provide exactly those, no more and no fewer. A list that is
empty in one scheme's example (the LES has no outcome services, so ``services[].kpis[]`` is empty
there) gives no field names for that scheme, so the documented set is compared with the union over
the schemes, and each scheme on its own may only provide documented paths.
"""

from __future__ import annotations

import io
import json
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from agreementgen.cli import app
from agreementgen.context import documented_paths, example_practice, leaf_paths
from agreementgen.kinds import KINDS
from agreementgen.kinds.sla import build_sla_contexts, example_signups
from agreementgen.provenance import Entry, Provenance
from agreementgen.render.template import WordTemplate, check
from agreementgen.scheme import TermsSection
from agreementgen.validation import load_any_scheme, scheme_model
from conftest import QEF, ROOT, SCHEMES, empty_lists_aside

runner = CliRunner()
TEMPLATES = ROOT / "templates"
SHIPPED = sorted(SCHEMES.glob("*.yaml"))
LES = SCHEMES / "cpccg-les-2017-18.yaml"
SW = SCHEMES / "sw-outcomes-2015-16.yaml"

# The SLA documents these lists as "the services paid per unit of activity, and the outcome services
# (the same fields as services[])" and "services other than outcome targets": each item is one of
# ``services[]``, so its fields are those documented under services[]; the list itself is the leaf.
SERVICE_SUBLISTS = ("activity_services", "outcome_services", "priced_services", "claimed_services")


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def exited(result, code: int) -> None:
    """``code`` from the command itself: never an uncaught exception (a traceback)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def applicable() -> list[tuple[str, Path]]:
    return [
        (name, scheme)
        for scheme in SHIPPED
        for name, kind in KINDS.items()
        if kind.for_scheme(scheme_model(scheme))
    ]


def case_id(case: tuple[str, Path]) -> str:
    return f"{case[0]}-{case[1].stem}"


CASES = applicable()


@cache
def spec(scheme: Path):
    return load_any_scheme(scheme)


def example(name: str, scheme: Path) -> dict[str, Any]:
    return KINDS[name].example(spec(scheme))


def all_paths(value: Any, prefix: str = "") -> set[str]:
    """Like ``leaf_paths``, but through every item of a list, not only the first: ``[]`` ends an
    empty list or a list of plain values."""
    if prefix == "terms" or not isinstance(value, dict | list):
        return {prefix}
    if isinstance(value, list):
        if not value:
            return {f"{prefix}[]"}
        return set().union(*(all_paths(item, f"{prefix}[]") for item in value))
    paths: set[str] = set()
    for key, item in value.items():
        paths |= all_paths(item, f"{prefix}.{key}" if prefix else key)
    return paths


def provided(name: str, context: dict[str, Any]) -> set[str]:
    """The paths a context provides, with the SLA's service sub-lists as the leaves they are documented as."""
    if name == "sla":
        for key in SERVICE_SUBLISTS:
            assert all(item in context["services"] for item in context[key]), key
        context = {**context, **{key: [] for key in SERVICE_SUBLISTS}}
    return all_paths(context)


def empty_lists_filled_elsewhere(paths: set[str]) -> set[str]:
    """``x[]`` markers of a list empty in one example whose items' fields another example shows."""
    return {p for p in paths if p.endswith("[]") and any(q.startswith(p + ".") for q in paths)}


# --- variables: documented == provided --------------------------------------------------------


def test_every_kind_applies_to_some_shipped_scheme_and_every_scheme_gets_its_kinds():
    assert {name for name, _ in CASES} == set(KINDS)
    per_scheme = {s.stem: sorted(n for n, sc in CASES if sc == s) for s in SHIPPED}
    assert per_scheme == {
        "camden-lcs-2019-20": ["claim", "sla", "statement"],
        "cpccg-les-2017-18": ["claim", "sla", "statement"],
        "cpccg-qef-2017-18": ["section7", "statement"],
        "sw-outcomes-2015-16": ["claim", "sla", "statement"],
    }


@pytest.mark.parametrize("name", sorted(KINDS))
def test_the_examples_provide_exactly_the_documented_variables_over_the_shipped_schemes(name: str):
    documented = documented_paths(KINDS[name].variables)
    union: set[str] = set()
    for kind_name, scheme in CASES:
        if kind_name != name:
            continue
        paths = provided(name, example(name, scheme))
        # each scheme alone: nothing undocumented; an empty list only where its fields are documented
        empty = {p for p in paths if p.endswith("[]") and p not in documented}
        assert paths - empty <= documented, (scheme.stem, sorted(paths - empty - documented))
        assert all(any(d.startswith(p + ".") for d in documented) for p in empty), (scheme.stem, empty)
        union |= paths
    if name == "sla":  # no shipped service scheme has terms: one that has them shows their fields
        with_terms = spec(LES).model_copy(
            update={"terms": [TermsSection(id="termination", title="Termination", paragraphs=["One month."])]}
        )
        union |= provided(name, KINDS[name].example(with_terms))
    if name == "section7":  # the QEF's illustrative items are printed in statements only: one that is not
        marked = Entry(item="commissioner.return_email", illustrative="made up", label="the return address")
        with_notice = spec(QEF).model_copy(update={"provenance": Provenance(items=[marked])})
        union |= provided(name, KINDS[name].example(with_notice))
    union -= empty_lists_filled_elsewhere(union)
    assert union == documented, (sorted(union - documented), sorted(documented - union))


@pytest.mark.parametrize(
    "name, scheme", [c for c in CASES if c[0] != "sla"], ids=[case_id(c) for c in CASES if c[0] != "sla"]
)
def test_leaf_paths_of_each_example_equal_the_documented_paths(name: str, scheme: Path):
    """Where no list is documented as a leaf, the helpers agree exactly (but for empty lists' fields)."""
    provided, documented = empty_lists_aside(
        leaf_paths(example(name, scheme)), documented_paths(KINDS[name].variables)
    )
    assert provided == documented


def test_an_empty_kpi_list_is_why_the_les_alone_cannot_show_every_sla_variable():
    context = example("sla", LES)
    assert context["services"] and all(s["kpis"] == [] for s in context["services"])
    documented = documented_paths(KINDS["sla"].variables)
    assert {"services[].kpis[].id", "services[].kpis[].title"} <= documented
    assert "services[].kpis[]" in provided("sla", context)
    assert any(p.startswith("services[].kpis[].") for p in provided("sla", example("sla", SW)))


def test_the_slas_service_sublists_hold_services_items_including_claimed_only_services():
    """``claimed_services`` is empty when every service has a plan; with no plan it is filled."""
    scheme = spec(LES)
    practice = example_practice(scheme)
    unplanned = build_sla_contexts(scheme, practice, example_signups(scheme, practice, planned=0))[0]
    assert unplanned["claimed_services"], "the LES has activity services paid only on claims"
    for key in SERVICE_SUBLISTS:
        assert all(item in unplanned["services"] for item in unplanned[key])
    assert example("sla", LES)["claimed_services"] == []


# --- the context command ----------------------------------------------------------------------


@pytest.mark.parametrize("name, scheme", CASES, ids=[case_id(c) for c in CASES])
def test_the_context_command_prints_the_kinds_example_as_json(name: str, scheme: Path):
    result = invoke("context", "--scheme", str(scheme), "--docs", name)
    exited(result, 0)
    printed = json.loads(result.stdout)
    assert printed == example(name, scheme)
    assert printed["document"]["id"].endswith(f":A00001:{printed['document']['kind']}")


@pytest.mark.parametrize(
    "name, scheme, model",
    [("sla", QEF, "per-capita"), ("claim", QEF, "per-capita"), ("section7", LES, "services")],
)
def test_the_context_command_refuses_a_kind_of_another_kind_of_scheme(name: str, scheme: Path, model: str):
    result = invoke("context", "--scheme", str(scheme), "--docs", name)
    exited(result, 1)
    assert f"{name} documents are not made from a {model} scheme; use --docs" in result.output
    assert result.stdout == ""


# --- check-template on the shipped templates ----------------------------------------------------


@cache
def example_pdf_fields(name: str, scheme: Path) -> list[str]:
    pdf = WordTemplate(TEMPLATES / f"{name}.docx").render(example(name, scheme), ["pdf"])["pdf"]
    return sorted(PdfReader(io.BytesIO(pdf)).get_fields() or {})


def shipped_case(case: tuple[str, Path]):
    return pytest.param(*case, id=case_id(case))


@pytest.mark.parametrize("name, scheme", [shipped_case(c) for c in CASES])
def test_check_template_passes_each_shipped_template_and_lists_its_documents_fields(name: str, scheme: Path):
    template = TEMPLATES / f"{name}.docx"
    result = invoke("check-template", str(template), "--scheme", str(scheme), "--docs", name)
    exited(result, 0)
    assert f"{template}: every variable it uses is provided" in result.output
    assert f"{template}: the PDF shows everything in it" in result.output
    assert "the context does not provide" not in result.output
    report = check(template, example(name, scheme))
    assert (report.missing, report.unsupported) == ([], [])
    # the fields of every document rendered from it: its controls' fields, and the hidden doc_id the
    # PDF writer adds to every document (a statement is no form: it has nothing else)
    fields = example_pdf_fields(name, scheme)
    assert report.fields == fields and "doc_id" in fields
    assert f"{len(fields)} form field(s): {', '.join(fields)}\n" in result.output
    if name == "statement":
        assert fields == ["doc_id"]
    else:
        assert "term_scheme" in fields


def test_check_template_lists_the_form_fields_an_issued_kind_asks_for():
    """The fields listed are the real ones: the four leads and signatures of the QEF's Section 7."""
    report = check(TEMPLATES / "section7.docx", example("section7", QEF))
    asked = {f["tag"] for f in example("section7", QEF)["form"]["fields"]}
    assert asked <= set(report.fields)
    assert {"practice_digital_signature", "term_total", "term_list_size"} <= set(report.fields)


@pytest.mark.parametrize(
    "name, scheme, model, use",
    [
        ("sla", QEF, "per-capita", "section7"),
        ("claim", QEF, "per-capita", "section7"),
        ("section7", LES, "services", "sla"),
        ("section7", SCHEMES / "camden-lcs-2019-20.yaml", "services", "sla"),
    ],
)
def test_check_template_refuses_a_kind_the_scheme_does_not_issue(
    name: str, scheme: Path, model: str, use: str
):
    result = invoke(
        "check-template", str(TEMPLATES / f"{name}.docx"), "--scheme", str(scheme), "--docs", name
    )
    exited(result, 1)
    assert f"error: at '--docs': {name} documents are not made from a {model} scheme; use --docs {use}" in (
        result.output
    )
    assert "every variable it uses" not in result.output
    # without --docs the kind is taken from the file name, and refused the same way
    default = invoke("check-template", str(TEMPLATES / f"{name}.docx"), "--scheme", str(scheme))
    exited(default, 1)
    assert f"{name} documents are not made from a {model} scheme" in default.output


def test_check_template_refuses_an_unknown_kind_by_name():
    result = invoke(
        "check-template", str(TEMPLATES / "section7.docx"), "--scheme", str(QEF), "--docs", "sectoin7"
    )
    exited(result, 1)
    assert "unknown document kind 'sectoin7'; known kinds: claim, section7, sla, statement" in result.output


# --- check-template on edited templates --------------------------------------------------------------

FOOTNOTES = (
    '<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p>'
    '</w:footnote><w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r>'
    '<w:r><w:t xml:space="preserve"> As agreed with the LMC.</w:t></w:r></w:p></w:footnote></w:footnotes>'
)


def edited(
    target: Path, replacements: list[tuple[str, str, str]], extra: dict[str, str] | None = None
) -> Path:
    """A copy of the shipped Section 7 with (part, old, new) replacements, as a Word user's edit saves."""
    source = zipfile.ZipFile(TEMPLATES / "section7.docx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item)
            for part, old, new in replacements:
                if item.filename == part:
                    text = data.decode("utf-8")
                    assert text.count(old) == 1, old
                    data = text.replace(old, new).encode("utf-8")
            out.writestr(item, data)
        for name, text in (extra or {}).items():
            out.writestr(name, text)
    target.write_bytes(buffer.getvalue())
    return target


@pytest.fixture
def unknown_variable(tmp_path: Path) -> Path:
    return edited(
        tmp_path / "section7.docx",
        [("word/document.xml", "<w:t>3.1 Funding</w:t>", "<w:t>3.1 Funding for {{ practice.nmae }}</w:t>")],
    )


def test_check_template_names_an_unknown_variable_and_exits_1(unknown_variable: Path):
    result = invoke("check-template", str(unknown_variable), "--scheme", str(QEF))
    exited(result, 1)
    said = "1 variable(s) the context does not provide:\n  practice.nmae (word/document.xml, near '3.1"
    assert said in result.output
    assert "every variable it uses is provided" not in result.output
    assert check(unknown_variable, example("section7", QEF)).missing == ["practice.nmae"]


def test_check_template_says_where_an_unknown_variable_is_used(unknown_variable: Path):
    result = invoke("check-template", str(unknown_variable), "--scheme", str(QEF))
    line = next(line for line in result.output.splitlines() if "practice.nmae" in line)
    assert "3.1 Funding" in line or "word/document.xml" in line, line


def test_a_missing_variable_does_not_turn_template_expressions_into_field_names(unknown_variable: Path):
    report = check(unknown_variable, example("section7", QEF))
    assert report.missing == ["practice.nmae"]
    assert not [name for name in report.fields if "{" in name], report.fields


@pytest.mark.parametrize(
    "replacements, extra, what, near",
    [
        pytest.param(
            [
                (
                    "word/document.xml",
                    "<w:t>3.1 Funding</w:t></w:r>",
                    '<w:t>3.1 Funding</w:t></w:r><w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
                    '<w:footnoteReference w:id="1"/></w:r>',
                ),
                (
                    "word/_rels/document.xml.rels",
                    "</Relationships>",
                    '<Relationship Id="rIdFootnotes" Type="http://schemas.openxmlformats.org/officeDocument/'
                    '2006/relationships/footnotes" Target="footnotes.xml"/></Relationships>',
                ),
                (
                    "[Content_Types].xml",
                    "</Types>",
                    '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-'
                    'officedocument.wordprocessingml.footnotes+xml"/></Types>',
                ),
            ],
            {"word/footnotes.xml": FOOTNOTES},
            "a footnote or endnote",
            "3.1 Funding",
            id="footnote",
        ),
        pytest.param(
            [
                (
                    "word/document.xml",
                    "<w:t>7. Parties to the agreement</w:t></w:r>",
                    '<w:t>7. Parties to the agreement</w:t></w:r><w:r><w:pict><v:shape id="box1" '
                    'type="#_x0000_t202" style="width:120pt;height:40pt"><v:textbox><w:txbxContent><w:p><w:r>'
                    "<w:t>Signed copies to the ICB</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape>"
                    "</w:pict></w:r>",
                )
            ],
            None,
            "a text box, shape or embedded object (VML)",
            "7. Parties to the agreement",
            id="text-box",
        ),
    ],
)
def test_check_template_reports_what_the_pdf_cannot_render_and_where(
    tmp_path, replacements, extra, what, near
):
    template = edited(tmp_path / "section7.docx", replacements, extra)
    result = invoke("check-template", str(template), "--scheme", str(QEF))
    exited(result, 1)
    assert f"{template}: every variable it uses is provided" in result.output
    assert "1 thing(s) the PDF writer cannot render (generate refuses to write a PDF" in result.output
    assert f"  {what} (word/document.xml, near '{near}" in result.output
    assert "the PDF shows everything in it" not in result.output
    report = check(template, example("section7", QEF))
    assert [(u.what, u.part) for u in report.unsupported] == [(what, "word/document.xml")]
    assert report.unsupported[0].near.startswith(near)


def test_generate_renders_the_slas_of_the_shipped_scheme_without_a_sign_up_deadline(tmp_path: Path):
    assert spec(SW).sign_up_deadline is None
    (tmp_path / "practices.csv").write_text(
        "code,name,postcode,list_size\nD81001,Lensfield,CB2 1EH,5800\n", encoding="utf-8"
    )
    rows = "".join(f"D81001,{s.id},10\n" for s in spec(SW).offered)
    (tmp_path / "signups.csv").write_text("practice_code,service,planned\n" + rows, encoding="utf-8")
    result = invoke(
        "generate", "--scheme", str(SW), "-p", str(tmp_path / "practices.csv"),
        "--signups", str(tmp_path / "signups.csv"), "--out", str(tmp_path / "out"), "--jobs", "1",
        "--format", "pdf", "--db", f"sqlite:///{tmp_path / 'records.db'}",
    )  # fmt: skip
    exited(result, 0)
    assert list((tmp_path / "out" / "D81001").glob("sla_*.pdf"))
