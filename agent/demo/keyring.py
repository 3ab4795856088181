"""The demos' operator keyring: one operator, `demo-operator`, with a secret made for this run and
printed next to the page's address, so a person trying the demo can log in and acknowledge.

Demo only: a station's real keyring (agent/commands/) keeps hashed secrets per operator and role.
"""

from __future__ import annotations

__all__ = ["DemoKeyring", "DemoSender"]

import hmac
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSender:
    id: str
    role: str


class DemoKeyring:
    operator_id = "demo-operator"

    def __init__(self) -> None:
        self.secret = secrets.token_hex(4)

    def check_secret(self, sender_id: str, secret: str) -> DemoSender | None:
        if sender_id == self.operator_id and hmac.compare_digest(secret.encode(), self.secret.encode()):
            return DemoSender(sender_id, "operator")
        return None

    def login_text(self) -> str:
        return f"Operator login for this demo: {self.operator_id} / {self.secret}"
