"""A cohort's clinical table from a hospital's spreadsheet: ``clinical.csv`` and ``schema.yaml``.

The spreadsheet is keyed by the hospital's own patient IDs; the cohort's cases by keyed pseudonyms
(:mod:`survival_core.cohort.importer`). :func:`join_clinical` joins the rows to imported images
through ``id_map.csv`` (a keyed hash of each original ID); :func:`import_table` makes a table-only
cohort whose case ids are the pseudonyms an image import would give the same patients. Either way
the original IDs are read in memory and never written: ``clinical.csv`` holds the case ids, the
time (days), the event and the cohort's own clinical variables, ``outcome.json`` the columns and
endpoint the outcome came from (:mod:`survival_core.io.outcome_source`: a re-import of another
endpoint is refused beside the earlier rows, said where it replaces them), ``schema.yaml`` the
drafted schema the user may edit, and ``clinical_report.csv`` each coercion. Patients on only one
side are reported, never dropped silently.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from survival_core.cohort.clinical_sheet import spreadsheet_cells
from survival_core.cohort.clinical_table import (
    OUTCOME_CHANGED_START,
    OUTCOME_UNRECORDED_START,
    UNIT_CORRECTED_START,
    ClinicalImport,
    asks_to_act,
    read_clinical_spreadsheet,
)
from survival_core.cohort.clinical_values import unit_factor
from survival_core.cohort.import_report import Coercion, give_outcome_columns
from survival_core.cohort.importer import (
    CLINICAL_FILE,
    IMPORT_LOCK,
    JOIN_REPORT,
    case_id_lookup,
    case_ids_for,
    cases_by_folder_name,
    first_column,
)
from survival_core.cohort.withdrawn import WITHDRAWN_FILE, withdrawn_cases
from survival_core.errors import ConfigError, InputError
from survival_core.io.atomic import write_text
from survival_core.io.clinical import counts_cells
from survival_core.io.clinical_schema import (
    CATEGORY,
    DRAFTED_SCHEMA,
    INTEGER,
    SCHEMA_FILE,
    YES_NO,
    CohortSchema,
    infer_schema,
)
from survival_core.io.deid import Deidentifier
from survival_core.io.locks import folder_lock, is_temp_sibling, remove_leftovers
from survival_core.io.outcome_source import OUTCOME_FILE, OutcomeSource, load_outcome_source
from survival_core.io.tables import TIME_UNITS, from_typical, plausible_follow_up
from survival_core.text import number_text

ID_MAP_FILE = "id_map.csv"
#: What a table-only cohort folder holds (an existing folder may hold nothing else).
TABLE_FILES = frozenset(
    {
        CLINICAL_FILE,
        OUTCOME_FILE,
        SCHEMA_FILE,
        DRAFTED_SCHEMA,
        JOIN_REPORT,
        IMPORT_LOCK,
        WITHDRAWN_FILE,
    }
)
#: A quoted value in a report line (the reader quotes the IDs it names, e.g. rows without outcome).
_QUOTED = re.compile(r"'[^'\\]*'|\"[^\"\\]*\"")
#: A whole number written as a float ('7.0', '12.00').
_WHOLE_FLOAT = re.compile(r"(\d+)\.0+")
#: A re-import's times are the stored ones in another unit (:func:`_unit_ratio`) when this share
#: of at least this many patients' differ from theirs by one unit ratio, to within this factor.
_RESCALED_SHARE, _RESCALED_LEAST, _RESCALED_TOLERANCE = 0.8, 5, 1.1
#: A re-import's longest follow-up corrects the stored one's unit (:func:`_corrects`) when its
#: ratio to a typical follow-up is at most the stored one's over this: a short follow-up may be
#: real (veterans' 287 days, 6.4 times shorter than 5 years, are not corrected by their months
#: read as 8,736 days, 4.8 times longer).
_CLEARLY_NEARER = 2.0


@dataclass
class ClinicalJoin:
    """What the join did: rows written, IDs without a case, cases without a row, rows without a
    usable outcome, the coercions (original IDs replaced by case ids) and the drafted schema."""

    n_joined: int
    unmatched_rows: int
    cases_without_row: list[str]
    no_outcome: int = 0
    report: list[Coercion] = field(default_factory=list)
    schema: CohortSchema | None = None
    #: Spreadsheet IDs without an imported patient, each with the one imported patient's ID it
    #: differs from only in case, separators or zero padding (None without such): said on the
    #: console, never written (the original IDs stay out of the cohort folder).
    unmatched_ids: dict[str, str | None] = field(default_factory=dict)
    #: Case without a row -> the case whose row's ID its PatientID differs from only in case,
    #: separators or zero padding (:func:`_near_joined`): one patient's two cases?
    near_joined: dict[str, str] = field(default_factory=dict)
    #: Spreadsheet IDs that are the folder name of several imported patients (two centres'
    #: 'P001': :func:`_alike`), with their case ids ('the withdrawn RS-...' for one withdrawn
    #: since): joined to none, said on the console (the IDs are never written).
    alike: dict[str, list[str]] = field(default_factory=dict)
    #: Rows of the cohort's earlier ``clinical.csv`` kept: cases this spreadsheet has no row for
    #: (:func:`_with_earlier_rows`).
    kept: int = 0

    def alike_said(self) -> list[str]:
        """A line for each ID of :attr:`alike` (said on the console only)."""
        return [f"{_alike_said(i, cases)}." for i, cases in self.alike.items()]

    def near_joined_said(self) -> list[str]:
        """A line for each case without a row named beside the case it may be (case ids only)."""
        return [f"no clinical row for {c}{_twin_said(o)}." for c, o in self.near_joined.items()]

    def warnings(self) -> list[str]:
        """The report's lines to act on (:func:`~survival_core.cohort.clinical_table.
        asks_to_act`): a longest follow-up implausible in the time unit given, or the earlier
        import's times corrected."""
        return [str(line) for line in self.report if asks_to_act(line.action)]

    def summary(self) -> dict[str, Any]:
        """The join's totals, as ``cohort import --json`` prints them: the rows of this
        spreadsheet written, and the earlier ``clinical.csv``'s rows kept beside them (once
        'clinical_rows_kept': a table-only import's 0 was read as none of its rows kept)."""
        warnings = self.warnings()
        return {
            "clinical_rows": self.n_joined,
            "earlier_clinical_rows_kept": self.kept,
            "clinical_rows_without_case": self.unmatched_rows,
            "cases_without_clinical_row": len(self.cases_without_row),
            "clinical_rows_without_outcome": self.no_outcome,
            **({"warnings": warnings} if warnings else {}),
        }


def join_clinical(
    cohort: Path | str,
    spreadsheet: Path | str,
    imported: ClinicalImport | None = None,
    **columns: str | None,
) -> ClinicalJoin:
    """Read ``spreadsheet``, join it to the imported ``cohort`` by original patient ID and write
    ``clinical.csv`` (the earlier rows of cases it has no row for kept: a sheet of the patients
    added), ``schema.yaml`` (unless the user already edited one) and
    ``clinical_report.csv`` (each coercion, each unmatched side). ``columns``: ``id_column``,
    ``time_column``, ``event_column`` and ``time_unit``, as for
    :func:`~survival_core.cohort.clinical_table.read_clinical_spreadsheet`; ``imported``: the
    spreadsheet already read so (checked before the images were imported), else it is read."""
    cohort = Path(cohort)
    if imported is None:
        imported = read_clinical_spreadsheet(spreadsheet, **columns)
    with folder_lock(cohort, IMPORT_LOCK, "cohort import"):
        return _join(cohort, spreadsheet, imported)


def _join(cohort: Path, spreadsheet: Path | str, imported: ClinicalImport) -> ClinicalJoin:
    """:func:`join_clinical`'s work, the cohort locked."""
    case_of = case_ids_for(cohort, _original_ids(imported))
    cases = pd.read_csv(cohort / "manifest.csv", dtype=str)["case_id"].tolist()
    withdrawn = _withdrawn_ids(cohort, [i for i, case in case_of.items() if case is None])
    unmatched = [i for i, case in case_of.items() if case is None and i not in withdrawn]
    alike, withdrawn_alike = _alike(cohort, unmatched)
    withdrawn |= withdrawn_alike
    unmatched = [i for i in unmatched if i not in alike and i not in withdrawn]
    if not cases:
        raise InputError(
            f"{cohort} holds no imported patient yet (every patient failed: see its "
            f"import_report.csv), so no row of {Path(spreadsheet).name} can be joined."
        )
    if all(case is None for case in case_of.values()):
        raise InputError(
            f"No row of {Path(spreadsheet).name} matches an imported patient: its "
            f"{imported.id_column!r} column holds none of the PatientIDs of {cohort}."
            + _columns_holding_ids(cohort, spreadsheet, imported.id_column)
            + _near_matches_said(_near_matches(cohort, unmatched))
            + "".join(f" {_alike_said(i, cases)}." for i, cases in list(alike.items())[:5])
        )
    near = _near_joined(cohort, case_of, set(cases) - set(case_of.values()))
    joined = _write_clinical(
        cohort, imported, case_of, Path(spreadsheet).name, cases, len(withdrawn), near, alike
    )
    joined.unmatched_ids = _near_matches(cohort, unmatched)
    joined.alike = alike
    return joined


def _alike(cohort: Path, ids: list[str]) -> tuple[dict[str, list[str]], set[str]]:
    """The ``ids`` that are the folder name of several patients (:func:`~survival_core.cohort.
    importer.cases_by_folder_name`), with their case ids ('the withdrawn RS-...' for one
    withdrawn since: its row may be theirs, so it joins none); and those all of whose patients
    are withdrawn (the row is one of theirs: left out as withdrawn)."""
    if not ids:  # every row joined: no record or withdrawn list to read
        return {}, set()
    gone = withdrawn_cases(cohort)
    alike, withdrawn = {}, set()
    for original, cases in cases_by_folder_name(cohort, ids).items():
        if gone.keys() >= set(cases):
            withdrawn.add(original)
        else:
            cases = sorted(cases, key=lambda c: (c in gone, c))
            alike[original] = [f"the withdrawn {c}" if c in gone else c for c in cases]
    return alike, withdrawn


def _alike_said(original: str, cases: list[str]) -> str:
    """Why the row of ``original``, the folder name of the imported patients ``cases``
    (:func:`_alike`; one alone: its twin's case deleted, or withdrawn before the list kept
    folder names), joined none of them, and what to do."""
    named = (
        f"{len(cases)} imported patients ({', '.join(cases)})"
        if len(cases) > 1
        else f"the imported patient {cases[0]} and of one no longer in the cohort (withdrawn or "
        "deleted)"
    )
    return (
        f"{original} is the folder name of {named}, "
        "in folders of the download named alike (a patient of that ID in each centre): its row "
        "joined none of them. Write such IDs with the folders above them that tell them apart, "
        f"as the import names the patients (the folder, '/', the ID: 'centreA/{original}'), or "
        "import each centre into a cohort folder of its own"
    )


def _columns_holding_ids(cohort: Path, spreadsheet: Path | str, chosen: str) -> str:
    """The spreadsheet's other columns holding PatientIDs of the images, most first, said with
    the option to give ("" where none): an ID column found by its name ('study_id') may be the
    wrong one of two, the refusal then not saying that the sheet's 'MRN' column held them."""
    lookup = case_id_lookup(cohort)
    cells = spreadsheet_cells(spreadsheet)
    held = {}
    for column in cells.columns:
        texts = {text.strip() for text in cells[column]} - {""}
        found = sum(lookup(text) is not None for text in texts)
        if column != chosen and found:
            held[str(column)] = found
    if not held:
        return ""
    ranked = sorted(held, key=lambda c: -held[c])
    listed = ", ".join(f"{c!r} ({held[c]} of them)" for c in ranked)
    return (
        f" The column(s) {listed} hold PatientIDs of the images: give {ranked[0]!r} as the ID "
        f"column (--id-column {ranked[0]!r}; Cohort page: Patient ID column)."
    )


def _withdrawn_ids(cohort: Path, ids: list[str]) -> set[str]:
    """The original ``ids`` of patients withdrawn from the cohort (their case id, the pseudonym
    or a kept de-identified ID, in ``withdrawn.csv``): left out, not unmatched."""
    withdrawn = withdrawn_cases(cohort)
    if not withdrawn:
        return set()
    deid = Deidentifier()
    return {
        i
        for i in ids
        if any(v in withdrawn or deid.pseudonym(v) in withdrawn for v in [i, *id_variants(i)])
    }


def _whole_number(original: str) -> str | None:
    """The number of an ID a spreadsheet turned float ('7.0' -> '7': a numeric ID column read
    as decimals, as Excel and pandas write it), else None."""
    found = _WHOLE_FLOAT.fullmatch(original)
    return found[1] if found else None


def id_variants(original: str) -> list[str]:
    """Spellings of an ID a spreadsheet and a DICOM header may differ by, in any combination:
    case (upper, lower, capitalised words: 'PAT-04' -> 'Pat-04'), '-'/'_'/'.'/' ' separators,
    digits padded to 2-4 places or not ('sts_1' -> 'STS_001', 'STS-001'...), up to 8 in an ID
    of one number ('1' -> '00001': the variants of several numbers multiply), and a number
    written as a float without its '.0' ('7.0' -> '7', '007'). The image IDs are known only by
    keyed hash (:func:`~survival_core.cohort.importer.id_key`), so the spellings are tried
    rather than compared."""
    widths = range(2, 9) if len(re.findall(r"\d+", original)) == 1 else (2, 3, 4)

    def digit_forms(run: str) -> set[str]:
        bare = run.lstrip("0") or "0"
        return {bare, *(bare.zfill(n) for n in widths)}

    spelled = {original}
    for separator in ("_", "-", ".", " ", ""):
        spelled.add(re.sub(r"[-_. ]", separator, original))
    padded = set()
    for text in spelled:
        parts = re.split(r"(\d+)", text)
        forms = [sorted(digit_forms(p)) if p.isdigit() else [p] for p in parts]
        padded |= {"".join(choice) for choice in itertools.product(*forms)}
    cased = {v for p in padded for v in (p, p.upper(), p.lower(), p.title(), p.capitalize())}
    whole = _whole_number(original)
    if whole is not None:
        cased |= {whole, *id_variants(whole)}
    return sorted(cased - {original})


def _near_matches(cohort: Path, unmatched: list[str]) -> dict[str, str | None]:
    """Each unmatched spreadsheet ID with the one imported patient's ID among its variants."""
    lookup = case_id_lookup(cohort)
    found: dict[str, str | None] = {}
    for original in unmatched[:200]:  # a hint, bounded: a spreadsheet of thousands of others
        hits = [v for v in id_variants(original) if lookup(v) is not None]
        if len(hits) > 1:  # '7.0' is the images' '7' before their '007'
            whole = _whole_number(original)
            hits = [v for v in hits if v == whole]
        found[original] = hits[0] if len(hits) == 1 else None
    return found


def _near_joined(
    cohort: Path, case_of: Mapping[str, str | None], without_row: set[str]
) -> dict[str, str]:
    """Each case of ``without_row`` whose PatientID is a spelling (:func:`id_variants`) of the
    ID of a row joined to another case: 'Q-003' of a baseline beside the follow-up 'Q_003' whose
    row joined; the baseline was listed without a row, nothing naming the follow-up."""
    if not without_row:
        return {}
    lookup = case_id_lookup(cohort)
    found: dict[str, str] = {}
    for original, case in case_of.items():
        for variant in id_variants(original) if case is not None else ():
            other = lookup(variant)
            if other in without_row and other != case:
                found.setdefault(other, case)
    return found


def _near_matches_said(near: Mapping[str, str | None]) -> str:
    pairs = [f"{a!r} is {b!r} there" for a, b in near.items() if b is not None]
    if not pairs:
        return ""
    return f" Written otherwise: {'; '.join(pairs[:5])}: write the IDs as the images do."


def import_table(
    cohort: Path | str, spreadsheet: Path | str, **columns: str | None
) -> ClinicalJoin:
    """A table-only cohort from ``spreadsheet`` (no images): every row becomes a case keyed by the
    pseudonym an image import gives the same patient ID, written as :func:`join_clinical` writes.

    A folder of an earlier image import is joined through its ID map instead; any other existing
    folder must hold only a table-only cohort's files. ``columns`` as for :func:`join_clinical`."""
    cohort = Path(cohort)
    if (cohort / ID_MAP_FILE).is_file():
        return join_clinical(cohort, spreadsheet, **columns)
    _check_table_folder(cohort)
    imported = read_clinical_spreadsheet(spreadsheet, **columns)
    deid = Deidentifier()
    left_out = _withdrawn_ids(cohort, _original_ids(imported))
    case_of = {i: None if i in left_out else deid.pseudonym(i) for i in _original_ids(imported)}
    _check_same_patients(cohort, spreadsheet, case_of)
    with folder_lock(cohort, IMPORT_LOCK, "cohort import"):
        return _write_clinical(
            cohort, imported, case_of, Path(spreadsheet).name, withdrawn=len(left_out)
        )


def _check_same_patients(
    cohort: Path, spreadsheet: Path | str, case_of: Mapping[str, str | None]
) -> None:
    """Refuse a sheet imported again into a table-only cohort of whose patients none keeps its
    case id, or some do not (:func:`_respelled`): its IDs are written otherwise ('gb0007', 'GB7'
    for 'GB0007'), each a new pseudonym, and the case ids changed without a word (a withdrawn
    patient came back; one patient re-spelled could be withdrawn by neither ID nor case id).
    Without images to join, a sheet of other patients only is refused too: its rows would be
    kept beside the earlier ones (:func:`_with_earlier_rows`), the same patients under another
    ID system counted twice."""
    earlier = first_column(cohort / CLINICAL_FILE)
    name = Path(spreadsheet).name
    if earlier and not earlier & set(case_of.values()):
        raise InputError(
            f"None of the {len(earlier)} patients of {cohort / CLINICAL_FILE} keeps its case id "
            f"in {name}: its IDs are written otherwise than the first time "
            "(case, separators, leading zeros: 'GB7' for 'GB0007'; each spelling is another "
            "pseudonym), or it holds other patients only. Write the IDs as before (patients "
            "added since join the earlier ones given with them), or import into a new folder."
        )
    respelled = _respelled(earlier, case_of)
    if respelled:
        listed = "; ".join(
            f"{new!r} was {old!r} (case {case})" for new, (old, case) in list(respelled.items())[:5]
        )
        more = f" and {len(respelled) - 5} more" if len(respelled) > 5 else ""
        raise InputError(
            f"{len(respelled)} patient(s) of {cohort / CLINICAL_FILE} are written otherwise in "
            f"{name}: {listed}{more}. Each spelling is another pseudonym, so the patient would "
            "get a new case id, and the case id runs and withdrawals know them by would be gone. "
            "Write those IDs as before, or import into a new folder."
        )


def _respelled(earlier: set[str], case_of: Mapping[str, str | None]) -> dict[str, tuple[str, str]]:
    """Each ID of the sheet that is no earlier case but another spelling (:func:`id_variants`)
    of the ID of an ``earlier`` case that no row of the sheet keeps: ID -> (that spelling, its
    case id)."""
    gone = earlier - set(case_of.values())
    if not gone:
        return {}
    deid = Deidentifier()
    found = {}
    for original, case in case_of.items():
        if case is None or case in earlier:
            continue
        for variant in id_variants(original):
            if (before := deid.pseudonym(variant)) in gone:
                found[original] = (variant, before)
                break
    return found


def _original_ids(imported: ClinicalImport) -> list[str]:
    return [str(i) for i in imported.table.index]


def _check_table_folder(cohort: Path) -> None:
    """Refuse to write into a file or a folder holding what a table-only import does not write."""
    if not cohort.exists():
        return
    if not cohort.is_dir():
        raise ConfigError(f"Output {cohort} exists and is not a folder.")
    remove_leftovers(cohort)  # a write a killed import left
    foreign = sorted(
        p.name
        for p in cohort.iterdir()
        if p.name not in TABLE_FILES and not is_temp_sibling(p.name)
    )
    if foreign:
        raise ConfigError(
            f"Output folder {cohort} holds {', '.join(foreign[:3])}, which a table import does "
            "not write: choose a new folder, that of an earlier import, or an imported cohort."
        )


def _scrub_ids(text: str, case_of: Mapping[str, str | None]) -> str:
    """``text`` with each quoted original ID replaced by its case id (or by a mark when it has
    none), so that the report written names no patient."""

    def swap(match: re.Match[str]) -> str:
        value = match.group(0)[1:-1]
        if value not in case_of:
            return match.group(0)
        return repr(case_of[value] or "(ID without a case)")

    return _QUOTED.sub(swap, text)


def _save_schema(cohort: Path, schema: CohortSchema) -> str:
    """Write the drafted ``schema.yaml``, unless the user edited the one there; then it is kept,
    and a note says when its variables are not the new table's (a model would impute the
    others). Returns that note ("" without one)."""
    path, drafted = cohort / SCHEMA_FILE, cohort / DRAFTED_SCHEMA
    edited = path.exists() and (not drafted.exists() or path.read_bytes() != drafted.read_bytes())
    if not edited:
        schema.save(path)
        schema.save(drafted)
        return ""
    kept = CohortSchema.load(path)
    if set(kept.names) == set(schema.names):
        return ""
    return (
        f"kept as edited, but its variables ({', '.join(kept.names)}) are not the clinical "
        f"table's ({', '.join(schema.names)}): update it, or delete it to have it drafted "
        "again"
    )


def _read_text_table(source: Path | str) -> pd.DataFrame:
    """A clinical table (a path, or CSV text) by case id, each cell as written; empty cells
    missing."""
    handle = source if isinstance(source, Path) else io.StringIO(source)
    return pd.read_csv(
        handle, dtype=str, keep_default_na=False, na_values=[""], index_col="case_id"
    )


def _earlier_table(cohort: Path) -> pd.DataFrame:
    """The cohort's earlier ``clinical.csv`` by case id, each cell as written (no row without
    one)."""
    path = cohort / CLINICAL_FILE
    if not path.is_file():
        return pd.DataFrame(index=pd.Index([], name="case_id"))
    try:
        return _read_text_table(path)
    except (ValueError, pd.errors.ParserError) as err:  # edited by hand: no case_id column
        raise InputError(
            f"{path} cannot be read as the cohort's clinical table ({err}), so its rows of the "
            "patients this spreadsheet lacks cannot be kept: restore it (a case_id column "
            "first), or delete it to write the spreadsheet's rows alone."
        ) from err


def _earlier_rows(
    cohort: Path, earlier: pd.DataFrame, replaced: pd.Index
) -> tuple[pd.DataFrame, int]:
    """The rows of the cohort's ``earlier`` table (:func:`_earlier_table`) to keep beside this
    spreadsheet's: those of the cases it has no row for (``replaced``: those it has; a
    re-import adding patients brings a sheet of those alone: the earlier patients' outcomes were
    lost), less those of withdrawn patients (a withdrawal cut short leaves their rows, finished
    by running it again: a re-import wrote them back). Returns them and how many rows of
    withdrawn patients were left out."""
    earlier = earlier[~earlier.index.isin(replaced)]
    withdrawn = earlier.index.isin(list(withdrawn_cases(cohort)))
    return earlier[~withdrawn], int(withdrawn.sum())


def _times_rescaled(
    table: pd.DataFrame, earlier: pd.DataFrame, sheet: str, unit: str
) -> list[Coercion]:
    """Refuse ``table`` (this spreadsheet's rows, times in days read in ``unit``) where the times
    of the patients the cohort's ``earlier`` table holds too are the stored ones in another unit
    (:func:`_unit_ratio`): GBSG2's months imported as days over its import in days shrank every
    patient's follow-up 30-fold without a word. A sheet correcting the earlier import (no unit
    misread gives its times, or :func:`_corrects`) is taken, said in the warning returned: the
    stored times are replaced on the word of the unit given."""
    both = table.index.intersection(earlier.index)
    if "time" not in earlier or both.empty:
        return []
    new = pd.to_numeric(table.loc[both, "time"], errors="coerce")
    old = pd.to_numeric(earlier.loc[both, "time"], errors="coerce")
    given = (new > 0) & (old > 0)
    new, old = new[given], old[given]
    pair = _unit_ratio(new / old)
    if pair is None:
        return []
    a, b = pair  # this sheet's times in b read as a, or the earlier sheet's in a read as b
    ratio = TIME_UNITS[a] / TIME_UNITS[b]
    times = f"{round(ratio, 2):g} times" if ratio > 1 else f"1/{round(1 / ratio, 2):g} of"
    before, after = float(old.max()), float(new.max())
    longest = f"the longest follow-up {before:.0f} days, now {after:.0f}"
    if a == unit and not _corrects(after, before):
        raise InputError(
            f"{sheet}'s times, read in {unit}, are {times} those the cohort's {CLINICAL_FILE} "
            f"holds for the same {len(new)} patients ({longest}), as times in {b} read as "
            f"{unit} would be: {sheet} is likely in {b}. Import it with --time-unit {b} "
            "(Cohort page: Time unit), which keeps their times; if instead the cohort's earlier "
            f"import read its sheet in the wrong unit, {_afresh(unit)}."
        )
    action = (
        f"{UNIT_CORRECTED_START}{sheet}'s are {times} those the cohort's earlier "
        f"{CLINICAL_FILE} held for these patients ({longest}), taken as its import having read "
        f"times in {a} as {b}; if instead that import was right, {_afresh(b)}"
    )
    return [Coercion("time", action, len(new))]


def _corrects(after: float, before: float) -> bool:
    """Whether a re-import whose longest follow-up is ``after`` days corrects the time unit of
    the earlier import that stored ``before`` for the same patients: ``after`` is plausible
    (:func:`~survival_core.io.tables.plausible_follow_up`) and clearly nearer a typical
    follow-up (:func:`~survival_core.io.tables.from_typical`, by :data:`_CLEARLY_NEARER`), as
    is every plausible one where ``before`` is over 50 years. WHAS500's days imported as weeks
    (16,506 days, 45 years) are corrected by its import in days (2,358); veterans' 287 days, a
    short cohort's, by weeks (2,009 days) but not by months (8,736 days), nor 2,358 days by
    weeks."""
    return plausible_follow_up(after) and (
        from_typical(after) + math.log(_CLEARLY_NEARER) <= from_typical(before)
    )


def _afresh(unit: str) -> str:
    """How to replace every stored time by the sheet's read in ``unit`` (no earlier table, no
    rescaling to doubt): a re-import would be refused or corrected."""
    return (
        f"delete the cohort's {CLINICAL_FILE} and import the whole sheet, every patient, again "
        f"with --time-unit {unit} (Cohort page: Time unit)"
    )


def _unit_ratio(ratios: pd.Series) -> tuple[str, str] | None:
    """The units (a, b) whose ratio (days per a over days per b: a time in b read as a is that
    many times its days) :data:`_RESCALED_SHARE` of ``ratios``, at least
    :data:`_RESCALED_LEAST` of them, lie within :data:`_RESCALED_TOLERANCE` of (a sheet rounding
    its months leaves a few apart); else None (a follow-up updated since: the censored patients'
    times grew, by no one ratio)."""
    if len(ratios) < _RESCALED_LEAST:
        return None
    pairs = [(a, b) for a in TIME_UNITS for b in TIME_UNITS if a != b]
    apart = {p: np.log(ratios * TIME_UNITS[p[1]] / TIME_UNITS[p[0]]).abs() for p in pairs}
    pair = min(pairs, key=lambda p: float(apart[p].median()))
    near = float((apart[pair] <= math.log(_RESCALED_TOLERANCE)).mean())
    return pair if near >= _RESCALED_SHARE else None


def _check_one_outcome(
    earlier: OutcomeSource | None, source: OutcomeSource, kept: pd.DataFrame, sheet: str
) -> None:
    """Refuse ``sheet``'s outcome (``source``) beside the ``kept`` rows of the cohort's earlier
    table when the cohort's record of theirs (``earlier``; None: imported before it was kept)
    names other columns or another endpoint: GBSG2's first 300 patients' overall survival was
    written beside the other 386's recurrence-free survival, in one time and event column."""
    if kept.empty or earlier is None or earlier.same_outcome(source):
        return
    raise InputError(
        f"{sheet}'s outcome is {source.said()}, but the {len(kept)} earlier row(s) of the "
        f"cohort's {CLINICAL_FILE} that would be kept beside its rows (patients it has no row "
        f"for) hold that of {earlier.said()}: one time and event column would mix two "
        "outcomes. Import a sheet with every patient's row in this outcome (or delete the "
        f"cohort's {CLINICAL_FILE} first to write this sheet's rows alone), or give the earlier "
        "rows' columns to add these patients to their outcome: "
        f"{give_outcome_columns(earlier)}."
    )


def _outcome_changed(
    earlier: OutcomeSource | None, source: OutcomeSource, n_stored: int, sheet: str
) -> list[Coercion]:
    """A warning where ``sheet``'s outcome (``source``) replaces the ``n_stored`` earlier rows'
    of other columns or another endpoint (``earlier``, their record; none kept beside it:
    :func:`_check_one_outcome`): the models trained on the cohort before learnt the other
    endpoint. GBSG2's overall survival replaced its recurrence-free survival without a word."""
    if earlier is None or earlier.same_outcome(source):
        return []
    action = (
        f"{OUTCOME_CHANGED_START}the cohort's earlier {CLINICAL_FILE} held the outcome of "
        f"{earlier.said()}, {sheet} gives that of {source.said()}: its rows replaced them. "
        "Models trained on the cohort before were trained on the other endpoint: train them "
        "again, or import the sheet with the earlier columns to keep that one: "
        + give_outcome_columns(earlier)
    )
    return [Coercion("(outcome)", action, n_stored)]


def _record_outcome(
    cohort: Path,
    earlier: OutcomeSource | None,
    source: OutcomeSource,
    kept: pd.DataFrame,
    sheet: str,
) -> list[Coercion]:
    """Write ``sheet``'s outcome (``source``) as the cohort's record, unless ``kept`` rows of the
    earlier table stay beside its rows with no record of theirs (``earlier`` None: imported
    before it was kept): they may be of another endpoint, so none is written (a stale one taken
    out) and a warning says so. GBSG2's 386 recurrence-free rows kept beside 300 overall
    survival rows were recorded, and their model labelled, as overall survival."""
    if kept.empty or earlier is not None:
        (source if kept.empty else source.merged(earlier)).save(cohort)
        return []
    (cohort / OUTCOME_FILE).unlink(missing_ok=True)
    action = (
        f"{OUTCOME_UNRECORDED_START}the {len(kept)} earlier row(s) of the cohort's "
        f"{CLINICAL_FILE} kept beside {sheet}'s (patients it has no row for) were imported "
        f"before the cohort recorded its outcome, so whether they are of {source.said()} is not "
        f"known: no {OUTCOME_FILE} is written, and the cohort's endpoint is unknown (models "
        "trained on it name none). Import a sheet with every patient's row to record it."
    )
    return [Coercion("(outcome)", action, len(kept))]


def _with_earlier_rows(table: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """``table`` (this spreadsheet's rows by case id) after the ``kept`` rows
    (:func:`_earlier_rows`); a column on one side only is blank for the other side's rows."""
    if kept.empty:
        return table
    columns = [*table.columns, *(c for c in kept.columns if c not in table.columns)]
    return pd.concat([kept, table.astype(object)]).reindex(columns=columns)


def _in_earlier_units(
    table: pd.DataFrame,
    kept: pd.DataFrame,
    drafted: CohortSchema,
    earlier: CohortSchema | None,
    sheet: str,
) -> tuple[pd.DataFrame, dict[str, str], list[Coercion]]:
    """``table`` (this spreadsheet's rows, ``drafted`` its schema) with each variable the
    ``kept`` rows have values of in the unit their schema ``earlier`` gives it: a header without
    a unit is read in it, a unit :func:`~survival_core.cohort.clinical_values.unit_factor`
    converts exactly (cm to mm) is converted. Returns that table, the unit by variable and the
    report's lines. Another unit is refused: merged, albumin 3.5 g/dL stood beside 38.2 g/L
    without a word, the schema saying g/dL for all."""
    units: dict[str, str] = {}
    said: list[Coercion] = []
    for variable in drafted.variables:
        name, now = variable.name, variable.unit
        before = earlier[name].unit if earlier is not None and name in earlier.names else ""
        if not before or name not in kept or kept[name].isna().all():
            continue
        units[name] = before
        count = int(table[name].notna().sum())
        factor = unit_factor(now, before, cells=counts_cells(name, before)) if now else 1.0
        if factor is None or (factor != 1 and not is_numeric_dtype(table[name])):
            raise InputError(
                f"{sheet} gives {variable.title} in {now}, but the {len(kept)} earlier row(s) of "
                f"the cohort's {CLINICAL_FILE} kept beside its rows give it in {before}: one "
                f"column would mix the two units. Write {sheet}'s {name} in {before} (its header "
                f"saying '({before})'), or import the whole sheet, every patient, into a new "
                "folder."
            )
        if not now:
            said.append(
                Coercion(name, f"no unit given: read in {before}, the earlier rows'", count)
            )
        elif factor != 1:
            table = table.assign(**{name: (table[name] * factor).round(9)})
            action = f"in {now}: converted to {before}, the earlier rows' (x {number_text(factor)})"
            said.append(Coercion(name, action, count))
    return table, units, said


def _kept_said(kept: pd.DataFrame, new_columns: Sequence[str], n_new: int) -> list[Coercion]:
    """The report's lines on the rows kept from the earlier table and on the variables only
    one side has (blank for the other side's rows: a model imputes them)."""
    if kept.empty:
        return []
    lines = [
        Coercion(
            "(rows)",
            f"kept from the cohort's earlier {CLINICAL_FILE}: cases this spreadsheet has no row "
            "for (withdraw a patient to take the row out)",
            len(kept),
        )
    ]
    lines += [
        Coercion(c, "not in this spreadsheet: kept for the earlier rows, blank for its rows", n_new)
        for c in kept.columns
        if c not in new_columns
    ]
    lines += [
        Coercion(c, f"not in the earlier {CLINICAL_FILE}: blank for the rows kept", len(kept))
        for c in new_columns
        if c not in kept.columns
    ]
    return lines


def _earlier_schema(cohort: Path) -> CohortSchema | None:
    """The schema drafted for the cohort's earlier table (else the one there), if readable."""
    for name in (DRAFTED_SCHEMA, SCHEMA_FILE):
        if (cohort / name).is_file():
            try:
                return CohortSchema.load(cohort / name)
            except InputError:
                return None
    return None


def _typed(cells: pd.Series, kind: str | None) -> pd.Series:
    """A merged column's text cells as its ``kind`` (None: unknown) reads them, for drafting
    the schema: yes/no as booleans, integers and numbers as numbers (integers as Int64), else
    text (a category, or cells that do not all read so)."""
    present = cells.dropna()
    if kind in (YES_NO, None) and not present.empty and present.isin(["True", "False"]).all():
        return cells.map({"True": True, "False": False})
    if kind == CATEGORY:
        return cells
    numbers = pd.to_numeric(cells, errors="coerce")
    if numbers.notna().sum() < len(present):
        return cells
    whole = kind == INTEGER and (numbers.dropna() % 1 == 0).all()
    return numbers.astype("Int64") if whole else numbers


def _merged_schema(
    earlier: CohortSchema | None,
    imported: ClinicalImport,
    cells: pd.DataFrame,
    units: Mapping[str, str],
) -> CohortSchema:
    """The schema drafted from the merged table ``cells`` (:func:`_with_earlier_rows`, as
    written): each variable's kind, unit and label as this spreadsheet's draft has them, else
    as the ``earlier`` table's, the unit of the rows kept where ``units`` gives it
    (:func:`_in_earlier_units`); ranges and categories from both sides' rows."""
    described = {v.name: v for v in (earlier.variables if earlier else ())}
    described |= {v.name: v for v in imported.schema.variables}
    cells = cells.drop(columns=["time", "event"])
    typed = pd.DataFrame(
        {c: _typed(cells[c], described[c].kind if c in described else None) for c in cells}
    )
    return infer_schema(
        typed,
        units={n: v.unit for n, v in described.items()} | dict(units),
        labels={n: v.label for n, v in described.items()},
    )


def _levels_said(cells: pd.DataFrame, kept: pd.DataFrame, schema: CohortSchema) -> list[Coercion]:
    """A note on each category whose levels in this spreadsheet's rows share none with the
    ``kept`` rows' (grade 1, 2 then G2, G3: coded otherwise in each sheet, merged as four
    levels without a word); ``cells``: the merged table as written."""
    earlier, new = cells[cells.index.isin(kept.index)], cells[~cells.index.isin(kept.index)]
    lines = []
    for variable in schema.variables:
        before, now = set(earlier[variable.name].dropna()), set(new[variable.name].dropna())
        if variable.kind == CATEGORY and before and now and not before & now:
            action = (
                f"levels {_levels_text(now)} share none with those of the earlier rows "
                f"({_levels_text(before)}): coded otherwise in each sheet? Write them as the "
                "earlier rows do and import it again (the schema lists both codes)"
            )
            lines.append(Coercion(variable.name, action, int(new[variable.name].notna().sum())))
    return lines


def _levels_text(levels: set[str]) -> str:
    return ", ".join(map(repr, sorted(levels)))


def _write_clinical(
    cohort: Path,
    imported: ClinicalImport,
    case_of: Mapping[str, str | None],
    sheet: str,
    cases: Sequence[str] = (),
    withdrawn: int = 0,
    near: Mapping[str, str] | None = None,
    alike: Mapping[str, list[str]] | None = None,
) -> ClinicalJoin:
    """Write ``clinical.csv`` (rows keyed by ``case_of``; IDs without a case left out, of which
    ``withdrawn`` are the rows of withdrawn patients and ``alike`` those of IDs naming several
    cases' folders; the earlier table's rows of cases without one kept, :func:`_earlier_rows`,
    each variable in their unit, when their outcome is this one, :func:`_check_one_outcome`),
    ``outcome.json``, ``schema.yaml`` (drafted from that table, unless edited) and
    ``clinical_report.csv``; ``sheet`` names the spreadsheet, ``cases`` are the cohort's cases,
    each expected to have a row (``near``: the case whose row's ID a case's differs from only
    in spelling)."""
    table = imported.table.copy()
    table.index = pd.Index([case_of[i] for i in _original_ids(imported)], name="case_id")
    alike = alike or {}
    unmatched = int(table.index.isna().sum()) - withdrawn - len(alike)
    table = table[table.index.notna()]
    n_new, columns = len(table), ["time", "event", *imported.variables.columns]
    stored = _earlier_table(cohort)
    kept, withdrawn_kept = _earlier_rows(cohort, stored, table.index)
    earlier_source = None if stored.empty else load_outcome_source(cohort)
    _check_one_outcome(earlier_source, imported.source, kept, sheet)
    changed = _outcome_changed(earlier_source, imported.source, len(stored), sheet)
    rescaled = [] if changed else _times_rescaled(table, stored, sheet, imported.time_unit)
    earlier = None if kept.empty else _earlier_schema(cohort)
    table, units, units_said = _in_earlier_units(table, kept, imported.schema, earlier, sheet)
    table = _with_earlier_rows(table[columns], kept)
    written = set(table.index)
    without_row = [c for c in cases if c not in written]
    text = table.to_csv()
    schema, levels_said = imported.schema, []
    if not kept.empty:
        cells = _read_text_table(text)
        schema = _merged_schema(earlier, imported, cells, units)
        levels_said = _levels_said(cells, kept, schema)
    write_text(cohort / CLINICAL_FILE, text)
    unrecorded = _record_outcome(cohort, earlier_source, imported.source, kept, sheet)
    schema_note = _save_schema(cohort, schema)
    report = [Coercion(c.column, _scrub_ids(c.action, case_of), c.count) for c in imported.report]
    report += (
        changed
        + unrecorded
        + rescaled
        + units_said
        + levels_said
        + _kept_said(kept, columns, n_new)
    )
    if withdrawn_kept:
        action = (
            f"of patients withdrawn from the cohort ({WITHDRAWN_FILE}) in its earlier "
            f"{CLINICAL_FILE}: taken out"
        )
        report.append(Coercion("(rows)", action, withdrawn_kept))
    report += [Coercion(SCHEMA_FILE, schema_note, 1)] if schema_note else []
    rows = [(c.column, c.action, c.count) for c in report]
    rows.append(("(rows)", "IDs without an imported patient", unmatched))
    if alike:
        rows.append(
            ("(rows)", "IDs naming several imported patients' folders: joined to none", len(alike))
        )
    twins = {case: cases for cases in alike.values() for case in cases}
    if withdrawn:
        rows.append(
            ("(rows)", "patients withdrawn from the cohort (withdrawn.csv): left out", withdrawn)
        )
    near = near or {}
    rows += [
        ("(cases)", f"no clinical row for {c}{_twin_said(near.get(c))}{_alike_case(c, twins)}", 1)
        for c in without_row
    ]
    frame = pd.DataFrame(rows, columns=["column", "action", "count"])
    write_text(cohort / JOIN_REPORT, frame.to_csv(index=False))
    no_outcome = sum(case_of[i] is not None for i in imported.no_outcome)
    return ClinicalJoin(
        n_new,
        unmatched + len(alike),
        without_row,
        no_outcome,
        report,
        schema,
        near_joined=near,
        kept=len(kept),
    )


def _alike_case(case: str, twins: Mapping[str, list[str]]) -> str:
    """What a case without a row is told of the cases whose folders are named as its own
    (``twins``: case -> the cases of one folder name, itself included): case ids only, the
    folder's name being the patient's ID."""
    if case not in twins:
        return ""
    others = ", ".join(c for c in twins[case] if c != case) or "one no longer in the cohort"
    return (
        f"; its folder is named as that of {others} in another folder of the "
        "download, and the spreadsheet's row of that ID could be either's: write the ID with "
        "the folders above it (the console names it)"
    )


def _twin_said(case: str | None) -> str:
    """What a case without a row is told of the case ``case`` (None: none) whose row's ID its
    PatientID differs from only in spelling."""
    if case is None:
        return ""
    return (
        f"; its PatientID differs only in case, separators or zero padding from the ID of the "
        f"row of {case}: two cases of one patient (a baseline and a follow-up under two IDs)? "
        "Keep one, or give the table a row of its own"
    )
