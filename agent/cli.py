"""Command line: `doseedge run | check-config | config-reference | demo | simulate | store | dicom | command |
keygen`."""

from __future__ import annotations

__all__ = ["main"]

import argparse
import asyncio
import os
import signal
import sys
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from agent.app import Agent, configure_logging
from agent.config import AgentConfig, load_config
from agent.fluoro.explain import explain_fluoroscopy
from core.errors import ConfigError, StartRefused


def _checked(path: Path) -> AgentConfig:
    """The config, with its TLS, credential and senders files checked (missing, unreadable, too open)."""
    from agent.security import file_problems

    config = load_config(path)
    problems = file_problems(config)
    if problems:
        raise ConfigError(str(path), problems)
    return config


def _send(args: argparse.Namespace) -> int:
    import json

    from agent.link.command_client import parse_args_text, send_command
    from core.signing import read_key_file

    try:
        key = read_key_file(args.key)
        body = parse_args_text(args.args)
    except ValueError as exc:
        print(f"doseedge command: {exc}", file=sys.stderr)
        return 2
    config = load_config(args.config)
    try:
        result = send_command(config, args.name, body, key, args.credentials or "", args.timeout)
    except (TimeoutError, ConnectionError, OSError) as exc:
        print(f"doseedge command: {exc}", file=sys.stderr)
        return 3
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result.get("ok") else 1


def _keygen(args: argparse.Namespace) -> int:
    from agent.commands.auth import Role
    from agent.commands.keys import add_sender

    try:
        add_sender(args.senders, args.sender, Role(args.role), args.key)
    except ValueError as exc:
        print(f"doseedge keygen: {exc}", file=sys.stderr)
        return 2
    print(f"sender {args.sender} ({args.role}) added to {args.senders}; its key is in {args.key} (mode 0600)")
    print("Give the key file to the sender only; the senders file stays on the box ([auth].senders_file).")
    return 0


def _mqtt(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _web(text: str) -> tuple[str, int]:
    """HOST:PORT for the operator view; port 0 takes any free port (the address is printed)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _explain(config: AgentConfig) -> str:
    lines = [f"{config.source}: OK", f"  station {config.station.site}/{config.station.station_id}"]
    lines.append(f"  mqtt {config.mqtt.host}:{config.mqtt.port} prefix {config.mqtt.topic_prefix!r}")
    lines.append(f"  store {config.store.path}")
    for device in config.devices:
        lines.append(f"  device {device.name}: {device.driver}")
    lines += explain_fluoroscopy(config)
    if config.dicom is not None:
        d = config.dicom
        peer = f"{d.peer_ae_title}@{d.peer_host}:{d.peer_port}" if d.peer_host else "none (outbox only)"
        scp = f"{d.scp_ae_title}@{d.scp_host}:{d.scp_port}" if d.scp_enabled else "off"
        lines.append(f"  dicom outbox {d.outbox_folder}, C-STORE peer {peer}, SCP {scp}")
    if config.hotlab is not None:
        from agent.hotlab.explain import explain_hotlab

        driver = next(d.driver for d in config.devices if d.name == config.hotlab.activimeter)
        lines += explain_hotlab(config.hotlab, driver, date.today())
    return "\n".join(lines)


def _version() -> str:
    try:
        return version("doseedge")
    except PackageNotFoundError:  # run from a checkout without installing
        return "0+unknown"


def _simulate(name: str | None, link: Path | None, port: int | None) -> int:
    from simulators import SIMULATORS
    from simulators.standalone import demo_simulator

    if name is None:
        print("simulators (doseedge simulate NAME):")
        for known in sorted(SIMULATORS):
            print(f"  {known}")
        return 0
    if name not in SIMULATORS:
        print(f"unknown simulator {name!r}; known: {', '.join(sorted(SIMULATORS))}", file=sys.stderr)
        return 2
    simulator, plays = demo_simulator(name)
    network = hasattr(simulator, "connect_hint")
    if port is not None and not network:
        print(f"--port is for network simulators; {name} is on a pty (use --link)", file=sys.stderr)
        return 2
    if link is not None and network:
        print(f"--link is for pty simulators; {name} listens on a port (use --port)", file=sys.stderr)
        return 2
    if port is not None:
        simulator.port = port
    path = simulator.start()
    if link is not None:
        if link.is_symlink():
            link.unlink()  # a link left by an earlier run; anything else there is not ours to replace
        try:
            os.symlink(path, link)
        except OSError as exc:
            simulator.stop()
            print(f"cannot create the link {link}: {exc}", file=sys.stderr)
            return 2
        path = str(link)
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
    if link is not None and link.is_symlink():
        link.unlink()
    return 0


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 1–65535, got {text!r}")
    return int(text)


def _config_arg(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "-c", "--config", required=required, type=Path, default=None, help="station config file (TOML)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="doseedge", description=__doc__)
    parser.add_argument("--version", action="version", version=f"doseedge {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the agent on a station config")
    _config_arg(run)
    run.add_argument("--mqtt", type=_mqtt, help="override the broker address, HOST:PORT")
    run.add_argument("--duration", type=float, help="stop after S seconds")
    run.add_argument("--quiet", action="store_true", help="no live status line")
    run.add_argument("--web", type=_web, help="serve the operator view on HOST:PORT ([web] in the config)")
    check = sub.add_parser("check-config", help="validate a config and explain every problem")
    _config_arg(check)
    reference = sub.add_parser(
        "config-reference", help="print every config key with type, default, unit, meaning and range"
    )
    reference.add_argument("-o", "--output", type=Path, help="write to FILE instead of standard output")
    demo = sub.add_parser("demo", help="simulated C-arm procedure crossing 25 mGy/min (or a hot lab)")
    _config_arg(demo, required=False)
    demo.add_argument(
        "--station", choices=("carm", "hotlab", "cathlab", "bridge"), default="carm", help="which demo room"
    )
    demo.add_argument("--duration", type=float, help="stop after S seconds")
    demo.add_argument("--mqtt", type=_mqtt, help="broker address, HOST:PORT")
    demo.add_argument("--web", type=_web, help="operator view address, HOST:PORT (default localhost:8080)")
    simulate = sub.add_parser("simulate", help="start one hardware simulator standalone (no NAME: list them)")
    simulate.add_argument("name", nargs="?", help="simulator name; omit to list the names")
    simulate.add_argument("--link", type=Path, help="pty simulators: also reachable at this path (symlink)")
    simulate.add_argument("--port", type=_port, help="network simulators: listen on this loopback port")
    store = sub.add_parser("store", help="inspect the local store (read-only, safe while the agent runs)")
    store_sub = store.add_subparsers(dest="store_command", required=True)
    status_cmd = store_sub.add_parser("status", help="depth, oldest unsent, evictions, size, integrity")
    _config_arg(status_cmd)
    dicom = sub.add_parser("dicom", help="DICOM dose reports (docs/dicom.md)")
    dicom_read = dicom.add_subparsers(dest="dicom_command", required=True).add_parser(
        "read", help="what doseedge reads from RDSR files: totals per plane, events, problems"
    )
    dicom_read.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    dicom_read.add_argument("--json", action="store_true", help="one JSON object per file per line")
    command = sub.add_parser("command", help="sign a command, publish it, wait for the station's answer")
    command.add_argument(
        "-c", "--config", required=True, type=Path, help="the station's config (broker, root)"
    )
    command.add_argument("name", help="e.g. ping, alarm_ack, device_command")
    command.add_argument("args", nargs="*", help="KEY=VALUE (VALUE as JSON when it parses)")
    command.add_argument("--key", required=True, type=Path, help="the sender's key file (doseedge keygen)")
    command.add_argument("--credentials", help="broker user/password file of the sender (two lines)")
    command.add_argument("--timeout", type=float, default=10.0)
    keygen = sub.add_parser("keygen", help="a new sender: entry in the senders file + its own key file")
    keygen.add_argument("--sender", required=True, help="sender id, recorded as `by`")
    keygen.add_argument("--role", required=True, choices=("operator", "physicist"))
    keygen.add_argument("--senders", required=True, type=Path, help="the station's senders file")
    keygen.add_argument("--key", required=True, type=Path, help="where to write the sender's key file")
    args = parser.parse_args(argv)
    os.umask(0o077)  # whatever we create (store, keys, state) is the service user's alone

    if args.command == "simulate":
        # Block the signals so sigwait receives them (the pty thread keeps serving meanwhile).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        return _simulate(args.name, args.link, args.port)
    if args.command == "config-reference":
        from agent.config_reference import render_reference

        text = render_reference()
        if args.output is None:
            sys.stdout.write(text)
        else:
            args.output.write_text(text, encoding="utf-8")
        return 0
    if args.command == "dicom":
        from agent.dicom.cli import read_command

        return read_command(args.paths, args.json, sys.stdout)
    configure_logging(args.verbose)
    try:
        if args.command == "check-config":
            print(_explain(_checked(args.config)))
            return 0
        if args.command == "command":
            return _send(args)
        if args.command == "keygen":
            return _keygen(args)
        if args.command == "store":
            from agent.health import format_status, store_status

            config = load_config(args.config)
            status = store_status(config.store.path, config.store.max_bytes)
            print(format_status(status))
            return 0 if status.get("integrity") == "ok" else 1
        if args.command == "demo" and args.station == "hotlab":
            from agent.demo.hotlab import HOTLAB_CONFIG, run_hotlab_demo

            return run_hotlab_demo(args.config or HOTLAB_CONFIG, args.duration, args.mqtt, args.web)
        if args.command == "demo" and args.station == "cathlab":
            from agent.demo.cathlab import CATHLAB_CONFIG, run_cathlab_demo

            return run_cathlab_demo(args.config or CATHLAB_CONFIG, args.duration, args.mqtt, args.web)
        if args.command == "demo" and args.station == "bridge":
            from agent.demo.bridge import BRIDGE_CONFIG, run_bridge_demo

            return run_bridge_demo(args.config or BRIDGE_CONFIG, args.duration, args.mqtt)
        if args.command == "demo":
            from agent.demo.diamentor import DEMO_CONFIG, run_demo

            return run_demo(args.config or DEMO_CONFIG, args.duration, args.mqtt, args.web)
        config = _checked(args.config)
        if args.mqtt:
            config = config.with_mqtt(*args.mqtt)
        if args.web:
            config = config.with_web(*args.web)
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
