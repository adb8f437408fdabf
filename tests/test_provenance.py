"""Provenance: every quoted figure and text is found in its source, and what is not sourced says so."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

from agreementgen.cli import app
from agreementgen.provenance import Entry, Provenance, check, illustrative_notices, illustrative_under
from conftest import SCHEMES

SOURCE = """3.1 Funding

For 2017/18 the CCG have allocated £2.00 per patient based on 1st April 2017 registered
list sizes. Practices wishing to sign up are required to sign Section 7 and return it by 31st May 2017.

The practice\u2019s engagement will be   incorporated into any planned practice visits.
Action plans to be submitted by end of July.
"""


class Spec(BaseModel):
    provenance: Provenance = Provenance()
    rate_per_patient: Decimal = Decimal("2.00")
    sign_up_deadline: date = date(2017, 5, 31)
    first_due: date = date(2017, 7, 31)
    introduction: list[str] = [
        "The practice's engagement will be incorporated into any planned practice visits."
    ]
    services: list[dict[str, Any]] = [{"id": "diabetes", "title": "Diabetes", "tariff": Decimal("25.00")}]
    return_email: str = "contracts@example.nhs.net"


def spec(tmp_path: Path, *items: dict[str, Any], **values: Any) -> Spec:
    (tmp_path / "sources").mkdir(exist_ok=True)
    (tmp_path / "sources" / "qef.txt").write_text(SOURCE, encoding="utf-8")
    provenance = {
        "sources": [{"id": "qef", "title": "The QEF", "file": "sources/qef.txt"}],
        "items": list(items),
    }
    return Spec(provenance=Provenance.model_validate(provenance), **values)


def verdicts(tmp_path: Path, *items: dict[str, Any], **values: Any) -> dict[str, tuple[str, str]]:
    return {r.item: (r.verdict, r.problem) for r in check(spec(tmp_path, *items, **values), tmp_path)}


def test_a_figure_whose_quote_is_in_the_source_and_shows_it_is_quoted(tmp_path: Path) -> None:
    rows = verdicts(tmp_path, {"item": "rate_per_patient", "source": "qef", "at": "3.1",
                               "quote": "allocated £2.00 per patient"})  # fmt: skip
    assert rows["rate_per_patient"] == ("quoted", "")


def test_a_quote_matches_across_line_breaks_and_curly_apostrophes(tmp_path: Path) -> None:
    quote = "The practice's engagement will be incorporated into any planned practice visits."
    rows = verdicts(tmp_path, {"item": "introduction", "source": "qef", "verbatim": True, "quote": quote})
    assert rows["introduction"] == ("verbatim", "")


def test_an_altered_quote_fails_and_names_the_item(tmp_path: Path) -> None:
    rows = verdicts(
        tmp_path, {"item": "rate_per_patient", "source": "qef", "quote": "allocated £2.50 per patient"}
    )
    verdict, problem = rows["rate_per_patient"]
    assert verdict == "FAILED"
    assert "the quote is not in the source: 'allocated £2.50 per patient'" in problem


def test_a_verbatim_text_with_one_word_changed_fails(tmp_path: Path) -> None:
    softened = ["The practice's engagement may be incorporated into any planned practice visits."]
    rows = verdicts(
        tmp_path, {"item": "introduction", "source": "qef", "verbatim": True}, introduction=softened
    )
    verdict, problem = rows["introduction"]
    assert verdict == "FAILED"
    assert "claimed verbatim, but this text is not in the source" in problem


def test_a_verbatim_text_must_equal_its_quote_when_it_gives_one(tmp_path: Path) -> None:
    rows = verdicts(tmp_path, {"item": "introduction", "source": "qef", "verbatim": True,
                               "quote": "The practice's engagement will be incorporated"})  # fmt: skip
    assert rows["introduction"] == ("FAILED", "claimed verbatim, but the printed text differs from the quote")


def test_a_text_quoted_but_not_verbatim_is_a_visible_paraphrase(tmp_path: Path) -> None:
    rows = verdicts(tmp_path, {"item": "introduction", "source": "qef", "quote": "planned practice visits"},
                    introduction=["Visits are planned."])  # fmt: skip
    assert rows["introduction"] == ("paraphrase", "")


def test_a_figure_the_quote_does_not_show_fails_unless_derived(tmp_path: Path) -> None:
    quote = "Action plans to be submitted by end of July"
    bare = verdicts(tmp_path, {"item": "first_due", "source": "qef", "quote": quote})
    assert bare["first_due"][0] == "FAILED"
    assert "does not show 2017-07-31" in bare["first_due"][1]
    derived = verdicts(tmp_path, {"item": "first_due", "source": "qef", "quote": quote,
                                  "derived": "the last day of the month"})  # fmt: skip
    assert derived["first_due"] == ("derived", "")


def test_a_date_is_recognised_as_the_source_prints_it(tmp_path: Path) -> None:
    rows = verdicts(
        tmp_path, {"item": "sign_up_deadline", "source": "qef", "quote": "return it by 31st May 2017"}
    )
    assert rows["sign_up_deadline"] == ("quoted", "")


def test_a_list_element_is_named_by_its_id_and_an_illustrative_one_is_listed(tmp_path: Path) -> None:
    entry = {"item": "services.diabetes.tariff", "illustrative": "the source sets no tariffs",
             "label": "the diabetes tariff"}  # fmt: skip
    made = spec(tmp_path, entry)
    rows = {r.item: r for r in check(made, tmp_path)}
    assert rows["services.diabetes.tariff"].verdict == "illustrative"
    assert rows["services.diabetes.title"].verdict == "own"  # not covered: the author's own
    assert illustrative_notices(made) == [
        {
            "item": "services.diabetes.tariff",
            "label": "the diabetes tariff",
            "reason": "the source sets no tariffs",
        }
    ]
    assert illustrative_notices(made, "statement") == illustrative_notices(made)  # printed in every kind
    assert illustrative_under(made, "services.diabetes")
    assert illustrative_under(made, "services.diabetes.tariff.whatever")
    assert not illustrative_under(made, "services.asthma")


def test_every_item_no_entry_covers_is_the_authors_own(tmp_path: Path) -> None:
    rows = verdicts(tmp_path)
    assert {item for item, (verdict, _) in rows.items() if verdict == "own"} == {
        "rate_per_patient", "sign_up_deadline", "first_due", "introduction.1", "services.diabetes.title",
        "services.diabetes.tariff", "return_email",
    }  # fmt: skip


def test_an_item_the_spec_does_not_have_fails_with_what_it_does_have(tmp_path: Path) -> None:
    rows = verdicts(tmp_path, {"item": "services.asthma", "illustrative": "x", "label": "y"})
    verdict, problem = rows["services.asthma"]
    assert verdict == "FAILED"
    assert "no element 'asthma'" in problem


def test_an_unknown_source_and_an_unreadable_source_file_fail(tmp_path: Path) -> None:
    rows = verdicts(tmp_path, {"item": "return_email", "source": "les", "quote": "x"})
    assert rows["return_email"] == ("FAILED", "no source 'les' (known: qef)")
    made = spec(tmp_path)
    (tmp_path / "sources" / "qef.txt").unlink()
    failures = [r for r in check(made, tmp_path) if r.verdict == "FAILED"]
    assert [r.item for r in failures] == ["source qef"]
    assert "cannot read the source file" in failures[0].problem


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"item": "a", "source": "qef", "quote": "x", "illustrative": "y", "label": "z"}, "exactly one of"),
        ({"item": "a", "illustrative": "made up"}, "needs a label"),
        ({"item": "a", "source": "qef"}, "needs a quote, or verbatim"),
        (
            {"item": "a", "illustrative": "y", "label": "z", "verbatim": True},
            "has no quote, verbatim or derived",
        ),
        ({"item": "a", "source": "qef", "quote": "x", "printed_in": ["statement"]}, "printed_in says which"),
        ({"item": "a", "illustrative": "y", "label": "z", "printed_in": ["letter"]}, "printed_in"),
    ],
)
def test_an_entry_says_where_an_item_comes_from_in_exactly_one_way(
    entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Entry.model_validate(entry)


# --- the shipped specs ------------------------------------------------------------------------------

SHIPPED_COUNTS = {
    "camden-lcs-2019-20": {
        "verbatim": 29,
        "quoted": 1,
        "derived": 3,
        "paraphrase": 8,
        "illustrative": 3,
        # + returns.late, .untrusted_signature, .signer_mismatch, reminders.every_days, .max, claims.approval
        "own": 14,
    },
    # + claims (two-level approval), illustrative: the page says nothing of how claims are approved
    "cpccg-les-2017-18": {"verbatim": 5, "derived": 2, "paraphrase": 1, "illustrative": 4, "own": 10},
    "cpccg-qef-2017-18": {
        "verbatim": 27,
        "quoted": 17,
        "derived": 13,
        "paraphrase": 11,
        "illustrative": 3,
        "own": 9,
    },
    "sw-outcomes-2015-16": {"verbatim": 15, "derived": 2, "illustrative": 3, "own": 16},  # + claims.approval
}


@pytest.mark.parametrize("stem", sorted(SHIPPED_COUNTS))
def test_validate_provenance_passes_on_each_shipped_spec_with_its_counts_per_verdict(stem: str) -> None:
    result = CliRunner().invoke(
        app, ["validate", "-s", str(SCHEMES / f"{stem}.yaml"), "--provenance", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["counts"] == SHIPPED_COUNTS[stem]
    assert all(row["problem"] == "" for row in report["rows"])


def test_the_provenance_table_prints_each_item_its_source_and_verdict() -> None:
    result = CliRunner().invoke(
        app,
        ["validate", "-s", str(SCHEMES / "cpccg-qef-2017-18.yaml"), "--provenance"],
        env={"COLUMNS": "220"},
    )
    assert result.exit_code == 0, result.output
    assert (
        "source qef: NHS Cambridgeshire & Peterborough CCG, Primary Care Quality & Engagement Framework"
        in result.output
    )
    line = next(line for line in result.output.splitlines() if "│ funding.rate_per_patient " in line)
    assert "2.00" in line and "qef, 3.1" in line and "quoted" in line
    assert (
        "provenance: 27 verbatim, 17 quoted, 13 derived, 11 paraphrase, 3 illustrative, 9 own"
        in result.output
    )


def test_every_shipped_source_file_is_attributed() -> None:
    attribution = (SCHEMES / "sources" / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "Open Government Licence v3.0" in attribution
    for source in (SCHEMES / "sources").glob("*.txt"):
        assert f"`{source.name}`" in attribution, source.name


def test_a_source_that_is_not_a_regular_file_is_refused_not_read(tmp_path: Path) -> None:
    made = spec(tmp_path)
    (tmp_path / "sources" / "qef.txt").unlink()
    os.mkfifo(tmp_path / "sources" / "qef.txt")  # reading it would wait for a writer for ever
    [failure] = [r for r in check(made, tmp_path) if r.verdict == "FAILED"]
    assert failure.problem.endswith("is not a regular file")
