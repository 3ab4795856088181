"""The Capintec driver over a fake transport (fake time) and over a real pty with the simulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import DeviceError, FrameError, TransportError
from drivers.capintec import Capintec, CapintecConfig
from drivers.capintec_codec import ACK, format_error, format_reading, format_serial
from drivers.model import Status
from drivers.transport import SerialTransport
from simulators.activity_source import ConstantSource, DecayingSource
from simulators.capintec import CapintecSimulator
from simulators.serial_sim import JUNK
from tests.fakes import FakeClock, FakeTransport

CONFIG = CapintecConfig(name="crc", driver="capintec_crc", port="fake", timeout_s=0.5, ack_timeout_s=0.5)
READ_1 = b"$CR1H#"


def fake_crc(clock: FakeClock, read_replies: list[bytes | None]) -> FakeTransport:
    return FakeTransport(
        clock,
        {
            b"@": [ACK],
            b"$BS=#": [format_serial("251234")],
            b"$BG1#": [b"$MDGRPNNNNNNNNl#"],
            READ_1: read_replies,
        },
    )


def connected(
    clock: FakeClock, read_replies: list[bytes | None], config: CapintecConfig = CONFIG
) -> Capintec:
    driver = Capintec(config, fake_crc(clock, read_replies), clock.monotonic)
    driver.connect()
    return driver


def test_connect_reads_serial_and_chambers_then_activity_in_mbq() -> None:
    clock = FakeClock()
    driver = Capintec(CONFIG, fake_crc(clock, [b"$SDR1Tc99m    10.232V#"]), clock.monotonic)
    assert driver.connect() == {"serial_number": "251234", "chambers": "1:R,2:P"}
    reading = driver.poll()
    assert reading.get("activity").value == pytest.approx(10.23 * 37)
    assert reading.labels == {"chamber": "1", "nuclide": "Tc-99m"}
    assert reading.status is Status.OK


def test_a_configured_chamber_the_calibrator_lacks_is_a_device_error() -> None:
    clock = FakeClock()
    config = CapintecConfig(name="crc", driver="capintec_crc", port="fake", chambers=(1, 3))
    driver = Capintec(config, fake_crc(clock, []), clock.monotonic)
    with pytest.raises(DeviceError) as info:
        driver.connect()
    assert info.value.code == "4"


def test_over_range_and_frozen_are_statuses() -> None:
    clock = FakeClock()
    over = format_reading(1, "Tc99m", "", "0")
    frozen = format_reading(1, "Tc99m", "  5.00", "2", frozen=True)
    driver = connected(clock, [over, frozen])
    first = driver.poll()
    assert first.status is Status.OVER_RANGE and first.get("activity") is None
    second = driver.poll()
    assert second.status is Status.FROZEN and second.get("activity").value == pytest.approx(185.0)


def test_error_frame_is_a_device_error() -> None:
    clock = FakeClock()
    driver = connected(clock, [format_error("6")])
    with pytest.raises(DeviceError) as info:
        driver.poll()
    assert info.value.code == "6"


def test_junk_and_bad_checksum_are_counted_and_the_good_frame_is_used() -> None:
    clock = FakeClock()
    bad = b"$SDR1Tc99m    10.232W#"
    driver = connected(clock, [JUNK + bad + b"$SDR1Tc99m    10.232V#"])
    assert driver.poll().get("activity").raw_value == 10.23
    assert driver.counters["frames_rejected"] == 2


def test_only_bad_frames_is_a_frame_error() -> None:
    clock = FakeClock()
    driver = connected(clock, [b"$SDR1Tc99m    10.232W#"])
    with pytest.raises(FrameError):
        driver.poll()
    assert driver.counters["frames_rejected"] == 1


def test_no_handshake_is_silence_after_the_ack_timeout() -> None:
    clock = FakeClock()
    driver = connected(clock, [b"$SDR1Tc99m    10.232V#"])
    driver._transport.replies[b"@"] = [None]  # type: ignore[attr-defined]
    start = clock.monotonic()
    with pytest.raises(TransportError, match="silent"):
        driver.poll()
    assert clock.monotonic() - start == pytest.approx(CONFIG.ack_timeout_s)


def test_chambers_are_read_in_turn() -> None:
    clock = FakeClock()
    config = CapintecConfig(name="crc", driver="capintec_crc", port="fake", chambers=(1, 2))
    transport = fake_crc(clock, [format_reading(1, "Tc99m", "  1.00", "5")])
    transport.replies[b"$CR2I#"] = [format_reading(2, "F 18", "  2.00", "5")]
    driver = Capintec(config, transport, clock.monotonic)
    driver.connect()
    assert [driver.poll().labels["chamber"] for _ in range(3)] == ["1", "2", "1"]


# ---------------------------------------------------------------- over a real pty


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[CapintecSimulator]:
    sim = CapintecSimulator(DecayingSource("Tc-99m", 740.0), chamber_types="RP")
    sim.start(link=str(tmp_path / "usb-Capintec_CRC-25R-if00"))
    yield sim
    sim.stop()


def pty_driver(port: str) -> Capintec:
    config = CapintecConfig(
        name="crc", driver="capintec_crc", port=port, chambers=(1, 2), timeout_s=0.3, ack_timeout_s=0.3
    )
    return Capintec(config, SerialTransport(port, 9600))


def test_reads_the_simulator_over_a_real_pty(simulator: CapintecSimulator) -> None:
    driver = pty_driver(simulator.path)
    assert driver.connect()["chambers"] == "1:R,2:P"
    reading = driver.poll()
    assert reading.get("activity").value == pytest.approx(740.0, rel=0.002)
    assert reading.labels["nuclide"] == "Tc-99m"
    assert driver.daily_check() == "good"
    driver.select_nuclide(2, 2)
    assert driver.poll().labels == {"chamber": "2", "nuclide": "F-18"}
    driver.close()


def test_pty_faults(simulator: CapintecSimulator) -> None:
    driver = pty_driver(simulator.path)
    driver.connect()
    simulator.faults.junk = 1
    simulator.faults.bad_checksum = 1
    with pytest.raises(FrameError):
        driver.poll()  # junk then the reply with a bad checksum: nothing valid
    assert driver.counters["frames_rejected"] >= 2
    simulator.faults.error = "6"
    with pytest.raises(DeviceError):
        driver.poll()
    simulator.faults.over_range = True
    assert driver.poll().status is Status.OVER_RANGE
    simulator.faults.over_range = False
    simulator.frozen = True
    assert driver.poll().status is Status.FROZEN
    simulator.faults.silent = True
    with pytest.raises(TransportError, match="silent"):
        driver.poll()
    simulator.faults.silent = False
    simulator.faults.baudrate = 19200
    with pytest.raises(FrameError):
        driver.poll()
    simulator.faults.baudrate = None
    simulator.faults.delay_s = 0.1
    assert driver.poll().get("activity") is not None
    driver.close()


def test_unplug_and_replug_is_found_again_by_its_stable_link(simulator: CapintecSimulator) -> None:
    assert simulator.link is not None
    driver = pty_driver(simulator.link)
    driver.connect()
    driver.poll()
    simulator.unplug()
    with pytest.raises(TransportError):
        driver.poll()
    driver.close()
    with pytest.raises(TransportError):
        driver.connect()
    simulator.replug()
    assert os.path.realpath(simulator.link) == simulator.path  # the kernel may reuse the pts number
    driver.close()
    driver.connect()
    assert driver.poll().get("activity") is not None
    driver.close()


def test_over_range_from_the_source() -> None:
    sim = CapintecSimulator(ConstantSource("Tc-99m", 300_000.0))
    sim.start()
    try:
        driver = pty_driver(sim.path)
        driver = Capintec(
            CapintecConfig(name="crc", driver="capintec_crc", port=sim.path, timeout_s=0.3),
            SerialTransport(sim.path, 9600),
        )
        driver.connect()
        assert driver.poll().status is Status.OVER_RANGE
        driver.close()
    finally:
        sim.stop()
