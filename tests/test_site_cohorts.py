"""`extract` on cohorts of other sites and modalities: a lung CT cohort (GTV-1/GTV-2, lungs, organs
at risk) and an MR cohort, with han2020 and full; organ ROIs named after the cohort's site."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from survival_core.synthetic.generate import generate_cohort
from tests.test_cli import run_cli


@pytest.fixture(scope="module")
def lung_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lung") / "cohort"
    generate_cohort(out, n=4, seed=5, workers=1, site="lung")
    return out


def _extract(cohort: Path, tmp: Path, preset: str, *extra: str) -> dict:
    table = tmp / f"{preset}.parquet"
    result = run_cli(
        "extract", "--cohort", str(cohort), "--preset", preset, "--out", str(table),
        "--workers", "1", "--json", *extra, env_dir=tmp / "data",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("preset", "n_features"), [("han2020", 552), ("full", 107)])
def test_lung_cohort_extracts(lung_cohort: Path, tmp_path: Path, preset: str, n_features: int):
    manifest = pd.read_csv(lung_cohort / "manifest.csv")
    assert set(manifest["format"]) == {"dicom", "nifti"}  # both kinds of case take part
    report = _extract(lung_cohort, tmp_path, preset)
    assert (report["n_cases"], report["n_failed"], report["n_features"]) == (4, 0, n_features)
    assert (report["site"], report["modality"]) == ("lung", "CT")
    table = pd.read_parquet(report["out"])
    assert table.notna().to_numpy().mean() > 0.98


def test_wei2021_on_lungs_names_the_lung(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path):
    """Wei's tumour + organ-minus-tumour design on a lung case: the organ ROI is the lungs
    (Lung-Left + Lung-Right united, Spinal-Cord and Heart left out) and its columns say so."""
    cohort = tmp_path_factory.mktemp("lung1") / "cohort"
    generate_cohort(cohort, n=1, seed=5, workers=1, site="lung")
    report = _extract(cohort, tmp_path, "wei2021")
    assert (report["n_failed"], report["n_features"], report["site"]) == (0, 56, "lung")
    columns = pd.read_parquet(report["out"]).columns
    assert sum(c.startswith("lung_minus_gtv__") for c in columns) == 28
    assert not any(c.startswith(("liver", "organ")) for c in columns)


def test_mr_cohort_takes_the_mr_variant(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path):
    cohort = tmp_path_factory.mktemp("mr") / "cohort"
    generate_cohort(cohort, n=2, seed=4, workers=1, modality="MR")
    assert set(pd.read_csv(cohort / "manifest.csv")["modality"]) == {"MR"}
    report = _extract(cohort, tmp_path, "full")
    assert (report["modality"], report["n_failed"], report["n_features"]) == ("MR", 0, 107)


def test_an_mr_case_of_volume_files_is_scored_as_mr_when_said(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """`score` read every NIfTI MR case as CT (volume files record no modality) and had no way to
    say otherwise: the MR cohort's own training case was refused by its MR model ("Use a model
    trained on CT") and would have been scored by a CT one. `--modality MR` reads it as MR; the
    refusal says how."""
    cohort = tmp_path_factory.mktemp("mr_scored") / "cohort"
    generate_cohort(cohort, n=8, seed=4, workers=1, modality="MR")
    report = _extract(cohort, tmp_path, "full")
    model = tmp_path / "model"
    fitted = run_cli(
        "fit", "--table", str(cohort / "clinical.csv"), "--table", report["out"],
        "--features", "^gtv__original__firstorder__(Mean|Median|Energy)$", "--model", "coxph",
        "--param", "penalizer=1.0", "--out", str(model), env_dir=tmp_path / "data",
    )  # fmt: skip
    assert fitted.returncode == 0, fitted.stderr
    rows = pd.read_csv(cohort / "manifest.csv").query("format == 'nifti'")
    case = cohort / "cases" / rows["case_id"].iloc[0]
    # the cohort's own case folder is read in the modality its manifest records
    own = run_cli("score", "--case", str(case), "--model", str(model), "--json",
                  env_dir=tmp_path / "data")  # fmt: skip
    assert own.returncode == 0, own.stderr
    # copied out of its cohort, its image.nii.gz names no modality: read as CT, and refused
    alone = shutil.copytree(case, tmp_path / "alone" / case.name)
    score = ("score", "--case", str(alone), "--model", str(model), "--json")
    refused = run_cli(*score, env_dir=tmp_path / "data")
    assert refused.returncode != 0 and "say so, `--modality MR` on the command line" in (
        refused.stderr
    )
    said = run_cli(*score, "--modality", "mr", env_dir=tmp_path / "data")
    assert said.returncode == 0, said.stderr
    scored = json.loads(said.stdout.strip().splitlines()[-1])
    assert scored["case_id"] == rows["case_id"].iloc[0] and scored["risk"] is not None


def test_ct_settings_on_mr_images_fail_with_the_reason(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    cohort = tmp_path_factory.mktemp("mr_refused") / "cohort"
    generate_cohort(cohort, n=1, seed=4, workers=1, modality="MR")
    table = tmp_path / "ct.parquet"
    result = run_cli(
        "extract", "--cohort", str(cohort), "--preset", "full", "--modality", "CT",
        "--out", str(table), "--workers", "1", "--json", env_dir=tmp_path / "data",
    )  # fmt: skip
    # HU settings on MR images: every case refused with the reason, never computed silently
    assert result.returncode != 0
    assert "The case is MR; the cohort's features are computed on CT" in result.stderr
