"""Tests of the cohort manifest reader: today's layout, the old liver-only one, and their errors."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import SimpleITK as sitk

from survival_core.case import Case
from survival_core.errors import InputError
from survival_core.io.case_loader import load_case
from survival_core.io.manifest import (
    MANIFEST_COLUMNS,
    cases_of,
    named_files,
    read_manifest,
    volume_files_of,
)
from tests.test_cohort_import_reruns import write_patient


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


def test_a_missing_file_fails_its_case_alone(tmp_path, caplog) -> None:
    """One case's deleted mask refused the whole manifest ('lists files that do not exist'), so
    no case of the cohort was extracted; now that case alone fails, naming the file."""
    folder = tmp_path / "gone"
    for case_id, seed in (("A", 1), ("B", 2)):
        write_patient(folder / "cases" / case_id, seed)
    rows = [f"{c},nifti,liver,CT,{_files(f'cases/{c}/')}," for c in ("A", "B")]
    _manifest(folder, *rows)
    (folder / "cases/B/gtv.nii.gz").unlink()
    with caplog.at_level(logging.WARNING, logger="survival_core.io.manifest"):
        manifest = read_manifest(folder)
    assert "case B" in caplog.text and "cases/B/gtv.nii.gz" in caplog.text
    assert "case A" not in caplog.text
    assert _load(manifest, "A").masks["gtv"] is not None
    with pytest.raises(InputError, match="cases/B/gtv.nii.gz do not exist"):
        _load(manifest, "B")


def test_a_label_of_an_existing_label_map_is_no_missing_file(tmp_path, caplog) -> None:
    """A row naming a label of its mask ('gtv.nii.gz:2') was warned of as listing a file that
    does not exist, 'it fails', and was then read; only a label map that is not there is."""
    folder = tmp_path / "labels"
    for case_id, seed in (("A", 1), ("B", 2)):
        write_patient(folder / "cases" / case_id, seed)
    rows = [f"{c},nifti,liver,CT,{_files(f'cases/{c}/')}," for c in ("A", "B")]
    _manifest(folder, *(row.replace("gtv.nii.gz", "gtv.nii.gz:1") for row in rows))
    (folder / "cases/B/gtv.nii.gz").unlink()
    with caplog.at_level(logging.WARNING, logger="survival_core.io.manifest"):
        read_manifest(folder)
    assert "case B" in caplog.text and "cases/B/gtv.nii.gz:1" in caplog.text
    assert "case A" not in caplog.text


HEADER = "case_id,format,site,modality,image,organ_mask,gtv_mask,rtstruct"


def _files(prefix: str, stem: str = "") -> str:
    """The image, organ and GTV cells of a row whose files are ``prefix`` + ``stem`` names."""
    return ",".join(f"{prefix}{stem}{n}.nii.gz" for n in ("image", "liver", "gtv"))


def _manifest(folder: Path, *rows: str) -> Path:
    (folder / "manifest.csv").write_text("\n".join((HEADER, *rows)) + "\n")
    return folder


def _load(manifest, case_id: str, **settings) -> Case:
    """The case as a cohort extraction loads it (its manifest row's folder and files)."""
    folder = dict(cases_of(manifest))[case_id]
    files = volume_files_of(manifest).get(case_id)
    return load_case(folder, case_id=case_id, **named_files(files), **settings)


def _gtv_voxels(case: Case) -> int:
    return int(sitk.GetArrayFromImage(case.masks["gtv"]).sum())


def _own_voxels(folder: Path, name: str) -> int:
    return int(sitk.GetArrayFromImage(sitk.ReadImage(str(folder / name))).sum())


def test_masks_in_their_own_folder_are_read_from_the_paths_the_row_gives(tmp_path) -> None:
    """images/P1.nii.gz with masks/P1_gtv.nii.gz failed ('holds an image but no mask'): the case
    folder was the image's, and the masks' paths were cut to their names."""
    folder = tmp_path / "split"
    for case_id, seed in (("P1", 1), ("P2", 2)):
        write_patient(folder / "patients" / case_id, seed)
        for kind, name in (("images", "image"), ("masks", "liver"), ("masks", "gtv")):
            (folder / kind).mkdir(exist_ok=True)
            shutil.move(
                folder / "patients" / case_id / f"{name}.nii.gz",
                folder / kind / f"{case_id}_{name}.nii.gz",
            )
    shutil.rmtree(folder / "patients")
    rows = [
        f"{c},nifti,liver,CT,images/{c}_image.nii.gz,masks/{c}_liver.nii.gz,masks/{c}_gtv.nii.gz,"
        for c in ("P1", "P2")
    ]
    manifest = read_manifest(_manifest(folder, *rows))
    for case_id in ("P1", "P2"):
        case = _load(manifest, case_id, require=("gtv", "organ"))
        assert _gtv_voxels(case) == _own_voxels(folder / "masks", f"{case_id}_gtv.nii.gz")
        assert set(case.structures) == {
            f"masks/{case_id}_gtv.nii.gz",
            f"masks/{case_id}_liver.nii.gz",
        }
    files = volume_files_of(manifest)
    assert files["P1"] != files["P2"]  # the feature cache key tells the two reads apart


def test_a_flat_folder_of_every_patient_reads_only_each_rows_files(tmp_path) -> None:
    """In one folder of every patient's files, P1 read P2's masks too (by their names), and
    failed on P2's grid; a row without an organ mask took another patient's liver."""
    folder = tmp_path / "flat"
    for case_id, seed in (("P1", 1), ("P2", 2)):
        write_patient(folder / case_id, seed)
        for name in ("image", "liver", "gtv"):
            shutil.move(folder / case_id / f"{name}.nii.gz", folder / f"{case_id}_{name}.nii.gz")
        (folder / case_id).rmdir()
    rows = [
        "P1,nifti,liver,CT,P1_image.nii.gz,,P1_gtv.nii.gz,",
        f"P2,nifti,liver,CT,{_files('', 'P2_')},",
    ]
    manifest = read_manifest(_manifest(folder, *rows))
    first = _load(manifest, "P1")
    assert _gtv_voxels(first) == _own_voxels(folder, "P1_gtv.nii.gz")
    assert "organ" not in first.masks and list(first.structures) == ["P1_gtv.nii.gz"]
    second = _load(manifest, "P2", require=("gtv", "organ"))
    assert _gtv_voxels(second) == _own_voxels(folder, "P2_gtv.nii.gz")


def test_rows_naming_the_same_files_are_warned_of(tmp_path, caplog) -> None:
    """Rows C and A naming the same files gave identical features without a word."""
    folder = tmp_path / "twice"
    write_patient(folder / "img", 1)
    shutil.copy(folder / "img/image.nii.gz", folder / "img/other.nii.gz")
    row = f"nifti,liver,CT,{_files('img/')},"
    _manifest(folder, f"A,{row}", f"C,{row.replace('img/image', 'img/other')}")
    with caplog.at_level(logging.WARNING, logger="survival_core.io.manifest"):
        read_manifest(folder)
    assert "cases A and C name the same file(s)" in caplog.text
    assert "gtv.nii.gz" in caplog.text and "other.nii.gz" not in caplog.text


def test_another_patients_pet_in_a_shared_folder_is_no_companion(tmp_path: Path) -> None:
    """In one folder of every patient's files, a row's case took the folder's only PET, another
    patient's, as its own companion image."""
    import numpy as np
    import SimpleITK as sitk

    from survival_core.io.case_loader import load_case
    from survival_core.io.manifest import cases_of, read_manifest, volume_files_of

    def volume(path: Path, mask: bool = False) -> None:
        rng = np.random.default_rng(len(path.name))
        array = np.zeros((12, 20, 20), np.uint8) if mask else rng.normal(40, 300, (12, 20, 20))
        if mask:
            array[4:8, 6:14, 6:14] = 1
        image = sitk.GetImageFromArray(array.astype(np.uint8 if mask else np.int16))
        image.SetSpacing((1.0, 1.0, 2.0))
        path.parent.mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(image, str(path))

    for patient in ("P1", "P2"):
        volume(tmp_path / "all" / f"{patient}_CT.nii.gz")
        volume(tmp_path / "all" / f"{patient}_GTV.nii.gz", mask=True)
    volume(tmp_path / "all" / "P2_PT.nii.gz")
    (tmp_path / "manifest.csv").write_text(
        "case_id,format,site,modality,image,organ_mask,gtv_mask,rtstruct\n"
        "P1,nifti,liver,CT,all/P1_CT.nii.gz,,all/P1_GTV.nii.gz,\n"
        "P2,nifti,liver,CT,all/P2_CT.nii.gz,,all/P2_GTV.nii.gz,\n"
    )
    manifest = read_manifest(tmp_path)
    folder = dict(cases_of(manifest))["P1"]
    image, roles = volume_files_of(manifest)["P1"]
    case = load_case(
        folder, case_id="P1", image_name=image, roles={r: list(n) for r, n in roles},
        companions=True,
    )  # fmt: skip
    assert not case.companions
