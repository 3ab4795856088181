"""Patient identifiers are replaced by a keyed hash before anything leaves the box.

HMAC-SHA256 with a 32-byte key kept in a file on the box (created with mode 0600 if missing), so
the same patient gets the same pseudonym on this box and nobody without the key can test a guessed
identifier against a published pseudonym. The raw identifier is never stored or published.
"""

from __future__ import annotations

__all__ = ["Pseudonymiser"]

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_BYTES = 32


class Pseudonymiser:
    def __init__(self, key_path: str | Path) -> None:
        self.key_path = Path(key_path)
        self._key = self._load_or_create()

    def _load_or_create(self) -> bytes:
        if not self.key_path.exists():
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # created by another process meanwhile: read it below
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(secrets.token_bytes(KEY_BYTES))
                    handle.flush()
                    os.fsync(handle.fileno())
        key = self.key_path.read_bytes()
        if len(key) < KEY_BYTES:
            raise ValueError(f"pseudonym key {self.key_path} is shorter than {KEY_BYTES} bytes")
        return key

    def pseudonym(self, identifier: str) -> str:
        normalised = identifier.strip()
        if not normalised:
            raise ValueError("empty patient identifier")
        digest = hmac.new(self._key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"pid-{digest[:32]}"
