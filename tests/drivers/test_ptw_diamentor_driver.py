"""The DIAMENTOR driver over a fake transport (fake time) and over a real pty with the simulator."""

from __future__ import annotations

import time

import pytest

from core.errors import DeviceError, FrameError, TransportError
from drivers.ptw_diamentor import PtwDiamentor, PtwDiamentorConfig
from drivers.transport import SerialTransport
from simulators.procedure import Procedure, Segment
from simulators.ptw_diamentor import JUNK, DiamentorSimulator
from tests.fakes import FakeClock, FakeTransport

CONFIG = PtwDiamentorConfig(name="dap1", driver="ptw_diamentor", port="fake", timeout_s=0.5)


def fake_meter(clock: FakeClock, m_replies: list[bytes | None]) -> FakeTransport:
    return FakeTransport(clock, {b"PTW": [b"CRS 2.33\r\n"], b"U": [b"U3\r\n"], b"M": m_replies})


def test_connect_identifies_and_reads_unit() -> None:
    clock = FakeClock()
    driver = PtwDiamentor(CONFIG, fake_meter(clock, [b"M1,0,0,0\r\n"]), clock.monotonic)
    assert driver.connect() == {"firmware": "CRS 2.33", "dap_unit": "µGy·m²"}
    reading = driver.poll()
    assert reading.get("kap").value == pytest.approx(0.01)


def test_garbage_before_the_reply_is_counted_and_skipped() -> None:
    clock = FakeClock()
    driver = PtwDiamentor(CONFIG, fake_meter(clock, [JUNK + b"M5,1,0,3\r\n"]), clock.monotonic)
    driver.connect()
    assert driver.poll().get("irradiation_time").value == 3
    assert driver.counters["frames_rejected"] == 1


def test_only_garbage_is_a_frame_error() -> None:
    clock = FakeClock()
    driver = PtwDiamentor(CONFIG, fake_meter(clock, [JUNK]), clock.monotonic)
    driver.connect()
    with pytest.raises(FrameError):
        driver.poll()


def test_error_reply_is_a_device_error() -> None:
    clock = FakeClock()
    driver = PtwDiamentor(CONFIG, fake_meter(clock, [b"E4\r\n"]), clock.monotonic)
    driver.connect()
    with pytest.raises(DeviceError) as info:
        driver.poll()
    assert info.value.code == "E4"


def test_silence_is_a_transport_error_after_the_timeout() -> None:
    clock = FakeClock()
    driver = PtwDiamentor(CONFIG, fake_meter(clock, [None]), clock.monotonic)
    driver.connect()
    start = clock.monotonic()
    with pytest.raises(TransportError, match="silent"):
        driver.poll()
    assert clock.monotonic() - start == pytest.approx(CONFIG.timeout_s)


@pytest.fixture
def simulator() -> DiamentorSimulator:
    sim = DiamentorSimulator(Procedure((Segment(3600, 6.0),)))
    sim.start()
    yield sim
    sim.stop()


def real_driver(path: str) -> PtwDiamentor:
    config = PtwDiamentorConfig(name="dap1", driver="ptw_diamentor", port=path, timeout_s=0.3)
    return PtwDiamentor(config, SerialTransport(path, 9600))


def test_reads_the_simulator_over_a_real_pty(simulator: DiamentorSimulator) -> None:
    driver = real_driver(simulator.path)
    driver.connect()
    first = driver.poll()
    time.sleep(0.3)
    second = driver.poll()
    driver.close()
    # 6 Gy·cm²/min → 0.1 Gy·cm²/s; the meter's own integration, read twice, must grow.
    assert second.get("kap").value > first.get("kap").value
    assert second.get("kap_rate").value == pytest.approx(6.0, rel=0.02)


def test_pty_faults_garbage_error_silence_unplug(simulator: DiamentorSimulator) -> None:
    driver = real_driver(simulator.path)
    driver.connect()
    simulator.faults.garbage = 1
    driver.poll()
    assert driver.counters["frames_rejected"] == 1
    simulator.faults.error = "E5"
    with pytest.raises(DeviceError):
        driver.poll()
    simulator.faults.silent = True
    with pytest.raises(TransportError, match="silent"):
        driver.poll()
    simulator.faults.silent = False
    driver.poll()
    simulator.unplug()
    with pytest.raises(TransportError):
        driver.poll()
    driver.close()
    with pytest.raises(TransportError):
        driver.connect()
