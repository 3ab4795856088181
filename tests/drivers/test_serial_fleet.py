"""Veenstra, Atomlab, profile DAP meters and the DIAMENTOR additions against their simulators over
real ptys; one RS-485 line shared by two devices; ports found again by USB id; wrong profiles."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent.config import parse_config
from core.errors import ConfigError, DeviceError, FrameError, TransportError
from drivers.atomlab import AtomlabConfig, atomlab_driver
from drivers.generic_line import GenericLineConfig
from drivers.model import Status
from drivers.ports import port_conflicts, resolve_port
from drivers.ptw_diamentor import PtwDiamentor, PtwDiamentorConfig
from drivers.registry import build_driver
from drivers.transport import SerialTransport
from drivers.veenstra import Vdc404, Vdc404Config, Vik202, Vik202Config
from simulators.activity_source import ConstantSource
from simulators.generic_line import AtomlabSimulator, DapLineSimulator
from simulators.procedure import Procedure, Segment
from simulators.ptw_diamentor import DiamentorSimulator
from simulators.veenstra import Vdc404Simulator, Vik202Simulator


@pytest.fixture
def vik() -> Iterator[Vik202Simulator]:
    sim = Vik202Simulator(ConstantSource("Cs-137", 7.4))
    sim.start()
    yield sim
    sim.stop()


def test_vik202_reads_bq_selects_factor_and_reports_faults(vik: Vik202Simulator) -> None:
    config = Vik202Config(name="vik", driver="veenstra_vik202", port=vik.path, factor_code=587, timeout_s=0.3)
    driver = Vik202(config, SerialTransport(vik.path, 9600))
    assert driver.connect()["software"] == "VIK-202 V2.10"
    assert vik.factor_code == 587
    reading = driver.poll()
    assert reading.get("activity").value == pytest.approx(7.4)
    assert (reading.get("activity").raw_unit, reading.labels["nuclide"]) == ("Bq", "Cs-137")
    vik.faults.junk = 1
    driver.poll()
    assert driver.counters["frames_rejected"] >= 1
    vik.faults.error = "ERR"
    with pytest.raises(DeviceError):
        driver.poll()
    vik.faults.silent = True
    with pytest.raises(TransportError, match="silent"):
        driver.poll()
    vik.faults.silent = False
    vik.unplug()
    with pytest.raises(TransportError):
        driver.poll()
    driver.close()


def test_vdc404_stream_gives_the_newest_line_and_survives_silence() -> None:
    sim = Vdc404Simulator(ConstantSource("Tc-99m", 740.0), period_s=0.05)
    sim.start()
    try:
        config = Vdc404Config(name="vdc", driver="veenstra_vdc404", port=sim.path, timeout_s=0.5)
        driver = Vdc404(config, SerialTransport(sim.path, 9600))
        driver.connect()
        reading = driver.poll()
        assert reading.get("activity").value == pytest.approx(740.0)
        assert reading.labels == {"nuclide": "Tc-99m"}
        sim.faults.over_range = True
        sim.faults.silent = False
        assert _eventually(lambda: driver.poll().status is Status.OVER_RANGE)
        sim.faults.silent = True
        with pytest.raises(TransportError, match="silent"):
            for _ in range(3):
                driver.poll()
        driver.close()
    finally:
        sim.stop()


def _eventually(check: object, tries: int = 20) -> bool:
    return any(check() for _ in range(tries))  # type: ignore[operator]


def test_atomlab_over_its_profile_at_19200_and_baud_mismatch() -> None:
    sim = AtomlabSimulator(ConstantSource("F-18", 1234.0))
    sim.start()
    try:
        config = AtomlabConfig(name="atl", driver="atomlab500", port=sim.path, timeout_s=0.3)
        driver = atomlab_driver(config, SerialTransport(sim.path, 19200))
        assert driver.connect()["confidence"] == "low"
        reading = driver.poll()
        assert reading.get("activity").value == pytest.approx(1234.0)
        assert reading.labels["nuclide"] == "F-18"
        sim.faults.error = "7"
        with pytest.raises(DeviceError):
            driver.poll()
        driver.close()
        wrong = atomlab_driver(config, SerialTransport(sim.path, 9600))
        wrong.connect()
        with pytest.raises((FrameError, TransportError)):  # garbage never ends a line: no reading
            wrong.poll()
        wrong.close()
    finally:
        sim.stop()


def test_diamentor_unit_reset_air_density_and_baud_change() -> None:
    sim = DiamentorSimulator(Procedure((Segment(3600, 6.0),)))
    sim.start()
    try:
        config = PtwDiamentorConfig(
            name="dap", driver="ptw_diamentor", port=sim.path, timeout_s=0.3, read_air_density=True
        )
        driver = PtwDiamentor(config, SerialTransport(sim.path, 9600))
        info = driver.connect()
        assert (info["pressure_hpa"], info["temperature_c"]) == ("1013.2", "22.5")
        assert driver.set_unit(2).label == "Gy·cm²"
        assert driver.poll().get("kap").raw_unit == "Gy·cm²"
        driver.reset()
        assert driver.poll().get("kap").value < 0.05
        driver.change_baudrate(19200)
        assert sim.baudrate == 19200
        assert driver.poll().get("kap") is not None  # both sides now at 19200
        driver.close()
        stale = PtwDiamentor(config, SerialTransport(sim.path, 9600))
        with pytest.raises((FrameError, TransportError)):
            stale.connect()  # host still at 9600: garbage, never a valid telegram
        stale.close()
    finally:
        sim.stop()


def test_two_devices_on_one_line_polled_concurrently_without_collisions() -> None:
    sim = DapLineSimulator({"01": Procedure((Segment(3600, 3.0),)), "02": Procedure((Segment(3600, 0.6),))})
    sim.start()
    try:
        drivers = {
            address: build_driver(
                GenericLineConfig(
                    name=f"dap-{address}",
                    driver="generic_line",
                    port=sim.path,
                    profile="dap-ascii-example",
                    address=address,
                    timeout_s=0.5,
                )
            )
            for address in ("01", "02")
        }
        rates: dict[str, list[float]] = {"01": [], "02": []}
        errors: list[Exception] = []

        def run(address: str) -> None:
            try:
                drivers[address].connect()
                for _ in range(25):
                    rates[address].append(drivers[address].poll().get("kap_rate").value)
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(a,)) for a in drivers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
        assert rates["01"] == pytest.approx([3.0] * 25) and rates["02"] == pytest.approx([0.6] * 25)
        assert sim.served == {"01": 25, "02": 25}
        assert all(d.counters["frames_rejected"] == 0 for d in drivers.values())
        for driver in drivers.values():
            driver.close()
    finally:
        sim.stop()


def test_usb_port_spec_finds_the_adapter_wherever_it_came_back() -> None:
    ports = [
        SimpleNamespace(device="/dev/ttyUSB3", vid=0x0403, pid=0x6001, serial_number="A1B2C3"),
        SimpleNamespace(device="/dev/ttyUSB4", vid=0x0403, pid=0x6001, serial_number="ZZZ"),
    ]
    assert resolve_port("usb:0403:6001:A1B2C3", lambda: ports) == "/dev/ttyUSB3"
    with pytest.raises(TransportError, match="matches 2"):
        resolve_port("usb:0403:6001", lambda: ports)
    with pytest.raises(TransportError, match="no USB"):
        resolve_port("usb:067b:2303", lambda: ports)
    assert resolve_port("/dev/ttyS0", lambda: ports) == "/dev/ttyS0"


STATION = '[station]\nsite = "s"\nstation_id = "x"\n'


def test_devices_sharing_a_port_at_different_speeds_is_a_config_error() -> None:
    assert port_conflicts([("a", "/dev/x", 9600), ("b", "/dev/x", 19200)]) != []
    text = STATION + (
        '[[devices]]\nname = "a"\ndriver = "veenstra_vik202"\nport = "/dev/x"\n'
        '[[devices]]\nname = "b"\ndriver = "atomlab500"\nport = "/dev/x"\nbaudrate = 19200\n'
    )
    with pytest.raises(ConfigError, match="shares /dev/x"):
        parse_config(text)


def test_a_wrong_profile_is_a_check_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (Path(__file__).resolve().parents[2] / "config/profiles/dap-ascii-example.toml")
        .read_text()
        .replace('value = "rate"', 'value = "no_such_group"')
    )
    text = STATION + f'[[devices]]\nname = "a"\ndriver = "generic_line"\nport = "/dev/x"\nprofile = "{bad}"\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    message = str(info.value)
    assert "no_such_group" in message and "line" in message
    missing = (
        STATION + '[[devices]]\nname = "a"\ndriver = "generic_line"\nport = "/dev/x"\nprofile = "nope"\n'
    )
    with pytest.raises(ConfigError, match="cannot read profile"):
        parse_config(missing)
