"""The signed-command wire format, shared by the agent (which verifies) and every sender (which signs):
`doseedge command`, the demo's front desk, an integrator's RIS.

A signed command is a JSON object on `<root>/cmd/<name>`:

    {"v": 1, "sender": "<id>", "ts_ms": <unix ms>, "nonce": "<32 hex>", "body": "<the command, JSON text>",
     "sig": "<hex HMAC-SHA256>"}

The signature is HMAC-SHA256 (standard library `hmac`) with the sender's key over
`doseedge-cmd-v1 \\n topic \\n ts_ms \\n nonce \\n body`: the topic binds it to one station and one
command, the time stamp bounds its age, the nonce makes a replay detectable. The body travels as text
so signer and verifier hash the same bytes (no JSON canonicalisation).

Key files are TOML, `sender = "<id>"` and `key = "<64 hex>"`, mode 0600: a file others can read is
refused (`too_open`), the same rule as for the station's senders file and MQTT credentials.
"""

from __future__ import annotations

__all__ = [
    "KEY_BYTES",
    "SenderKey",
    "new_key",
    "read_key_file",
    "signature",
    "signed_payload",
    "signing_input",
    "too_open",
    "write_private",
]

import hashlib
import hmac
import json
import os
import secrets
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROTOCOL = b"doseedge-cmd-v1"
KEY_BYTES = 32


def signing_input(topic: str, ts_ms: int, nonce: str, body: str) -> bytes:
    return b"\n".join((PROTOCOL, topic.encode(), str(ts_ms).encode(), nonce.encode(), body.encode()))


def signature(key: bytes, topic: str, ts_ms: int, nonce: str, body: str) -> str:
    return hmac.new(key, signing_input(topic, ts_ms, nonce, body), hashlib.sha256).hexdigest()


def signed_payload(
    sender: str, key: bytes, topic: str, args: dict[str, Any], ts_ms: int, nonce: str | None = None
) -> bytes:
    """The bytes to publish on `topic` for a command with arguments `args`."""
    nonce = nonce or secrets.token_hex(16)
    body = json.dumps(args, separators=(",", ":"))
    sig = signature(key, topic, ts_ms, nonce, body)
    envelope = {"v": 1, "sender": sender, "ts_ms": ts_ms, "nonce": nonce, "body": body, "sig": sig}
    return json.dumps(envelope, separators=(",", ":")).encode()


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def too_open(path: str | Path) -> str | None:
    """Why a secret file must be refused (missing, unreadable, group/world-accessible), or None."""
    try:
        mode = Path(path).stat().st_mode
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"is accessible by group or others (mode {stat.S_IMODE(mode):04o}): chmod 600 {path}"
    if not os.access(path, os.R_OK):
        return "is not readable by this user"
    return None


def write_private(path: str | Path, text: str) -> None:
    """Create or replace a file with mode 0600 from the first byte (never briefly world-readable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@dataclass(frozen=True)
class SenderKey:
    sender: str
    key: bytes


def read_key_file(path: str | Path) -> SenderKey:
    """A sender's key file; ValueError with the reason when it is too open or malformed."""
    problem = too_open(path)
    if problem:
        raise ValueError(f"key file {path} {problem}")
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        sender, key = raw["sender"], bytes.fromhex(raw["key"])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f'key file {path}: expected sender = "<id>" and key = "<hex>" ({exc})') from exc
    if not isinstance(sender, str) or not sender or len(key) < KEY_BYTES:
        raise ValueError(f"key file {path}: sender must be set and key at least {KEY_BYTES} bytes")
    return SenderKey(sender, key)
