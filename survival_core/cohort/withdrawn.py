"""The cohort's list of withdrawn patients (``withdrawn.csv``): case ids, never an original ID.

A patient who withdraws consent is taken out of the cohort (:mod:`survival_core.cohort.withdrawal`)
and listed here, so that an import of a download or spreadsheet that still holds them leaves them
out: deleting the case folder alone, a later import brought the patient back without a word. A
case id is a keyed pseudonym of the PatientID (or a PatientID marked de-identified), the same at
every import, so it keys the patient without naming them. A patient the import named by the
folders above their own too (two centres' 'P001') keeps their folder name's keyed hash (as the ID
map keys IDs): a spreadsheet's row of that name may still be theirs, and is said to be either's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from survival_core.io.atomic import write_text

#: The list's file in the cohort folder, and its columns (``name_key``: a list of before has
#: none).
WITHDRAWN_FILE = "withdrawn.csv"
COLUMNS = ("case_id", "withdrawn", "name_key")


def withdrawn_cases(cohort: Path | str) -> dict[str, str]:
    """Case id -> the day it was withdrawn (ISO), of the cohort's list ({} without one)."""
    return {case_id: row["withdrawn"] for case_id, row in _listed(cohort).items()}


def withdrawn_name_keys(cohort: Path | str) -> dict[str, str]:
    """Case id -> the keyed hash of the folder name of each listed patient that has one (see
    the module)."""
    return {case_id: key for case_id, row in _listed(cohort).items() if (key := row["name_key"])}


def record_withdrawn(
    cohort: Path | str, case_ids: Iterable[str], name_keys: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Add ``case_ids`` to the list (today), each listed once, with their folder name's keyed
    hash where ``name_keys`` has one (:func:`~survival_core.cohort.importer.folder_name_key`);
    the list as written."""
    listed = _listed(cohort)
    today = date.today().isoformat()
    for case_id in case_ids:
        row = listed.setdefault(case_id, {"case_id": case_id, "withdrawn": today, "name_key": ""})
        row["name_key"] = row["name_key"] or (name_keys or {}).get(case_id, "")
    rows = [listed[c] for c in sorted(listed)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(Path(cohort) / WITHDRAWN_FILE, buffer.getvalue())
    return {row["case_id"]: row["withdrawn"] for row in rows}


def _listed(cohort: Path | str) -> dict[str, dict[str, str]]:
    """Case id -> its row of the cohort's list, every column of :data:`COLUMNS` ("" where a list
    of before lacks it); {} without a list."""
    path = Path(cohort) / WITHDRAWN_FILE
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {row["case_id"]: {c: row.get(c) or "" for c in COLUMNS} for row in rows}


def withdrawn_note(day: str) -> str:
    """Why an import leaves a withdrawn patient out."""
    return (
        f"withdrawn from the cohort on {day} (cohort withdraw): not imported again; remove the "
        "patient from the download and the spreadsheet"
    )
