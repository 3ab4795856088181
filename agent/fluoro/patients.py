"""A patient's dose across pauses, procedures and restarts, kept on the box.

A pause longer than `procedure_idle_s` closes a procedure; a patient back after a week opens
another. The guidance asks that earlier and planned procedures be taken into account and the 15 Gy
sentinel is over 6–12 months, so the cumulative triggers judge the PATIENT's total: this procedure's
totals plus those of the patient's procedures closed in the last `patient_lookback_days`.

The patient is named by `cmd/procedure_open` ({"patient_id": …}) and pseudonymised at once with the
box's keyed hash (agent/pseudonym.py): only the pseudonym is stored or published. The room keeps the
patient for `patient_hold_s` after its last beam, so a procedure re-opened by beam-on after a long
pause still belongs to it ("carried_over" in its record) — until `cmd/procedure_close` or the next
`procedure_open` ends it.

The ledger is a small SQLite file next to the outbox (`patients.sqlite`, docs/store.md): one row per
closed procedure with a patient, written at close with `synchronous=FULL`, rows older than the
look-back deleted at each write. The open procedure's own totals survive a restart with the
procedure (agent/restart_state.py), so nothing is counted twice or lost.
"""

from __future__ import annotations

__all__ = ["EarlierDose", "PatientLedger", "RoomPatient", "patient_ledger"]

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# What adds up across procedures. Fluoroscopy time does not: the 21 CFR 1020.32 five-minute signal
# and the SIR time levels speak of one procedure.
PATIENT_QUANTITIES = ("kar", "kap", "psd")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS patient_procedure (
    procedure_id TEXT PRIMARY KEY,
    pseudonym TEXT NOT NULL,
    closed_at REAL NOT NULL,  -- POSIX seconds, wall clock
    kar_mgy REAL NOT NULL,
    kap_gy_cm2 REAL NOT NULL,
    psd_mgy REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS by_patient ON patient_procedure (pseudonym, closed_at);
"""


@dataclass(frozen=True)
class RoomPatient:
    """The patient on the table, and the monotonic time of their last beam."""

    pseudonym: str
    last_beam_t: float


@dataclass(frozen=True)
class EarlierDose:
    """The patient's procedures closed within the look-back (this one excluded)."""

    totals: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PATIENT_QUANTITIES, 0.0))
    procedure_ids: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        return {"totals": dict(self.totals), "procedure_ids": list(self.procedure_ids)}

    @staticmethod
    def from_data(d: dict[str, Any]) -> EarlierDose:
        totals = {q: float(d["totals"].get(q, 0.0)) for q in PATIENT_QUANTITIES}
        return EarlierDose(totals, tuple(str(i) for i in d["procedure_ids"]))


class PatientLedger:
    """Closed procedures per pseudonymised patient, for `lookback_days`. `path` ":memory:" keeps it
    for this run only (used when the store itself is in memory)."""

    def __init__(self, path: str | Path, lookback_days: float) -> None:
        self.path = str(path)
        self.lookback = timedelta(days=lookback_days)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def earlier(self, pseudonym: str, now: datetime, exclude: str = "") -> EarlierDose:
        since = (now - self.lookback).timestamp()
        rows = self._db.execute(
            "SELECT procedure_id, kar_mgy, kap_gy_cm2, psd_mgy FROM patient_procedure "
            "WHERE pseudonym = ? AND closed_at >= ? AND procedure_id != ? ORDER BY closed_at",
            (pseudonym, since, exclude),
        ).fetchall()
        totals = {
            "kar": sum(r[1] for r in rows),
            "kap": sum(r[2] for r in rows),
            "psd": sum(r[3] for r in rows),
        }
        return EarlierDose(totals, tuple(r[0] for r in rows))

    def add(self, pseudonym: str, procedure_id: str, closed: datetime, totals: dict[str, float]) -> str:
        """ "" once written, else the error (disk full…): the procedure's record says so."""
        try:
            self._write(pseudonym, procedure_id, closed, totals)
        except sqlite3.Error as exc:
            return f"patient ledger write failed: {exc}"
        return ""

    def _write(self, pseudonym: str, procedure_id: str, closed: datetime, totals: dict[str, float]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO patient_procedure VALUES (?, ?, ?, ?, ?, ?)",
                (
                    procedure_id,
                    pseudonym,
                    closed.timestamp(),
                    totals["kar"],
                    totals["kap"],
                    totals["psd"],
                ),
            )
            self._db.execute(
                "DELETE FROM patient_procedure WHERE closed_at < ?", ((closed - self.lookback).timestamp(),)
            )

    def close(self) -> None:
        self._db.close()


def patient_ledger(store_path: str | Path, lookback_days: float) -> PatientLedger:
    """The ledger next to the outbox (`patients.sqlite` in its directory); in memory when the store
    is. A ledger that cannot be opened is in memory too: the patient's dose is still summed in
    this run (the store's own `store_failing` alarm already says the disk is unusable)."""
    if str(store_path) == ":memory:":
        return PatientLedger(":memory:", lookback_days)
    try:
        return PatientLedger(Path(store_path).parent / "patients.sqlite", lookback_days)
    except (OSError, sqlite3.Error):
        return PatientLedger(":memory:", lookback_days)
