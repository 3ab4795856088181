"""Command line: `doseedge run | check-config | demo | simulate | store status`."""

from __future__ import annotations

__all__ = ["main"]

import argparse
import asyncio
import signal
import sys
from datetime import date
from pathlib import Path

from agent.app import Agent, configure_logging
from agent.config import AgentConfig, load_config
from agent.fluoro.explain import explain_fluoroscopy
from core.errors import ConfigError, StartRefused


def _mqtt(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _explain(config: AgentConfig) -> str:
    lines = [f"{config.source}: OK", f"  station {config.station.site}/{config.station.station_id}"]
    lines.append(f"  mqtt {config.mqtt.host}:{config.mqtt.port} prefix {config.mqtt.topic_prefix!r}")
    lines.append(f"  store {config.store.path}")
    for device in config.devices:
        lines.append(f"  device {device.name}: {device.driver}")
    lines += explain_fluoroscopy(config)
    if config.hotlab is not None:
        from agent.hotlab.explain import explain_hotlab

        driver = next(d.driver for d in config.devices if d.name == config.hotlab.activimeter)
        lines += explain_hotlab(config.hotlab, driver, date.today())
    return "\n".join(lines)


def _simulate(name: str) -> int:
    from simulators import SIMULATORS
    from simulators.standalone import demo_simulator

    if name not in SIMULATORS:
        print(f"unknown simulator {name!r}; known: {', '.join(sorted(SIMULATORS))}", file=sys.stderr)
        return 2
    simulator, plays = demo_simulator(name)
    path = simulator.start()
    hint = getattr(simulator, "connect_hint", None)  # network simulators say how to reach them
    if hint:
        print(f"{hint}\n  {plays}. Ctrl-C stops it.")
    else:
        baud = getattr(simulator, "baudrate", 9600)
        print(f"{name} simulator on {path} ({baud} 8N1), {plays}. Ctrl-C stops it.")
        print(f"  e.g. python -m serial.tools.miniterm {path} {baud}")
    sys.stdout.flush()
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    simulator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="doseedge", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the agent on a station config")
    run.add_argument("-c", "--config", required=True, type=Path)
    run.add_argument("--mqtt", type=_mqtt, help="override the broker address, HOST:PORT")
    run.add_argument("--duration", type=float, help="stop after S seconds")
    run.add_argument("--quiet", action="store_true", help="no live status line")
    check = sub.add_parser("check-config", help="validate a config and explain every problem")
    check.add_argument("-c", "--config", required=True, type=Path)
    demo = sub.add_parser("demo", help="simulated C-arm procedure crossing 25 mGy/min (or a hot lab)")
    demo.add_argument("-c", "--config", type=Path, default=None)
    demo.add_argument(
        "--station", choices=("carm", "hotlab", "cathlab"), default="carm", help="which demo room"
    )
    demo.add_argument("--duration", type=float, help="stop after S seconds")
    demo.add_argument("--mqtt", type=_mqtt, help="broker address, HOST:PORT")
    simulate = sub.add_parser("simulate", help="start one hardware simulator standalone")
    simulate.add_argument("name")
    store = sub.add_parser("store", help="inspect the local store (read-only, safe while the agent runs)")
    store_sub = store.add_subparsers(dest="store_command", required=True)
    status_cmd = store_sub.add_parser("status", help="depth, oldest unsent, evictions, size, integrity")
    status_cmd.add_argument("-c", "--config", required=True, type=Path)
    args = parser.parse_args(argv)

    if args.command == "simulate":
        # Block the signals so sigwait receives them (the pty thread keeps serving meanwhile).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        return _simulate(args.name)
    configure_logging(args.verbose)
    try:
        if args.command == "check-config":
            print(_explain(load_config(args.config)))
            return 0
        if args.command == "store":
            from agent.health import format_status, store_status

            config = load_config(args.config)
            status = store_status(config.store.path, config.store.max_bytes)
            print(format_status(status))
            return 0 if status.get("integrity") == "ok" else 1
        if args.command == "demo" and args.station == "hotlab":
            from agent.demo.hotlab import HOTLAB_CONFIG, run_hotlab_demo

            return run_hotlab_demo(args.config or HOTLAB_CONFIG, args.duration, args.mqtt)
        if args.command == "demo" and args.station == "cathlab":
            from agent.demo.cathlab import CATHLAB_CONFIG, run_cathlab_demo

            return run_cathlab_demo(args.config or CATHLAB_CONFIG, args.duration, args.mqtt)
        if args.command == "demo":
            from agent.demo.diamentor import DEMO_CONFIG, run_demo

            return run_demo(args.config or DEMO_CONFIG, args.duration, args.mqtt)
        config = load_config(args.config)
        if args.mqtt:
            config = config.with_mqtt(*args.mqtt)
        agent = Agent(config, console_out=None if args.quiet else sys.stdout)
        asyncio.run(agent.run(duration_s=args.duration))
        if agent.lost_on_stop:
            print(
                f"doseedge: {agent.lost_on_stop} messages lost at stop (store refused writes)",
                file=sys.stderr,
            )
            return 5
        return 0
    except ConfigError as exc:
        print(f"configuration error in {exc}", file=sys.stderr)
        return 2
    except StartRefused as exc:
        print(f"doseedge: refusing to start: {exc}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
