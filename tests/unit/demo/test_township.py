from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest

from backend.demo import REFERENCE_DATE, TOWN_CODE, DemoTownship, generate_township
from backend.ledger_import import LedgerPerson, has_valid_checksum


@pytest.fixture(scope="module")
def township() -> DemoTownship:
    return generate_township()


def _persons(township: DemoTownship) -> list[LedgerPerson]:
    return [p for h in township.households for p in h.persons]


def _age(person: LedgerPerson) -> int:
    assert person.birth_date is not None
    born = person.birth_date
    return (
        REFERENCE_DATE.year
        - born.year
        - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (born.month, born.day))
    )


def test_same_seed_same_township_other_seed_other_township(township: DemoTownship) -> None:
    assert generate_township(seed=2026) == township
    assert generate_township(seed=7) != township


def test_generation_is_fast() -> None:
    started = time.perf_counter()
    generate_township(seed=1)
    assert time.perf_counter() - started < 3.0


def test_unit_tree_shape(township: DemoTownship) -> None:
    levels = Counter(u.level for u in township.units)
    assert levels[1] == 1
    assert levels[2] == 12
    assert 60 <= levels[3] <= 84
    town = township.units[0]
    assert (town.code, town.level, town.parent_code) == (TOWN_CODE, 1, None)
    assert len({u.code for u in township.units}) == len(township.units)


def test_codes_extend_their_parents(township: DemoTownship) -> None:
    by_code = {u.code: u for u in township.units}
    for unit in township.units[1:]:
        assert unit.parent_code is not None
        parent = by_code[unit.parent_code]
        assert parent.level == unit.level - 1
        if unit.level == 2:
            assert len(unit.code) == 12
            assert unit.code[:9] == TOWN_CODE[:9]
        else:
            assert len(unit.code) == 15
            assert unit.code[:12] == parent.code
    grids_per_village = Counter(u.parent_code for u in township.units if u.level == 3)
    assert all(4 <= n <= 8 for n in grids_per_village.values())


def test_household_and_person_counts(township: DemoTownship) -> None:
    assert 5_500 <= len(township.households) <= 6_500
    assert 19_000 <= len(_persons(township)) <= 25_000
    sizes = Counter(len(h.persons) for h in township.households)
    assert set(sizes) == set(range(1, 8))
    per_grid = Counter(h.grid_code for h in township.households)
    assert all(60 <= n <= 110 for n in per_grid.values())


def test_every_household_lives_in_a_grid_and_has_one_head(township: DemoTownship) -> None:
    grids = {u.code for u in township.units if u.level == 3}
    numbers = [h.household_no for h in township.households]
    assert len(set(numbers)) == len(numbers)
    for household in township.households:
        assert household.grid_code in grids
        assert [p.relation for p in household.persons].count("head") == 1
        assert household.persons[0].relation == "head"


def test_every_id_number_is_valid_unique_and_agrees(township: DemoTownship) -> None:
    ids = [p for p in _persons(township) if p.id_number is not None]
    assert len(ids) > 0.95 * len(_persons(township))
    assert len({p.id_number for p in ids}) == len(ids)
    for person in ids:
        assert person.id_number is not None
        assert has_valid_checksum(person.id_number)
        assert person.id_number[:6] == TOWN_CODE[:6]
        assert person.id_number[6:14] == f"{person.birth_date:%Y%m%d}"
        assert (int(person.id_number[16]) % 2 == 1) == (person.gender == "male")


def test_relations_fit_ages(township: DemoTownship) -> None:
    for household in township.households:
        head_age = _age(household.persons[0])
        assert 18 <= head_age <= 100
        for person in household.persons[1:]:
            age = _age(person)
            if person.relation == "child":
                assert age <= head_age - 15
            elif person.relation == "grandchild":
                assert age <= head_age - 30
            elif person.relation == "parent":
                assert age >= head_age + 15
            elif person.relation == "spouse":
                assert age >= 18
                assert person.gender != household.persons[0].gender


def test_phones_unique_and_mostly_for_adults(township: DemoTownship) -> None:
    persons = _persons(township)
    phones = [p.phone for p in persons if p.phone] + [s.work_phone for s in township.staff]
    assert len(set(phones)) == len(phones)
    adults = [p for p in persons if 18 <= _age(p) <= 70]
    assert sum(p.phone is not None for p in adults) > 0.85 * len(adults)
    assert all(p.phone is None for p in persons if _age(p) < 14)


def test_tag_rates(township: DemoTownship) -> None:
    households = township.households
    persons = _persons(township)
    adults = [p for p in persons if _age(p) >= 18]
    dibao = sum("dibao" in h.persons[0].tags for h in households) / len(households)
    assert 0.015 <= dibao <= 0.05
    party = sum("party_member" in p.tags for p in adults) / len(adults)
    assert 0.05 <= party <= 0.09
    assert all(_age(p) < 18 for p in persons if "left_behind_child" in p.tags)
    assert all(_age(p) >= 18 for p in persons if "party_member" in p.tags)
    solitary = [h for h in households if any("solitary_elder" in p.tags for p in h.persons)]
    assert solitary
    assert all(len(h.persons) == 1 and _age(h.persons[0]) >= 60 for h in solitary)
    for rare in ("community_correction", "released_prisoner"):
        assert 1 <= sum(rare in p.tags for p in persons) <= 30


def test_names_look_chinese(township: DemoTownship) -> None:
    names = [p.name for p in _persons(township)]
    assert all(2 <= len(n) <= 4 for n in names)
    assert any(n.startswith(("欧阳", "司马", "上官", "诸葛")) for n in names)
    surnames = Counter(n[0] for n in names)
    assert {s for s, _ in surnames.most_common(5)} <= {"王", "李", "张", "刘", "陈", "杨"}


def test_staff(township: DemoTownship) -> None:
    staff = township.staff
    assert 90 <= len(staff) <= 110
    roles = Counter(s.role for s in staff)
    assert (roles["supervisor"], roles["admin"], roles["auditor"]) == (1, 1, 1)
    assert roles["grid_head"] == 12
    assert roles["mediator"] >= 3
    grids = {u.code for u in township.units if u.level == 3}
    covered = {s.scope_code for s in staff if s.role == "grid_member"}
    assert covered == grids
    assert roles["grid_member"] > len(grids)
    assert len({s.key for s in staff}) == len(staff)
    codes = {u.code for u in township.units}
    assert all(s.scope_code in codes for s in staff)
    # Keys are "<role prefix>-<scope code>", with "-2" for a grid's second member.
    assert all(s.key.removesuffix("-2").endswith(s.scope_code) for s in staff)
    assert f"gm-{min(grids)}" in {s.key for s in staff}


def test_birth_dates_are_before_the_reference_date(township: DemoTownship) -> None:
    assert all(
        p.birth_date is not None and date(1900, 1, 1) <= p.birth_date < REFERENCE_DATE
        for p in _persons(township)
    )
