"""DICOM and volume de-identification: no identifier survives, dates shift per patient, UIDs stay
linked, pixels are untouched."""

from __future__ import annotations

import gzip
import io
import json
import stat
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from survival_core.errors import DicomError
from survival_core.io.case_loader import load_case
from survival_core.io.deid import (
    KEY_FILE,
    Deidentifier,
    blank_metaimage_bytes,
    blank_nifti_bytes,
    blank_nrrd_bytes,
    deidentify_dicom_bytes,
    read_dicom_bytes,
)
from survival_core.io.dicom_write import write_ct_series, write_rtstruct
from survival_core.io.upload_case import describe_upload, load_upload
from survival_core.io.uploads import NOTES_FILE, store_upload, upload_notes
from survival_core.paths import data_dir
from tests.case_builders import make_case

KEY = bytes(range(32))
#: Distinctive values planted in the generated patient and the strings that must not survive.
PATIENT = {
    "PatientName": "Zyxwv^Qwerty",
    "PatientID": "ID-987654321",
    "PatientBirthDate": "19410203",
    "InstitutionName": "Zyxwv Memorial Hospital",
    "ReferringPhysicianName": "Qwerty^Referrer",
    "OtherPatientIDs": "OTHERID-555777",
    "AccessionNumber": "ACC-24681357",
    "PatientAddress": "12 Zyxwv Street",
}
FORBIDDEN = ["zyxwv", "qwerty", "987654321", "19410203", "1941-02-03", "555777", "24681357"]
STUDY_DATE = "20190304"


def _plant(ds: Dataset) -> None:
    """Identifiers at the top level, in a private tag and inside nested sequences."""
    for keyword, value in PATIENT.items():
        setattr(ds, keyword, value)
    # real patient data: not marked de-identified (RadSurv's own writer marks its pseudonyms)
    ds.PatientIdentityRemoved = "NO"
    del ds.DeidentificationMethod
    ds.private_block(0x0011, "ACME RADSURV TEST", create=True).add_new(0x01, "LO", "ID-987654321")
    other = Dataset()
    other.PatientID = "OTHERID-555777"
    ds.OtherPatientIDsSequence = Sequence([other])
    request = Dataset()
    request.RequestedProcedureID = "ACC-24681357"
    request.ScheduledProcedureStepID = "Zyxwv"
    ds.RequestAttributesSequence = Sequence([request])
    ds.add_new(0x60003000, "OW", b"Qwerty overlay!!")


def _nest(ds: Dataset) -> None:
    """A person name and a date deep inside the RTSTRUCT's frame of reference sequence."""
    study = ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0]
    study.ReferringPhysicianName = "Zyxwv^Qwerty"
    study.StudyDate = STUDY_DATE


def write_patient(folder: Path, patient_id: str = "ID-987654321") -> dict[str, Path]:
    """A small DICOM CT + RTSTRUCT case with identifiers planted everywhere."""
    case = make_case(size=(24, 20, 8))
    info = write_ct_series(
        case.image,
        folder / "ct",
        patient_id=patient_id,
        patient_name="Zyxwv^Qwerty",
        study_date=STUDY_DATE,
        uid_seed=f"deid-{patient_id}",
    )
    rtstruct = folder / "rtstruct.dcm"
    write_rtstruct({"Liver": case.masks["organ"], "GTV": case.masks["gtv"]}, info, rtstruct)
    files = [*info["files"], rtstruct]
    for path in files:
        ds = pydicom.dcmread(path)
        _plant(ds)
        ds.PatientID = patient_id
        if path == rtstruct:
            _nest(ds)
        ds.save_as(path, enforce_file_format=True)
    (folder / "clinical.json").write_text(json.dumps({"albumin": 40, "mrn": "ID-987654321"}))
    return {"ct": folder / "ct", "rtstruct": rtstruct, "folder": folder}


def _deid_folder(source: Path, target: Path, deid: Deidentifier) -> None:
    for path in sorted(source.rglob("*.dcm")):
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(deidentify_dicom_bytes(path.read_bytes(), deid)[0])


def _assert_clean(data: bytes, forbidden: list[str]) -> None:
    lowered = data.lower()
    for value in forbidden:
        assert value.lower().encode() not in lowered, value


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent).as_posix())
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        (
            "CT_small.dcm",
            ["CompressedSamples", "1CT1", "JFK IMAGING", "ABCD1234", "1234ABCD", "CT01_OC0"],
        ),
        ("MR_small.dcm", ["CompressedSamples", "4MR1", "-0000200", "20040826"]),
        (
            "rtstruct.dcm",
            ["Test^Phantom", "tPhantom30sep", "19691231", "dmason", "sep30", "station1"],
        ),
    ],
)
def test_pydicom_test_files_lose_their_identifiers(name, forbidden):
    raw = Path(get_testdata_file(name)).read_bytes()
    original = read_dicom_bytes(raw)
    cleaned, pseudonym, sop_uid, _ = deidentify_dicom_bytes(raw, Deidentifier(KEY))
    ds = pydicom.dcmread(io.BytesIO(cleaned))
    assert all(v.lower().encode() in raw.lower() for v in forbidden)  # they were there
    _assert_clean(cleaned, forbidden)
    assert ds.PatientID == ds.PatientName == pseudonym and pseudonym.startswith("RS-")
    assert ds.PatientIdentityRemoved == "YES" and ds.LongitudinalTemporalInformationModified
    assert {c.CodeValue for c in ds.DeidentificationMethodCodeSequence} == {
        "113100",
        "113107",
        "113108",
    }
    assert not any(e.tag.is_private for e in ds.iterall())
    assert ds.SOPInstanceUID == sop_uid == ds.file_meta.MediaStorageSOPInstanceUID
    assert sop_uid.startswith("2.25.") and sop_uid != original.SOPInstanceUID
    assert ds.SOPClassUID == original.SOPClassUID  # class UIDs are not identifiers
    if "PixelData" in original:
        assert ds.PixelData == original.PixelData
        np.testing.assert_array_equal(ds.pixel_array, original.pixel_array)


def test_generated_patient_leaves_no_trace(tmp_path):
    paths = write_patient(tmp_path / "raw")
    deid = Deidentifier(KEY)
    for path in sorted(paths["folder"].rglob("*.dcm")):
        raw = path.read_bytes()
        _assert_present = [v for v in FORBIDDEN if v.encode() in raw.lower()]
        assert len(_assert_present) >= 5  # the identifiers were planted
        cleaned = deidentify_dicom_bytes(raw, deid)[0]
        _assert_clean(cleaned, FORBIDDEN)
        ds = pydicom.dcmread(io.BytesIO(cleaned))
        assert ds.PatientBirthDate == "" and "OtherPatientIDs" not in ds
        assert "RequestAttributesSequence" not in ds and "OtherPatientIDsSequence" not in ds
        assert not any(e.tag.group >> 8 == 0x60 for e in ds)
        assert not any(e.VR == "PN" and e.value and "RS-" not in str(e.value) for e in ds.iterall())


def _study_dates(folder: Path) -> set[date]:
    dates = set()
    for path in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        for elem in ds.iterall():
            if elem.VR == "DA" and elem.value and elem.keyword != "PatientBirthDate":
                value = str(elem.value)
                dates.add(date(int(value[:4]), int(value[4:6]), int(value[6:8])))
    return dates


def test_dates_shift_by_one_offset_per_patient(tmp_path):
    deid = Deidentifier(KEY)
    shifts = {}
    for patient in ("ID-987654321", "ID-123123123"):
        paths = write_patient(tmp_path / patient / "raw", patient_id=patient)
        _deid_folder(paths["folder"], tmp_path / patient / "clean", deid)
        # every date of every file of the patient, the nested one included, lands on one day
        (moved,) = _study_dates(tmp_path / patient / "clean")
        shifts[patient] = (moved - date(2019, 3, 4)).days
        assert shifts[patient] == deid.day_shift(patient)
        assert -3650 <= shifts[patient] <= -365
        ds = pydicom.dcmread(next((tmp_path / patient / "clean" / "ct").iterdir()))
        assert ds.StudyTime == "120000"  # times of day are kept
    assert shifts["ID-987654321"] != shifts["ID-123123123"]
    other_key = Deidentifier(bytes(32))
    assert other_key.day_shift("ID-987654321") != shifts["ID-987654321"]


def test_uids_stay_linked_and_the_case_loads_the_same(tmp_path):
    paths = write_patient(tmp_path / "raw")
    deid = Deidentifier(KEY)
    _deid_folder(paths["folder"], tmp_path / "clean", deid)
    original, cleaned = load_case(paths["folder"]), load_case(tmp_path / "clean")
    np.testing.assert_array_equal(cleaned.array(), original.array())
    for role in ("organ", "gtv"):
        assert cleaned.mask_array(role).any()
        np.testing.assert_array_equal(cleaned.mask_array(role), original.mask_array(role))
    rt = pydicom.dcmread(tmp_path / "clean" / "rtstruct.dcm")
    ct = [pydicom.dcmread(p) for p in (tmp_path / "clean" / "ct").iterdir()]
    frame = rt.ReferencedFrameOfReferenceSequence[0]
    study = frame.RTReferencedStudySequence[0]
    series = study.RTReferencedSeriesSequence[0]
    assert frame.FrameOfReferenceUID == ct[0].FrameOfReferenceUID
    assert study.ReferencedSOPInstanceUID == ct[0].StudyInstanceUID == rt.StudyInstanceUID
    assert series.SeriesInstanceUID == ct[0].SeriesInstanceUID
    assert {i.ReferencedSOPInstanceUID for i in series.ContourImageSequence} == {
        d.SOPInstanceUID for d in ct
    }
    assert all(d.SOPInstanceUID.startswith("2.25.") and len(d.SOPInstanceUID) <= 64 for d in ct)
    # the case id is the pseudonym, also for the raw folder (never its name or PatientID)
    pseudonym = Deidentifier().pseudonym("ID-987654321")
    assert original.case_id == pseudonym and cleaned.case_id == deid.pseudonym("ID-987654321")


def test_a_dicom_zip_upload_is_stored_de_identified_and_loads_with_contours(tmp_path):
    paths = write_patient(tmp_path / "Zyxwv_Qwerty")
    folder = store_upload([("Zyxwv_Qwerty_CT.zip", _zip(paths["folder"]))])
    pseudonym = Deidentifier().pseudonym("ID-987654321")
    (stored,) = [p for p in folder.iterdir() if p.name != NOTES_FILE]
    assert stored.name == f"{pseudonym}.zip"
    with zipfile.ZipFile(stored) as archive:
        for info in archive.infolist():
            _assert_clean(info.filename.encode(), FORBIDDEN)
            _assert_clean(archive.read(info), FORBIDDEN)
        clinical = json.loads(
            next(archive.read(i) for i in archive.infolist() if i.filename.endswith(".json"))
        )
    # keys outside the clinical schema are dropped; the MRN, the images' patient's, is stored as
    # their pseudonym
    assert clinical == {"case_id": pseudonym, "albumin": 40}
    contents = describe_upload(folder)
    case = load_upload(contents, contents.suggested_roles())
    assert case.case_id == pseudonym and case.mask_array("gtv").any()
    np.testing.assert_array_equal(case.array(), load_case(paths["folder"]).array())
    # the same upload lands in the same folder: the address is over de-identified content
    assert store_upload([("other_name.zip", _zip(paths["folder"]))]) == folder


def test_loose_dicom_files_without_preamble_are_detected_by_content(tmp_path):
    raw = Path(get_testdata_file("rtstruct.dcm")).read_bytes()
    assert raw[128:132] != b"DICM"
    folder = store_upload([("Phantom30sep.txt", raw), ("notes.txt", b"plain text")])
    names = sorted(p.name for p in folder.iterdir())
    assert "file-1.txt" in names and "Phantom30sep.txt" not in names  # stored neutrally
    dicom = next(p for p in folder.iterdir() if p.suffix == ".dcm")
    _assert_clean(dicom.read_bytes(), ["Test^Phantom", "tPhantom30sep", "19691231"])
    assert read_dicom_bytes(b"\x08\x00\x05\x00garbage that is not a data set") is None


def test_de_identification_is_deterministic_keyed_and_keeps_the_case_id_when_repeated():
    raw = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    once = deidentify_dicom_bytes(raw, Deidentifier(KEY))
    assert deidentify_dicom_bytes(raw, Deidentifier(KEY)) == once
    twice = deidentify_dicom_bytes(once[0], Deidentifier(KEY))
    assert twice[1] == once[1]  # the case id survives a second pass (re-upload of an export)
    np.testing.assert_array_equal(
        pydicom.dcmread(io.BytesIO(twice[0])).pixel_array,
        pydicom.dcmread(io.BytesIO(raw)).pixel_array,
    )
    other = deidentify_dicom_bytes(raw, Deidentifier(bytes(32)))
    assert other[1] != once[1] and other[2] != once[2]


def test_study_codes_of_de_identified_data_are_kept():
    ds = read_dicom_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    ds.PatientIdentityRemoved, ds.PatientID = "YES", "HCC_017"
    buffer = io.BytesIO()
    ds.save_as(buffer)
    cleaned, pseudonym, _, _ = deidentify_dicom_bytes(buffer.getvalue(), Deidentifier(KEY))
    assert pseudonym == "HCC_017" and pydicom.dcmread(io.BytesIO(cleaned)).PatientID == "HCC_017"
    _assert_clean(cleaned, ["JFK IMAGING"])


def test_burned_in_annotations_are_refused():
    ds = read_dicom_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(DicomError, match="burned into its pixels"):
        Deidentifier(KEY).deidentify(ds)


def test_a_data_set_without_sop_uids_is_refused_clearly():
    """A DICOM file without SOP Class/Instance UID cannot be stored as a DICOM object (before:
    pydicom's 'Required File Meta Information elements are missing ...')."""
    content = Path(get_testdata_file("meta_missing_tsyntax.dcm")).read_bytes()
    with pytest.raises(DicomError, match="without SOP Class UID or SOP Instance UID, so not a"):
        deidentify_dicom_bytes(content, Deidentifier(KEY))


def test_the_key_is_created_once_with_owner_only_permissions():
    first = Deidentifier().pseudonym("x")
    path = data_dir() / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert Deidentifier().pseudonym("x") == first


def _volume() -> sitk.Image:
    image = sitk.GetImageFromArray(np.arange(60, dtype=np.int16).reshape(3, 4, 5))
    image.SetSpacing((0.7, 0.8, 2.5))
    return image


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_free_text_is_blanked(tmp_path, suffix):
    path = tmp_path / f"image{suffix}"
    sitk.WriteImage(_volume(), str(path))
    raw = bytearray(
        gzip.decompress(path.read_bytes()) if suffix.endswith("gz") else path.read_bytes()
    )
    raw[148:160] = b"Zyxwv^Qwerty"
    raw[228:236] = b"19410203"
    planted = gzip.compress(bytes(raw)) if suffix.endswith("gz") else bytes(raw)
    cleaned = blank_nifti_bytes(planted)
    _assert_clean(gzip.decompress(cleaned) if suffix.endswith("gz") else cleaned, FORBIDDEN)
    out = tmp_path / f"clean{suffix}"
    out.write_bytes(cleaned)
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(sitk.ReadImage(str(out))), sitk.GetArrayFromImage(_volume())
    )
    assert blank_nifti_bytes(b"not a volume at all") is None


@pytest.mark.parametrize(("size", "offset"), [(348, 328), (540, 508)], ids=["nifti-1", "nifti-2"])
def test_nifti_intent_name_is_blanked(size, offset):
    """intent_name (char[16]; at 328 in NIfTI-1, 508 in NIfTI-2, as in nibabel's header_dtype)
    kept the patient's name."""
    header = bytearray(size + 4 + 64)
    header[:4] = size.to_bytes(4, "little")
    magic_at = 344 if size == 348 else 4
    header[magic_at : magic_at + 4] = b"n+1\0" if size == 348 else b"n+2\0"
    header[offset : offset + 12] = b"Zyxwv^Qwerty"
    cleaned = blank_nifti_bytes(bytes(header))
    _assert_clean(cleaned, FORBIDDEN)
    assert cleaned[magic_at : magic_at + 4] == header[magic_at : magic_at + 4]


def test_a_real_nifti_loses_its_intent_name_as_readers_see_it(shared_data, tmp_path):
    """The IBSI lung phantom's NIfTI-1 with the name planted at byte 328: SimpleITK reads it as
    the header's intent_name, and no more after cleaning; the voxels are untouched."""
    source = shared_data / "ibsi1" / "ct_radiomics_phantom" / "nifti" / "image" / "phantom.nii.gz"
    if not source.is_file():
        pytest.skip("IBSI phantom NIfTI not in ../shared/data")
    raw = bytearray(gzip.decompress(source.read_bytes()))
    raw[328:340] = b"Zyxwv^Qwerty"
    planted, cleaned = tmp_path / "planted.nii", tmp_path / "cleaned.nii"
    planted.write_bytes(raw)
    cleaned.write_bytes(blank_nifti_bytes(bytes(raw)))
    reader = sitk.ImageFileReader()
    names = []
    for path in (planted, cleaned):
        reader.SetFileName(str(path))
        reader.ReadImageInformation()
        names.append(reader.GetMetaData("intent_name"))
    assert names == ["Zyxwv^Qwerty", ""]
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(sitk.ReadImage(str(cleaned))),
        sitk.GetArrayFromImage(sitk.ReadImage(str(source))),
    )


def test_a_nrrd_header_with_windows_line_ends_is_cleaned_up_to_its_end_only(shared_data, tmp_path):
    """pyradiomics' lung1 CT with CRLF header lines: the header end was looked for as LF LF only,
    so the voxel data were filtered as header lines (3,150 bytes lost, the file unreadable)."""
    source = shared_data / "pyradiomics" / "lung1_image.nrrd"
    if not source.is_file():
        pytest.skip("pyradiomics samples not in ../shared/data")
    content = source.read_bytes()
    end = content.index(b"\n\n")
    head = content[:end].replace(b"\n", b"\n# scanned for Zyxwv\n", 1)
    voxels = content[end + 2 :]
    crlf = head.replace(b"\n", b"\r\n") + b"\r\n\r\n" + voxels
    cleaned = blank_nrrd_bytes(crlf)
    assert cleaned.endswith(b"\r\n\r\n" + voxels)  # nothing past the header is touched
    _assert_clean(cleaned[: -len(voxels)], FORBIDDEN)
    path = tmp_path / "clean.nrrd"
    path.write_bytes(cleaned)
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(sitk.ReadImage(str(path))),
        sitk.GetArrayFromImage(sitk.ReadImage(str(source))),
    )


def test_nrrd_and_metaimage_headers_keep_only_format_fields(tmp_path):
    image = _volume()
    image.SetMetaData("0010|0010", "Zyxwv^Qwerty")
    image.SetMetaData("PatientBirthDate", "19410203")
    for suffix, blank in ((".nrrd", blank_nrrd_bytes), (".mha", blank_metaimage_bytes)):
        path = tmp_path / f"image{suffix}"
        sitk.WriteImage(image, str(path))
        raw = path.read_bytes()
        if suffix == ".nrrd":
            raw = raw.replace(b"\n", b"\n# scanned for Zyxwv\ncontent: Qwerty\n", 1)
        assert b"Zyxwv" in raw
        cleaned = blank(raw)
        _assert_clean(cleaned, FORBIDDEN)
        out = tmp_path / f"clean{suffix}"
        out.write_bytes(cleaned)
        np.testing.assert_array_equal(
            sitk.GetArrayFromImage(sitk.ReadImage(str(out))), sitk.GetArrayFromImage(_volume())
        )
        assert blank(b"PK\x03\x04 a zip") is None


def test_clinical_tables_keep_case_id_and_schema_columns_only():
    csv_bytes = b"Case ID,Name,MRN,age,Birth Date\nc1,Zyxwv Qwerty,ID-987654321,61,1941-02-03\n"
    folder = store_upload([("clinical.csv", csv_bytes)])
    # no image names the row: its ID (maybe the hospital's) is not kept, the upload's stands in
    assert (folder / "clinical.csv").read_text() == "case_id,age\nupload,61\n"


@pytest.mark.parametrize("inside", [True, False], ids=["json-in-zip", "csv-beside-zip"])
def test_an_upload_stored_again_keeps_its_columns_and_gains_a_new_models(shared_data, inside):
    """The sarcoma's CT zip with its clinical values, stored again once a model offering `ldh`
    was registered and the one offering `tsize` removed: the upload kept its first clinical file,
    and the new model's `ldh` (240, uploaded) was never read. Both columns are kept."""
    ct = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(ct.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(ct.parent).as_posix())
        if inside:
            archive.writestr("CT/clinical.json", json.dumps({"age": 61, "tsize": 35, "ldh": 240}))
    files = [("STS_001.zip", buffer.getvalue())]
    if not inside:  # a European sheet: semicolons
        files.append(("clinical.csv", b"age;tsize;ldh\n61;35;240\n"))
    base = frozenset({"case_id", "age"})
    first = store_upload(files, base | {"tsize"})
    again = store_upload(files, base | {"ldh"})
    assert again == first
    if inside:
        (stored,) = [p for p in again.iterdir() if p.suffix == ".zip"]
        with zipfile.ZipFile(stored) as archive:
            (clinical,) = [archive.read(n) for n in archive.namelist() if n.endswith(".json")]
        assert json.loads(clinical) == {"age": 61, "tsize": 35, "ldh": 240}
    else:
        assert (again / "clinical.csv").read_text() == "age;tsize;ldh\n61;35;240\n"
    assert not upload_notes(again)


@pytest.mark.parametrize(
    ("name", "clinical"),
    [
        ("clinical.csv", b"Case ID;Albumin (g/L);AFP\nSYN-0001;41,5;3\n"),
        (
            "clinical.json",
            json.dumps({"Case ID": "SYN-0001", "Albumin (g/L)": 41.5, "AFP": 3}).encode(),
        ),
    ],
)
def test_an_upload_stored_again_with_a_unit_in_a_header_is_cleaned_once(
    shared_data, monkeypatch, name, clinical
):
    """breast1 (pyradiomics) with its values under 'Albumin (g/L)', stored again once a model
    offered `inr`: the stored header's other reading, 'albumin_g_l', was counted as a column the
    new storing lost, so the upload was de-identified twice. Nothing was lost: cleaned once."""
    from survival_core.io import uploads

    volumes = shared_data / "pyradiomics"
    files = [(n, (volumes / n).read_bytes()) for n in ("breast1_image.nrrd", "breast1_label.nrrd")]
    files.append((name, clinical))
    keep = frozenset({"case_id", "albumin", "afp"})
    first = store_upload(files, keep)
    stored = (first / name).read_bytes()
    cleanings = []
    deidentify = uploads._deidentify
    monkeypatch.setattr(
        uploads, "_deidentify", lambda *a, **k: cleanings.append(a[1]) or deidentify(*a, **k)
    )
    assert store_upload(files, keep | {"inr"}) == first
    assert cleanings == [keep | {"inr"}]  # once, under the keep it was given
    assert (first / name).read_bytes() == stored


def test_identifying_text_outside_the_core_table_is_removed():
    """A real export carried the patient's name and MRN in attributes of PS3.15 Table E.1-1
    the profile table did not list (kept by default): MedicalAlerts, StudyComments,
    ClinicalTrialSubjectID, the order numbers, an alternative-calendar birth date; and any
    free text (LT/ST/UT) or '...Comments' attribute of a site's own use."""
    ds = read_dicom_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    planted = {
        "MedicalAlerts": "allergy ZYXWV^QWERTY",
        "Allergies": "Zyxwv penicillin",
        "ClinicalTrialSubjectID": "mrn-987654321",
        "StudyComments": "patient Zyxwv mrn-987654321",
        "PlacerOrderNumberImagingServiceRequest": "987654321",
        "FillerOrderNumberImagingServiceRequest": "987654321-F",
        "PatientBirthDateInAlternativeCalendar": "19410203",
        "PatientTransportArrangements": "ambulance for Qwerty",
        "CurrentPatientLocation": "Zyxwv ward",
        "PatientInstitutionResidence": "Qwerty home",
        "AcquisitionContextDescription": "Zyxwv",  # ST: free text of a site's own use
    }
    for keyword, value in planted.items():
        setattr(ds, keyword, value)
    buffer = io.BytesIO()
    ds.save_as(buffer)
    cleaned, _, _, _ = deidentify_dicom_bytes(buffer.getvalue(), Deidentifier(KEY))
    _assert_clean(cleaned, FORBIDDEN)
    kept = pydicom.dcmread(io.BytesIO(cleaned))
    assert not any(keyword in kept for keyword in planted)
    assert kept.Rows == ds.Rows and kept.PixelSpacing == ds.PixelSpacing  # the image is intact


def test_profile_keywords_are_dicom_attributes():
    from pydicom.datadict import keyword_dict

    from survival_core.io.deid import PROFILE

    assert [k for k in PROFILE if k not in keyword_dict] == []


def test_a_patient_marked_only_in_its_structure_set_is_pseudonymised_throughout(tmp_path):
    """Only the RTSTRUCT said PatientIdentityRemoved=YES: the raw MRN became the case id, and
    inside one case the CT said the pseudonym while the structure set kept the MRN."""
    from survival_core.cohort.importer import import_images

    case = make_case((24, 24, 6))
    raw = tmp_path / "download" / "patient"
    info = write_ct_series(case.image, raw / "ct", patient_id="MRN-0007", uid_seed="mrn-0007")
    structure = raw / "rs.dcm"
    write_rtstruct({"Liver": case.masks["organ"], "GTV": case.masks["gtv"]}, info, structure)
    for path, mark in [*((p, "NO") for p in info["files"]), (structure, "YES")]:
        ds = pydicom.dcmread(path)  # the writer marks its files; hospital images are not
        ds.PatientIdentityRemoved = mark
        ds.save_as(path)
    out = tmp_path / "cohort"
    result = import_images(tmp_path / "download", out, workers=1)
    assert result.counts()["imported"] == 1
    [folder] = [p for p in (out / "cases").iterdir() if p.is_dir()]
    assert folder.name.startswith("RS-") and "MRN-0007" not in folder.name
    ids = {pydicom.dcmread(p).PatientID for p in folder.rglob("*.dcm")}
    assert ids == {folder.name}
    for path in out.rglob("*"):
        if path.is_file():
            assert b"MRN-0007" not in path.read_bytes(), path


def test_an_upload_of_one_patient_with_mixed_marks_is_pseudonymised_throughout(tmp_path):
    """The Case page's upload of hospital CT slices with a structure set a research tool marked
    PatientIdentityRemoved=YES: the RTSTRUCT kept the raw MRN beside the CT's pseudonym."""
    case = make_case((24, 24, 6))
    info = write_ct_series(case.image, tmp_path / "ct", patient_id="MRN-0042", uid_seed="mixed")
    structure = tmp_path / "rs.dcm"
    write_rtstruct({"Liver": case.masks["organ"], "GTV": case.masks["gtv"]}, info, structure)
    files = []
    for path, mark in [*((p, "NO") for p in info["files"]), (structure, "YES")]:
        ds = pydicom.dcmread(path)
        ds.PatientIdentityRemoved = mark
        buffer = io.BytesIO()
        ds.save_as(buffer)
        files.append((Path(path).name, buffer.getvalue()))
    folder = store_upload(files)
    ids = {pydicom.dcmread(p).PatientID for p in folder.rglob("*.dcm")}
    assert len(ids) == 1 and next(iter(ids)).startswith("RS-")
    assert not any(b"MRN-0042" in p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_values_longer_than_their_vr_allows_are_kept_without_a_warning_per_file() -> None:
    """The sarcoma CT's StudyID 'IBSI_1_STS_001_CT' (18 characters; SH holds 16) printed two
    pydicom warnings per file while a cohort import de-identified it: 120 for 60 slices, burying
    the import's notes. pydicom's checks are restored afterwards."""
    import warnings

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.StudyID = "IBSI_1_STS_001_CT+"
        buffer = io.BytesIO()
        ds.save_as(buffer)
    mode = pydicom.config.settings.reading_validation_mode
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        content, *_ = deidentify_dicom_bytes(buffer.getvalue(), Deidentifier())
    assert not [w for w in caught if "exceeds the maximum length" in str(w.message)]
    assert pydicom.config.settings.reading_validation_mode == mode
    assert pydicom.dcmread(io.BytesIO(content)).StudyID == ""  # an identifier: emptied


def test_two_uploads_at_once_leave_pydicoms_checks_as_they_were(monkeypatch) -> None:
    """The switch of pydicom's process-wide validation was saved and restored by each call: two
    sessions de-identifying at once, the later to finish restored the 'off' it had seen on entry,
    leaving it off for the whole server."""
    import threading

    from survival_core.io import deid

    entered, release = (
        [threading.Event(), threading.Event()],
        [threading.Event(), threading.Event()],
    )
    seen, order = {}, iter(range(2))

    def slow(_ds, _deidentifier):
        k = next(order)
        entered[k].set()
        release[k].wait()
        seen[k] = pydicom.config.settings.reading_validation_mode
        return b"", "", "", ""

    monkeypatch.setattr(deid, "_deidentify_dicom", slow)
    mode = pydicom.config.settings.reading_validation_mode
    first = threading.Thread(target=deid.deidentify_dicom, args=(None,))
    first.start()
    entered[0].wait()
    second = threading.Thread(target=deid.deidentify_dicom, args=(None,))
    second.start()
    entered[1].wait()
    release[0].set()
    first.join()
    release[1].set()
    second.join()
    assert seen == {0: pydicom.config.IGNORE, 1: pydicom.config.IGNORE}
    assert pydicom.config.settings.reading_validation_mode == mode
