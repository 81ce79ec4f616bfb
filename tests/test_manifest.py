"""Tests of the cohort manifest reader: today's layout, the old liver-only one, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from survival_core.errors import InputError
from survival_core.io.manifest import MANIFEST_COLUMNS, read_manifest


def _cohort(folder: Path, header: str, *rows: str) -> Path:
    """A cohort folder with ``manifest.csv`` and an empty file at every listed path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.csv").write_text("\n".join((header, *rows)) + "\n")
    for row in rows:
        for cell in row.split(","):
            if cell.startswith("cases/"):
                (folder / cell).parent.mkdir(parents=True, exist_ok=True)
                (folder / cell).touch()
    return folder


def test_old_manifest_is_a_liver_ct_cohort(tmp_path) -> None:
    folder = _cohort(
        tmp_path / "old",
        "case_id,format,image,liver_mask,gtv_mask,rtstruct",
        "A,nifti,cases/A/image.nii.gz,cases/A/liver.nii.gz,cases/A/gtv.nii.gz,",
        "B,dicom,cases/B/ct,,,cases/B/rtstruct.dcm",
    )
    table = read_manifest(folder)
    assert list(table.columns) == list(MANIFEST_COLUMNS)
    assert table["organ_mask"].tolist() == [str(folder / "cases/A/liver.nii.gz"), None]
    assert table["site"].tolist() == ["liver", "liver"]
    assert table["modality"].tolist() == ["CT", "CT"]


def test_new_manifest_with_sites_modalities_and_missing_organs(tmp_path) -> None:
    folder = _cohort(
        tmp_path / "new",
        "case_id,format,site,modality,image,organ_mask,gtv_mask,rtstruct,note",
        "A,nifti,Lung,mr,cases/A/image.nii.gz,cases/A/lung.nii.gz,cases/A/gtv.nii.gz,,x",
        "B,nifti,head_and_neck,CT,cases/B/image.nii.gz,,cases/B/gtv.nii.gz,,",
        "C,dicom,,,cases/C/ct,,,cases/C/rtstruct.dcm,",
    )
    table = read_manifest(folder)
    assert list(table.columns) == [*MANIFEST_COLUMNS, "note"]
    assert table["site"].tolist() == ["lung", "head_and_neck", None]
    assert table["modality"].tolist() == ["MR", "CT", None]
    assert table["organ_mask"].tolist() == [str(folder / "cases/A/lung.nii.gz"), None, None]


def test_manifest_without_site_columns_leaves_them_unknown(tmp_path) -> None:
    folder = _cohort(
        tmp_path / "plain",
        "case_id,format,image,organ_mask,gtv_mask,rtstruct",
        "A,nifti,cases/A/image.nii.gz,cases/A/brain.nii.gz,cases/A/gtv.nii.gz,",
    )
    table = read_manifest(folder)
    assert table["site"].tolist() == [None] and table["modality"].tolist() == [None]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("case_id,format,image,gtv_mask,rtstruct", "organ_mask"),
        ("case_id,format,image,organ_mask,rtstruct", "gtv_mask"),
    ],
)
def test_missing_columns_are_named(tmp_path, header: str, message: str) -> None:
    folder = _cohort(tmp_path / "bad", header)
    with pytest.raises(InputError, match=message):
        read_manifest(folder)


def test_missing_organ_file_is_refused(tmp_path) -> None:
    folder = _cohort(
        tmp_path / "gone",
        "case_id,format,site,modality,image,organ_mask,gtv_mask,rtstruct",
        "A,nifti,lung,CT,cases/A/image.nii.gz,cases/A/lung.nii.gz,cases/A/gtv.nii.gz,",
    )
    (folder / "cases/A/lung.nii.gz").unlink()
    with pytest.raises(InputError, match="lung.nii.gz"):
        read_manifest(folder)
