"""Issue 10, findings 1 and 5, in injected time: the keyring, the signature check, the role table, the
local channels, rate limits, bounded echoes and malformed commands that must all be answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.app import Agent
from agent.commands.auth import AuthConfig, Keyring, Role, Sender
from agent.commands.roles import REQUIRED_ROLE
from agent.commands.router import CommandRouter
from agent.config import AgentConfig, parse_config
from agent.store.outbox import Outbox, OutMessage, Priority
from core.signing import SenderKey, new_key, signed_payload
from tests.agent.hotlab_fixtures import Bench
from tests.agent.room import carm_toml
from tests.fakes import FakeClock, station_senders

TOPIC = "doseedge/s/carm/cmd/ping"


def _router(tmp_path: Path, **auth: Any) -> tuple[CommandRouter, dict[str, SenderKey], FakeClock]:
    config, keys = station_senders(tmp_path)
    clock = FakeClock()
    keyring = Keyring.load(AuthConfig(senders_file=config.senders_file, **auth))
    return CommandRouter(clock, keyring), keys, clock


def _signed(key: SenderKey, clock: FakeClock, name: str, args: dict[str, Any], age_s: float = 0.0) -> bytes:
    ts_ms = int((clock.wall().timestamp() - age_s) * 1000)
    return signed_payload(key.sender, key.key, f"doseedge/s/carm/cmd/{name}", args, ts_ms)


def _send(router: CommandRouter, name: str, payload: bytes, retained: bool = False) -> dict[str, Any] | None:
    return router.dispatch_signed(name, payload, f"doseedge/s/carm/cmd/{name}", retained)


def test_senders_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    config, _ = station_senders(tmp_path)
    Path(config.senders_file).chmod(0o640)
    with pytest.raises(ValueError, match="group or others"):
        Keyring.load(config)


def test_check_secret_for_a_local_login(tmp_path: Path) -> None:
    config, keys = station_senders(tmp_path)
    keyring = Keyring.load(config)
    physicist = keys["physicist"]
    assert keyring.check_secret("test-physicist", physicist.key.hex()) == Sender(
        "test-physicist", Role.PHYSICIST
    )
    assert keyring.check_secret("test-physicist", keys["operator"].key.hex()) is None
    assert keyring.check_secret("nobody", physicist.key.hex()) is None
    assert keyring.sender("test-operator") == Sender("test-operator", Role.OPERATOR)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unsigned", "unsigned"),
        ("wrong_key", "bad_signature"),
        ("altered_body", "bad_signature"),
        ("unknown_sender", "unknown_sender"),
        ("expired", "expired"),
        ("future", "future"),
        ("retained", "retained"),
        ("not_json", "malformed"),
    ],
)
def test_each_forged_command_is_refused_with_its_reason(tmp_path: Path, case: str, reason: str) -> None:
    router, keys, clock = _router(tmp_path, max_age_s=30, max_future_s=5)
    operator = keys["operator"]
    good = _signed(operator, clock, "ping", {"command_id": "c1"})
    payload = {
        "unsigned": b'{"command_id": "c1"}',
        "wrong_key": _signed(SenderKey("test-operator", new_key()), clock, "ping", {"command_id": "c1"}),
        "altered_body": good.replace(b"c1", b"c2"),
        "unknown_sender": _signed(SenderKey("mallory", new_key()), clock, "ping", {"command_id": "c1"}),
        "expired": _signed(operator, clock, "ping", {"command_id": "c1"}, age_s=31),
        "future": _signed(operator, clock, "ping", {"command_id": "c1"}, age_s=-6),
        "retained": good,
        "not_json": b"{not json",
    }[case]
    result = _send(router, "ping", payload, retained=case == "retained")
    assert result is not None and result["ok"] is False and result["refused"] == reason
    assert router.counters[f"refused_{reason}"] == 1


def test_a_replayed_nonce_is_refused_until_it_has_expired_anyway(tmp_path: Path) -> None:
    router, keys, clock = _router(tmp_path, max_age_s=30)
    payload = _signed(keys["operator"], clock, "ping", {"command_id": "c1"})
    first, again = _send(router, "ping", payload), _send(router, "ping", payload)
    assert first is not None and first["ok"] is True and first["by"] == "test-operator"
    assert again is not None and again["refused"] == "replayed"
    clock.advance(60)
    late = _send(router, "ping", payload)
    assert late is not None and late["refused"] == "expired"


def test_every_registered_command_has_a_role_and_operators_cannot_change_a_measurement(
    tmp_path: Path,
) -> None:
    config: AgentConfig = parse_config(carm_toml())
    agent = Agent(config)
    bench = Bench(tmp_path)
    bench.monitor.register_commands(agent.commands)
    assert sorted(REQUIRED_ROLE) == agent.commands.names
    assert {name for name, role in REQUIRED_ROLE.items() if role is Role.PHYSICIST} == {
        "device_command",
        "hotlab_qc",
        "hotlab_source",
    }
    operator = Sender("op", Role.OPERATOR)
    for name in ("device_command", "hotlab_qc", "hotlab_source"):
        result = agent.commands.dispatch_local(name, {}, operator, "web")
        assert result["refused"] == "role", result
    agent.outbox.close()


def test_a_local_channel_replaces_free_text_by_and_the_role_check_applies(tmp_path: Path) -> None:
    router, _, _ = _router(tmp_path)
    seen: list[dict[str, Any]] = []
    router.register("alarm_ack", lambda args: seen.append(args) or {})
    result = router.dispatch_local(
        "alarm_ack", {"by": "Dr. Chief Physicist", "channel": "x"}, Sender("op-1", Role.OPERATOR), "button"
    )
    assert result["ok"] and (result["by"], result["channel"]) == ("op-1", "button")
    assert (seen[0]["by"], seen[0]["channel"]) == ("op-1", "button")


def test_a_flood_is_limited_per_sender_and_refusals_do_not_fill_the_store(tmp_path: Path) -> None:
    router, keys, clock = _router(tmp_path, rate_per_min=60, rate_burst=20)
    answers = [_send(router, "ping", _signed(keys["operator"], clock, "ping", {})) for _ in range(3000)]
    assert sum(1 for a in answers if a and a["ok"]) == 20
    assert [a["refused"] for a in answers if a and not a["ok"]] == ["rate_limited"]  # said once
    assert answers.count(None) == 3000 - 21 and router.counters["rate_limited"] == 2980
    unsigned = [_send(router, "ping", b"{}") for _ in range(3000)]  # the unauthenticated share one bucket
    assert sum(1 for a in unsigned if a is not None) == 21
    physicist = _send(router, "ping", _signed(keys["physicist"], clock, "ping", {}))
    assert physicist is not None and physicist["ok"]  # another sender is not held up
    clock.advance(2.0)
    again = _send(router, "ping", _signed(keys["operator"], clock, "ping", {}))
    assert again is not None and again["ok"]  # the bucket refills with time


@pytest.mark.parametrize(
    "args",
    [
        {"command_id": "x" * 60_000},
        {"command_id": "ok", "note": "x" * 5000},
        {"command_id": "ok", "deep": json.loads("[" * 20 + "]" * 20)},
        {"command_id": "ok", "k" * 200: 1},
    ],
)
def test_oversized_fields_are_refused_and_never_echoed(tmp_path: Path, args: dict[str, Any]) -> None:
    router, keys, clock = _router(tmp_path)
    result = _send(router, "ping", _signed(keys["operator"], clock, "ping", args))
    assert result is not None and result["ok"] is False and result["refused"] == "malformed"
    assert len(json.dumps(result)) < 600
    assert result["command_id"] in (None, "ok")


@pytest.mark.parametrize("signed", [False, True])
def test_deeply_nested_json_is_answered_not_a_recursion_error(tmp_path: Path, signed: bool) -> None:
    router, keys, _clock = _router(tmp_path)
    deep = "[" * 30_000 + "]" * 30_000  # under 64 KB
    if signed:
        key = keys["operator"]
        body = '{"a": ' + deep + "}"
        payload = json.dumps(
            {"v": 1, "sender": key.sender, "ts_ms": 1, "nonce": "00" * 16, "body": body, "sig": "00"}
        ).encode()
    else:
        payload = deep.encode()
    result = _send(router, "ping", payload)
    assert (
        result is not None and result["ok"] is False and result["refused"] in ("malformed", "bad_signature")
    )


def test_blank_patient_id_in_a_discharge_check_is_answered(tmp_path: Path) -> None:
    router, _, _ = _router(tmp_path / "keys")
    bench = Bench(tmp_path)
    bench.monitor.register_commands(router)
    result = router.dispatch_local(
        "hotlab_discharge",
        {"retained_activity_mbq": 900, "patient_id": "   "},
        Sender("nurse", Role.OPERATOR),
        "web",
    )
    assert result["ok"] is False and "patient_id" in result["error"]


def test_a_handler_bug_is_answered_and_logged(tmp_path: Path) -> None:
    router, _, _ = _router(tmp_path)
    router.register("procedure_open", lambda args: {}["missing"])
    result = router.dispatch_local("procedure_open", {}, Sender("op", Role.OPERATOR), "web")
    assert result["ok"] is False and "internal error (KeyError)" in result["error"]


def test_command_results_are_evicted_before_dose_records(tmp_path: Path) -> None:
    from agent.config import StoreConfig

    config = StoreConfig(path=str(tmp_path / "o.sqlite"), max_bytes=128 * 1024)
    outbox = Outbox(config.path, config)
    for n in range(600):  # a command flood interleaved with the dose records of a day
        if n % 6 == 0:
            outbox.append([OutMessage("record/irradiation", {"n": n, "pad": "x" * 200}, Priority.RECORD)])
        outbox.append([OutMessage("cmd_result/ping", {"n": n, "pad": "x" * 200}, Priority.RESULT)])
    stats = outbox.stats()
    assert stats["evicted"]["result"] > 0 and stats["evicted"]["record"] == 0
    assert stats["depth"]["record"] == 100
    outbox.close()


def test_a_ping_flood_through_the_agent_stores_a_bounded_number_of_answers(tmp_path: Path) -> None:
    auth, keys = station_senders(tmp_path)
    text = (
        carm_toml() + f'[store]\npath = "{tmp_path}/o.sqlite"\n[auth]\nsenders_file = "{auth.senders_file}"\n'
    )
    clock = FakeClock()
    agent = Agent(parse_config(text), clock=clock)
    key = keys["operator"]
    for _ in range(3000):  # the finding: 3 000 pings in 0.25 s, every one stored and published
        payload = signed_payload(
            key.sender, key.key, f"{agent.root}/cmd/ping", {}, int(clock.wall().timestamp() * 1000)
        )
        agent.run_command("ping", payload)
    stored = [m for m in agent.outbox.pending(10_000) if m.topic.startswith("cmd_result/")]
    assert len(stored) == 21 and all(m.priority == Priority.RESULT for m in stored)  # burst + one refusal
    agent.outbox.close()


def test_a_command_signed_before_the_agent_started_is_refused(tmp_path: Path) -> None:
    """The replay cache is empty after a restart: anything signed before the start is not taken."""
    auth, keys = station_senders(tmp_path)
    text = (
        carm_toml() + f'[store]\npath = "{tmp_path}/o.sqlite"\n[auth]\nsenders_file = "{auth.senders_file}"\n'
    )
    clock = FakeClock()
    key = keys["operator"]
    topic = "doseedge/s/carm/cmd/ping"
    captured = signed_payload(key.sender, key.key, topic, {}, int(clock.wall().timestamp() * 1000) - 1000)
    agent = Agent(parse_config(text), clock=clock)
    result = agent.run_command("ping", captured)
    assert (
        result is not None
        and result["refused"] == "expired"
        and "before this agent started" in result["error"]
    )
    fresh = signed_payload(key.sender, key.key, topic, {}, int(clock.wall().timestamp() * 1000))
    again = agent.run_command("ping", fresh)
    assert again is not None and again["ok"]
    agent.outbox.close()
