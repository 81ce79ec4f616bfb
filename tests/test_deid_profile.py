"""DICOM de-identification beyond the core table, on the real sarcoma CT + RTSTRUCT: every PS3.15
Table E.1-1 row RT and trial data carry, case ids of studies whose PatientID names no one, and
the patient's identifiers cut out of the structure names that are kept."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from survival_core.io.deid import Deidentifier, deidentify_dicom_bytes
from survival_core.io.seg import read_seg
from tests.dicom_fixtures import with_roi_copy
from tests.test_deid import KEY, _assert_clean

NAME, PATIENT_ID, BIRTH = "ZZLEAK^ALICE^Art", "LEAKID123", "19450317"
LEAKS = ["ZZLEAK", "ALICE", PATIENT_ID, BIRTH, "OTHERLEAK9"]


@pytest.fixture
def sarcoma(shared_data: Path) -> Path:
    """STS_001's CT folder (image/*.dcm, mask/RS.dcm), a real TCIA export."""
    folder = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not folder.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    return folder


def _slices(sarcoma: Path, count: int = 3) -> list[Path]:
    return sorted((sarcoma / "image").glob("*.dcm"))[:count]


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


def _of_the_patient(path: Path) -> Dataset:
    """A real file, now of a patient with a name, an ID, another ID and a birth date."""
    ds = pydicom.dcmread(path)
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = NAME, PATIENT_ID, BIRTH
    ds.OtherPatientIDs = "OTHERLEAK9"
    ds.PatientIdentityRemoved = "NO"
    return ds


def _cleaned(ds: Dataset, deid: Deidentifier | None = None) -> Dataset:
    cleaned = deidentify_dicom_bytes(_bytes(ds), deid or Deidentifier(KEY))[0]
    _assert_clean(cleaned, LEAKS)
    return pydicom.dcmread(io.BytesIO(cleaned))


#: Rows of Table E.1-1 the core table missed (keyword -> the value they must have after: None
#: removed, else the profile's dummy or empty value).
RT_AND_TRIAL_ROWS: dict[str, str | None] = {
    "ClinicalTrialSeriesID": None,
    "ClinicalTrialSeriesDescription": None,
    "IssuerOfClinicalTrialSeriesID": None,
    "IssuerOfClinicalTrialProtocolID": None,
    "IssuerOfClinicalTrialSiteID": None,
    "IssuerOfClinicalTrialSubjectID": None,
    "IssuerOfClinicalTrialSubjectReadingID": None,
    "IssuerOfClinicalTrialTimePointID": None,
    "RetrieveAETitle": None,
    "StationAETitle": None,
    "Originator": None,
    "PyramidLabel": None,
    "PyramidDescription": None,
    "SecondaryCaptureDeviceID": None,
    "RequestedSeriesDescription": None,
    "ContainerDescription": None,
    "SpecimenShortDescription": None,
    "DeviceDescription": None,
    "PositionAcquisitionTemplateName": None,
    "RTPlanName": None,
    "DoseReferenceDescription": None,
    "FractionGroupDescription": None,
    "SourceManufacturer": None,
    "EntityName": None,
    "AnnotationGroupLabel": "ANONYMIZED",
    "RTPlanLabel": "ANONYMIZED",
    "TreatmentMachineName": "",
}


def test_table_e1_rows_of_rt_and_trial_data_are_removed_and_the_science_is_kept(sarcoma):
    """They kept 'ZZLEAK' (a red-team test): the core table was hand-picked, anything else kept.
    The retired ROIObservationLabel and (0010,0012) Name to Use, which pydicom's dictionary does
    not name (no keyword), are matched by tag number."""
    ds = _of_the_patient(_slices(sarcoma, 1)[0])
    for keyword in RT_AND_TRIAL_ROWS:
        setattr(ds, keyword, "ZZLEAK")
    ds.add_new(0x00100012, "LO", "ZZLEAK preferred")  # Name to Use: newer than pydicom's dict
    kept = _cleaned(ds)
    assert {k: kept.get(k) for k in RT_AND_TRIAL_ROWS} == RT_AND_TRIAL_ROWS
    assert 0x00100012 not in kept
    for keyword in ("PixelSpacing", "ImagePositionPatient", "RescaleSlope", "RescaleIntercept"):
        assert kept[keyword].value == ds[keyword].value, keyword
    np.testing.assert_array_equal(kept.pixel_array, ds.pixel_array)

    structure = _of_the_patient(sarcoma / "mask" / "RS.dcm")
    structure.RTROIObservationsSequence[0].ROIObservationLabel = "ZZLEAK obs"
    rt = _cleaned(structure)
    assert "ROIObservationLabel" not in rt.RTROIObservationsSequence[0]
    assert [r.ROIName for r in rt.StructureSetROISequence] == ["GTV_Mass_CT"]


def test_the_preamble_and_the_file_metas_private_bytes_are_not_kept(sarcoma):
    """A vendor's text in the 128-byte preamble (or a DICOM/TIFF file's header) and the file
    meta's PrivateInformation were stored verbatim in every de-identified file; the X-ray source
    and detector IDs (Table E.1-1: X) were kept."""
    ds = _of_the_patient(_slices(sarcoma, 1)[0])
    ds.preamble = (b"II*\x00 ZZLEAK " + NAME.encode()).ljust(128, b"\x00")
    ds.file_meta.PrivateInformationCreatorUID = "1.2.3.4"
    ds.file_meta.PrivateInformation = b"ZZLEAK meta"
    ds.XRaySourceID, ds.XRayDetectorID, ds.XRayDetectorLabel = "ZZLEAK", "ZZLEAK", "ZZLEAK"
    assert b"ZZLEAK" in _bytes(ds)[:128]
    kept = _cleaned(ds)  # no 'ZZLEAK', nor the name, anywhere in the bytes
    assert kept.preamble == bytes(128)
    assert "PrivateInformation" not in kept.file_meta
    assert "XRaySourceID" not in kept and "XRayDetectorID" not in kept


@pytest.mark.parametrize("placeholder", ["", "   ", "ANONYMOUS", "anon", "UNKNOWN", "0", "NONE"])
def test_studies_whose_patient_id_names_no_one_never_share_a_case_id(sarcoma, placeholder):
    """Basic Profile exports (PatientID emptied or a shared placeholder, marked de-identified):
    the sarcoma CT and another patient's CT both became one case with one date shift. Now the
    study stands for the patient: the structure set joins its CT, the other study does not."""
    deid = Deidentifier(KEY)
    sarcoma_files = [*_slices(sarcoma), sarcoma / "mask" / "RS.dcm"]
    other_file = Path(get_testdata_file("CT_small.dcm"))
    given: dict[Path, tuple[str, date]] = {}
    for path in [*sarcoma_files, other_file]:
        ds = pydicom.dcmread(path)
        ds.PatientID, ds.PatientName, ds.PatientIdentityRemoved = placeholder, "", "YES"
        cleaned = pydicom.dcmread(io.BytesIO(deidentify_dicom_bytes(_bytes(ds), deid)[0]))
        moved = date.fromisoformat(cleaned.StudyDate) - date.fromisoformat(ds.StudyDate)
        given[path] = (cleaned.PatientID, moved)
    assert len({given[p] for p in sarcoma_files}) == 1  # CT and RTSTRUCT: one case, one shift
    (case_id, shift), (other_id, other_shift) = given[sarcoma_files[0]], given[other_file]
    assert case_id.startswith("RS-") and other_id.startswith("RS-") and case_id != other_id
    assert shift != other_shift and not deid.mixed_marks()


#: ROI name planted -> the name kept: the patient's name parts (3+ letters, whole words, any
#: case), IDs and birth date go, structure words stay ('Artery' of a patient whose name has Art).
ROI_NAMES = {
    "GTV ZZLEAK^ALICE": "GTV",
    "ZZLEAK_ALICE": "",
    "alice zzleak": "",
    "Liver_LEAKID123": "Liver",
    "GTV OTHERLEAK9 19450317": "GTV",
    "GTV (Zzleak)": "GTV",
    "GTVp_MRNLEAKID123": "GTVp_MRN",  # a long ID glued to a word
    "GTV 1945-03-17": "GTV",  # the birth date as people write it
    "PTV_17.03.1945": "PTV",
    "Artery_L": "Artery_L",
    "GTV_Mass_CT": "GTV_Mass_CT",
}


def test_structure_names_lose_the_patients_identifiers_and_keep_the_structure(sarcoma):
    structure = _of_the_patient(sarcoma / "mask" / "RS.dcm")
    structure.StructureSetROISequence[0].ROIName = "GTV_Mass_CT"
    for number, name in enumerate(list(ROI_NAMES)[:-1], start=2):
        with_roi_copy(structure, name, number)
    rt = _cleaned(structure)
    assert [r.ROIName for r in rt.StructureSetROISequence] == [
        ROI_NAMES["GTV_Mass_CT"],
        *list(ROI_NAMES.values())[:-1],
    ]


def test_segment_and_content_texts_lose_the_patients_identifiers(sarcoma, tmp_path):
    """A SEG drawn on the sarcoma CT kept 'GTV ZZLEAK^ALICE' and 'drawn for ZZLEAK^ALICE
    LEAKID123' in its segment, 'ZZLEAK' in its content label and description."""
    sources = sorted(
        (_of_the_patient(p) for p in _slices(sarcoma, 4)),
        key=lambda ds: float(ds.ImagePositionPatient[2]),
    )
    mask = np.zeros((len(sources), sources[0].Rows, sources[0].Columns), bool)
    mask[1:3, 70:130, 70:130] = True
    segment = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label="GTV ZZLEAK^ALICE",
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Neoplasm,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
    )
    segment.SegmentDescription = "drawn for ZZLEAK^ALICE LEAKID123"
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment],
        series_instance_uid=hd.UID(),
        series_number=50,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="RadSurv test",
        manufacturer_model_name="test",
        software_versions="1",
        device_serial_number="1",
        content_label="ZZLEAK",
        content_description="ZZLEAK contours",
    )
    cleaned = _cleaned(seg)
    item = cleaned.SegmentSequence[0]
    assert (item.SegmentLabel, item.SegmentDescription) == ("GTV", "drawn for")
    assert (cleaned.ContentLabel, cleaned.ContentDescription) == ("", "contours")
    path = tmp_path / "seg.dcm"
    cleaned.save_as(path)
    assert list(read_seg(path).segments) == ["GTV"]


def test_a_research_name_made_of_structure_words_leaves_the_structures_alone(sarcoma):
    """A research cohort names its patients after the site ('LIVER_017', 'HCC^Mass'): the ROIs
    'Liver', 'HCC' and 'GTV Mass' must keep those words, or the case loses its organ and GTV."""
    structure = _of_the_patient(sarcoma / "mask" / "RS.dcm")
    structure.PatientName = "LIVER_017^HCC Mass"
    structure.PatientID = "LIVER_017"
    structure.StructureSetROISequence[0].ROIName = "GTV Mass"
    for number, name in enumerate(("Liver", "HCC_LIVER_017"), start=2):
        with_roi_copy(structure, name, number)
    cleaned = pydicom.dcmread(
        io.BytesIO(deidentify_dicom_bytes(_bytes(structure), Deidentifier(KEY))[0])
    )
    assert [r.ROIName for r in cleaned.StructureSetROISequence] == ["GTV Mass", "Liver", "HCC"]


def test_a_patients_name_made_of_scratch_words_leaves_the_structures_alone(sarcoma):
    """Mrs Old's 'GTV_old' lost 'old' and became a second 'GTV', united with the GTV; a QA
    patient 'TEST^PHANTOM' made 'GTV_test' the GTV the same way."""
    structure = _of_the_patient(sarcoma / "mask" / "RS.dcm")
    structure.PatientName, structure.PatientID = "OLD^TEST", "P123"
    structure.StructureSetROISequence[0].ROIName = "GTV"
    for number, name in enumerate(("GTV_old", "GTV_test", "Liver_replan"), start=2):
        with_roi_copy(structure, name, number)
    cleaned = pydicom.dcmread(
        io.BytesIO(deidentify_dicom_bytes(_bytes(structure), Deidentifier(KEY))[0])
    )
    assert [r.ROIName for r in cleaned.StructureSetROISequence] == [
        "GTV", "GTV_old", "GTV_test", "Liver_replan"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("charset", "name", "rois"),
    [
        # East Asian name parts are one or two characters, written joined in a ROI name
        ("ISO_IR 192", "Yamada^Tarou=山田^太郎=やまだ^たろう", ["GTV_山田太郎", "GTV_山田", "GTV 太郎"]),
        ("GB18030", "Wang^Xiaoming=王^小明", ["GTV_王小明", "GTV 王"]),
        ("ISO_IR 192", "Hong^Gildong=洪^吉洞=홍^길동", ["GTV_홍길동"]),
        # capitals without accents, ß as SS, accents stripped, decomposed letters
        ("ISO_IR 126", "Παπαδόπουλος^Διονύσιος", ["GTV_ΠΑΠΑΔΟΠΟΥΛΟΣ"]),
        ("ISO_IR 100", "Weiß^Jürgen", ["GTV_WEISS"]),
        ("ISO_IR 192", "Müller^Jürgen", ["GTV_Muller", "GTV_Mu\u0308ller"]),
    ],
)  # fmt: skip
def test_a_name_in_any_script_or_spelling_is_cut_from_the_structure_names(
    sarcoma, charset, name, rois
):
    """'GTV_山田太郎' under the patient 山田^太郎 was stored as it was (parts under 3 letters were
    never cut, nor the joined name); 'GTV_WEISS' of Mrs Weiß, 'GTV_Muller' of Mr Müller too."""
    structure = _of_the_patient(sarcoma / "mask" / "RS.dcm")
    structure.SpecificCharacterSet, structure.PatientName = charset, name
    for number, roi in enumerate(rois, start=2):
        with_roi_copy(structure, roi, number)
    cleaned = pydicom.dcmread(
        io.BytesIO(deidentify_dicom_bytes(_bytes(structure), Deidentifier(KEY))[0])
    )
    assert [r.ROIName for r in cleaned.StructureSetROISequence][1:] == ["GTV"] * len(rois)


def test_an_id_typed_with_decomposed_letters_is_the_same_patient():
    """'MÜL-4711' typed on macOS (U followed by a combining diaeresis) got another case id and
    date shift than the same ID composed."""
    deid = Deidentifier(KEY)
    assert deid.pseudonym("MU\u0308L-4711") == deid.pseudonym("M\u00dcL-4711 ")
    assert deid.day_shift("MU\u0308L-4711") == deid.day_shift("M\u00dcL-4711")
