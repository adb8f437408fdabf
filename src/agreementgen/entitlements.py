"""The entitlement table: one row per practice with every component and instalment.

Built from loaded inputs by pure calculation (``payments.entitlement``); turned
into JSON, CSV or XLSX here. Amounts leave as exact strings (``"11600.00"``) in
JSON and as Decimals in CSV/XLSX — never floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .money import Money, total
from .payments import BudgetCheck, Entitlement, budget_check, entitlement
from .practices import Practice
from .scheme import Scheme
from .tables import write_csv, write_xlsx


@dataclass
class EntitlementRow:
    practice: Practice
    entitlement: Entitlement


@dataclass
class EntitlementTable:
    scheme: Scheme
    rows: list[EntitlementRow]

    @property
    def total(self) -> Money:
        return total(r.entitlement.total for r in self.rows)

    @property
    def list_size(self) -> int:
        return sum(r.entitlement.list_size for r in self.rows)

    def component_totals(self) -> dict[str, Money]:
        return {
            c.id: total(r.entitlement.by_component[c.id] for r in self.rows) for c in self.scheme.components
        }

    def instalment_totals(self) -> dict[str, Money]:
        return {
            i.id: total(r.entitlement.by_instalment[i.id] for r in self.rows) for i in self.scheme.instalments
        }

    @property
    def budget(self) -> BudgetCheck | None:
        return budget_check(self.scheme, [r.entitlement for r in self.rows])

    def header(self) -> list[str]:
        return [
            "code", "name", "list_size", "list_size_date",
            *(f"component:{c.id}" for c in self.scheme.components),
            *(f"instalment:{i.id}" for i in self.scheme.instalments),
            "total",
        ]  # fmt: skip

    def records(self) -> list[list[Any]]:
        """Rows for CSV/XLSX (Decimals for amounts), ending with a TOTAL row."""
        out: list[list[Any]] = []
        for r in self.rows:
            e = r.entitlement
            out.append([
                r.practice.code, r.practice.name, e.list_size,
                r.practice.list_size_date.isoformat() if r.practice.list_size_date else "",
                *(m.amount for m in e.by_component.values()),
                *(m.amount for m in e.by_instalment.values()),
                e.total.amount,
            ])  # fmt: skip
        out.append([
            "TOTAL", f"{len(self.rows)} practices", self.list_size, "",
            *(m.amount for m in self.component_totals().values()),
            *(m.amount for m in self.instalment_totals().values()),
            self.total.amount,
        ])  # fmt: skip
        return out

    def as_json(self) -> dict[str, Any]:
        budget = self.budget
        return {
            "scheme": {"id": self.scheme.id, "version": self.scheme.version, "title": self.scheme.title},
            "rate_per_patient": f"{self.scheme.rate_per_patient:.2f}",
            "practices": [
                {
                    "code": r.practice.code,
                    "name": r.practice.name,
                    "list_size": r.entitlement.list_size,
                    "list_size_date": r.practice.list_size_date.isoformat()
                    if r.practice.list_size_date
                    else None,
                    "by_component": {k: m.plain() for k, m in r.entitlement.by_component.items()},
                    "by_instalment": {k: m.plain() for k, m in r.entitlement.by_instalment.items()},
                    "total": r.entitlement.total.plain(),
                }
                for r in self.rows
            ],
            "totals": {
                "practices": len(self.rows),
                "list_size": self.list_size,
                "by_component": {k: m.plain() for k, m in self.component_totals().items()},
                "by_instalment": {k: m.plain() for k, m in self.instalment_totals().items()},
                "total": self.total.plain(),
            },
            "budget": None
            if budget is None
            else {
                "envelope": budget.envelope.plain(),
                "committed": budget.committed.plain(),
                "headroom": budget.headroom.plain(),
                "within": budget.within,
            },
        }

    def write(self, path: str | Path) -> None:
        """CSV or XLSX by the file's suffix."""
        path = Path(path)
        if path.suffix.lower() == ".xlsx":
            write_xlsx(path, self.header(), self.records(), sheet="Entitlements")
        else:
            write_csv(path, self.header(), self.records())


def entitlement_table(scheme: Scheme, practices: list[Practice]) -> EntitlementTable:
    rows = [EntitlementRow(p, entitlement(scheme, p.list_size)) for p in practices if p.list_size is not None]
    return EntitlementTable(scheme=scheme, rows=rows)
