"""Field work for the demo township: the last two weeks of visits and reported cases.

Without it the demo's profiles, assessments and notice boards would all read zero. Every fact is
written through the aggregates under the grid member's own identity (the grid head's for the
steps of the closed loop), so projections see exactly what a phone would have produced. Coverage
differs between members on purpose: a ranking of identical scores teaches nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from backend.demo import DemoTownship
from backend.demo.models import DemoStaff
from events.case import Case
from events.case_events import Reporter
from events.grid import GridUnit
from events.household import Household
from events.meta import EventMeta
from events.visit import Visit, VisitFindings

__all__ = ["demo_field_work"]

_DAYS_BACK = 12  # inside any assessment's 14-day trust window for device time
_CASES_PER_MEMBER = (0, 4)
_CLOSED_SHARE = 0.5
_CATEGORIES = ("hazard", "sanitation", "livelihood", "public_order", "neighbour_dispute")
_TITLES = {
    "hazard": "路边电线杆倾斜",
    "sanitation": "村口垃圾未清运",
    "livelihood": "独居老人申请代办医保",
    "public_order": "夜间有陌生车辆停放",
    "neighbour_dispute": "邻里宅基地界线争议",
}


StaffIds = Callable[[str], UUID]


def demo_field_work(
    township: DemoTownship, *, staff_id: StaffIds, namespace: UUID, now: datetime, seed: int
) -> Iterator[Aggregate]:
    """Visits and cases as unsaved aggregates, deterministic for a seed and a clock;
    ``staff_id`` maps a demo staff key to the id it was appointed under."""
    rng = random.Random(seed)
    ids = _Ids(staff_id, namespace)
    heads = {s.scope_code: s for s in township.staff if s.role == "grid_head"}
    parents = {u.code: u.parent_code for u in township.units}
    by_grid: dict[str, list[str]] = {}
    for h in township.households:
        by_grid.setdefault(h.grid_code, []).append(h.household_no)
    members = [s for s in township.staff if s.role == "grid_member"]
    for member in members:
        if member.key.endswith("-2"):
            continue  # second members of busy grids share the first one's round
        households = by_grid.get(member.scope_code, [])
        head = heads.get(parents.get(member.scope_code) or "")
        yield from _visits(member, households, ids=ids, now=now, rng=rng)
        yield from _cases(member, head, households, ids=ids, now=now, rng=rng)


class _Ids:
    def __init__(self, staff_id: StaffIds, namespace: UUID) -> None:
        self.staff_id, self.namespace = staff_id, namespace

    def of(self, staff: DemoStaff) -> UUID:
        return self.staff_id(staff.key)

    def fact(self, name: str) -> UUID:
        return uuid5(self.namespace, name)

    def meta(self, staff: DemoStaff, role: str, at: datetime) -> EventMeta:
        return EventMeta(
            actor_id=self.of(staff),
            role=role,
            device_id=f"demo-phone-{staff.key}",
            client_time=at,
            scope_unit_ids=(GridUnit.id_for_code(staff.scope_code),),
        )


def _visits(
    member: DemoStaff,
    households: Sequence[str],
    *,
    ids: _Ids,
    now: datetime,
    rng: random.Random,
) -> Iterator[Visit]:
    coverage = rng.uniform(0.45, 0.95)
    grid_id = GridUnit.id_for_code(member.scope_code)
    for number in households:
        if rng.random() >= coverage:
            continue
        at = now - timedelta(days=rng.uniform(0.1, _DAYS_BACK))
        problem = rng.random() < 0.08
        yield Visit.record(
            visit_id=ids.fact(f"visit:{number}"),
            household_id=Household.id_for_number(number),
            grid_id=grid_id,
            purpose=rng.choice(("routine", "comprehensive_visit", "policy_outreach")),
            method="in_person" if rng.random() < 0.85 else "phone",
            visited_at=at,
            findings=VisitFindings(
                food_clothing="ok",
                drinking_water="problem" if problem else "ok",
                housing_safety="ok",
                basic_medical="ok",
                compulsory_education="not_checked",
            ),
            meta=ids.meta(member, "grid_member", at),
        )


def _cases(
    member: DemoStaff,
    head: DemoStaff | None,
    households: Sequence[str],
    *,
    ids: _Ids,
    now: datetime,
    rng: random.Random,
) -> Iterator[Case]:
    for n in range(rng.randint(*_CASES_PER_MEMBER)):
        at = now - timedelta(days=rng.uniform(0.5, _DAYS_BACK))
        category = rng.choice(_CATEGORIES)
        case = Case.report(
            case_id=ids.fact(f"case:{member.key}:{n}"),
            category=category,
            title=_TITLES[category],
            description=f"{_TITLES[category]}，网格员巡查发现，请尽快处理。",
            location=f"{member.scope_code} 网格",
            reporter=Reporter(source="grid_member", staff_id=ids.of(member)),
            level=3,
            holder_unit_id=GridUnit.id_for_code(member.scope_code),
            meta=ids.meta(member, "grid_member", at),
            household_id=Household.id_for_number(rng.choice(households)) if households else None,
        )
        if head is not None and rng.random() < _CLOSED_SHARE:
            _walk_the_loop(case, member=member, head=head, ids=ids, at=at)
        yield case


def _walk_the_loop(
    case: Case, *, member: DemoStaff, head: DemoStaff, ids: _Ids, at: datetime
) -> None:
    """受理 → 立案 → 派遣 → 签收 → 处置 → 核查 → 结案, by the grid head and the member."""
    by_head = ids.meta(head, "grid_head", at)
    by_member = ids.meta(member, "grid_member", at)
    case.accept(meta=by_head)
    case.register(meta=by_head)
    case.dispatch(meta=by_head, staff_id=ids.of(member))
    case.sign_for(meta=by_member)
    case.handle("已现场处置完毕", meta=by_member)
    case.verify(meta=by_head)
    case.close(meta=by_head, summary="处置到位，群众认可")
