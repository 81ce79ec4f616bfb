"""Voxel attribution maps of the 3-D CNN: network grid, Grad-CAM, IG, geometry, NIfTI, enrichment."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from torch import nn

from survival_core.errors import ConfigError, GeometryError
from survival_core.explain.maps import (
    enrichment,
    gradcam_map,
    integrated_gradients_map,
    reference_box,
    save_map,
    to_original_geometry,
)
from survival_core.models.image_data import case_volume, network_input
from survival_core.models.networks import CNN3DSurv
from survival_core.preprocess.resample import Grid, resample_mask_onto
from survival_core.preprocess.roi import bounding_box, crop_to_roi, resize_to_shape
from tests.case_builders import make_case

SHAPE = (48, 48, 24)  # (x, y, z)
ZYX = SHAPE[::-1]


def tiny_net(seed: int = 0) -> CNN3DSurv:
    torch.manual_seed(seed)
    return CNN3DSurv(channels=(4, 8), fc=8)


class RegionNet(nn.Module):
    """Risk = mean over a fixed region of ReLU(1x1x1 conv) of the input: 1.5 x mean intensity there.

    The region gates the input before ``last_block``, so both Grad-CAM and IG can only point
    inside it; IG's exact answer is 1.5 x intensity / region size in the region, 0 elsewhere.
    """

    def __init__(self, region_zyx: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("region", torch.as_tensor(region_zyx, dtype=torch.float32)[None, None])
        conv = nn.Conv3d(1, 2, kernel_size=1, bias=False)
        with torch.no_grad():
            conv.weight.copy_(torch.tensor([1.0, 0.5]).reshape(2, 1, 1, 1, 1))
        self.last_block = nn.Sequential(conv, nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.last_block(x * self.region)
        return features.sum(dim=(1, 2, 3, 4)) / self.region.sum()


# --- network_input ---------------------------------------------------------------------------


def test_network_input_matches_case_volume_and_resized_grid() -> None:
    case = make_case()
    volume, reference = network_input(case, SHAPE)
    np.testing.assert_array_equal(volume, case_volume(case, SHAPE))
    assert volume.shape == (1, *ZYX) and volume.dtype == np.float32
    image, _ = crop_to_roi(case.image, {"organ": case.masks["organ"]}, "organ", 10.0)
    resized, _ = resize_to_shape(image, SHAPE)
    assert Grid.of(reference) == Grid.of(resized)
    assert reference.GetSize() == SHAPE


# --- Grad-CAM ----------------------------------------------------------------------------------


def test_gradcam_shape_range_and_restores_net() -> None:
    case = make_case()
    volume, _ = network_input(case, SHAPE)
    net = tiny_net()
    net.train()
    cam = gradcam_map(net, volume)
    assert cam.shape == ZYX and cam.dtype == np.float32
    assert np.all(np.isfinite(cam)) and cam.min() >= 0.0 and cam.max() <= 1.0
    assert cam.max() == pytest.approx(1.0)
    assert net.training and all(p.requires_grad for p in net.parameters())
    assert all(p.grad is None for p in net.parameters())
    assert not net.last_block._forward_hooks and not net.last_block._backward_hooks  # removed
    np.testing.assert_array_equal(gradcam_map(net, volume), cam)  # repeatable
    # an explicit layer works too
    cam_first = gradcam_map(net, volume, layer=net.blocks[0])
    assert cam_first.shape == ZYX and np.all(np.isfinite(cam_first))


def test_gradcam_needs_a_layer() -> None:
    net = nn.Sequential(nn.Conv3d(1, 1, 1), nn.Flatten(), nn.LazyLinear(1))
    with pytest.raises(ConfigError, match="last_block"):
        gradcam_map(net, np.zeros((1, 4, 4, 4), np.float32))


# --- Integrated Gradients ----------------------------------------------------------------------


def test_integrated_gradients_completeness_on_tiny_net() -> None:
    case = make_case()
    volume, _ = network_input(case, SHAPE)
    net = tiny_net(1)
    attr, delta, steps = integrated_gradients_map(net, volume, internal_batch_size=16)
    assert attr.shape == ZYX and attr.dtype == np.float32 and np.all(np.isfinite(attr))
    assert delta <= 0.01 and steps in (12, 36, 108, 324)
    net.eval()
    with torch.no_grad():
        x = torch.as_tensor(volume)[None]
        difference = float(net(x) - net(torch.zeros_like(x)))
    assert attr.sum(dtype=np.float64) == pytest.approx(difference, rel=0.011, abs=1e-6)
    assert all(p.requires_grad for p in net.parameters())


def test_signed_gradcam_keeps_the_direction_classic_gradcam_drops() -> None:
    case = make_case()
    volume, reference = network_input(case, SHAPE)
    region = sitk.GetArrayFromImage(resample_mask_onto(case.masks["gtv"], Grid.of(reference)))
    raises = RegionNet(region)
    np.testing.assert_allclose(
        gradcam_map(raises, volume, signed=True), gradcam_map(raises, volume), atol=1e-6
    )
    lowers = RegionNet(region)
    with torch.no_grad():
        lowers.last_block[0].weight.neg_()  # the region now lowers the risk (through the ReLU)
    lowers.last_block[1] = nn.Identity()  # keep the sign through the block
    classic, signed = gradcam_map(lowers, volume), gradcam_map(lowers, volume, signed=True)
    assert not classic.any()  # nothing raises the risk: classic Grad-CAM is empty
    assert signed.min() == pytest.approx(-1.0) and signed.max() <= 0
    assert enrichment(np.abs(signed), region) > 5


def test_integrated_gradients_equal_captum_midpoints_and_reuse_evaluations() -> None:
    from captum.attr import IntegratedGradients

    volume = np.random.default_rng(1).random((1, 8, 12, 12), dtype=np.float32)
    net = tiny_net(3).eval()
    attr, _, steps = integrated_gradients_map(net, volume, n_steps=12, internal_batch_size=5)
    x = torch.as_tensor(volume)[None]
    expected = IntegratedGradients(lambda v: net(v).reshape(-1)).attribute(
        x, baselines=torch.zeros_like(x), n_steps=steps, method="riemann_middle"
    )
    np.testing.assert_allclose(attr, expected[0].sum(0).numpy(), rtol=1e-4, atol=1e-7)
    # automatic steps: 12 midpoints, then only the new two thirds at each tripling
    calls = []
    original = net.forward

    def counting(v):
        calls.append(v.shape[0])
        return original(v)

    net.forward = counting
    _, delta, steps = integrated_gradients_map(net, volume, internal_batch_size=64)
    evaluated = sum(calls) - 2  # minus f(x) and f(baseline)
    assert evaluated == steps and (delta <= 0.01 or steps == 324)


def test_integrated_gradients_fixed_steps_and_baseline_checks() -> None:
    volume = np.random.default_rng(0).random((1, 8, 12, 12), dtype=np.float32)
    net = tiny_net(2)
    _, _, steps = integrated_gradients_map(net, volume, n_steps=5)
    assert steps == 5
    attr, _, _ = integrated_gradients_map(net, volume, baseline=volume, n_steps=4)
    np.testing.assert_allclose(attr, 0.0, atol=1e-7)  # x == baseline: nothing to attribute
    with pytest.raises(ConfigError, match="baseline"):
        integrated_gradients_map(net, volume, baseline=np.zeros((1, 4, 4, 4), np.float32))
    with pytest.raises(ConfigError, match="n_steps"):
        integrated_gradients_map(net, volume, n_steps=0)


# --- geometry and NIfTI ------------------------------------------------------------------------


def test_to_original_geometry_grid_and_crop_box() -> None:
    case = make_case(size=(64, 56, 24))  # liver box + 2 mm leaves a border on every side in x, y
    volume, reference = network_input(case, SHAPE, margin_mm=2.0)
    ones = to_original_geometry(np.ones(ZYX, np.float32), reference, case)
    assert ones.GetSize() == case.image.GetSize()
    assert ones.GetSpacing() == case.image.GetSpacing()
    assert ones.GetOrigin() == case.image.GetOrigin()
    assert ones.GetDirection() == case.image.GetDirection()
    start, size = bounding_box(case.masks["organ"], 2.0)
    box = tuple(slice(a, a + n) for a, n in zip(start[::-1], size[::-1], strict=True))
    values = sitk.GetArrayFromImage(ones)
    inside = np.zeros(values.shape, bool)
    inside[box] = True
    assert not inside.all()  # the test means something: there is an outside
    np.testing.assert_allclose(values[inside], 1.0, atol=1e-5)  # whole box covered
    assert np.all(values[~inside] == 0.0)
    cam = to_original_geometry(gradcam_map(tiny_net(), volume), reference, case)
    cam_values = sitk.GetArrayFromImage(cam)
    assert np.all(cam_values[~inside] == 0.0) and np.all(np.isfinite(cam_values))
    with pytest.raises(GeometryError):
        to_original_geometry(np.ones((4, 4, 4), np.float32), reference, case)


def test_the_map_is_resampled_in_the_crop_box_alone() -> None:
    """Resampling the map onto the whole CT grid and masking it took 7.9 GB for a 512 x 512 x
    900 CT (several whole-grid copies); only the crop box's voxels are resampled now, to the
    whole grid's values (a rotated scan: the box is not aligned with the network grid)."""
    case = make_case(size=(64, 56, 24))
    turned = sitk.Euler3DTransform()
    turned.SetRotation(0.0, 0.0, np.deg2rad(12))
    case.image.SetDirection(turned.GetMatrix())
    for mask in case.masks.values():
        mask.SetDirection(turned.GetMatrix())
    volume, reference = network_input(case, SHAPE, margin_mm=2.0)
    values = gradcam_map(tiny_net(), volume)[None]
    whole = sitk.ResampleImageFilter()
    whole.SetReferenceImage(case.image)
    whole.SetInterpolator(sitk.sitkLinear)
    whole.SetOutputPixelType(sitk.sitkFloat32)
    source = sitk.GetImageFromArray(values[0])
    source.CopyInformation(reference)
    expected = sitk.GetArrayFromImage(whole.Execute(source))
    got = sitk.GetArrayFromImage(to_original_geometry(values, reference, case))
    box = reference_box(reference, case.image)
    inside = np.zeros(got.shape, bool)
    inside[box] = True
    np.testing.assert_allclose(got[inside], expected[inside], rtol=1e-5, atol=1e-6)
    assert not got[~inside].any() and (~inside).any()


def test_save_map_nifti_round_trip(tmp_path) -> None:
    case = make_case()
    volume, reference = network_input(case, SHAPE)
    attr, _, _ = integrated_gradients_map(tiny_net(), volume, n_steps=4)
    image = to_original_geometry(attr, reference, case)
    path = save_map(image, tmp_path / "maps" / "ig")
    assert path.name == "ig.nii.gz" and path.exists()
    back = sitk.ReadImage(str(path))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back), sitk.GetArrayFromImage(image))
    np.testing.assert_allclose(back.GetSpacing(), image.GetSpacing(), atol=1e-5)
    np.testing.assert_allclose(back.GetOrigin(), image.GetOrigin(), atol=1e-4)
    absolute = sitk.ReadImage(str(save_map(image, tmp_path / "ig_abs.nii.gz", absolute=True)))
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(absolute), np.abs(sitk.GetArrayFromImage(image))
    )


# --- enrichment --------------------------------------------------------------------------------


def test_enrichment_arithmetic_and_chance() -> None:
    gtv = np.zeros((10, 10, 10), bool)
    gtv[:1] = True  # 10 % of the voxels
    values = np.zeros(gtv.shape)
    values[0, 0, :5] = 1.0  # the top 5 voxels (0.5 %) all in the GTV
    assert enrichment(values, gtv, top_fraction=0.005) == pytest.approx(10.0)
    assert enrichment(np.ones(gtv.shape), gtv) == pytest.approx(1.0)  # flat map: chance
    sparse = np.zeros(gtv.shape)
    sparse[0, 0, :2] = 1.0  # 2 GTV voxels above 0; 3 places left to the 998 zeros (98 in the GTV)
    expected = ((2 + 3 * 98 / 998) / 5) / 0.1
    assert enrichment(sparse, gtv, top_fraction=0.005) == pytest.approx(expected)
    noise = np.random.default_rng(0).random(gtv.shape)
    assert 0.3 < enrichment(noise, gtv, top_fraction=0.2) < 1.7
    liver = np.zeros(gtv.shape, bool)
    liver[:2] = True  # GTV = half of the liver
    assert enrichment(values, gtv, top_fraction=0.025, organ_mask=liver) == pytest.approx(2.0)
    with pytest.raises(ConfigError):
        enrichment(values, gtv, top_fraction=0.0)


def test_region_net_maps_point_at_the_tumour() -> None:
    case = make_case(size=(64, 56, 24))
    volume, reference = network_input(case, SHAPE)
    region = sitk.GetArrayFromImage(resample_mask_onto(case.masks["gtv"], Grid.of(reference)))
    net = RegionNet(region)
    cam = gradcam_map(net, volume)
    attr, delta, steps = integrated_gradients_map(net, volume)
    assert delta <= 0.01 and steps == 12  # the risk is linear in the input
    # IG's exact answer for this net: 1.5 x intensity / region size inside the region
    np.testing.assert_allclose(attr, 1.5 * volume[0] * region / region.sum(), atol=1e-6)
    gtv, liver = case.masks["gtv"], case.masks["organ"]
    share = case.mask_array("gtv").sum() / case.mask_array("organ").sum()
    scores = {
        name: enrichment(to_original_geometry(m, reference, case), gtv, organ_mask=liver)
        for name, m in (("gradcam", cam), ("ig", np.abs(attr)))
    }
    # measured: the GTV is 6.45 % of the liver voxels, so chance = 1 and the ceiling (every top
    # voxel in the tumour) is 1 / 0.0645 = 15.49; Grad-CAM and |IG| both score 15.49
    for score in scores.values():
        assert score == pytest.approx(1.0 / share)
    # Control: the same net looking at a liver block away from the tumour. The maps follow the
    # net, not the brightness (the tumour is the brightest structure): enrichment 0.
    elsewhere = np.zeros_like(region)
    elsewhere[:, :, :15] = 1  # x < 15 on the network grid; the tumour starts at x = 17
    assert not (elsewhere & region).any()
    off = RegionNet(elsewhere)
    for m in (gradcam_map(off, volume), np.abs(integrated_gradients_map(off, volume)[0])):
        assert enrichment(to_original_geometry(m, reference, case), gtv, organ_mask=liver) == 0.0


def _copying_net() -> CNN3DSurv:
    """A CNN3DSurv whose last block's output is the input, sampled by the stem and pooled: its
    Grad-CAM is where the input is bright, placed by the network's own geometry."""
    net = CNN3DSurv(1, (2, 2, 2), 2, 0.0, (2, 2, 1), "relu", "avg")
    with torch.no_grad():
        for block in net.blocks:
            conv, norm = block[0], block[1]
            conv.weight.zero_()
            conv.weight[0, 0, 1, 1, 1] = 1.0
            norm.running_mean.zero_()
            norm.running_var.fill_(1 - norm.eps)
            norm.weight.fill_(1.0)
            norm.bias.zero_()
        for layer in (net.fc, net.head):
            layer.weight.zero_()
            layer.weight[0, 0] = 1.0
            layer.bias.zero_()
    return net.eval()


def test_gradcam_lands_on_the_voxels_that_raise_the_risk() -> None:
    """The last block's voxel j is centred on input 8j + 3 in-plane (stride-2 stem, two
    poolings); resizing its map to the input's size put it at 8j + 3.5: half a voxel off at
    48 voxels, 1.6 at 50 (an axis the poolings do not divide), several mm on a CT."""
    net = _copying_net()
    assert net.last_block_grid((16, 48, 48)) == ((1.5, 4.0), (3.0, 8.0), (3.0, 8.0))
    rng = np.random.default_rng(0)
    for shape in ((16, 48, 48), (16, 50, 50)):
        shifts = []
        for _ in range(6):
            centre = rng.uniform([6, 14, 14], np.array(shape) - [7, 15, 15])
            z, y, x = np.indices(shape)
            d2 = (
                ((z - centre[0]) / 2.5) ** 2
                + ((y - centre[1]) / 5) ** 2
                + ((x - centre[2]) / 5) ** 2
            )
            cam = gradcam_map(net, np.exp(-d2 / 2)[None].astype(np.float32)).astype(float)
            found = (np.indices(shape).reshape(3, -1) * cam.ravel()).sum(1) / cam.sum()
            shifts.append(found - centre)
        assert np.abs(np.mean(shifts, axis=0)).max() < 0.2, (shape, np.mean(shifts, axis=0))
