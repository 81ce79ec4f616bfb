"""Join a hospital's clinical spreadsheet to an imported cohort: ``clinical.csv`` and ``schema.yaml``.

The spreadsheet is keyed by the hospital's own patient IDs; the cohort's cases by keyed pseudonyms
(:mod:`survival_core.cohort.importer`). Rows are joined through ``id_map.csv`` (a keyed hash of each
original ID), so the original IDs are read in memory and never written: ``clinical.csv`` holds the
case ids, the time (days), the event and the cohort's own clinical variables, and ``schema.yaml``
the drafted schema the user may edit. Patients on only one side are reported, never dropped
silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from survival_core.cohort.clinical_schema import CohortSchema
from survival_core.cohort.clinical_table import Coercion, read_clinical_spreadsheet
from survival_core.cohort.importer import case_ids_for
from survival_core.errors import InputError
from survival_core.runs.atomic import write_text

CLINICAL_FILE = "clinical.csv"
SCHEMA_FILE = "schema.yaml"
JOIN_REPORT = "clinical_report.csv"


@dataclass
class ClinicalJoin:
    """What the join did: rows written, IDs without a case, cases without a row, the coercions."""

    n_joined: int
    unmatched_rows: int
    cases_without_row: list[str]
    report: list[Coercion] = field(default_factory=list)
    schema: CohortSchema | None = None

    def summary(self) -> dict[str, int]:
        return {
            "clinical_rows": self.n_joined,
            "clinical_rows_without_case": self.unmatched_rows,
            "cases_without_clinical_row": len(self.cases_without_row),
        }


def join_clinical(
    cohort: Path | str,
    spreadsheet: Path | str,
    *,
    id_column: str | None = None,
    time_column: str | None = None,
    event_column: str | None = None,
    time_unit: str | None = None,
) -> ClinicalJoin:
    """Read ``spreadsheet``, join it to the imported ``cohort`` by original patient ID and write
    ``clinical.csv``, ``schema.yaml`` (unless the user already edited one) and
    ``clinical_report.csv`` (each coercion, each unmatched side)."""
    cohort = Path(cohort)
    imported = read_clinical_spreadsheet(
        spreadsheet,
        id_column=id_column,
        time_column=time_column,
        event_column=event_column,
        time_unit=time_unit,
    )
    original_ids = [str(i) for i in imported.table.index]
    mapping = case_ids_for(cohort, original_ids)
    joined = imported.table.copy()
    joined.index = pd.Index([mapping[i] for i in original_ids], name="case_id")
    unmatched = int(joined.index.isna().sum())
    joined = joined[joined.index.notna()]
    if joined.empty:
        raise InputError(
            f"No row of {Path(spreadsheet).name} matches an imported patient: its "
            f"{imported.id_column!r} column holds none of the PatientIDs of {cohort}."
        )
    manifest_ids = pd.read_csv(cohort / "manifest.csv", dtype=str)["case_id"].tolist()
    without_row = [c for c in manifest_ids if c not in set(joined.index)]
    columns = ["time", "event", *imported.variables.columns]
    write_text(cohort / CLINICAL_FILE, joined[columns].to_csv())
    if not (cohort / SCHEMA_FILE).exists():
        imported.schema.save(cohort / SCHEMA_FILE)
    rows = [(c.column, c.action, c.count) for c in imported.report]
    rows.append(("(rows)", "IDs without an imported patient", unmatched))
    rows += [("(cases)", f"no clinical row for {c}", 1) for c in without_row]
    report = pd.DataFrame(rows, columns=["column", "action", "count"])
    write_text(cohort / JOIN_REPORT, report.to_csv(index=False))
    return ClinicalJoin(len(joined), unmatched, without_row, imported.report, imported.schema)
