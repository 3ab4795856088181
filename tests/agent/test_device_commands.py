"""cmd/device_command through the router and the device's poller, in fake time: queued at once,
run by the poller's step before its poll, the outcome published and recorded; refusals answered
and counted; a lost device, a timeout and a meter's refusal end with an error, never a hang."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agent.commands.device import DeviceCommands
from agent.poller import DevicePoller
from agent.store.messages import OutMessage
from drivers.ptw_diamentor import PtwDiamentor, PtwDiamentorConfig
from tests.fakes import FakeClock, FakeTransport, LocalRouter

CONFIG = PtwDiamentorConfig(name="dap1", driver="ptw_diamentor", port="fake", timeout_s=0.5)


class Station:
    """A router, one DIAMENTOR (real driver, scripted transport) and its poller, results collected."""

    def __init__(self, replies: dict[bytes, list[bytes | None]] | None = None) -> None:
        self.clock = FakeClock()
        script: dict[bytes, list[bytes | None]] = {
            b"PTW": [b"CRS 2.33\r\n"],
            b"U": [b"U3\r\n"],
            b"M": [b"M12.00,0.00,0,5\r\n"],
            b"RES": [b"RES\r\n"],
            **(replies or {}),
        }
        self.transport = FakeTransport(self.clock, script)
        driver = PtwDiamentor(CONFIG, self.transport, self.clock.monotonic)
        self.readings: list[Any] = []
        self.poller = DevicePoller(CONFIG, driver, self.clock, self.readings.append, lambda *a: None)
        self.router = LocalRouter()
        self.published: list[tuple[str, dict[str, Any], Sequence[OutMessage]]] = []
        base = lambda schema: {"schema": schema}  # noqa: E731
        self.commands = DeviceCommands(
            [self.poller], self.clock, base, lambda *m: self.published.append(m), timeout_s=5.0
        )
        self.commands.register(self.router)

    def send(self, body: dict[str, Any] | bytes) -> dict[str, Any]:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.router.dispatch("device_command", payload)

    def cycle(self) -> None:
        self.poller.settle(self.poller.step())


def _command(**overrides: Any) -> dict[str, Any]:
    return {"command_id": "c-1", "device": "dap1", "action": "reset", "by": "physicist A"} | overrides


def test_reset_is_queued_then_run_before_the_next_poll_and_recorded() -> None:
    station = Station()
    station.cycle()
    queued = station.send(_command())
    assert queued["ok"] is True and queued["stage"] == "queued" and queued["command_id"] == "c-1"
    assert queued["effect"] == "changes_measurement"
    assert station.published == [] and not any(w == b"RES\r\n" for w in station.transport.writes)

    station.cycle()
    writes = [w for w in station.transport.writes if w in (b"RES\r\n", b"M\r\n")]
    assert writes[-2:] == [b"RES\r\n", b"M\r\n"]  # the action, then that step's poll
    ((name, result, records),) = station.published
    assert name == "device_command"
    assert result == {
        "command": "device_command",
        "command_id": "c-1",
        "ok": True,
        "stage": "done",
        "device": "dap1",
        "action": "reset",
        "args": {},
        "effect": "changes_measurement",
        "data": {},
    }
    (record,) = records
    assert record.topic == "record/device_action"
    assert record.body["schema"] == "doseedge.record.device_action.v1"
    assert record.body["by"] == "test-physicist" and record.body["channel"] == "test"  # not the free text
    assert record.body["driver"] == "ptw_diamentor"
    assert record.body["result"] == {"ok": True, "data": {}}
    assert record.body["at"] == "2026-11-22T09:00:00.000Z"
    assert station.poller.counters["actions"] == 1 and len(station.readings) == 2


def test_refusals_are_answered_and_counted() -> None:
    station = Station()
    refused = [  # (unparsable payloads and a free-text "by": tests/agent/test_command_auth.py)
        _command(device="dap9"),
        _command(action="calibrate"),
        _command(action="set_unit", args={"unit_code": "two"}),
        _command(action="set_unit", args=[2]),
        _command(action="set_unit"),
        _command(extra=1),
        _command(command_id=""),
    ]
    answers = [station.send(body) for body in refused]
    assert [a["ok"] for a in answers] == [False] * len(refused)
    errors = [a["error"] for a in answers]
    assert "no device 'dap9'" in errors[0]
    assert "has no action 'calibrate' (allowed: reset, set_unit, change_baudrate, air_density)" in errors[1]
    assert errors[2] == "dap1 set_unit: 'unit_code' must be int, got str"
    assert errors[3] == "'args' must be a JSON object"
    assert "missing argument 'unit_code'" in errors[4]
    assert "unknown keys ['extra']" in errors[5]
    assert station.router.counters["rejected"] == len(refused)
    assert station.commands.counters["refused"] == len(refused) - 1  # a bad command_id never reached it
    assert len(station.poller.actions) == 0
    station.cycle()
    assert station.published == []


def test_a_lost_device_refuses_and_fails_what_was_queued() -> None:
    station = Station({b"M": [None]})  # silent: every poll times out
    assert station.send(_command(command_id="before"))["ok"] is True
    station.transport.replies[b"RES"] = [None]  # the action itself meets silence too
    station.cycle()  # the action fails on the transport; the poll is not reached
    station.cycle()  # the poll fails: two failures, lost
    assert station.poller.lost
    ((_, result, records),) = station.published
    assert result["command_id"] == "before" and result["ok"] is False and "silent" in result["error"]
    assert records[0].body["result"]["ok"] is False  # it was sent to the meter: recorded
    refused = station.send(_command(command_id="after"))
    assert refused["ok"] is False and refused["error"].startswith("device dap1 is lost")


def test_an_action_queued_before_a_loss_ends_with_the_loss_not_a_hang() -> None:
    station = Station({b"PTW": [None]})  # never connects
    station.cycle()
    assert station.send(_command())["ok"] is True
    station.cycle()  # second failure: lost; the queued action is failed at once
    assert station.poller.lost
    ((_, result, records),) = station.published
    assert result["ok"] is False and result["error"].startswith("device dap1 is lost")
    assert records == []  # never reached the meter: nothing to record


def test_an_action_the_device_does_not_take_in_time_times_out() -> None:
    station = Station()
    station.cycle()
    station.send(_command())
    station.clock.advance(5.1)  # past timeout_s before the next step
    station.cycle()
    ((_, result, records),) = station.published
    assert result["ok"] is False and "did not take the action in time" in result["error"]
    assert records == [] and b"RES\r\n" not in station.transport.writes


def test_a_meter_refusal_is_the_outcome_and_is_recorded_the_poll_goes_on() -> None:
    station = Station({b"U2": [b"E7\r\n"]})
    station.cycle()
    station.send(_command(action="set_unit", args={"unit_code": 2}))
    station.cycle()
    ((_, result, records),) = station.published
    assert result["ok"] is False and result["error"] == "DIAMENTOR E7: parameter is write protected"
    assert records[0].body["result"] == {"ok": False, "error": result["error"]}
    assert len(station.readings) == 2 and not station.poller.lost
    assert station.poller.counters["action_errors"] == 1 and station.poller.counters["errors_device"] == 0


def test_the_queue_is_bounded_per_device() -> None:
    station = Station()
    answers = [station.send(_command(command_id=f"c{i}")) for i in range(9)]
    assert [a["ok"] for a in answers] == [True] * 8 + [False]
    assert "already has 8 actions queued" in answers[-1]["error"]


class _BuggyDiamentor(PtwDiamentor):
    def reset(self) -> None:
        raise KeyError("a bug in the driver")


def test_a_driver_bug_during_an_action_still_answers_the_command() -> None:
    station = Station()
    station.poller.driver = _BuggyDiamentor(CONFIG, station.transport, station.clock.monotonic)
    station.cycle()
    station.send(_command())
    station.cycle()
    ((_, result, _records),) = station.published
    assert result["ok"] is False and result["stage"] == "done"
    assert "unexpected KeyError" in result["error"]
    assert station.poller.counters["action_errors"] == 1
    assert station.poller.counters["errors_driver"] == 1  # the step failed like any driver bug
