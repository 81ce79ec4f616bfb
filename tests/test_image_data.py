"""CNN inputs: liver-cropped volumes, random and grid patches, volume risk, and a tiny Cox training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from survival_core.case import Case
from survival_core.errors import ConfigError, InputError, MaskError
from survival_core.io.case_loader import load_case_files
from survival_core.models.image_data import (
    case_volume,
    extract_patches,
    grid_patch_starts,
    patch_grid,
    predict_volume_risk,
    random_patch_starts,
    random_patches,
)
from survival_core.models.losses import cox_nll
from survival_core.models.networks import CNN3DSurv
from tests.case_builders import make_case


def numbered_volume(zyx: tuple[int, int, int] = (13, 21, 30), channels: int = 1) -> np.ndarray:
    """A (C, z, y, x) volume whose every voxel holds a distinct value."""
    return np.arange(channels * np.prod(zyx), dtype=np.float32).reshape(channels, *zyx)


# --- case_volume ---------------------------------------------------------------------------------


def test_case_volume_shape_range_and_content() -> None:
    case = make_case()  # 48x40x20 voxels, liver 60 HU, tumour 120 HU, air elsewhere
    volume = case_volume(case, shape=(32, 28, 12))
    assert volume.shape == (1, 12, 28, 32) and volume.dtype == np.float32
    assert volume.min() >= 0.0 and volume.max() <= 1.0
    # arterial window 70/150 HU: air -> 0, liver 60 HU -> 65/150, tumour 120 HU -> 125/150
    assert volume.min() == 0.0
    assert volume[0, 6, 14, 16] == pytest.approx(125 / 150, abs=1e-3)  # centre is tumour
    assert np.isclose(volume, 65 / 150, atol=1e-3).any()
    assert case.image.GetSize() == (48, 40, 20)  # input untouched


def test_case_volume_crops_to_the_liver_box() -> None:
    case = make_case()
    # 30 voxels (mm) of air around the case in-plane: the crop (liver box + 10 mm) drops most of it
    pad = [30, 30, 0]
    case.image = sitk.ConstantPad(case.image, pad, pad, -1000.0)
    case.masks = {r: sitk.ConstantPad(m, pad, pad, 0) for r, m in case.masks.items()}
    full_fraction = case.mask_array("organ").mean()
    volume = case_volume(case, shape=(30, 30, 10), window="liver")
    assert (volume > 0.2).mean() > 2 * full_fraction
    # the in-plane borders lie in the 10 mm margin, outside the liver: air
    for border in (volume[..., 0], volume[..., -1], volume[..., 0, :], volume[..., -1, :]):
        assert border.max() == 0.0


def test_case_volume_without_an_organ_crops_to_the_gtv_box() -> None:
    case = make_case()
    del case.masks["organ"]
    # The GTV's box plus a margin, not an empty organ crop: the tumour (120 HU) fills the centre.
    tight = case_volume(case, shape=(16, 16, 8), window="liver", gtv_margin_mm=0.0)
    assert tight[0, 4, 8, 8] == pytest.approx(1.0) and tight.mean() > 0.5
    wide = case_volume(case, shape=(16, 16, 8), window="liver", gtv_margin_mm=30.0)
    assert wide.mean() < tight.mean()
    del case.masks["gtv"]
    with pytest.raises(MaskError, match="neither an organ nor a GTV mask"):
        case_volume(case, shape=(16, 16, 8))


def test_case_volume_rejects_a_bad_shape() -> None:
    with pytest.raises(ConfigError):
        case_volume(make_case(), shape=(16, 16))


def test_a_single_slice_is_no_volume_for_a_3d_network() -> None:
    """A 2-D image was stretched to the network's 48 slices and scored and explained by the
    demo's 3-D CNN, with the single-slice warning alone."""
    case = make_case()
    flat = dataclasses.replace(
        case,
        image=case.image[:, :, 10:11],
        masks={r: m[:, :, 10:11] for r, m in case.masks.items()},
    )
    with pytest.raises(InputError, match="single slice .* a 3-D network reads volumes"):
        case_volume(flat)
    sagittal = dataclasses.replace(
        case, image=case.image[20:21], masks={r: m[20:21] for r, m in case.masks.items()}
    )
    with pytest.raises(InputError, match="single slice"):
        case_volume(sagittal)


def _cut(case: Case, box: tuple[slice, slice, slice]) -> Case:
    """``case`` with its image and masks cut to ``box`` (x, y, z voxel slices)."""
    return dataclasses.replace(
        case, image=case.image[box], masks={r: m[box] for r, m in case.masks.items()}
    )


@pytest.mark.parametrize(
    ("cut", "read", "stretched"),
    [
        ("2 slices", "154 x 150 x 2 voxels, 150 x 146 x 7 mm", "8-fold along z"),
        ("3 slices", "154 x 151 x 3 voxels, 150 x 147 x 10 mm", "5.33-fold along z"),
        (
            "6 x 6 x 3 chip",
            "6 x 6 x 3 voxels, 6 x 6 x 10 mm",
            "10.7-fold along x, 10.7-fold along y, 5.33-fold along z",
        ),
    ],
)
def test_a_scan_too_small_for_the_network_is_refused_by_its_size(
    cut, read, stretched, sarcoma_ct
) -> None:
    """Cuts of the sarcoma CT (2 or 3 slices, a 6 x 6 x 3-voxel chip) were stretched onto a
    64 x 64 x 16 CNN's grid and scored as whole volumes, in the high-risk group; one slice alone
    was refused. The whole CT (156 x 160 x 51 voxels read) is scored."""
    case = sarcoma_ct
    assert case_volume(case, shape=(64, 64, 16)).shape == (1, 16, 64, 64)
    z, y, x = (int(np.median(axis)) for axis in np.nonzero(case.mask_array("gtv")))
    every = slice(None)
    box = {
        "2 slices": (every, every, slice(z, z + 2)),
        "3 slices": (every, every, slice(z - 1, z + 2)),
        "6 x 6 x 3 chip": (slice(x - 3, x + 3), slice(y - 3, y + 3), slice(z - 1, z + 2)),
    }[cut]
    with pytest.raises(InputError) as refused:
        case_volume(_cut(case, box), shape=(64, 64, 16))
    assert str(refused.value) == (
        f"Case STS_001 is too small: a 3-D network reads volumes, and the scan it reads ({read}) "
        f"stretched onto its 64 x 64 x 16 voxels ({stretched}) would score a volume that was "
        "never scanned. This model reads at least 8 x 8 x 4 scanned voxels (at most 8-fold "
        "stretched, 4 or more along an axis). Give the whole scan."
    )


def test_whole_real_scans_are_not_too_small_for_the_default_grid(shared_data) -> None:
    """pyradiomics' lung1 (5 mm slices, a GTV box + 30 mm of 15 slices) is stretched 3.2-fold
    along z onto 224 x 224 x 48 voxels: under the refusal's 8-fold."""
    folder = shared_data / "pyradiomics"
    if not (folder / "lung1_image.nrrd").is_file():
        pytest.skip("pyradiomics' lung1 not in ../shared/data")
    masks = {"gtv": folder / "lung1_label.nrrd"}
    lung1 = load_case_files(folder / "lung1_image.nrrd", masks, None, "lung1", site="lung")
    assert case_volume(lung1).shape == (1, 48, 224, 224)
    # 8.5-fold at 128^3, but the scan holds 48 slices: its margin, not the scan, bounds the crop
    assert case_volume(lung1, shape=(128, 128, 128)).shape == (1, 128, 128, 128)


# --- random patches ------------------------------------------------------------------------------


def test_random_patches_have_the_size_and_lie_inside() -> None:
    volume = numbered_volume((13, 21, 30), channels=2)
    size = (10, 8, 5)  # x, y, z
    starts = random_patch_starts(volume.shape, size, n=50, rng=3)
    patches = random_patches(volume, size, n=50, rng=np.random.default_rng(3))
    assert patches.shape == (50, 2, 5, 8, 10) and patches.dtype == np.float32
    assert (starts >= 0).all()
    assert (starts + np.array([5, 8, 10]) <= np.array([13, 21, 30])).all()
    for (z, y, x), patch in zip(starts, patches, strict=True):
        np.testing.assert_array_equal(patch, volume[:, z : z + 5, y : y + 8, x : x + 10])
    assert len({tuple(s) for s in starts}) > 10  # actually random


def test_random_patches_are_reproducible_with_a_seed() -> None:
    volume = numbered_volume()
    a = random_patches(volume, (8, 8, 4), n=5, rng=7)
    b = random_patches(volume, (8, 8, 4), n=5, rng=7)
    np.testing.assert_array_equal(a, b)


def test_patch_larger_than_volume_is_zero_padded() -> None:
    volume = numbered_volume((4, 6, 5)) + 1
    patches = random_patches(volume, (8, 8, 8), n=3, rng=0)
    assert patches.shape == (3, 1, 8, 8, 8)
    for patch in patches:
        np.testing.assert_array_equal(patch[:, :4, :6, :5], volume)
        assert patch.sum() == volume.sum()


def test_bad_patch_arguments_raise() -> None:
    volume = numbered_volume()
    with pytest.raises(ConfigError):
        random_patches(volume, (8, 8), n=1)
    with pytest.raises(ConfigError):
        random_patches(volume[0], (8, 8, 8), n=1)
    with pytest.raises(ConfigError):
        random_patches(volume, (8, 8, 8), n=-1)


# --- patch grid ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zyx", "size", "stride"),
    [
        ((13, 21, 30), (10, 8, 5), None),
        ((13, 21, 30), (10, 8, 5), (4, 3, 2)),
        ((48, 224, 224), (80, 80, 40), None),
        ((40, 80, 80), (80, 80, 40), None),
    ],
)
def test_grid_covers_every_voxel(zyx: tuple, size: tuple, stride: tuple | None) -> None:
    volume = numbered_volume(zyx)
    starts = grid_patch_starts(volume.shape, size, stride)
    patches = patch_grid(volume, size, stride)
    p = size[::-1]
    assert patches.shape == (len(starts), 1, *p)
    covered = np.zeros(zyx, dtype=int)
    for (z, y, x), patch in zip(starts, patches, strict=True):
        assert z + p[0] <= zyx[0] and y + p[1] <= zyx[1] and x + p[2] <= zyx[2]
        np.testing.assert_array_equal(patch, volume[:, z : z + p[0], y : y + p[1], x : x + p[2]])
        covered[z : z + p[0], y : y + p[1], x : x + p[2]] += 1
    assert (covered >= 1).all()


def test_grid_counts() -> None:
    # default stride = patch size; 224 = 80 + 80 + 64 -> 3 starts per in-plane axis, 48 -> 2 in z
    assert len(grid_patch_starts((1, 48, 224, 224), (80, 80, 40))) == 3 * 3 * 2
    assert len(grid_patch_starts((1, 40, 80, 80), (80, 80, 40))) == 1


def test_whole_volume_is_one_patch_when_it_fits() -> None:
    volume = numbered_volume((6, 10, 12))
    patches = patch_grid(volume, (12, 10, 6))
    assert patches.shape == (1, 1, 6, 10, 12)
    np.testing.assert_array_equal(patches[0], volume)
    padded = patch_grid(volume, (16, 16, 8))
    assert padded.shape == (1, 1, 8, 16, 16)
    np.testing.assert_array_equal(padded[0, :, :6, :10, :12], volume)


def test_extract_patches_at_given_starts() -> None:
    volume = numbered_volume()
    out = extract_patches(volume, [(0, 0, 0), (3, 2, 1)], (4, 3, 2))
    np.testing.assert_array_equal(out[1], volume[:, 3:5, 2:5, 1:5])


# --- volume risk ---------------------------------------------------------------------------------


def test_predict_volume_risk_is_the_mean_over_the_grid() -> None:
    torch.manual_seed(0)
    net = CNN3DSurv(channels=(4, 8), fc=16).train()
    volume = np.random.default_rng(0).random((1, 20, 30, 30), dtype=np.float32)
    size = (16, 16, 8)
    risk = predict_volume_risk(net, volume, size, batch_size=4)
    assert net.training  # mode restored
    net.eval()
    with torch.no_grad():
        expected = net(torch.from_numpy(patch_grid(volume, size))).mean().item()
    assert len(patch_grid(volume, size)) == 2 * 2 * 3
    assert risk == pytest.approx(expected, rel=1e-5, abs=1e-6)


# --- tiny training -------------------------------------------------------------------------------


def blob_cohort(n: int = 12, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Volumes (1, 12, 24, 24) with a bright central blob; brighter blob -> earlier event."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(np.arange(12), np.arange(24), np.arange(24), indexing="ij")
    blob = (z - 6) ** 2 + (y - 12) ** 2 + (x - 12) ** 2 <= 16
    brightness = rng.permutation(np.linspace(0.3, 1.0, n))
    volumes = []
    for b in brightness:
        v = 0.2 + 0.03 * rng.standard_normal((12, 24, 24))
        v[blob] = b
        volumes.append(v.astype(np.float32)[None])
    time = 100.0 - 80.0 * brightness + rng.uniform(0, 2, n)
    event = np.ones(n)
    event[rng.choice(n, 2, replace=False)] = 0
    return volumes, time, event


def train_tiny(seed: int = 0) -> tuple[list[float], float, float]:
    volumes, time, event = blob_cohort()
    t, e = torch.tensor(time), torch.tensor(event)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = CNN3DSurv(channels=(4, 8), fc=8, dropout=0.0)
    size = (16, 16, 8)

    def eval_loss() -> float:
        risk = torch.tensor([predict_volume_risk(net, v, size) for v in volumes])
        return cox_nll(risk, e, t).item()

    before = eval_loss()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        batch = np.concatenate([random_patches(v, size, n=1, rng=rng) for v in volumes])
        loss = cox_nll(net(torch.from_numpy(batch)), e, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, before, eval_loss()


def test_tiny_training_reduces_the_cox_loss() -> None:
    losses, before, after = train_tiny()
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert after < before
    again, before2, after2 = train_tiny()
    assert again == losses and (before2, after2) == (before, after)  # deterministic on CPU


def test_volume_spec_gtv_margin_is_configurable_and_keyed_as_before_plus_lps() -> None:
    from survival_core.models.image_set import VolumeSpec

    default = VolumeSpec()
    # the default GTV margin is left out of the key as in earlier versions; the LPS storage
    # order of loaded cases is in it, so volumes cached in a file's own order are not reused
    legacy = {
        "margin_mm": 10.0,
        "shape": [224, 224, 48],
        "window": "arterial",
        "orientation": "LPS",
        "extent_checked": True,
    }
    import hashlib
    import json

    assert (
        default.key == hashlib.sha256(json.dumps(legacy, sort_keys=True).encode()).hexdigest()[:16]
    )
    wide = VolumeSpec((16, 16, 8), "liver", 10.0, gtv_margin_mm=40.0)
    assert wide.key != VolumeSpec((16, 16, 8), "liver", 10.0).key
    case = make_case()
    del case.masks["organ"]
    tight, _ = VolumeSpec((16, 16, 8), "liver", 10.0, gtv_margin_mm=0.0).input(case)
    loose, _ = wide.input(case)
    assert loose.mean() < tight.mean()  # more air around the tumour
    with pytest.raises(ConfigError, match="gtv_margin_mm must be a number >= 0"):
        VolumeSpec(gtv_margin_mm=-1.0)
