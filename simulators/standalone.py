"""`doseedge simulate NAME`: each simulator started alone with a demo scenario, for commissioning."""

from __future__ import annotations

__all__ = ["demo_simulator"]

from typing import Any

from limits.dosimetry import Geometry
from simulators import SIMULATORS
from simulators.activity_source import DecayingSource
from simulators.hotlab_session import HotlabSession
from simulators.procedure import Procedure, Segment, demo_procedure


def demo_simulator(name: str) -> tuple[Any, str]:
    """(simulator, one-line description of what it plays). KeyError for an unknown name."""
    factory = SIMULATORS[name]
    if name == "ptw_diamentor":
        return factory(
            demo_procedure(Geometry(100.0, 60.0, 65.0, 1.4), loop=True)
        ), "looping the demo procedure"
    if name == "modbus_generator":
        from simulators.generator_script import fluoroscopy_script

        return factory(fluoroscopy_script(loop=True)), "looping a scripted fluoroscopy procedure"
    if name == "dap_line":
        meters = {"01": Procedure((Segment(3600, 3.0),)), "02": Procedure((Segment(3600, 0.5),))}
        return factory(meters), "two meters at addresses 01 and 02 (send '#01M' CR LF)"
    if name == "bridge":
        from simulators.bridge import demo_scenario

        return factory(demo_scenario(loop=True)), (
            "the firmware under CPython, looping 40 s: beam on at 3 s, over the level from 8 s, "
            "room button at 17 s, below at 21 s, beam off at 26 s"
        )
    if name == "capintec_crc":
        return factory(HotlabSession()), (
            "the hot-lab session (80 s cycle: background, Cs-137 check source drifting, "
            "Tc-99m syringe lowered then decaying, eluate over range)"
        )
    return factory(DecayingSource("Tc-99m", 740.0)), "a 740 MBq Tc-99m syringe, decaying"
