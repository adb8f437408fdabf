"""agreementgen: issue local primary-care schemes to GP practices and get them back.

The library is usable without the CLI::

    from agreementgen import load_inputs, entitlement
    inputs = load_inputs("schemes/cpccg-qef-2017-18.yaml", ["practices.csv"])
    for p in inputs.data.practices:
        print(p.code, entitlement(inputs.scheme, p.list_size).total)
"""

__version__ = "0.1.0"

from .errors import (
    AgreementgenError,
    OutputError,
    PracticeDataError,
    ProblemsFound,
    SchemeError,
)
from .money import Money, split
from .payments import Entitlement, entitlement
from .practices import Practice, PracticeData, load_practice_data
from .scheme import Scheme, load_scheme
from .validation import Inputs, load_checked_scheme, load_inputs

__all__ = [
    "AgreementgenError",
    "Entitlement",
    "Inputs",
    "Money",
    "OutputError",
    "Practice",
    "PracticeData",
    "PracticeDataError",
    "ProblemsFound",
    "Scheme",
    "SchemeError",
    "entitlement",
    "load_checked_scheme",
    "load_inputs",
    "load_practice_data",
    "load_scheme",
    "split",
]
