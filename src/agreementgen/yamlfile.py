"""Reading YAML for scheme specs: exact decimals, bounded size, duplicate-key refusal, line numbers.

PyYAML turns ``0.50`` into a float and silently keeps the last of two equal keys;
both are wrong for a contract. Here YAML floats become ``Decimal`` (from their
text, so ``0.50`` stays exactly 0.50), a duplicate key is an error, and every
value's YAML path maps to the line it is on so validation errors can point there.

A spec is also read within bounds, so a hostile or broken file is refused with its
line instead of hanging or crashing the tool:

* the file is at most ``MAX_SPEC_BYTES`` and a regular file (a FIFO is never opened);
* values nest at most ``MAX_DEPTH`` deep (PyYAML's composer recurses, so 5,000 ``[``
  would otherwise end in ``RecursionError``), also once aliases are followed;
* aliases (``*name``) expand to at most ``MAX_VALUES`` values in all — the
  "billion laughs" file of nine aliases of nine aliases is refused in milliseconds,
  as is an alias used inside its own anchor;
* numbers are finite (``.inf``, ``.nan`` are refused), at most ``MAX_NUMBER_TEXT``
  characters, and exact in 28 significant digits (Decimal's default precision), so
  no later sum is silently rounded; a ``!!int``/``!!float``/``!!bool`` tag on text
  that is not one is an error, not a traceback.

Every problem becomes a :class:`SchemeError` naming the file and line; number and
duplicate-key problems are all reported together (``ProblemsFound``).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from .errors import ProblemsFound, SchemeError

YamlPath = tuple[str | int, ...]

MAX_SPEC_BYTES = 5_000_000  # the largest shipped spec is 33 KB
MAX_DEPTH = 100  # levels of nesting; the shipped specs use at most 8
MAX_VALUES = 100_000  # values once aliases are expanded; the largest shipped spec has 1,094
MAX_NUMBER_TEXT = 100  # characters in one number
MAX_DIGITS = 28  # significant digits, and powers of ten either way: Decimal's default precision

_FLOAT = "tag:yaml.org,2002:float"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NON_FINITE = re.compile(r"^[-+]?\.(inf|nan)$", re.IGNORECASE)


class _LimitExceeded(yaml.MarkedYAMLError):
    """A bound of this module broken while composing (reported with the mark's line)."""


def _number_problem(node: yaml.Node) -> str | None:
    """Why a value tagged as a number or boolean cannot be one, or None if it can."""
    if node.tag not in (_FLOAT, _INT, _BOOL):
        return None
    if not isinstance(node, yaml.ScalarNode):
        return f"a list or mapping cannot be tagged !!{node.tag.rsplit(':', 1)[-1]}"
    text = str(node.value)
    shown = text if len(text) <= 40 else text[:37] + "…"
    if node.tag == _BOOL:
        if text.lower() in yaml.constructor.SafeConstructor.bool_values:
            return None
        return f"'{shown}' is tagged as a boolean but is not one (true or false)"
    if len(text) > MAX_NUMBER_TEXT:  # before converting: int() of 5,000 digits raises, 1:2:3:… is slow
        return f"a number of {len(text):,} characters is not a figure a spec can use"
    if node.tag == _INT:
        try:
            whole = yaml.constructor.SafeConstructor.construct_yaml_int(_PLAIN, node)
        except (ValueError, IndexError):
            return f"'{shown}' is tagged as a whole number but is not one"
        return _precision_problem(Decimal(whole), shown)
    if _NON_FINITE.match(text):
        return f"'{text}' is not a finite number; write the figure itself (e.g. 0.50)"
    try:
        number = Decimal(text.replace("_", ""))
    except InvalidOperation:
        return f"'{shown}' is not a decimal number (write it like 2.50)"
    if not number.is_finite():  # Decimal also reads "NaN" and "Infinity" under an explicit tag
        return f"'{text}' is not a finite number; write the figure itself (e.g. 0.50)"
    return _precision_problem(number, shown)


def _precision_problem(number: Decimal, shown: str) -> str | None:
    if len(number.as_tuple().digits) > MAX_DIGITS or abs(number.adjusted()) > MAX_DIGITS:
        return f"{shown} has more digits than a figure can keep exactly ({MAX_DIGITS} significant)"
    return None


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader whose floats are exact Decimals and whose composing is bounded in depth."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):  # an alias adds no nesting of its own
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _LimitExceeded(
                    problem=f"values nest more than {MAX_DEPTH} levels deep; a spec needs a handful",
                    problem_mark=self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_PLAIN = yaml.SafeLoader("")  # only its int constructor is used, to read an int's text


def _construct_checked(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    # Reached only for a document _walk found clean; the check stays as a guard for direct use.
    problem = _number_problem(node)
    if problem or not isinstance(node, yaml.ScalarNode):
        raise ConstructorError(None, None, problem or "expected a single value", node.start_mark)
    if node.tag == _FLOAT:
        return Decimal(str(node.value).replace("_", ""))
    if node.tag == _INT:
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    return yaml.constructor.SafeConstructor.construct_yaml_bool(loader, node)


def _construct_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # Dates stay text so the model parses them and reports 2017-02-31 with its line,
    # instead of PyYAML raising a bare ValueError mid-parse.
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


for _tag in (_FLOAT, _INT, _BOOL):
    _DecimalLoader.add_constructor(_tag, _construct_checked)
_DecimalLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)


@dataclass
class YamlDocument:
    """A parsed YAML file plus the line (1-based) of each value by its path."""

    path: Path
    data: Any
    lines: dict[YamlPath, int] = field(default_factory=dict)

    def line_of(self, loc: YamlPath) -> int | None:
        """The line of ``loc`` or of its nearest ancestor that has one."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


def _read_text(path: Path) -> str:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would hang or never end
            raise SchemeError("not a regular file; give the spec's .yaml file", path=path)
        if info.st_size > MAX_SPEC_BYTES:
            raise SchemeError(
                f"{info.st_size:,} bytes is too large for a scheme spec (the limit is "
                f"{MAX_SPEC_BYTES:,}); is this the right file?",
                path=path,
            )
        with path.open("rb") as fh:
            data = fh.read(MAX_SPEC_BYTES + 1)  # the file may have grown since stat
    except FileNotFoundError as exc:
        raise SchemeError("file not found", path=path) from exc
    except OSError as exc:
        raise SchemeError(f"cannot read: {exc.strerror or exc}", path=path) from exc
    if len(data) > MAX_SPEC_BYTES:
        raise SchemeError(f"too large for a scheme spec (over {MAX_SPEC_BYTES:,} bytes)", path=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SchemeError("not UTF-8 text; save the spec as UTF-8", path=path, line=line) from exc


def load_yaml(path: Path) -> YamlDocument:
    """Read ``path`` as YAML; raise ``SchemeError`` with the line for any problem in it."""
    path = Path(path)
    text = _read_text(path)
    try:
        # The reader checks every character as the loader is made, so that is inside the guard too.
        loader = _DecimalLoader(text)
    except yaml.reader.ReaderError as exc:
        # A control character: the reader gives its position in the text, not a line.
        line = text.count("\n", 0, exc.position) + 1
        raise SchemeError(
            f"a control character (U+{exc.character:04X}) is not allowed in YAML; remove it",
            path=path,
            line=line,
        ) from exc
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = "" if isinstance(exc, _LimitExceeded) else "YAML syntax: "
            raise SchemeError(
                f"{what}{exc.problem or exc.context}", path=path, line=mark.line + 1 if mark else None
            ) from exc
        except yaml.YAMLError as exc:
            raise SchemeError(f"YAML: {exc}", path=path) from exc
        doc = YamlDocument(path=path, data=None)
        if node is None:
            return doc
        _check_expansion(node, path)
        problems: list[SchemeError] = []
        _walk(node, (), doc.lines, problems, path)
        if problems:
            raise ProblemsFound(problems, summary=f"{path}: {len(problems)} problem(s) in the YAML")
        try:
            doc.data = loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:  # a tag PyYAML cannot build (!!binary, !!set, an unhashable key)
            mark = exc.problem_mark or exc.context_mark
            raise SchemeError(
                f"YAML: {exc.problem or exc.context}", path=path, line=mark.line + 1 if mark else None
            ) from exc
        return doc
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node, path: Path) -> None:
    """Refuse a node graph whose aliases expand past ``MAX_VALUES`` values or ``MAX_DEPTH`` levels.

    The composed graph shares an aliased node wherever it is used, so it is small even when
    its expansion is astronomical; sizes and depths are counted once per node (iteratively:
    the graph can be deeper than Python's stack once aliases are followed).
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            open_nodes.discard(key)
            line = node.start_mark.line + 1
            if size[key] > MAX_VALUES:
                raise SchemeError(
                    f"the aliases (*name) here expand to more than {MAX_VALUES:,} values; "
                    "a scheme spec has a few thousand at most",
                    path=path,
                    line=line,
                )
            if depth[key] > MAX_DEPTH:
                raise SchemeError(
                    f"once its aliases are followed, this value nests more than {MAX_DEPTH} levels deep",
                    path=path,
                    line=line,
                )
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise SchemeError(
                "an alias is used inside the value it names (a value cannot contain itself)",
                path=path,
                line=node.start_mark.line + 1,
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node) if id(kid) not in size)


def _walk(
    node: yaml.Node,
    loc: YamlPath,
    lines: dict[YamlPath, int],
    problems: list[SchemeError],
    path: Path,
) -> None:
    """Record each path's line, and collect duplicate keys and unusable numbers (all of them)."""
    lines[loc] = node.start_mark.line + 1
    problem = _number_problem(node)
    if problem:
        where = ".".join(str(p) for p in loc) or None
        problems.append(SchemeError(problem, path=path, line=node.start_mark.line + 1, field=where))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key in seen and isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    SchemeError(
                        f"duplicate key '{key}' (YAML would silently keep the last one)",
                        path=path,
                        line=key_node.start_mark.line + 1,
                        field=".".join(str(p) for p in (*loc, key)),
                    )
                )
            if isinstance(key_node, yaml.ScalarNode):  # a list as a key is refused when built
                seen.add(key)
            problem = _number_problem(key_node)
            if problem:
                problems.append(SchemeError(problem, path=path, line=key_node.start_mark.line + 1, field=key))
            _walk(value_node, (*loc, key), lines, problems, path)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines, problems, path)
