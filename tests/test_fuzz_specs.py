"""Fuzzing scheme specs: a broken or hostile spec is refused with its file and line, never a traceback.

Issue 12 found that nested YAML aliases hung ``validate`` and that ``.inf``, ``.nan``, 5,000 nested
brackets or a 25-digit figure gave tracebacks. The named tests pin each of those, and each crash
the mutation tests found (their names say what the file held). The hypothesis tests mutate the
shipped specs (byte flips, cuts, inserted YAML constructs, a hostile figure in place of any
number) and assert that only agreementgen's errors escape, each naming the file, and that a
hostile figure is refused at its own line. Fixed seeds and a few hundred examples keep it to a
few seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreementgen.errors import AgreementgenError, ProblemsFound, SchemeError
from agreementgen.money import Money, to_decimal
from agreementgen.validation import load_any_scheme
from agreementgen.yamlfile import MAX_DEPTH, MAX_SPEC_BYTES, MAX_VALUES, load_yaml
from conftest import SCHEMES

FUZZ = settings(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPECS = {p.name: p.read_bytes() for p in sorted(SCHEMES.glob("*.yaml"))}
QEF = SPECS["cpccg-qef-2017-18.yaml"].decode()
LES = SPECS["cpccg-les-2017-18.yaml"].decode()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A folder for mutated specs, with the source documents their provenance quotes."""
    path = tmp_path_factory.mktemp("specs")
    shutil.copytree(SCHEMES / "sources", path / "sources")
    return path


def refusal(path: Path) -> list[AgreementgenError]:
    """Every problem loading ``path`` reports (each naming the file); [] if it loads."""
    try:
        load_any_scheme(path)
    except ProblemsFound as exc:
        problems = exc.problems
    except AgreementgenError as exc:
        problems = [exc]
    else:
        return []
    assert problems, "a refusal names at least one problem"
    assert all(p.path == str(path) for p in problems), [str(p) for p in problems]
    return problems


def spec(folder: Path, text: str, name: str = "scheme.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def replaced(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# --- aliases and nesting ------------------------------------------------------------------------


def laughs(width: int, levels: int) -> str:
    """The 'billion laughs' file: each level an anchored list of ``width`` aliases of the last."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_spec_is_refused_at_once_with_its_line(folder: Path):
    path = spec(folder, laughs(9, 10))  # 9**10 = 3.5 billion values once expanded
    started = time.monotonic()
    [problem] = refusal(path)
    assert time.monotonic() - started < 2
    assert isinstance(problem, SchemeError)
    assert "expand to more than 100,000 values" in problem.message
    assert problem.line == 6  # l5, the first list that expands past the limit (9**6 > 100,000)


def test_an_alias_used_inside_its_own_anchor_is_refused(folder: Path):
    for text in ("a: &a [1, *a]\n", "a: &a {b: *a}\n", "x: 1\na: &a\n  - [*a]\n"):
        [problem] = refusal(spec(folder, text))
        assert "an alias is used inside the value it names" in problem.message
        assert problem.line == line_of(text, "&a")  # the anchor names the value that holds itself


def test_aliases_that_nest_deeper_than_the_limit_are_refused(folder: Path):
    # Each level is shallow in the text, but following the aliases nests 120 deep.
    text = "l0: &l0 [x]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 120))
    [problem] = refusal(spec(folder, text))
    assert f"nests more than {MAX_DEPTH} levels deep" in problem.message


@pytest.mark.parametrize(
    "text",
    [
        "funding: " + "[" * 5000 + "1" + "]" * 5000,
        "funding: " + "{a: " * 5000 + "1" + "}" * 5000,
        "- " * 5000 + "1",
    ],
    ids=["lists", "mappings", "block lists"],
)
def test_5000_nested_brackets_are_refused_not_a_recursion_error(folder: Path, text: str):
    [problem] = refusal(spec(folder, text + "\n"))
    assert problem.message.startswith(f"values nest more than {MAX_DEPTH} levels deep")
    assert problem.line is not None


@settings(FUZZ, max_examples=40)
@given(width=st.integers(2, 12), levels=st.integers(1, 8))
def test_aliases_load_up_to_the_expansion_limit_and_no_further(tmp_path_factory, width: int, levels: int):
    path = tmp_path_factory.getbasetemp() / "laughs.yaml"
    path.write_text(laughs(width, levels))
    sizes = [1 + width]  # each list, expanded, counted with itself
    for _ in range(1, levels):
        sizes.append(1 + width * sizes[-1])
    expanded = 1 + sum(1 + s for s in sizes)  # the document, each key and each list
    if expanded > MAX_VALUES:
        with pytest.raises(SchemeError, match="expand to more than"):
            load_yaml(path)
    else:
        assert len(load_yaml(path).data) == levels


@settings(FUZZ, max_examples=40)
@given(depth=st.integers(1, 3 * MAX_DEPTH))
def test_nesting_loads_up_to_the_depth_limit_and_no_further(tmp_path_factory, depth: int):
    path = tmp_path_factory.getbasetemp() / "deep.yaml"
    path.write_text("a: " + "[" * depth + "]" * depth + "\n")
    if 1 + depth > MAX_DEPTH:  # the document's mapping, then each list
        with pytest.raises(SchemeError, match="levels deep") as info:
            load_yaml(path)
        assert info.value.line == 1
    else:
        value = load_yaml(path).data["a"]
        for _ in range(depth - 1):
            [value] = value
        assert value == []


# --- figures ------------------------------------------------------------------------------------


NOT_FINITE = "is not a finite number; write the figure itself (e.g. 0.50)"


def test_infinite_and_nan_figures_are_refused_each_with_its_line(folder: Path):
    text = replaced(QEF, "  rate_per_patient: 2.00", "  rate_per_patient: .inf")
    text = replaced(text, "      rate_per_patient: 0.50", "      rate_per_patient: -.inf")
    text = replaced(text, "  list_size: 5800", "  list_size: .nan")
    problems = refusal(spec(folder, text))
    assert [(p.line, p.field, p.message) for p in problems] == [
        (59, "funding.rate_per_patient", f"'.inf' {NOT_FINITE}"),
        (63, "funding.components.0.rate_per_patient", f"'-.inf' {NOT_FINITE}"),
        (line_of(text, "list_size: .nan"), "worked_example.list_size", f"'.nan' {NOT_FINITE}"),
    ]


def test_an_over_precise_rate_is_refused_with_its_line(folder: Path):
    text = replaced(QEF, "      rate_per_patient: 0.50", "      rate_per_patient: 0.123456789")
    [problem] = refusal(spec(folder, text))
    assert (problem.line, problem.field) == (63, "funding.components.0.rate_per_patient")
    assert problem.message == "0.123456789 has more than 4 decimal places; a rate is given to 4 (e.g. 0.1235)"


def test_an_over_precise_amount_of_money_is_refused_with_its_line(folder: Path):
    text = replaced(QEF, "  total: 11600.00", "  total: 11600.001")
    [problem] = refusal(spec(folder, text))
    assert (problem.line, problem.field) == (line_of(text, "11600.001"), "worked_example.total")
    assert "more than 2 decimal places; an amount of money is given to 2" in problem.message


def test_a_25_digit_figure_is_refused_with_its_line(folder: Path):
    text = replaced(QEF, "  rate_per_patient: 2.00", "  rate_per_patient: 1234567890123456789012345")
    text = replaced(text, "  list_size: 5800", "  list_size: 1234567890123456789012345")
    problems = refusal(spec(folder, text))
    assert [(p.line, p.field) for p in problems] == [
        (59, "funding.rate_per_patient"),
        (line_of(text, "list_size: 1234"), "worked_example.list_size"),
    ]
    assert problems[0].message == "1234567890123456789012345 is too large for a rate (at most 1,000,000)"
    assert "less than or equal to 10000000" in problems[1].message


def test_a_figure_that_would_overflow_decimal_is_refused_with_its_line(folder: Path):
    # '1e999999999' (text, so PyYAML leaves it alone) was taken as a rate, to overflow the first
    # sum it met; base-60 and hex figures past 28 digits would be rounded silently.
    for figure in (
        "'1e999999999'",
        "1.0e+40",
        "9" * 5000,
        "0x" + "f" * 90,
        ":".join(str(n) for n in range(1, 18)),  # YAML 1.1 reads 1:2:3 as a number in base 60
    ):
        text = replaced(QEF, "  rate_per_patient: 2.00", f"  rate_per_patient: {figure}")
        [problem] = refusal(spec(folder, text))
        assert problem.line == 59, figure


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!float x", "'x' is not a decimal number (write it like 2.50)"),  # was InvalidOperation
        ("!!float NaN", "'NaN' is not a finite number; write the figure itself (e.g. 0.50)"),
        ("!!int 1x", "'1x' is tagged as a whole number but is not one"),  # was ValueError
        ("!!int ''", "'' is tagged as a whole number but is not one"),  # was IndexError
        ("!!bool maybe", "'maybe' is tagged as a boolean but is not one (true or false)"),  # was KeyError
        ("!!float [1]", "a list or mapping cannot be tagged !!float"),  # was AssertionError (mine)
        ("1:30.5", "'1:30.5' is not a decimal number (write it like 2.50)"),  # YAML 1.1 base 60
    ],
)
def test_a_tag_on_text_that_is_not_its_type_is_refused_with_its_line(folder: Path, value: str, message: str):
    text = replaced(QEF, "  rate_per_patient: 2.00", f"  rate_per_patient: {value}")
    [problem] = refusal(spec(folder, text))
    assert (problem.line, problem.message) == (59, message)


@pytest.mark.parametrize("value", ["true", "[1, 2]", "{a: 1}", ""])
def test_a_rate_that_is_no_figure_at_all_is_refused_with_its_line(folder: Path, value: str):
    # Crash found by mutation: a spec cut off after "hours:" gave None to the rate, a TypeError.
    text = replaced(QEF, "  rate_per_patient: 2.00", f"  rate_per_patient: {value}")
    [problem] = refusal(spec(folder, text))
    assert (problem.line, problem.field) == (59, "funding.rate_per_patient")
    assert problem.message.startswith(("not an amount", "a money amount cannot be a boolean"))


def test_a_sessional_rate_of_nothing_is_refused_with_its_line(folder: Path):
    # Crash found by mutation: the worked example divided by a £0 session rate (ValueError).
    text = replaced(QEF, "    rate: 285.00", "    rate: 0")
    [problem] = refusal(spec(folder, text))
    assert (problem.line, problem.field) == (line_of(text, "rate: 0"), "sessional_rates.0.rate")


def test_a_service_schemes_fractions_and_amounts_are_bounded_too(folder: Path):
    text = replaced(LES, "  default_uplift: 0.01", "  default_uplift: 1.5")
    text = replaced(text, "  growth_allowance: 0.026", "  growth_allowance: 0.02612345")
    text = replaced(text, "prior_tariff: 95.00", "prior_tariff: 95.123456")
    text = replaced(text, "  envelope: 2500000.00", "  envelope: -5")
    problems = refusal(spec(folder, text, "les.yaml"))
    assert [(p.line, p.field) for p in problems] == [
        (37, "funding.default_uplift"),
        (38, "funding.growth_allowance"),
        (66, "funding.services.0.payment.prior_tariff"),
        (100, "budget.envelope"),
    ]


def test_figures_the_yaml_cannot_hold_are_all_reported_before_the_spec_is_read(folder: Path):
    # Reading YAML comes first (like a syntax error): its problems are listed together, and
    # the spec's own rules are checked once the file reads.
    text = replaced(LES, "  default_uplift: 0.01", "  default_uplift: .nan")
    text = replaced(text, "prior_tariff: 95.00", "prior_tariff: !!float 95.0.0")
    text = replaced(text, "  envelope: 2500000.00", "  envelope: -5")
    problems = refusal(spec(folder, text, "les.yaml"))
    assert [(p.line, p.field) for p in problems] == [
        (37, "funding.default_uplift"),
        (66, "funding.services.0.payment.prior_tariff"),
    ]


def test_money_refuses_what_no_exact_sum_can_hold():
    with pytest.raises(ValueError, match="not an amount a calculation can keep exactly"):
        to_decimal("1e999999999")
    with pytest.raises(ValueError, match="too large an amount"):
        Money.of(Decimal("1e25"))  # was InvalidOperation from quantize()
    with pytest.raises(ValueError, match="not a finite amount"):
        Money("NaN")
    assert Money.of(Decimal("12345678901234567.891")) == Money("12345678901234567.89")


# --- the file itself ----------------------------------------------------------------------------


def test_a_control_character_in_a_spec_is_refused_with_its_line(folder: Path):
    # Crash found by mutation (in this rewrite): PyYAML checks characters as its loader is made.
    text = replaced(QEF, "title: Variations", "title: Vari\x07ations")
    [problem] = refusal(spec(folder, text))
    assert problem.line == line_of(text, "\x07")
    assert problem.message == "a control character (U+0007) is not allowed in YAML; remove it"


def test_a_list_as_a_key_is_refused_with_its_line_not_taken_for_a_duplicate(folder: Path):
    text = "id: x\n? [a]\n: 1\n? [b]\n: 2\n"
    [problem] = refusal(spec(folder, text))
    assert "unhashable key" in problem.message
    assert problem.line in (2, 3)


def test_a_spec_too_large_to_be_one_is_refused_unread(folder: Path):
    path = spec(folder, "# " + "x" * MAX_SPEC_BYTES + "\n")
    [problem] = refusal(path)
    assert problem.message.endswith(
        "bytes is too large for a scheme spec (the limit is 5,000,000); is this the right file?"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_place_of_a_spec_is_refused_not_waited_on(folder: Path):
    path = folder / "fifo.yaml"
    os.mkfifo(path)
    [problem] = refusal(path)
    assert problem.message == "not a regular file; give the spec's .yaml file"


# --- mutation -----------------------------------------------------------------------------------

INSERTS = [
    b"&a ", b"*a", b"&a [*a]", b"*undefined", b"<<: *a\n", b"!!int ", b"!!float ", b"!!bool ", b"!!binary ",
    b"!!set ", b"!!omap ", b"!!map ", b"!!seq ", b"!!python/object:os.system ", b"!local ", b".inf", b"-.inf",
    b".nan", b"[" * 150, b"{a: " * 120, b"? ", b"---\n", b"...\n", b"%YAML 1.1\n", b"\x07", b"\xff", b"\x00",
    b"\xef\xbb\xbf", b"1e999999999", b"9" * 25, b"9" * 5000, b"0.123456789", b"1:2:3.5", b"- ", b": ", b"|",
    b">-", b"'", b'"', b"#", b"\t", b"~", b"2017-02-31", b"-1", b"\n", b"\n  ", b"[]", b"{}",
]  # fmt: skip

mutation = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("cut"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.integers(0, len(INSERTS) - 1)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 300)),
    st.tuples(st.just("repeat_line"), st.floats(0, 1), st.integers(0, 10_000)),
)


def mutate(data: bytes, steps: list[tuple[str, float, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, n in steps:
        at = int(where * len(out))
        if kind == "flip" and out:
            out[min(at, len(out) - 1)] = n
        elif kind == "cut":
            del out[at:]
        elif kind == "insert":
            out[at:at] = INSERTS[n]
        elif kind == "delete":
            del out[at : at + n]
        elif kind == "repeat_line":
            lines = bytes(out).split(b"\n")
            lines.insert(min(int(where * len(lines)), len(lines)), lines[n % len(lines)])
            out = bytearray(b"\n".join(lines))
    return bytes(out)


@settings(FUZZ, max_examples=120)
@given(name=st.sampled_from(sorted(SPECS)), steps=st.lists(mutation, min_size=1, max_size=4))
def test_a_mutated_spec_loads_or_is_refused_naming_its_file(folder: Path, name: str, steps):
    path = folder / name
    path.write_bytes(mutate(SPECS[name], steps))
    refusal(path)  # any exception but agreementgen's fails the test; every problem names the file


# Every figure in the shipped specs: "key: 2.00" on a line of its own or inside "{...: 2.00, ...}".
FIGURE = re.compile(r"(?:^\s*(?:- )?|[{,] )(?!version\b)([a-z_]+): (-?[0-9][0-9_.]*)(?=\s*(?:#.*)?$|[,}])")
FIGURES = [
    (name, number, match.start(2), match.end(2))
    for name, data in SPECS.items()
    for number, line in enumerate(data.decode().splitlines(), start=1)
    for match in FIGURE.finditer(line)
]
HOSTILE = [".inf", "-.inf", ".nan", "0.123456789", "1234567890123456789012345", "'1e999999999'", "1.0e+40",
           "!!float x", "!!int 1x", "9" * 200]  # fmt: skip


def test_the_shipped_specs_have_figures_to_spoil():
    assert len(FIGURES) > 70
    assert {name for name, *_ in FIGURES} == set(SPECS)


@settings(FUZZ, max_examples=60)
@given(figure=st.sampled_from(FIGURES), hostile=st.sampled_from(HOSTILE))
def test_a_hostile_figure_anywhere_is_refused_at_its_own_line(folder: Path, figure, hostile: str):
    name, number, start, end = figure
    lines = SPECS[name].decode().splitlines(keepends=True)
    lines[number - 1] = lines[number - 1][:start] + hostile + lines[number - 1][end:]
    problems = refusal(spec(folder, "".join(lines), name))
    assert number in [p.line for p in problems], [str(p) for p in problems]
