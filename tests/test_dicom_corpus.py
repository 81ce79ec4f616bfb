"""pydicom's real-world test files through every DICOM entry point (tests/dicom_corpus.py): each
loads or is refused with a RadSurvError naming the file; none crashes or hangs; compressed pixel
data decodes when a decoder is installed, else is refused naming its transfer syntax."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pydicom.pixels import get_decoder

from survival_core import errors
from survival_core.paths import data_subdir
from tests.dicom_corpus import (
    ENTRY_POINTS,
    Outcome,
    corpus_files,
    corpus_root,
    counts,
    pixel_syntax,
    run_corpus,
)

#: Messages that are clear without naming the file (the upload held nothing else).
CLEAR_WITHOUT_NAME = ("The upload holds nothing but a DICOMDIR index",)


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str], Outcome]:
    """(entry point, file) -> outcome, for the whole corpus (about 10 s)."""
    return {(o.entry, o.file): o for o in run_corpus(corpus_files())}


def test_the_corpus_is_pydicoms_installed_data() -> None:
    files = corpus_files()
    names = {p.name for p in files}
    assert len(files) >= 150
    assert {"CT_small.dcm", "MR_small_RLE.dcm", "rtstruct.dcm", "rtdose.dcm"} <= names
    assert all(p.is_relative_to(corpus_root()) for p in files)


def test_no_file_crashes_or_hangs_any_entry_point(
    outcomes: dict[tuple[str, str], Outcome],
) -> None:
    failed = [o for o in outcomes.values() if o.status in ("crashed", "hung")]
    assert not failed, "\n".join(f"{o.entry} {o.file}: {o.status}: {o.message}" for o in failed)
    table = counts(list(outcomes.values()))
    assert set(table) == set(ENTRY_POINTS)
    assert {c["tried"] for c in table.values()} == {len(corpus_files())}


def _names_file(outcome: Outcome, stored: set[str]) -> bool:
    """Whether a refusal says which file: its name, or for an upload the name it was stored
    under or the upload's folder (uploads store no uploaded name: DICOM files are renamed after
    their new SOP instance UID, other files get neutral names)."""
    message = outcome.message
    return (
        Path(outcome.file).name in message
        or (
            outcome.entry.startswith("upload")
            and ("upload-" in message or any(name in message for name in stored))
        )
        or any(phrase in message for phrase in CLEAR_WITHOUT_NAME)
    )


def test_every_refusal_is_a_radsurv_error_naming_the_file(
    outcomes: dict[tuple[str, str], Outcome],
) -> None:
    stored = {p.name for p in data_subdir("cases").rglob("*") if p.is_file()}
    refused = [o for o in outcomes.values() if o.status == "refused"]
    assert refused
    for o in refused:
        kind, _, text = o.message.partition(": ")
        assert issubclass(getattr(errors, kind), errors.RadSurvError), o
        assert len(text) > 20, o
        assert _names_file(o, stored), o


@pytest.mark.parametrize(
    ("entry", "name", "expected"),
    [
        ("series", "CT_small.dcm", "CT 128x128x1"),
        ("series", "MR_small.dcm", "MR 64x64x1"),
        ("series", "MR_small_implicit.dcm", "MR 64x64x1"),
        ("series", "MR_small_bigendian.dcm", "MR 64x64x1"),
        ("upload_file", "CT_small.dcm", "dicom: CT 128x128x1"),
        ("upload_zip", "MR_small.dcm", "archive: MR 64x64x1"),
        ("rtstruct", "rtstruct.dcm", "3 ROIs"),
        ("classifier", "CT_small.dcm", "DICOM"),
        ("classifier", "ExplVR_BigEndNoMeta.dcm", "DICOM"),  # big endian without preamble
    ],
)
def test_known_files_load(
    outcomes: dict[tuple[str, str], Outcome], entry: str, name: str, expected: str
) -> None:
    outcome = outcomes[(entry, f"test_files/{name}")]
    assert (outcome.status, outcome.message) == ("loaded", expected)


@pytest.mark.parametrize(
    ("entry", "name", "phrase"),
    [
        ("series", "rtdose.dcm", "DICOM RTDOSE object, not an image"),
        ("series", "ExplVR_BigEndNoMeta.dcm", "DICOM RTPLAN object, not an image"),
        ("series", "dicomdirtests/DICOMDIR", "a DICOMDIR index of other files, not an image"),
        ("series", "rtstruct.dcm", "only RTSTRUCT structure set(s)"),
        ("series", "SC_rgb_jpeg.dcm", "colour image (3 samples per pixel)"),
        ("series", "MR_truncated.dcm", "The file is damaged or truncated"),
        ("upload_file", "meta_missing_tsyntax.dcm", "without SOP Class UID or SOP Instance UID"),
        ("rtstruct", "rtdose.dcm", "not an RTSTRUCT (modality RTDOSE, SOP class RT Dose Storage)"),
    ],
)
def test_refusals_say_why(
    outcomes: dict[tuple[str, str], Outcome], entry: str, name: str, phrase: str
) -> None:
    outcome = outcomes[(entry, f"test_files/{name}")]
    assert outcome.status == "refused"
    assert phrase in outcome.message


@pytest.mark.parametrize(
    ("entry", "name"),
    [
        ("series", "MR_small_RLE.dcm"),
        ("series", "MR_small_jp2klossless.dcm"),
        ("series", "MR_small_jpeg_ls_lossless.dcm"),
        ("pixels", "SC_rgb_jpeg_gdcm.dcm"),  # JPEG Lossless: pylibjpeg or GDCM only
        ("pixels", "JPEG2000.dcm"),
    ],
)
def test_compressed_data_loads_when_a_decoder_is_installed(
    outcomes: dict[tuple[str, str], Outcome], entry: str, name: str
) -> None:
    syntax = pixel_syntax(corpus_root() / "test_files" / name)
    assert syntax is not None and syntax.is_compressed
    outcome = outcomes[(entry, f"test_files/{name}")]
    if get_decoder(syntax).is_available:
        assert outcome.status == "loaded", outcome
    else:
        assert outcome.status == "refused"
        assert syntax.name in outcome.message and "install" in outcome.message


def test_undecodable_compressed_data_names_its_transfer_syntax(
    outcomes: dict[tuple[str, str], Outcome],
) -> None:
    refused = 0
    for path in corpus_files():
        syntax = pixel_syntax(path)
        outcome = outcomes[("pixels", path.relative_to(corpus_root()).as_posix())]
        if syntax is not None and syntax.is_compressed and outcome.status == "refused":
            refused += 1
            assert f"{syntax.name} ({syntax})" in outcome.message, outcome
    assert refused >= 1  # JPEG-lossy.dcm is damaged: no decoder reads it


# --- the runner itself: a crash and a hang are caught, and the files after them still run ---


def _raises(path: Path) -> str:
    raise KeyError(path.name)


def _hangs(path: Path) -> str:
    time.sleep(60)
    return "woke up"


def _dies(path: Path) -> str:
    os._exit(3)


def _name(path: Path) -> str:
    return path.name


def test_the_runner_reports_crashes_hangs_and_dead_workers() -> None:
    files = [corpus_root() / "test_files" / "CT_small.dcm"]
    entries = {"raises": _raises, "hangs": _hangs, "dies": _dies, "name": _name}
    found = {o.entry: o for o in run_corpus(files, entries, limit_s=5.0)}
    assert found["raises"].status == "crashed" and "KeyError" in found["raises"].message
    assert found["hangs"].status == "hung"
    assert found["dies"].status == "crashed" and "exit code 3" in found["dies"].message
    assert (found["name"].status, found["name"].message) == ("loaded", "CT_small.dcm")
