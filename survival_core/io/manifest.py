"""Read a cohort folder (the format :mod:`survival_core.synthetic.generate` writes).

``manifest.csv`` lists each case's format, site, modality and files (relative to the folder),
``clinical.csv`` the outcomes and clinical variables, ``truth.csv`` the simulation's ground truth.
Manifests written before sites existed have ``liver_mask`` instead of ``organ_mask`` and no
``site`` or ``modality``: they are read as liver CT cohorts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from survival_core.errors import InputError

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
_PATH_COLUMNS = ("image", "organ_mask", "gtv_mask", "rtstruct")
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

    Raises :class:`InputError` if the table is malformed, a format is unknown or a listed file
    is missing.
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
    missing = []
    for column in _PATH_COLUMNS:
        absolute = [None if pd.isna(p) else str(folder / p) for p in table[column]]
        missing += [p for p in absolute if p is not None and not Path(p).exists()]
        table[column] = pd.Series(absolute, index=table.index, dtype=object)
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        shown = ", ".join(missing[:3]) + more
        raise InputError(f"{folder / 'manifest.csv'} lists files that do not exist: {shown}.")
    return table


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


def cohort_cases(cohort: Path) -> list[tuple[str, Path]]:
    """(case id, case folder) of every case in the cohort's manifest, in manifest order."""
    return cases_of(read_manifest(cohort))


def cases_of(manifest: pd.DataFrame) -> list[tuple[str, Path]]:
    """(case id, case folder) of every row of a manifest, in its order."""
    return [(str(row.case_id), Path(row.image).parent) for row in manifest.itertuples(index=False)]


#: A case's volume files as its manifest row names them: (image file, ((role, (mask file,)), ...)).
VolumeFiles = tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]


def volume_files_of(manifest: pd.DataFrame) -> dict[str, VolumeFiles]:
    """Case id -> the image and role masks its manifest row names, for volume-file cases (DICOM
    ones name their structures in the RTSTRUCT): a folder may hold more volumes than the row
    lists (a nodal GTV beside the GTV), which the loader's name matching would unite."""
    out: dict[str, VolumeFiles] = {}
    for row in manifest.itertuples(index=False):
        if row.format == "dicom" or not isinstance(row.gtv_mask, str):
            continue
        roles = [("gtv", (Path(row.gtv_mask).name,))]
        if isinstance(row.organ_mask, str):
            roles.append(("organ", (Path(row.organ_mask).name,)))
        out[str(row.case_id)] = (Path(row.image).name, tuple(roles))
    return out


def cases_read_as(cohort: Path) -> list[tuple[str, Path, str | None]]:
    """(case id, case folder, modality its volume files are read as: the manifest's, None where
    it says none) of every case in the cohort's manifest, in its order."""
    manifest = read_manifest(Path(cohort))
    modalities = modalities_of(manifest)
    return [(case_id, folder, modalities.get(case_id)) for case_id, folder in cases_of(manifest)]


def modalities_of(manifest: pd.DataFrame) -> dict[str, str]:
    """Case id -> modality, as the manifest's ``modality`` column says (volume files carry none;
    a case without one is left out)."""
    return {
        str(row.case_id): str(row.modality).upper()
        for row in manifest.itertuples(index=False)
        if isinstance(getattr(row, "modality", None), str) and row.modality.strip()
    }
