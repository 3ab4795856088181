"""docs/config.md is generated from the schema and cannot go stale; a room config written from it alone
passes check-config and runs against the shipped simulators."""

from __future__ import annotations

import re
from pathlib import Path

from agent.config import parse_config
from agent.config_reference import SECTIONS, render_reference, section_keys
from drivers.registry import DRIVERS
from limits.dosimetry import Geometry
from simulators.modbus_generator import ModbusGeneratorSimulator
from simulators.mosquitto import MosquittoBroker
from simulators.procedure import demo_procedure
from simulators.ptw_diamentor import DiamentorSimulator
from tests.fakes import Subscriber, run_doseedge

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "config.md"


def test_docs_config_md_is_what_the_schema_generates() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render_reference(), (
        "docs/config.md is out of date: run `doseedge config-reference -o docs/config.md`"
    )


def test_every_section_and_every_driver_is_in_the_reference() -> None:
    text = render_reference()
    for table, cls, _ in SECTIONS:
        assert f"## `{table}`" in text
        for key in section_keys(cls):
            assert f"| `{key.key}` |" in text
    for name in DRIVERS:
        assert f'### `driver = "{name}"`' in text


def test_every_table_the_loader_knows_is_in_the_reference() -> None:
    from agent.config import _TOP

    assert {table.strip("[]") for table, _, _ in SECTIONS} == _TOP - {"devices"}


def _documented_keys() -> dict[str, set[str]]:
    """Section heading → the keys docs/config.md lists under it (read from the Markdown, not the code)."""
    keys: dict[str, set[str]] = {}
    heading = ""
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#{2,3} `(.+)`$", line)
        if match:
            heading = match.group(1)
            continue
        row = re.match(r"^\| `([^`]+)` \|", line)
        if row and heading:
            keys.setdefault(heading, set()).add(row.group(1))
    return keys


ROOM = """
[station]
site = "ref-site"
station_id = "ref-room"

[mqtt]
host = "127.0.0.1"
port = {broker_port}

[store]
path = "{store}"

[fluoroscopy]
dap_meter = "dap"
generator = "gen"
field_area_at_reference_cm2 = 40.0
source_to_reference_cm = 60.0
source_to_entrance_cm = 62.0
backscatter_factor = 1.4
table_transmission = 0.8

[[devices]]
name = "dap"
driver = "ptw_diamentor"
port = "{pty}"
poll_interval_s = 0.25

[[devices]]
name = "gen"
driver = "modbus"
profile = "example_xray_generator"
transport = "tcp"
host = "127.0.0.1"
tcp_port = {modbus_port}
poll_interval_s = 0.25
"""


def _keys_used(text: str) -> dict[str, set[str]]:
    import tomllib

    raw = tomllib.loads(text)
    used: dict[str, set[str]] = {}
    for table, value in raw.items():
        if table == "devices":
            for device in value:
                used.setdefault(f'driver = "{device["driver"]}"', set()).update(device)
        else:
            used.setdefault(f"[{table}]", set()).update(value)
    return used


def test_a_room_written_from_the_reference_alone_passes_check_config_and_runs(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    dap = DiamentorSimulator(demo_procedure(Geometry(60.0, 60.0, 62.0, 1.4), loop=True))
    generator = ModbusGeneratorSimulator()
    pty = dap.start()
    generator.start()
    try:
        text = ROOM.format(
            broker_port=broker.port,
            store=tmp_path / "outbox.sqlite",
            pty=pty,
            modbus_port=generator.port,
        )
        documented = _documented_keys()
        for section, keys in _keys_used(text).items():
            assert keys <= documented[section], (
                f"{section}: {keys - documented[section]} not in docs/config.md"
            )
        parse_config(text)  # the same checks as check-config, in process
        config = tmp_path / "room.toml"
        config.write_text(text, encoding="utf-8")
        checked = run_doseedge("check-config", "-c", str(config), timeout_s=30)
        assert checked.returncode == 0, checked.stderr
        subscriber = Subscriber(broker.host, broker.port, "doseedge/ref-site/ref-room/#", client_id="ref")
        try:
            ran = run_doseedge("run", "-c", str(config), "--duration", "4", "--quiet", timeout_s=60)
            assert ran.returncode == 0, ran.stderr
            assert subscriber.wait_for(lambda s: s.bodies("reading/dap") and s.bodies("reading/gen"), 5)
        finally:
            subscriber.close()
    finally:
        dap.stop()
        generator.stop()
