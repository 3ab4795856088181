"""Entrance-rate formulas (NCRP 168; IEC 60601-2-43) from each kind of input, with their factors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from limits.dosimetry import Geometry
from limits.entrance import TubeOutput, from_generator, from_kap_rate, from_kar_rate, psd_estimate

GEOMETRY = Geometry(100.0, 60.0, 65.0, 1.4, 0.8)
TO_ENTRANCE = (60.0 / 65.0) ** 2 * 1.4 * 0.8
# A modelled ideal W-anode 2.5 mm Al tube output (µGy/mAs at 1 m) standing in for a room's calibration.
TUBE = TubeOutput(
    (60.0, 70.0, 80.0, 90.0),
    (48.9, 64.9, 82.0, 100.1),
    "2026-01-15",
    tube_current="pulse",
    filtration_cu_mm=0.0,
)


def test_kar_rate() -> None:
    rate = from_kar_rate(20.0, GEOMETRY)
    assert rate.esak_mgy_min == pytest.approx(20.0 * TO_ENTRANCE)
    assert rate.factors["backscatter_factor"] == 1.4 and rate.factors["table_transmission"] == 0.8


def test_kap_rate_configured_and_measured_area() -> None:
    configured = from_kap_rate(2.0, GEOMETRY)  # 2 Gy·cm²/min over 100 cm² = 20 mGy/min at the reference
    assert configured.k_ref_mgy_min == pytest.approx(20.0)
    assert configured.factors["field_area_source"] == "assumed"
    # 400 cm² at a 120 cm SID is 100 cm² at 60 cm: same answer, from the measured field.
    measured = from_kap_rate(2.0, GEOMETRY, 400.0, 120.0)
    assert measured.esak_mgy_min == pytest.approx(configured.esak_mgy_min)
    assert measured.factors["field_area_source"] == "measured"


def test_generator_pulsed_interpolated_output() -> None:
    # 75 kV → (64.9 + 82.0)/2 µGy/mAs; 10 mA × 15/s × 8 ms = 1.2 mAs/s
    rate = from_generator(75.0, 10.0, 15.0, 8.0, TUBE, GEOMETRY)
    k_1m = (64.9 + 82.0) / 2 * 1.2 * 60 / 1000  # mGy/min
    assert rate.k_ref_mgy_min == pytest.approx(k_1m * (100 / 60) ** 2)
    assert rate.esak_mgy_min == pytest.approx(k_1m * (100 / 65) ** 2 * 1.4 * 0.8)
    assert rate.factors["duty"] == pytest.approx(0.12)
    assert rate.factors["tube_output_extrapolated"] is False


def test_generator_continuous_and_extrapolated_flagged() -> None:
    rate = from_generator(95.0, 2.0, 0.0, 0.0, TUBE, GEOMETRY)
    assert rate.factors["duty"] == 1.0
    assert rate.factors["tube_output_extrapolated"] is True
    assert rate.factors["tube_output_ugy_mas_at_1m"] == pytest.approx(100.1 + (100.1 - 82.0) / 2)


@pytest.mark.parametrize(("kv", "ma", "pr", "pw"), [(-80, 1, 0, 0), (80, -1, 0, 0), (80, 5, 30, 40)])
def test_impossible_generator_readings_are_refused(kv: float, ma: float, pr: float, pw: float) -> None:
    with pytest.raises(ValueError):
        from_generator(kv, ma, pr, pw, TUBE, GEOMETRY)


def test_psd_single_field_estimate() -> None:
    psd, factors = psd_estimate(3000.0, GEOMETRY, 1.06)
    assert psd == pytest.approx(3000.0 * TO_ENTRANCE * 1.06)
    assert factors["method"] == "single_field_estimate"


def test_tube_output_validation() -> None:
    assert TubeOutput((80.0,), (50.0,)).validate()
    assert TubeOutput((80.0, 70.0), (50.0, 40.0)).validate()
    assert not TUBE.validate()


def test_average_tube_current_is_not_multiplied_by_the_pulse_duty() -> None:
    """Issue 9, finding 7: pulse vs average mA differ by the duty (here 15/s × 8 ms = 0.12)."""
    pulse = from_generator(75.0, 10.0, 15.0, 8.0, TUBE, GEOMETRY)
    average = from_generator(75.0, 10.0, 15.0, 8.0, replace(TUBE, tube_current="average"), GEOMETRY)
    assert average.esak_mgy_min == pytest.approx(pulse.esak_mgy_min / 0.12)
    assert (pulse.factors["tube_current_is"], average.factors["duty"]) == ("pulse", 1.0)


def test_less_filtration_than_at_calibration_is_flagged() -> None:
    tube = replace(TUBE, filtration_cu_mm=0.1)
    assert from_generator(75.0, 10.0, 15.0, 8.0, tube, GEOMETRY, 0.0).factors["filtration_below_calibration"]
    more = from_generator(75.0, 10.0, 15.0, 8.0, tube, GEOMETRY, 0.3).factors
    assert more["filtration_below_calibration"] is False and more["filtration_cu_mm"] == 0.3
