from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from agent.store.docstore import DocStore


def test_put_get_items_delete_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "docs.json"
    docs = DocStore(path)
    docs.put("station_context", "current", {"room": "angio-2"})
    docs.put("acknowledgements", "a1", {"by": "rt-04"})
    docs.put("station_context", "current", {"room": "angio-3"})
    docs.close()
    again = DocStore(path)
    assert again.get("station_context", "current") == {"room": "angio-3"}
    assert again.items("acknowledgements") == {"a1": {"by": "rt-04"}}
    assert again.get("station_context", "missing") is None
    assert again.delete("acknowledgements", "a1") and again.items("acknowledgements") == {}
    assert json.loads(path.read_text())["station_context"], "a person can read the file"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".docs.json.")], "no temp file left"


def test_unreadable_file_is_moved_aside_and_a_fresh_store_starts(tmp_path: Path) -> None:
    path = tmp_path / "docs.json"
    path.write_text('{"station_context": {"1": {"key": "x"')  # torn write of a non-atomic storage
    docs = DocStore(path)
    assert docs.recovered_from and Path(docs.recovered_from).exists()
    assert docs.items("station_context") == {}
    docs.put("station_context", "current", {"ok": True})
    assert DocStore(path).get("station_context", "current") == {"ok": True}


WRITER = textwrap.dedent(
    """
    import sys
    from agent.store.docstore import DocStore
    docs = DocStore(sys.argv[1])
    n = 0
    while True:
        n += 1
        docs.put("acknowledgements", str(n % 50), {"n": n, "pad": "p" * (n % 400)})
        if n % 7 == 0:
            docs.delete("acknowledgements", str((n * 3) % 50))
    """
)


def test_kills_during_writes_never_leave_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "docs.json"
    for i in range(12):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
        time.sleep(0.15 + 0.03 * i)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
        json.loads(path.read_text())  # parses after every kill
        assert DocStore(path).recovered_from == ""
