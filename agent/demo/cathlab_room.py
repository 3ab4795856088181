"""A simulated cath lab: the DIAMENTOR on a pty and the Modbus generator on a loopback port,
playing one beam timeline (simulators/cathlab_script.py), and a station config pointed at them.

Used by `doseedge demo --station cathlab` and tests/test_cathlab_end_to_end.py.
"""

from __future__ import annotations

__all__ = ["CathlabSimulators"]

from dataclasses import replace

from agent.config import AgentConfig
from simulators.cathlab_script import BeamStep, cathlab_timeline, scripts
from simulators.modbus_generator import ModbusGeneratorSimulator
from simulators.ptw_diamentor import DiamentorSimulator


class CathlabSimulators:
    def __init__(
        self, config: AgentConfig, steps: tuple[BeamStep, ...] | None = None, loop: bool = False
    ) -> None:
        fluoro = config.fluoroscopy
        if fluoro is None or not fluoro.dap_meter or not fluoro.generator or fluoro.tube_output is None:
            raise ValueError("a cath-lab config needs [fluoroscopy] dap_meter, generator and tube_output")
        self.config = config
        self.dap_name, self.generator_name = fluoro.dap_meter, fluoro.generator
        self.scripts = scripts(steps or cathlab_timeline(), fluoro.geometry(), fluoro.tube_output, loop)
        self.meter = DiamentorSimulator(self.scripts.meter)
        self.generator = ModbusGeneratorSimulator(self.scripts.generator)

    @property
    def duration_s(self) -> float:
        return self.scripts.duration_s

    def start(self) -> AgentConfig:
        """Start both simulators; return the config with the two devices pointed at them."""
        pty = self.meter.start()
        self.generator.start()
        self.restart_scripts()
        devices = []
        for device in self.config.devices:
            if device.name == self.dap_name:
                device = replace(device, port=pty)  # type: ignore[type-var]
            elif device.name == self.generator_name:
                device = replace(  # type: ignore[type-var]
                    device, transport="tcp", host="127.0.0.1", tcp_port=self.generator.port
                )
            devices.append(device)
        return replace(self.config, devices=tuple(devices))

    def restart_scripts(self) -> None:
        """Both instruments start the timeline now (same beam at the same moment)."""
        self.meter.restart_procedure()
        self.generator.restart_script()

    def stop(self) -> None:
        self.meter.stop()
        self.generator.stop()
