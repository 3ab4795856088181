"""Entrance-surface air-kerma rate from whatever the room measures (NCRP 168; IEC 60601-2-43).

Three inputs, best first:
- a Ka,r rate (air kerma at the interventional reference point, no backscatter), from the console
  or a meter:               K_ref = Ka,r rate
- a KAP rate and a field area (KAP is invariant with distance; the area is taken at the reference
  plane, scaled from the plane it was given at):
                            K_ref = KAP rate / A_ref,   A_ref = A_plane × (d_ref / d_plane)²
- generator parameters and the room's tube-output calibration Y(kV) (µGy/mAs at 1 m, interpolated,
  measured at the added filtration `filtration_cu_mm`):
                            K(1 m) = Y(kV) × mA × duty
  where the generator's mA is either the current during a pulse (`tube_current = "pulse"`: duty =
  pulse rate × pulse width, 1 if continuous) or already the average (`"average"`: duty = 1) — the
  two differ by up to 8× at 30 pulses/s × 4 ms, so the room's config must say which it is.
  More added copper than at calibration lowers the real output: the estimate stays high (safe).
  Less copper than at calibration raises it: the rate is flagged `filtration_below_calibration`.
                            K_ref  = K(1 m) × (100 cm / d_ref)²
Then, for all three:        ESAK   = K_ref × (d_ref / d_entrance)² × BSF × T_table
(the regulation's Table 4 level is « in air with backscatter »: BSF yes, tissue factor no).

Every factor is returned with the value so it is stored with the record and can be re-derived.
"""

from __future__ import annotations

__all__ = ["EntranceRate", "TubeOutput", "from_generator", "from_kap_rate", "from_kar_rate", "psd_estimate"]

import bisect
from dataclasses import dataclass
from typing import Any, Literal

from limits.dosimetry import Geometry


@dataclass(frozen=True)
class TubeOutput:
    """Per-room commissioning calibration: tube output at 1 m (µGy/mAs) at measured kV points."""

    kv: tuple[float, ...]
    output_ugy_mas_at_1m: tuple[float, ...]
    calibrated_on: str = ""  # date of the measurement
    reference: str = ""  # report or instrument the physicist used
    tube_current: Literal["pulse", "average", ""] = ""  # what the generator's mA means; "" = unsaid
    filtration_cu_mm: float = -1.0  # added Cu filtration at calibration; -1 = unsaid

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        if not self.tube_current:
            problems.append(
                (
                    "tube_current",
                    'say what the generator\'s tube_current is: "pulse" (mA during a pulse; the agent '
                    'multiplies by pulse rate × width) or "average" (mA averaged over time)',
                )
            )
        if not 0 <= self.filtration_cu_mm <= 2:
            problems.append(
                (
                    "filtration_cu_mm",
                    "give the added copper filtration (0–2 mm Cu) the output was measured at; measure at "
                    "the least filtration the room uses so more filtration keeps the estimate high",
                )
            )
        if len(self.kv) < 2 or len(self.kv) != len(self.output_ugy_mas_at_1m):
            problems.append(("kv", "needs ≥ 2 points and as many output_ugy_mas_at_1m values"))
        elif any(b <= a for a, b in zip(self.kv, self.kv[1:], strict=False)):
            problems.append(("kv", "must be strictly increasing"))
        if any(not 0 < y <= 1000 for y in self.output_ugy_mas_at_1m):
            problems.append(("output_ugy_mas_at_1m", "each must be > 0 and ≤ 1000 µGy/mAs"))
        return problems

    def at(self, kv: float) -> tuple[float, bool]:
        """(Y in µGy/mAs at 1 m, extrapolated?) by linear interpolation; linear beyond the ends."""
        kvs, outputs = self.kv, self.output_ugy_mas_at_1m
        outside = kv < kvs[0] or kv > kvs[-1]
        i = min(max(bisect.bisect_right(kvs, kv) - 1, 0), len(kvs) - 2)  # segment, or the end one
        slope = (outputs[i + 1] - outputs[i]) / (kvs[i + 1] - kvs[i])
        return max(0.0, outputs[i] + slope * (kv - kvs[i])), outside


@dataclass(frozen=True)
class EntranceRate:
    esak_mgy_min: float  # entrance surface air-kerma rate, in air with backscatter
    k_ref_mgy_min: float  # air-kerma rate at the reference point, no backscatter
    method: str  # kar_rate | kap_rate | generator
    factors: dict[str, Any]


def _to_entrance(k_ref: float, geometry: Geometry, method: str, factors: dict[str, Any]) -> EntranceRate:
    inverse_square = (geometry.source_to_reference_cm / geometry.source_to_entrance_cm) ** 2
    esak = k_ref * inverse_square * geometry.backscatter_factor * geometry.table_transmission
    return EntranceRate(
        esak,
        k_ref,
        method,
        {
            "method": method,
            **factors,
            "source_to_reference_cm": geometry.source_to_reference_cm,
            "source_to_entrance_cm": geometry.source_to_entrance_cm,
            "inverse_square": round(inverse_square, 6),
            "backscatter_factor": geometry.backscatter_factor,
            "table_transmission": geometry.table_transmission,
            "kap_calibration": geometry.kap_calibration,
            "kar_calibration": geometry.kar_calibration,
        },
    )


def from_kar_rate(kar_rate_mgy_min: float, geometry: Geometry) -> EntranceRate:
    return _to_entrance(kar_rate_mgy_min * geometry.kar_calibration, geometry, "kar_rate", {})


def from_kap_rate(
    kap_rate_gy_cm2_min: float,
    geometry: Geometry,
    field_area_cm2: float | None = None,
    field_plane_cm: float | None = None,
) -> EntranceRate:
    """`field_area_cm2` measured at `field_plane_cm` from the source (e.g. the receptor at SID);
    without them the configured area at the reference plane is used."""
    if (
        field_area_cm2 is not None
        and field_plane_cm is not None
        and field_area_cm2 > 0
        and field_plane_cm > 0
    ):
        area_ref = field_area_cm2 * (geometry.source_to_reference_cm / field_plane_cm) ** 2
        area: dict[str, Any] = {
            "field_area_cm2": field_area_cm2,
            "field_plane_cm": field_plane_cm,
            "field_area_source": "measured",
        }
    else:
        area_ref = geometry.field_area_at_reference_cm2
        area = {"field_area_source": "assumed"}
    k_ref = kap_rate_gy_cm2_min * geometry.kap_calibration / area_ref * 1000.0
    return _to_entrance(
        k_ref, geometry, "kap_rate", {**area, "field_area_at_reference_cm2": round(area_ref, 3)}
    )


def from_generator(
    kv: float,
    ma: float,
    pulse_rate_hz: float,
    pulse_width_ms: float,
    tube: TubeOutput,
    geometry: Geometry,
    filtration_cu_mm: float | None = None,
) -> EntranceRate:
    """ValueError for readings no generator can produce (negative, or pulses longer than the period).
    `filtration_cu_mm` is the added copper the generator reports now, None if it does not say."""
    if kv <= 0 or ma < 0 or pulse_rate_hz < 0 or pulse_width_ms < 0:
        raise ValueError(
            f"impossible generator reading kV={kv} mA={ma} {pulse_rate_hz}/s {pulse_width_ms} ms"
        )
    pulsed = pulse_rate_hz > 0 and pulse_width_ms > 0
    pulse_duty = pulse_rate_hz * pulse_width_ms / 1000.0 if pulsed else 1.0
    if pulse_duty > 1.0:
        raise ValueError(f"pulse width {pulse_width_ms} ms × {pulse_rate_hz}/s exceeds continuous beam")
    duty = pulse_duty if tube.tube_current == "pulse" else 1.0  # an average mA already includes it
    output, extrapolated = tube.at(kv)
    k_1m_mgy_min = output * ma * duty * 60.0 / 1000.0
    k_ref = k_1m_mgy_min * (100.0 / geometry.source_to_reference_cm) ** 2
    factors = {
        "kv": kv,
        "tube_current_ma": ma,
        "tube_current_is": tube.tube_current,
        "pulse_rate_hz": pulse_rate_hz if pulsed else 0.0,
        "pulse_width_ms": pulse_width_ms if pulsed else 0.0,
        "duty": round(duty, 6),
        "tube_output_ugy_mas_at_1m": round(output, 4),
        "tube_output_extrapolated": extrapolated,
        "tube_output_calibrated_on": tube.calibrated_on,
        "k_1m_mgy_min": round(k_1m_mgy_min, 4),
        "tube_output_filtration_cu_mm": tube.filtration_cu_mm,
        "filtration_cu_mm": filtration_cu_mm,
        "filtration_below_calibration": filtration_cu_mm is not None
        and filtration_cu_mm < tube.filtration_cu_mm,
    }
    return _to_entrance(k_ref, geometry, "generator", factors)


def psd_estimate(kar_mgy: float, geometry: Geometry, tissue_to_air: float) -> tuple[float, dict[str, Any]]:
    """Single-field peak-skin-dose ESTIMATE (mGy) from the cumulative Ka,r:
    PSD ≈ Ka,r × (d_ref/d_skin)² × BSF × f × T_table — as if every field hit the same skin.

    Not an upper bound: the skin distance is the configured one (a patient closer to the tube
    gets more), the console's Ka,r may be off by ±35 % (IEC 60601-2-43), and the calibration factor
    is only as good as the commissioning. Where fields overlap little it overestimates."""
    inverse_square = (geometry.source_to_reference_cm / geometry.source_to_entrance_cm) ** 2
    psd = kar_mgy * inverse_square * geometry.backscatter_factor * tissue_to_air * geometry.table_transmission
    return psd, {
        "method": "single_field_estimate",
        "inverse_square": round(inverse_square, 6),
        "backscatter_factor": geometry.backscatter_factor,
        "tissue_to_air": tissue_to_air,
        "table_transmission": geometry.table_transmission,
    }
