"""Checking a run's inputs together: the scheme spec, the practice data and their join.

This is what ``agreementgen validate`` reports and what every other command
loads through, so all of them see the same problems the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .payments import worked_example_problems
from .practices import PracticeData, load_practice_data
from .scheme import Scheme, load_scheme


def load_checked_scheme(path: str | Path) -> Scheme:
    """A scheme spec with every structural rule and its worked example checked."""
    return load_scheme(path, checks=[worked_example_problems])


@dataclass
class Inputs:
    scheme: Scheme
    data: PracticeData


def load_inputs(
    scheme_path: str | Path,
    practice_paths: Sequence[str | Path],
    *,
    commissioner: str | None = None,
    include_inactive: bool = False,
) -> Inputs:
    """Load the scheme (raising on any problem) and the practice data (collecting problems)."""
    scheme = load_checked_scheme(scheme_path)
    data = load_practice_data(
        practice_paths,
        list_size_date=scheme.list_size_date,
        commissioner=commissioner,
        include_inactive=include_inactive,
    )
    return Inputs(scheme=scheme, data=data)
