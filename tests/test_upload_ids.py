"""The IDs of an upload's clinical files: never stored as given, never the case id. Keyed by the
hospital's MRN, they named the case (pages, audit log, report) and were stored beside images
whose PatientID was pseudonymised; a CSV none of whose rows was the patient's was stored whole,
with every other patient's MRN."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pydicom
import pytest

from survival_core.io.deid import Deidentifier
from survival_core.io.upload_case import describe_upload, load_upload
from survival_core.io.uploads import store_upload
from tests.dicom_fixtures import zip_bytes

MRN, OTHER_MRN = "MRN-4711", "MRN-0815"
#: The note of a clinical file none of whose rows is the images' patient's.
UNMATCHED = "Not stored from the upload: 1 clinical file(s) of none of the images' patients"


@pytest.fixture(scope="module")
def export(shared_data: Path) -> dict[str, bytes]:
    """The real sarcoma CT and its RTSTRUCT as a hospital exports them, by zip member: their
    PatientID the MRN, not marked de-identified."""
    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not in ../shared/data")
    members = {}
    for path in sorted(source.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        ds.PatientID, ds.PatientIdentityRemoved = MRN, "NO"
        buffer = io.BytesIO()
        ds.save_as(buffer)
        members[f"Zyxwv_Qwerty/{path.relative_to(source).as_posix()}"] = buffer.getvalue()
    return members


def _stored_text(folder: Path) -> bytes:
    """Every stored byte of an upload, zip members unpacked."""
    stored = b""
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                stored += b"".join(archive.read(m) for m in archive.namelist())
        elif path.is_file():
            stored += path.read_bytes()
    return stored


def _loaded(files: list[tuple[str, bytes]]):
    """The upload stored and loaded as the Case page does: its folder and case."""
    contents = describe_upload(store_upload(files))
    return contents.folder, load_upload(contents, contents.suggested_roles())


@pytest.mark.parametrize("zipped", [False, True], ids=["beside the zip", "in the zip"])
def test_a_clinical_json_keyed_by_the_mrn_is_stored_under_the_pseudonym(
    export: dict[str, bytes], zipped: bool
) -> None:
    """Beside the zip it kept the MRN; inside it, the MRN named the case."""
    values = json.dumps({"case_id": MRN, "name": "Zyxwv Qwerty", "albumin": 38}).encode()
    if zipped:
        files = [("Zyxwv.zip", zip_bytes(export | {"Zyxwv_Qwerty/clinical.json": values}))]
    else:
        files = [("Zyxwv.zip", zip_bytes(export)), ("clinical.json", values)]
    folder, case = _loaded(files)
    assert case.case_id == Deidentifier().pseudonym(MRN)
    assert case.clinical["albumin"] == 38
    assert MRN.encode() not in _stored_text(folder)


def test_a_clinical_json_of_another_patient_is_not_stored(export: dict[str, bytes]) -> None:
    values = json.dumps({"case_id": OTHER_MRN, "albumin": 38}).encode()
    folder, case = _loaded([("Zyxwv.zip", zip_bytes(export)), ("clinical.json", values)])
    assert not (folder / "clinical.json").exists() and case.clinical.get("albumin") is None
    assert any(w.startswith(UNMATCHED) for w in case.warnings)


def test_a_csv_whose_id_differs_in_case_from_the_images_keeps_nothing(
    export: dict[str, bytes],
) -> None:
    """IDs are matched as a cohort import matches them (exactly, but for spaces around them):
    'mrn-4711' is not the images' patient, and the CSV was stored whole, another MRN with it."""
    rows = f"case_id,name,albumin\n{MRN.lower()},Zyxwv Qwerty,38\n{OTHER_MRN},Other,40\n"
    folder, case = _loaded([("Zyxwv.zip", zip_bytes(export)), ("study.csv", rows.encode())])
    assert not (folder / "clinical.csv").exists() and case.clinical.get("albumin") is None
    assert any(w.startswith(UNMATCHED) for w in case.warnings)
    stored = _stored_text(folder).lower()
    assert MRN.lower().encode() not in stored and OTHER_MRN.lower().encode() not in stored


@pytest.mark.parametrize("header", ["Patient ID", "PatientID", "patient_id", "Patient-ID", "MRN"])
def test_a_csv_keyed_under_a_patient_id_header_gives_the_images_row_under_the_pseudonym(
    export: dict[str, bytes], header: str
) -> None:
    """The ID column under a name the cohort import reads it by, not 'case_id': it was left out
    as naming no model's variable, both patients' rows stored without IDs and the case refused
    ('The clinical CSV has no case_id column'). The images' row is kept, under their pseudonym,
    no MRN stored."""
    rows = f"{header},name,albumin\n{OTHER_MRN},Other,40\n{MRN},Zyxwv Qwerty,38\n"
    folder, case = _loaded([("Zyxwv.zip", zip_bytes(export)), ("study.csv", rows.encode())])
    assert case.case_id == Deidentifier().pseudonym(MRN) and case.clinical["albumin"] == 38
    assert (folder / "clinical.csv").read_text() == f"case_id,albumin\n{case.case_id},38\n"
    stored = _stored_text(folder)
    assert MRN.encode() not in stored and OTHER_MRN.encode() not in stored


def test_a_csv_with_a_study_id_beside_a_chart_number_is_keyed_by_the_study_id(
    export: dict[str, bytes],
) -> None:
    """An 'ID' (the images' PatientID) beside a Brazilian 'Prontuário' (the chart number): the
    chart number was taken as the case's ID, no row matched the images and the albumin was not
    read. The study ID keys the row; the chart number is left out."""
    rows = f"ID,Prontuário,albumin\n{OTHER_MRN},5501,40\n{MRN},7702,38\n"
    folder, case = _loaded([("Zyxwv.zip", zip_bytes(export)), ("study.csv", rows.encode())])
    assert case.case_id == Deidentifier().pseudonym(MRN) and case.clinical["albumin"] == 38
    assert (folder / "clinical.csv").read_text() == f"case_id,albumin\n{case.case_id},38\n"


def test_a_clinical_json_of_another_patient_under_an_mrn_key_is_not_stored(
    export: dict[str, bytes],
) -> None:
    """Its 'MRN' key was left out and the other patient's albumin read as this one's."""
    values = json.dumps({"MRN": OTHER_MRN, "albumin": 40}).encode()
    folder, case = _loaded([("Zyxwv.zip", zip_bytes(export)), ("clinical.json", values)])
    assert not (folder / "clinical.json").exists() and case.clinical.get("albumin") is None
    assert any(w.startswith(UNMATCHED) for w in case.warnings)


def _volumes(shared_data: Path) -> list[tuple[str, bytes]]:
    """pyradiomics' real lung CT and its GTV label, named as an export names them."""
    image, label = (shared_data / "pyradiomics" / f"lung1_{n}.nrrd" for n in ("image", "label"))
    if not image.is_file() or not label.is_file():
        pytest.skip("pyradiomics' samples are not in ../shared/data")
    return [
        (f"Zyxwv_Qwerty_{MRN}_image.nrrd", image.read_bytes()),
        ("Zyxwv_Qwerty_label.nrrd", label.read_bytes()),
    ]


def test_volumes_with_a_csv_keyed_by_the_mrn_are_named_by_the_upload(shared_data: Path) -> None:
    """The case was named by the CSV's MRN; now by the upload, as volumes without a CSV are."""
    rows = f"case_id,name,albumin\n{MRN},Zyxwv Qwerty,38\n".encode()
    folder, case = _loaded([*_volumes(shared_data), ("clinical.csv", rows)])
    assert case.case_id == folder.name and folder.name.startswith("upload-")
    assert case.clinical["albumin"] == 38 and case.mask_array("gtv").any()
    assert MRN.encode() not in _stored_text(folder)


def test_volumes_with_a_csv_of_several_patients_keep_none_of_it(shared_data: Path) -> None:
    """The images carry no ID to pick their row by: the CSV is not stored, other MRNs with it."""
    rows = f"case_id,albumin\n{MRN},38\n{OTHER_MRN},40\n".encode()
    folder, case = _loaded([*_volumes(shared_data), ("clinical.csv", rows)])
    assert not (folder / "clinical.csv").exists() and case.clinical.get("albumin") is None
    assert any("1 clinical CSV file(s) of several rows" in w for w in case.warnings)
    assert OTHER_MRN.encode() not in _stored_text(folder)
