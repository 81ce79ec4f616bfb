"""Image models: volumes by case id, patch training, volume/grid inference, fusion, persistence."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import torch
from sksurv.util import Surv

from survival_core.case import Case
from survival_core.cli.main import main
from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.concordance import harrell_c_index
from survival_core.io.case_loader import load_case
from survival_core.io.tables import load_model_table
from survival_core.models import load_model, make_model
from survival_core.models.fusion import FusionModel, is_clinical
from survival_core.models.image_base import ImageSurvivalModel, crop_batch
from survival_core.models.image_data import extract_patches, patch_grid
from survival_core.models.image_set import ImageSet, VolumeSpec
from survival_core.models.scoring import load_scoring_model
from survival_core.workflows.scoring import score_case
from tests.case_builders import make_case

TINY = {"volume_shape": [32, 32, 12], "patch_size": [24, 24, 8]}
TINY_CNN = {"channels": [4, 8], "fc": 8, "batch_size": 4, **TINY}


def _case_with_tumour_hu(case_id: str, hu: float) -> Case:
    case = make_case(size=(40, 40, 12), spacing=(1.0, 1.0, 2.5), case_id=case_id)
    pixels = sitk.GetArrayFromImage(case.image)
    pixels[sitk.GetArrayFromImage(case.masks["gtv"]).astype(bool)] = hu
    image = sitk.GetImageFromArray(pixels)
    image.CopyInformation(case.image)
    return dataclasses.replace(case, image=image)


@pytest.fixture(scope="module")
def bright_tumours() -> tuple[ImageSet, pd.DataFrame, np.ndarray]:
    """24 cases whose survival time falls as their tumour gets brighter (no noise)."""
    hu = np.linspace(70.0, 190.0, 24)
    cases = [_case_with_tumour_hu(f"B{i:02d}", h) for i, h in enumerate(hu)]
    time = 3000.0 - 12.0 * (hu - 70.0)
    y = Surv.from_arrays(np.ones(24, bool), time)
    X = pd.DataFrame(
        {"age": np.linspace(40, 80, 24)}, index=pd.Index([c.case_id for c in cases], name="case_id")
    )
    return ImageSet.from_cases(cases), X, y


@pytest.fixture(scope="module")
def cohort_table(small_cohort):
    table = load_model_table([small_cohort / "clinical.csv"])
    return table, ImageSet.from_cohort(small_cohort)


# -- volumes ------------------------------------------------------------------------------------


def test_volume_spec_checks_and_keys():
    assert VolumeSpec((32, 32, 12)).key != VolumeSpec((32, 32, 12), window="portal").key
    with pytest.raises(ConfigError, match="Volume shape"):
        VolumeSpec((32, 32))
    with pytest.raises(ConfigError, match="margin_mm"):
        VolumeSpec(margin_mm=-1)


def test_image_set_caches_volumes_of_folders(cohort_table, data_folder):
    table, images = cohort_table
    spec = VolumeSpec((32, 32, 12))
    assert set(table.case_ids) <= set(images.case_ids)
    volumes = images.volumes(table.case_ids[:2], spec)
    assert volumes.shape == (2, 1, 12, 32, 32) and volumes.dtype == np.float32
    assert volumes.min() >= 0.0 and volumes.max() <= 1.0
    cached = list((data_folder / "cache" / "volumes" / spec.key).glob("*.npy"))
    assert len(cached) >= 2
    # the cached float16 volume equals a fresh computation from the loaded case
    case = load_case(images.reads[table.case_ids[0]].folder)
    fresh = ImageSet.from_cases([case]).volume(case.case_id, spec)
    np.testing.assert_allclose(volumes[0], fresh, atol=1e-3)


def test_a_cohort_of_shared_images_and_masks_folders_gives_each_case_its_own_volume(
    small_cohort, tmp_path, data_folder
):
    """Every patient's files in one images/ and one masks/ folder, as the manifest names them:
    each case was read as that whole folder ('No DICOM files found'), under one cache key for
    all of them (one volume for every patient)."""
    import csv
    import shutil

    flat = tmp_path / "flat"
    (flat / "images").mkdir(parents=True)
    (flat / "masks").mkdir()
    with open(small_cohort / "manifest.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["format"] == "nifti"][:3]
    for row in rows:
        case_id = row["case_id"]
        for role, folder in (("image", "images"), ("gtv_mask", "masks"), ("organ_mask", "masks")):
            name = f"{folder}/{case_id}_{role}.nii.gz"
            shutil.copy(small_cohort / row[role], flat / name)
            row[role] = name
    with open(flat / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    spec = VolumeSpec((32, 32, 12))
    ids = [row["case_id"] for row in rows]
    volumes = ImageSet.from_cohort(flat).volumes(ids, spec)
    alone = ImageSet.from_cohort(small_cohort).volumes(ids, spec)
    np.testing.assert_allclose(volumes, alone, atol=1e-3)
    assert not np.allclose(volumes[0], volumes[1])


def test_image_set_names_every_case_it_cannot_read_once(small_cohort, tmp_path):
    """Two single-slice NIfTI cases: training said 'Case X: Case X is a single slice' of the
    first alone, and the next run stopped at the second."""
    import shutil

    cohort = tmp_path / "cohort"
    shutil.copytree(small_cohort, cohort)
    manifest = pd.read_csv(cohort / "manifest.csv")
    flat = list(manifest.loc[manifest["format"] != "dicom", "case_id"][:2])
    for case_id in flat:
        folder = cohort / "cases" / case_id
        z = int(
            np.median(np.nonzero(sitk.GetArrayFromImage(sitk.ReadImage(folder / "gtv.nii.gz")))[0])
        )
        for path in folder.glob("*.nii.gz"):
            sitk.WriteImage(sitk.ReadImage(str(path))[:, :, z : z + 1], str(path))
    images = ImageSet.from_cohort(cohort)
    with pytest.raises(InputError) as refused:
        images.prepare(
            list(manifest["case_id"]), VolumeSpec(tuple(TINY["volume_shape"])), workers=1
        )
    said = str(refused.value)
    assert said.startswith("2 case(s) cannot be read")
    for case_id in flat:
        assert said.count(case_id) == 1 and f"Case {case_id} is a single slice" in said


def test_image_set_names_cases_without_images(cohort_table):
    _, images = cohort_table
    with pytest.raises(InputError, match="NOPE-1"):
        images.volumes(["NOPE-1"], VolumeSpec((32, 32, 12)))


def test_crop_batch_matches_numpy_patches_with_padding():
    rng = np.random.default_rng(0)
    volumes = rng.random((3, 1, 6, 10, 9)).astype(np.float32)
    starts = np.array([[0, 0, 0], [0, 3, 1], [0, 2, 0]])
    size = (8, 7, 8)  # x, y, z: z (8) exceeds the volume's 6 slices -> zero padding
    got = crop_batch(torch.from_numpy(volumes), starts, size[::-1]).numpy()
    for i in range(3):
        np.testing.assert_array_equal(
            got[i], extract_patches(volumes[i], starts[i : i + 1], size)[0]
        )


# -- the CNN --------------------------------------------------------------------------------------


def test_cnn3d_learns_a_risk_written_in_the_image(bright_tumours):
    images, X, y = bright_tumours
    model = make_model(
        "cnn3d", **TINY_CNN, epochs=40, lr=3e-3, validation_fraction=0.0, dropout=0.0
    ).with_images(images)
    model.fit(X, y)
    assert harrell_c_index(y, model.predict_risk(X)) > 0.8
    assert model.history_["train"][-1] < model.history_["train"][0]


def test_cnn3d_reads_no_table_column_and_needs_images(bright_tumours):
    images, X, y = bright_tumours
    with pytest.raises(ConfigError, match="--cohort"):
        make_model("cnn3d", **TINY_CNN, epochs=1).fit(X, y)
    model = make_model("cnn3d", **TINY_CNN, epochs=1).with_images(images).fit(X, y)
    assert model.preprocessor_.input_schema_ == [] and model.features_used_ == []


def test_cnn3d_save_load_and_explained_function_match_predictions(bright_tumours, tmp_path):
    images, X, y = bright_tumours
    model = make_model("cnn3d", **TINY_CNN, epochs=2).with_images(images).fit(X, y)
    # the Cox loss gives the risk head's bias no gradient but rounding's (which Adam scaled to
    # full steps: risks shifted with the rounding, tests/test_models.py): held at 0
    assert model.network_.head.bias.tolist() == [0.0]
    risk = model.predict_risk(X)
    survival = model.predict_survival(X, [500, 1500, 2500])
    assert survival.shape == (24, 3) and np.all(np.diff(survival, axis=1) <= 1e-12)
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m").with_images(images)
    np.testing.assert_array_equal(loaded.predict_risk(X), risk)
    case = images.cases["B03"]
    volume, _ = model.case_input(case)
    with torch.no_grad():
        explained = model.risk_function(X.loc[["B03"]])(torch.as_tensor(volume)[None])
    assert explained.item() == pytest.approx(risk[3], abs=1e-5)


def test_grid_inference_is_the_mean_over_the_patch_grid(bright_tumours):
    images, X, y = bright_tumours
    model = make_model("cnn3d", **TINY_CNN, epochs=1, inference="grid").with_images(images)
    model.fit(X, y)
    volume = images.volume("B05", model.volume_spec)
    with torch.no_grad():
        patches = torch.as_tensor(patch_grid(volume, model.patch_size))
        expected = model.network_(patches).mean().item()
    assert len(patches) > 1
    assert model.predict_risk(X.loc[["B05"]])[0] == pytest.approx(expected, abs=1e-5)


def test_cnn3d_rejects_bad_geometry():
    with pytest.raises(ConfigError, match="inference"):
        make_model("cnn3d", inference="slices")
    with pytest.raises(ConfigError, match="Patch size"):
        make_model("cnn3d", patch_size=[80, 80])
    # a patch larger than the network input was padded silently (mostly zeros to train on)
    with pytest.raises(ConfigError, match=r"larger than volume_shape \(16, 16, 8\) along x, y, z"):
        make_model("cnn3d", volume_shape=[16, 16, 8], patch_size=[64, 64, 24])
    with pytest.raises(ConfigError, match="with_images"):
        make_model("cnn3d").with_images({"B00": None})


# -- fusion ------------------------------------------------------------------------------------------


def _fusion_table(X: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = X.copy()
    for k in range(4):
        frame[f"original_firstorder_f{k}"] = rng.normal(size=len(frame))
    return frame


FUSION = {
    "clinical": {"epochs": 3, "latent_dim": 2},
    "radiomics": {"epochs": 3, "latent_dim": 2},
    "cnn": {"channels": [4, 8], "fc": 8, "epochs": 2, "batch_size": 4},
    "epochs": 2,
    "batch_size": 4,
    **TINY,
}


def test_fusion_splits_columns_and_fine_tunes_with_two_learning_rates(bright_tumours, monkeypatch):
    images, X, y = bright_tumours
    calls = []
    original = ImageSurvivalModel._train_images

    def spy(self, net, data, val_data, groups, generator, epochs=None):
        calls.append((type(net).__name__, [(g.get("lr"), len(g["params"])) for g in groups]))
        return original(self, net, data, val_data, groups, generator, epochs)

    monkeypatch.setattr(ImageSurvivalModel, "_train_images", spy)
    model = make_model("fusion", **FUSION).with_images(images).fit(_fusion_table(X), y)
    net = model.network_
    assert net.clinical_columns.tolist() == [0]  # 'age'
    assert net.radiomics_columns.tolist() == [1, 2, 3, 4]
    assert [name for name, _ in calls] == ["CNN3DSurv", "FusionNet"]
    fine_tune = calls[-1][1]
    assert fine_tune == [(1e-4, len(net.pretrained_parameters())), (1e-2, 2)]
    assert set(model.history_) >= {"clinical", "radiomics", "cnn", "fine_tune"}
    # a CV fold reports the fine-tuning's epochs, the stage whose weights are kept
    assert model.epochs_kept() == {
        "best_epoch": model.history_["fine_tune"]["best_epoch"],
        "epochs_trained": len(model.history_["fine_tune"]["train"]),
    }


def test_fusion_round_trip_and_clear_errors(bright_tumours, tmp_path):
    images, X, y = bright_tumours
    table = _fusion_table(X)
    model = make_model("fusion", **FUSION).with_images(images).fit(table, y)
    assert model.network_.head.bias.tolist() == [0.0]  # its Cox head's, as cnn3d's
    risk = model.predict_risk(table)
    model.save(tmp_path / "fusion")
    loaded = load_model(tmp_path / "fusion").with_images(images)
    np.testing.assert_allclose(loaded.predict_risk(table), risk, atol=1e-6)
    assert isinstance(loaded, FusionModel)
    with pytest.raises(ConfigError, match="both clinical and radiomics"):
        make_model("fusion", **FUSION).with_images(images).fit(X, y)
    with pytest.raises(ConfigError, match="fusion model itself"):
        make_model("fusion", cnn={"volume_shape": [8, 8, 8]})
    with pytest.raises(ConfigError, match="branch .clinical. has no parameter"):
        make_model("fusion", clinical={"no_such": 1})


@pytest.mark.parametrize(
    "name, expected",
    [
        ("age", True),
        ("sex=M", True),
        ("bclc=C", True),
        ("T Stage=T2", True),  # an own cohort's variables are clinical too
        ("dose_gy", True),
        ("original_glcm_Contrast", False),
        ("wavelet-LLH_glszm_ZoneEntropy", False),
        ("gtv__lloydmax8__glcm__Id", False),
        ("deep_0012", False),
        ("dsfr_03", False),
    ],
)
def test_is_clinical(name, expected):
    assert is_clinical(name) is expected


# -- commands ---------------------------------------------------------------------------------------


def test_cv_fit_and_score_an_image_model_from_a_cohort(small_cohort, tmp_path, capsys):
    params = [f"--param={k}={json.dumps(v)}" for k, v in {**TINY_CNN, "epochs": 1}.items()]
    code = main(
        ["cv", "--cohort", str(small_cohort), "--model", "cnn3d", *params,
         "--protocol", "leave_one_out", "--bootstrap", "20", "--json"]
    )  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["model"] == "cnn3d" and summary["n"] == 6
    out = tmp_path / "cnn"
    assert main(["fit", "--cohort", str(small_cohort), "--model", "cnn3d", *params,
                 "--out", str(out), "--json"]) == 0  # fmt: skip
    capsys.readouterr()
    case_folder = sorted((small_cohort / "cases").iterdir())[0]
    assert main(["score", "--case", str(case_folder), "--model", str(out), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    loaded = load_scoring_model(out)
    case = load_case(case_folder)
    assert scored["risk"] == pytest.approx(score_case(case, loaded).risk)
    assert scored["imputed"] == []
    assert loaded.model.images is None  # scoring never attaches a case to the shared model


def test_cv_and_fit_list_the_cases_whose_ct_loaded_with_warnings(
    shared_data, data_folder, tmp_path, capsys
):
    """Real lung CTs, one case's GTV file holding label 2 alone (taken as the GTV with a
    warning): `cv` and `fit` of an image model said nothing of it (no note, no n_warned, no
    table), and the volume cache kept no warning, so no later run could. They list the case as
    a run does (load_warnings.csv, n_warned, the note), from cached volumes too; a volume cached
    before its warnings were kept is read again, not taken as loaded without any."""
    from tests.real_cohorts import NODES_TAKEN, lungs_with_nodes

    cohort = lungs_with_nodes(shared_data, tmp_path / "lungs")
    params = [f"--param={k}={json.dumps(v)}" for k, v in {**TINY_CNN, "epochs": 1}.items()]
    out = tmp_path / "cv"
    cv = ["cv", "--cohort", str(cohort), "--model", "cnn3d", *params, "--out", str(out),
          "--protocol", "nested_cv", "--repeats", "1", "--folds", "2", "--bootstrap", "20",
          "--json"]  # fmt: skip
    said = "1 case(s) loaded with warnings (their features may rest on a guess, such as which "
    kept = data_folder / "cache" / "volumes"
    for how in ("read", "cached", "cached without warnings"):
        if how == "cached without warnings":  # as volumes cached by an earlier version
            for path in kept.glob("*/*.warnings.json"):
                path.unlink()
        assert main(cv) == 0
        captured = capsys.readouterr()
        result = json.loads(captured.out.splitlines()[-1])
        note = f"{said}structure is the GTV): see {out / 'load_warnings.csv'}."
        assert result["n_warned"] == 1 and note in result["notes"], how  # stderr's note too
        assert json.loads((out / "summary.json").read_text())["n_warned"] == 1
        listed = pd.read_csv(out / "load_warnings.csv")
        assert listed["case_id"].tolist() == ["nodes"], how
        assert listed["warning"].iloc[0].startswith(NODES_TAKEN)
        assert listed["table"].tolist() == ["CT volumes"]
        assert f"note: {note}" in captured.err
    assert len(list(kept.glob("*/*.warnings.json"))) == 5  # each case's kept again
    model = tmp_path / "cnn"
    assert main(["fit", "--cohort", str(cohort), "--model", "cnn3d", *params,
                 "--out", str(model), "--json"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    result = json.loads(captured.out.splitlines()[-1])
    note = f"{said}structure is the GTV): see {model / 'load_warnings.csv'}."
    assert result["n_warned"] == 1 and note in result["notes"]
    assert f"note: {note}" in captured.err
    assert pd.read_csv(model / "load_warnings.csv")["case_id"].tolist() == ["nodes"]


def test_explaining_a_fusion_model_names_the_clinical_inputs_it_imputed(
    small_cohort, tmp_path, capsys
):
    """A ResNet-fusion case without its clinical values: `score` listed every clinical input as
    imputed, `explain` of the same risk said `"imputed": []`; and `explain` carries the score's
    model and cautions (it said nothing of the typical clinical values read)."""
    import shutil

    small = {"depth": 18, "widen_factor": 0.25, "epochs": 1, "batch_size": 4, **TINY}
    params = [f"--param={k}={json.dumps(v)}" for k, v in small.items()]
    out = tmp_path / "fusion"
    assert main(["fit", "--table", str(small_cohort / "clinical.csv"), "--cohort",
                 str(small_cohort), "--features", "^(albumin|age)$", "--model", "resnet_fusion",
                 *params, "--out", str(out), "--json"]) == 0  # fmt: skip
    case_folder = tmp_path / "case"
    shutil.copytree(sorted((small_cohort / "cases").iterdir())[0], case_folder)
    (case_folder / "clinical.json").unlink()
    capsys.readouterr()
    assert main(["score", "--case", str(case_folder), "--model", str(out), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    argv = ["explain", "--case", str(case_folder), "--model", str(out), "--method", "gradcam"]
    assert main([*argv, "--json"]) == 0
    explained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sorted(scored["imputed"]) == ["age", "albumin"]
    assert sorted(explained["imputed"]) == ["age", "albumin"]
    assert explained["risk"] == pytest.approx(scored["risk"])
    assert explained["model"] == scored["model"] == "fusion"
    assert explained["cautions"] == scored["cautions"]
    assert "None of model fusion's 2 clinical variable(s)" in explained["cautions"][0]


def test_image_model_without_cohort_is_a_message(small_cohort, capsys):
    code = main(["cv", "--table", str(small_cohort / "clinical.csv"), "--model", "cnn3d"])
    assert code == 2
    assert "--cohort" in capsys.readouterr().err


def test_an_mr_cohort_cannot_train_an_image_model(tmp_path):
    """The networks read CT through an HU window and scoring refuses MR: an MR cohort's volumes
    (NIfTI ones carry no modality; its manifest does) used to train one read as if in HU."""
    from survival_core.synthetic.generate import generate_cohort

    cohort = tmp_path / "mr"
    generate_cohort(cohort, n=4, seed=2, workers=1, modality="MR")
    table = load_model_table([cohort / "clinical.csv"])
    model = make_model("cnn3d", **TINY_CNN, epochs=1).with_images(ImageSet.from_cohort(cohort))
    with pytest.raises(InputError, match=r"HU window; \d case\(s\) are MR"):
        model.fit(table.X.iloc[:, []], table.y)


def test_train_refuses_an_image_model_on_an_mr_cohort_before_the_run(tmp_path, capsys):
    """``train`` used to build its images without the manifest's modalities, so a NIfTI MR
    cohort trained a ``cnn3d`` as if in HU; now it is refused before any run is recorded."""
    import yaml

    from survival_core.runs.store import RunStore
    from survival_core.synthetic.generate import generate_cohort

    cohort = tmp_path / "mr"
    generate_cohort(cohort, n=4, seed=2, workers=1, modality="MR")
    config = {
        "name": "mr-cnn",
        "cohort": str(cohort),
        "model": {"name": "cnn3d", "params": {**TINY_CNN, "epochs": 1}},
        "features": {"clinical": False},
        "protocol": {"name": "nested_cv", "repeats": 1, "folds": 2},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert re.search(r"HU window; 4 case\(s\) are MR", err), err
    assert RunStore().list_runs("mr-cnn").empty
