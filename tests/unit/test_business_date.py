"""The one rule for the business date: a zone setting (Asia/Shanghai by default), a clock that
answers "today" in it, and the pure places that cut days (SLA working days, the board's page).

Between 00:00 and 08:00 Beijing the UTC date is still yesterday; 00:30 Beijing on 1 July is
16:30 UTC on 30 June. Every check here sits on either side of that line.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from backend.clock import FrozenClock, SystemClock
from backend.http.notice_board_page import render_board_page
from backend.http.notice_board_schemas import PublicBoard, PublicEdition
from backend.settings import load_settings
from events.business_date import business_day, business_zone, day_after_start, day_start
from events.errors import InvalidValue
from events.holidays import china_calendar
from projections import ALL_PROJECTIONS, all_projections

SHANGHAI, UTC_ZONE = ZoneInfo("Asia/Shanghai"), ZoneInfo("UTC")
LATE = datetime(2026, 6, 30, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC, the same date
EARLY = datetime(2026, 7, 1, 0, 30, tzinfo=SHANGHAI)  # 16:30 UTC on 30 June


def settings_from(tmp_path: Path, **env: str) -> ZoneInfo:
    base = {"GRIDLEDGER_VAR_DIR": str(tmp_path), "GRIDLEDGER_TOKEN_SECRET": "t",
            "GRIDLEDGER_OPENID_PEPPER": "p"}  # fmt: skip
    return load_settings({**base, **env}).business_zone


def test_the_business_zone_is_beijing_unless_configured(tmp_path: Path) -> None:
    assert settings_from(tmp_path) == SHANGHAI
    assert settings_from(tmp_path, GRIDLEDGER_BUSINESS_TIMEZONE=" ") == SHANGHAI
    assert settings_from(tmp_path, GRIDLEDGER_BUSINESS_TIMEZONE="Asia/Urumqi") == ZoneInfo(
        "Asia/Urumqi"
    )


@pytest.mark.parametrize("name", ["Mars/Olympus", "+08:00", "../etc/passwd", "Asia/Shanghai'"])
def test_an_unknown_zone_stops_the_start_with_one_line_naming_the_setting(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(ValueError, match=r"^GRIDLEDGER_BUSINESS_TIMEZONE: unknown time zone"):
        settings_from(tmp_path, GRIDLEDGER_BUSINESS_TIMEZONE=name)
    with pytest.raises(InvalidValue):
        business_zone(name)


@pytest.mark.parametrize(("at", "today"), [(LATE, date(2026, 6, 30)), (EARLY, date(2026, 7, 1))])
def test_a_clock_answers_todays_beijing_date_at_2330_and_at_0030(at: datetime, today: date) -> None:
    # given the clock stopped at the hour, whatever zone the instant was written in
    clock = FrozenClock(at.astimezone(UTC_ZONE), zone=SHANGHAI)
    # then today is the Beijing date, the same as the date of that instant in Beijing
    assert clock.today() == clock.day_of(at) == today
    assert clock.now() == at
    assert clock.now().utcoffset() == timedelta(0)
    # and a clock kept in UTC would have said 30 June both times
    assert FrozenClock(at, zone=UTC_ZONE).today() == date(2026, 6, 30)


def test_the_system_clock_reads_utc_and_dates_in_its_zone() -> None:
    clock = SystemClock(SHANGHAI)
    before = clock.now()
    today = clock.today()
    after = clock.now()
    assert before.utcoffset() == timedelta(0)
    assert today in {business_day(before, SHANGHAI), business_day(after, SHANGHAI)}


def test_a_business_day_starts_and_ends_at_local_midnight() -> None:
    start, end = day_start(date(2026, 7, 1), SHANGHAI), day_after_start(date(2026, 7, 1), SHANGHAI)
    assert start <= EARLY < end
    assert not start <= LATE < end
    assert (end - start) == timedelta(days=1)
    with pytest.raises(InvalidValue):
        business_day(datetime(2026, 7, 1, 0, 30), SHANGHAI)  # naive: names no day


def test_the_server_builds_every_read_model_that_dates_events_in_its_zone() -> None:
    # when the read models are built for a deployment in Urumqi
    urumqi = ZoneInfo("Asia/Urumqi")
    built = all_projections(urumqi)
    # then they are all there, in order, and those that fold dates carry that zone
    assert [p.name for p in built] == [make().name for make in ALL_PROJECTIONS]
    zoned = {p.name: getattr(p, "zone", None) for p in built}
    assert zoned["member_profile"] == zoned["assessment_facts"] == urumqi
    assert (
        "AT TIME ZONE 'Asia/Urumqi'" in next(p for p in built if p.name == "assessment_facts").ddl
    )


def test_the_sla_working_day_is_the_day_in_the_calendars_zone() -> None:
    # given a case entering a stage at 00:30 Beijing on Wednesday 1 July (16:30 UTC Tuesday)
    # when its deadline is "the end of the start day" (0 working days)
    due_beijing = china_calendar(zone=SHANGHAI).add_working_days(EARLY, 0)
    due_utc = china_calendar(zone=UTC_ZONE).add_working_days(EARLY, 0)
    # then in Beijing that is 17:30 on 1 July; a calendar kept in UTC would say 30 June
    assert due_beijing == datetime(2026, 7, 1, 17, 30, tzinfo=SHANGHAI)
    assert due_utc == datetime(2026, 6, 30, 17, 30, tzinfo=UTC_ZONE)


def test_the_public_page_dates_publishing_and_withdrawal_by_the_business_day() -> None:
    # given an edition published at 00:30 and withdrawn at 00:10 the next night, Beijing time
    edition = PublicEdition(
        id=uuid4(), status="expired", period_start=date(2026, 7, 1),
        period_end=date(2026, 7, 8), published_at=EARLY.astimezone(UTC_ZONE),
        content_sha256=None,
        withdrawn_at=(EARLY + timedelta(hours=23, minutes=40)).astimezone(UTC_ZONE),
        content=None,
    )  # fmt: skip
    board = PublicBoard(unit_id=uuid4(), unit_name="甲村", unit_level=2, today=date(2026, 7, 9),
                        current=[], editions=[edition])  # fmt: skip
    # when its page is rendered
    page = render_board_page(board, today=board.today, zone=SHANGHAI)
    # then the row shows the Beijing dates, not the UTC ones
    assert "<td>2026-07-01</td><td>2026-07-02</td></tr>" in page
    assert "2026-06-30" not in page


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Pacific/Kiritimati", "Etc/GMT+12"])
@pytest.mark.parametrize("day", [date.min, date(1, 1, 2), date.max, date(9999, 12, 30)])
def test_a_day_at_the_edge_of_the_calendar_has_bounds_representable_in_utc(
    zone: str, day: date
) -> None:
    # when a filter names the first or last day there is, its bounds are instants the database
    # can be given (clamped inward: no event lies that far out), never an OverflowError
    start, end = day_start(day, ZoneInfo(zone)), day_after_start(day, ZoneInfo(zone))
    assert start.astimezone(UTC_ZONE) <= end.astimezone(UTC_ZONE)
