"""The CUDA paths: models trained on a GPU score on a CPU-only server with the same risks, and the
GPU's scoring, attributions and segmentation agree with the CPU's.

Skipped where torch sees no GPU (CI has none); `benchmarks/bench_gpu.py` times the same paths.
TF32 is left at torch's defaults (on for cuDNN convolutions, off for matrix products), as the app
runs them; the tolerances are loose against what an H200 gave (a `cnn3d` risk 7.7e-6 relative
with TF32, a U-Net's probabilities 7e-5) so that other GPUs and cuDNN versions pass too.
"""

from __future__ import annotations

import os
import sys
from functools import partial

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import torch
from sksurv.datasets import load_gbsg2
from sksurv.util import Surv

from survival_core import engine
from survival_core.evaluation import splits
from survival_core.explain.case import explain_case
from survival_core.features.deep import load_network, patch_features, tumour_patch
from survival_core.features.segmentation import (
    SegmentationModel,
    UNetConfig,
    UNetTraining,
    segmentation_input,
    train_unet,
)
from survival_core.io.case_loader import load_case
from survival_core.io.manifest import cohort_cases
from survival_core.models import is_network, load_model, make_model
from survival_core.models.pretrained import make_resnet
from survival_core.models.scoring import load_scoring_model
from survival_core.workflows.crossval import cross_validate
from survival_core.workflows.scoring import score_case
from survival_core.workflows.training import train_model
from tests.case_builders import make_case

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

TABULAR = ["deepsurv", "vaesurv", "discrete"]
TIMES = [365.0, 730.0, 1500.0]
TINY_CNN = {
    "channels": [4, 8],
    "fc": 8,
    "batch_size": 4,
    "volume_shape": [32, 32, 12],
    "patch_size": [24, 24, 8],
    "validation_fraction": 0.0,
}
#: relative tolerance of a convolutional network's risk on CPU vs GPU (TF32 convolutions)
CONV_RTOL = 5e-3


@pytest.fixture()
def cpu_only(monkeypatch: pytest.MonkeyPatch):
    """This process seen as a CPU-only server (the loaders ask ``torch.cuda.is_available``)."""

    def hide() -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    return hide


@pytest.fixture(scope="module")
def gbsg2() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    X, y = load_gbsg2()
    return X.iloc[:400], Surv.from_arrays(y["cens"], y["time"])[:400], X.iloc[400:500]


@pytest.mark.parametrize("name", TABULAR)
def test_a_tabular_network_trained_on_the_gpu_scores_alike_on_a_cpu_only_server(
    name: str, gbsg2, tmp_path, cpu_only
) -> None:
    X, y, X_new = gbsg2
    model = make_model(name, epochs=20, device="cuda", seed=0).fit(X, y)
    assert next(model.network_.parameters()).is_cuda
    risk, survival = model.predict_risk(X_new), model.predict_survival(X_new, TIMES)
    model.save(tmp_path / "m")
    on_gpu = load_model(tmp_path / "m")
    assert on_gpu.device_.type == "cuda"
    np.testing.assert_array_equal(on_gpu.predict_risk(X_new), risk)
    cpu_only()
    on_cpu = load_model(tmp_path / "m")
    assert on_cpu.device_.type == "cpu"
    np.testing.assert_allclose(on_cpu.predict_risk(X_new), risk, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(on_cpu.predict_survival(X_new, TIMES), survival, atol=1e-5)


def test_a_seeded_gpu_fit_is_repeatable(gbsg2) -> None:
    X, y, X_new = gbsg2
    first, second = (
        make_model("deepsurv", epochs=20, device="cuda", seed=3).fit(X, y).predict_risk(X_new)
        for _ in range(2)
    )
    np.testing.assert_allclose(first, second, rtol=1e-4, atol=1e-6)


def test_a_cnn_trained_on_the_gpu_scores_and_explains_alike_on_a_cpu_only_server(
    small_cohort, tmp_path, cpu_only
) -> None:
    folder = tmp_path / "cnn"
    params = {**TINY_CNN, "epochs": 3, "device": "cuda", "seed": 0}
    train_model([small_cohort / "clinical.csv"], "cnn3d", params, folder, cohort=small_cohort)
    case = load_case(next(iter(cohort_cases(small_cohort)))[1])
    gpu = load_scoring_model(folder)
    assert next(gpu.model.network_.parameters()).is_cuda
    risk = score_case(case, gpu).risk
    gpu_ig = explain_case(case, gpu, "ig", n_steps=16).map
    gpu_cam = explain_case(case, gpu, "gradcam").map
    cpu_only()
    cpu = load_scoring_model(folder)
    assert cpu.model.device_.type == "cpu"
    assert score_case(case, cpu).risk == pytest.approx(risk, rel=CONV_RTOL)
    cpu_maps = {
        "ig": explain_case(case, cpu, "ig", n_steps=16).map,
        "gradcam": explain_case(case, cpu, "gradcam").map,
    }
    for method, gpu_map in (("ig", gpu_ig), ("gradcam", gpu_cam)):
        a, b = sitk.GetArrayFromImage(cpu_maps[method]), sitk.GetArrayFromImage(gpu_map)
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= 1e-2 * np.abs(a).max(), method


def test_a_unet_trained_on_the_gpu_segments_alike_on_the_cpu(tmp_path) -> None:
    config = UNetConfig(slice_size=32, n_slices=12)
    cases = [
        make_case(size=(40, 40, 12), spacing=(1.0, 1.0, 2.5), case_id=f"U{i}") for i in range(3)
    ]
    inputs = [segmentation_input(case, config) for case in cases]
    settings = UNetTraining(epochs=3, batch_size=8, seed=0, device="cuda")
    trained = train_unet(inputs, config, settings)
    assert trained.device.type == "cuda"
    gpu = trained.forward_slices(inputs[0].image)
    trained.save(tmp_path / "unet")
    cpu = SegmentationModel.load(tmp_path / "unet", device="cpu")
    assert cpu.device.type == "cpu"
    np.testing.assert_allclose(cpu.forward_slices(inputs[0].image), gpu, atol=5e-3)


def test_deep_features_of_a_checkpoint_saved_on_a_gpu_agree_on_a_cpu_only_server(
    tmp_path, cpu_only
) -> None:
    """A ResNet checkpoint saved from a GPU (its tensors on CUDA, as a workstation saves it) loads
    on a CPU-only server, and its features there (the embedding and a layer's) equal the GPU's."""
    torch.manual_seed(3)
    path = tmp_path / "resnet18.pth"
    torch.save(make_resnet(depth=18, widen_factor=0.25).cuda().state_dict(), path)
    case = make_case(size=(40, 40, 12), case_id="W1")
    geometry = {"volume_shape": (32, 32, 16), "patch_size": (16, 16, 8)}

    def features() -> tuple[torch.device, list[np.ndarray]]:
        network = load_network(path, **geometry)
        patch = tumour_patch(case, network.spec, geometry["patch_size"])
        layers = (None, "resnet.layer2")
        return network.device, [patch_features(network, patch, layer) for layer in layers]

    gpu_device, on_gpu = features()
    assert gpu_device.type == "cuda"
    cpu_only()
    cpu_device, on_cpu = features()
    assert cpu_device.type == "cpu"
    for cpu, gpu in zip(on_cpu, on_gpu, strict=True):
        np.testing.assert_allclose(cpu, gpu, rtol=CONV_RTOL, atol=1e-5 * np.abs(cpu).max())


def _fit_where(data: tuple[pd.DataFrame, np.ndarray]) -> tuple[str, str]:
    """In a Ray task: the GPUs Ray gave it and the device a network fitted there used."""
    X, y = data
    model = make_model("deepsurv", epochs=2, seed=0).fit(X, y)  # device "auto", as in a run
    return os.environ.get("CUDA_VISIBLE_DEVICES", "unset"), model.device_.type


def test_ray_folds_of_a_network_get_the_gpu_and_equal_in_process_folds(gbsg2) -> None:
    """A local Ray on a GPU machine: a network's folds ask for the GPU (as ``train`` asks them),
    get it and fit there; a task that asks for none sees none (it fits on the CPU); the
    cross-validation equals the same folds run in this process on the GPU."""
    pytest.importorskip("ray")
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests.*
    X, y, _ = gbsg2
    engine.connect(num_cpus=2)
    try:
        assert engine.cluster_gpus() >= 1
        assert [engine.gpus_per_task(is_network(n)) for n in ("deepsurv", "coxph")] == [1, 0]
        placed = list(engine.fold_map(_fit_where, [(X, y)] * 2, num_gpus=1))
        assert all(visible not in ("", "unset") and device == "cuda" for visible, device in placed)
        assert list(engine.fold_map(_fit_where, [(X, y)], num_gpus=0)) == [("", "cpu")]
        folds = splits.nested_cv(y["event"], n_repeats=1, n_folds=3, seed=3)
        factory = partial(make_model, "deepsurv", epochs=20, seed=0)
        run = partial(cross_validate, X, y, factory, folds, n_bootstrap=20)
        in_process = run(map_folds=map)
        on_ray = run(map_folds=partial(engine.fold_map, num_gpus=1))
    finally:
        engine.shutdown()
    np.testing.assert_allclose(on_ray.oof["risk"], in_process.oof["risk"], rtol=1e-4, atol=1e-6)
    assert on_ray.summary["c_index"] == pytest.approx(in_process.summary["c_index"], abs=1e-4)
