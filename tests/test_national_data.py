"""Every real row of the full national NHS files loads: nothing crashes, exclusions are counted.

These read ../shared/data (beside the checkout, as in CI). Where it is missing on a
user's machine the tests skip and say why; in CI (CI=true) a missing folder fails.
"""

from datetime import date

import pytest
from typer.testing import CliRunner

from agreementgen.cli import app
from agreementgen.practices import load_practice_data
from conftest import QEF, SHARED_DATA, in_ci

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def shared():
    if not SHARED_DATA.is_dir():
        if in_ci():
            pytest.fail(f"{SHARED_DATA} is missing; CI must have ../shared beside the clone")
        pytest.skip(f"{SHARED_DATA} not found: the national NHS files are not on this machine")
    return SHARED_DATA


def test_the_2026_epraccur_and_quin_age_files_give_6139_practices(shared):
    data = load_practice_data(
        [shared / "epraccur.csv", shared / "gp-reg-pat-prac-quin-age_2026-07.zip"],
        list_size_date=date(2026, 7, 1),
    )
    assert len(data.practices) == 6139
    assert sum(p.list_size for p in data.practices) == 63_436_508
    # active GP practices in the February epraccur that July's list does not have
    assert all("no list size" in p.message for p in data.problems)
    assert len(data.practices) + len(data.problems) == 6604  # ACTIVE rows with role RO76
    assert data.excluded["closed"] == 1534
    assert data.excluded["dormant"] == 51
    assert sum(data.excluded.values()) + len(data.practices) + len(data.problems) == 15_389


def test_the_legacy_2023_epraccur_with_the_2021_list_sizes(shared):
    data = load_practice_data(
        [shared / "epraccur_2023-02.csv", shared / "gp-reg-pat-prac-all_2021-01.csv"],
        list_size_date=date(2017, 4, 1),
    )
    assert data.excluded["closed"] + data.excluded["dormant"] + data.excluded["proposed"] > 0
    assert sum(data.excluded.values()) + len(data.practices) + len(data.problems) == 15_663
    assert all(p.list_size is not None for p in data.practices)


def test_validate_on_the_full_files_reports_exclusions_by_reason(shared):
    result = CliRunner().invoke(
        app,
        ["validate", "-s", str(QEF), "-p", str(shared / "epraccur.csv"),
         "-p", str(shared / "gp-reg-pat-prac-all_2021-01.csv")],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 1  # new practices since 2021 have no 2021 list size: reported
    assert "epraccur (2026 coding), 15,389 rows" in result.output
    assert "1,534  closed" in result.output
    assert "not a GP practice (ODS role RO247)" in result.output
    assert "problem(s) in the practice data" in result.output
    assert "Traceback" not in result.output
