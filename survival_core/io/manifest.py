"""Read a cohort folder (the format :mod:`survival_core.synthetic.generate` writes).

``manifest.csv`` lists each case's format, site, modality and files (relative to the folder),
``clinical.csv`` the outcomes and clinical variables, ``truth.csv`` the simulation's ground truth.
Manifests written before sites existed have ``liver_mask`` instead of ``organ_mask`` and no
``site`` or ``modality``: they are read as liver CT cohorts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from survival_core.errors import InputError
from survival_core.io.label_maps import structure_file

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS = (
    "case_id",
    "format",
    "site",
    "modality",
    "image",
    "organ_mask",
    "gtv_mask",
    "rtstruct",
)
FORMATS = ("dicom", "nifti")
PATH_COLUMNS = ("image", "organ_mask", "gtv_mask", "rtstruct")
#: What the cases of manifests written before sites were (their organ column was liver_mask).
_LEGACY_CASES = {"site": "liver", "modality": "CT"}
#: Text columns that must not be parsed as numbers (BCLC stage "0", case ids).
_TEXT = {
    "case_id": str,
    "sex": str,
    "child_pugh": str,
    "bclc": str,
    "mrecist": str,
    "scanner": str,
    "format": str,
    "site": str,
    "modality": str,
}


def _read_csv(folder: Path, name: str, required: tuple[str, ...]) -> pd.DataFrame:
    path = Path(folder) / name
    if not path.is_file():
        raise InputError(f"{path} not found: {folder} is not a cohort folder (no {name}).")
    try:
        table = pd.read_csv(path, dtype=_TEXT, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not a readable CSV table: {err}") from err
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{path} lacks the column(s) {', '.join(missing)}.")
    if table["case_id"].isna().any() or table["case_id"].duplicated().any():
        raise InputError(f"{path}: every row needs a unique case_id.")
    return table


def _upgrade(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The table in today's layout: an old ``liver_mask`` column becomes ``organ_mask`` of a liver
    CT case; a missing site or modality is unknown (``None``, as are empty cells); sites are
    spelled in lower case, modalities in upper case."""
    defaults: dict[str, str] = {}
    if "organ_mask" not in table.columns:
        if "liver_mask" not in table.columns:
            raise InputError(f"{path} lacks the column organ_mask (liver_mask in older cohorts).")
        table = table.rename(columns={"liver_mask": "organ_mask"})
        defaults = _LEGACY_CASES
    for column, spelling in (("site", str.lower), ("modality", str.upper)):
        if column not in table.columns:
            table[column] = defaults.get(column)
        values = [None if pd.isna(v) or v == "" else spelling(str(v)) for v in table[column]]
        table[column] = pd.Series(values, index=table.index, dtype=object)
    extra = [c for c in table.columns if c not in MANIFEST_COLUMNS]
    return table[list(MANIFEST_COLUMNS) + extra]


def read_manifest(folder: Path) -> pd.DataFrame:
    """The manifest in today's layout (:data:`MANIFEST_COLUMNS`, then any other columns) with
    absolute paths (``None`` where a case has no such file) and ``site`` / ``modality`` as text
    (``None`` when unknown). Old manifests with ``liver_mask`` are read as liver CT cohorts.

    Raises :class:`InputError` if the table is malformed or a format is unknown. A listed file
    that is missing, or rows naming the same files, are logged as warnings naming the cases:
    reading such a case fails alone, naming its missing file (:func:`cases_of`), and the others
    are read.
    """
    folder = Path(folder).resolve()
    required = ("case_id", "format", "image", "gtv_mask", "rtstruct")
    table = _upgrade(_read_csv(folder, "manifest.csv", required), folder / "manifest.csv")
    unknown = sorted(set(table["format"].dropna()) - set(FORMATS))
    if unknown or table["format"].isna().any():
        raise InputError(
            f"{folder / 'manifest.csv'}: format must be one of {', '.join(FORMATS)} "
            f"(found {', '.join(map(str, unknown)) or 'empty'})."
        )
    for column in PATH_COLUMNS:
        absolute = [None if pd.isna(p) else str(folder / p) for p in table[column]]
        table[column] = pd.Series(absolute, index=table.index, dtype=object)
    _warn_of_files(table, folder / "manifest.csv")
    return table


def _files_of(row: Any) -> list[str]:
    """The files a manifest row lists (absolute paths), image first."""
    return [p for p in (getattr(row, c) for c in PATH_COLUMNS) if isinstance(p, str)]


def _warn_of_files(table: pd.DataFrame, path: Path) -> None:
    """Log the cases whose listed files do not exist (a label map's file for 'file:label'), and
    the cases whose rows name the same image or mask (the same patient twice, or a copied row:
    identical features counted twice)."""
    owners: dict[str, list[str]] = {}
    for row in table.itertuples(index=False):
        case_id = str(row.case_id)
        missing = [p for p in _files_of(row) if not structure_file(Path(p)).exists()]
        if missing:
            logger.warning(
                "%s: case %s lists files that do not exist (%s): it fails, the others are read.",
                path,
                case_id,
                ", ".join(missing),
            )
        for file in dict.fromkeys(_files_of(row)):
            owners.setdefault(file, []).append(case_id)
    shared: dict[tuple[str, ...], list[str]] = {}
    for file, cases in owners.items():
        if len(cases) > 1:
            shared.setdefault(tuple(cases), []).append(file)
    for cases, files in shared.items():
        logger.warning(
            "%s: cases %s name the same file(s) (%s): one patient's images under several IDs "
            "give identical features; keep one row per patient.",
            path,
            " and ".join(cases),
            ", ".join(files),
        )


def sites_beside(tables: Iterable[Path | str], case_ids: Iterable[str]) -> list[str]:
    """The cancer sites of ``case_ids`` in the manifest beside the first of ``tables`` that has
    one listing any of them (a cohort's clinical.csv), sorted; [] where no manifest says."""
    wanted = set(map(str, case_ids))
    for table in tables:
        folder = Path(table).parent
        if (folder / "manifest.csv").is_file():  # read as the manifest reads, legacy included
            manifest = _upgrade(_read_csv(folder, "manifest.csv", ("case_id",)), folder)
            listed = manifest["case_id"].isin(wanted)
            if listed.any():
                return sorted(set(manifest.loc[listed, "site"].dropna()))
    return []


def read_clinical(folder: Path) -> pd.DataFrame:
    """clinical.csv: case_id, time (days), event (0/1) and the clinical columns."""
    return _read_csv(folder, "clinical.csv", ("case_id", "time", "event"))


def read_truth(folder: Path) -> pd.DataFrame:
    """truth.csv: case_id, true_log_hazard, liver_damage, tumor_heterogeneity, scanner."""
    return _read_csv(
        folder,
        "truth.csv",
        ("case_id", "true_log_hazard", "liver_damage", "tumor_heterogeneity", "scanner"),
    )


@dataclass(frozen=True)
class CohortRow:
    """What a cohort says of one of its case folders: its ``clinical`` values (its clinical.csv
    row less case_id, time and event, and its missing cells; None without a row), its ``site``
    and its ``modality`` (an MR cohort's ``image.nii.gz`` names none); ``cohort`` is the cohort
    folder (its schema.yaml checks the values)."""

    cohort: Path
    clinical: dict[str, Any] | None
    site: str | None
    modality: str | None = None


def cohort_row(case_folder: Path) -> CohortRow | None:
    """The cohort row of a case folder a cohort's manifest lists (``<cohort>/cases/<case id>``),
    else None: an imported cohort's case folder holds no clinical.json, and scored alone it
    imputed every value and knew no site. Read once per cohort while its tables are unchanged."""
    folder = Path(case_folder).resolve()
    cohort = folder.parent.parent
    if folder.parent.name != "cases" or not (cohort / "manifest.csv").is_file():
        return None
    stamp = tuple(
        (cohort / name).stat().st_mtime_ns if (cohort / name).is_file() else None
        for name in ("manifest.csv", "clinical.csv")
    )
    found = _cohort_rows(cohort, stamp).get(folder)
    if found is None or found.clinical is None:
        return found
    return replace(found, clinical=dict(found.clinical))  # the cached row stays as read


@functools.lru_cache(maxsize=8)
def _cohort_rows(cohort: Path, stamp: tuple[int | None, ...]) -> dict[Path, CohortRow]:
    """:func:`cohort_row` of every case folder of ``cohort`` (``stamp``: its tables' times)."""
    try:
        manifest = read_manifest(cohort)
        table = read_clinical(cohort) if stamp[1] is not None else None
    except InputError:  # a malformed table: the case is read as a folder of its own
        return {}
    rows = {} if table is None else {str(r["case_id"]): r for r in table.to_dict("records")}
    sites, modalities = sites_of(manifest), modalities_of(manifest)
    found = {}
    for case_id, folder in cases_of(manifest):
        row = rows.get(case_id)
        values = (
            None
            if row is None
            else {
                k: v
                for k, v in row.items()
                if k not in ("case_id", "time", "event") and not pd.isna(v)
            }
        )
        found[folder.resolve()] = CohortRow(
            cohort, values, sites.get(case_id), modalities.get(case_id)
        )
    return found


def cohort_cases(cohort: Path) -> list[tuple[str, Path]]:
    """(case id, case folder) of every case in the cohort's manifest, in manifest order."""
    return cases_of(read_manifest(cohort))


def cases_of(manifest: pd.DataFrame) -> list[tuple[str, Path]]:
    """(case id, case folder) of every row of a manifest, in its order: a volume case's folder
    holds every file its row names (:func:`volume_files_of`); a DICOM case's is its image
    series' parent (``cases/<id>/ct``: ``cases/<id>``, beside its RTSTRUCT), unless that parent
    holds other rows' series too: then the image folder is the patient's (slices and RTSTRUCT
    together, as PACS exports them; its parent ``cases/`` read as every case held every
    patient)."""
    rows = list(manifest.itertuples(index=False))
    folders = [_case_folder(row) for row in rows]
    shared = {f for f, n in Counter(folders).items() if n > 1}
    return [
        (str(row.case_id), Path(row.image) if row.format == "dicom" and f in shared else f)
        for row, f in zip(rows, folders, strict=True)
    ]


#: A case's volume files as its manifest row names them, relative to its case folder (posix):
#: (image file, ((role, (mask file,)), ...)); a role of no file: the case has none.
VolumeFiles = tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]


def _named_volumes(row: Any) -> dict[str, str | None] | None:
    """Role ('image', 'gtv', 'organ') -> the file a volume case's row names (None: no organ);
    None for a row the loader reads by matching names (DICOM, or no GTV mask named)."""
    if row.format == "dicom" or not isinstance(row.gtv_mask, str):
        return None
    organ = row.organ_mask if isinstance(row.organ_mask, str) else None
    return {"image": row.image, "gtv": row.gtv_mask, "organ": organ}


def _case_folder(row: Any) -> Path:
    """The deepest folder holding every file a volume case's row names (an images/ and a masks/
    folder: their parent), else the image's folder."""
    named = _named_volumes(row)
    if named is None:
        return Path(row.image).parent
    return Path(os.path.commonpath([Path(p).parent for p in named.values() if p is not None]))


def volume_files_of(manifest: pd.DataFrame) -> dict[str, VolumeFiles]:
    """Case id -> the image and role masks its manifest row names, for volume-file cases (DICOM
    ones name their structures in the RTSTRUCT): the case is those files alone. A folder may
    hold more volumes than the row lists (a nodal GTV beside the GTV, every patient's files in
    one folder), which the loader's name matching would take; a row without an organ mask names
    none, so that no other file is taken as the organ."""
    out: dict[str, VolumeFiles] = {}
    for row in manifest.itertuples(index=False):
        named = _named_volumes(row)
        if named is None:
            continue
        folder = _case_folder(row)
        inside = {role: _relative(path, folder) for role, path in named.items()}
        roles = tuple((role, inside[role]) for role in ("gtv", "organ"))
        out[str(row.case_id)] = (inside["image"][0], roles)
    return out


def structure_sets_of(manifest: pd.DataFrame) -> dict[str, str]:
    """Case id -> the RTSTRUCT or SEG file a DICOM case's row names (absolute), which its loader
    reads where the case's folder holds several structure sets (a planning and a research one)."""
    return {
        str(row.case_id): row.rtstruct
        for row in manifest.itertuples(index=False)
        if row.format == "dicom" and isinstance(row.rtstruct, str)
    }


def _relative(path: str | None, folder: Path) -> tuple[str, ...]:
    """``path`` below ``folder`` (posix), as a tuple of it; () for no file."""
    return () if path is None else (Path(path).relative_to(folder).as_posix(),)


def own_files(files: VolumeFiles | None, folder: Path) -> list[str] | None:
    """The files a manifest row names (image and masks, below its case ``folder``), or None: a
    label map's file for a mask named as 'file:label', so that a cache keyed by these files
    changes when that mask is corrected."""
    if files is None:
        return None
    image, roles = files
    names = [image, *(name for _, listed in roles for name in listed)]
    files = (structure_file(folder / name).relative_to(folder) for name in names)
    return list(dict.fromkeys(file.as_posix() for file in files))


def named_files(files: VolumeFiles | None) -> dict[str, Any]:
    """:func:`~survival_core.io.case_loader.load_case` arguments naming a volume case's image
    and masks as its manifest row does (none: the loader matches its folder's files by name)."""
    if files is None:
        return {}
    image, roles = files
    return {"image_name": image, "roles": {role: list(names) for role, names in roles}}


@dataclass(frozen=True)
class CaseRead:
    """A manifest row's case as it is read: its folder, the modality its volume files are read
    as (None: the manifest says none), the files its row names (a case of a folder of every
    patient's files is those alone) and the structure set it names."""

    case_id: str
    folder: Path
    modality: str | None = None
    volume_files: VolumeFiles | None = None
    structure_set: str | None = None

    def load_options(self) -> dict[str, Any]:
        """:func:`~survival_core.io.case_loader.load_case` arguments reading the case so."""
        return {
            "case_id": self.case_id,
            "modality": self.modality,
            "structure_set": self.structure_set,
            **named_files(self.volume_files),
        }

    def key(self) -> str:
        """SHA-256 (hex) of what the case is read from: the bytes of the files its row names
        (else of its folder) and how they are read."""
        from survival_core.io.hashing import content_hash

        names = own_files(self.volume_files, self.folder)
        how = json.dumps([self.modality, self.volume_files, self.structure_set])
        return hashlib.sha256(f"{content_hash(self.folder, names)}\0{how}".encode()).hexdigest()


def cases_read_as(cohort: Path) -> list[CaseRead]:
    """How every case of the cohort's manifest is read (:class:`CaseRead`), in its order."""
    manifest = read_manifest(Path(cohort))
    modalities, files = modalities_of(manifest), volume_files_of(manifest)
    sets = structure_sets_of(manifest)
    return [
        CaseRead(case_id, folder, modalities.get(case_id), files.get(case_id), sets.get(case_id))
        for case_id, folder in cases_of(manifest)
    ]


def modalities_of(manifest: pd.DataFrame) -> dict[str, str]:
    """Case id -> modality, as the manifest's ``modality`` column says (volume files carry none;
    a case without one is left out)."""
    return {case_id: value.upper() for case_id, value in _said(manifest, "modality").items()}


def sites_of(manifest: pd.DataFrame) -> dict[str, str]:
    """Case id -> cancer site, as the manifest's ``site`` column says (a case without one is left
    out)."""
    return {case_id: value.lower() for case_id, value in _said(manifest, "site").items()}


def _said(manifest: pd.DataFrame, column: str) -> dict[str, str]:
    """Case id -> the stripped text of ``column`` where the manifest row gives one."""
    return {
        str(row.case_id): getattr(row, column).strip()
        for row in manifest.itertuples(index=False)
        if isinstance(getattr(row, column, None), str) and getattr(row, column).strip()
    }
