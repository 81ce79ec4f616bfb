"""Tests of the cohort generator: folder format, manifest, determinism, sites, modalities and the
CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk

from survival_core.cli.main import main
from survival_core.errors import ConfigError, InputError
from survival_core.io import manifest
from survival_core.io.clinical import SCHEMA
from survival_core.io.clinical_schema import validate_clinical
from survival_core.io.manifest import MANIFEST_COLUMNS
from survival_core.io.outcome_source import load_outcome_source
from survival_core.synthetic import generate, simulate
from survival_core.synthetic.generate import TRUTH_COLUMNS, generate_cohort
from survival_core.synthetic.scanners import MR_SCANNERS, SCANNERS
from survival_core.synthetic.tumors import longest_axial_diameter

N, SEED = 6, 21
SUMMARY_KEYS = {
    "out",
    "n",
    "seed",
    "site",
    "modality",
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
    # days to death: the demo model's survival is overall survival, and said so
    assert load_outcome_source(out).words().survival == "overall survival"
    assert (out / "manifest.csv").read_text().splitlines()[0] == ",".join(MANIFEST_COLUMNS)
    table = manifest.read_manifest(out)
    assert list(table.columns) == list(MANIFEST_COLUMNS)
    assert table["case_id"].tolist() == [f"SYN-{i:04d}" for i in range(1, N + 1)]
    for row in table.itertuples():
        case = out / "cases" / row.case_id
        assert (case / "clinical.json").is_file()
        assert (row.site, row.modality) == ("liver", "CT")
        if row.format == "dicom":
            assert row.image == str(case / "ct") and row.rtstruct == str(case / "rtstruct.dcm")
            assert row.organ_mask is None and row.gtv_mask is None
            assert len(list(Path(row.image).iterdir())) >= 20
        else:
            assert row.rtstruct is None
            assert [row.image, row.organ_mask, row.gtv_mask] == [
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
    assert set(truth["scanner"]) <= set(SCANNERS)
    assert truth[["liver_damage", "tumor_heterogeneity"]].stack().between(0, 1).all()
    description = json.loads((out / "cohort.json").read_text())
    assert description["seed"] == SEED and description["n"] == N
    assert (description["site"], description["modality"]) == ("liver", "CT")
    assert description["oracle_c_index"] == summary["oracle_c_index"]
    assert description["censored_fraction"] == summary["censored_fraction"]
    assert "version" in description and "scanners" in description["parameters"]
    # the Kaplan-Meier median survival, not the median of the times (follow-up, censored too)
    from survival_core.evaluation.risk_groups import kaplan_meier

    clinical = manifest.read_clinical(out)
    curve = kaplan_meier((clinical["event"].to_numpy(bool), clinical["time"].to_numpy(float)))
    assert description["median_survival_days"] == curve.median
    assert description["median_follow_up_days"] == float(np.median(clinical["time"]))


def test_nifti_cases(cohort) -> None:
    out, _ = cohort
    table = manifest.read_manifest(out).query("format == 'nifti'")
    clinical = manifest.read_clinical(out).set_index("case_id")
    for row in table.itertuples():
        image = sitk.ReadImage(row.image)
        assert image.GetPixelID() == sitk.sitkInt16
        sx, sy, sz = image.GetSpacing()
        assert sx == pytest.approx(sy) and 0.7 <= sx <= 1.4 and 2.5 <= sz <= 5.0
        liver, gtv = sitk.ReadImage(row.organ_mask), sitk.ReadImage(row.gtv_mask)
        for mask in (liver, gtv):
            assert mask.GetPixelID() == sitk.sitkUInt8
            assert mask.GetSize() == image.GetSize() and mask.GetOrigin() == image.GetOrigin()
        liver_a, gtv_a = sitk.GetArrayFromImage(liver), sitk.GetArrayFromImage(gtv)
        assert gtv_a.any() and not (gtv_a & (1 - liver_a)).any()
        measured = longest_axial_diameter(gtv_a, image.GetSpacing())
        assert clinical.loc[row.case_id, "tumor_diameter"] == pytest.approx(measured, abs=0.06)
        hu = sitk.GetArrayFromImage(image)
        parenchyma = hu[(liver_a > 0) & (gtv_a == 0)]
        assert hu.min() >= -1024 and 60 < parenchyma.mean() < 95  # late arterial phase


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
            for column in ("image", "organ_mask", "gtv_mask"):
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
    with pytest.raises(ConfigError, match="liver, lung"):
        generate_cohort(tmp_path / "x", 2, 0, site="kidney")
    with pytest.raises(ConfigError, match="CT, MR"):
        generate_cohort(tmp_path / "x", 2, 0, modality="PET")


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


def test_manifest_errors(cohort, tmp_path, caplog) -> None:
    with pytest.raises(InputError, match="not a cohort folder"):
        manifest.read_manifest(tmp_path)
    out, _ = cohort
    broken = tmp_path / "broken"
    broken.mkdir()
    text = (out / "manifest.csv").read_text()
    (broken / "manifest.csv").write_text(text)
    with caplog.at_level("WARNING", logger="survival_core.io.manifest"):
        rows = manifest.read_manifest(broken)  # each case fails alone, naming its missing files
    assert len(rows) == len(text.strip().splitlines()) - 1
    assert "lists files that do not exist" in caplog.text
    (broken / "manifest.csv").write_text(text.replace(",nifti,", ",png,", 1))
    with pytest.raises(InputError, match="format must be one of"):
        manifest.read_manifest(broken)


def test_cli_passes_site_and_modality(tmp_path, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(generate, "generate_cohort", lambda *a, **k: calls.append(k) or {})
    argv = ["demo-cohort", "--out", str(tmp_path), "--n", "2", "--site", "lung", "--modality", "MR"]
    assert main(argv) == 0
    assert (calls[0]["site"], calls[0]["modality"]) == ("lung", "MR")
    assert main(["demo-cohort", "--out", str(tmp_path)]) == 0
    assert (calls[1]["site"], calls[1]["modality"]) == ("liver", "CT")
    assert main(["demo-cohort", "--out", str(tmp_path), "--site", "kidney"]) == 2


def _same_patients(out: Path, n: int, seed: int) -> None:
    """Another site or modality keeps the patients, tumour designs and outcomes of the seed."""
    patients = simulate.simulate_cohort(n, seed)
    clinical = manifest.read_clinical(out)
    for column in ("time", "event", "age", "albumin", "afp", "tumor_number"):
        assert clinical[column].tolist() == patients[column].tolist()
    truth = manifest.read_truth(out)
    for column in ("true_log_hazard", "liver_damage", "tumor_heterogeneity"):
        assert truth[column].tolist() == pytest.approx(patients[column].tolist())


@pytest.fixture(scope="module")
def lung_cohort(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lung") / "lung"
    summary = generate_cohort(out, 3, SEED, workers=1, site="lung")
    assert (summary["site"], summary["modality"], summary["n_dicom"]) == ("lung", "CT", 1)
    return out


def test_lung_cohort_has_lungs_and_no_liver(lung_cohort) -> None:
    table = manifest.read_manifest(lung_cohort)
    assert set(table["site"]) == {"lung"} and set(table["modality"]) == {"CT"}
    assert not list(lung_cohort.rglob("liver*"))
    _same_patients(lung_cohort, 3, SEED)
    clinical = manifest.read_clinical(lung_cohort).set_index("case_id")
    for row in table.query("format == 'nifti'").itertuples():
        assert row.organ_mask == str(lung_cohort / "cases" / row.case_id / "lung.nii.gz")
        image = sitk.ReadImage(row.image)
        hu = sitk.GetArrayFromImage(image).astype(float)
        lungs = sitk.GetArrayFromImage(sitk.ReadImage(row.organ_mask))
        gtv = sitk.GetArrayFromImage(sitk.ReadImage(row.gtv_mask))
        assert gtv.any() and not (gtv & (1 - lungs)).any()
        parenchyma = hu[(lungs > 0) & (gtv == 0)]
        assert ((parenchyma > -900) & (parenchyma < -700)).mean() > 0.5
        measured = longest_axial_diameter(gtv, image.GetSpacing())
        assert clinical.loc[row.case_id, "tumor_diameter"] == pytest.approx(measured, abs=0.06)


def test_lung_rtstruct_names_rois_like_clinical_exports(lung_cohort) -> None:
    row = next(manifest.read_manifest(lung_cohort).query("format == 'dicom'").itertuples())
    rt = pydicom.dcmread(row.rtstruct)
    names = [r.ROIName for r in rt.StructureSetROISequence]
    number = manifest.read_clinical(lung_cohort).set_index("case_id").loc[row.case_id]
    lesions = [f"GTV-{i}" for i in range(1, int(number["tumor_number"]) + 1)]
    assert names == lesions + ["Lung-Left", "Lung-Right", "Spinal-Cord", "Heart"]
    types = [o.RTROIInterpretedType for o in rt.RTROIObservationsSequence]
    assert types == ["GTV"] * len(lesions) + ["ORGAN"] * 4


def test_mr_cohort(tmp_path) -> None:
    out = tmp_path / "mr"
    generate_cohort(out, 3, SEED, workers=1, modality="MR")
    _same_patients(out, 3, SEED)
    assert set(manifest.read_truth(out)["scanner"]) <= set(MR_SCANNERS)
    description = json.loads((out / "cohort.json").read_text())
    assert set(description["parameters"]["scanners"]) == set(MR_SCANNERS)
    table = manifest.read_manifest(out)
    assert set(table["modality"]) == {"MR"} and set(table["site"]) == {"liver"}
    for row in table.itertuples():
        if row.format == "dicom":
            assert row.image == str(out / "cases" / row.case_id / "mr")
            slices = [pydicom.dcmread(p) for p in Path(row.image).iterdir()]
            assert {ds.Modality for ds in slices} == {"MR"}
            assert {ds.SOPClassUID for ds in slices} == {pydicom.uid.MRImageStorage}
            assert not any("RescaleIntercept" in ds for ds in slices)
            values = np.stack([ds.pixel_array for ds in slices])
            rt = pydicom.dcmread(row.rtstruct)
            assert [r.ROIName for r in rt.StructureSetROISequence] == ["Liver", "GTV"]
        else:
            values = sitk.GetArrayFromImage(sitk.ReadImage(row.image))
            liver = sitk.GetArrayFromImage(sitk.ReadImage(row.organ_mask))
            assert liver.any()
        assert values.min() >= 0 and values.dtype == np.uint16  # no HU: air is not -1000
        assert np.median(values) > 20
