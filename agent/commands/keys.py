"""`doseedge keygen`: a new sender — its entry in the station's senders file and its own key file.

Both files are written 0600 from the first byte (core/signing.py `write_private`). The key file goes
to the sender (the RIS, the physicist's laptop, `doseedge command --key`); the senders file stays on
the box. Rotating a key is adding a new sender id and removing the old entry.
"""

from __future__ import annotations

__all__ = ["add_sender", "ensure_sender"]

import tomllib
from pathlib import Path

from agent.commands.auth import SENDER_ID, Role
from core.signing import SenderKey, new_key, read_key_file, write_private


def _existing(senders_file: Path) -> str:
    return senders_file.read_text(encoding="utf-8") if senders_file.exists() else ""


def add_sender(senders_file: str | Path, sender_id: str, role: Role, key_file: str | Path) -> SenderKey:
    """ValueError if the sender id is already listed (never overwrite a key someone holds)."""
    if not SENDER_ID.match(sender_id):
        raise ValueError("sender id must be 1–64 letters, digits, '_.@-'")
    senders_file, key_file = Path(senders_file), Path(key_file)
    text = _existing(senders_file)
    listed = tomllib.loads(text).get("senders", []) if text else []
    if any(entry.get("id") == sender_id for entry in listed):
        raise ValueError(f"sender {sender_id!r} is already in {senders_file}")
    key = new_key()
    entry = f'[[senders]]\nid = "{sender_id}"\nrole = "{role.value}"\nkey = "{key.hex()}"\n'
    write_private(senders_file, (text.rstrip("\n") + "\n\n" if text.strip() else "") + entry)
    write_private(key_file, f'sender = "{sender_id}"\nkey = "{key.hex()}"\n')
    return SenderKey(sender_id, key)


def ensure_sender(senders_file: str | Path, sender_id: str, role: Role, key_file: str | Path) -> SenderKey:
    """The demos' own sender: made on first run, read afterwards."""
    if Path(key_file).exists() and Path(senders_file).exists():
        return read_key_file(key_file)
    if Path(senders_file).exists():
        Path(senders_file).unlink()  # a demo's half-made pair: start afresh
    return add_sender(senders_file, sender_id, role, key_file)
