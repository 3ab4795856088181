"""The DICOM side is built only for a station with [dicom]; others never load pydicom."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.app import Agent
from agent.config import parse_config
from agent.notices import Evaluation
from core.errors import ConfigError
from tests.agent.dicom.station_fixtures import dicom_toml, live_procedure_records
from tests.agent.room import carm_toml

CHECK = """
import sys
from agent.app import Agent
from agent.config import parse_config
import agent.cli
config = parse_config(open(sys.argv[1]).read())
Agent(config)
print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydicom', 'pynetdicom')))
"""


def test_a_station_without_dicom_does_not_import_pydicom(tmp_path: Path) -> None:
    config = tmp_path / "carm.toml"
    config.write_text(carm_toml() + f'\n[store]\npath = "{tmp_path / "o.sqlite"}"\n')
    out = subprocess.run(
        [sys.executable, "-c", CHECK, str(config)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_dicom_station_writes_a_report_for_a_procedure_through_the_pipeline(tmp_path: Path) -> None:
    text = dicom_toml(tmp_path / "dicom") + f'\n[store]\npath = "{tmp_path / "o.sqlite"}"\n'
    agent = Agent(parse_config(text))
    records = live_procedure_records()
    agent.pipeline.publish_evaluation(Evaluation(records=records))
    assert len(list((tmp_path / "dicom" / "reports").glob("*.dcm"))) == 1
    agent.dicom.flush()  # on the loop this runs by call_soon; the record is stored like any other
    topics = [m.topic for m in agent.outbox.pending(100)]
    assert topics.count("record/dicom_report") == 1 and topics.count("record/procedure") == 1
    agent.outbox.close()


def test_dicom_config_is_checked() -> None:
    bad = carm_toml() + '\n[dicom]\nscp_enabled = true\npeer_host = "pacs"\nmedian_window = 0\nunknown = 1\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(bad)
    text = str(caught.value)
    for key in ("scp_enabled", "peer_ae_title", "median_window", "unknown"):
        assert key in text


def test_check_config_says_where_reports_go(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agent.cli import main

    config = tmp_path / "carm.toml"
    config.write_text(dicom_toml(tmp_path / "d", 'peer_host = "127.0.0.1"\npeer_ae_title = "REGISTRY"'))
    assert main(["check-config", "-c", str(config)]) == 0
    assert (
        f"dicom outbox {tmp_path / 'd'}, C-STORE peer REGISTRY@127.0.0.1:104, SCP off"
        in capsys.readouterr().out
    )
