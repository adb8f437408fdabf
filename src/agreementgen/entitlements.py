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
from .payments import (
    BudgetCheck,
    Entitlement,
    ServicesBudget,
    ServiceValue,
    budget_check,
    entitlement,
    service_value,
    services_budget,
)
from .practices import Practice
from .scheme import Scheme
from .services import ServiceScheme
from .signups import SignUps
from .tables import write_csv, write_table, write_xlsx


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


@dataclass
class ServiceRow:
    practice: Practice
    values: dict[str, ServiceValue]  # by service id, the services it signed up to

    @property
    def total(self) -> Money:
        return total(v.value for v in self.values.values())


@dataclass
class ServiceTable:
    """A service scheme's indicative values: one row per practice, a column per offered service."""

    scheme: ServiceScheme
    rows: list[ServiceRow]

    @property
    def total(self) -> Money:
        return total(r.total for r in self.rows)

    @property
    def budget(self) -> ServicesBudget:
        return services_budget(self.scheme, [v for r in self.rows for v in r.values.values()])

    def header(self) -> list[str]:
        return ["code", "name", "list_size", *(f"service:{s.id}" for s in self.scheme.offered), "total"]

    def records(self) -> list[list[Any]]:
        out: list[list[Any]] = []
        for r in self.rows:
            cells = [r.values[s.id].value.amount if s.id in r.values else "" for s in self.scheme.offered]
            out.append([r.practice.code, r.practice.name, r.practice.list_size, *cells, r.total.amount])
        by_service = self.budget.by_service
        out.append(["TOTAL", f"{len(self.rows)} practices", sum(r.practice.list_size or 0 for r in self.rows),
                    *(by_service[s.id].amount for s in self.scheme.offered), self.total.amount])  # fmt: skip
        return out

    def as_json(self) -> dict[str, Any]:
        budget = self.budget
        return {
            "scheme": {"id": self.scheme.id, "version": self.scheme.version, "title": self.scheme.title},
            "practices": [
                {
                    "code": r.practice.code,
                    "name": r.practice.name,
                    "list_size": r.practice.list_size,
                    "services": {
                        k: {
                            "planned": v.planned,
                            "tariff": None if v.unit_tariff is None else f"{v.unit_tariff:.2f}",
                            "value": v.value.plain(),
                        }
                        for k, v in r.values.items()
                    },
                    "total": r.total.plain(),
                }
                for r in self.rows
            ],
            "totals": {
                "by_service": {k: m.plain() for k, m in budget.by_service.items()},
                "total": self.total.plain(),
            },
            "budget": {
                "envelope": None if budget.envelope is None else budget.envelope.plain(),
                "planned": budget.planned.plain(),
                "growth_allowance": budget.growth.plain(),
                "committed": budget.committed.plain(),
                "headroom": None if budget.headroom is None else budget.headroom.plain(),
            },
        }

    def write(self, path: str | Path) -> None:
        write_table(path, self.header(), self.records(), sheet="Services")


def service_table(scheme: ServiceScheme, practices: list[Practice], signups: SignUps) -> ServiceTable:
    offered = {s.id: s for s in scheme.offered}
    rows = []
    for p in practices:
        chosen = signups.for_practice(p.code)
        values = {
            sid: service_value(scheme, offered[sid], list_size=p.list_size or 0, planned=planned)
            for sid, planned in chosen.items()
        }
        rows.append(ServiceRow(p, dict(sorted(values.items(), key=lambda kv: list(offered).index(kv[0])))))
    return ServiceTable(scheme, rows)
