"""Checking a run's inputs together: the scheme spec, the practice data and their join.

This is what ``agreementgen validate`` reports and what every other command
loads through, so all of them see the same problems the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import AgreementgenError, SchemeError
from .payments import worked_example_problems
from .practices import PracticeData, load_practice_data
from .scheme import Scheme, load_scheme
from .services import ServiceScheme, load_service_scheme
from .signups import SignUps, load_signups
from .yamlfile import load_yaml


def load_checked_scheme(path: str | Path) -> Scheme:
    """A per-capita scheme spec with every structural rule and its worked example checked."""
    if scheme_model(path) == "services":
        raise SchemeError(
            "this is a service scheme (funding.model: services); this command works on per-capita schemes "
            "such as schemes/cpccg-qef-2017-18.yaml (for a service scheme use validate, entitlements, "
            "generate, status, ingest or statements)",
            path=path,
        )
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


def scheme_model(path: str | Path) -> str:
    """``per_capita`` or ``services``: which kind of spec a YAML file is (per its ``funding.model``)."""
    data = load_yaml(Path(path)).data
    funding = data.get("funding") if isinstance(data, dict) else None
    model = funding.get("model") if isinstance(funding, dict) else None
    return "services" if model == "services" else "per_capita"


@dataclass
class ServiceInputs:
    scheme: ServiceScheme
    data: PracticeData
    signups: SignUps

    @property
    def problems(self) -> list[AgreementgenError]:
        return [*self.data.problems, *self.signups.problems]


def load_service_inputs(
    scheme_path: str | Path,
    practice_paths: Sequence[str | Path],
    signup_paths: Sequence[str | Path],
    *,
    commissioner: str | None = None,
    include_inactive: bool = False,
) -> ServiceInputs:
    """A service scheme (raising on any problem), its practices and sign-ups (collecting problems)."""
    scheme = load_service_scheme(scheme_path)
    data = load_practice_data(
        practice_paths, list_size_date=scheme.list_size_date, commissioner=commissioner,
        include_inactive=include_inactive,
    )  # fmt: skip
    signups = load_signups(signup_paths, scheme, [p.code for p in data.practices])
    return ServiceInputs(scheme, data, signups)


def load_any_scheme(path: str | Path) -> Scheme | ServiceScheme:
    """A per-capita or a service scheme, whichever the file is, fully checked."""
    return load_service_scheme(path) if scheme_model(path) == "services" else load_checked_scheme(path)
