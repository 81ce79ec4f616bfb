"""Issue 8's identifier scan: a DICOM upload with distinctive patient identifiers goes through the
app's whole path (store, load, score, explain, report, run registry, audit, CLI), then every file
under the data folder (and what the CLI printed) is searched for those identifiers, also inside
zip members, gzip streams and compressed PDF streams, and in file names. Issue 17: the same for
NIfTI/NRRD files named after the patient (store, load, score, explain, report)."""

from __future__ import annotations

import gzip
import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from survival_core.audit import audit
from survival_core.cli.main import main
from survival_core.explain.case import explain_case, save_explanation
from survival_core.features.cohort import extract_cases, write_cohort_features
from survival_core.features.presets import get_preset
from survival_core.io.archive import extract_zip
from survival_core.io.deid import Deidentifier
from survival_core.io.manifest import read_manifest
from survival_core.io.upload_case import describe_upload, load_upload
from survival_core.io.uploads import store_upload
from survival_core.models.scoring import load_scoring_model
from survival_core.paths import data_dir, data_subdir
from survival_core.report.pdf import build_report
from survival_core.runs.store import RunStore
from survival_core.workflows.scoring import score_case
from survival_core.workflows.training import train_model
from tests.test_deid import write_patient

#: The planted identifiers and their common spellings (the scan is case-insensitive).
IDENTIFIERS = (
    "Zyxwv",
    "Qwerty",
    "Zyxwv^Qwerty",
    "Zyxwv Qwerty",
    "ID-987654321",
    "987654321",
    "19410203",
    "1941-02-03",
    "03/02/1941",
    "02/03/1941",
    "555777",
    "24681357",
)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def _payloads(name: str, data: bytes, depth: int = 0):
    """The bytes of a file and of everything packed inside it (zip members, gzip, PDF streams)."""
    yield name, data
    if depth > 3:
        return
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                yield f"{name}:{info.filename} (name)", info.filename.encode()
                yield from _payloads(f"{name}:{info.filename}", archive.read(info), depth + 1)
    elif data[:2] == b"\x1f\x8b":
        yield from _payloads(f"{name} (gunzip)", gzip.decompress(data), depth + 1)
    elif data[:4] == b"PAR1":  # Parquet pages are compressed: read the table and its metadata
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        yield f"{name} (table)", table.to_pandas().to_csv().encode()
        yield f"{name} (metadata)", repr(table.schema.metadata).encode()
    elif data[:5] == b"%PDF-":
        for k, match in enumerate(_STREAM.finditer(data)):
            try:
                yield f"{name} stream {k}", zlib.decompress(match.group(1))
            except zlib.error:
                continue


def _leaks(name: str, data: bytes) -> list[str]:
    found = []
    for where, payload in _payloads(name, data):
        lowered = payload.lower()
        found += [f"{v!r} in {where}" for v in IDENTIFIERS if v.lower().encode() in lowered]
        # UTF-16 text (PDF strings, some DICOM character sets) hides from a byte search
        found += [
            f"{v!r} (UTF-16) in {where}"
            for v in IDENTIFIERS
            if v.lower().encode("utf-16-be") in lowered
        ]
    return found


def _zip_of(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent).as_posix())
    return buffer.getvalue()


@pytest.fixture()
def fresh_data(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("RADSURV_DATA_DIR", str(folder))
    return folder


def _tiny_model(small_cohort: Path) -> Path:
    """A clinical Cox model trained in the data folder, as the Training page saves one."""
    model_dir = data_subdir("models") / "scan-coxph"
    train_model(
        [small_cohort / "clinical.csv"],
        "coxph",
        {"penalizer": 1.0},
        model_dir,
        features="^(albumin|bilirubin|ecog)$",
    )
    return model_dir


def _data_folder_leaks() -> list[str]:
    """The planted identifiers found in the name or content of any file of the data folder."""
    leaks = []
    for path in (p for p in data_dir().rglob("*") if p.is_file()):
        relative = path.relative_to(data_dir()).as_posix()
        leaks += _leaks(f"name {relative}", relative.encode())
        leaks += _leaks(relative, path.read_bytes())
    return leaks


def test_no_identifier_is_written_anywhere(fresh_data, small_cohort, tmp_path, capsys):
    # the user's own export: a folder named after the patient, identifiers in every header, and
    # a clinical.json with identifying fields beside the schema's
    source = tmp_path / "user" / "Zyxwv_Qwerty_19410203"
    write_patient(source)
    (source / "clinical.json").write_text(
        json.dumps(
            {
                "name": "Zyxwv Qwerty",
                "mrn": "ID-987654321",
                "birth_date": "1941-02-03",
                "albumin": 38.0,
                "bilirubin": 20.0,
                "ecog": 1,
            }
        )
    )
    pseudonym = Deidentifier().pseudonym("ID-987654321")

    # upload as the Case page does
    folder = store_upload([("Zyxwv_Qwerty_19410203.zip", _zip_of(source))])
    contents = describe_upload(folder)
    case = load_upload(contents, contents.suggested_roles())
    assert case.case_id == pseudonym and case.clinical["albumin"] == 38.0
    audit("demo", "upload_case", case.case_id, files=1)

    # radiomics features of the upload, written as a feature table
    unpacked = data_subdir("tmp") / case.case_id
    extract_zip(contents.source, unpacked)  # as a cohort built from uploads holds it
    settings = get_preset("wei2021")
    features = extract_cases([(case.case_id, unpacked)], settings, workers=1)
    write_cohort_features(features, data_subdir("features") / "upload.parquet", settings)
    assert len(features.features) == 1

    # a tiny model, its score, explanation, report; a registered run
    model_dir = _tiny_model(small_cohort)
    loaded = load_scoring_model(model_dir)
    score = score_case(case, loaded)
    audit("demo", "score_case", case.case_id, model="scan-coxph")
    explanation = explain_case(case, loaded, top=5)
    save_explanation(explanation, data_subdir("cache") / f"{case.case_id}-explanation.csv")
    audit("demo", "explain_case", case.case_id)
    pdf = build_report(case, loaded, score, explanation)
    (data_subdir("cache") / f"{case.case_id}.pdf").write_bytes(pdf)
    (data_subdir("cache") / f"{case.case_id}.json").write_text(json.dumps(score.as_dict()))
    audit("demo", "export_report", case.case_id)

    store = RunStore()
    with store.start_run("scan", {"model": "coxph", "case": case.case_id}) as run:
        run.log_metrics({"risk": score.risk})
    store.register_model(run.run_id, model_dir, "scan-model")
    audit("demo", "promote_model", "scan-model", version=1)

    # the CLI on the user's raw folder (read in place, not stored): output and report
    capsys.readouterr()
    out_pdf = data_subdir("cache") / "cli-report.pdf"
    out_csv = data_subdir("cache") / "cli-explanation.csv"
    for command in (
        ["score", "--case", str(source), "--model", str(model_dir), "--json"],
        ["explain", "--case", str(source), "--model", str(model_dir), "--out", str(out_csv)],
        ["report", "--case", str(source), "--model", str(model_dir), "--out", str(out_pdf)],
    ):
        assert main(command) == 0
    printed = capsys.readouterr()
    assert _leaks("CLI output", (printed.out + printed.err).encode()) == []
    assert pseudonym in printed.out

    # every file the app wrote, its name and content
    files = [p for p in data_dir().rglob("*") if p.is_file()]
    assert len(files) >= 8 and out_pdf in files
    leaks = _data_folder_leaks()
    assert leaks == [], "\n".join(leaks[:20])


def _planted_nifti(path: Path) -> bytes:
    """A .nii.gz with the patient's name in its description and its gzip header (FNAME)."""
    raw = bytearray(gzip.decompress(path.read_bytes()))
    (header_size,) = struct.unpack("<i", raw[:4])
    assert header_size == 348
    raw[148:172] = b"Zyxwv^Qwerty 19410203".ljust(24, b"\0")
    buffer = io.BytesIO()
    with gzip.GzipFile("Zyxwv_Qwerty_CT.nii", "wb", fileobj=buffer, mtime=0) as out:
        out.write(bytes(raw))
    return buffer.getvalue()


def test_no_identifier_of_a_patient_named_nifti_upload_is_written(fresh_data, small_cohort):
    # an export named after the patient: the image, its masks and a clinical CSV
    manifest = read_manifest(small_cohort)
    case_dir = small_cohort / "cases" / manifest[manifest["format"] == "nifti"]["case_id"].iloc[0]
    organ = next(
        p for p in case_dir.glob("*.nii.gz") if p.name not in ("image.nii.gz", "gtv.nii.gz")
    )
    files = [
        ("Zyxwv_Qwerty_19410203_CT.nii.gz", _planted_nifti(case_dir / "image.nii.gz")),
        ("Zyxwv_Qwerty_GTV.nii.gz", (case_dir / "gtv.nii.gz").read_bytes()),
        (f"Zyxwv^Qwerty ID-987654321 {organ.name}", organ.read_bytes()),
        (
            "Zyxwv_Qwerty_clinical.csv",
            b"case_id,name,mrn,birth_date,albumin,bilirubin,ecog\n"
            b"hcc-007,Zyxwv Qwerty,ID-987654321,1941-02-03,38,20,1\n",
        ),
    ]
    assert any(_leaks(name, name.encode() + content) for name, content in files)

    # stored, matched and loaded as the Case page does
    folder = store_upload(files)  # the notes name the CSV's columns left out, not their values
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["CT.nii.gz", "GTV.nii.gz", organ.name, "clinical.csv", "upload-notes.json"]
    )
    contents = describe_upload(folder)
    assert contents.suggested_image() == "CT.nii.gz"
    roles = contents.suggested_roles()
    assert roles == {"gtv": ["GTV.nii.gz"], "organ": [organ.name]}
    case = load_upload(contents, roles)
    # named by its images (their upload's folder), never by the CSV's ID (a hospital's MRN)
    assert case.case_id == contents.folder.name and case.clinical["albumin"] == 38.0
    assert set(case.masks) == {"gtv", "organ"} and case.mask_array("gtv").any()
    audit("demo", "upload_case", case.case_id, files=len(files))

    # scored, explained and reported
    loaded = load_scoring_model(_tiny_model(small_cohort))
    score = score_case(case, loaded)
    explanation = explain_case(case, loaded, top=5)
    save_explanation(explanation, data_subdir("cache") / f"{case.case_id}-explanation.csv")
    pdf = build_report(case, loaded, score, explanation)
    (data_subdir("cache") / f"{case.case_id}.pdf").write_bytes(pdf)
    (data_subdir("cache") / f"{case.case_id}.json").write_text(json.dumps(score.as_dict()))
    audit("demo", "export_report", case.case_id)

    leaks = _data_folder_leaks()
    assert leaks == [], "\n".join(leaks[:20])


def test_the_scan_finds_what_it_looks_for():
    """The scanner itself: identifiers hidden in a zip, a gzip and a compressed PDF stream."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/notes.txt", "born 1941-02-03")
    pdf = b"%PDF-1.4\nstream\n" + zlib.compress(b"(Zyxwv) Tj") + b"\nendstream\n"
    assert _leaks("zip", buffer.getvalue())
    assert _leaks("gz", gzip.compress(b"xx ID-987654321 xx"))
    assert _leaks("pdf", pdf)
    assert _leaks("utf16", "QWERTY".encode("utf-16-be"))
    assert not _leaks("clean", b"RS-0123456789 2.25.1234")
