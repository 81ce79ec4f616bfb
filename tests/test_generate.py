"""Tests of the cohort generator: folder format, manifest, determinism and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk

from survival_core.cli.main import main
from survival_core.cohort import manifest, phantom
from survival_core.cohort.generate import MANIFEST_COLUMNS, TRUTH_COLUMNS, generate_cohort
from survival_core.errors import ConfigError, InputError
from survival_core.io.clinical import SCHEMA, validate_clinical

N, SEED = 6, 21
SUMMARY_KEYS = {
    "out",
    "n",
    "seed",
    "n_dicom",
    "n_nifti",
    "censored_fraction",
    "oracle_c_index",
    "seconds",
    "megabytes",
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("cohort") / "a"
    messages: list[str] = []
    summary = generate_cohort(out, N, SEED, workers=1, progress=messages.append)
    assert messages and messages[-1].startswith(f"demo-cohort: {N}/{N}")
    return out, summary


def _read(path: str) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(path))


def test_summary(cohort) -> None:
    out, summary = cohort
    assert set(summary) == SUMMARY_KEYS
    assert summary["out"] == str(out) and summary["n"] == N and summary["seed"] == SEED
    assert summary["n_dicom"] == 2 and summary["n_nifti"] == 4
    assert 0 < summary["megabytes"] < 10 * N
    assert 0 <= summary["censored_fraction"] <= 1


def test_folder_layout_and_manifest(cohort) -> None:
    out, _ = cohort
    for name in ("manifest.csv", "clinical.csv", "truth.csv", "cohort.json"):
        assert (out / name).is_file()
    assert (out / "manifest.csv").read_text().splitlines()[0] == ",".join(MANIFEST_COLUMNS)
    table = manifest.read_manifest(out)
    assert list(table.columns) == list(MANIFEST_COLUMNS)
    assert table["case_id"].tolist() == [f"SYN-{i:04d}" for i in range(1, N + 1)]
    for row in table.itertuples():
        case = out / "cases" / row.case_id
        assert (case / "clinical.json").is_file()
        if row.format == "dicom":
            assert row.image == str(case / "ct") and row.rtstruct == str(case / "rtstruct.dcm")
            assert row.liver_mask is None and row.gtv_mask is None
            assert len(list(Path(row.image).iterdir())) >= 20
        else:
            assert row.rtstruct is None
            assert [row.image, row.liver_mask, row.gtv_mask] == [
                str(case / f) for f in ("image.nii.gz", "liver.nii.gz", "gtv.nii.gz")
            ]
    assert sorted(table["format"].unique()) == ["dicom", "nifti"]


def test_clinical_table_and_case_json(cohort) -> None:
    out, _ = cohort
    clinical = manifest.read_clinical(out)
    assert list(clinical.columns) == ["case_id", "time", "event"] + [v.name for v in SCHEMA]
    assert set(clinical["event"]) <= {0, 1} and (clinical["time"] >= 1).all()
    for row in clinical.to_dict("records"):
        values = validate_clinical(row).values
        assert not validate_clinical(row).missing
        stored = json.loads((out / "cases" / row["case_id"] / "clinical.json").read_text())
        assert stored == values
        assert stored["albi_score"] == pytest.approx(
            0.66 * np.log10(stored["bilirubin"]) - 0.085 * stored["albumin"], abs=1e-4
        )


def test_truth_and_description(cohort) -> None:
    out, summary = cohort
    truth = manifest.read_truth(out)
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    assert set(truth["scanner"]) <= set(phantom.SCANNERS)
    assert truth[["liver_damage", "tumor_heterogeneity"]].stack().between(0, 1).all()
    description = json.loads((out / "cohort.json").read_text())
    assert description["seed"] == SEED and description["n"] == N
    assert description["oracle_c_index"] == summary["oracle_c_index"]
    assert description["censored_fraction"] == summary["censored_fraction"]
    assert "version" in description and "scanners" in description["parameters"]


def test_nifti_cases(cohort) -> None:
    out, _ = cohort
    table = manifest.read_manifest(out).query("format == 'nifti'")
    clinical = manifest.read_clinical(out).set_index("case_id")
    for row in table.itertuples():
        image = sitk.ReadImage(row.image)
        assert image.GetPixelID() == sitk.sitkInt16
        sx, sy, sz = image.GetSpacing()
        assert sx == pytest.approx(sy) and 0.7 <= sx <= 1.4 and 2.5 <= sz <= 5.0
        liver, gtv = sitk.ReadImage(row.liver_mask), sitk.ReadImage(row.gtv_mask)
        for mask in (liver, gtv):
            assert mask.GetPixelID() == sitk.sitkUInt8
            assert mask.GetSize() == image.GetSize() and mask.GetOrigin() == image.GetOrigin()
        liver_a, gtv_a = sitk.GetArrayFromImage(liver), sitk.GetArrayFromImage(gtv)
        assert gtv_a.any() and not (gtv_a & (1 - liver_a)).any()
        measured = phantom.longest_axial_diameter(gtv_a, image.GetSpacing())
        assert clinical.loc[row.case_id, "tumor_diameter"] == pytest.approx(measured, abs=0.06)
        hu = sitk.GetArrayFromImage(image)
        assert hu.min() >= -1024 and 40 < hu[(liver_a > 0) & (gtv_a == 0)].mean() < 85


def test_dicom_cases(cohort) -> None:
    out, _ = cohort
    table = manifest.read_manifest(out).query("format == 'dicom'")
    for row in table.itertuples():
        number = row.case_id.split("-")[1]
        slices = [pydicom.dcmread(p) for p in Path(row.image).iterdir()]
        assert {str(ds.PatientName) for ds in slices} == {f"SYNTHETIC^{number}"}
        assert {ds.PatientID for ds in slices} == {row.case_id}
        assert len({ds.SeriesInstanceUID for ds in slices}) == 1
        rt = pydicom.dcmread(row.rtstruct)
        assert [r.ROIName for r in rt.StructureSetROISequence] == ["Liver", "GTV"]
        assert rt.PatientID == row.case_id


def test_same_seed_same_cohort_whatever_the_workers(cohort, tmp_path) -> None:
    out, _ = cohort
    other = tmp_path / "b"
    generate_cohort(other, N, SEED, workers=2)
    for name in ("clinical.csv", "truth.csv", "manifest.csv"):
        assert (other / name).read_bytes() == (out / name).read_bytes()
    first, second = manifest.read_manifest(out), manifest.read_manifest(other)
    for a, b in zip(first.itertuples(), second.itertuples(), strict=True):
        if a.format == "nifti":
            for column in ("image", "liver_mask", "gtv_mask"):
                assert np.array_equal(_read(getattr(a, column)), _read(getattr(b, column)))
        else:
            names = sorted(p.name for p in Path(a.image).iterdir())
            assert names == sorted(p.name for p in Path(b.image).iterdir())
            for name in names:
                assert (Path(a.image) / name).read_bytes() == (Path(b.image) / name).read_bytes()
            assert Path(a.rtstruct).read_bytes() == Path(b.rtstruct).read_bytes()


def test_another_seed_gives_another_cohort(cohort, tmp_path) -> None:
    out, _ = cohort
    generate_cohort(tmp_path / "c", 2, SEED + 1, workers=1)
    ours = pd.read_csv(out / "truth.csv").head(2)
    theirs = pd.read_csv(tmp_path / "c" / "truth.csv")
    assert not np.allclose(ours["true_log_hazard"], theirs["true_log_hazard"])


def test_refuses_bad_requests(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        generate_cohort(tmp_path, 2, 0)
    with pytest.raises(ConfigError, match="at least 1"):
        generate_cohort(tmp_path / "x", 0, 0)
    with pytest.raises(ConfigError, match="non-negative"):
        generate_cohort(tmp_path / "x", 2, -1)
    with pytest.raises(ConfigError, match="workers"):
        generate_cohort(tmp_path / "x", 2, 0, workers=0)


def test_cli_rewrites_a_previous_cohort_and_prints_json(tmp_path, capsys) -> None:
    out = tmp_path / "cli"
    argv = ["demo-cohort", "--out", str(out), "--n", "2", "--seed", "3", "--workers", "1", "--json"]
    assert main(argv) == 0
    (out / "cases" / "SYN-0002" / "stale.txt").write_text("old")
    assert main(argv) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert set(result) == SUMMARY_KEYS and result["n"] == 2
    assert "demo-cohort: 2/2" in captured.err
    assert not (out / "cases" / "SYN-0002" / "stale.txt").exists()
    assert main(["demo-cohort", "--out", str(tmp_path / "y"), "--n", "0"]) == 2


def test_manifest_errors(cohort, tmp_path) -> None:
    with pytest.raises(InputError, match="not a cohort folder"):
        manifest.read_manifest(tmp_path)
    out, _ = cohort
    broken = tmp_path / "broken"
    broken.mkdir()
    text = (out / "manifest.csv").read_text()
    (broken / "manifest.csv").write_text(text)
    with pytest.raises(InputError, match="do not exist"):
        manifest.read_manifest(broken)
    (broken / "manifest.csv").write_text(text.replace(",nifti,", ",png,", 1))
    with pytest.raises(InputError, match="format must be one of"):
        manifest.read_manifest(broken)
