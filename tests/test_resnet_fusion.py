"""ResNet + clinical fusion with a discrete-time head (Sun 2023)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError
from survival_core.explain.maps import gradcam_map, spatial_layers
from survival_core.models import MODELS, load_model
from survival_core.models.image_set import ImageSet
from survival_core.models.pretrained import make_resnet
from survival_core.models.resnet_fusion import ResNetFusion
from tests.case_builders import make_case

SMALL = {
    "depth": 18,
    "widen_factor": 0.25,
    "volume_shape": (32, 32, 16),
    "patch_size": (24, 24, 12),
    "epochs": 3,
    "batch_size": 4,
    "validation_fraction": 0.0,
}
TIMES = [0.0, 100.0, 365.0, 800.0, 1460.0, 2000.0]


@pytest.fixture(scope="module")
def data():
    cases = [make_case(size=(40, 40, 12), case_id=f"R{i}") for i in range(8)]
    ids = pd.Index([c.case_id for c in cases], name="case_id")
    X = pd.DataFrame({"age": np.linspace(40, 80, 8), "albumin": np.linspace(30, 45, 8)}, index=ids)
    y = Surv.from_arrays(np.array([1, 0, 1, 1, 0, 1, 0, 1], bool), np.linspace(100, 1700, 8))
    return ImageSet.from_cases(cases), X, y


@pytest.fixture(scope="module", params=[3, 2])
def fitted(request, data):
    images, X, y = data
    return ResNetFusion(spatial_dims=request.param, **SMALL).with_images(images).fit(X, y)


def _outputs(model, X):
    return model._predict_outputs(model._matrix(X)).double().numpy()


def test_risk_and_survival_shapes_and_monotone(fitted, data):
    _, X, _ = data
    risk = fitted.predict_risk(X)
    surv = fitted.predict_survival(X, TIMES)
    assert risk.shape == (8,) and surv.shape == (8, len(TIMES))
    assert np.all((surv >= 0) & (surv <= 1)) and np.allclose(surv[:, 0], 1.0)
    assert np.all(np.diff(surv, axis=1) <= 1e-12)
    assert np.allclose(surv[:, -1], surv[:, -2])  # flat after the last edge (1460 days)
    assert fitted.network_.head.out_features == 4


def test_risk_is_the_mean_time_lost_by_the_last_edge(fitted, data):
    """The last edge minus the area under the survival curve the model draws."""
    _, X, _ = data
    times = np.linspace(0.0, 1460.0, 100_001)
    area = np.trapezoid(fitted.predict_survival(X, times), times, axis=1)
    np.testing.assert_allclose(fitted.predict_risk(X), 1460.0 - area, atol=1e-2)


def test_encoder_matches_monai_forward(fitted, data):
    """The embedding is MONAI's pooled feature: of the volume (3-D), or of every axial slice
    averaged over the slices (2-D)."""
    images, _, _ = data
    volume = torch.from_numpy(images.volumes(["R0", "R1"], fitted.volume_spec))
    encoder = fitted.network_.encoder
    with torch.no_grad():
        ours = encoder(volume)
        if fitted.spatial_dims == 3:
            reference = encoder.resnet(volume)
        else:
            slices = volume[:, 0].reshape(-1, 1, *volume.shape[3:])  # (2 * z, 1, y, x)
            reference = encoder.resnet(slices).reshape(2, volume.shape[2], -1).mean(dim=1)
    assert ours.shape == (2, encoder.features)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-6)


def test_clinical_values_change_the_risk(fitted, data):
    _, X, _ = data
    changed = X.copy()
    changed.iloc[0, 0] = 95.0
    before, after = fitted.predict_risk(X), fitted.predict_risk(changed)
    assert abs(after[0] - before[0]) > 1e-6
    np.testing.assert_allclose(after[1:], before[1:], rtol=1e-6)


def test_save_load_round_trip(fitted, data, tmp_path):
    images, X, _ = data
    assert MODELS["resnet_fusion"] is ResNetFusion
    fitted.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m").with_images(images)
    assert isinstance(loaded, ResNetFusion) and loaded.spatial_dims == fitted.spatial_dims
    np.testing.assert_array_equal(loaded.predict_risk(X), fitted.predict_risk(X))
    np.testing.assert_array_equal(
        loaded.predict_survival(X, TIMES), fitted.predict_survival(X, TIMES)
    )


def test_gradient_and_gradcam_of_the_risk(fitted, data):
    images, X, _ = data
    risk = fitted.risk_function(X.iloc[[2]])
    volume = torch.from_numpy(images.volume("R2", fitted.volume_spec))
    x = volume[None].clone().requires_grad_(True)
    value = risk(x)
    np.testing.assert_allclose(value.item(), fitted.predict_risk(X.iloc[[2]])[0], rtol=1e-5)
    value.sum().backward()
    assert x.grad.abs().sum() > 0
    fitted.network_.eval()
    assert risk.last_block is fitted.network_.last_block  # layer4, restacked for a 2-D net


def test_gradcam_at_the_last_block(fitted, data):
    """Grad-CAM of the risk equals ReLU(sum_c mean(dRisk/dA_c) A_c) of last_block's maps,
    upsampled to the input and scaled to [0, 1] (on a volume large enough for 2 x 2 maps in-plane)."""
    _, X, _ = data
    risk = fitted.risk_function(X.iloc[[2]])
    volume = torch.rand((1, 1, 32, 64, 64), generator=torch.Generator().manual_seed(0))
    kept = []
    handle = risk.last_block.register_forward_hook(lambda _m, _i, out: kept.append(out))
    try:
        value = risk(volume)
    finally:
        handle.remove()
    activation = kept[0]
    assert activation.ndim == 5 and activation.shape[3:] == (2, 2)  # z: 2 (3-D) or 32 slices
    (gradient,) = torch.autograd.grad(value.sum(), activation)
    weights = gradient.mean(dim=(2, 3, 4), keepdim=True)
    expected = torch.relu((weights * activation).sum(dim=1, keepdim=True))
    expected = torch.nn.functional.interpolate(expected, size=(32, 64, 64), mode="trilinear")[0, 0]
    cam = gradcam_map(risk, volume[0].numpy())
    fitted.network_.eval()  # gradcam_map leaves the risk module (new, so in train mode) as found
    assert cam.shape == (32, 64, 64)
    expected = expected.detach().numpy()
    np.testing.assert_allclose(cam, expected / max(expected.max(), 1e-30), atol=1e-5)


def test_grid_inference_and_no_clinical_columns(data):
    images, X, y = data
    model = ResNetFusion(**{**SMALL, "epochs": 1, "inference": "grid"}).with_images(images)
    model.fit(X.iloc[:, []], y)
    assert model.network_.clinical is None
    assert model.predict_risk(X.iloc[:, []]).shape == (8,)


def test_pretrained_weights_are_loaded_before_training(data, tmp_path):
    images, X, y = data
    torch.manual_seed(5)
    source = make_resnet(depth=18, widen_factor=0.25)
    torch.save({"state_dict": source.state_dict()}, tmp_path / "w.pt")
    params = {**SMALL, "epochs": 1, "lr": 1e-12, "pretrained": str(tmp_path / "w.pt")}
    model = ResNetFusion(**params).with_images(images).fit(X, y)
    trained = model.network_.encoder.resnet
    torch.testing.assert_close(trained.conv1.weight, source.conv1.weight, rtol=0, atol=1e-8)
    torch.testing.assert_close(trained.layer4[1].conv2.weight, source.layer4[1].conv2.weight)


def test_pretrained_mismatch_and_missing_file(data, tmp_path):
    images, X, y = data
    torch.save(make_resnet(depth=18, widen_factor=0.5).state_dict(), tmp_path / "wide.pt")
    model = ResNetFusion(**{**SMALL, "pretrained": str(tmp_path / "wide.pt")}).with_images(images)
    with pytest.raises(
        InputError, match=r"wide\.pt.*conv1\.weight: expected \(16, 1, 7, 7, 7\), found \(32"
    ):
        model.fit(X, y)
    model = ResNetFusion(**{**SMALL, "pretrained": str(tmp_path / "none.pt")}).with_images(images)
    with pytest.raises(InputError, match="none.pt does not exist"):
        model.fit(X, y)


@pytest.mark.parametrize(
    "kwargs",
    [{"depth": 34}, {"spatial_dims": 4}, {"edges": (0, 365, 365)}, {"dropout": 1.0},
     {"patch_size": (24, 24)}, {"inference": "slices"}],
)  # fmt: skip
def test_invalid_parameters(kwargs):
    with pytest.raises(ConfigError):
        ResNetFusion(**kwargs)


def test_gradcam_refuses_a_shared_activation_and_a_layer_changed_in_place(fitted, data):
    """A MONAI ResNet block's activation runs after each of its convolutions: offered, its map
    paired the second call's activation with the first call's gradient. A block's 'bn2', whose
    output the residual sum then changes in place, was offered and raised autograd's
    RuntimeError: no longer offered, and refused with the reason when asked for directly."""
    if fitted.spatial_dims != 3:
        pytest.skip("a 2-D encoder's layers give no 3-D map")
    images, X, _ = data
    risk = fitted.risk_function(X.iloc[[2]])
    volume = images.volume("R2", fitted.volume_spec)
    offered = spatial_layers(risk, volume, scope=risk.net)
    assert "encoder.resnet.act" in offered and "encoder.resnet.layer1.0" in offered
    assert "encoder.resnet.layer1.0.act" not in offered
    assert not {"encoder.resnet.bn1", "encoder.resnet.layer1.0.bn2"} & set(offered)
    block = risk.net.get_submodule("encoder.resnet.layer1.0")
    with pytest.raises(ConfigError, match=r"\(a BatchNorm3d\) has its output changed in place"):
        gradcam_map(risk, volume, layer=block.bn2)
    stem_act = risk.net.get_submodule("encoder.resnet.act")
    assert gradcam_map(risk, volume, layer=stem_act).shape == volume.shape[1:]
    assert stem_act.inplace  # MONAI's switch, undone: the cached model's behaviour is unchanged
    fitted.network_.eval()
