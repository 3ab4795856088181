"""Added latency of the agent: frame arriving on the pty → message arriving at a subscriber.

Runs the DIAMENTOR simulator on a real pty, the agent, a private Mosquitto on loopback and a
subscriber, all on this machine. The procedure alternates 10 and 60 mGy/min so the 25 mGy/min
alarm is raised and cleared many times. The evaluator is set to judge each sample at once
(window 0.01 s, raise after 0.01 s: the second sample over the level raises it) and the alarm's
latency is taken from the frame that made it raise, so the figure is the plumbing's, not the policy's:
the policy's detection delay (window_s + raise_after_s + 2 polls) adds to it by design.

    .venv/bin/python bench/latency.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.app import Agent  # noqa: E402
from agent.config import parse_config  # noqa: E402
from drivers.ptw_diamentor_codec import decode_line, parse_measurement  # noqa: E402
from limits.dosimetry import esak_rate_mgy_min  # noqa: E402
from simulators.mosquitto import MosquittoBroker  # noqa: E402
from simulators.procedure import Procedure  # noqa: E402
from simulators.ptw_diamentor import DiamentorSimulator  # noqa: E402
from tests.fakes import Subscriber  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll-interval", type=float, default=0.05)
    args = parser.parse_args()

    text = (ROOT / "config" / "demo.toml").read_text()
    tmp = tempfile.mkdtemp(prefix="doseedge-bench-")
    text = text.replace('path = "var/demo/outbox.sqlite"', f'path = "{tmp}/outbox.sqlite"')
    text = text.replace("poll_interval_s = 0.25", f"poll_interval_s = {args.poll_interval}")
    for key, value in (("window_s", 0.01), ("raise_after_s", 0.01), ("clear_after_s", 0.0)):
        text = text.replace(f"{key} = ", f"{key} = {value}\n# was: ", 1)
    with MosquittoBroker() as broker:
        config = parse_config(text).with_mqtt(broker.host, broker.port)
        assert config.fluoroscopy is not None
        procedure = Procedure.from_esak([(0.6, 10.0), (0.6, 60.0)], config.fluoroscopy.geometry(), loop=True)
        simulator = DiamentorSimulator(procedure)
        config = config.with_device_port("dap1", simulator.start())
        subscriber = Subscriber(broker.host, broker.port, "doseedge/#", client_id="bench")
        agent = Agent(config)
        thread = threading.Thread(
            target=lambda: asyncio.run(agent.run(duration_s=args.seconds, install_signals=False))
        )
        thread.start()
        thread.join()
        subscriber.close()
        simulator.stop()

    geometry = config.fluoroscopy.geometry()
    frames: dict[float, float] = {}  # raw DAP value → time its M reply was written to the pty
    over_times: list[float] = []  # times of the frames showing a rate over the level
    for t, data in simulator.pty.write_log:
        _, line = decode_line(data)
        if not line or not line.startswith("M"):
            continue
        sample = parse_measurement(line)
        frames.setdefault(sample.dap, t)
        if esak_rate_mgy_min(sample.dap_rate * 0.6, geometry) > 25.0:  # µGy·m²/s → Gy·cm²/min
            over_times.append(t)

    reading_latency, alarm_latency = [], []
    for t_rx, topic, body, _ in subscriber.messages:
        if topic.endswith("/reading/dap1") and body["beam_on"]:
            kap = next(m for m in body["measurements"] if m["quantity"] == "kap")
            sent = frames.get(kap["raw_value"])
            if sent is not None:
                reading_latency.append(t_rx - sent)
        elif topic.endswith("/alarm") and body["state"] == "raised":
            # the frame that made the evaluator raise: the last one over the level before the alarm
            before = [t for t in over_times if t <= t_rx]
            if before:
                alarm_latency.append(t_rx - before[-1])

    print(f"bench/latency.py: {args.seconds:.0f} s, poll interval {args.poll_interval} s, loopback broker")
    for name, values in (("reading", reading_latency), ("alarm", alarm_latency)):
        if values:
            ms = [v * 1000 for v in values]
            median = statistics.median(ms)
            print(
                f"  {name:8s} frame on pty → subscriber: n={len(ms):5d}  median {median:6.2f} ms"
                f"  p99 {percentile(ms, 99):6.2f} ms  max {max(ms):6.2f} ms"
            )
    print(
        f"  agent summary: {agent.last_summary['readings']} readings, "
        f"{agent.last_summary['alarms_raised']} alarms raised"
    )


if __name__ == "__main__":
    main()
