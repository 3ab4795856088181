"""Issue 10, finding 6: a RIS holding the box's pseudonym key sends `patient_pseudonym`, so the raw
patient identifier never crosses the broker; the box checks its form and records it as if it had
pseudonymised the identifier itself."""

from __future__ import annotations

import json
from pathlib import Path

from agent.commands.auth import Role, Sender
from agent.pseudonym import Pseudonymiser
from tests.agent.hotlab_fixtures import Bench
from tests.fakes import LocalRouter

RIS = Sender("ris", Role.OPERATOR)


def test_a_pseudonym_computed_by_the_ris_is_taken_and_the_raw_id_never_sent(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    router = LocalRouter()
    bench.monitor.register_commands(router)
    ris_side = Pseudonymiser(tmp_path / "pseudonym.key")  # the same key file, shared with the RIS
    command = {
        "exam": "bone_imaging",
        "nuclide": "Tc-99m",
        "patient_pseudonym": ris_side.pseudonym("PAT-0042"),
    }
    assert "PAT-0042" not in json.dumps(command)  # what the broker sees
    result = router.dispatch_local("hotlab_context", command, RIS, "mqtt")
    assert result["ok"], result
    expected = bench.monitor.pseudonymiser.pseudonym("PAT-0042")
    assert result["context"]["patient_pseudonym"] == expected
    assert bench.monitor.context.patient_pseudonym == expected


def test_a_malformed_pseudonym_or_both_forms_are_refused(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    router = LocalRouter()
    bench.monitor.register_commands(router)
    good = bench.monitor.pseudonymiser.pseudonym("PAT-1")
    for args in (
        {"patient_pseudonym": "PAT-1"},  # a raw id in the pseudonym field
        {"patient_pseudonym": good.upper()},
        {"patient_pseudonym": good, "patient_id": "PAT-1"},
        {"patient_pseudonym": 42},
    ):
        result = router.dispatch_local("hotlab_context", args, RIS, "mqtt")
        assert result["ok"] is False and "patient_pseudonym" in result["error"], args
