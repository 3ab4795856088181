"""What a QC command carries, checked where it enters: a reference source, linearity points.

The arguments come from a command (MQTT or a local channel) and are untrusted: every key, type and
sign is checked here, and anything wrong is a `CommandError` naming the key, before the QC desk
(agent/hotlab/qc.py) stores or judges anything.
"""

from __future__ import annotations

__all__ = ["parse_linearity_points", "parse_reference_source"]

from typing import Any

from agent.hotlab.context import parse_time
from core.errors import CommandError
from limits import activimeter_qc as qc
from limits.decay import HalfLifeTable


def parse_reference_source(args: dict[str, Any], half_lives: HalfLifeTable) -> qc.ReferenceSource:
    """A `hotlab_source` command's source and acceptance readings; refused if it cannot be decay-corrected."""
    try:
        raw = args.get("acceptance_readings", [])
        if not isinstance(raw, list):
            raise TypeError("acceptance_readings must be a list of {setting, reading_mbq, measured_at}")
        acceptance = tuple(
            qc.AcceptanceReading(
                str(a["setting"]),
                float(a["reading_mbq"]),
                parse_time(a["measured_at"], "acceptance_readings[].measured_at"),
            )
            for a in raw
        )
        source = qc.ReferenceSource(
            str(args["serial"]),
            str(args["nuclide"]),
            float(args["certified_activity_mbq"]),
            parse_time(args["certified_at"], "certified_at"),
            acceptance,
        )
    except KeyError as exc:
        raise CommandError(
            f"missing key {exc.args[0]!r} (serial, nuclide, certified_activity_mbq, certified_at)"
        ) from exc
    except (TypeError, ValueError) as exc:
        raise CommandError(f"bad reference source: {exc}") from exc
    if source.nuclide not in half_lives:
        raise CommandError(f"no half-life for {source.nuclide!r}: cannot decay-correct this source")
    if source.certified_activity_mbq <= 0 or any(a.reading_mbq <= 0 for a in source.acceptance):
        raise CommandError("certified_activity_mbq and every acceptance reading_mbq must be > 0")
    if len({a.setting for a in source.acceptance}) != len(source.acceptance):
        raise CommandError("acceptance_readings name a setting twice")
    return source


def parse_linearity_points(args: dict[str, Any]) -> list[tuple[float, float]]:
    """(seconds since the first point, measured MBq) for each of at least 3 `points`."""
    raw = args.get("points")
    if not isinstance(raw, list) or len(raw) < 3:
        raise CommandError("linearity needs points: a list of at least 3 {at, measured_mbq}")
    try:
        times = [parse_time(p["at"], "points[].at") for p in raw]
        values = [float(p["measured_mbq"]) for p in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise CommandError(f"bad linearity point: {exc}") from exc
    t0 = min(times)
    return [((t - t0).total_seconds(), v) for t, v in zip(times, values, strict=True)]
