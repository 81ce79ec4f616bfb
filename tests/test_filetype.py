"""Content sniffing: each kind is recognised from its bytes, and a name that lies is refused."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file

from survival_core.errors import InputError
from survival_core.io.filetype import check_file_type, sniff, sniff_file


def _volume_bytes(tmp_path: Path, name: str) -> bytes:
    image = sitk.GetImageFromArray(np.arange(24, dtype=np.int16).reshape(2, 3, 4))
    sitk.WriteImage(image, str(tmp_path / name))
    return (tmp_path / name).read_bytes()


def _samples(tmp_path: Path) -> dict[str, bytes]:
    ct = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("a.txt", "x")
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w") as archive:
        archive.addfile(tarfile.TarInfo("empty"), io.BytesIO())
    nifti2 = bytearray(1024)
    nifti2[:4] = (540).to_bytes(4, "little")
    nifti2[4:8] = b"n+2\0"
    return {
        "dicom": ct,
        "dicom-bare": ct[132:],  # file meta group 0002 without preamble
        "dicom-implicit": Path(get_testdata_file("rtstruct.dcm")).read_bytes(),
        # explicit VR big endian, neither preamble nor file meta
        "dicom-big-endian": Path(get_testdata_file("ExplVR_BigEndNoMeta.dcm")).read_bytes(),
        "big-endian-lookalike": b"\x00\x08\x00\x05\x00\x00" + bytes(range(100)),
        "zip": zipped.getvalue(),
        "tar": tarred.getvalue(),
        "nifti": _volume_bytes(tmp_path, "v.nii"),
        "nifti-gz": _volume_bytes(tmp_path, "v.nii.gz"),
        "nifti2": bytes(nifti2),
        "nrrd": _volume_bytes(tmp_path, "v.nrrd"),
        "metaimage": _volume_bytes(tmp_path, "v.mha"),
        "json": b'\xef\xbb\xbf {"age": 61}',
        "csv": b"case_id;age\nHCC-1;61,5\nHCC-2;70\n",
        "csv-latin1": "case_id,name\nA,Müller\n".encode("latin-1"),
        "gzip-text": gzip.compress(b"hello"),
        "elf": b"\x7fELF\x02\x01\x01" + b"\0" * 100,
        "png": b"\x89PNG\r\n\x1a\n" + b"\0" * 100,
        "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\0" * 100,  # a photo renamed .dcm
    }


@pytest.mark.parametrize(
    ("sample", "kind", "compressed"),
    [
        ("dicom", "dicom", False),
        ("dicom-bare", "dicom", False),
        ("dicom-implicit", "dicom", False),
        ("dicom-big-endian", "dicom", False),
        ("big-endian-lookalike", "unknown", False),  # no VR letters after the tag
        ("zip", "zip", False),
        ("tar", "tar", False),
        ("nifti", "nifti", False),
        ("nifti-gz", "nifti", True),
        ("nifti2", "nifti", False),
        ("nrrd", "nrrd", False),
        ("metaimage", "metaimage", False),
        ("json", "json", False),
        ("csv", "text", False),
        ("csv-latin1", "text", False),
        ("gzip-text", "text", True),
        ("elf", "unknown", False),
        ("png", "png", False),
        ("jpeg", "jpeg", False),
    ],
)
def test_sniff(tmp_path: Path, sample: str, kind: str, compressed: bool) -> None:
    data = _samples(tmp_path)[sample]
    found = sniff(data)
    assert (found.kind, found.gzip) == (kind, compressed)
    (tmp_path / "file").write_bytes(data)
    assert sniff_file(tmp_path / "file") == found


@pytest.mark.parametrize(
    ("sample", "name"),
    [
        ("dicom", "slice.dcm"),
        ("dicom", "1.2.840.113619.2.55.3"),  # scanners name slices by UID
        ("dicom-bare", "IM0001"),
        ("zip", "case.ZIP"),
        ("nifti", "image.nii"),
        ("nifti-gz", "gtv.nii.gz"),
        ("nrrd", "liver.nrrd"),
        ("metaimage", "image.mha"),
        ("json", "clinical.json"),
        ("csv", "clinical.csv"),
    ],
)
def test_matching_name_is_accepted(tmp_path: Path, sample: str, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(_samples(tmp_path)[sample])
    assert check_file_type(path).kind == sniff_file(path).kind


@pytest.mark.parametrize(
    ("sample", "name", "message"),
    [
        ("zip", "image.nii.gz", "holds zip archive, not the gzip-compressed NIfTI volume"),
        ("nifti", "image.nii.gz", "holds NIfTI volume, not the gzip-compressed NIfTI"),
        ("nifti-gz", "image.nii", "holds gzip-compressed NIfTI volume, not the NIfTI"),
        ("elf", "slice.dcm", "holds unrecognised binary data, not the DICOM"),
        ("png", "clinical.csv", r"holds PNG picture \(a screenshot.*\), not the text or JSON"),
        ("jpeg", "scan.dcm", r"holds JPEG picture \(a screenshot or photo, not the scan's data\)"),
        ("csv", "clinical.json", "holds text, not the JSON text"),
        ("dicom", "case.zip", "holds DICOM, not the zip archive"),
        ("tar", "case.zip", "holds tar archive"),
        ("elf", "run.exe", "unrecognised binary data, which RadSurv does not read"),
        ("gzip-text", "notes.gz", "gzip-compressed text, which RadSurv does not read"),
    ],
)
def test_lying_name_is_refused(tmp_path: Path, sample: str, name: str, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(_samples(tmp_path)[sample])
    with pytest.raises(InputError, match=message) as err:
        check_file_type(path)
    assert name in str(err.value)


def test_samples_are_what_they_claim(tmp_path: Path) -> None:
    """Guard the fixtures: the JSON sample parses and the NIfTI sample reads back with SimpleITK."""
    samples = _samples(tmp_path)
    assert json.loads(samples["json"].decode("utf-8-sig")) == {"age": 61}
    (tmp_path / "check.nii.gz").write_bytes(samples["nifti-gz"])
    assert sitk.ReadImage(str(tmp_path / "check.nii.gz")).GetSize() == (4, 3, 2)


def test_describe_upload_refuses_a_lying_file(tmp_path: Path) -> None:
    """The Case page's entry point checks every uploaded file before anything reads it."""
    from survival_core.io.upload_case import describe_upload

    samples = _samples(tmp_path)
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "image.nii.gz").write_bytes(samples["nifti-gz"])
    (upload / "gtv.nii.gz").write_bytes(samples["elf"])
    with pytest.raises(InputError, match="gtv.nii.gz holds unrecognised binary data"):
        describe_upload(upload)
    (upload / "gtv.nii.gz").write_bytes(samples["nifti-gz"])
    assert describe_upload(upload).kind == "volumes"
