"""Reading YAML for scheme specs: exact decimals, duplicate-key refusal, line numbers.

PyYAML turns ``0.50`` into a float and silently keeps the last of two equal keys;
both are wrong for a contract. Here YAML floats become ``Decimal`` (from their
text, so ``0.50`` stays exactly 0.50), a duplicate key is an error, and every
value's YAML path maps to the line it is on so validation errors can point there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .errors import ProblemsFound, SchemeError

YamlPath = tuple[str | int, ...]


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader whose floats are exact Decimals."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    return Decimal(text)


def _construct_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # Dates stay text so the model parses them and reports 2017-02-31 with its line,
    # instead of PyYAML raising a bare ValueError mid-parse.
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
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


def load_yaml(path: Path) -> YamlDocument:
    """Read ``path`` as YAML; raise ``SchemeError`` with the line for any syntax problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise SchemeError("file not found", path=path) from exc
    except UnicodeDecodeError as exc:
        raise SchemeError("not UTF-8 text; save the spec as UTF-8", path=path) from exc
    except OSError as exc:
        raise SchemeError(f"cannot read: {exc.strerror}", path=path) from exc
    try:
        node = yaml.compose(text, Loader=_DecimalLoader)
        data = yaml.load(text, Loader=_DecimalLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise SchemeError(
            f"YAML syntax: {exc.problem}", path=path, line=mark.line + 1 if mark else None
        ) from exc
    except yaml.YAMLError as exc:
        raise SchemeError(f"YAML: {exc}", path=path) from exc
    doc = YamlDocument(path=path, data=data)
    if node is not None:
        duplicates: list[SchemeError] = []
        _walk(node, (), doc.lines, duplicates, path)
        if duplicates:
            raise ProblemsFound(duplicates, summary=f"{path}: {len(duplicates)} duplicate key(s)")
    return doc


def _walk(
    node: yaml.Node,
    loc: YamlPath,
    lines: dict[YamlPath, int],
    duplicates: list[SchemeError],
    path: Path,
) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                duplicates.append(
                    SchemeError(
                        f"duplicate key '{key}' (YAML would silently keep the last one)",
                        path=path,
                        line=key_node.start_mark.line + 1,
                        field=".".join(str(p) for p in (*loc, key)),
                    )
                )
            seen.add(key)
            _walk(value_node, (*loc, key), lines, duplicates, path)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines, duplicates, path)
