"""Checks across the sections of a station config, in one place: ids that become MQTT topic levels,
device names, serial ports shared by several devices, and the devices [fluoroscopy] and [hotlab]
name. agent/config.py builds each section, then calls these."""

from __future__ import annotations

__all__ = [
    "CONSERVATIVE_FIELD_AREA_CM2",
    "activimeter_problems",
    "cross_checks",
    "fluoro_room_problems",
    "id_problems",
]

import re
from typing import TYPE_CHECKING, Any

from core.errors import ConfigProblem
from drivers.ports import port_conflicts
from drivers.registry import DRIVERS, DriverConfig

if TYPE_CHECKING:
    from agent.fluoro.config import FluoroscopyConfig
    from limits.trigger_levels import TriggerSet

# The area assumed where nothing measures the field, at the interventional reference point. Real
# coronary and neuro fields there are 40–80 cm²; Ka,r = KAP ÷ area, so assuming the smallest of
# them over-estimates Ka,r and the entrance rate by at most 2× in those fields and never
# under-estimates them — while 100–150 cm² under-estimated them 1.3–3.5× (issue 9, finding 5).
CONSERVATIVE_FIELD_AREA_CM2 = 40.0

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


def id_problems(key: str, value: str) -> list[tuple[str, str]]:
    if _ID.match(value):
        return []
    return [(key, "must be 1–64 letters, digits, '-' or '_' (it becomes an MQTT topic level)")]


def cross_checks(
    devices: list[DriverConfig],
    declared: set[str],
    fluoro: FluoroscopyConfig | None,
    problems: list[ConfigProblem],
) -> None:
    """Device names, shared serial ports, and the devices [fluoroscopy] names.

    `declared` holds the names of device tables that failed to build: no second error for them.
    """
    names = [d.name for d in devices]
    for i, device in enumerate(devices):
        for key, message in id_problems("name", device.name):
            problems.append(ConfigProblem(f"devices[{i}].{key}", message))
        if names.count(device.name) > 1:
            problems.append(ConfigProblem(f"devices[{i}].name", f"duplicate device name {device.name!r}"))
    serial: list[tuple[int, Any]] = [
        (i, d) for i, d in enumerate(devices) if hasattr(d, "baudrate") and str(getattr(d, "port", ""))
    ]  # a Modbus TCP device has a baudrate key but no serial port
    shared = [(d.name, d.port, d.baudrate) for _, d in serial]
    for j, message in port_conflicts(shared):
        problems.append(ConfigProblem(f"devices[{serial[j][0]}].baudrate", message))
    if fluoro is None:
        return
    meters = {d.name for d in devices if DRIVERS[d.driver].role == "dap_meter"}
    if fluoro.dap_meter and fluoro.dap_meter not in meters and fluoro.dap_meter not in declared:
        problems.append(
            ConfigProblem("fluoroscopy.dap_meter", f"no DAP meter named {fluoro.dap_meter!r} in [[devices]]")
        )
    if fluoro.generator and fluoro.generator not in names and fluoro.generator not in declared:
        problems.append(
            ConfigProblem("fluoroscopy.generator", f"no device named {fluoro.generator!r} in [[devices]]")
        )


def activimeter_problems(name: str, devices: list[DriverConfig], broken: set[str]) -> list[ConfigProblem]:
    """`[hotlab].activimeter` must name a device whose driver's registry role is "activimeter"."""
    if name in broken:
        return []  # its own table already has a problem
    device = next((d for d in devices if d.name == name), None)
    kinds = ", ".join(sorted(n for n, spec in DRIVERS.items() if spec.role == "activimeter"))
    if device is None:
        return [ConfigProblem("hotlab.activimeter", f"no device named {name!r} in [[devices]]")]
    role = DRIVERS[device.driver].role
    if role != "activimeter":
        return [
            ConfigProblem(
                "hotlab.activimeter",
                f"device {name!r} is a {device.driver} ({role}), not an activimeter (drivers: {kinds})",
            )
        ]
    return []


def fluoro_room_problems(
    fluoro: FluoroscopyConfig | None, triggers: TriggerSet | None
) -> list[ConfigProblem]:
    """Safe room set-ups (docs/fluoroscopy.md, "Safe room set-ups"), checked by `check-config` and at
    start — the same function, because both build the config with agent/config.py."""
    if fluoro is None:
        return []
    problems = []
    if fluoro.mode != "normal":
        what = {
            "high_level": "normal fluoroscopy would be judged against 100 mGy/min, 4× its 25 mGy/min level",
            "acquisition": "no fluoroscopy would ever be judged",
        }[fluoro.mode]
        when = (
            f"while generator {fluoro.generator} gives no fresh mode (silent, lost)"
            if fluoro.generator
            else "always: nothing in this room reports the mode"
        )
        problems.append(
            ConfigProblem(
                "fluoroscopy.mode",
                f'mode = "{fluoro.mode}" is the mode judged {when}: {what}. Set mode = "normal" '
                "(high-level and cine runs then alarm against 25 mGy/min: over-alarming, never silence)"
                + ("" if fluoro.generator else ", and name a generator (or bridge) that reports the mode"),
            )
        )
    if fluoro.field_area_at_reference_cm2 > CONSERVATIVE_FIELD_AREA_CM2:
        where = (
            f"while generator {fluoro.generator} reports no field_area and sid"
            if fluoro.generator
            else "for every reading (nothing in this room measures the field)"
        )
        problems.append(
            ConfigProblem(
                "fluoroscopy.field_area_at_reference_cm2",
                f"{fluoro.field_area_at_reference_cm2:g} cm² is assumed {where}; real coronary and neuro "
                "fields at the reference point are 40–80 cm², so a larger assumed area under-estimates "
                f"Ka,r and the entrance rate. Use at most {CONSERVATIVE_FIELD_AREA_CM2:g} cm²",
            )
        )
    if triggers is not None and not any(t.quantity == "kap" for t in triggers.levels):
        problems.append(
            ConfigProblem(
                "triggers",
                f"preset {triggers.preset!r} leaves no KAP trigger: KAP is the one total that does not "
                "depend on an assumed field area, so a fluoroscopy room always runs it. Choose a preset "
                "with kap_* levels, or do not disable them",
            )
        )
    return problems
