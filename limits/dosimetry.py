"""From what a DAP meter measures to what the fluoroscopy guidance levels speak of.

shared/reference/dosimetry.md §3:
  K_ref rate  = KAP rate / field area at the reference plane            (KAP is invariant with distance)
  ESAK rate   = K_ref rate × (d_ref / d_entrance)² × BSF × T_table     (seed: "in air with backscatter")

Every factor used is returned with the result so it is stored with the record.
"""

from __future__ import annotations

__all__ = ["Geometry", "esak_rate_mgy_min"]

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Geometry:
    field_area_at_reference_cm2: float
    source_to_reference_cm: float
    source_to_entrance_cm: float
    backscatter_factor: float
    table_transmission: float = 1.0

    def factors(self) -> dict[str, float]:
        return asdict(self)


def esak_rate_mgy_min(kap_rate_gy_cm2_min: float, geometry: Geometry) -> float:
    """Entrance-surface air-kerma rate (mGy/min, with backscatter) from a KAP rate (Gy·cm²/min)."""
    k_ref_mgy_min = kap_rate_gy_cm2_min / geometry.field_area_at_reference_cm2 * 1000.0
    inverse_square = (geometry.source_to_reference_cm / geometry.source_to_entrance_cm) ** 2
    return k_ref_mgy_min * inverse_square * geometry.backscatter_factor * geometry.table_transmission
