"""Device action tables (drivers/actions.py): what is allowed, what is refused, what a physicist audits;
actions run on the real drivers over the scripted fake transport (fake time)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from core.errors import DeviceError
from drivers import capintec, ptw_diamentor
from drivers.actions import Effect, check_args, perform
from drivers.bridge import Bridge
from drivers.capintec import Capintec
from drivers.capintec_accuracy import format_accuracy_measurement, format_accuracy_source
from drivers.capintec_codec import ACK, encode_frame, format_error, format_serial
from drivers.ptw_diamentor import PtwDiamentor, PtwDiamentorConfig
from drivers.registry import DRIVERS
from tests.fakes import FakeClock, FakeTransport

# The audited list: every action that changes what a meter measures or reports. Adding one to a
# driver's table without adding it here fails the test below.
CHANGES = {
    "ptw_diamentor": {"reset", "set_unit", "change_baudrate"},
    "capintec_crc": {"select_nuclide", "main_chamber"},
    "bridge": set(),  # its one action, pattern, changes what the room hears and sees, not a measurement
}


def test_actions_that_change_what_a_meter_measures_are_exactly_the_audited_ones() -> None:
    changing = {
        name: {a.name for a in spec.actions.values() if a.effect is Effect.CHANGES}
        for name, spec in DRIVERS.items()
        if spec.actions
    }
    assert changing == CHANGES


@pytest.mark.parametrize(
    ("driver_class", "driver_name"),
    [(PtwDiamentor, "ptw_diamentor"), (Capintec, "capintec_crc"), (Bridge, "bridge")],
)
def test_every_action_names_a_driver_method_taking_its_arguments(
    driver_class: type, driver_name: str
) -> None:
    for action in DRIVERS[driver_name].actions.values():
        method = getattr(driver_class, action.method)
        parameters = list(inspect.signature(method).parameters)[1:]  # without self
        assert len(parameters) == len(action.args), action.name
        assert action.description


def _dap(name: str) -> Any:
    return ptw_diamentor.ACTIONS[name]


def _crc(name: str) -> Any:
    return capintec.ACTIONS[name]


@pytest.mark.parametrize(
    ("action", "args", "problem"),
    [
        (_dap("reset"), {}, None),
        (_dap("reset"), {"all": True}, "unknown argument 'all'"),
        (_dap("set_unit"), {"unit_code": 2}, None),
        (_dap("set_unit"), {}, "missing argument 'unit_code' (unit_code: one of 1, 2, 3, 4)"),
        (_dap("set_unit"), {"unit_code": 5}, "'unit_code' must be one of 1, 2, 3, 4, got 5"),
        (_dap("set_unit"), {"unit_code": "2"}, "'unit_code' must be int, got str"),
        (_dap("set_unit"), {"unit_code": 2.0}, "'unit_code' must be int, got float"),
        (_dap("set_unit"), {"unit_code": True}, "'unit_code' must be int, got bool"),
        (_dap("change_baudrate"), {"baudrate": 19200}, None),
        (_dap("change_baudrate"), {"baudrate": 14400}, "'baudrate' must be one of"),
        (_dap("air_density"), {}, None),
        (_crc("select_nuclide"), {"chamber": 1, "key": 9}, None),
        (_crc("select_nuclide"), {"chamber": 1, "key": 0}, "'key' must be ≥ 1, got 0"),
        (_crc("select_nuclide"), {"chamber": 9, "key": 1}, "'chamber' must be ≤ 8, got 9"),
        (_crc("select_nuclide"), {"chamber": None, "key": 1}, "'chamber' must be int, got NoneType"),
        (_crc("main_chamber"), {"chamber": 2}, None),
        (_crc("daily_check"), {}, None),
        (_crc("accuracy_source"), {"source": 5}, None),
        (_crc("accuracy_source"), {"source": 6}, "'source' must be ≤ 5, got 6"),
        (_crc("accuracy_measurement"), {"source": 1, "chamber": 1}, "unknown argument 'chamber'"),
    ],
)
def test_arguments_allowed_and_refused(action: Any, args: dict[str, Any], problem: str | None) -> None:
    problems = check_args(action, args)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith(problem), problems


DAP_CONFIG = PtwDiamentorConfig(name="dap1", driver="ptw_diamentor", port="fake", timeout_s=0.5)


def _diamentor(clock: FakeClock, extra: dict[bytes, list[bytes | None]]) -> PtwDiamentor:
    replies: dict[bytes, list[bytes | None]] = {b"PTW": [b"CRS 2.33\r\n"], b"U": [b"U3\r\n"], **extra}
    driver = PtwDiamentor(DAP_CONFIG, FakeTransport(clock, replies), clock.monotonic)
    driver.connect()
    return driver


def test_diamentor_actions_speak_the_meter_commands() -> None:
    clock = FakeClock()
    transport_replies: dict[bytes, list[bytes | None]] = {
        b"RES": [b"RES\r\n"],
        b"U2": [b"U2\r\n"],
        b"PRE": [b"PRE1013.2\r\n"],
        b"TMPA": [b"TMPA22.5\r\n"],
    }
    driver = _diamentor(clock, transport_replies)
    assert perform(driver, _dap("reset"), {}) == {}
    assert perform(driver, _dap("set_unit"), {"unit_code": 2}) == {"unit_code": 2, "unit": "Gy·cm²"}
    assert perform(driver, _dap("air_density"), {}) == {"pressure_hpa": 1013.2, "temperature_c": 22.5}
    assert driver.info["dap_unit"] == "Gy·cm²"  # later readings convert from the new unit


def test_a_meter_refusal_is_the_driver_device_error() -> None:
    clock = FakeClock()
    driver = _diamentor(clock, {b"RES": [b"E7\r\n"]})
    with pytest.raises(DeviceError, match="write protected"):
        perform(driver, _dap("reset"), {})


def test_capintec_accuracy_reads_over_the_handshake() -> None:
    clock = FakeClock()
    config = capintec.CapintecConfig(name="crc", driver="capintec_crc", port="fake", timeout_s=0.5)
    replies: dict[bytes, list[bytes | None]] = {
        b"@": [ACK],
        encode_frame(b"S"): [format_serial("251234")],
        encode_frame(b"G"): [encode_frame(b"DGRNNNNNNNNN")],
        encode_frame(b"s1"): [format_accuracy_source(1, "CS-1234", "Cs137", "7.400", "5", True)],
        encode_frame(b"a1"): [format_accuracy_measurement(1, "7.550", "5", "+2.0")],
        encode_frame(b"a2"): [format_accuracy_measurement(2)],
        encode_frame(b"I12"): [format_error("5")],
    }
    driver = Capintec(config, FakeTransport(clock, replies), clock.monotonic)
    driver.connect()
    source = perform(driver, _crc("accuracy_source"), {"source": 1})
    assert source["serial_number"] == "CS-1234" and source["nuclide"] == "Cs-137"
    assert source["activity_mbq"] == pytest.approx(7.4) and source["constancy_source"] is True
    measured = perform(driver, _crc("accuracy_measurement"), {"source": 1})
    assert measured["variation_percent"] == 2.0 and measured["activity_mbq"] == pytest.approx(7.55)
    assert perform(driver, _crc("accuracy_measurement"), {"source": 2})["measured"] is False
    with pytest.raises(DeviceError, match="isotope"):
        perform(driver, _crc("select_nuclide"), {"chamber": 1, "key": 2})
