"""`doseedge demo` prints the operator view's address and a login for the demo, and the page is there."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from pathlib import Path

from simulators.mosquitto import free_port
from tests.fakes import DOSEEDGE, ENV


def test_the_demo_prints_the_address_of_a_live_page(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*DOSEEDGE, "demo", "--duration", "20", "--mqtt", f"127.0.0.1:{free_port()}", "--web", "127.0.0.1:0"],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen, url = [], None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            found = re.search(r"Operator view: (http://localhost:\d+/)", line)
            url = found.group(1) if found else None
        assert url is not None, "".join(seen)
        assert any("Operator login for this demo: demo-operator / " in line for line in seen)
        with urllib.request.urlopen(url, timeout=10) as page:
            assert "operator view" in page.read().decode()
        with urllib.request.urlopen(url + "api/snapshot", timeout=10) as response:
            snapshot = json.loads(response.read())
        assert snapshot["ok"] is True and snapshot["fluoro"]["rate"]["level_mgy_min"] == 25
    finally:
        process.terminate()
        process.wait(timeout=30)
