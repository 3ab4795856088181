"""Who may command this station: the senders it knows, their roles, and the check of a signed command.

A hospital broker is shared, so the broker's ACLs are not the only layer: every command carries an
HMAC-SHA256 signature (core/signing.py) by a key listed in the station's senders file, and the agent
refuses — whatever the command carries —

- a retained message (it would run again at every reconnect);
- an unsigned one, an unknown sender, a bad signature;
- one older than `max_age_s` or dated more than `max_future_s` ahead (queued while the box was off);
- a nonce it has already seen (a replay) within that window.

The senders file (`[auth].senders_file`, TOML) is refused when group or world can read it:

    [[senders]]
    id = "alice"          # goes into every record the command makes, as `by`
    role = "physicist"    # operator | physicist (agent/commands/roles.py says who may run what)
    key = "<64 hex>"      # `doseedge keygen` writes both this entry and the sender's key file
"""

from __future__ import annotations

__all__ = ["SENDER_ID", "AuthConfig", "Keyring", "Refusal", "Role", "Sender", "parse_json"]

import hmac
import json
import re
import tomllib
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from core.errors import CommandError
from core.signing import KEY_BYTES, signature, too_open

SENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$")
_NONCE = re.compile(r"^[0-9a-f]{16,64}$")


class Role(StrEnum):
    OPERATOR = "operator"  # at the table or the hot-lab bench: acknowledge, procedures, context
    PHYSICIST = "physicist"  # everything an operator may, plus what changes a measurement


@dataclass(frozen=True)
class Sender:
    id: str
    role: Role


@dataclass(frozen=True)
class AuthConfig:
    """`[auth]`: without a senders file no command is accepted from MQTT (local channels still work)."""

    senders_file: str = ""
    max_age_s: float = 60.0  # a command older than this is refused (queued, delayed, replayed late)
    max_future_s: float = 5.0  # tolerated clock skew ahead of the box
    replay_cache: int = 10000  # nonces remembered for max_age_s + max_future_s
    rate_per_min: float = 60.0  # commands per sender per minute, sustained …
    rate_burst: int = 20  # … with this burst; beyond, one refusal is answered, the rest only counted

    def validate(self) -> list[tuple[str, str]]:
        problems = []
        if not 1 <= self.max_age_s <= 3600:
            problems.append(("max_age_s", "must be 1–3600"))
        if not 0 <= self.max_future_s <= 300:
            problems.append(("max_future_s", "must be 0–300"))
        if not 100 <= self.replay_cache <= 1_000_000:
            problems.append(("replay_cache", "must be 100–1000000"))
        if not 1 <= self.rate_per_min <= 6000:
            problems.append(("rate_per_min", "must be 1–6000"))
        if not 1 <= self.rate_burst <= 1000:
            problems.append(("rate_burst", "must be 1–1000"))
        return problems


class Refusal(CommandError):
    """A command refused before it ran; `code` is the snake_case reason recorded and counted."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_json(data: bytes | str, what: str) -> Any:
    """JSON from outside: deep nesting (RecursionError) and bad text are refusals, never a crash."""
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise Refusal("malformed", f"{what} is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refusal("malformed", f"{what} is not JSON: {str(exc)[:100]}") from exc


def _load_senders(path: str) -> dict[str, tuple[Sender, bytes]]:
    problem = too_open(path)
    if problem:
        raise ValueError(f"senders file {path} {problem}")
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"senders file {path}: {exc}") from exc
    found: dict[str, tuple[Sender, bytes]] = {}
    for i, entry in enumerate(raw.get("senders", [])):
        where = f"senders file {path}, senders[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"id", "role", "key"}:
            raise ValueError(f"{where}: expected exactly id, role and key")
        sender_id, role, key = entry["id"], entry["role"], entry["key"]
        if not isinstance(sender_id, str) or not SENDER_ID.match(sender_id) or sender_id in found:
            raise ValueError(f"{where}: id must be unique, 1–64 letters, digits, '_.@-'")
        if role not in tuple(Role):
            raise ValueError(f"{where}: role must be one of {', '.join(Role)}")
        try:
            secret = bytes.fromhex(key)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: key must be hex") from exc
        if len(secret) < KEY_BYTES:
            raise ValueError(f"{where}: key must be at least {KEY_BYTES} bytes")
        found[sender_id] = (Sender(sender_id, Role(role)), secret)
    if set(raw) - {"senders"}:
        raise ValueError(f"senders file {path}: only [[senders]] tables are allowed")
    return found


class Keyring:
    def __init__(self, config: AuthConfig, senders: dict[str, tuple[Sender, bytes]] | None = None) -> None:
        self.config = config
        self._senders = senders if senders is not None else {}
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()  # (sender, nonce) -> forget at
        # The nonce cache starts empty at every start: a command signed before then could be a replay
        # the cache no longer knows. The agent sets its start time here; the sender just signs again.
        self.not_before_s: float | None = None

    @classmethod
    def load(cls, config: AuthConfig) -> Keyring:
        """ValueError (with the reason) for a missing, too open or malformed senders file."""
        return cls(config, _load_senders(config.senders_file) if config.senders_file else {})

    def __len__(self) -> int:
        return len(self._senders)

    def sender(self, sender_id: str) -> Sender | None:
        entry = self._senders.get(sender_id)
        return entry[0] if entry else None

    def check_secret(self, sender_id: str, secret: str) -> Sender | None:
        """A local login (the web page): the sender's key, as hex, compared in constant time."""
        entry = self._senders.get(sender_id)
        expected = entry[1].hex() if entry else "0" * 64
        matches = hmac.compare_digest(expected.encode(), secret.strip().lower().encode())
        return entry[0] if entry and matches else None

    def verify(
        self, topic: str, payload: bytes, retained: bool, now_s: float
    ) -> tuple[Sender, dict[str, Any]]:
        """The sender and the command's arguments, or a Refusal saying why."""
        if retained:
            raise Refusal("retained", "retained command refused (it would run again at every reconnect)")
        envelope = parse_json(payload, "payload")
        if not isinstance(envelope, dict) or "sig" not in envelope:
            raise Refusal(
                "unsigned", "unsigned command refused: sign it (doseedge command, docs/security.md)"
            )
        sender_id, ts_ms, nonce, body = (envelope.get(k) for k in ("sender", "ts_ms", "nonce", "body"))
        sig = envelope["sig"]
        shape_ok = (
            envelope.get("v") == 1
            and isinstance(sender_id, str)
            and isinstance(ts_ms, int)
            and not isinstance(ts_ms, bool)
            and isinstance(nonce, str)
            and _NONCE.match(nonce)
            and isinstance(body, str)
            and isinstance(sig, str)
        )
        if not shape_ok:
            raise Refusal("malformed", "signed envelope needs v=1, sender, ts_ms, nonce (hex), body, sig")
        assert isinstance(sender_id, str) and isinstance(ts_ms, int) and isinstance(nonce, str)
        assert isinstance(body, str)
        entry = self._senders.get(sender_id)
        if entry is None:
            raise Refusal(
                "unknown_sender", f"sender {sender_id[:64]!r} is not in this station's senders file"
            )
        sender, key = entry
        if not hmac.compare_digest(signature(key, topic, ts_ms, nonce, body).encode(), sig.encode()):
            raise Refusal("bad_signature", "signature does not match (wrong key, topic or altered body)")
        age_s = now_s - ts_ms / 1000
        if age_s > self.config.max_age_s:
            raise Refusal("expired", f"command is {age_s:.0f} s old (max_age_s {self.config.max_age_s:g})")
        if self.not_before_s is not None and ts_ms < int(self.not_before_s * 1000):
            raise Refusal(
                "expired", "signed before this agent started (a replay cannot be ruled out): sign again"
            )
        if -age_s > self.config.max_future_s:
            raise Refusal("future", f"command is dated {-age_s:.0f} s in the future (clock skew?)")
        self._remember(sender_id, nonce, now_s)
        args = parse_json(body, "body")
        if not isinstance(args, dict):
            raise Refusal("malformed", "body must be a JSON object")
        return sender, args

    def _remember(self, sender_id: str, nonce: str, now_s: float) -> None:
        while self._seen and next(iter(self._seen.values())) < now_s:
            self._seen.popitem(last=False)
        if (sender_id, nonce) in self._seen:
            raise Refusal("replayed", "nonce already used: replayed command refused")
        if len(self._seen) >= self.config.replay_cache:
            raise Refusal("replay_cache_full", "too many recent commands to check for replay: retry later")
        self._seen[(sender_id, nonce)] = now_s + self.config.max_age_s + self.config.max_future_s
