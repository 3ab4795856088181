"""PTW DIAMENTOR DAP (KAP) meter over RS-232.

Protocol source and confidence: medium-high. PyMeasure's `pymeasure/instruments/ptw/ptwDIAMENTOR.py`
and its wire-level tests, plus PTW's RS-232 convention of the MULTIDOS/UNIDOS manuals.
9600 8N1, telegrams end CR LF, strict request/response.

- `PTW` → `CRS x.xx` (firmware id); `U` → `U<n>` DAP unit (1 cGy·cm², 2 Gy·cm², 3 µGy·m², 4 R·cm²);
- `M` → `M<dap>,<dap_rate>,<minutes>,<seconds>,…` (later fields undocumented, kept raw);
- errors `E<n>` (E1 syntax … E26 firmware);
- `U<n>` sets the DAP unit, `RES` resets dose and time, `PRE` / `TMPA` read air pressure (hPa) and
  chamber temperature (°C) for the air-density correction, `BR<n>` changes the baud rate (n = 0–4:
  9600 … 115200), effective after the reply. Assumed (not in the public sources): each setting is
  answered by an echo of its command, and `PRE`/`TMPA` by the command followed by the number.

The time base of `dap_rate` is not documented publicly: the DIAMENTOR displays DAP rate per
second, so the driver assumes seconds and makes it configurable (`dap_rate_time_base_s`) **[check]**.

Layout: `PtwDiamentorConfig` (frozen), the pure codec (drivers/ptw_diamentor_codec.py:
`encode_command`, `decode_line`, `parse_*`, and the device-side `format_*` the simulator uses),
`to_measurements` (canonical units), and `PtwDiamentor`, which only moves bytes over an injected
transport. `ACTIONS` (end of module) lists what cmd/device_command may run.
"""

from __future__ import annotations

__all__ = ["ACTIONS", "PtwDiamentor", "PtwDiamentorConfig", "to_measurements"]

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import FrameError, TransportError
from drivers.actions import ActionArg, DeviceAction, Effect, action_table
from drivers.checks import polling_problems
from drivers.framing import await_frame
from drivers.model import Measurement, Reading
from drivers.ptw_diamentor_codec import (
    BAUD_CODES,
    DAP_UNITS,
    DapUnit,
    DiamentorSample,
    decode_line,
    encode_command,
    parse_measurement,
    parse_reply,
    parse_unit,
    parse_value,
)
from drivers.transport import ByteTransport


@dataclass(frozen=True)
class PtwDiamentorConfig:
    name: str
    driver: str
    port: str
    baudrate: int = 9600
    poll_interval_s: float = 0.5
    timeout_s: float = 1.0
    lost_after_failures: int = 2
    dap_rate_time_base_s: float = 1.0
    roentgen_to_gy: float = 0.00876
    read_air_density: bool = False  # read PRE / TMPA at connect into device_info

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.baudrate not in (9600, 19200, 38400, 57600, 115200):
            problems.append(("baudrate", "must be one of 9600, 19200, 38400, 57600, 115200"))
        problems += polling_problems(self)
        if self.dap_rate_time_base_s not in (1.0, 60.0, 3600.0):
            problems.append(("dap_rate_time_base_s", "must be 1 (per s), 60 (per min) or 3600 (per h)"))
        return problems


def to_measurements(
    sample: DiamentorSample, unit: DapUnit, config: PtwDiamentorConfig
) -> tuple[Measurement, ...]:
    """Canonical units: KAP Gy·cm², KAP rate Gy·cm²/min, irradiation time s."""
    factor = config.roentgen_to_gy if unit.code == 4 else unit.to_gy_cm2
    per_min = 60.0 / config.dap_rate_time_base_s
    rate_unit = {1.0: "/s", 60.0: "/min", 3600.0: "/h"}[config.dap_rate_time_base_s]
    return (
        Measurement("kap", sample.dap * factor, "Gy·cm²", sample.dap, unit.label),
        Measurement(
            "kap_rate",
            sample.dap_rate * factor * per_min,
            "Gy·cm²/min",
            sample.dap_rate,
            unit.label + rate_unit,
        ),
        Measurement(
            "irradiation_time",
            float(sample.irradiation_time_s),
            "s",
            float(sample.irradiation_time_s),
            "s",
        ),
    )


# ---------------------------------------------------------------- driver (moves bytes only)


class PtwDiamentor:
    """Request/response over an injected transport; framing and parsing by the codec above."""

    quantities = ("kap", "kap_rate", "irradiation_time")

    def __init__(
        self,
        config: PtwDiamentorConfig,
        transport: ByteTransport,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._transport = transport
        self._monotonic = monotonic
        self._unit: DapUnit | None = None
        self.info: dict[str, str] = {}
        self.counters: Counter[str] = Counter()

    def connect(self) -> dict[str, str]:
        self._transport.open()
        firmware = self._transact("PTW", "CRS")
        unit = parse_unit(self._transact("U", "U"))
        self._unit = unit
        self.info = {"firmware": firmware, "dap_unit": unit.label}
        if self.config.read_air_density:
            pressure_hpa, temperature_c = self.air_density()
            self.info |= {"pressure_hpa": f"{pressure_hpa:g}", "temperature_c": f"{temperature_c:g}"}
        return self.info

    def set_unit(self, code: int) -> DapUnit:
        """`U<n>`: the meter then reports DAP in that unit; the driver converts from it."""
        if code not in DAP_UNITS:
            raise ValueError(f"unknown DAP unit code {code}")
        unit = parse_unit(self._transact(f"U{code}", "U"))
        if unit.code != code:
            raise FrameError(f"{self.config.name}: asked unit {code}, meter reports {unit.code}")
        self._unit = unit
        self.info["dap_unit"] = unit.label
        return unit

    def reset(self) -> None:
        """`RES`: cumulative DAP and irradiation time back to zero."""
        self._transact("RES", "RES")

    def air_density(self) -> tuple[float, float]:
        """(`PRE` air pressure in hPa, `TMPA` chamber temperature in °C)."""
        pressure_hpa = parse_value(self._transact("PRE", "PRE"), "PRE")
        temperature_c = parse_value(self._transact("TMPA", "TMPA"), "TMPA")
        return pressure_hpa, temperature_c

    def change_baudrate(self, baudrate: int) -> None:
        """`BR<n>`, then the host follows; the new speed holds until the meter is power-cycled."""
        if baudrate not in BAUD_CODES:
            raise ValueError(f"unsupported baud rate {baudrate}")
        self._transact(f"BR{BAUD_CODES[baudrate]}", "BR")
        self._transport.set_baudrate(baudrate)

    def poll(self) -> Reading:
        if self._unit is None:
            raise TransportError(f"{self.config.name}: not connected")
        sample = parse_measurement(self._transact("M", "M"))
        return Reading(
            device=self.config.name,
            measurements=to_measurements(sample, self._unit, self.config),
            device_info=self.info,
        )

    def close(self) -> None:
        self._unit = None
        self._transport.close()

    def _transact(self, command: str, expect_prefix: str) -> str:
        """Send one command and return its reply; garbage and stray lines are counted and skipped."""
        self._transport.discard_input()
        self._transport.write(encode_command(command))
        text, _ = await_frame(
            self._transport, decode_line, lambda t: parse_reply(t, expect_prefix) == t,
            self.config.timeout_s, self._monotonic, self.counters, self.config.name,
            request=repr(command),
        )  # fmt: skip
        return text  # parse_reply raised for an E-code (DeviceError) or a stray reply (FrameError)


# ---------------------------------------------------------------- device actions (cmd/device_command)

ACTIONS = action_table(
    DeviceAction("reset", "reset", Effect.CHANGES, "RES: cumulative DAP and irradiation time back to zero"),
    DeviceAction(
        "set_unit",
        "set_unit",
        Effect.CHANGES,
        "U<n>: the unit the meter reports DAP in (the driver converts from it)",
        (ActionArg("unit_code", int, "1 cGy·cm², 2 Gy·cm², 3 µGy·m², 4 R·cm²", tuple(DAP_UNITS)),),
        lambda unit: {"unit_code": unit.code, "unit": unit.label},
    ),
    DeviceAction(
        "change_baudrate",
        "change_baudrate",
        Effect.CHANGES,
        "BR<n>: line speed until the meter is power-cycled (then it is back at its default and "
        "the agent, still at the new speed, reads garbage until the config matches)",
        (ActionArg("baudrate", int, "bit/s", tuple(BAUD_CODES)),),
        lambda _: {},
    ),
    DeviceAction(
        "air_density",
        "air_density",
        Effect.READ,
        "PRE / TMPA: air pressure (hPa) and chamber temperature (°C) the meter corrects with",
        result=lambda value: {"pressure_hpa": value[0], "temperature_c": value[1]},
    ),
)
