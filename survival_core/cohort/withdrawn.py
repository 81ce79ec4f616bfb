"""The cohort's list of withdrawn patients (``withdrawn.csv``): case ids only, never an original ID.

A patient who withdraws consent is taken out of the cohort (:mod:`survival_core.cohort.withdrawal`)
and listed here, so that an import of a download or spreadsheet that still holds them leaves them
out: deleting the case folder alone, a later import brought the patient back without a word. A
case id is a keyed pseudonym of the PatientID (or a PatientID marked de-identified), the same at
every import, so it keys the patient without naming them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from survival_core.io.atomic import write_text

#: The list's file in the cohort folder, and its columns.
WITHDRAWN_FILE = "withdrawn.csv"
COLUMNS = ("case_id", "withdrawn")


def withdrawn_cases(cohort: Path | str) -> dict[str, str]:
    """Case id -> the day it was withdrawn (ISO), of the cohort's list ({} without one)."""
    path = Path(cohort) / WITHDRAWN_FILE
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["case_id"]: row["withdrawn"] for row in csv.DictReader(handle)}


def record_withdrawn(cohort: Path | str, case_ids: Iterable[str]) -> dict[str, str]:
    """Add ``case_ids`` to the list (today), each listed once; the list as written."""
    listed = withdrawn_cases(cohort)
    today = date.today().isoformat()
    listed |= {c: today for c in case_ids if c not in listed}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([COLUMNS, *sorted(listed.items())])
    write_text(Path(cohort) / WITHDRAWN_FILE, buffer.getvalue())
    return listed


def withdrawn_note(day: str) -> str:
    """Why an import leaves a withdrawn patient out."""
    return (
        f"withdrawn from the cohort on {day} (cohort withdraw): not imported again; remove the "
        "patient from the download and the spreadsheet"
    )
