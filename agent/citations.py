"""Citations by id: an alarm names the rule it applies by a short id; the full text travels once.

A guidance level's citation is a paragraph ("dz-2015 Annexe, Tableau 4, row « Normal » (Arrêté
ministériel du 10 novembre 2015 …)"); repeated in every alarm it costs more bytes than the alarm and
buries what a console shows. So every `citation` (and `<name>_citation`) in an alarm or record body
becomes `citation_id` (`<name>_citation_id`): a hash of the text, the same on every station and after
every restart. The texts travel in the retained `…/levels` message (`doseedge.levels.v1`, re-published
when a new one is first used, so a console that connects late has them all) and, in full, in each
record's own `citations`, so a record archived for ten years stands alone.
"""

from __future__ import annotations

__all__ = ["CitationBook", "citation_id"]

import hashlib
from typing import Any

PREFIX = "cit-"


def citation_id(text: str) -> str:
    """Ten hex digits of the text's BLAKE2b: stable, short, and one per distinct text."""
    return PREFIX + hashlib.blake2b(text.encode("utf-8"), digest_size=5).hexdigest()


class CitationBook:
    """Every citation this station has published, by id; `changed` when one was added."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.changed = False

    def cite(self, details: dict[str, Any], used: dict[str, str] | None = None) -> dict[str, Any]:
        """`details` with every citation text replaced by its id (a new dict; `details` is kept)."""
        out: dict[str, Any] = {}
        for key, value in details.items():
            if (key == "citation" or key.endswith("_citation")) and isinstance(value, str):
                out[f"{key}_id"] = self._register(value, used)
            else:
                out[key] = self._walk(value, used)
        return out

    def record(self, details: dict[str, Any]) -> dict[str, Any]:
        """A record's body: ids in place, and the texts of those ids once, in `citations`."""
        used: dict[str, str] = {}
        body = self.cite(details, used)
        return {**body, "citations": dict(sorted(used.items()))} if used else body

    def levels(self) -> dict[str, Any]:
        """The body of the retained `…/levels` message (without its envelope)."""
        self.changed = False
        return {"citations": dict(sorted(self.texts.items()))}

    def _walk(self, value: Any, used: dict[str, str] | None) -> Any:
        if isinstance(value, dict):
            return self.cite(value, used)
        if isinstance(value, list):
            return [self._walk(v, used) for v in value]
        return value

    def _register(self, text: str, used: dict[str, str] | None) -> str:
        cid = citation_id(text)
        if cid not in self.texts:
            self.texts[cid] = text
            self.changed = True
        if used is not None:
            used[cid] = text
        return cid
