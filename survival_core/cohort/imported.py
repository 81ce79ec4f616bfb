"""The app's imported cohorts: where ``cohort import`` from the Cohort page writes them, and what
each import said (``import_report.csv``, ``clinical_report.csv``) in a form a person can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from survival_core.cohort.clinical_join import JOIN_REPORT
from survival_core.cohort.clinical_table import asks_to_act
from survival_core.cohort.clinical_values import NO_VALUES_DROPPED
from survival_core.errors import InputError
from survival_core.io.headers import parse_header
from survival_core.paths import data_subdir

#: A cohort's folder name: letters, digits, dot, dash and underscore, starting with a letter or
#: digit (no path separators, nothing hidden).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Report statuses, the ones needing action first.
STATUS_ORDER = ("failed", "absent", "withdrawn", "imported", "unchanged")


def cohort_folder(name: str) -> Path:
    """``<data>/cohorts/<name>``; InputError for a name that is not a plain folder name."""
    name = name.strip()
    if not _NAME.match(name):
        raise InputError(
            f"Cohort name {name!r}: use 1-64 letters, digits, '.', '-' or '_', starting with a "
            "letter or digit."
        )
    return data_subdir("cohorts") / name


def feature_tables(folder: Path | str) -> list[Path]:
    """The radiomics tables training runs extracted for the cohort in ``folder`` as its files
    are now (:func:`~survival_core.features.cohort.cohort_key`; none for a table-only cohort)."""
    from survival_core.features.cohort import cohort_key

    folder = Path(folder)
    if not (folder / "manifest.csv").is_file():
        return []
    return sorted(data_subdir("features").glob(f"{cohort_key(folder)}-*.parquet"))


def imported_cohorts() -> list[Path]:
    """The cohort folders under ``<data>/cohorts`` that hold a manifest or a clinical table."""
    root = data_subdir("cohorts")
    return sorted(
        folder
        for folder in root.iterdir()
        if folder.is_dir()
        and ((folder / "manifest.csv").is_file() or (folder / "clinical.csv").is_file())
    )


@dataclass(frozen=True)
class ImportStatus:
    """One cohort's import as its reports say: the patients (failed first) and the clinical
    join's coercions and unmatched rows (empty tables when there was no such step)."""

    patients: pd.DataFrame
    clinical: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Patients per status (failed, absent, withdrawn, imported, unchanged)."""
        found = self.patients["status"].value_counts()
        return {status: int(found.get(status, 0)) for status in STATUS_ORDER}

    def warnings(self) -> list[str]:
        """The clinical report's lines to act on (:func:`~survival_core.cohort.clinical_table.
        asks_to_act`: a longest follow-up implausible in the time unit given, or the earlier
        import's times corrected), as the console says them."""
        rows = self.clinical[self.clinical["action"].map(asks_to_act)]
        lines = zip(rows["column"], rows["action"], rows["count"], strict=True)
        return [f"{column}: {action} ({count})" for column, action, count in lines]


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=columns)
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{path} cannot be read as a table ({err}).") from err


def import_status(folder: Path | str) -> ImportStatus:
    """The reports of the import into ``folder``: patients sorted failed first, then by id."""
    folder = Path(folder)
    patients = _read(folder / "import_report.csv", ["patient", "status", "reason"])
    order = {status: i for i, status in enumerate(STATUS_ORDER)}
    rank = patients["status"].map(order).fillna(len(order))
    patients = patients.assign(_rank=rank).sort_values(["_rank", "patient"]).drop(columns="_rank")
    clinical = _read(folder / JOIN_REPORT, ["column", "action", "count"])
    return ImportStatus(patients.reset_index(drop=True), clinical)


def emptied_variables(folder: Path | str) -> set[str]:
    """The variables of the cohort in ``folder`` whose column its import dropped for holding no
    value (``clinical_report.csv``), by their name in ``clinical.csv``: the sheet had them, blank
    (a run that reads one says so, not that the export lacks it)."""
    clinical = _read(Path(folder) / JOIN_REPORT, ["column", "action", "count"])
    dropped = clinical.loc[clinical["action"] == NO_VALUES_DROPPED, "column"]
    return {parse_header(text).name for text in dropped}
