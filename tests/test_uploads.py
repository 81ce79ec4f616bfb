"""Uploads land in content-addressed folders under neutral names."""

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import InputError
from survival_core.io.uploads import NOTES_FILE, neutral_names, safe_name, store_upload
from survival_core.paths import data_subdir


def _nifti(value: int) -> bytes:
    """A small NIfTI volume filled with ``value``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.nii"
        sitk.WriteImage(sitk.GetImageFromArray(np.full((2, 3, 4), value, np.int16)), str(path))
        return path.read_bytes()


def test_same_bytes_same_folder_different_bytes_different_folder():
    first = store_upload([("CT.nii", _nifti(1))])
    assert store_upload([("CT.nii", _nifti(1))]) == first
    assert store_upload([("CT.nii", _nifti(2))]) != first
    assert [p.name for p in first.iterdir()] == ["CT.nii"]


def test_order_of_files_does_not_matter():
    a = store_upload([("a.nii", _nifti(1)), ("b.nii", _nifti(2))])
    b = store_upload([("b.nii", _nifti(2)), ("a.nii", _nifti(1))])
    assert a == b


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\scan.zip", "scan.zip"),
        ("my scan.nii.gz", "my_scan.nii.gz"),
        ("山田太郎 腫瘍.nii.gz", "山田太郎_腫瘍.nii.gz"),  # any script's letters stay
        ("a$b;c.nii", "a_b_c.nii"),
    ],
)
def test_path_components_are_stripped(name, expected):
    assert safe_name(name) == expected


def test_a_zip_under_a_csv_name_is_cleaned_as_the_zip_it_is():
    """The clinical CSV's row cut decoded it as text: an uncaught UnicodeDecodeError where no
    type check came first (a cohort import's files)."""
    from survival_core.io.uploads import deidentify_upload

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ct.nii", _nifti(1))
    [(_, cleaned)] = deidentify_upload([("clinical.csv", buffer.getvalue())])
    assert zipfile.ZipFile(io.BytesIO(cleaned)).namelist() == ["ct.nii"]


def test_names_differing_in_non_latin_letters_are_two_files():
    """'山田太郎_画像' and '山田太郎_腫瘍' both became '___': 'Two uploaded files are both named'."""
    folder = store_upload([("山田太郎_画像.nii", _nifti(1)), ("山田太郎_腫瘍.nii", _nifti(2))])
    assert sorted(p.name for p in folder.iterdir()) == ["volume-1.nii", "volume-2.nii"]


@pytest.mark.parametrize("zipped", [False, True])
def test_volumes_told_apart_only_by_words_of_another_script_are_refused(zipped):
    """'GTV_术前' and 'GTV_术后' (before and after surgery) were stored as 'GTV_other' and
    'GTV_other-2', read as two lesions: the case's GTV was both drawings united. 'GTV' beside
    'GTV_术后' stays two drawings the user picks from."""
    files = [("CT.nii", _nifti(0)), *((f"GTV_{word}.nii", _nifti(1)) for word in ("术前", "术后"))]
    if zipped:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in files:
                archive.writestr(name, data)
        files = [("case.zip", buffer.getvalue())]
    with pytest.raises(InputError, match="'GTV_术前.nii', 'GTV_术后.nii' differ only in words"):
        store_upload(files)
    folder = store_upload(
        [("CT.nii", _nifti(0)), ("GTV.nii", _nifti(1)), ("GTV_术后.nii", _nifti(1))]
    )
    assert sorted(p.name for p in folder.iterdir()) == ["CT.nii", "GTV.nii", "GTV_other.nii"]


@pytest.mark.parametrize("files", [[], [("..", b"x")], [("a.nii", b"1"), ("a.nii", b"2")]])
def test_bad_uploads_are_refused(files):
    with pytest.raises(InputError):
        store_upload(files)


def test_stored_names_say_what_a_file_holds_never_whose_it_is():
    uploaded = [
        "Zyxwv_Qwerty_CT.nii.gz",
        "Zyxwv_Qwerty_GTV-1.nii.gz",
        "Zyxwv_Qwerty_GTV-2.NII.GZ",
        "Qwerty_Zyxwv_GTV-1.nrrd",  # the same label again
        "Zyxwv_Qwerty_liver_contour.mha",
        "Zyxwv_Qwerty.nii",  # no word says what it holds
        "Zyxwv_Qwerty_19410203.nii",
        "Zyxwv_Qwerty_labs.csv",
        "Clinical.json",
        "Zyxwv_Qwerty_notes.txt",
        "Zyxwv_Qwerty.zip",
    ]
    assert neutral_names(uploaded) == {
        "Zyxwv_Qwerty_CT.nii.gz": "CT.nii.gz",
        "Zyxwv_Qwerty_GTV-1.nii.gz": "GTV-1.nii.gz",
        "Zyxwv_Qwerty_GTV-2.NII.GZ": "GTV-2.nii.gz",
        "Qwerty_Zyxwv_GTV-1.nrrd": "GTV-1.nrrd",
        "Zyxwv_Qwerty_liver_contour.mha": "liver.mha",
        "Zyxwv_Qwerty.nii": "volume-1.nii",
        "Zyxwv_Qwerty_19410203.nii": "volume-2.nii",
        "Zyxwv_Qwerty_labs.csv": "clinical.csv",
        "Clinical.json": "clinical.json",
        "Zyxwv_Qwerty_notes.txt": "file-1.txt",
        "Zyxwv_Qwerty.zip": "upload.zip",
    }
    # repeats are numbered in the order of the uploaded names, whatever the upload's order
    repeats = ["B_GTV.nii.gz", "A_GTV.nii.gz", "gtv.nii.gz"]
    assert neutral_names(repeats) == {
        "A_GTV.nii.gz": "GTV.nii.gz",
        "B_GTV.nii.gz": "GTV-2.nii.gz",
        "gtv.nii.gz": "gtv-3.nii.gz",
    }


def test_the_same_files_under_another_patients_name_land_in_the_same_folder():
    first = store_upload([("Zyxwv_Qwerty_CT.nii", _nifti(1)), ("Zyxwv_Qwerty_GTV.nii", _nifti(2))])
    assert sorted(p.name for p in first.iterdir()) == ["CT.nii", "GTV.nii"]
    assert store_upload([("Doe_J_GTV.nii", _nifti(2)), ("Doe_J_CT.nii", _nifti(1))]) == first


def test_a_file_that_is_not_what_its_name_says_is_refused_by_its_uploaded_name():
    with pytest.raises(InputError, match="^Zyxwv_GTV.nii.gz holds text"):
        store_upload([("Zyxwv_GTV.nii.gz", b"not a volume"), ("CT.nii", _nifti(1))])
    assert not list(data_subdir("cases").glob("*.partial"))  # nothing is kept


def test_a_volume_archive_keeps_no_file_or_folder_name_but_its_image_and_mask_folders():
    """Its text report, PDF, .tsv table or picture is not kept: it was stored as it was, the
    patient's name and MRN in its text (a loose one is refused at upload)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Zyxwv_Qwerty/image/Zyxwv_Qwerty_T1.nii", _nifti(1))
        archive.writestr("Zyxwv_Qwerty/masks/Zyxwv_Qwerty_GTV.nii", _nifti(2))
        archive.writestr("Zyxwv_Qwerty/Zyxwv_Qwerty_notes.txt", b"ROE^RICHARD MRN-5551234")
        archive.writestr("Zyxwv_Qwerty/report.pdf", b"%PDF-1.4 ROE^RICHARD")
        archive.writestr("Zyxwv_Qwerty/labs.tsv", b"mrn\tname\n5551234\tROE^RICHARD\n")
        archive.writestr("Zyxwv_Qwerty/image/T1.raw", b"voxels")  # a header's detached data
    folder = store_upload([("Zyxwv_Qwerty.zip", buffer.getvalue())])
    stored = folder / "upload.zip"
    with zipfile.ZipFile(stored) as archive:
        members = archive.namelist()
        deflated = {i.compress_type for i in archive.infolist()}
    assert not [m for m in members if "zyxwv" in m.lower() or "qwerty" in m.lower()]
    token = members[0].split("/")[0]
    assert sorted(members) == sorted(
        [f"{token}/image/T1.nii", f"{token}/masks/GTV.nii", f"{token}/image/file-1.raw"]
    )
    assert deflated == {zipfile.ZIP_DEFLATED}  # a bare ZipInfo stored them: twice the size
    assert "3 file(s) no case is read from" in (folder / NOTES_FILE).read_text()


def test_one_dicom_instance_twice_in_a_zip_is_kept_once_or_refused_by_the_zips_names():
    """Two members with one SOP instance UID were stored under one name, and the upload then
    failed naming stored, de-identified members the user never had."""
    from tests.dicom_fixtures import ct_slices, hu_volume, zip_bytes

    slices = ct_slices(hu_volume())
    written = []
    for ds in slices[:2]:
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        written.append(buffer.getvalue())
    folder = store_upload(
        [("case.zip", zip_bytes({"a/1.dcm": written[0], "a/1b.dcm": written[0]}))]
    )
    (stored,) = [p for p in folder.iterdir() if p.suffix == ".zip"]
    with zipfile.ZipFile(stored) as archive:
        assert len(archive.namelist()) == 1  # a copy: kept once
    slices[1].SOPInstanceUID = slices[0].SOPInstanceUID
    buffer = io.BytesIO()
    slices[1].save_as(buffer, enforce_file_format=True)
    clash = zip_bytes({"a/1.dcm": written[0], "a/2.dcm": buffer.getvalue()})
    with pytest.raises(InputError, match=r"The zip's files a/1.dcm and a/2.dcm are one DICOM"):
        store_upload([("case.zip", clash)])


def _pydicom_files(*names: str) -> list[Path]:
    """pydicom's real test files ``names`` (the test skips where they are not installed)."""
    from pydicom.data import get_testdata_file

    paths = [get_testdata_file(name) for name in names]
    if None in paths:
        pytest.skip("pydicom's test files are not installed")
    return [Path(p) for p in paths]


def test_only_the_dicom_objects_a_case_is_read_from_are_stored():
    """An RT plan in the zip was stored, its RTPlanLabel the patient's name: no loader reads a
    plan, a dose grid or a report. They are left out, said by kind and count, never by name."""
    import pydicom

    from survival_core.io.uploads import upload_notes
    from tests.dicom_fixtures import zip_bytes

    paths = _pydicom_files("CT_small.dcm", "rtstruct.dcm", "rtplan.dcm", "rtdose.dcm")
    members = {f"Zyxwv_Qwerty/{p.name}": p.read_bytes() for p in paths}
    folder = store_upload([("Zyxwv_Qwerty.zip", zip_bytes(members))])
    (stored,) = folder.glob("*.zip")
    with zipfile.ZipFile(stored) as archive:
        kept = [pydicom.dcmread(io.BytesIO(archive.read(m))).Modality for m in archive.namelist()]
    assert sorted(kept) == ["CT", "RTSTRUCT"]
    assert set(upload_notes(folder)) == {
        f"Not stored from the upload: 1 DICOM {kind} object(s), which no case is read from."
        for kind in ("RTPLAN", "RTDOSE")
    }


def test_an_upload_of_nothing_a_case_is_read_from_is_refused_naming_its_files():
    """A plan alone was stored; now it is refused, named as uploaded (to the uploader only)."""
    (plan,) = _pydicom_files("rtplan.dcm")
    before = set(data_subdir("cases").iterdir())
    with pytest.raises(
        InputError, match=r"nothing a case is read from: Zyxwv_plan.dcm: DICOM RTPLAN object"
    ):
        store_upload([("Zyxwv_plan.dcm", plan.read_bytes())])
    assert set(data_subdir("cases").iterdir()) == before


def test_a_ct_slice_whose_header_is_damaged_is_said_damaged():
    """pydicom's CT slice with PatientName's length written 0xFFFF (the element swallows the
    rest of the header): refused as 'a DICOM CT object, which no case is read from', when CTs
    are what cases are read from."""
    import struct

    (ct,) = _pydicom_files("CT_small.dcm")
    raw = bytearray(ct.read_bytes())
    at = raw.find(b"\x10\x00\x10\x00PN")
    raw[at + 6 : at + 8] = struct.pack("<H", 0xFFFF)
    with pytest.raises(InputError, match=r"CT image\(s\) without pixel rows and columns \(damaged"):
        store_upload([("slice.dcm", bytes(raw))])


def test_a_zip_is_unpacked_under_the_data_folder_whose_retention_clears_it(monkeypatch):
    """Its identified files were unpacked into the system's temporary folder: a process killed
    while cleaning them (the OOM killer on a big upload) left them there for good, where the
    data folder's retention never looks."""
    from survival_core.io import uploads

    seen = []

    def unpack(content, root):
        seen.append(Path(root))
        return uploads_extract(content, root)

    uploads_extract = uploads.extract_zip
    monkeypatch.setattr(uploads, "extract_zip", unpack)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("case/CT.nii", _nifti(1))
    store_upload([("case.zip", buffer.getvalue())])
    assert [p.parent for p in seen] == [data_subdir("tmp")] and not seen[0].exists()


def test_a_mac_zip_of_volumes_loads_without_its_appledouble_copies(shared_data: Path) -> None:
    """A zip made in macOS's Finder holds '__MACOSX/<folder>/._<file>' (AppleDouble metadata,
    3 kB) beside every file and a '.DS_Store': the copies of pyradiomics' lung1 image and label
    were stored as two more volumes (their folder hashed, their '._' dropped), and the case was
    refused as '2 cases of a dataset'."""
    from survival_core.io.upload_case import describe_upload, load_upload

    lung = shared_data / "pyradiomics"
    apple_double = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\0" * 3000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("lung1_image.nrrd", "lung1_label.nrrd"):
            stored = "image.nrrd" if "image" in name else "GTV.nrrd"
            archive.writestr(f"case/{stored}", (lung / name).read_bytes())
            archive.writestr(f"__MACOSX/case/._{stored}", apple_double)
        archive.writestr("case/.DS_Store", b"\0\0\0\1Bud1" + b"\0" * 100)
    folder = store_upload([("Archive.zip", buffer.getvalue())])

    with zipfile.ZipFile(next(folder.glob("*.zip"))) as stored_zip:
        assert len(stored_zip.namelist()) == 2
    contents = describe_upload(folder)
    case = load_upload(contents, contents.suggested_roles(), image_name=contents.suggested_image())
    label = sitk.GetArrayFromImage(sitk.ReadImage(str(lung / "lung1_label.nrrd")))
    assert int(case.mask_array("gtv").sum()) == int((label > 0).sum())


@pytest.mark.parametrize(
    ("image", "mask"),
    [
        ("Patient 7 CT.nii.gz", "Patient 7 CT_mask.nii.gz"),  # the mask named with the modality
        ("scan.nii.gz", "scan-label.nii.gz"),
        ("imaging.nii.gz", "segmentation.nii.gz"),  # KiTS
        ("lung1_image.nii.gz", "lung1_label.nii.gz"),  # pyradiomics: no lung organ
        ("CT_liver.nii.gz", "GTV.nii.gz"),  # the liver's CT, no liver mask
    ],
)
def test_zipped_volumes_load_as_the_same_files_uploaded_loose(
    shared_data: Path, tmp_path: Path, image: str, mask: str
) -> None:
    """pyradiomics' lung1 image and GTV uploaded as a zip: the mask whose name holds the
    modality was taken for the image, the single mask was not suggested as the GTV (the label
    of 'lung1' as the lung organ), while the same files loose loaded (837 voxels, as counted)."""
    from survival_core.io.upload_case import describe_upload, load_upload

    lung = shared_data / "pyradiomics"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in ((image, "lung1_image"), (mask, "lung1_label")):
            sitk.WriteImage(sitk.ReadImage(str(lung / f"{source}.nrrd")), str(tmp_path / name))
            archive.write(tmp_path / name, f"p7/{name}")
    label = sitk.GetArrayFromImage(sitk.ReadImage(str(lung / "lung1_label.nrrd")))
    for files in (
        [("p7.zip", buffer.getvalue())],
        [(n, (tmp_path / n).read_bytes()) for n in (image, mask)],
    ):
        contents = describe_upload(store_upload(files))
        assert list(contents.suggested_roles()) == ["gtv"]
        case = load_upload(contents, contents.suggested_roles())
        assert int(case.mask_array("gtv").sum()) == int((label > 0).sum()) == 837


def test_a_zip_with_loose_masks_or_two_patients_volumes_are_refused_by_name(
    shared_data: Path,
) -> None:
    """The real sarcoma CT zip with a segmentation beside it: the case was read from the zip and
    the segmentation dropped without a word (or, without the RTSTRUCT, 'no mask uploaded').
    pyradiomics' lung1 and lung2 images and labels loose: lung2's CT was offered as lung1's
    organ mask (the same files zipped were refused as two cases)."""
    ct = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(ct.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(ct).as_posix())
    lung = shared_data / "pyradiomics"
    label = (lung / "lung1_label.nrrd").read_bytes()
    with pytest.raises(InputError, match=r"sts\.zip was uploaded with loose .*Segmentation_tumor"):
        store_upload([("sts.zip", buffer.getvalue()), ("Segmentation_tumor.nrrd", label)])

    slice_file = next(p for p in sorted((ct / "image").iterdir()) if p.is_file())
    with pytest.raises(InputError, match=r"sts\.zip was uploaded with loose .*IM0001"):
        store_upload([("sts.zip", buffer.getvalue()), ("IM0001", slice_file.read_bytes())])

    two = [
        (f"{c}_{k}.nrrd", (lung / f"{c}_{k}.nrrd").read_bytes())
        for c in ("lung1", "lung2")
        for k in ("image", "label")
    ]
    with pytest.raises(InputError, match=r"2 cases of a dataset \(lung1, lung2\)"):
        store_upload(two)
    store_upload(two[:2])  # one patient's


def test_a_damaged_zip_is_named_as_uploaded() -> None:
    """A zip cut short said 'uploaded archive is not a readable .zip archive': which one, of an
    upload of several files, it did not say."""
    from survival_core.errors import ArchiveError

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ct/IM0001.dcm", b"x" * 5000)
    with pytest.raises(ArchiveError, match=r"^Patient_CT\.zip: uploaded archive is not a readable"):
        store_upload([("Patient_CT.zip", buffer.getvalue()[:-40])])


def test_two_readers_masks_keep_their_qualifiers_and_are_not_united(
    shared_data: Path, tmp_path: Path
) -> None:
    """pyradiomics' lung1 CT with its GTV saved as two readers' masks and a 4D CT's: stored as
    'GTV.nii.gz', 'GTV-2.nii.gz' and 'GTV_4.nii.gz' (the reader and 4D qualifiers cut off), the
    readers' drawings read as lesions of one GTV and the 4D CT's as lesion 4. Stored as written,
    none is taken as the GTV by name: the user says which drawing is."""
    from survival_core.io.upload_case import describe_upload, load_upload

    lung = shared_data / "pyradiomics"
    sources = {"Doe_J_lung1_image.nii.gz": "lung1_image"} | {
        f"Doe_J_GTV_{q}.nii.gz": "lung1_label" for q in ("R1", "R2", "4D")
    }
    for name, source in sources.items():
        sitk.WriteImage(sitk.ReadImage(str(lung / f"{source}.nrrd")), str(tmp_path / name))
    folder = store_upload([(name, (tmp_path / name).read_bytes()) for name in sources])

    stored = sorted(p.name for p in folder.iterdir() if p.name.endswith(".nii.gz"))
    assert stored == ["GTV_4D.nii.gz", "GTV_R1.nii.gz", "GTV_R2.nii.gz", "lung1_image.nii.gz"]
    contents = describe_upload(folder)
    assert contents.suggested_roles() == {}
    case = load_upload(contents, {"gtv": ["GTV_R2.nii.gz"]}, image_name=contents.suggested_image())
    assert int(case.mask_array("gtv").sum()) == 837


def test_a_series_too_large_to_read_is_refused_when_the_upload_is_read(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1024 x 1024 x 560 CT was stored and described without a word, then refused only when
    loaded, after the roles were chosen, its 179 MB copy left behind: the headers tell its size,
    so the refusal (why, in GiB, and what to export instead) comes as the upload is read, and
    nothing of it is kept. The real sarcoma CT (59 slices of 202 x 198) under a lower limit."""
    from survival_core.io import dicom_series, uploads
    from survival_core.workflows.case_pool import store_task

    ct = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not ct.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(ct.rglob("*.dcm")):
            archive.write(path, path.relative_to(ct).as_posix())
    files = [("STS_001.zip", buffer.getvalue())]
    stored: list[Path] = []

    def store(*args: object) -> Path:
        stored.append(store_upload(*args))
        return stored[-1]

    monkeypatch.setattr(uploads, "store_upload", store)
    monkeypatch.setattr(dicom_series, "MAX_VOXELS", 59 * 198 * 202 - 1)
    with pytest.raises(InputError, match=r"CT series.* 2,359,764 voxels .* GiB as float32") as err:
        store_task(files, frozenset(), frozenset())
    assert "cropped field of view" in str(err.value)
    assert stored and not stored[0].exists()


def _patient_json(**extra: object) -> bytes:
    """A clinical.json as a hospital exports it: a GBSG2 patient's values, the patient's name,
    and the serum creatinine (mg/dL) of flchain's first patient."""
    from sksurv.datasets import load_flchain, load_gbsg2

    values = load_gbsg2()[0].iloc[0].to_dict()
    creatinine = float(load_flchain()[0]["creatinine"].iloc[0])
    return json.dumps(
        {"name": "Zyxwv Qwerty", **values, "creatinine": creatinine, **extra}
    ).encode()


def _volume_upload(clinical: bytes, zipped: bool) -> list[tuple[str, bytes]]:
    """A CT and GTV volume with ``clinical`` as clinical.json: loose, or in a zip's folder named
    after the patient."""
    files = [("CT.nii", _nifti(7)), ("GTV.nii", _nifti(1)), ("clinical.json", clinical)]
    if not zipped:
        return files
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files:
            archive.writestr(f"Qwerty/{name}", content)
    return [("Qwerty.zip", buffer.getvalue())]


def _stored_clinical(folder: Path) -> dict:
    """The clinical.json an upload folder holds, loose or in its zip."""
    if (folder / "clinical.json").is_file():
        return json.loads((folder / "clinical.json").read_text())
    with zipfile.ZipFile(next(folder.glob("*.zip"))) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith("clinical.json")]
        return json.loads(archive.read(member))


@pytest.mark.parametrize("zipped", [False, True], ids=["loose", "zip"])
def test_a_variable_offered_later_keeps_the_upload_in_its_folder(zipped):
    """Registering a model of a new clinical variable ('creatinine') stored an open upload again
    under another folder (its name covered the clinical file as kept): the volume case got
    another id, and the session dropped its saved corrections. The folder stays; the variable's
    column is added to it, and the note of it left out goes."""
    from survival_core.io.upload_case import describe_upload
    from survival_core.io.uploads import CLINICAL_KEEP, upload_notes

    files = _volume_upload(_patient_json(), zipped)
    first = store_upload(files, CLINICAL_KEEP)
    assert "creatinine" not in _stored_clinical(first)
    assert any("'creatinine'" in note for note in describe_upload(first).notes)
    assert store_upload(files, CLINICAL_KEEP | {"creatinine"}) == first
    assert _stored_clinical(first)["creatinine"] == 1.7
    assert not any("'creatinine'" in note for note in describe_upload(first).notes)
    assert "name" not in _stored_clinical(first)  # de-identified as before
    assert any("'name'" in note for note in upload_notes(first))
    # a model removed (or the registry unreadable a moment) never takes the column back
    assert store_upload(files, CLINICAL_KEEP | {"bmi"}) == first
    assert _stored_clinical(first)["creatinine"] == 1.7
    # another patient's value is another upload
    other = _volume_upload(_patient_json(creatinine=2.4), zipped)
    assert store_upload(other, CLINICAL_KEEP) != first


def test_the_same_values_saved_by_another_editor_are_the_same_upload():
    """The upload's folder counts a clinical file by its bytes as uploaded: the same one-row CSV
    saved with Excel's CRLF line endings, or a clinical.json with its keys in another order,
    became another folder, so a volume case got another case id."""
    rows = ["case_id,name,albumin,age", "MRN-4711,Zyxwv Qwerty,38,61"]
    values = {"name": "Zyxwv Qwerty", "albumin": 38, "age": 61}
    for one, other in (
        ("\n".join(rows) + "\n", "\ufeff" + "\r\n".join(rows) + "\r\n"),
        (json.dumps(values), json.dumps(dict(reversed(values.items())), indent=2)),
    ):
        name = "clinical.csv" if one.startswith("case_id") else "clinical.json"
        files = [("CT.nii", _nifti(7)), ("GTV.nii", _nifti(1))]
        first = store_upload([*files, (name, one.encode())])
        assert store_upload([*files, (name, other.encode())]) == first


def test_a_variable_offered_while_another_session_stores_the_upload_is_added(monkeypatch):
    """Session A stores an upload (creatinine not offered yet) between session B's check that
    its folder is absent and B's rename (creatinine offered): B found A's folder and returned it
    without its column, for good (its page reruns reuse the result)."""
    from survival_core.io import uploads

    files = _volume_upload(_patient_json(tsize=31), zipped=False)  # not stored by another test
    check_type, first = uploads._check_type, []

    def session_a_first(path: Path, uploaded: str) -> None:
        if not first:
            first.append(None)  # A's own storing checks its files unhooked
            first[0] = uploads._store(files, uploads.CLINICAL_KEEP, frozenset())
        check_type(path, uploaded)

    monkeypatch.setattr(uploads, "_check_type", session_a_first)
    folder = uploads.store_upload(files, uploads.CLINICAL_KEEP | {"creatinine"})
    assert folder == first[0] and _stored_clinical(folder)["creatinine"] == 1.7
