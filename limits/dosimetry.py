"""From what a DAP meter measures to what the fluoroscopy guidance levels speak of.

Inverse square and backscatter as in NCRP 168 and IAEA practice; the regulation's Table 4 level is ESAK:
  K_ref rate  = KAP rate / field area at the reference plane            (KAP is invariant with distance)
  ESAK rate   = K_ref rate × (d_ref / d_entrance)² × BSF × T_table  (Table 4 note a: with backscatter)

A meter's KAP and Ka,r are first multiplied by the room's calibration factors from commissioning
(`kap_calibration`, `kar_calibration`: the reference dosimeter's value ÷ the meter's, in this room,
through this table; 1.0 until measured). They are part of the geometry so every record carries them.

Every factor used is returned with the result so it is stored with the record.
"""

from __future__ import annotations

__all__ = ["Geometry", "esak_rate_mgy_min"]

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Geometry:
    field_area_at_reference_cm2: float
    source_to_reference_cm: float
    source_to_entrance_cm: float
    backscatter_factor: float
    table_transmission: float = 1.0
    kap_calibration: float = 1.0  # reference KAP ÷ meter KAP, from commissioning
    kar_calibration: float = 1.0  # reference Ka,r ÷ meter (or console) Ka,r, from commissioning
    calibrated_on: str = ""  # date and report of the commissioning measurement ("" = not calibrated)

    def factors(self) -> dict[str, Any]:
        return asdict(self)


def esak_rate_mgy_min(kap_rate_gy_cm2_min: float, geometry: Geometry) -> float:
    """Entrance-surface air-kerma rate (mGy/min, with backscatter) from a KAP rate (Gy·cm²/min)."""
    kap = kap_rate_gy_cm2_min * geometry.kap_calibration
    k_ref_mgy_min = kap / geometry.field_area_at_reference_cm2 * 1000.0
    inverse_square = (geometry.source_to_reference_cm / geometry.source_to_entrance_cm) ** 2
    return k_ref_mgy_min * inverse_square * geometry.backscatter_factor * geometry.table_transmission
