"""The rebuild progress line: events done/total, rate and ETA; plain lines off a terminal."""

from __future__ import annotations

import io

from projections.rebuild import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_shows_done_total_rate_and_eta() -> None:
    # given a rebuild that folded 2,500 of 10,000 events in 5 seconds
    clock = Clock()
    progress = Progress("case_board", out=io.StringIO(), clock=clock)
    clock.now += 5

    # when the line is drawn
    line = progress.line(2_500, 10_000)

    # then it shows the share, the counts, the rate and the 15 seconds left
    assert "25.0%" in line
    assert "2,500/10,000 events" in line
    assert "500/s" in line
    assert line.endswith("ETA 0:15")


def test_off_a_terminal_it_prints_plain_lines_at_most_every_interval() -> None:
    # given output that is not a terminal (a log file)
    clock, out = Clock(), io.StringIO()
    progress = Progress("visit_log", out=out, clock=clock, interval=5.0)

    # when ten batches land within two seconds, then one more after six seconds
    for done in range(1_000, 11_000, 1_000):
        clock.now += 0.2
        progress.update(done, 20_000)
    clock.now += 6
    progress.update(12_000, 20_000)
    progress.finish(20_000)

    # then there is one line for the first batch, one after the interval, and the summary
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert [line.split("]")[1].split()[1] for line in lines[:2]] == [
        "1,000/20,000",
        "12,000/20,000",
    ]
    assert "100.0%" in lines[2]
    assert lines[3].endswith("rebuilt: 20,000 events in 0:08")


def test_on_a_terminal_the_bar_redraws_in_place() -> None:
    clock, out = Clock(), Terminal()
    progress = Progress("staff_roster", out=out, clock=clock)
    for done in (10, 20, 30):
        clock.now += 1
        progress.update(done, 30)
    assert out.getvalue().count("\r") == 3
    assert "\n" not in out.getvalue()
