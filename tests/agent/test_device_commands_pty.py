"""Device actions over a real pty: the Capintec simulator behind the registry's driver (shared port,
port lock), driven by the poller the way the agent drives it. Selecting a nuclide changes the
nuclide of the next reading; the accuracy reads come back parsed."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from agent.clock import SystemClock
from agent.commands.device import DeviceCommands
from agent.poller import DevicePoller
from agent.store.messages import OutMessage
from drivers.capintec import CapintecConfig
from drivers.model import Reading
from drivers.registry import build_driver
from simulators.activity_source import ConstantSource
from simulators.capintec import CapintecSimulator
from tests.fakes import LocalRouter


class Bench:
    def __init__(self, port: str) -> None:
        config = CapintecConfig(
            name="crc1", driver="capintec_crc", port=port, timeout_s=0.5, ack_timeout_s=0.5
        )
        clock = SystemClock()
        self.readings: list[Reading] = []
        self.poller = DevicePoller(config, build_driver(config), clock, self.readings.append, print)
        self.router = LocalRouter()
        self.published: list[tuple[str, dict[str, Any], Sequence[OutMessage]]] = []
        base = lambda schema: {"schema": schema}  # noqa: E731
        commands = DeviceCommands([self.poller], clock, base, lambda *m: self.published.append(m))
        commands.register(self.router)

    def run(self, action: str, **args: Any) -> dict[str, Any]:
        """Queue one action, run one poller step; the action's outcome."""
        body = {"command_id": action, "device": "crc1", "action": action, "args": args}
        assert self.router.dispatch("device_command", json.dumps(body).encode())["ok"]
        self.poller.settle(self.poller.step())
        _, result, records = self.published.pop()
        assert records[0].body["action"] == action  # every action that ran is recorded
        return result


@pytest.fixture
def bench() -> Iterator[tuple[CapintecSimulator, Bench]]:
    simulator = CapintecSimulator(ConstantSource("Tc-99m", 370.0), chamber_types="RNNNNNNNNN")
    bench = Bench(simulator.start())
    yield simulator, bench
    bench.poller.driver.close()
    simulator.stop()


def test_select_nuclide_changes_the_nuclide_of_the_next_reading(
    bench: tuple[CapintecSimulator, Bench],
) -> None:
    simulator, station = bench
    station.poller.settle(station.poller.step())
    assert station.readings[-1].labels == {"chamber": "1", "nuclide": "Tc-99m"}

    result = station.run("select_nuclide", chamber=1, key=2)
    assert result["ok"] is True and result["effect"] == "changes_measurement"
    assert simulator.selected == {1: "F-18"}
    assert station.readings[-1].labels == {"chamber": "1", "nuclide": "F-18"}  # read after the action


def test_accuracy_reads_and_a_calibrator_refusal_over_the_pty(
    bench: tuple[CapintecSimulator, Bench],
) -> None:
    simulator, station = bench
    simulator.accuracy_results[1] = (7.55, 2.0)
    source = station.run("accuracy_source", source=1)
    assert source["ok"] is True
    assert source["data"]["nuclide"] == "Cs-137" and source["data"]["constancy_source"] is True
    assert source["data"]["activity_mbq"] == pytest.approx(7.4)
    measured = station.run("accuracy_measurement", source=1)["data"]
    assert measured["activity_mbq"] == pytest.approx(7.55) and measured["variation_percent"] == 2.0
    assert station.run("accuracy_measurement", source=2)["data"]["measured"] is False
    assert station.run("daily_check")["data"] == {"daily_check": "good"}

    refused = station.run("main_chamber", chamber=3)  # the calibrator has one chamber
    assert refused["ok"] is False and "no such chamber" in refused["error"]
    assert not station.poller.lost and station.readings[-1].labels["nuclide"] == "Tc-99m"
