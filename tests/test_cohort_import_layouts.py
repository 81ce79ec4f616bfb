"""Downloads as physicists deliver them: a table imported before its images, numeric PatientIDs
in a ROI map, zips inside zips, a baseline and a follow-up study, MR contours on the CT, image
files named after their organ, structure names holding the patient's ID, PatientIDs that name
no one."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk

from survival_core.cohort.clinical_join import import_table, join_clinical
from survival_core.cohort.importer import (
    case_ids_for,
    check_roi_map,
    import_images,
    read_roi_map,
)
from survival_core.errors import InputError, RTStructError
from survival_core.io.archive import extract_nested
from survival_core.io.case_loader import is_image_volume, is_mask_like, load_case
from survival_core.io.deid import KEY_FILE, Deidentifier
from survival_core.io.manifest import read_manifest
from survival_core.io.tables import TIME_UNITS


@pytest.fixture(scope="module")
def sarcoma(shared_data: Path) -> Path:
    """TCIA STS_001 (marked PatientIdentityRemoved=YES): CT and T1 MR, each with an RTSTRUCT."""
    folder = shared_data / "sts_sarcoma" / "STS_001"
    if not folder.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    return folder


@pytest.fixture(scope="module")
def pyradiomics(shared_data: Path) -> Path:
    folder = shared_data / "pyradiomics"
    if not (folder / "breast1_image.nrrd").is_file():
        pytest.skip("pyradiomics' samples not in ../shared/data")
    return folder


def _volume_patient(pyradiomics: Path, folder: Path, image_name: str) -> None:
    """pyradiomics' small breast1 sample as one patient's folder: its image as ``image_name``,
    its label as gtv.nrrd."""
    folder.mkdir(parents=True)
    shutil.copy(pyradiomics / "breast1_image.nrrd", folder / image_name)
    shutil.copy(pyradiomics / "breast1_label.nrrd", folder / "gtv.nrrd")


def test_a_table_imported_first_joins_the_marked_patients_imported_later(
    sarcoma: Path, tmp_path: Path
) -> None:
    """A table-only import keys every row by pseudonym; the images of a patient marked
    de-identified keep the PatientID as the case id: its row never met its images."""
    download = tmp_path / "download" / "STS_001"
    shutil.copytree(sarcoma / "CT", download)
    sheet = tmp_path / "clinical.csv"
    sheet.write_text("PatientID,OS_days,death\nSTS_001,400,1\nSTS_999,300,0\n")
    out = tmp_path / "cohort"
    import_table(out, sheet)
    result = import_images(tmp_path / "download", out, site="sarcoma", workers=1)
    (outcome,) = result.outcomes
    assert outcome.patient == "STS_001" and "row of clinical.csv" in outcome.reason
    assert result.summary()["clinical_rows_rekeyed"] == 1
    clinical = pd.read_csv(out / "clinical.csv", index_col="case_id")
    assert sorted(clinical.index) == sorted(["STS_001", Deidentifier().pseudonym("STS_999")])
    assert clinical.loc["STS_001", "time"] == 400
    assert "re-keyed to the case id" in (out / "clinical_report.csv").read_text()
    again = import_images(tmp_path / "download", out, site="sarcoma", workers=1)
    assert again.summary()["clinical_rows_rekeyed"] == 0


def test_numeric_patient_ids_of_a_roi_map_are_read_as_written(
    pyradiomics: Path, tmp_path: Path
) -> None:
    """YAML read 001 as 1 and 0010 (octal) as 8: the entries missed their patients or fell on
    another; an entry naming no patient of the download is now counted in the summary."""
    roi_map = tmp_path / "roi.yaml"
    roi_map.write_text("patients:\n  001: {gtv: [gtv.nrrd]}\n  0010: {gtv: [gtv.nrrd]}\n")
    assert list(read_roi_map(roi_map)["patients"]) == ["001", "0010"]
    _volume_patient(pyradiomics, tmp_path / "download" / "001", "image.nrrd")
    result = import_images(
        tmp_path / "download", tmp_path / "cohort", roi_map=read_roi_map(roi_map), workers=1
    )
    assert [o.status for o in result.outcomes] == ["imported"]
    assert result.unmatched_roi_entries == ["0010"]
    assert result.summary()["roi_map_entries_without_patient"] == 1


def test_a_zip_inside_a_zip_is_opened_and_a_damaged_zip_is_reported(
    pyradiomics: Path, tmp_path: Path
) -> None:
    """A patient zipped inside the batch zip stopped the whole import; a download cut short
    (zip bytes, no central directory) was skipped as 'not a DICOM or volume file' and left out
    of the report."""
    patient = tmp_path / "PAT-01"
    _volume_patient(pyradiomics, patient, "image.nrrd")
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        for path in sorted(patient.iterdir()):
            archive.write(path, f"PAT-01/{path.name}")
    download = tmp_path / "download"
    download.mkdir()
    with zipfile.ZipFile(download / "batch.zip", "w") as archive:
        archive.writestr("inner/PAT-01.zip", inner.getvalue())
    (download / "PAT-02.zip").write_bytes(inner.getvalue()[:3000])
    # inside a patient's folder: a damaged zip named after the patient, and Office notes (a zip
    # too, whose members were listed as the download's files)
    (download / "PAT-03").mkdir()
    (download / "PAT-03" / "SMITH_JOHN_ct.zip").write_bytes(inner.getvalue()[:3000])
    (download / "PAT-03" / "notes.docx").write_bytes(_zipped({"word/document.xml": b"<w/>"}))
    result = import_images(download, tmp_path / "cohort", workers=1)
    said = {o.patient: (o.status, o.reason) for o in result.outcomes}
    pseudonym = Deidentifier().pseudonym
    assert said[pseudonym("batch")][0] == "imported"  # files of a zip at the top: its patient
    status, reason = said[pseudonym("PAT-02")]
    assert status == "failed" and "damaged or refused archive" in reason
    assert "PAT-02" not in reason  # the archive's name may name the patient
    assert any(s.startswith("PAT-02.zip: a damaged") for s in result.skipped)
    status, reason = said[pseudonym("PAT-03")]
    assert status == "failed" and "SMITH" not in reason and "JOHN" not in reason
    assert "PAT-03/notes.docx: not a DICOM or volume file" in result.skipped


def test_a_download_zip_of_more_files_than_an_upload_holds_is_opened(tmp_path: Path) -> None:
    """A single zip of 90 patients' 5,400 files, on the server's own disk, was refused by the
    browser upload's limit (5,000 files) and reported as one damaged patient."""
    from survival_core.cohort import inventory
    from survival_core.io import archive

    download = tmp_path / "download"
    download.mkdir()
    members = {f"P{i // 60:03d}/CT/{i:05d}.dcm": b"x" for i in range(archive.MAX_FILES + 60)}
    (download / "dl.zip").write_bytes(_zipped(members))
    workdirs: list = []
    try:
        found, unopened = inventory._files(download.resolve(), workdirs)
    finally:
        for workdir in workdirs:
            workdir.cleanup()
    assert len(found) == len(members) and not unopened


def test_an_archive_refused_for_its_size_is_not_called_damaged(
    pyradiomics: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal says which limit the archive broke, by how much, and what to do (unpack it),
    never 'download it again'."""
    from functools import partial

    from survival_core.cohort import inventory

    patient = tmp_path / "PAT-01"
    _volume_patient(pyradiomics, patient, "image.nrrd")
    download = tmp_path / "download"
    download.mkdir()
    (download / "PAT-01.zip").write_bytes(
        _zipped({f"PAT-01/{p.name}": p.read_bytes() for p in sorted(patient.iterdir())})
    )
    monkeypatch.setattr(inventory, "extract_nested", partial(extract_nested, max_files=1))
    result = import_images(download, tmp_path / "cohort", workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "failed" and "damaged" not in outcome.reason
    assert "refused for its size" in outcome.reason and "holds 2 files; at most 1" in outcome.reason
    assert "unpack it into the download folder" in outcome.reason
    assert "download it again" not in outcome.reason


def _zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_nested_zips_share_the_limits_and_their_depth_is_bounded(tmp_path: Path) -> None:
    """Each zip inside a zip gets what its parent's limits leave (nesting multiplies no zip
    bomb); one over the limit, nested too deep or of another kind is reported, the rest
    extracted."""
    source = tmp_path / "outer.zip"
    source.write_bytes(
        _zipped(
            {"a.zip": _zipped({"a.txt": b"a" * 1000}), "b.zip": _zipped({"b.txt": b"b" * 1000})}
        )
    )
    files, unopened = extract_nested(source, tmp_path / "shared", max_total_bytes=1500)
    assert [p.name for p in files] == ["a.txt"]
    assert [name for name, _ in unopened] == ["b.zip"] and "would expand" in str(unopened[0][1])

    deep = _zipped({"x.txt": b"x"})
    for _ in range(2):
        deep = _zipped({"deeper.zip": deep})
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:gz") as archive:
        archive.addfile(tarfile.TarInfo("empty.txt"), io.BytesIO())
    source.write_bytes(_zipped({"deep.zip": deep, "c.tar.gz": tar.getvalue()}))
    files, unopened = extract_nested(source, tmp_path / "deep", max_nesting=2)
    assert files == []
    why = {name: str(err) for name, err in unopened}
    assert "gzip-compressed tar archive; only zip archives are opened" in why["c.tar.gz"]
    assert "nested more than 2 levels" in why["deep/deeper/deeper.zip"]


def _study(
    source: Path,
    target: Path,
    tag: str,
    study_date: str,
    contoured: bool,
    edit: Callable[[pydicom.Dataset], None] | None = None,
) -> None:
    """The real STS_001 CT (with its RTSTRUCT when ``contoured``) as one study of the patient:
    every UID but the standard's remapped after ``tag`` (references follow), dated
    ``study_date``, each file then changed by ``edit``."""

    def remap(dataset: pydicom.Dataset, element: pydicom.DataElement) -> None:
        value = element.value
        if element.VR == "UI" and isinstance(value, str) and not value.startswith("1.2.840.10008"):
            element.value = pydicom.uid.generate_uid(entropy_srcs=[tag, value])

    files = sorted((source / "image").glob("*.dcm"))
    for path in files + ([source / "mask" / "RS.dcm"] if contoured else []):
        ds = pydicom.dcmread(path)
        ds.walk(remap)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyDate = study_date
        if edit is not None:
            edit(ds)
        written = target / path.relative_to(source)
        written.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(written)


def test_two_studies_of_a_patient_are_named_by_day_never_by_date(
    sarcoma: Path, tmp_path: Path
) -> None:
    """A baseline and a follow-up both contoured were refused as 'CT 198 x 202 x 59; CT 198 x
    202 x 59': the same words for both. Only the follow-up contoured: the baseline was dropped
    without a word."""
    patient = tmp_path / "download" / "STS_001"
    _study(sarcoma / "CT", patient / "follow-up", "fu", "20200601", contoured=True)
    _study(sarcoma / "CT", patient / "baseline", "base", "20200101", contoured=True)
    (refused,) = import_images(tmp_path / "download", tmp_path / "a", workers=1).outcomes
    assert refused.status == "failed"
    assert "study of day 0" in refused.reason and "study of day 152" in refused.reason
    assert "keep only the study to analyse" in refused.reason and "2020" not in refused.reason
    (patient / "baseline" / "mask" / "RS.dcm").unlink()
    (kept,) = import_images(tmp_path / "download", tmp_path / "b", workers=1).outcomes
    assert kept.status == "imported"
    assert "Another study of the patient was in the download and not used" in kept.reason
    assert "study of day 0); the case is the contoured CT" in kept.reason


def _unmarked(ds: pydicom.Dataset) -> None:
    """A file as the hospital's PACS sends it: not marked de-identified."""
    if "PatientIdentityRemoved" in ds:
        del ds.PatientIdentityRemoved


def test_an_unmarked_follow_up_added_on_a_rerun_keeps_the_patients_case(
    sarcoma: Path, tmp_path: Path
) -> None:
    """STS_001's contoured CT (marked de-identified: case STS_001), imported again with an
    uncontoured follow-up of the same PatientID from the PACS, unmarked: the unused study made
    the patient a pseudonym, a second case of the very same images, STS_001 was called absent
    and id_map.csv held the patient twice (its clinical row joined the stale case). Its files
    to import marked otherwise than before (or a cohort made by a version that read the marks
    of every file) keep the earlier case id, said, never a second case, never refused."""
    patient, out = tmp_path / "download" / "STS_001", tmp_path / "cohort"
    _study(sarcoma / "CT", patient / "baseline", "base", "20200101", contoured=True)
    assert [o.patient for o in import_images(tmp_path / "download", out, workers=1).outcomes] == [
        "STS_001"
    ]
    _study(sarcoma / "CT", patient / "follow-up", "fu", "20200601", False, _unmarked)
    (kept,) = import_images(tmp_path / "download", out, workers=1).outcomes
    assert (kept.patient, kept.status) == ("STS_001", "imported"), kept
    assert "Another study of the patient was in the download and not used" in kept.reason
    assert (out / "id_map.csv").read_text().count("\n") == 2  # the header and STS_001
    assert case_ids_for(out, ["STS_001"]) == {"STS_001": "STS_001"}
    shutil.rmtree(patient)
    _study(sarcoma / "CT", patient / "baseline", "base", "20200101", True, _unmarked)
    (kept,) = import_images(tmp_path / "download", out, workers=1).outcomes
    assert kept.patient == "STS_001" and kept.status in ("imported", "unchanged"), kept
    assert "It keeps the case id an earlier import gave it" in kept.reason
    assert sorted(p.name for p in (out / "cases").iterdir()) == ["STS_001"]
    assert (out / "id_map.csv").read_text().count("\n") == 2


def _retyped(patient_id: str) -> Callable[[pydicom.Dataset], None]:
    """An edit giving a file another PatientID (and name), as an archive retyping it does."""

    def edit(ds: pydicom.Dataset) -> None:
        ds.PatientID = ds.PatientName = patient_id

    return edit


def test_the_same_slices_under_two_patient_ids_are_named_in_the_report(
    sarcoma: Path, tmp_path: Path
) -> None:
    """STS_001's CT and the same export with only its PatientID retyped (same UIDs, same pixels:
    the headers' bytes differ) became two cases without a word, as did, on a rerun, the ID
    corrected in the download beside the case of the mistyped one: images were compared by
    their files' bytes. Both cases are named, the earlier one as such."""
    download = tmp_path / "download"
    _study(sarcoma / "CT", download / "STS_001", "one", "20200101", contoured=True)
    _study(sarcoma / "CT", download / "STS-001", "one", "20200101", True, _retyped("STS-001"))
    result = import_images(download, tmp_path / "a", workers=1)
    said = {o.patient: o.reason for o in result.outcomes}
    assert {o.status for o in result.outcomes} == {"imported"}, result.outcomes
    assert "identical" in said["STS_001"] and "STS-001" in said["STS_001"]
    assert "identical" in said["STS-001"] and "STS_001" in said["STS-001"]
    shutil.rmtree(download / "STS_001")
    out = tmp_path / "b"
    import_images(download, out, workers=1)
    shutil.rmtree(download)
    _study(sarcoma / "CT", download / "STS_001", "one", "20200101", contoured=True)
    said = {o.patient: o.reason for o in import_images(download, out, workers=1).outcomes}
    assert "STS-001 (a case of an earlier import)" in said["STS_001"], said
    assert said["STS-001"].startswith("not in this download")


def test_series_of_one_study_are_named_by_number_thickness_and_kernel(
    sarcoma: Path, tmp_path: Path
) -> None:
    """STS_001's CT (series 2, 3.27 mm, SOFT) and a 6.5 mm B70f series of its study: left out
    beside the contoured series, the other was not named at all; in the contours' frame of
    reference (which alone links the real RTSTRUCT to its CT), both were refused as 'CT 198 x
    202 x 59' (the inventory kept no number, thickness or kernel)."""
    patient = tmp_path / "download" / "STS_001"
    _study(sarcoma / "CT", patient / "ct", "base", "20200101", contoured=True)
    base = pydicom.dcmread(next((patient / "ct" / "image").iterdir()), stop_before_pixels=True)

    def thick(ds: pydicom.Dataset) -> None:
        ds.StudyInstanceUID = base.StudyInstanceUID
        ds.SeriesNumber, ds.SliceThickness, ds.ConvolutionKernel = 4, "6.5", "B70f"

    _study(sarcoma / "CT", patient / "thick", "thick", "20200101", False, thick)
    (kept,) = import_images(tmp_path / "download", tmp_path / "a", workers=1).outcomes
    assert kept.status == "imported", kept
    named = "CT series 4 (198 x 202 x 59 voxels, 6.5 mm slices, kernel B70f)"
    assert f"Other series of the study were not used ({named})." in kept.reason

    def in_frame(ds: pydicom.Dataset) -> None:
        thick(ds)
        ds.FrameOfReferenceUID = base.FrameOfReferenceUID

    _study(sarcoma / "CT", patient / "thick", "thick", "20200101", False, in_frame)
    (refused,) = import_images(tmp_path / "download", tmp_path / "b", workers=1).outcomes
    soft = "CT series 2 (198 x 202 x 59 voxels, 3.27 mm slices, kernel SOFT)"
    assert f"({soft}; {named}); keep only the one to analyse" in refused.reason, refused


def test_a_case_without_a_row_is_named_beside_the_case_whose_row_it_may_be(
    sarcoma: Path, tmp_path: Path
) -> None:
    """A contoured baseline under 'Q-003' and a contoured follow-up under 'Q_003' (one patient,
    two spellings), the table keyed 'Q_003': its row joined the follow-up and the baseline was
    listed as 'no clinical row for Q-003', nothing saying that its ID differs from the joined
    row's only by a separator (hints were given for unmatched rows alone)."""
    download = tmp_path / "download"
    _study(sarcoma / "CT", download / "Q-003", "base", "20200101", True, _retyped("Q-003"))
    _study(sarcoma / "CT", download / "Q_003", "fu", "20200601", True, _retyped("Q_003"))
    out = tmp_path / "cohort"
    assert {o.status for o in import_images(download, out, workers=1).outcomes} == {"imported"}
    sheet = tmp_path / "clinical.csv"
    sheet.write_text("patient_id,os_days,death\nQ_003,400,1\n")
    joined = join_clinical(out, sheet)
    assert joined.n_joined == 1 and joined.near_joined == {"Q-003": "Q_003"}
    (line,) = joined.near_joined_said()
    assert line.startswith("no clinical row for Q-003; its PatientID differs only in case")
    assert "two cases of one patient" in (out / "clinical_report.csv").read_text()


def _two_centres_p001(pyradiomics: Path, tmp_path: Path) -> tuple[Path, list[str], Path]:
    """centreA/{P001,P002} and centreB/{P001,P003} to import into ``tmp_path/cohort``, and a
    sheet keyed P001, P002, P003: the cohort, the import's command line (without
    ``--clinical``) and the sheet."""
    download = tmp_path / "download"
    for patient in ("centreA/P001", "centreA/P002", "centreB/P001", "centreB/P003"):
        _volume_patient(pyradiomics, download / patient, "image.nrrd")
    sheet = tmp_path / "clinical.csv"
    sheet.write_text("patient_id,os_days,dead\nP001,400,1\nP002,500,0\nP003,600,1\n")
    out = tmp_path / "cohort"
    argv = ["cohort", "import", "--images", str(download), "--out", str(out), "--workers", "1"]
    return out, argv, sheet


def test_a_patient_id_of_two_centres_folders_is_said_to_match_both(
    pyradiomics: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """centreA/{P001,P002} and centreB/{P001,P003}, the sheet keyed P001, P002, P003: both P001
    were imported as cases of their own (named 'centreA/P001', 'centreB/P001'), but the console
    said 'P001' had no imported patient, and clinical_report.csv only 'no clinical row' for
    each of the two cases."""
    from survival_core.cli.main import main

    out, argv, sheet = _two_centres_p001(pyradiomics, tmp_path)
    assert main([*argv, "--clinical", str(sheet), "--json"]) == 0
    err = capsys.readouterr().err
    twins = sorted(case_ids_for(out, ["centreA/P001", "centreB/P001"]).values())
    assert f"P001 is the folder name of 2 imported patients ({', '.join(twins)})" in err
    assert "'centreA/P001'), or import each centre into a cohort folder of its own" in err
    assert "without an imported patient" not in err
    report = (out / "clinical_report.csv").read_text()
    assert "IDs naming several imported patients' folders: joined to none,1" in report
    assert f"no clinical row for {twins[0]}; its folder is named as that of {twins[1]}" in report
    assert "P001" not in report  # the folder's name is the patient's ID: never written
    # the IDs written with the folder that tells them apart: every row joins
    sheet.write_text(
        "patient_id,os_days,dead\ncentreA/P001,400,1\ncentreB/P001,450,0\nP002,500,0\nP003,600,1\n"
    )
    assert main([*argv, "--clinical", str(sheet), "--json"]) == 0
    assert sorted(pd.read_csv(out / "clinical.csv").time) == [400, 450, 500, 600]


def test_a_withdrawn_twin_is_counted_when_its_folder_name_keys_a_row(
    pyradiomics: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """centreB/P001 withdrawn, the same sheet imported again: the console said 'P001 is the
    folder name of 1 imported patients' (the withdrawn twin's case folder gone, so unseen), and
    clinical_report.csv gave centreA/P001's case no reason for its missing row. The withdrawn
    list keeps the twin's folder name, keyed: both are named, the row still joins neither."""
    from survival_core.cli.main import main

    out, argv, sheet = _two_centres_p001(pyradiomics, tmp_path)
    argv += ["--clinical", str(sheet), "--json"]
    assert main(argv) == 0
    kept, gone = case_ids_for(out, ["centreA/P001", "centreB/P001"]).values()
    assert main(["cohort", "withdraw", "--cohort", str(out), gone, "--json"]) == 0
    capsys.readouterr()
    assert main(argv) == 0
    err, report = capsys.readouterr().err, (out / "clinical_report.csv").read_text()
    assert f"P001 is the folder name of 2 imported patients ({kept}, the withdrawn {gone})" in err
    assert "IDs naming several imported patients' folders: joined to none,1" in report
    twin = f"no clinical row for {kept}; its folder is named as that of the withdrawn {gone}"
    assert twin in report
    assert "P001" not in (out / "withdrawn.csv").read_text() + report  # keyed, never written
    # a list written before it kept folder names: the twin is said to be no longer there
    listed = pd.read_csv(out / "withdrawn.csv", dtype=str)
    listed.drop(columns="name_key").to_csv(out / "withdrawn.csv", index=False)
    assert main(argv) == 0
    err, report = capsys.readouterr().err, (out / "clinical_report.csv").read_text()
    assert (
        f"P001 is the folder name of the imported patient {kept} and of one no longer in the "
        "cohort (withdrawn or deleted)" in err
    )
    assert f"no clinical row for {kept}; its folder is named as that of one no longer in" in report
    # both twins withdrawn: the row is a withdrawn patient's, left out as such
    assert main(["cohort", "withdraw", "--cohort", str(out), kept, "--json"]) == 0
    assert main(argv) == 0
    report = (out / "clinical_report.csv").read_text()
    assert "IDs naming several" not in report
    assert "patients withdrawn from the cohort (withdrawn.csv): left out,1" in report


def test_mr_contours_picked_by_the_roi_map_are_read_on_the_mr(
    sarcoma: Path, tmp_path: Path
) -> None:
    """STS_001's MR RTSTRUCT, picked by the ROI map, was read on the CT (both share a frame of
    reference; the CT is taken first), as the Case page no longer reads it: its slices name MR
    Image Storage, so the MR is imported. Under --modality CT it is read on the CT, and the
    report says the contours were drawn on the MR."""
    roi_map = check_roi_map({"patients": {"STS_001": {"gtv": ["GTV_Mass_MR_T1"]}}})
    shutil.copytree(sarcoma, tmp_path / "download" / "STS_001")
    result = import_images(tmp_path / "download", tmp_path / "cohort", roi_map=roi_map, workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "imported", outcome.reason
    assert "drawn on the MR series" not in outcome.reason
    case = load_case(tmp_path / "cohort" / "cases" / outcome.patient)
    assert case.modality == "MR" and list(case.structures) == ["GTV_Mass_MR_T1"]
    assert case.array()[case.mask_array("gtv")].mean() == pytest.approx(325.8, abs=0.1)
    result = import_images(
        tmp_path / "download", tmp_path / "ct", roi_map=roi_map, modality="CT", workers=1
    )
    (outcome,) = result.outcomes
    assert outcome.status == "imported", outcome.reason
    assert "contours were drawn on the MR series and are read on the CT series" in outcome.reason


def test_mr_contours_naming_no_image_beside_the_ct_are_refused_naming_both(
    sarcoma: Path, tmp_path: Path
) -> None:
    """STS_001's MR RTSTRUCT naming no slice, series or kind of image (a re-export naming its
    frame of reference only), picked by the ROI map: the import read the CT under it (GTV mean
    28.5 HU, the MR's 325.8), where the Case page refuses it. It is refused naming both series
    and how to choose; --modality MR, the import's way to, reads the MR."""
    from tests.test_upload_case import _naming_no_slice

    roi_map = check_roi_map({"default": {"gtv": ["GTV_Mass_MR_T1"]}})
    shutil.copytree(sarcoma, tmp_path / "download" / "STS_001")
    _naming_no_slice(tmp_path / "download" / "STS_001" / "MR_T1" / "mask" / "RS.dcm")
    result = import_images(tmp_path / "download", tmp_path / "cohort", roi_map=roi_map, workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "failed", outcome.reason
    assert outcome.reason == (
        "the structure set RTSTRUCT with 'GTV_Mass_MR_T1' shares a frame of reference with 2 "
        "image series of different modalities and names the slices or the kind of image (SOP "
        "class) of none of them, while RTSTRUCT with 'GTV_Mass_CT' was drawn on the CT read by "
        "default, so which one its contours were drawn on is unknown (CT series 2 (198 x 202 x "
        "59 voxels, 3.27 mm slices, kernel SOFT); MR series 5436027 (174 x 158 x 59 voxels, "
        "3.27 mm slices)); keep only the one to analyse in the download (move the other's files "
        "out of it) and import again, or import with --modality (the Cohort page's 'Modality of "
        "the images') naming the modality of the one to analyse, which then is read for every "
        "patient"
    )
    result = import_images(
        tmp_path / "download", tmp_path / "mr", roi_map=roi_map, modality="MR", workers=1
    )
    (outcome,) = result.outcomes
    assert outcome.status == "imported", outcome.reason
    case = load_case(tmp_path / "mr" / "cases" / outcome.patient)
    assert case.modality == "MR" and list(case.structures) == ["GTV_Mass_MR_T1"]
    assert case.array()[case.mask_array("gtv")].mean() == pytest.approx(325.8, abs=0.1)


def test_an_organ_preset_on_a_sarcoma_says_the_organ_is_missing(sarcoma: Path) -> None:
    """wei2021 on a GTV-only sarcoma case said 'No structure is recognised as the sarcoma'."""
    with pytest.raises(RTStructError) as refused:
        load_case(sarcoma / "CT", site="sarcoma", require=("gtv", "organ"))
    said = str(refused.value)
    assert "organ hosting the tumour (none is contoured by convention for a sarcoma" in said
    assert "han2020, full" in said and "as the sarcoma" not in said


def test_an_image_named_after_its_organ_is_no_mask(pyradiomics: Path, tmp_path: Path) -> None:
    """'lung1_image.nrrd' read as a lung mask: the same CT under two patient folders went
    unflagged when its name held a structure word."""
    assert not is_mask_like(Path("LIVER7/liver7_image.nii.gz"), Path())
    assert is_mask_like(Path("P/gtv_ct.nii.gz"), Path()) and is_mask_like(
        Path("P/lung.nrrd"), Path()
    )
    _volume_patient(pyradiomics, tmp_path / "download" / "LUNG1", "lung1_image.nrrd")
    _volume_patient(pyradiomics, tmp_path / "download" / "PAT-0003", "PAT-0003_image.nrrd")
    result = import_images(tmp_path / "download", tmp_path / "cohort", workers=1)
    assert all("identical" in o.reason for o in result.outcomes), result.outcomes


def test_totalsegmentator_organs_outside_the_scan_are_left_out(
    pyradiomics: Path, tmp_path: Path
) -> None:
    """TotalSegmentator writes an empty mask for each organ outside the field of view: one such
    file failed every patient ('kidney_left.nii.gz ... is empty'), naming its staged copy
    ('cases/RS-.../source/...'), gone after the failure. Left out with a warning; a ROI map
    naming it still fails the patient, naming the file as the download has it."""
    for patient in ("BREAST1", "BREAST2"):
        _volume_patient(pyradiomics, tmp_path / "download" / patient, "ct.nrrd")
        image = sitk.ReadImage(str(pyradiomics / "breast1_image.nrrd"))
        empty = sitk.Image(image.GetSize(), sitk.sitkUInt8)
        empty.CopyInformation(image)
        sitk.WriteImage(empty, str(tmp_path / "download" / patient / "kidney_left.nii.gz"))
    result = import_images(tmp_path / "download", tmp_path / "cohort", workers=1)
    assert [o.status for o in result.outcomes] == ["imported"] * 2, result.outcomes
    assert all("kidney_left.nii.gz marks no voxel" in o.reason for o in result.outcomes)
    roi_map = check_roi_map({"default": {"gtv": "gtv.nrrd", "organ": "kidney_left.nii.gz"}})
    result = import_images(tmp_path / "download", tmp_path / "other", roi_map=roi_map, workers=1)
    for outcome in result.outcomes:
        assert outcome.status == "failed" and "is empty" in outcome.reason
        assert f"(the download's {outcome.patient}/kidney_left.nii.gz)" in outcome.reason
        assert "source" not in outcome.reason


def _lung_decathlon(pyradiomics: Path, root: Path) -> None:
    """MSD Task06 as nnU-Net lays it out, files named after the organ: imagesTr/lung_00N_0000
    and labelsTr/lung_00N (1 the lung around the tumour, 2 the tumour; breast1's), its
    dataset.json (nnU-Net v2's label names); lung_002's CT 1 HU brighter, lung_003 a copy of
    lung_001."""
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    image = sitk.ReadImage(str(pyradiomics / "breast1_image.nrrd"))
    tumour = sitk.ReadImage(str(pyradiomics / "breast1_label.nrrd")) > 0
    around = sitk.BinaryDilate(tumour, [3, 3, 3]) - tumour
    labels = sitk.Cast(around + 2 * tumour, sitk.sitkUInt8)
    for number, shift in ((1, 0), (2, 1), (3, 0)):
        sitk.WriteImage(image + shift, str(root / "imagesTr" / f"lung_00{number}_0000.nii.gz"))
        sitk.WriteImage(labels, str(root / "labelsTr" / f"lung_00{number}.nii.gz"))
    names = {"background": 0, "lung": 1, "tumor": 2}
    (root / "dataset.json").write_text(json.dumps({"channel_names": {"0": "CT"}, "labels": names}))


def test_a_decathlon_named_after_its_organ_tells_its_images(
    pyradiomics: Path, tmp_path: Path
) -> None:
    """'imagesTr/lung_001_0000.nii.gz' was read as a lung mask ('lung'): the patients' images
    went unhashed, a copy of lung_001 under another ID was not flagged, and a fresh import said
    of every patient that it replaced an earlier case holding none of its images."""
    image, label = Path("imagesTr/lung_001_0000.nii.gz"), Path("labelsTr/lung_001.nii.gz")
    assert is_image_volume(image, Path(), [image, label])
    assert not is_image_volume(label, Path(), [image, label])
    assert is_image_volume(Path("imagesTr/liver_0.nii.gz"), Path(), [])  # MSD Task03
    _lung_decathlon(pyradiomics, tmp_path / "download")
    roi_map = check_roi_map({"default": {"gtv": ["label.nii.gz:2"]}})
    progress: list[str] = []
    result = import_images(
        tmp_path / "download",
        tmp_path / "cohort",
        roi_map=roi_map,
        workers=1,
        progress=progress.append,
    )
    assert [o.status for o in result.outcomes] == ["imported"] * 3, result.outcomes
    assert result.replaced == [] and not any("replaced" in line for line in progress)
    said = {o.patient: o.reason for o in result.outcomes}
    assert sum("identical" in reason for reason in said.values()) == 2, said
    for case in (tmp_path / "cohort" / "cases").iterdir():
        assert len(json.loads((case / ".import.json").read_text())["images"]) == 1


def test_a_lone_mask_named_for_no_structure_is_the_gtv_with_a_note(
    pyradiomics: Path, tmp_path: Path
) -> None:
    """pyradiomics' '<case>_image.nrrd' / '<case>_label.nrrd' pairs, which the README says import
    as downloaded, failed with 'No structure is recognised as the GTV (structures found:
    'label.nrrd')' until a ROI map named the label; an upload of the pair suggests it as the GTV.
    A lone mask named for an organ is still refused, the ROI map named as the way to say it."""
    download = tmp_path / "download"
    download.mkdir()
    for case in ("lung1", "brain1"):
        for kind in ("image", "label"):
            shutil.copy(pyradiomics / f"{case}_{kind}.nrrd", download / f"{case}_{kind}.nrrd")
    liver = download / "LIVER1"
    liver.mkdir()
    shutil.copy(pyradiomics / "breast1_image.nrrd", liver / "image.nrrd")
    shutil.copy(pyradiomics / "breast1_label.nrrd", liver / "liver_mask.nrrd")
    result = import_images(download, tmp_path / "cohort", workers=1)
    said = {o.patient: o for o in result.outcomes}
    how = "in the ROI map (--roi-map FILE, or the Cohort page's ROI map)"
    refused = said[Deidentifier().pseudonym("LIVER1")]
    assert refused.status == "failed" and how in refused.reason
    assert "No structure is recognised as the GTV" in refused.reason
    manifest = read_manifest(tmp_path / "cohort").set_index("case_id")
    for case in ("lung1", "brain1"):
        outcome = said[Deidentifier().pseudonym(case)]
        assert outcome.status == "imported", outcome.reason
        taken = "label.nrrd is the case's only mask, named as no structure: it is taken as the GTV"
        assert taken in outcome.reason and how in outcome.reason
        gtv = sitk.ReadImage(manifest.loc[outcome.patient, "gtv_mask"])
        label = sitk.ReadImage(str(pyradiomics / f"{case}_label.nrrd"))
        assert sitk.GetArrayFromImage(gtv).sum() == (sitk.GetArrayFromImage(label) > 0).sum()


def test_the_roi_map_advice_names_a_structure_the_dataset_has(
    pyradiomics: Path, tmp_path: Path
) -> None:
    """A label map's labels, named by no structure word: the advice's example was
    'default: {gtv: [label.nrrd]}', a file the dataset lacks, and following it
    ('label.nii.gz') was refused naming no label. It names one label found, as written."""
    _lung_decathlon(pyradiomics, tmp_path / "download")
    (tmp_path / "download" / "dataset.json").unlink()  # its label names would say which
    for outcome in import_images(tmp_path / "download", tmp_path / "cohort", workers=1).outcomes:
        assert outcome.status == "failed" and "label.nrrd" not in outcome.reason
        assert "'label.nii.gz:1', 'label.nii.gz:2'" in outcome.reason
        assert 'the patient\'s case id: {"gtv": ["label.nii.gz:2"]})' in outcome.reason


@pytest.mark.parametrize("writer", ["nnunet_v2", "decathlon", "decathlon_nii", "oedema"])
def test_a_datasets_label_names_give_the_roles(pyradiomics: Path, tmp_path: Path, writer) -> None:
    """An nnU-Net v2 or Decathlon dataset.json names its labels ('lung': 1, 'tumor': 2): every
    patient failed asking for a ROI map naming 'label.nii.gz:2'. The tumour's label is the GTV,
    the organ's with it the organ; a label neither names (a glioma's oedema) leaves the choice
    to the user, as before."""
    download = tmp_path / "download"
    _lung_decathlon(pyradiomics, download)
    names = {
        "nnunet_v2": {"background": 0, "lung": 1, "tumor": 2},
        "decathlon": {"0": "background", "1": "Lung", "2": "cancer"},
        "decathlon_nii": {"0": "background", "1": "Lung", "2": "cancer"},
        "oedema": {"0": "background", "1": "edema", "2": "tumor"},
    }[writer]
    (download / "dataset.json").write_text(json.dumps({"labels": names}))
    if writer == "decathlon_nii":  # stored uncompressed, its description naming no ending
        for volume in download.rglob("*.nii.gz"):
            sitk.WriteImage(sitk.ReadImage(str(volume)), str(volume.with_suffix("")))
            volume.unlink()
    progress: list[str] = []
    result = import_images(
        download, tmp_path / "cohort", site="lung", workers=1, progress=progress.append
    )
    statuses = {o.status for o in result.outcomes}
    if writer == "oedema":
        assert statuses == {"failed"} and not any("dataset.json" in line for line in progress)
        return
    assert statuses == {"imported"}, result.outcomes
    assert any("read from dataset.json's labels" in line for line in progress), progress
    label = next((download / "labelsTr").glob("lung_001.nii*"))
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(label)))
    for row in read_manifest(tmp_path / "cohort").itertuples():
        case = load_case(tmp_path / "cohort" / "cases" / row.case_id)
        np.testing.assert_array_equal(case.mask_array("gtv"), labels == 2)
        np.testing.assert_array_equal(case.mask_array("organ"), labels > 0)


def test_a_roi_map_names_a_structure_holding_the_patient_id_as_the_planning_system_shows_it(
    sarcoma: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """De-identification cuts the patient's ID out of 'GTV_12345' (stored as 'GTV'), but the
    ROI map was matched on the header's name: the import failed ("No structure named
    'GTV_RS-...'"), and roles.json would have kept the name with the ID."""
    # a fixed key: the remapped UIDs are digits, which a random key's could hold '12345' in
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data" / KEY_FILE).parent.mkdir(parents=True)
    (tmp_path / "data" / KEY_FILE).write_bytes(bytes(range(32)))

    def of_patient_12345(ds: pydicom.Dataset) -> None:
        ds.PatientID, ds.PatientIdentityRemoved = "12345", "NO"
        if "StructureSetROISequence" in ds:
            ds.StructureSetROISequence[0].ROIName = "GTV_12345"

    _study(sarcoma / "CT", tmp_path / "download" / "P", "p", "20200101", True, of_patient_12345)
    roi_map = check_roi_map({"patients": {"12345": {"gtv": ["GTV_12345"]}}})
    result = import_images(tmp_path / "download", tmp_path / "cohort", roi_map=roi_map, workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "imported", outcome.reason
    case = tmp_path / "cohort" / "cases" / outcome.patient
    assert json.loads((case / "roles.json").read_text()) == {"gtv": ["GTV"]}
    gtv = load_case(case).masks["gtv"]
    millilitres = np.count_nonzero(sitk.GetArrayViewFromImage(gtv)) * np.prod(gtv.GetSpacing())
    assert millilitres / 1000 > 300
    holding = [p.name for p in case.rglob("*") if p.is_file() and b"12345" in p.read_bytes()]
    assert holding == []


@pytest.mark.parametrize("placeholder", ["ANONYMOUS", ""])
def test_studies_whose_patient_id_names_no_one_are_cases_named_as_their_files(
    sarcoma: Path, tmp_path: Path, placeholder: str
) -> None:
    """Two patients' studies under PatientID 'ANONYMOUS' were grouped as one patient (refused:
    two studies under one PatientID); under an empty PatientID each was named by its folder's
    pseudonym, while de-identification named its files by their study's."""

    def of_no_one(ds: pydicom.Dataset) -> None:
        ds.PatientID, ds.PatientName = placeholder, ""

    for tag in ("first", "second"):
        _study(sarcoma / "CT", tmp_path / "download" / tag, tag, "20200101", True, of_no_one)
    result = import_images(tmp_path / "download", tmp_path / "cohort", workers=1)
    assert [o.status for o in result.outcomes] == ["imported"] * 2, result.outcomes
    case_ids = {o.patient for o in result.outcomes}
    assert len(case_ids) == 2
    for case_id in case_ids:
        stored = (tmp_path / "cohort" / "cases" / case_id).rglob("*.dcm")
        named = {str(pydicom.dcmread(p, stop_before_pixels=True).PatientID) for p in stored}
        assert named == {case_id}


def test_a_patient_folder_linked_into_the_download_is_imported(sarcoma: Path, tmp_path: Path):
    """The real STS_001 CT linked into a working folder (a PACS or NAS mount): 'No patient was
    found (0 file(s) read)'. Linked folders are read, each once, and a link back up does not
    loop."""
    store = tmp_path / "nas" / "STS_001"
    shutil.copytree(sarcoma / "CT", store)
    download = tmp_path / "download"
    download.mkdir()
    (download / "STS_001").symlink_to(store, target_is_directory=True)
    (store / "loop").symlink_to(download, target_is_directory=True)
    result = import_images(download, tmp_path / "cohort", workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "imported", outcome.reason


def test_a_refused_join_names_the_column_holding_the_patient_ids(
    sarcoma: Path, tmp_path: Path
) -> None:
    """The real STS_001 CT exported under two hospital MRNs; the sheet's 'study_id' column,
    picked by its name, holds study codes and its 'MRN' column the PatientIDs: the refusal said
    only that 'study_id' held none of them."""
    download = tmp_path / "download"
    for mrn in ("4711023", "4711024"):
        _study(sarcoma / "CT", download / mrn, mrn, "20200101", True, _retyped(mrn))
    out = tmp_path / "cohort"
    assert {o.status for o in import_images(download, out, workers=1).outcomes} == {"imported"}
    sheet = tmp_path / "clinical.csv"
    sheet.write_text("study_id,MRN,os_days,death\nS-101,4711023,400,1\nS-102,4711024,700,0\n")
    with pytest.raises(InputError, match="'study_id' column holds none") as refused:
        join_clinical(out, sheet)
    assert "'MRN' (2 of them) hold PatientIDs of the images" in str(refused.value)
    assert "--id-column 'MRN'" in str(refused.value)
    assert join_clinical(out, sheet, id_column="MRN").n_joined == 2


def test_a_sheet_of_the_patients_added_keeps_the_earlier_patients_rows(
    pyradiomics: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A re-import adding a patient, given the sheet of the added patients' rows (and one
    corrected row): clinical.csv held those rows alone, the earlier patient kept its case but
    lost its outcome and albumin, the schema was drafted from the new rows, and only
    'cases_without_clinical_row: 1' said so."""
    from survival_core.cli.main import main
    from survival_core.io.clinical_schema import CohortSchema

    download, out = tmp_path / "download", tmp_path / "cohort"
    argv = ["cohort", "import", "--images", str(download), "--out", str(out), "--workers", "1"]
    for patient, sample in (("P-001", "breast1"), ("P-002", "brain1"), ("P-003", "brain2")):
        (folder := download / patient).mkdir(parents=True)
        shutil.copy(pyradiomics / f"{sample}_image.nrrd", folder / "image.nrrd")
        shutil.copy(pyradiomics / f"{sample}_label.nrrd", folder / "gtv.nrrd")
        if patient == "P-002":
            (first := tmp_path / "first.csv").write_text(
                "Patient ID;OS (months);Status;Age;Albumin (g/L)\n"
                "P-001;12,5;dead;61;38,2\nP-002;24,0;alive;55;41,0\n"
            )
            assert main([*argv, "--clinical", str(first), "--json"]) == 0
    before = (out / "clinical.csv").read_text().splitlines()
    (added := tmp_path / "added.csv").write_text(
        "Patient ID;OS (months);Status;Age\nP-003;3,5;dead;66\nP-002;30,0;dead;55\n"
    )
    capsys.readouterr()
    assert main([*argv, "--clinical", str(added), "--json"]) == 0
    out_text, err = capsys.readouterr()
    clinical = pd.read_csv(out / "clinical.csv", index_col="case_id")
    cases = case_ids_for(out, ["P-001", "P-002", "P-003"])
    assert (out / "clinical.csv").read_text().splitlines()[1] == before[1]  # P-001 as written
    assert before[1].startswith(f"{cases['P-001']},380.46875,1,61,38.2")
    assert clinical.loc[cases["P-002"], "time"] == 30 * 30.4375  # its row replaced
    assert clinical.loc[cases["P-003"], "time"] == 3.5 * 30.4375
    assert clinical["albumin"].isna().tolist() == [False, True, True]
    summary = json.loads(out_text.strip().splitlines()[-1])
    assert (summary["clinical_rows"], summary["earlier_clinical_rows_kept"]) == (2, 1)
    assert summary["cases_without_clinical_row"] == 0
    kept = "kept from the cohort's earlier clinical.csv: cases this spreadsheet has no row for"
    assert f"clinical: (rows): {kept} (withdraw a patient to take the row out) (1)" in err
    assert "albumin: not in this spreadsheet: kept for the earlier rows, blank for its rows" in err
    assert kept in (out / "clinical_report.csv").read_text()
    schema = CohortSchema.load(out / "schema.yaml")
    assert schema.names == ["age", "albumin"] and schema["albumin"].unit == "g/L"
    assert schema["age"].kind == "integer" and schema["age"].low <= 55 < 66 <= schema["age"].high


def test_a_table_only_cohort_given_its_added_patients_equals_the_whole_sheet(
    tmp_path: Path,
) -> None:
    """GBSG2 imported as its first 600 rows, then a sheet of rows 590-685 (ten corrected, the
    others added): clinical.csv held the 96 rows of the second sheet alone. The merged cohort is
    now byte for byte the one the whole sheet gives, its schema drafted from all the rows."""
    whole, first, added = _gbsg2_sheets(tmp_path)
    import_table(tmp_path / "whole", whole, time_unit="months")
    import_table(tmp_path / "merged", first, time_unit="months")
    joined = import_table(tmp_path / "merged", added, time_unit="months")
    for name in ("clinical.csv", "schema.yaml"):
        assert (tmp_path / "merged" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    assert (joined.n_joined, joined.kept) == (96, 590)
    table = tmp_path / "merged" / "clinical.csv"  # its header edited by hand: refused, named
    table.write_text(table.read_text().replace("case_id,", "case,", 1))
    with pytest.raises(InputError, match="clinical.csv cannot be read as the cohort's clinical"):
        import_table(tmp_path / "merged", added, time_unit="months")


def test_a_numeric_id_written_as_a_float_is_named_as_the_images_id(
    pyradiomics: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A numeric ID column saved as decimals ('7.0', Excel's or pandas' float) was listed as an
    ID without an imported patient, with no hint of the images' '7' (nor '007' beside it): it
    is named as the images' '7', and still joins nothing."""
    from survival_core.cli.main import main

    download = tmp_path / "download"
    for patient, sample in (("7", "breast1"), ("007", "brain1")):
        (folder := download / patient).mkdir(parents=True)
        shutil.copy(pyradiomics / f"{sample}_image.nrrd", folder / "image.nrrd")
        shutil.copy(pyradiomics / f"{sample}_label.nrrd", folder / "gtv.nrrd")
    out = tmp_path / "cohort"
    assert {o.status for o in import_images(download, out, workers=1).outcomes} == {"imported"}
    (sheet := tmp_path / "clinical.csv").write_text("Patient ID,OS (days),Status\n7.0,730,0\n")
    with pytest.raises(InputError, match=r"Written otherwise: '7\.0' is '7' there"):
        join_clinical(out, sheet)
    sheet.write_text("Patient ID,OS (days),Status\n7.0,730,0\n007,90,1\n")
    argv = ["cohort", "import", "--images", str(download), "--out", str(out), "--workers", "1"]
    assert main([*argv, "--clinical", str(sheet)]) == 0
    err = capsys.readouterr().err
    assert "clinical: 1 ID(s) without an imported patient: 7.0 (the images' 7?)" in err
    assert len(pd.read_csv(out / "clinical.csv")) == 1  # named, not joined


def _gbsg2_sheets(folder: Path, **headers: str) -> tuple[Path, Path, Path]:
    """GBSG2 as a whole sheet, its first 600 rows and its rows 590-685 (ten corrected, the
    others added), with ``headers`` renaming its columns in all three."""
    from tests.clinical_exports import gbsg2

    sheet = pd.read_csv(gbsg2(folder).path, dtype=str).rename(columns=headers)
    sheet.to_csv(whole := folder / "whole.csv", index=False)
    sheet.iloc[:600].to_csv(first := folder / "first.csv", index=False)
    sheet.iloc[590:].to_csv(added := folder / "added.csv", index=False)
    return whole, first, added


def test_a_re_import_leaves_out_the_rows_of_withdrawn_patients(tmp_path: Path) -> None:
    """A withdrawal cut short (the patient listed, their row still in clinical.csv: finished by
    running it again), then the sheet of the patients added: the withdrawn patient's row was
    written back with the rows kept."""
    from survival_core.cohort.withdrawn import record_withdrawn

    _, first, added = _gbsg2_sheets(tmp_path)
    cohort = tmp_path / "cohort"
    import_table(cohort, first, time_unit="months")
    gone = Deidentifier().pseudonym("G0007")
    record_withdrawn(cohort, [gone])
    joined = import_table(cohort, added, time_unit="months")
    clinical = pd.read_csv(cohort / "clinical.csv", index_col="case_id")
    assert gone not in clinical.index and len(clinical) == 685
    assert (joined.n_joined, joined.kept) == (96, 589)
    said = "of patients withdrawn from the cohort (withdrawn.csv) in its earlier clinical.csv"
    assert f"(rows),{said}: taken out,1" in (cohort / "clinical_report.csv").read_text()


def test_a_re_import_in_another_unit_is_refused_naming_both_units(tmp_path: Path) -> None:
    """The sheet of the patients added gave albumin in g/dL (the first in g/L), GBSG2's added
    patients their age in months: merged, one column held 38.2 beside 3.5 and 61 beside 840
    without a word, the schema taking the new sheet's unit for every row."""
    (first := tmp_path / "first.csv").write_text(
        "Patient ID;OS (months);Status;Age;Albumin (g/L)\nP-001;12,5;dead;61;38,2\n"
        "P-002;24,0;alive;55;41,0\nP-003;3,5;dead;66;35,0\n"
    )
    (added := tmp_path / "added.csv").write_text(
        "Patient ID;OS (months);Status;Age;Albumin (g/dL)\nP-003;3,5;dead;66;3,5\n"
        "P-004;9,0;alive;50;4,1\n"
    )
    import_table(cohort := tmp_path / "cohort", first)
    before = (cohort / "clinical.csv").read_bytes(), (cohort / "schema.yaml").read_bytes()
    with pytest.raises(InputError) as refused:
        import_table(cohort, added)
    assert str(refused.value) == (
        "added.csv gives Albumin (albumin) in g/dL, but the 2 earlier row(s) of the cohort's "
        "clinical.csv kept beside its rows give it in g/L: one column would mix the two units. "
        "Write added.csv's albumin in g/L (its header saying '(g/L)'), or import the whole "
        "sheet, every patient, into a new folder."
    )
    assert ((cohort / "clinical.csv").read_bytes(), (cohort / "schema.yaml").read_bytes()) == before
    _, first, added = _gbsg2_sheets(tmp_path, age="Age (years)")
    sheet = pd.read_csv(added, dtype=str)
    sheet["Age (years)"] = sheet["Age (years)"].astype(float) * 12
    sheet.rename(columns={"Age (years)": "Age (months)"}).to_csv(added, index=False)
    import_table(gbsg2 := tmp_path / "gbsg2", first, time_unit="months")
    with pytest.raises(InputError, match=r"gives Age \(age\) in months, but the 590 earlier row"):
        import_table(gbsg2, added, time_unit="months")


def test_a_re_import_reads_g_per_l_as_a_cell_count_only_for_a_cell_count(tmp_path: Path) -> None:
    """A first sheet of albumin and platelets in 'G/L' (as a French laboratory writes both), the
    added one in 10^3/µL: albumin's 'G/L' is grams per litre, its 10^3/µL refused as another
    unit (it was merged, 'G/L' matching both g/L and 10^9/L); platelets' is 10^9/L, merged."""
    (first := tmp_path / "first.csv").write_text(
        "Patient ID;OS (months);Status;Albumin (G/L);Platelets (G/L)\nP-001;12,5;dead;38,2;250\n"
        "P-002;24,0;alive;41,0;180\nP-003;3,5;dead;35,0;300\n"
    )
    (added := tmp_path / "added.csv").write_text(
        "Patient ID;OS (months);Status;Albumin (10^3/µL);Platelets (10^3/µL)\n"
        "P-003;3,5;dead;35;300\nP-004;9,0;alive;40;310\n"
    )
    import_table(cohort := tmp_path / "cohort", first)
    with pytest.raises(InputError) as refused:
        import_table(cohort, added)
    assert str(refused.value).startswith(
        "added.csv gives Albumin (albumin) in 10^3/µL, but the 2 earlier row(s) of the cohort's "
        "clinical.csv kept beside its rows give it in G/L: one column would mix the two units."
    )
    added.write_text(added.read_text().replace("Albumin (10^3/µL)", "Albumin (G/L)"))
    import_table(cohort, added)
    merged = pd.read_csv(cohort / "clinical.csv", index_col="case_id")
    assert merged["platelets"].tolist() == [250, 180, 300, 310]


@pytest.mark.parametrize(
    ("header", "scale", "said"),
    [
        ("Tumour size (cm)", 0.1, "in cm: converted to mm, the earlier rows' (x 10)"),
        ("Tumour size", 1, "no unit given: read in mm, the earlier rows'"),
    ],
)
def test_a_re_import_without_a_unit_or_in_cm_keeps_the_earlier_unit(
    tmp_path: Path, header: str, scale: float, said: str
) -> None:
    """GBSG2's added patients with their tumour size in cm (the first sheet's in mm) were merged
    as 2.1 beside 21, the schema in cm; without a unit in the header, the schema lost the mm.
    Both now give the tumour sizes and schema the whole sheet in mm gives."""
    from survival_core.io.clinical_schema import CohortSchema

    whole, first, added = _gbsg2_sheets(tmp_path, tsize="Tumour size (mm)")
    import_table(tmp_path / "whole", whole, time_unit="months")
    sheet = pd.read_csv(added, dtype=str)
    sheet[header] = sheet.pop("Tumour size (mm)").astype(float) * scale
    sheet.to_csv(added, index=False)
    import_table(cohort := tmp_path / "cohort", first, time_unit="months")
    import_table(cohort, added, time_unit="months")
    assert f'tumour_size,"{said}",96' in (cohort / "clinical_report.csv").read_text()
    assert CohortSchema.load(cohort / "schema.yaml")["tumour_size"].unit == "mm"
    merged = pd.read_csv(cohort / "clinical.csv", index_col="case_id")
    expected = pd.read_csv(tmp_path / "whole" / "clinical.csv", index_col="case_id")
    pd.testing.assert_series_equal(merged["tumour_size"], expected["tumour_size"])


def test_a_category_recoded_between_the_sheets_is_said(tmp_path: Path) -> None:
    """GBSG2's added patients with their grade written G1-G3 (the first sheet's I-III): merged
    as six grades, nothing in clinical_report.csv or on the console saying so."""
    from survival_core.io.clinical_schema import CohortSchema

    _, first, added = _gbsg2_sheets(tmp_path)
    sheet = pd.read_csv(added, dtype=str)
    sheet["tgrade"] = sheet["tgrade"].map({"I": "G1", "II": "G2", "III": "G3"})
    sheet.to_csv(added, index=False)
    import_table(cohort := tmp_path / "cohort", first, time_unit="months")
    joined = import_table(cohort, added, time_unit="months")
    said = (
        "levels 'G1', 'G2', 'G3' share none with those of the earlier rows ('I', 'II', 'III'): "
        "coded otherwise in each sheet? Write them as the earlier rows do and import it again "
        "(the schema lists both codes)"
    )
    assert f"tgrade: {said} (96)" in [str(line) for line in joined.report]
    assert f'tgrade,"{said}",96' in (cohort / "clinical_report.csv").read_text()
    categories = CohortSchema.load(cohort / "schema.yaml")["tgrade"].categories
    assert categories == ("G1", "G2", "G3", "I", "II", "III")


def test_a_column_only_the_added_patients_sheet_has_is_blank_for_the_rows_kept(
    tmp_path: Path,
) -> None:
    """GBSG2's first 600 rows without the positive nodes, the added patients' sheet with them:
    the kept rows' nodes are blank (a model imputes them), and the report says so."""
    _, first, added = _gbsg2_sheets(tmp_path)
    pd.read_csv(first, dtype=str).drop(columns="pnodes").to_csv(first, index=False)
    import_table(cohort := tmp_path / "cohort", first, time_unit="months")
    joined = import_table(cohort, added, time_unit="months")
    said = "not in the earlier clinical.csv: blank for the rows kept"
    assert f"pnodes: {said} (590)" in [str(line) for line in joined.report]
    assert f"pnodes,{said},590" in (cohort / "clinical_report.csv").read_text()
    clinical = pd.read_csv(cohort / "clinical.csv", index_col="case_id")
    nodes = pd.read_csv(added, index_col="patient_id")["pnodes"]
    assert clinical["pnodes"].isna().tolist() == [True] * 590 + [False] * 96
    assert clinical["pnodes"].iloc[590:].tolist() == nodes.tolist()


def _gbsg2_rfs(folder: Path, unit: str, name: str | None = None) -> Path:
    """GBSG2 with its recurrence-free time under 'RFS', a header stating no unit, in ``unit``."""
    from tests.clinical_exports import gbsg2

    export = gbsg2(folder)
    sheet = pd.read_csv(export.path, dtype=str).drop(columns="RFS (months)")
    sheet["RFS"] = export.y["time"] / TIME_UNITS[unit]
    sheet.to_csv(path := folder / (name or f"gbsg2_{unit}.csv"), index=False)
    return path


def _warned(capsys: pytest.CaptureFixture[str], said: str) -> None:
    """``said`` was the import's one clinical warning: on stderr and in its --json."""
    printed = capsys.readouterr()
    assert f"warning: clinical: {said}\n" in printed.err
    assert json.loads(printed.out.splitlines()[-1])["warnings"] == [said]


def test_an_import_in_an_impossible_time_unit_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GBSG2's days imported as years (a 2,659-year follow-up), its years as days (7.3 days):
    both exited 0, the report saying only 'time in years, converted to days'. The check cv and
    fit make is a warning on the console, in --json's warnings, clinical_report.csv and the
    Cohort page's import report, naming the unit the times are likely in."""
    from survival_core.cli.main import main
    from survival_core.cohort.imported import import_status

    out = tmp_path / "cohort"
    argv = ["cohort", "import", "--clinical", str(_gbsg2_rfs(tmp_path, "days")), "--out"]
    assert main([*argv, str(out), "--time-unit", "years", "--json"]) == 0
    said = (
        "RFS: The longest follow-up is 971200 days (2659 years; time read in years), likely in "
        "days (read so, 2659 days: 7.3 years): if the times are in another unit, give it "
        "(import the sheet again with --time-unit 'days' (Cohort page: Time unit 'days'; "
        "Python: time_unit=), or with the unit in the time column's header); horizons, "
        "calibration and survival at 12, 24 and 36 months would otherwise be wrong. (686)"
    )
    _warned(capsys, said)
    assert import_status(out).warnings() == [said]
    joined = import_table(tmp_path / "years", _gbsg2_rfs(tmp_path, "years"), time_unit="days")
    assert joined.warnings()[0].startswith(
        "RFS: The longest follow-up is 7.27995 days (time read in days), likely in years (read "
        "so, 2659 days: 7.3 years): if the times are in another unit, give it (import the sheet "
        "again with --time-unit 'years'"
    )
    days = import_table(tmp_path / "days", _gbsg2_rfs(tmp_path, "days"), time_unit="days")
    assert not days.warnings()


def test_a_header_stating_the_wrong_time_unit_is_told_to_be_renamed(tmp_path: Path) -> None:
    """GBSG2's days under 'RFS (months)': the warning said to import the sheet again with
    --time-unit 'days', which the header then refused ('says months but time_unit='days''). It
    says to rename the column, and the name it gives is read in days, without a warning."""
    from survival_core.cohort.clinical_table import asks_to_act, read_clinical_spreadsheet

    sheet = pd.read_csv(_gbsg2_rfs(tmp_path, "days")).rename(columns={"RFS": "RFS (months)"})
    sheet.to_csv(path := tmp_path / "months_header.csv", index=False)
    joined = import_table(tmp_path / "cohort", path)
    assert joined.warnings() == [
        "RFS (months): The longest follow-up is 80933 days (222 years; time read in months), "
        "likely in days (read so, 2659 days: 7.3 years): if the times are in another unit, give "
        "it (rename the time column 'RFS (months)' to say days (e.g. 'rfs_days') and import the "
        "sheet again; its header states the unit, so no other can be given); horizons, "
        "calibration and survival at 12, 24 and 36 months would otherwise be wrong. (686)"
    ]
    with pytest.raises(InputError, match="says months but time_unit='days' was given"):
        read_clinical_spreadsheet(path, time_unit="days")
    sheet.rename(columns={"RFS (months)": "rfs_days"}).to_csv(path, index=False)
    renamed = read_clinical_spreadsheet(path)
    assert renamed.table["time"].max() == 2659
    assert not [line for line in renamed.report if asks_to_act(line.action)]


def test_a_short_follow_up_in_the_unit_its_header_states_is_noted_as_short(
    tmp_path: Path,
) -> None:
    """lifelines' Rossi recidivism study, followed 52 weeks under 'week' and imported with
    --time-unit weeks: warned its times were likely in months and to rename the column so, which
    would have made every time 4.35 times as long. A short study in the unit its header states
    is noted as short, no other unit suggested; under half a year (GBSG2's months under
    'rfs_days': 87 days) or over 50 years (above), the header is told to be renamed."""
    from lifelines.datasets import load_rossi

    sheet = load_rossi()
    sheet.insert(0, "patient_id", [f"P{i:04d}" for i in range(1, len(sheet) + 1)])
    sheet.to_csv(path := tmp_path / "rossi.csv", index=False)
    columns = {"time_column": "week", "event_column": "arrest", "time_unit": "weeks"}
    joined = import_table(tmp_path / "cohort", path, **columns)
    assert not joined.warnings()
    assert (
        "week: short follow-up: the longest is 52 weeks (364 days), in the unit its header "
        "'week' states; survival at 12, 24 and 36 months lies past it (432)"
    ) in [str(line) for line in joined.report]
    months = pd.read_csv(_gbsg2_rfs(tmp_path, "months")).rename(columns={"RFS": "rfs_days"})
    months.to_csv(path := tmp_path / "rfs_days.csv", index=False)
    (said,) = import_table(tmp_path / "gbsg2", path).warnings()
    assert said.startswith(
        "rfs_days: The longest follow-up is 87.3593 days (time read in days), likely in months "
        "(read so, 2659 days: 7.3 years): if the times are in another unit, give it (rename the "
        "time column 'rfs_days' to say months (e.g. 'rfs_months')"
    )


@pytest.mark.parametrize("time", ["time_d", "surv_d"])
def test_the_d_of_a_time_to_death_is_no_unit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], time: str
) -> None:
    """scikit-survival's AIDS death endpoint under its own headers, 'time_d' and 'censor_d'
    (time to death, death), its times in months: --time-unit months was refused ("'time_d'
    says days"), and without it the months were read as days, the warning then telling to
    rename the column to say years. Its 'd' is the endpoint's: the unit is asked for, and the
    months given are taken; so under 'surv_d'. After any other name ('os_d', 'fu_d') it is days
    (:func:`test_the_d_of_a_follow_up_is_not_said_to_be_a_death`)."""
    from sksurv.datasets import load_aids

    from survival_core.cli.main import main

    X, y = load_aids(endpoint="death")
    sheet = X.assign(**{time: y["time_d"] / TIME_UNITS["months"], "censor_d": y["censor_d"]})
    sheet.insert(0, "subject", [f"A{i}" for i in range(len(X))])
    sheet.to_csv(path := tmp_path / "aids_months.csv", index=False)
    argv = ["cohort", "import", "--clinical", str(path), "--time-column", time,
            "--event-column", "censor_d", "--json", "--out", str(tmp_path / "cohort")]  # fmt: skip
    assert main(argv) == 2
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["error"] == (
        f"The time column {time!r} does not state its unit (its 'd' is read as the endpoint, "
        "death, not days); give one of days, weeks, months, years: --time-unit (Cohort page: "
        "Time unit; Python: time_unit=)."
    )
    assert main([*argv, "--time-unit", "months"]) == 0
    clinical = pd.read_csv(tmp_path / "cohort" / "clinical.csv")
    np.testing.assert_allclose(clinical["time"], y["time_d"])
    assert int(clinical["event"].sum()) == 26


@pytest.mark.parametrize(
    "time",
    ["follow_up_d", "fu_d", "survival_d", "futime_d", "lenfol_d", "overall_survival_d",
     "time_to_death_d", "survival_time_d", "os_d", "suivi_d"],
)  # fmt: skip
def test_the_d_of_a_follow_up_is_not_said_to_be_a_death(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], time: str
) -> None:
    """AIDS's death endpoint, its days under a follow-up's or an endpoint's name ending in 'd'
    ('fu_d', 'time_to_death_d'): the 'd' is days, as it was before a lone 'd' after a bare time
    ('time_d') was read as death; these were refused too, their unit asked for. Read as days,
    and months given against it refused naming the days its name says."""
    from sksurv.datasets import load_aids

    from survival_core.cli.main import main

    X, y = load_aids(endpoint="death")
    sheet = X.assign(**{time: y["time_d"], "censor_d": y["censor_d"]})
    sheet.insert(0, "subject", [f"A{i}" for i in range(len(X))])
    sheet.to_csv(path := tmp_path / "aids.csv", index=False)
    argv = ["cohort", "import", "--clinical", str(path), "--time-column", time,
            "--event-column", "censor_d", "--json", "--out", str(tmp_path / "cohort")]  # fmt: skip
    assert main([*argv, "--time-unit", "months"]) == 2
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["error"] == (
        f"The time column {time!r} says days but time_unit='months' was given; check which is "
        "right."
    )
    assert main(argv) == 0
    clinical = pd.read_csv(tmp_path / "cohort" / "clinical.csv")
    np.testing.assert_array_equal(clinical["time"], y["time_d"])
    assert int(clinical["event"].sum()) == 26


def test_a_re_import_of_the_same_patients_in_another_unit_is_refused(tmp_path: Path) -> None:
    """GBSG2 imported in days, then the same 686 patients' sheet in months imported as days:
    every stored follow-up shrank 30-fold without a word. Now refused naming the factor and the
    unit, nothing written; a follow-up updated since (the censored patients' times longer) is
    taken."""
    import_table(cohort := tmp_path / "cohort", _gbsg2_rfs(tmp_path, "days"), time_unit="days")
    before = (cohort / "clinical.csv").read_bytes()
    with pytest.raises(InputError) as refused:
        import_table(cohort, _gbsg2_rfs(tmp_path, "months"), time_unit="days")
    assert str(refused.value) == (
        "gbsg2_months.csv's times, read in days, are 1/30.44 of those the cohort's clinical.csv "
        "holds for the same 686 patients (the longest follow-up 2659 days, now 87), as times in "
        "months read as days would be: gbsg2_months.csv is likely in months. Import it with "
        "--time-unit months (Cohort page: Time unit), which keeps their times; if instead the "
        "cohort's earlier import read its sheet in the wrong unit, delete the cohort's "
        "clinical.csv and import the whole sheet, every patient, again with --time-unit days "
        "(Cohort page: Time unit)."
    )
    assert (cohort / "clinical.csv").read_bytes() == before
    updated = pd.read_csv(_gbsg2_rfs(tmp_path, "days", "updated.csv"))
    updated.loc[updated["event"] == 0, "RFS"] += 400
    updated.to_csv(tmp_path / "updated.csv", index=False)
    import_table(cohort, tmp_path / "updated.csv", time_unit="days")
    assert pd.read_csv(cohort / "clinical.csv")["time"].max() == 2659 + 400


def test_a_re_import_correcting_the_earlier_time_unit_is_taken_as_a_warning(
    tmp_path: Path,
) -> None:
    """GBSG2's days imported as years (told to import the sheet again with --time-unit days):
    that re-import into the same folder is the same patients' times 1/365.25 of those stored,
    taken, the stored follow-up having been impossible; said as a warning, not a coercion done
    (the stored times are replaced on the word of the unit given)."""
    sheet = _gbsg2_rfs(tmp_path, "days")
    import_table(cohort := tmp_path / "cohort", sheet, time_unit="years")
    joined = import_table(cohort, sheet, time_unit="days")
    assert pd.read_csv(cohort / "clinical.csv")["time"].max() == 2659
    assert joined.warnings() == [
        "time: Times corrected: gbsg2_days.csv's are 1/365.25 of those the cohort's earlier "
        "clinical.csv held for these patients (the longest follow-up 971200 days, now 2659), "
        "taken as its import having read times in days as years; if instead that import was "
        "right, delete the cohort's clinical.csv and import the whole sheet, every patient, "
        "again with --time-unit years (Cohort page: Time unit) (686)"
    ]


def test_a_re_import_correcting_a_plausible_follow_up_is_taken_nearer_a_typical_one(
    tmp_path: Path,
) -> None:
    """WHAS500's days imported as weeks: a longest follow-up of 16,506 days (45 years) is under
    the 50-year bound, so no warning, and its import in days (2,358) was refused as 'likely in
    weeks', following which wrote the wrong times back. The follow-up nearer a typical one is
    taken, said in the warnings (the Cohort page's too); its import in weeks over the right one
    is still refused, the stored follow-up being the nearer."""
    from survival_core.cohort.imported import import_status
    from tests.clinical_exports import whas500

    sheet = whas500(tmp_path).path
    import_table(cohort := tmp_path / "weeks", sheet, time_unit="weeks")
    joined = import_table(cohort, sheet, time_unit="days")
    assert pd.read_csv(cohort / "clinical.csv")["time"].max() == 2358
    said = (
        "time: Times corrected: whas500.xlsx's are 1/7 of those the cohort's earlier clinical.csv "
        "held for these patients (the longest follow-up 16506 days, now 2358), taken as its "
        "import having read times in days as weeks; if instead that import was right, delete the "
        "cohort's clinical.csv and import the whole sheet, every patient, again with --time-unit "
        "weeks (Cohort page: Time unit) (500)"
    )
    assert joined.warnings() == [said] == import_status(cohort).warnings()
    import_table(days := tmp_path / "days", sheet, time_unit="days")
    with pytest.raises(InputError, match=r"likely in days\. Import it with --time-unit days"):
        import_table(days, sheet, time_unit="weeks")
    assert pd.read_csv(days / "clinical.csv")["time"].max() == 2358


def _veterans_short(folder: Path) -> Path:
    """The veterans' lung cancer trial's 124 patients followed for 300 days or less (the longest
    287 days: a real follow-up under a year), their time under 'time', stating no unit."""
    from tests.clinical_exports import veterans

    sheet = pd.read_csv(veterans(folder).path, sep="\t").rename(
        columns={"Survival_in_days": "time"}
    )
    sheet[sheet["time"] <= 300].to_csv(path := folder / "veterans_short.csv", index=False)
    return path


def test_a_short_follow_up_re_imported_in_another_unit_is_a_warning_or_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Veterans followed up to 287 days, imported in days (warned 'likely in weeks'), then in
    weeks: taken silently as a correction, a report line alone, every time x 7. A correction is
    a warning on the console and in --json's warnings naming the factor and both longest
    follow-ups; one not clearly nearer a typical follow-up (months: 8,736 days, 24 years) is
    refused as a sheet in the wrong unit is, nothing written."""
    from survival_core.cli.main import main

    sheet = _veterans_short(tmp_path)
    argv = ["cohort", "import", "--clinical", str(sheet), "--json", "--out"]
    assert main([*argv, str(cohort := tmp_path / "weeks"), "--time-unit", "days"]) == 0
    capsys.readouterr()
    assert main([*argv, str(cohort), "--time-unit", "weeks"]) == 0
    said = (
        "time: Times corrected: veterans_short.csv's are 7 times those the cohort's earlier "
        "clinical.csv held for these patients (the longest follow-up 287 days, now 2009), taken "
        "as its import having read times in weeks as days; if instead that import was right, "
        "delete the cohort's clinical.csv and import the whole sheet, every patient, again with "
        "--time-unit days (Cohort page: Time unit) (124)"
    )
    _warned(capsys, said)
    import_table(months := tmp_path / "months", sheet, time_unit="days")
    before = (months / "clinical.csv").read_bytes()
    with pytest.raises(InputError) as refused:
        import_table(months, sheet, time_unit="months")
    assert str(refused.value) == (
        "veterans_short.csv's times, read in months, are 30.44 times those the cohort's "
        "clinical.csv holds for the same 124 patients (the longest follow-up 287 days, now 8736), "
        "as times in days read as months would be: veterans_short.csv is likely in days. Import "
        "it with --time-unit days (Cohort page: Time unit), which keeps their times; if instead "
        "the cohort's earlier import read its sheet in the wrong unit, delete the cohort's "
        "clinical.csv and import the whole sheet, every patient, again with --time-unit months "
        "(Cohort page: Time unit)."
    )
    assert (months / "clinical.csv").read_bytes() == before


RFS = {"time_column": "time", "event_column": "cens", "time_unit": "days"}
OS = {"time_column": "os_days", "event_column": "os_status"}


def test_a_partial_re_import_of_another_endpoint_is_refused_naming_both(tmp_path: Path) -> None:
    """GBSG2's recurrence-free survival imported, then its first 300 patients' overall survival:
    clinical.csv held 300 deaths' times beside 386 recurrences' in one time and event column,
    said only as 386 rows kept. Refused naming both outcomes, nothing written; the same columns
    (patients updated) are taken, and a cohort imported before the record keeps working."""
    from tests.clinical_exports import gbsg2_two_endpoints

    whole = gbsg2_two_endpoints(tmp_path)
    pd.read_csv(whole).iloc[:300].to_csv(first := tmp_path / "first300.csv", index=False)
    import_table(cohort := tmp_path / "cohort", whole, **RFS)
    before = (cohort / "clinical.csv").read_bytes()
    rfs = pd.read_csv(cohort / "clinical.csv", index_col="case_id")[["time", "event"]]
    assert rfs["event"].sum() == 299
    with pytest.raises(InputError) as refused:
        import_table(cohort, first, **OS)
    assert str(refused.value) == (
        "first300.csv's outcome is 'os_days'/'os_status' (death), but the 386 earlier row(s) of "
        "the cohort's clinical.csv that would be kept beside its rows (patients it has no row "
        "for) hold that of 'time'/'cens' (endpoint not named by the headers): one time and event "
        "column would mix two outcomes. Import a sheet with every patient's row in this outcome "
        "(or delete the cohort's clinical.csv first to write this sheet's rows alone), or give "
        "the earlier rows' columns to add these patients to their outcome: --time-column 'time' "
        "(Cohort page: Survival time column 'time'; Python: time_column=) and --event-column "
        "'cens' (Cohort page: Event column 'cens'; Python: event_column=)."
    )
    assert (cohort / "clinical.csv").read_bytes() == before
    assert json.loads((cohort / "outcome.json").read_text())["time_column"] == "time"
    assert import_table(cohort, first, **RFS).kept == 386  # the same recurrences, reordered
    outcome = pd.read_csv(cohort / "clinical.csv", index_col="case_id")[["time", "event"]]
    pd.testing.assert_frame_equal(
        outcome.sort_index(), rfs.sort_index(), check_like=True, check_dtype=False
    )
    (cohort / "outcome.json").unlink()  # imported before the record was kept
    assert import_table(cohort, first, **OS).kept == 386  # merged as before, recorded by none
    assert not (cohort / "outcome.json").exists()


@pytest.mark.parametrize("deaths_first", [True, False])
def test_a_partial_re_import_of_the_same_columns_with_no_death_is_taken(
    tmp_path: Path, deaths_first: bool
) -> None:
    """GBSG2's recurrence-free survival with cells 'Recurrence'/'Dead'/'Alive', and 100 of its
    patients again with more follow-up, none dead: the import seeing no 'Dead' cell recorded no
    death counted, and the update (or the earlier rows, imported first) was refused as another
    outcome in the same columns (or the whole sheet but 10 of them after these 100). Taken
    either way, its deaths recorded as events."""
    from tests.clinical_exports import gbsg2

    export = gbsg2(tmp_path)
    events = export.y["cens"].astype(int)
    died = (events == 0) & (np.arange(len(events)) % 10 == 0)
    sheet = pd.read_csv(export.path).drop(columns=["RFS (months)", "event"])
    sheet["rfs_days"] = export.y["time"]
    sheet["rfs_status"] = np.where(died, "Dead", np.where(events, "Recurrence", "Alive"))
    update = sheet[~died].iloc[:100].assign(rfs_days=lambda s: s["rfs_days"] + 10)
    sheet.to_csv(whole := tmp_path / "all.csv", index=False)
    update.to_csv(alive := tmp_path / "update.csv", index=False)
    sheet.drop(index=update.index[:10]).to_csv(rest := tmp_path / "rest.csv", index=False)
    first, then = (whole, alive) if deaths_first else (alive, rest)
    import_table(cohort := tmp_path / "cohort", first, time_unit="days")
    assert import_table(cohort, then, time_unit="days").kept == (586 if deaths_first else 10)
    table = pd.read_csv(cohort / "clinical.csv")
    assert (len(table), int(table["event"].sum())) == (686, int(events.sum() + died.sum()))
    assert json.loads((cohort / "outcome.json").read_text())["deaths_counted"] is True


def test_the_same_endpoint_under_other_headers_is_the_same_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GBSG2's (made-up) overall survival imported as TCGA names it, 'OS.time'/'OS', then its
    first 300 patients' under 'os_days'/'os_status': refused as mixing two outcomes, both said
    to be death's. Imported in weeks, then whole in days: warned of as another endpoint's, and
    the correction of its times left unsaid. Both records naming OS, they are one outcome; a
    disease-specific survival after it, or a PFS after an RFS (each of the same class, a death's
    or a recurrence's), is another: refused beside the earlier rows, warned of replacing them
    (both were taken without a word, the DSS's 300 rows kept beside 386 of OS)."""
    from survival_core.cli.main import main
    from tests.clinical_exports import gbsg2_two_endpoints

    sheet = pd.read_csv(whole := gbsg2_two_endpoints(tmp_path))
    tcga = sheet.rename(columns={"os_days": "OS.time", "os_status": "OS"})
    tcga.to_csv(tcga_path := tmp_path / "tcga.csv", index=False)
    sheet.iloc[:300].to_csv(first := tmp_path / "first300.csv", index=False)
    given = ["--time-column", "os_days", "--event-column", "os_status"]

    def imported(path: Path, cohort: Path, *options: str) -> str:
        argv = ["cohort", "import", "--clinical", str(path), "--out", str(cohort), *options]
        assert main(argv) == 0
        return capsys.readouterr().err

    imported(tcga_path, partial := tmp_path / "partial", "--time-unit", "days")
    said = imported(first, partial, *given)
    assert "kept from the cohort's earlier clinical.csv" in said and "Outcome" not in said
    assert len(pd.read_csv(partial / "clinical.csv")) == 686
    assert json.loads((partial / "outcome.json").read_text())["time_column"] == "os_days"
    imported(tcga_path, weeks := tmp_path / "weeks", "--time-unit", "weeks")
    said = imported(whole, weeks, *given)
    assert "Outcome changed" not in said
    assert (
        "warning: clinical: time: Times corrected: gbsg2_two.csv's are 1/7 of those the "
        "cohort's earlier clinical.csv held for these patients (the longest follow-up 34489 "
        "days, now 4927)"
    ) in said

    renamed = {"os": sheet, "rfs": sheet.rename(columns={"time": "rfs_days", "cens": "rfs_status"})}
    renamed["dss"] = sheet.rename(columns={"os_days": "dss_days", "os_status": "dss_status"})
    renamed["pfs"] = renamed["rfs"].rename(columns=lambda c: c.replace("rfs_", "pfs_"))
    for earlier, later, words in (
        ("os", "dss", ("death", "death from the disease")),
        ("rfs", "pfs", ("recurrence or progression",) * 2),
    ):
        columns = [f"{earlier}_days", f"{earlier}_status"]
        given = ["--time-column", columns[0], "--event-column", columns[1], "--time-unit", "days"]
        renamed[earlier].to_csv(earlier_path := tmp_path / f"{earlier}.csv", index=False)
        renamed[later].to_csv(later_path := tmp_path / f"{later}.csv", index=False)
        renamed[later].iloc[:300].to_csv(part := tmp_path / f"{later}300.csv", index=False)
        imported(earlier_path, cohort := tmp_path / f"{earlier}_{later}", *given)
        with pytest.raises(InputError) as refused:
            import_table(cohort, part, time_column=f"{later}_days", event_column=f"{later}_status")
        assert str(refused.value).startswith(
            f"{later}300.csv's outcome is '{later}_days'/'{later}_status' ({words[1]}), but the "
            "386 earlier row(s) of the cohort's clinical.csv that would be kept beside its rows "
            f"(patients it has no row for) hold that of '{columns[0]}'/'{columns[1]}' "
            f"({words[0]}): one time and event column would mix two outcomes."
        )
        later_given = ["--time-column", f"{later}_days", "--event-column", f"{later}_status"]
        assert (
            "warning: clinical: (outcome): Outcome changed: the cohort's earlier clinical.csv held "
            f"the outcome of '{columns[0]}'/'{columns[1]}' ({words[0]}), {later}.csv gives that of "
            f"'{later}_days'/'{later}_status' ({words[1]}): its rows replaced them."
        ) in imported(later_path, cohort, *later_given)


#: SEER's cause-specific death classification: a death from the cancer is its event.
SEER_CAUSE = {1: "Dead (attributable to this cancer dx)", 0: "Alive or dead of other cause"}


@pytest.mark.parametrize(
    ("time", "event"),
    [
        ("dss_days", "dss_status"),
        ("CSS (days)", "CSS status"),
        ("Survival months", "SEER cause-specific death classification"),
    ],
)
def test_a_disease_specific_survival_is_named_so_not_overall_survival(
    tmp_path: Path, time: str, event: str
) -> None:
    """GBSG2's (made-up) deaths as a disease-specific survival's, as TCGA, a cancer-specific
    survival and SEER name it: its model said 'overall survival', its events 'deaths'. The
    record names it (dss), the model's card says disease-specific survival and deaths from the
    disease; an endpoint its headers do not name records no name, as outcome.json was."""
    from survival_core.cli.main import main
    from survival_core.io.outcome_source import load_outcome_source
    from survival_core.models.card import ModelCard
    from tests.clinical_exports import gbsg2_two_endpoints

    sheet = pd.read_csv(gbsg2_two_endpoints(tmp_path))
    if time == "Survival months":
        sheet["os_days"] = (sheet["os_days"] / TIME_UNITS["months"]).round(2)
        sheet["os_status"] = sheet["os_status"].map(SEER_CAUSE)
    sheet.rename(columns={"os_days": time, "os_status": event}).to_csv(
        path := tmp_path / "dss.csv", index=False
    )
    cohort, model = tmp_path / "cohort", tmp_path / "model"
    import_table(cohort, path, time_column=time, event_column=event)
    assert pd.read_csv(cohort / "clinical.csv")["event"].sum() == 185
    recorded = load_outcome_source(cohort)
    assert (recorded.endpoint, recorded.name) == ("death", "dss")
    assert recorded.label() == "disease-specific survival"
    assert main(["fit", "--cohort", str(cohort), "--model", "coxph", "--out", str(model)]) == 0
    assert ModelCard.load(model).endpoint.outcome == (
        f"disease-specific survival ({time!r}/{event!r}; events: deaths from the disease)"
    )
    import_table(unnamed := tmp_path / "unnamed", path, **RFS)
    assert "name" not in json.loads((unnamed / "outcome.json").read_text())


def test_rows_of_an_unrecorded_outcome_kept_beside_a_partial_re_import_record_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GBSG2's recurrence-free survival imported before outcome.json was kept, then its first
    300 patients' overall survival: the 386 RFS rows kept beside them (merged as before) were
    recorded as overall survival, and the model fitted on the table said 'overall survival ...
    events: deaths'. No record is written, a warning says why, and the model names no endpoint;
    the whole sheet imported records it."""
    from survival_core.cli.main import main
    from survival_core.models.card import ModelCard
    from tests.clinical_exports import gbsg2_two_endpoints

    whole = gbsg2_two_endpoints(tmp_path)
    pd.read_csv(whole).iloc[:300].to_csv(first := tmp_path / "first300.csv", index=False)
    cohort, model = tmp_path / "cohort", tmp_path / "model"
    import_table(cohort, whole, **RFS)
    (cohort / "outcome.json").unlink()  # imported before the record was kept
    given = ["--time-column", "os_days", "--event-column", "os_status", "--time-unit", "days"]
    argv = ["cohort", "import", "--clinical", str(first), "--out", str(cohort), *given]
    assert main(argv) == 0
    assert (
        capsys.readouterr().err.count(
            "warning: clinical: (outcome): Outcome not recorded: the 386 earlier row(s) of the "
            "cohort's clinical.csv kept beside first300.csv's (patients it has no row for) were "
            "imported before the cohort recorded its outcome, so whether they are of "
            "'os_days'/'os_status' (death) is not known: no outcome.json is written, and the "
            "cohort's endpoint is unknown (models trained on it name none). Import a sheet with "
            "every patient's row to record it. (386)\n"
        )
        == 1
    )
    assert len(pd.read_csv(cohort / "clinical.csv")) == 686
    assert not (cohort / "outcome.json").exists()
    table = str(cohort / "clinical.csv")
    assert main(["fit", "--table", table, "--model", "coxph", "--out", str(model)]) == 0
    assert ModelCard.load(model).outcome is None
    assert ModelCard.load(model).endpoint.survival == "survival"
    argv = ["cohort", "import", "--clinical", str(whole), "--out", str(cohort), *given]
    assert main(argv) == 0
    assert json.loads((cohort / "outcome.json").read_text())["endpoint"] == "death"


def test_an_outcome_record_kept_before_it_said_whether_deaths_counted_loads(
    tmp_path: Path,
) -> None:
    """outcome.json written before it kept ``deaths_counted`` loads: a header stating a death's
    code still counts one; a recurrence's column says nothing more, and its events are worded
    as unknown, never as recurrences alone."""
    from survival_core.io.outcome_source import load_outcome_source
    from tests.clinical_exports import imported_gbsg2

    for endpoint, events in (
        ("coded", "recurrences or progressions, or deaths"),
        ("rfs", "events (recurrence, progression or death, as 'recurrence' records them)"),
    ):
        record = (imported_gbsg2(tmp_path, endpoint) / "outcome.json").resolve()
        kept = json.loads(record.read_text())
        assert kept.pop("deaths_counted") is (endpoint == "coded")
        record.write_text(json.dumps(kept))
        source = load_outcome_source(record.parent)
        assert source.deaths_counted is None and source.words().events == events


def test_a_re_import_switching_the_endpoint_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GBSG2's recurrence-free survival (299 recurrences) imported, then the same sheet's overall
    survival (185 deaths) into the same folder: clinical.csv was replaced without a word, models
    trained on the cohort before being of the other endpoint. A warning on the console, in
    --json's warnings and the Cohort page's import report names both outcomes."""
    from survival_core.cli.main import main
    from survival_core.cohort.imported import import_status
    from tests.clinical_exports import gbsg2_two_endpoints

    sheet, out = gbsg2_two_endpoints(tmp_path), tmp_path / "cohort"
    argv = ["cohort", "import", "--clinical", str(sheet), "--out", str(out), "--json"]
    assert (
        main([*argv, "--time-column", "time", "--event-column", "cens", "--time-unit", "days"]) == 0
    )
    assert pd.read_csv(out / "clinical.csv")["event"].sum() == 299
    capsys.readouterr()
    assert main([*argv, "--time-column", "os_days", "--event-column", "os_status"]) == 0
    said = (
        "(outcome): Outcome changed: the cohort's earlier clinical.csv held the outcome of "
        "'time'/'cens' (endpoint not named by the headers), gbsg2_two.csv gives that of "
        "'os_days'/'os_status' (death): its rows replaced them. Models trained on the cohort "
        "before were trained on the other endpoint: train them again, or import the sheet with "
        "the earlier columns to keep that one: --time-column 'time' (Cohort page: Survival time "
        "column 'time'; Python: time_column=) and --event-column 'cens' (Cohort page: Event "
        "column 'cens'; Python: event_column=) (686)"
    )
    _warned(capsys, said)
    assert import_status(out).warnings() == [said]
    assert pd.read_csv(out / "clinical.csv")["event"].sum() == 185


def _whas500_living(folder: Path, layout: str) -> Path:
    """WHAS500's 285 living patients, as TCGA writes its outcome ('days_to_death' blank,
    'days_to_last_follow_up') or with each time marked censored ('2192+'), no event column."""
    from tests.clinical_exports import whas500

    export = whas500(folder)
    alive = ~export.y["fstat"]
    sheet = pd.DataFrame({"case_submitter_id": [f"W{i}" for i in range(int(alive.sum()))]})
    sheet["age_at_index"] = export.X["age"].to_numpy()[alive]
    days = export.y["lenfol"][alive]
    if layout == "tcga":
        sheet["days_to_death"], sheet["days_to_last_follow_up"] = "", days
    else:
        sheet["os_days"] = [f"{d:g}+" for d in days]
    sheet.to_csv(path := folder / f"{layout}.csv", index=False)
    return path


@pytest.mark.parametrize(
    ("layout", "column"),
    [("tcga", "days_to_death"), ("marks", "(os_days: censoring marks)")],
)
def test_a_cohort_without_events_is_a_warning_however_its_events_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str, column: str
) -> None:
    """WHAS500's 285 living patients, their events read from TCGA's days to death or from
    censoring marks ('2192+'): imported with 0 events and no word, where an event column of
    'alive' was warned of (No events)."""
    from survival_core.cli.main import main

    sheet = _whas500_living(tmp_path, layout)
    argv = ["cohort", "import", "--clinical", str(sheet), "--json", "--out"]
    assert main([*argv, str(out := tmp_path / "cohort")]) == 0
    _warned(
        capsys,
        f"{column}: No events: no patient has the event (every outcome censored): no model can "
        "learn from the cohort; check the event column and how its values are read (0)",
    )
    table = pd.read_csv(out / "clinical.csv")
    assert (len(table), int(table["event"].sum()), table["time"].max()) == (285, 0, 2192)
