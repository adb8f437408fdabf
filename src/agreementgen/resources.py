"""Finding the bundled schemes, templates and sample data.

In an installed wheel they live inside the package (``agreementgen/_bundled/``,
put there by the build's force-include); in a source checkout they are the
top-level ``schemes/``, ``templates/`` and ``samples/`` folders users edit.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


def bundled(folder: str) -> Path:
    """The folder ``schemes``, ``templates`` or ``samples`` that ships with agreementgen."""
    packaged = Path(str(resources.files("agreementgen"))) / "_bundled" / folder
    if packaged.is_dir():
        return packaged
    return _CHECKOUT_ROOT / folder


def sample_scheme() -> Path:
    return bundled("schemes") / "cpccg-qef-2017-18.yaml"


def sample_practice_files() -> list[Path]:
    folder = bundled("samples") / "cpccg"
    return [folder / "epraccur_2023-02_06H.csv", folder / "gp-reg-pat-prac-all_2021-01_06H.csv"]


def sample_service_scheme() -> Path:
    return bundled("schemes") / "cpccg-les-2017-18.yaml"


def sample_signups() -> Path:
    """Which C&P sample practices signed up to which LES (illustrative, made for the demo)."""
    return bundled("samples") / "cpccg" / "les-signups-2017-18.csv"


def sample_contacts() -> Path:
    """Email addresses for the C&P sample practices: invented, on an example domain (for the demo)."""
    return bundled("samples") / "cpccg" / "contacts.csv"
