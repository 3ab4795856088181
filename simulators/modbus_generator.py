"""X-ray generator interface box on Modbus: pymodbus' own server playing a scripted procedure.

The server is pymodbus' `ModbusTcpServer` (or `ModbusSerialServer` on `socket://` with RTU
framing) fed a `SimDevice` per unit id, bound to 127.0.0.1 on a free port. Its registers follow
a register-map profile (default: the example generator map) and are filled on every read by the
SimDevice `action` hook with the script's state at that moment, encoded with the driver's own
codec (drivers/modbus_map.encode_value): driver and simulator cannot disagree on a layout.

Fault knobs, settable at any time from another thread (`faults`): `delay_s` (each request
answers late), `exception` (every read answers this Modbus exception code), `silent` (requests are
received but never answered), `poke` (point name → raw registers or bit served instead of the
script's value: out-of-enum modes, NaN floats…). `stop()` takes the device off the network (the
listener and every connection close) and `restart()` brings it back on the same port.
"""

from __future__ import annotations

__all__ = ["ModbusFaults", "ModbusGeneratorSimulator"]

import asyncio
import functools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.modbus_map import BIT_TABLES, MapPoint, RegisterMap, encode_value, merge_words, raw_for
from drivers.modbus_profile import load_profile
from simulators.generator_script import GeneratorScript, fluoroscopy_script
from simulators.procedure import Procedure

_TABLE_OF_FUNCTION = {1: "coil", 2: "discrete_input", 3: "holding_register", 4: "input_register"}
_TUPLE_ORDER = ("coil", "discrete_input", "holding_register", "input_register")  # SimDevice's order


@dataclass
class ModbusFaults:
    delay_s: float = 0.0
    exception: int | None = None  # e.g. 0x04 server device failure, 0x06 busy
    silent: bool = False
    poke: dict[str, list[int]] = field(default_factory=dict)


class ModbusGeneratorSimulator:
    def __init__(
        self,
        script: GeneratorScript | Procedure | None = None,
        *,
        transport: str = "tcp",
        device_id: int = 1,
        more_devices: Mapping[int, GeneratorScript] | None = None,
        profile: str = "example_xray_generator",
        port: int = 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(script, Procedure):
            script = GeneratorScript.from_procedure(script)
        self.scripts: dict[int, GeneratorScript] = {device_id: script or fluoroscopy_script(loop=True)}
        self.scripts.update(more_devices or {})
        self.transport = transport
        self.device_id = device_id
        self.regmap: RegisterMap = load_profile(profile)
        self.port = port
        self.faults = ModbusFaults()
        self.requests = 0
        self.connections = 0  # client connections accepted since construction
        self._monotonic = monotonic
        self._t0 = monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None

    # ------------------------------------------------------------ where to connect

    @property
    def url(self) -> str:
        """`127.0.0.1:P` for Modbus TCP; `socket://127.0.0.1:P` for RTU framing over TCP."""
        return f"127.0.0.1:{self.port}" if self.transport == "tcp" else f"socket://127.0.0.1:{self.port}"

    @property
    def connect_hint(self) -> str:
        ids = ", ".join(str(i) for i in sorted(self.scripts))
        if self.transport == "tcp":
            how = f'transport = "tcp", host = "127.0.0.1", tcp_port = {self.port}'
        else:
            how = f'transport = "rtu", port = "{self.url}"'
        return (
            f"modbus_generator: Modbus {self.transport.upper()} on {self.url}, device id(s) {ids}, "
            f'profile {self.regmap.name!r}\n  in a [[devices]] entry: driver = "modbus", {how}'
        )

    # ------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Serve on 127.0.0.1 (a free port the first time, the same port on a restart)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="modbus-generator-sim", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        asyncio.run_coroutine_threadsafe(self._serve(), loop).result(timeout=5)
        return self.url

    def stop(self) -> None:
        loop, thread, server = self._loop, self._thread, self._server
        if loop is None or thread is None:
            return
        if server is not None:
            asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
        self._loop = self._thread = self._server = None

    def restart(self) -> str:
        self.stop()
        return self.start()

    def restart_script(self) -> None:
        self._t0 = self._monotonic()

    async def _serve(self) -> None:
        devices = [self._device(unit) for unit in sorted(self.scripts)]
        server: ModbusTcpServer | ModbusSerialServer
        if self.transport == "tcp":
            server = ModbusTcpServer(
                devices,
                address=("127.0.0.1", self.port),
                trace_packet=self._trace,
                trace_connect=self._count_connection,
            )
        else:
            server = ModbusSerialServer(
                devices,
                port=f"socket://127.0.0.1:{self.port}",
                framer=FramerType.RTU,
                trace_packet=self._trace,
                trace_connect=self._count_connection,
            )
        await server.serve_forever(background=True)
        listener = cast(asyncio.Server, server.transport)  # both listen with loop.create_server
        self.port = listener.sockets[0].getsockname()[1]
        self._server = server

    # ------------------------------------------------------------ device model

    def _device(self, unit: int) -> SimDevice:
        tables: dict[str, list[SimData]] = {t: [] for t in _TUPLE_ORDER}
        placed: set[tuple[str, int]] = set()
        for p in self.regmap.points:
            if (p.table, p.address) in placed:  # bit points sharing one status word
                continue
            placed.add((p.table, p.address))
            if p.table in BIT_TABLES:
                tables[p.table].append(SimData(p.address, values=[False], datatype=DataType.BITS))
            else:
                tables[p.table].append(SimData(p.address, values=[0] * p.count, datatype=DataType.REGISTERS))
        for table, blocks in tables.items():  # pymodbus needs every table non-empty: park a
            if not blocks:  # placeholder at the top of the address space
                bits = table in BIT_TABLES
                blocks.append(
                    SimData(65520, values=[False] * 16, datatype=DataType.BITS)
                    if bits
                    else SimData(65535, values=[0], datatype=DataType.REGISTERS)
                )
        simdata = (
            tables["coil"],
            tables["discrete_input"],
            tables["holding_register"],
            tables["input_register"],
        )
        return SimDevice(id=unit, simdata=simdata, action=functools.partial(self._action, unit))

    def raw_registers(self, unit: int, point: MapPoint) -> list[int]:
        """What the device holds for `point` now: a poked value, or the script's state encoded."""
        if point.name in self.faults.poke:
            return list(self.faults.poke[point.name])
        state = self.scripts[unit].state_at(self._monotonic() - self._t0)
        if point.label:
            wanted = state.labels().get(point.label, "")
            raw = next((r for r, label in point.enum.items() if label == wanted), 0)
            return encode_value(point, raw)
        value = state.values().get(point.quantity, 0.0)
        return encode_value(point, raw_for(point, value))

    async def _action(
        self,
        unit: int,
        function_code: int,
        start_address: int,
        _address: int,
        _count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.requests += 1
        if self.faults.delay_s > 0:
            await asyncio.sleep(self.faults.delay_s)
        if self.faults.exception is not None:
            return ExcCodes(self.faults.exception)
        table = _TABLE_OF_FUNCTION.get(function_code)
        if set_values is not None or table is None:
            return None
        for point in self.regmap.points:
            if point.table != table:
                continue
            words = self.raw_registers(unit, point)
            if table in BIT_TABLES:  # registers hold 16 bits each, start_address counts registers
                index, bit = point.address // 16 - start_address, point.address % 16
                registers[index] = (registers[index] & ~(1 << bit)) | ((words[0] & 1) << bit)
            else:
                offset = point.address - start_address
                current = registers[offset : offset + point.count]
                registers[offset : offset + point.count] = merge_words(point, current, words)
        return None

    def _count_connection(self, connected: bool) -> None:
        self.connections += connected

    def _trace(self, sending: bool, data: bytes) -> bytes:
        """pymodbus' packet hook: an empty answer is never sent, which is how `silent` works."""
        return b"" if sending and self.faults.silent else data
