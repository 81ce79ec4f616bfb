"""Explaining one case under a saved model: the ``explain`` command and explain_case."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from survival_core.cli.main import main
from survival_core.errors import ConfigError
from survival_core.explain.case import explain_case
from survival_core.io.case_loader import load_case
from survival_core.models.scoring import load_scoring_model
from survival_core.workflows.scoring import score_case
from survival_core.workflows.training import train_model
from tests.case_builders import write_suv_volume_case

TINY_CNN = {
    "channels": [4, 8],
    "fc": 8,
    "batch_size": 4,
    "epochs": 2,
    "volume_shape": [32, 32, 12],
    "patch_size": [24, 24, 8],
}


@pytest.fixture(scope="module")
def models(small_cohort, tmp_path_factory):
    root = tmp_path_factory.mktemp("explain-models")
    clinical = [small_cohort / "clinical.csv"]
    train_model(clinical, "cnn3d", TINY_CNN, root / "cnn3d", cohort=small_cohort)
    train_model(clinical, "coxph", {"penalizer": 0.5}, root / "coxph")
    train_model(clinical, "deepsurv", {"epochs": 20, "validation_fraction": 0.0}, root / "deepsurv")
    return root


@pytest.fixture(scope="module")
def case_folder(small_cohort):
    return sorted((small_cohort / "cases").iterdir())[0]


@pytest.mark.parametrize("method", ["gradcam", "ig"])
def test_image_model_map_lies_on_the_case_ct(method, models, case_folder, tmp_path, capsys):
    out = tmp_path / f"{method}.nii.gz"
    code = main(["explain", "--case", str(case_folder), "--model", str(models / "cnn3d"),
                 "--method", method, "--out", str(out), "--json"])  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"method", "seconds", "completeness_delta", "top_features"} <= set(result)
    assert result["method"] == method and result["seconds"] > 0
    case = load_case(case_folder)
    written = sitk.ReadImage(str(out))
    assert written.GetSize() == case.image.GetSize()
    np.testing.assert_allclose(written.GetSpacing(), case.image.GetSpacing(), rtol=1e-5)
    np.testing.assert_allclose(written.GetOrigin(), case.image.GetOrigin(), atol=1e-3)
    shares = [item["share"] for item in result["top_features"]]
    assert sum(shares) == pytest.approx(1.0) and shares == sorted(shares, reverse=True)
    assert result["top_features"][0]["name"] in {
        "tumour (GTV)", "liver outside the tumour", "outside liver and tumour"
    }  # fmt: skip
    assert result["enrichment"] is not None and result["enrichment"] >= 0
    # the explained risk is the risk score reports
    assert result["risk"] == pytest.approx(
        score_case(case, load_scoring_model(models / "cnn3d")).risk
    )
    if method == "ig":
        assert result["completeness_delta"] <= 0.01 and result["steps"] >= 1
        # the map adds up from an all-floor CT's risk, said (within the CT resampling's 2 %)
        assert result["baseline"] == "the window floor"
        assert result["baseline_note"].startswith("the window floor: every voxel")
        difference = result["risk"] - result["f_baseline"]
        assert result["attribution_sum"] == pytest.approx(difference, rel=0.02)
        assert written_sum(out) == pytest.approx(result["attribution_sum"], rel=1e-5)
    else:
        assert result["completeness_delta"] is None
        assert result["f_baseline"] is None and result["baseline"] is None
        values = sitk.GetArrayFromImage(written)  # signed Grad-CAM: [-1, 1], largest |value| 1
        assert values.min() >= -1 - 1e-6 and values.max() <= 1 + 1e-6
        assert np.abs(values).max() == pytest.approx(1.0, abs=0.02) or not values.any()


def written_sum(path: Path) -> float:
    return float(sitk.GetArrayFromImage(sitk.ReadImage(str(path))).sum(dtype=np.float64))


@pytest.mark.parametrize("model", ["coxph", "deepsurv"])
def test_table_model_attributions_add_up_to_the_risk_difference(model, models, case_folder):
    loaded = load_scoring_model(models / model)
    explanation = explain_case(load_case(case_folder), loaded, "ig", top=3)
    assert len(explanation.top_features) == 3
    assert explanation.completeness_delta <= 1e-6  # exact piecewise integral
    # the baseline and its risk are said: deepsurv's GBSG2 patient 0 had risk 0.399 and
    # attributions summing to 0.192, from a hidden f(baseline) of 0.207
    assert explanation.baseline_note.startswith("the mean patient: every model input")
    total = sum(item["attribution"] for item in explanation.attributions)
    assert explanation.attribution_sum == pytest.approx(total, rel=1e-12)
    assert explanation.f_baseline + total == pytest.approx(explanation.risk, rel=1e-5, abs=1e-6)
    shown = explanation.as_dict()
    assert {"baseline", "baseline_note", "f_baseline", "attribution_sum"} <= set(shown)
    assert f"Its risk, {explanation.f_baseline:.4g}, plus" in explanation.additivity()
    sizes = [abs(item["attribution"]) for item in explanation.attributions]
    assert sizes == sorted(sizes, reverse=True)
    # one bar per input variable: a category's indicator columns (bclc=B, bclc=C) summed, which
    # the report drew as levels the patient does not have
    owner = loaded.model.preprocessor_.input_of_
    inputs = {owner.get(f, f) for f in loaded.model.features_used_}
    assert {item["name"] for item in explanation.attributions} == inputs
    assert not any("=" in item["name"] for item in explanation.attributions)


def test_table_attributions_csv_and_gradcam_refusal(models, case_folder, tmp_path, capsys):
    out = tmp_path / "attr.csv"
    assert main(["explain", "--case", str(case_folder), "--model", str(models / "coxph"),
                 "--out", str(out)]) == 0  # fmt: skip
    assert out.read_text().splitlines()[0] == "name,attribution,imputed"
    # a first row holds the baseline's risk: the column sums to the patient's risk
    table = pd.read_csv(out)
    assert table["name"].iloc[0] == "baseline: the training mean"
    risk = score_case(load_case(case_folder), load_scoring_model(models / "coxph")).risk
    assert table["attribution"].sum() == pytest.approx(risk, abs=1e-9)
    code = main(["explain", "--case", str(case_folder), "--model", str(models / "coxph"),
                 "--method", "gradcam"])  # fmt: skip
    assert code == 2
    assert "Grad-CAM needs an image model" in capsys.readouterr().err


def test_gradcam_layer_can_be_chosen_and_is_checked(models, case_folder):
    loaded = load_scoring_model(models / "cnn3d")
    case = load_case(case_folder)
    finer = explain_case(case, loaded, "gradcam", layer="blocks.0")
    assert finer.map.GetSize() == case.image.GetSize()
    with pytest.raises(ConfigError, match="blocks.1"):
        explain_case(case, loaded, "gradcam", layer="nope")


def test_explain_reports_what_reading_the_case_warned_about(models, small_cohort, tmp_path, capsys):
    """A volume case whose values are no HU (an MR read as CT: volume files carry no
    modality) was explained with no word of it; the score said so, the map did not."""
    import shutil

    from survival_core.io.manifest import read_manifest

    manifest = read_manifest(small_cohort)
    source = small_cohort / "cases" / manifest[manifest["format"] != "dicom"]["case_id"].iloc[0]
    folder = tmp_path / "case"
    shutil.copytree(source, folder)
    image = next(folder.glob("image.*"))
    shifted = sitk.ReadImage(str(image)) + 1100.0  # every value positive, as an MR's
    sitk.WriteImage(shifted, str(image))
    code = main(["explain", "--case", str(folder), "--model", str(models / "cnn3d"),
                 "--method", "gradcam", "--json"])  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert any("not Hounsfield units" in w or "HU" in w for w in result["warnings"])
    # a network reading the CT through an HU window: the score says it where the risk is shown
    (said,) = [c for c in result["cautions"] if "HU window" in c]
    assert "not Hounsfield units" in said and "Model cnn3d reads the CT through the HU window" in (
        said
    )


def test_a_pet_volume_is_refused_by_a_ct_network_or_cautioned_where_read_as_ct(
    models, sarcoma_ct, tmp_path, capsys
):
    """The real sarcoma's PET alone ('PT.nii.gz', SUV, with its GTV) was read as CT and scored
    by a CT network: a risk group and survival, `cautions: []`, a warning alone. Named for its
    modality it is PT, refused as `--modality PT` was; named for none ('image.nii.gz') it is
    read as CT, and the score's cautions say its values are not HU."""
    folder = write_suv_volume_case(sarcoma_ct, tmp_path / "STS_PT")
    argv = ["score", "--case", str(folder), "--model", str(models / "cnn3d"), "--json"]
    assert main(argv) == 2
    assert "case STS_PT is PT, which has no HU scale" in capsys.readouterr().err
    (folder / "PT.nii.gz").rename(folder / "image.nii.gz")
    assert main(argv) == 0
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (said,) = [c for c in scored["cautions"] if "HU window" in c]
    assert said.startswith("This CT's values span only 0 to ") and "not Hounsfield units" in said


def test_an_imputed_input_is_marked_among_the_attributions(models, case_folder, tmp_path, capsys):
    """The real sarcoma T1 without clinical values listed its imputed BCLC and ECOG among the five
    leading drivers, unmarked: a clinician reads 'this patient's BCLC lowered the risk'."""
    import shutil

    from survival_core.viewer.patient import attribution_figure

    case = shutil.copytree(case_folder, tmp_path / "case")
    clinical = json.loads((case / "clinical.json").read_text())
    for name in ("bclc", "ecog"):
        clinical.pop(name)
    (case / "clinical.json").write_text(json.dumps(clinical))
    args = ["explain", "--case", str(case), "--model", str(models / "coxph"), "--top", "30"]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sorted(result["imputed"]) == ["bclc", "ecog"]
    marked = {f["name"] for f in result["top_features"] if f["imputed"]}
    assert marked == {"bclc", "ecog"}
    labels = attribution_figure(result["top_features"]).data[0].y
    assert "bclc (imputed)" in labels and "age" in labels


def test_an_out_named_for_the_other_kind_of_explanation_is_refused_before_the_work(
    models, case_folder, tmp_path, capsys
):
    """A table model's `--out map.nii.gz` held gzipped CSV (`name,attribution,imputed`) under a
    NIfTI name, exit 0, and an image model's `--out map.csv` was written as map.csv.nii.gz: each
    is refused naming what this model's explanation is written as, and nothing is written."""
    explain = ["explain", "--case", str(case_folder), "--method", "ig", "--json", "--model"]
    kinds = (
        ("coxph", "map.nii.gz", "a table of input attributions", "map.csv", "map.csv"),
        ("cnn3d", "map.csv", "a voxel map", "map", "map.nii.gz"),
    )
    for model, wrong, what, given, written in kinds:
        assert main([*explain, str(models / model), "--out", str(tmp_path / wrong)]) == 2
        error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
        assert error.startswith(f"{wrong}: this model's explanation is {what}")
        assert f"not as '{wrong.removeprefix('map')}'" in error  # '.nii.gz', not '.gz'
        assert not any(tmp_path.iterdir())
        assert main([*explain, str(models / model), "--out", str(tmp_path / given)]) == 0
        out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["out"]
        assert out == str(tmp_path / written)
        Path(out).unlink()
    assert main([*explain, str(models / "cnn3d"), "--out", str(tmp_path / "map.nrrd")]) == 0
    assert (
        sitk.ReadImage(str(tmp_path / "map.nrrd")).GetSize()
        == load_case(case_folder).image.GetSize()
    )


#: What torch's CPU allocator raised in Integrated Gradients at 448 x 448 x 96 voxels.
ALLOCATOR_FAILED = (
    "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
    "you tried to allocate 308281344 bytes. Error code 12 (Cannot allocate memory)"
)
#: What the explain command and the app say of it.
OUT_OF_RAM = (
    "Out of memory: the computer's memory (RAM) ran out (a further 294 MiB was asked for). "
    "Free memory (other programs, sessions or jobs) and run again. With an image model, ask "
    "for less: explain with Grad-CAM rather than Integrated Gradients, use a smaller "
    "volume_shape (or batch_size, to train one), or run on a machine with a GPU."
)


def test_running_out_of_memory_in_explain_is_said_not_a_traceback(
    models, case_folder, capsys, monkeypatch
):
    """Integrated Gradients of a 448 x 448 x 96 CNN ran out of memory: explain --json printed
    torch's 80-line traceback, exit 1, and no JSON line."""
    import torch

    from survival_core.models.networks import CNN3DSurv

    forward = CNN3DSurv.forward

    def allocating(self, x, tabular=None):  # scores (no gradient), fails in the gradients
        if torch.is_grad_enabled():
            raise RuntimeError(ALLOCATOR_FAILED)
        return forward(self, x, tabular)

    monkeypatch.setattr(CNN3DSurv, "forward", allocating)
    code = main(["explain", "--case", str(case_folder), "--model", str(models / "cnn3d"),
                 "--method", "ig", "--json"])  # fmt: skip
    assert code == 2
    said = capsys.readouterr()
    assert json.loads(said.out.strip().splitlines()[-1]) == {
        "error": OUT_OF_RAM,
        "kind": "MemoryError",
    }
    assert said.err.strip().splitlines() == [f"error: {OUT_OF_RAM}"]


def test_attributions_that_do_not_add_up_exactly_are_said_to_be_within_their_gap() -> None:
    """A few IG steps or a resampled map leave a gap: the Risk page's caption said 'is this
    patient's risk' of bars summing 0.0045 short of it."""
    from survival_core.explain.case import CaseExplanation

    made = {"case_id": "c", "method": "ig", "seconds": 0.1, "top_features": [], "risk": 1.0}
    said = {"completeness_delta": 0.0, "baseline_note": "the mean patient", "f_baseline": 0.25}
    exact = CaseExplanation(**made, **said, attribution_sum=0.75)
    assert exact.additivity().endswith("plus the sum of every input's attribution, +0.75, is "
                                       "this patient's risk, 1.")  # fmt: skip
    short = CaseExplanation(**made, **said, attribution_sum=0.7455)
    assert short.additivity().endswith("+0.7455, is within 0.0045 of this patient's risk, 1.")
