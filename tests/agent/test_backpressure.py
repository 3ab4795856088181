"""Back-pressure (issue 17, agent/backpressure.py): held polls, counted; the alarm once; exempt
devices; the longest hold. Counted, never timed: a fake backlog and a fake monotonic clock."""

from __future__ import annotations

import asyncio

from agent.backpressure import Backpressure


class Fixture:
    def __init__(self, high: int = 100, max_hold_s: float = 30.0) -> None:
        self.depth = 0
        self.now = 0.0
        self.changes: list[tuple[bool, str]] = []
        self.exempt: set[str] = set()
        self.pressure = Backpressure(
            lambda: self.depth,
            lambda: self.now,
            high=high,
            max_hold_s=max_hold_s,
            clear_after_s=30.0,
            exempt=lambda device: device in self.exempt,
            on_change=lambda stretching, detail: self.changes.append((stretching, detail)),
        )


async def until(predicate: object, turns: int = 2000) -> None:
    for _ in range(turns):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never reached")


def test_below_the_bound_a_poll_is_admitted_at_once_and_nothing_is_counted() -> None:
    f = Fixture()
    f.depth = 100  # at the bound, not over it

    async def scenario() -> None:
        for _ in range(5):
            await f.pressure.admit("gen0")

    asyncio.run(scenario())
    assert f.pressure.stretched == {} and f.changes == [] and not f.pressure.holding


def test_over_the_bound_polls_wait_until_the_backlog_is_under_half_counted_and_alarmed_once() -> None:
    f = Fixture(high=100)

    async def scenario() -> None:
        f.depth = 101
        held = [asyncio.create_task(f.pressure.admit(f"gen{i}")) for i in range(3)]
        await until(lambda: sum(f.pressure.stretched.values()) == 3)
        f.depth = 60  # under the bound but not under half: still held
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in held)
        f.depth = 50
        await asyncio.gather(*held)  # released together by the one watcher

    asyncio.run(scenario())
    assert dict(f.pressure.stretched) == {"gen0": 1, "gen1": 1, "gen2": 1}
    assert [stretching for stretching, _ in f.changes] == [True]  # one alarm for three held polls
    assert "101 messages not yet published (bound 100)" in f.changes[0][1]
    assert not f.pressure.holding and f.pressure.peak_backlog == 101
    health = f.pressure.health()
    assert health["polls_stretched"] == 3 and health["backlog_bound"] == 100


def test_the_instruments_of_a_beam_on_room_are_never_held() -> None:
    f = Fixture()
    f.exempt = {"dap"}

    async def scenario() -> None:
        f.depth = 500
        await f.pressure.admit("dap")  # returns at once while holding
        await f.pressure.admit("dap")
        other = asyncio.create_task(f.pressure.admit("gen0"))
        await until(lambda: f.pressure.stretched["gen0"] == 1)
        f.depth = 0
        await other

    asyncio.run(scenario())
    assert "dap" not in f.pressure.stretched


def test_a_poll_is_held_at_most_max_hold_s_so_every_device_is_still_read() -> None:
    f = Fixture(max_hold_s=0.05)

    async def scenario() -> None:
        f.depth = 10_000  # the link never catches up
        for _ in range(3):
            await f.pressure.admit("gen0")  # each returns after its longest hold

    asyncio.run(scenario())
    f.pressure.close()
    assert f.pressure.stretched["gen0"] == 3 and f.pressure.holding
    assert [stretching for stretching, _ in f.changes] == [True]


def test_the_alarm_clears_after_clear_after_s_without_a_held_poll() -> None:
    f = Fixture()

    async def scenario() -> None:
        f.depth = 101
        task = asyncio.create_task(f.pressure.admit("gen0"))
        await until(lambda: f.pressure.stretched["gen0"] == 1)
        f.depth = 0
        await task
        f.now = 29.0
        await f.pressure.admit("gen0")
        assert len(f.changes) == 1  # not yet
        f.now = 30.0
        await f.pressure.admit("gen0")

    asyncio.run(scenario())
    assert [stretching for stretching, _ in f.changes] == [True, False]
