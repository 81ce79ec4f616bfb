"""Reruns of ``cohort import`` into a cohort folder: a case damaged since is written again, the
feature tables and run outputs RadSurv wrote there do not block it, copies of one patient's
images and empty patient folders are reported; the clinical join's ID hint."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.cohort.clinical_join import id_variants
from survival_core.cohort.importer import import_images
from survival_core.errors import ConfigError


def write_patient(folder: Path, seed: int, size: int = 24) -> None:
    """A small liver CT patient: image.nii.gz, gtv.nii.gz inside liver.nii.gz."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    voxels = rng.normal(60, 20, (12, size, size)).astype(np.int16)
    liver = np.zeros(voxels.shape, np.uint8)
    liver[2:10, 3 : size - 3, 3 : size - 3] = 1
    gtv = np.zeros(voxels.shape, np.uint8)
    gtv[4:8, 8:14, 8 : 14 + seed % 3] = 1
    for name, array in (("image", voxels), ("liver", liver), ("gtv", gtv)):
        volume = sitk.GetImageFromArray(array)
        volume.SetSpacing((1.0 + 0.1 * seed, 1.0 + 0.1 * seed, 3.0))
        sitk.WriteImage(volume, str(folder / f"{name}.nii.gz"))


def _import(download: Path, out: Path) -> dict[str, str]:
    result = import_images(download, out, site="liver", workers=1)
    return {o.patient: o.status for o in result.outcomes}


@pytest.fixture
def download(tmp_path: Path) -> Path:
    for seed, name in enumerate(("Pat-01", "Pat-02"), 1):
        write_patient(tmp_path / "download" / name, seed)
    return tmp_path / "download"


def test_a_case_whose_file_was_deleted_is_imported_again(download: Path, tmp_path: Path) -> None:
    """A rerun compared only the download's hash: a case whose gtv.nii.gz was deleted since was
    'unchanged' and stayed broken; the others stay untouched."""
    out = tmp_path / "cohort"
    first = _import(download, out)
    assert set(first.values()) == {"imported"}
    broken, kept = sorted(first)
    (out / "cases" / broken / "gtv.nii.gz").unlink()
    again = _import(download, out)
    assert again == {broken: "imported", kept: "unchanged"}
    assert (out / "cases" / broken / "gtv.nii.gz").is_file()
    (out / "cases" / kept / "image.nii.gz").write_bytes(b"changed")
    assert _import(download, out) == {broken: "unchanged", kept: "imported"}


def test_feature_tables_and_run_outputs_do_not_block_a_rerun(
    download: Path, tmp_path: Path
) -> None:
    """A feature table with its failures table, and a cv output folder, written into the cohort
    folder (the README's example) refused the rerun; a file RadSurv never writes still does."""
    out = tmp_path / "cohort"
    _import(download, out)
    (out / "han.parquet").write_bytes(b"PAR1")
    (out / "han.failures.csv").write_text("case_id,error\n")
    (out / "wei.csv").write_text("case_id\n")
    (out / "wei.failures.csv").write_text("case_id,error\n")
    cv = out / "cv_run"
    cv.mkdir()
    for name in ("folds.csv", "oof.csv", "summary.json"):
        (cv / name).write_text("")
    assert set(_import(download, out).values()) == {"unchanged"}
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="notes.txt"):
        _import(download, out)


def test_one_patients_images_under_two_ids_are_named_in_the_report(
    download: Path, tmp_path: Path
) -> None:
    """A patient folder copied under another ID was imported silently: both cases' outcomes
    now name the other, and both are still imported."""
    shutil.copytree(download / "Pat-01", download / "Pat-17")
    result = import_images(download, tmp_path / "cohort", site="liver", workers=1)
    said = {o.patient: o.reason for o in result.outcomes}
    assert {o.status for o in result.outcomes} == {"imported"}
    copies = [c for c, reason in said.items() if "identical" in reason]
    assert len(copies) == 2
    first, second = copies
    assert second in said[first] and first in said[second]


def test_an_empty_patient_folder_is_listed_as_skipped(download: Path, tmp_path: Path) -> None:
    """An empty patient folder appeared nowhere in the import's report."""
    (download / "Pat-14").mkdir()
    (download / "Pat-15" / "study").mkdir(parents=True)
    result = import_images(download, tmp_path / "cohort", site="liver", workers=1)
    empty = [s for s in result.skipped if "empty folder" in s]
    assert sorted(s.split(":")[0] for s in empty) == ["Pat-14/", "Pat-15/"]
    assert len(result.outcomes) == 2


@pytest.mark.parametrize(
    ("sheet", "image"),
    [("PAT-04", "Pat-04"), ("pat_01", "Pat-01"), ("7", "007"), ("Pat-01", "Pat-1"),
     ("7.0", "7"), ("12.00", "0012")],
)  # fmt: skip
def test_id_variants_differ_by_case_and_punctuation_together(sheet: str, image: str) -> None:
    """'PAT-04' against 'Pat-04', 'pat_01' against 'Pat-01' got no hint (only all-upper or
    all-lower spellings were tried); padding is still tried with them, and a number a sheet
    wrote as a float ('7.0') is tried without its '.0'."""
    assert image in id_variants(sheet)


def test_identical_masks_of_two_patients_are_no_copied_patient(download: Path, tmp_path: Path):
    """Two patients whose liver masks are byte-identical (an atlas, an empty organ) were said to
    be one patient under two IDs: only images count."""
    shutil.copy(download / "Pat-01" / "liver.nii.gz", download / "Pat-02" / "liver.nii.gz")
    result = import_images(download, tmp_path / "cohort", site="liver", workers=1)
    assert not [o for o in result.outcomes if "identical" in o.reason]


def test_another_centres_patients_under_the_same_ids_are_said_to_replace_the_cases(
    download: Path, tmp_path: Path
) -> None:
    """A second hospital's download, its patient IDs repeating the first's, imported into the
    same cohort folder replaced those cases with other patients' images, reported as a plain
    'imported'; a corrected contour of the same images is no such replacement."""
    out = tmp_path / "cohort"
    _import(download, out)
    gtv = download / "Pat-01" / "gtv.nii.gz"
    mask = sitk.ReadImage(str(gtv))
    sitk.WriteImage(sitk.BinaryDilate(mask, [1, 1, 0]), str(gtv))
    result = import_images(download, out, site="liver", workers=1)
    assert sorted(o.status for o in result.outcomes) == ["imported", "unchanged"]
    assert result.replaced == [] and "replaced_with_other_images" not in result.summary()
    other = tmp_path / "other-centre"
    for seed, name in enumerate(("Pat-01", "Pat-02"), 5):
        write_patient(other / name, seed)
    said: list[str] = []
    result = import_images(other, out, site="liver", workers=1, progress=said.append)
    assert {o.status for o in result.outcomes} == {"imported"}
    assert all("another centre's patient with the same ID" in o.reason for o in result.outcomes)
    assert result.summary()["replaced_with_other_images"] == 2
    assert any(
        line.startswith("warning: 2 case(s) of earlier imports were replaced") for line in said
    )
