"""The hot-lab store: reference sources (with their acceptance readings) and QC results.

A DocStore (agent/store/docstore.py) a physicist can read; see docs/hotlab.md.
"""

from __future__ import annotations

__all__ = ["RESULTS", "SOURCES", "HotlabStore", "source_payload"]

from datetime import datetime
from pathlib import Path
from typing import Any

from agent.clock import iso_utc
from agent.payloads import quantity
from agent.store.docstore import AtomicJSONStorage, DocStore
from limits import activimeter_qc as qc

SOURCES, RESULTS = "reference_sources", "qc_results"  # DocStore collections


class HotlabStore:
    """The box's memory of reference sources (keyed by serial) and QC results (keyed
    `<local date>/<test>/<n>`), in a DocStore a physicist can read. A corrupt file is a StoreError,
    never moved aside: the sources' certificates and the QC history are not to be started afresh."""

    def __init__(self, path: str | Path) -> None:
        _wrap_bare_rows(Path(path))
        self.docs = DocStore(path, refuse_corrupt=True)

    def put_source(self, source: qc.ReferenceSource) -> None:
        self.docs.put(SOURCES, source.serial, source.as_document())

    def source(self, serial: str) -> qc.ReferenceSource:
        found = self.docs.get(SOURCES, serial)
        if found is None:
            known = ", ".join(self.docs.items(SOURCES)) or "none registered"
            raise KeyError(f"no reference source with serial {serial!r} ({known})")
        return qc.ReferenceSource(
            str(found["serial"]),
            str(found["nuclide"]),
            float(found["certified_activity_mbq"]),
            datetime.fromisoformat(str(found["certified_at"])),
            tuple(
                qc.AcceptanceReading(
                    str(a["setting"]), float(a["reading_mbq"]), datetime.fromisoformat(str(a["measured_at"]))
                )
                for a in found.get("acceptance", ())  # sources stored before acceptance readings have none
            ),
        )

    def sources(self) -> list[dict[str, Any]]:
        return list(self.docs.items(SOURCES).values())

    def add_qc(self, document: dict[str, Any]) -> None:
        prefix = f"{document['local_date']}/{document['test']}/"
        n = sum(key.startswith(prefix) for key in self.docs.items(RESULTS)) + 1
        self.docs.put(RESULTS, f"{prefix}{n}", document)

    def qc_on(self, local_date: str, test: str) -> list[dict[str, Any]]:
        """That day's results of `test`, oldest first."""
        results = self.docs.items(RESULTS).values()
        return [d for d in results if d.get("local_date") == local_date and d.get("test") == test]

    def close(self) -> None:
        self.docs.close()


def _wrap_bare_rows(path: Path) -> None:
    """Files written before the hot lab used DocStore held bare rows; wrap them as {key, doc} once.

    Unreleased format (CHANGELOG), but `doseedge demo --station hotlab` keeps its file in var/.
    """
    try:
        data = AtomicJSONStorage(path).read()
    except (OSError, ValueError):
        return  # DocStore reports what is wrong with the file
    if not data or all("doc" in row for table in data.values() for row in table.values()):
        return
    keys: dict[str, int] = {}
    for table_name, table in data.items():
        for row_id, row in table.items():
            if "doc" in row:
                continue
            if table_name == SOURCES:
                key = str(row["serial"])
            else:
                prefix = f"{row.get('local_date')}/{row.get('test')}/"
                keys[prefix] = keys.get(prefix, 0) + 1
                key = f"{prefix}{keys[prefix]}"
            table[row_id] = {"key": key, "doc": row}
    AtomicJSONStorage(path).write(data)


def source_payload(source: qc.ReferenceSource) -> dict[str, Any]:
    """The reference source as published: quantities and UTC timestamps (the stored document keeps
    its own form, which the hot-lab store reads back)."""
    return {
        "serial": source.serial,
        "nuclide": source.nuclide,
        "certified_activity": quantity(source.certified_activity_mbq, "MBq"),
        "certified_at": iso_utc(source.certified_at),
        "acceptance": [
            {
                "setting": a.setting,
                "reading": quantity(a.reading_mbq, "MBq"),
                "measured_at": iso_utc(a.measured_at),
            }
            for a in source.acceptance
        ],
    }
