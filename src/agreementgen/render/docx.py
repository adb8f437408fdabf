"""DOCX documents from docxtpl templates: compiled once per run, rendered per practice.

This module owns everything between a Word template and the bytes of one practice's
DOCX, and the reading back of what those bytes carry:

* ``CompiledDocx(path)`` reads a template once, runs docxtpl's own tag preprocessing
  (``DocxTemplate.patch_xml``, so ``{%p %}``, ``{%tr %}``, ``{%r %}`` … work) over the
  document, header, footer and notes XML, and compiles each part once with a sandboxed,
  autoescaping, ``StrictUndefined`` Jinja environment. ``render(context)`` then only
  runs the compiled parts, does the post-processing docxtpl's own ``render`` does that
  matters (paragraph line feeds, tab/line-break listing, table grids, drawing ids), adds
  the custom document properties that identify the document (``doc_id``,
  ``terms_digest``, ...) and writes a deterministic zip: same context, same bytes. Parts
  the template does not touch are compressed once, at compile time.
* Practice data is data: values are escaped into the XML, never parsed as template
  (a practice called ``{{ 7*7 }}`` prints exactly that), and characters XML cannot carry
  are dropped rather than corrupting the document.
* Errors: a template syntax error is a ``TemplateError`` naming the template, the part and
  line, raised by the constructor (before any practice is rendered); a variable the
  context lacks is a ``TemplateError`` naming it; anything else that goes wrong for one
  document is a ``RenderError``.
* ``template_variables`` / ``check_template``: what a template uses, statically, against
  what a context provides (``agreementgen check-template``).
* ``read_custom_properties`` / ``read_content_controls``: the returns side — the document
  id and terms digest from the custom properties, and every tagged content control's
  text (fillable fields and locked issued terms) from a DOCX, parsed defensively (size
  limits, no entity expansion, no network).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from docxtpl import DocxTemplate
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree  # type: ignore[import-untyped,unused-ignore]
from markupsafe import Markup

from ..context import leaf_paths
from ..errors import AgreementgenError, RenderError, TemplateError

__all__ = [
    "CUSTOM_PROPERTIES",
    "CompiledDocx",
    "TemplateCheck",
    "check_template",
    "compare_paths",
    "jinja_paths",
    "read_content_controls",
    "read_custom_properties",
    "read_main_part",
    "template_variables",
]

# --- OOXML names ---------------------------------------------------------------------------

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
REL_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
REL_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
CT_CUSTOM = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CT_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
CT_WORD_STORIES = frozenset(
    {
        _WML + "document.main+xml",
        _WML + "template.main+xml",
        "application/vnd.ms-word.document.macroEnabled.main+xml",
        "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
        _WML + "header+xml",
        _WML + "footer+xml",
        _WML + "footnotes+xml",
        _WML + "endnotes+xml",
    }
)
_STORY_RELS = tuple(
    f"http://schemas.openxmlformats.org/officeDocument/2006/relationships/{name}"
    for name in ("header", "footer", "footnotes", "endnotes")
)
CONTENT_TYPES = "[Content_Types].xml"
PACKAGE_RELS = "_rels/.rels"
CUSTOM_PART = "docProps/custom.xml"
_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"  # the one format id Word uses for custom properties

# The custom document properties every rendered DOCX carries, and where each comes from.
CUSTOM_PROPERTIES: dict[str, tuple[str, str]] = {
    "doc_id": ("document", "id"),
    "terms_digest": ("document", "terms_digest"),
    "scheme_id": ("scheme", "id"),
    "scheme_version": ("scheme", "version"),
    "practice_code": ("practice", "code"),
    "kind": ("document", "kind"),
    "doc_revision": ("document", "revision"),
}

# Reading returned files: generous for a real agreement, small enough to refuse a zip bomb.
MAX_PART_BYTES = 32 * 1024 * 1024
MAX_MEMBERS = 2000

_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

# --- the Jinja side --------------------------------------------------------------------------

_JINJA_MARK = re.compile(r"\{[{%#]")
_JINJA_TAG = re.compile(r"\{[{%].*?[}%]\}", re.DOTALL)  # a {{ … }} or {% … %} on one line of a part's source
# Characters XML 1.0 cannot carry (tab, line feed and carriage return are fine), and lone surrogates.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LISTING = re.compile("[\t\n\x07\x0c]")
_PARAGRAPH_LF = re.compile(r"\n<w:p([ >])")
_PARAGRAPH = re.compile(r"<w:p([ >])")
_CELL_TAGS = re.compile(r"\{[{%]tc |\{%\s*(?:hm|colspan)\b")
_UNDEFINED_NAME = re.compile(r"has no attribute '([^']+)'|^'([^']+)' is undefined")
_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# docxtpl's escapes for literal braces in template text; turned into Jinja string output so that
# a value that happens to contain "{_{" is never rewritten.
_LITERAL_BRACES = (("{_{", "{{ '{{' }}"), ("}_}", "{{ '}}' }}"), ("{_%", "{{ '{%' }}"), ("%_}", "{{ '%}' }}"))


def _finalize(value: Any) -> Any:
    """Every printed value: drop what XML cannot carry; normalise line ends to line feeds."""
    if isinstance(value, str) and not isinstance(value, Markup):
        if "\r" in value:
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        if _XML_INVALID.search(value):
            value = _XML_INVALID.sub("", value)
    return value


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=jinja2.StrictUndefined, finalize=_finalize)


@dataclass
class _Part:
    """One XML part of the template, compiled."""

    name: str
    source: str  # the Jinja source (after docxtpl preprocessing)
    template: jinja2.Template
    filename: str  # the name Jinja's tracebacks carry for this part
    word: bool  # a WordprocessingML story (document, header, footer, notes) vs core properties
    loops_cells: bool  # uses {%tc %}, {% hm %} or {% colspan %}: table grids need fixing after rendering
    has_drawings: bool  # has pictures/shapes whose ids must be renumbered after rendering
    variables: frozenset[str]  # every path used
    printed: frozenset[str]  # the paths used other than only as a loop's list
    guards: Mapping[str, frozenset[Guards]]  # path -> the if-tests each use of it is under


@dataclass(frozen=True)
class _Member:
    """A zip member ready to write: its name, crc, size and deflated bytes."""

    name: bytes
    flags: int
    crc: int
    size: int
    data: bytes


class CompiledDocx:
    """A DOCX template read and compiled once; ``render(context)`` gives one document's bytes.

    ``sha256`` is the template file's hash (recorded with every issued document);
    ``variables`` the dotted context paths it uses (see ``template_variables``).
    """

    def __init__(self, template_path: str | Path) -> None:
        self.path = Path(template_path)
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            reason = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror
            raise TemplateError(f"cannot read the template: {reason}", path=self.path) from exc
        self.sha256 = hashlib.sha256(raw).hexdigest()
        self._docxtpl = DocxTemplate(self.path)  # used for its XML helpers only; never opened
        self._env = _environment()
        members = _read_template_members(raw, self.path)
        content_types = _content_types(members, self.path)

        self._parts: list[_Part] = []
        for name, data in members.items():
            part = self._compile_part(name, data, content_types.get(name, ""))
            if part is not None:
                self._parts.append(part)
        self.variables: frozenset[str] = frozenset().union(*(p.variables for p in self._parts))
        self._printed: frozenset[str] = frozenset().union(*(p.printed for p in self._parts))
        self._guards: dict[str, frozenset[Guards]] = {}
        for part in self._parts:
            for path, uses in part.guards.items():
                self._guards[path] = self._guards.get(path, frozenset()) | uses
        self._by_filename = {p.filename: p for p in self._parts}

        self._foreign_properties = _foreign_custom_properties(members.get(CUSTOM_PART), self.path)
        members[CONTENT_TYPES] = _with_custom_content_type(members[CONTENT_TYPES], self.path)
        members[PACKAGE_RELS] = _with_custom_relationship(members.get(PACKAGE_RELS), self.path)
        self._order = [*members, *([CUSTOM_PART] if CUSTOM_PART not in members else [])]
        dynamic = {p.name for p in self._parts} | {CUSTOM_PART}
        # The parts every document shares, as they are (for the PDF writer) and deflated (for the zip).
        self._template = dict(members)
        self._raw = {name: data for name, data in members.items() if name not in dynamic}
        self._static = {name: _deflate(name, data) for name, data in self._raw.items()}

    # -- compiling ---------------------------------------------------------------------------

    def _compile_part(self, name: str, data: bytes, content_type: str) -> _Part | None:
        loops_cells = has_drawings = False
        if content_type in CT_WORD_STORIES:
            root = _parse(data, name, self.path, TemplateError)
            loops_cells = bool(_CELL_TAGS.search("".join(root.itertext())))
            has_drawings = root.find(f".//{{{WP}}}docPr") is not None
            source = self._docxtpl.patch_xml(etree.tostring(root, encoding="unicode"))
            if not _JINJA_MARK.search(source):
                return None
            # One paragraph per line, as docxtpl does, so errors point near the paragraph.
            source = _PARAGRAPH.sub(r"\n<w:p\1", source)
            word = True
        elif content_type == CT_CORE:
            source = data.decode("utf-8", errors="replace")
            if not _JINJA_MARK.search(source):
                return None
            word = False
        else:
            return None
        for escaped, literal in _LITERAL_BRACES:
            source = source.replace(escaped, literal)
        filename = f"{self.path}::{name}"
        try:
            ast = self._env.parse(source, name=name, filename=filename)
            code = self._env.compile(ast, name=name, filename=filename)
        except jinja2.TemplateSyntaxError as exc:
            line = exc.lineno
            raise TemplateError(
                f"template syntax error in {name}, line {line} (near '{_near(source, line)}'): "
                f"{exc.message}. Check that every {{{{ }}}} and {{% %}} tag is closed and spelt "
                "as docxtpl expects ({%p for x in xs %} … {%p endfor %}, {%tr … %} in table rows).",
                path=self.path,
                line=line,
            ) from exc
        template = self._env.template_class.from_code(self._env, code, self._env.make_globals(None), None)
        printed, iterated, guards = _collect_paths(ast, self._env.globals)
        return _Part(
            name,
            source,
            template,
            filename,
            word,
            loops_cells,
            has_drawings,
            frozenset(printed | iterated),
            frozenset(printed),
            guards,
        )

    # -- rendering ---------------------------------------------------------------------------

    def render(self, context: Mapping[str, Any]) -> bytes:
        """The DOCX bytes for one context. Same context, same bytes; no file I/O."""
        return self.zip(self.render_parts(context))

    def zip(self, rendered: Mapping[str, bytes]) -> bytes:
        """The DOCX bytes of the parts :meth:`render_parts` gave (the template's other parts as they are)."""
        return _zip(
            _deflate(name, rendered[name]) if name in rendered else self._static[name] for name in self._order
        )

    def package(self, rendered: Mapping[str, bytes]) -> dict[str, bytes]:
        """Every part of the rendered document by name (what the PDF writer reads; no zip involved)."""
        return {**self._raw, **rendered}

    def template_parts(self) -> dict[str, bytes]:
        """Every part of the template as it stands (unrendered)."""
        return dict(self._template)

    def raw_part(self, name: str) -> bytes | None:
        """A part of the template as it stands, if it has it."""
        return self._template.get(name)

    def render_parts(
        self, context: Mapping[str, Any], trees: dict[str, etree._Element] | None = None
    ) -> dict[str, bytes]:
        """The parts one context changes (document, headers, footers, properties), rendered.

        ``trees``, if given, receives each rendered part's XML as parsed for the well-formedness
        check, so a caller that reads it (the issued wording) does not parse it again."""
        try:
            drawing_ids = itertools.count(1001)
            rendered: dict[str, bytes] = {}
            for part in self._parts:
                text = part.template.render(context)
                rendered[part.name], root = self._finish(part, text, drawing_ids)
                if trees is not None:
                    trees[part.name] = root
            rendered[CUSTOM_PART] = _custom_properties_xml(context, self._foreign_properties)
            return rendered
        except jinja2.UndefinedError as exc:
            raise self._undefined(exc, context) from exc
        except SecurityError as exc:
            raise TemplateError(
                f"the template does something the sandbox forbids: {exc}", path=self.path
            ) from exc
        except AgreementgenError:
            raise
        except Exception as exc:
            raise RenderError(
                f"could not render the DOCX for {_who(context)}: {exc.__class__.__name__}: {exc}",
                path=self.path,
            ) from exc

    def _finish(self, part: _Part, text: str, drawing_ids: Iterator[int]) -> tuple[bytes, etree._Element]:
        """docxtpl's post-processing, then a check that the result is well-formed XML: the
        part's bytes, and its tree (as the bytes say)."""
        if part.word:
            text = _PARAGRAPH_LF.sub(r"<w:p\1", text)
            if _LISTING.search(text):
                text = self._docxtpl.resolve_listing(text)  # \t → tab, \n → line break
        data = text.encode("utf-8")
        try:
            root = etree.fromstring(data, _SAFE_PARSER)
        except etree.XMLSyntaxError as exc:
            raise RenderError(
                f"{part.name} is not well-formed XML after rendering ({exc}); a {{%p %}}, {{%tr %}} or "
                "{%r %} block probably opens in one kind of element and closes in another",
                path=self.path,
            ) from exc
        changed = False
        if part.word:
            changed = _drop_empty_tables(root)
            if part.loops_cells:
                _fix_table_grids(root)
                changed = True
            if part.has_drawings:  # ids repeat when a loop copies a picture; Word wants them unique
                for drawing in root.iter(f"{{{WP}}}docPr"):
                    drawing.set("id", str(next(drawing_ids)))
                changed = True
        if changed:
            return _serialise(root), root
        return (data if data.startswith(b"<?xml") else _XML_DECLARATION + data), root

    def where_used(self, path: str) -> str:
        """Where a variable is first used: its part and the text of its paragraph, as a user finds
        it in Word (``word/document.xml, near '3.1 Funding for …'``); "" if it cannot be told."""
        segments = [s for s in _segments(path) if s != "[]"]
        if not segments:
            return ""
        # The path as written, else its last name after a dot (a loop variable's field: ``c.title``).
        patterns = [re.escape(path), r"\.\s*" + re.escape(segments[-1]) + r"\b"]
        for pattern in patterns:
            for part in self._parts:
                if path not in part.variables:
                    continue
                for number, line in enumerate(part.source.splitlines(), start=1):
                    if any(re.search(pattern, tag) for tag in _JINJA_TAG.findall(line)):
                        return f"{part.name}, near '{_near(part.source, number)}'"
        return ""

    def _undefined(self, exc: jinja2.UndefinedError, context: Mapping[str, Any]) -> TemplateError:
        part, line = self._where(exc.__traceback__)
        candidates = part.variables if part is not None else self.variables
        # The path Jinja tripped over first, then any others the part uses that are missing too.
        name = _UNDEFINED_NAME.search(exc.message or "")
        missing = sorted(
            (p for p in candidates if not _resolves(p, context)),
            key=lambda p: (not (name and _segments(p)[-1:] == [name.group(1) or name.group(2)]), p),
        )
        where = f" ({part.name}, line {line}, near '{_near(part.source, line)}')" if part and line else ""
        if missing:
            others = f"; {', '.join(missing[1:])} missing too" if missing[1:] else ""
            return TemplateError(
                f"the template uses '{missing[0]}', which the context does not provide{where}{others}. "
                "`agreementgen context` prints the variables a template can use",
                path=self.path,
                line=line,
                field=missing[0],
            )
        return TemplateError(f"undefined variable{where}: {exc.message}", path=self.path, line=line)

    def _where(self, tb: TracebackType | None) -> tuple[_Part | None, int | None]:
        found: tuple[_Part | None, int | None] = (None, None)
        while tb is not None:
            part = self._by_filename.get(tb.tb_frame.f_code.co_filename)
            if part is not None:
                found = (part, tb.tb_lineno)
            tb = tb.tb_next
        return found


# --- static analysis -------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateCheck:
    """A template against a context: what it uses that is not there, and what it leaves unused."""

    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)  # a missing path -> "part, near 'text'"


def template_variables(template_path: str | Path) -> set[str]:
    """The dotted context paths a template uses, without rendering it.

    Loop variables are resolved to their lists (``{%tr for c in components %}`` …
    ``{{ c.title }}`` gives ``components[].title``); a dynamic subscript stops the path at
    what is known (``terms[c.term_tag]`` gives ``terms`` and ``components[].term_tag``).
    """
    return set(CompiledDocx(template_path).variables)


def check_template(template_path: str | Path, context: Mapping[str, Any]) -> TemplateCheck:
    """Compare a template's variables with a context (lists judged by their first item).

    ``missing``: paths the template uses that the context lacks (rendering would fail).
    ``unused``: the context's leaf paths (as ``context.leaf_paths`` lists them) the template
    never prints or tests — looping over a list does not count as using its items' fields.
    """
    compiled = CompiledDocx(template_path)
    missing, unused = compare_paths(compiled.variables, compiled._printed, compiled._guards, context)
    where = {path: place for path in missing if (place := compiled.where_used(path))}
    return TemplateCheck(missing=missing, unused=unused, where=where)


def compare_paths(
    variables: Iterable[str],
    printed: Iterable[str],
    guards: Mapping[str, frozenset[Guards]],
    context: Mapping[str, Any],
) -> tuple[list[str], list[str]]:
    """(the paths used that the context lacks, the context's leaves never printed), as
    :func:`check_template` judges them; for any Jinja template (:func:`jinja_paths`)."""
    printed = list(printed)
    missing = sorted(p for p in variables if not _resolves(p, context) and _reachable(guards.get(p), context))
    unused = sorted(
        leaf
        for leaf in leaf_paths(dict(context))
        if leaf and not any(_covers(used, leaf) for used in printed)
    )
    return missing, unused


def jinja_paths(
    ast: nodes.Template, globals_: Mapping[str, Any]
) -> tuple[frozenset[str], frozenset[str], dict[str, frozenset[Guards]]]:
    """(every path a parsed Jinja template uses, those it prints or tests, the if-tests around each
    use): the static analysis ``check-template`` runs on Word templates, for any Jinja template."""
    printed, iterated, guards = _collect_paths(ast, globals_)
    return frozenset(printed | iterated), frozenset(printed), guards


def _segments(path: str) -> list[str]:
    out: list[str] = []
    for piece in path.split("."):
        name = piece.replace("[]", "")
        if name:
            out.append(name)
        out.extend(["[]"] * piece.count("[]"))
    return out


def _resolves(path: str, context: Mapping[str, Any]) -> bool:
    """Whether ``path`` exists in the context; a list is judged by its first item (an empty one passes)."""
    value: Any = context
    for segment in _segments(path):
        if segment == "[]":
            if not isinstance(value, list):
                return False
            if not value:
                return True
            value = value[0]
        elif isinstance(value, Mapping) and segment in value:
            value = value[segment]
        else:
            return False
    return True


def _reachable(uses: frozenset[Guards] | None, context: Mapping[str, Any]) -> bool:
    """Whether some use of a path is rendered for this context: one not inside an ``{% if %}``
    whose test this context makes false (``{%r if scheme.sign_up_deadline %}`` … for a scheme
    without a deadline). A test that cannot be judged here (inside a loop) counts as true."""
    if not uses:
        return True
    return any(all(_holds(path, wanted, context) for path, wanted in guards) for guards in uses)


def _holds(path: str, wanted: bool, context: Mapping[str, Any]) -> bool:
    value: Any = context
    for segment in _segments(path):
        if segment == "[]" or not isinstance(value, Mapping) or segment not in value:
            return True
        value = value[segment]
    return bool(value) == wanted


def _covers(used: str, leaf: str) -> bool:
    """A leaf counts as used when the template uses it, something containing it, or something in it."""
    if used == leaf:
        return True
    return any(
        a.startswith(b) and a[len(b)] in ".[" for a, b in ((leaf, used), (used, leaf)) if len(a) > len(b)
    )


Guards = tuple[tuple[str, bool], ...]  # the if-tests around a use: (path, whether it must be true)


def _collect_paths(
    ast: nodes.Template, globals_: Mapping[str, Any]
) -> tuple[set[str], set[str], dict[str, frozenset[Guards]]]:
    """(paths the template prints or tests, paths it only loops over, and for each path the
    simple if-tests every use of it is under)."""
    found: set[str] = set()
    iterated: set[str] = set()
    guards: dict[str, set[Guards]] = {}
    under: list[tuple[str, bool]] = []  # the if-tests around the node being visited

    def use(path: str) -> None:
        found.add(path)
        guards.setdefault(path, set()).add(tuple(under))

    def test_of(node: nodes.Node, scope: dict[str, str]) -> tuple[str, bool] | None:
        """An if-test that is a variable (or ``not`` one): its path and the truth it asks for."""
        wanted = True
        while isinstance(node, nodes.Not):
            node, wanted = node.node, not wanted
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            path, _ = chain(node, scope)
            if path:
                return path, wanted
        return None

    def visit_under(extra: list[tuple[str, bool]], body: Iterable[nodes.Node], scope: dict[str, str]) -> None:
        under.extend(extra)
        try:
            visit_all(body, scope)
        finally:
            del under[len(under) - len(extra) :]

    def chain(node: nodes.Node, scope: dict[str, str]) -> tuple[str | None, bool]:
        """(the static path of a Name/Getattr/Getitem chain, whether it can be extended)."""
        if isinstance(node, nodes.Name):
            if node.name in scope:
                known = scope[node.name]
                return (known or None), bool(known)
            if node.name in globals_:
                return None, False
            return node.name, True
        if isinstance(node, nodes.Getattr):
            base, extendable = chain(node.node, scope)
            return (f"{base}.{node.attr}", True) if base and extendable else (base, False)
        if isinstance(node, nodes.Getitem):
            base, extendable = chain(node.node, scope)
            arg = node.arg
            if base and extendable and isinstance(arg, nodes.Const):
                if isinstance(arg.value, str):
                    return f"{base}.{arg.value}", True
                if isinstance(arg.value, int):
                    return f"{base}[]", True
            return base, False
        return None, False

    def visit_chain_parts(node: nodes.Node, scope: dict[str, str]) -> None:
        """Visit what a chain computes dynamically: subscripts and non-chain bases."""
        if isinstance(node, nodes.Getattr):
            visit_chain_parts(node.node, scope)
        elif isinstance(node, nodes.Getitem):
            if not isinstance(node.arg, nodes.Const):
                visit(node.arg, scope)
            visit_chain_parts(node.node, scope)
        elif not isinstance(node, nodes.Name):
            visit(node, scope)

    def bind(target: nodes.Node, path: str, scope: dict[str, str]) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = path
        elif isinstance(target, nodes.Tuple):
            for item in target.items:
                bind(item, "", scope)

    def visit(node: nodes.Node, scope: dict[str, str]) -> None:
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            if getattr(node, "ctx", "load") == "load":
                path, _ = chain(node, scope)
                if path:
                    use(path)
                visit_chain_parts(node, scope)
            return
        if isinstance(node, nodes.If):
            negated: list[tuple[str, bool]] = []
            for branch in [node, *node.elif_]:
                visit_under(negated, [branch.test], scope)
                test = test_of(branch.test, scope)
                visit_under([*negated, *([test] if test else [])], branch.body, scope)
                # the branches after an if-test that is not a variable are not judged
                negated = [] if test is None else [*negated, (test[0], not test[1])]
            visit_under(negated, node.else_, scope)
            return
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            visit(node.node.node, scope)  # x.items() uses x, not a key called "items"
            visit_all([*node.args, *node.kwargs, node.dyn_args, node.dyn_kwargs], scope)
            return
        if isinstance(node, nodes.For):
            path, extendable = chain(node.iter, scope)
            if path and isinstance(node.iter, nodes.Name | nodes.Getattr | nodes.Getitem):
                iterated.add(path)  # looping over a list does not use everything in its items
                visit_chain_parts(node.iter, scope)
            else:
                visit(node.iter, scope)
            inner = {**scope, "loop": ""}
            bind(node.target, f"{path}[]" if path and extendable else "", inner)
            if node.test is not None:
                visit(node.test, inner)
            visit_all(node.body, inner)
            visit_all(node.else_, scope)
            return
        if isinstance(node, nodes.Assign):
            visit(node.node, scope)
            path, extendable = chain(node.node, scope)
            bind(node.target, path if path and extendable else "", scope)
            return
        if isinstance(node, nodes.AssignBlock):
            visit_all(node.body, scope)
            bind(node.target, "", scope)
            return
        if isinstance(node, nodes.Macro | nodes.CallBlock):
            inner = {**scope, "caller": "", "varargs": "", "kwargs": ""}
            for arg in node.args:
                bind(arg, "", inner)
            visit_all(node.defaults, scope)
            if isinstance(node, nodes.CallBlock):
                visit(node.call, scope)
            else:
                scope[node.name] = ""
            visit_all(node.body, inner)
            return
        if isinstance(node, nodes.With):
            inner = dict(scope)
            for target, value in zip(node.targets, node.values, strict=True):
                visit(value, scope)
                path, extendable = chain(value, scope)
                bind(target, path if path and extendable else "", inner)
            visit_all(node.body, inner)
            return
        visit_all(node.iter_child_nodes(), scope)

    def visit_all(children: Iterable[nodes.Node | None], scope: dict[str, str]) -> None:
        for child in children:
            if child is not None:
                visit(child, scope)

    visit(ast, {})
    # A safety net: any root name Jinja itself sees as coming from the context.
    seen = found | iterated
    for name in meta.find_undeclared_variables(ast) - set(globals_):
        if not any(p == name or p.startswith((f"{name}.", f"{name}[")) for p in seen):
            use(name)
    return found, iterated, {path: frozenset(uses) for path, uses in guards.items()}


# --- post-processing (docxtpl's fix_tables, for the elements it can break) ---------------------


def _drop_empty_tables(root: etree._Element) -> bool:
    """Remove tables a loop left without rows (Word refuses to open a table with none)."""
    empty = [tbl for tbl in root.iter(_W_TBL) if tbl.find(_W_TR) is None]
    for tbl in empty:
        parent = tbl.getparent()
        if parent is None:
            continue
        parent.remove(tbl)
        if parent.tag == _W_TC and parent.find(_W_P) is None:
            parent.append(etree.Element(_W_P))  # a cell must end with a paragraph
    return bool(empty)


def _fix_table_grids(root: etree._Element) -> None:
    """Keep each table's grid in step with its widest row, as docxtpl's ``fix_tables`` does
    after ``{%tc %}`` loops and merges: add columns (keeping the table's width) or drop them
    (giving their width to the others)."""
    for tbl in root.iter(_W_TBL):
        grid = tbl.find(_W_GRID)
        rows = tbl.findall(_W_TR)
        if grid is None or not rows:
            continue
        columns = grid.findall(_W_GRIDCOL)
        needed = max(sum(_span(tc) for tc in tr.iterchildren(_W_TC)) for tr in rows)
        if not columns or needed in (0, len(columns)):
            continue
        widths = [float(c.get(_W_VAL_W) or 0) for c in columns]
        total = sum(widths)
        if needed > len(columns):
            average = total / needed
            scale = len(columns) / needed
            for column, width in zip(columns, widths, strict=True):
                column.set(_W_VAL_W, str(int(width * scale)))
            for _ in range(needed - len(columns)):
                etree.SubElement(grid, _W_GRIDCOL, {_W_VAL_W: str(int(average))})
        else:
            extra = int(sum(widths[needed:]) / needed)
            for column in columns[needed:]:
                grid.remove(column)
            for column, width in zip(columns[:needed], widths[:needed], strict=True):
                column.set(_W_VAL_W, str(int(width + extra)))


def _span(tc: etree._Element) -> int:
    span = tc.find(_W_GRIDSPAN)
    try:
        return int(span.get(_W_VAL, "1")) if span is not None else 1
    except ValueError:
        return 1


_W_TBL, _W_TR, _W_TC, _W_P = (f"{{{W}}}{name}" for name in ("tbl", "tr", "tc", "p"))
_W_GRID, _W_GRIDCOL = f"{{{W}}}tblGrid", f"{{{W}}}gridCol"
_W_GRIDSPAN = f"{{{W}}}tcPr/{{{W}}}gridSpan"
_W_VAL, _W_VAL_W = f"{{{W}}}val", f"{{{W}}}w"


# --- custom properties, content types, relationships -------------------------------------------


def _custom_properties_xml(context: Mapping[str, Any], foreign: list[etree._Element]) -> bytes:
    root = etree.Element(f"{{{CUSTOM_NS}}}Properties", nsmap={None: CUSTOM_NS, "vt": VT_NS})
    pid = itertools.count(2)  # Word numbers custom properties from 2
    for name, (section, key) in CUSTOM_PROPERTIES.items():
        prop = etree.SubElement(root, f"{{{CUSTOM_NS}}}property", fmtid=_FMTID, pid=str(next(pid)), name=name)
        # A context made before revisions (a statement, an example) is revision 1.
        value = context[section].get(key, 1) if key == "revision" else context[section][key]
        etree.SubElement(prop, f"{{{VT_NS}}}lpwstr").text = str(value)
    for element in foreign:
        copy = etree.fromstring(etree.tostring(element))
        copy.set("pid", str(next(pid)))
        root.append(copy)
    return _serialise(root)


def _foreign_custom_properties(data: bytes | None, path: Path) -> list[etree._Element]:
    """Custom properties the template itself has (kept), other than the ones we write."""
    if data is None:
        return []
    root = _parse(data, CUSTOM_PART, path, TemplateError)
    return [p for p in root.findall(f"{{{CUSTOM_NS}}}property") if p.get("name") not in CUSTOM_PROPERTIES]


def _with_custom_content_type(data: bytes, path: Path) -> bytes:
    root = _parse(data, CONTENT_TYPES, path, TemplateError)
    for override in root.findall(f"{{{CT_NS}}}Override"):
        if override.get("PartName") == "/" + CUSTOM_PART:
            override.set("ContentType", CT_CUSTOM)
            break
    else:
        etree.SubElement(root, f"{{{CT_NS}}}Override", PartName="/" + CUSTOM_PART, ContentType=CT_CUSTOM)
    return _serialise(root)


def _with_custom_relationship(data: bytes | None, path: Path) -> bytes:
    if data is None:
        raise TemplateError(f"not a Word document: it has no {PACKAGE_RELS}", path=path)
    root = _parse(data, PACKAGE_RELS, path, TemplateError)
    rels = root.findall(f"{{{REL_NS}}}Relationship")
    if not any(r.get("Type") == REL_CUSTOM for r in rels):
        ids = {r.get("Id") for r in rels}
        rid = next(f"rId{n}" for n in itertools.count(len(rels) + 1) if f"rId{n}" not in ids)
        etree.SubElement(root, f"{{{REL_NS}}}Relationship", Id=rid, Type=REL_CUSTOM, Target=CUSTOM_PART)
    return _serialise(root)


def _content_types(members: Mapping[str, bytes], path: Path) -> dict[str, str]:
    """Each member's content type, from ``[Content_Types].xml``."""
    if CONTENT_TYPES not in members:
        raise TemplateError(f"not a Word document: it has no {CONTENT_TYPES}", path=path)
    root = _parse(members[CONTENT_TYPES], CONTENT_TYPES, path, TemplateError)
    defaults = {
        (d.get("Extension") or "").lower(): d.get("ContentType") or ""
        for d in root.findall(f"{{{CT_NS}}}Default")
    }
    overrides = {
        (o.get("PartName") or "").lstrip("/"): o.get("ContentType") or ""
        for o in root.findall(f"{{{CT_NS}}}Override")
    }
    return {name: overrides.get(name, defaults.get(name.rsplit(".", 1)[-1].lower(), "")) for name in members}


# --- zip ---------------------------------------------------------------------------------------

_DOS_DATE = (1 << 5) | 1  # 1980-01-01, the zip epoch: no clock in the output
_DOS_TIME = 0


def _deflate(name: str, data: bytes) -> _Member:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    encoded = name.encode("utf-8")
    flags = 0 if name.isascii() else 0x800  # bit 11: the name is UTF-8
    return _Member(
        encoded, flags, zlib.crc32(data), len(data), compressor.compress(data) + compressor.flush()
    )


def _zip(members: Iterable[_Member]) -> bytes:
    """A plain deflated zip with fixed timestamps, attributes and order: same members, same bytes."""
    out = bytearray()
    central = bytearray()
    count = 0
    for m in members:
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, m.flags, 8, _DOS_TIME, _DOS_DATE, m.crc, len(m.data), m.size,
            len(m.name), 0,
        )  # fmt: skip
        out += m.name
        out += m.data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, m.flags, 8, _DOS_TIME, _DOS_DATE, m.crc, len(m.data),
            m.size, len(m.name), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += m.name
        count += 1
    if count > 0xFFFF or len(out) + len(central) > 0xFFFFFFFF:
        raise RenderError("the document is too large for a plain zip")
    directory = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), directory, 0)
    return bytes(out)


def _read_template_members(raw: bytes, path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as package:
            return {info.filename: package.read(info) for info in package.infolist() if not info.is_dir()}
    except (zipfile.BadZipFile, zlib.error, RuntimeError, ValueError) as exc:
        raise TemplateError(
            f"not a Word .docx template ({exc}); save it from Word as 'Word Document (*.docx)'", path=path
        ) from exc


# --- reading returned documents --------------------------------------------------------------------


def read_custom_properties(docx: bytes | str | Path) -> dict[str, str]:
    """The custom document properties of a DOCX (``doc_id``, ``terms_digest``, ...) as text.

    Raises ``AgreementgenError`` (naming the file) for anything that is not a readable DOCX.
    """
    with _Package(docx) as package:
        target = package.package_target(REL_CUSTOM) or CUSTOM_PART
        data = package.read_optional(target)
        if data is None:
            return {}
        root = package.parse(target, data)
        props: dict[str, str] = {}
        for prop in root.findall(f"{{{CUSTOM_NS}}}property"):
            name = prop.get("name")
            if name and name not in props:
                value = next(iter(prop), None)
                props[name] = "".join(value.itertext()) if value is not None else ""
        return props


def read_content_controls(docx: bytes | str | Path) -> dict[str, str]:
    """Every tagged content control's text, ``{tag: text}``, from the body, headers, footers and notes.

    A control still showing its placeholder reads as ``""``. Paragraphs inside a control are
    joined with ``\\n``; tabs and line breaks read as ``\\t`` and ``\\n``. If a tag occurs more
    than once, the first occurrence (in document order, body first) wins.
    """
    with _Package(docx) as package:
        main = package.package_target(REL_OFFICE_DOCUMENT) or "word/document.xml"
        controls: dict[str, str] = {}
        for name in [main, *package.part_targets(main, _STORY_RELS)]:
            data = package.read_optional(name)
            if data is None:
                continue
            for sdt in package.parse(name, data).iter(f"{{{W}}}sdt"):
                key = _control_key(sdt)
                if key and key not in controls:
                    controls[key] = _control_text(sdt)
        return controls


def read_main_part(docx: bytes | str | Path) -> bytes | None:
    """The main document part's XML (``word/document.xml``), read as bounded as every other part."""
    with _Package(docx) as package:
        return package.read_optional(package.package_target(REL_OFFICE_DOCUMENT) or "word/document.xml")


WORD_PLACEHOLDER = "Click or tap to enter text."  # Word's own, used by our templates
_TAG_IN_TITLE = re.compile(r"\[([A-Za-z0-9_]+)\]\s*$")


def _control_key(sdt: etree._Element) -> str | None:
    """A control's tag; else the tag at the end of its title (``Name [practice_signatory_name]``).

    Our templates end every control's title with its tag because LibreOffice 7.4 keeps
    titles (``w:alias``) but drops tags when it saves a DOCX.
    """
    tag = sdt.find(f"{{{W}}}sdtPr/{{{W}}}tag")
    key = tag.get(f"{{{W}}}val") if tag is not None else None
    if key:
        return str(key)
    alias = sdt.find(f"{{{W}}}sdtPr/{{{W}}}alias")
    found = _TAG_IN_TITLE.search(alias.get(f"{{{W}}}val", "")) if alias is not None else None
    return found.group(1) if found else None


def _control_text(sdt: etree._Element) -> str:
    placeholder = sdt.find(f"{{{W}}}sdtPr/{{{W}}}showingPlcHdr")
    if placeholder is not None and placeholder.get(f"{{{W}}}val", "true").lower() not in {
        "0",
        "false",
        "off",
    }:
        return ""
    content = sdt.find(f"{{{W}}}sdtContent")
    if content is None:
        return ""
    paragraphs = list(content.iter(f"{{{W}}}p"))
    text = "\n".join(_run_text(p) for p in paragraphs) if paragraphs else _run_text(content)
    # LibreOffice drops the "showing placeholder" flag on save; the placeholder text remains.
    return "" if text.strip() == WORD_PLACEHOLDER else text


def _run_text(element: etree._Element) -> str:
    pieces: list[str] = []
    for node in element.iter(f"{{{W}}}t", f"{{{W}}}tab", f"{{{W}}}br", f"{{{W}}}cr"):
        local = etree.QName(node).localname
        if local == "t":
            pieces.append(node.text or "")
        elif local == "tab":
            pieces.append("\t")
        else:
            pieces.append("\n")
    return "".join(pieces)


class _Package:
    """A DOCX opened for reading with limits: member count, part size, no encryption, safe XML."""

    def __init__(self, source: bytes | str | Path) -> None:
        self.label = "<bytes>" if isinstance(source, bytes) else str(source)
        try:
            data = source if isinstance(source, bytes) else Path(source).read_bytes()
        except OSError as exc:
            raise AgreementgenError(f"cannot read the file: {exc.strerror}", path=self.label) from exc
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError) as exc:
            raise AgreementgenError(
                "not a DOCX file (it is not a zip package; an encrypted or password-protected Word file "
                "is not readable)",
                path=self.label,
            ) from exc
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise AgreementgenError(f"not a plausible DOCX: {len(infos)} zip members", path=self.label)
        self.infos = {i.filename: i for i in infos}

    def __enter__(self) -> _Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def read_optional(self, name: str) -> bytes | None:
        info = self.infos.get(name)
        if info is None:
            return None
        if info.flag_bits & 0x1:
            raise AgreementgenError(f"{name} is encrypted", path=self.label)
        if info.file_size > MAX_PART_BYTES:
            raise AgreementgenError(
                f"{name} would unpack to {info.file_size:,} bytes (limit {MAX_PART_BYTES:,}); refusing it",
                path=self.label,
            )
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, zlib.error, RuntimeError, ValueError, EOFError) as exc:
            raise AgreementgenError(f"{name} cannot be unpacked ({exc})", path=self.label) from exc

    def parse(self, name: str, data: bytes) -> etree._Element:
        return _parse(data, name, self.label, AgreementgenError)

    def _rels(self, part: str) -> list[tuple[str, str]]:
        """(type, target part name) of a part's relationships ('' for the package)."""
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", f"{base}.rels") if part else PACKAGE_RELS
        data = self.read_optional(rels_name)
        if data is None:
            return []
        out: list[tuple[str, str]] = []
        for rel in self.parse(rels_name, data).findall(f"{{{REL_NS}}}Relationship"):
            target = rel.get("Target") or ""
            if rel.get("TargetMode") == "External" or not target:
                continue
            resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            out.append((rel.get("Type") or "", posixpath.normpath(resolved)))
        return out

    def package_target(self, rel_type: str) -> str | None:
        return next((target for kind, target in self._rels("") if kind == rel_type), None)

    def part_targets(self, part: str, rel_types: tuple[str, ...]) -> list[str]:
        return [target for kind, target in self._rels(part) if kind in rel_types]


# --- small helpers -------------------------------------------------------------------------------


def _parse(data: bytes, name: str, path: str | Path, error: type[AgreementgenError]) -> etree._Element:
    """Parse one part: no DTDs (OOXML never has one), no entity expansion, no network."""
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise error(
            f"{name} declares a DTD or entities, which Word documents never do; refusing it", path=path
        )
    try:
        return etree.fromstring(data, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise error(f"{name} is not well-formed XML ({exc})", path=path) from exc


def _serialise(root: etree._Element) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return data


def _near(source: str, line: int | None) -> str:
    """The text (tags stripped) of a line of a part's Jinja source — what a user sees in Word."""
    if not line:
        return ""
    lines = source.splitlines()
    text = re.sub(r"<[^>]+>", "", lines[line - 1]) if 0 < line <= len(lines) else ""
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _who(context: Mapping[str, Any]) -> str:
    try:
        return f"practice {context['practice']['code']}"
    except (KeyError, TypeError):
        return "this context"
