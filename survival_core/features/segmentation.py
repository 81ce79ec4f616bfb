"""Tumour segmentation for segmentation-feature radiomics (DSFR, Wang 2022): a 2-D MONAI U-Net
on axial slices of the liver-cropped, windowed CT, trained with Dice + binary cross-entropy.

Every case goes onto one network grid: the CT cropped to the liver box, resized to
``slice_size x slice_size`` voxels in-plane and ``n_slices`` axially, windowed (arterial phase
level/width 70/150 HU, as Wang 2022) onto [0, 1] by
:func:`survival_core.models.image_data.network_input`; the GTV and liver masks are resampled onto
the same grid by nearest neighbour. Wang used 256 x 256 slices; the default 128 x 128 keeps CPU
training to minutes. Arrays are ``(z, y, x)``.

A trained model is a folder: ``unet.json`` (the :class:`UNetConfig` and the training record) and
``weights.pt`` (a ``state_dict`` read back with ``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import SimpleITK as sitk
import torch

from survival_core.case import Case
from survival_core.errors import ConfigError, InputError, MaskError
from survival_core.models.device import resolve_device, seeded
from survival_core.models.image_data import network_input
from survival_core.models.training_loop import Constraints, TrainingSettings, train_network
from survival_core.models.weights_file import load_tensors, mismatch
from survival_core.preprocess.resample import Grid
from survival_core.preprocess.roi import check_not_vanished
from survival_core.preprocess.window import get_window

CONFIG_FILE = "unet.json"
WEIGHTS_FILE = "weights.pt"
FORMAT = "radsurv-segmentation-unet"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class UNetConfig:
    """Network grid and architecture of the segmentation U-Net.

    ``slice_size`` (voxels, in-plane) and ``n_slices`` (axial) define the grid over the liver box
    plus ``margin_mm`` (mm); ``window`` is a preset of :mod:`survival_core.preprocess.window`.
    ``channels``/``strides``/``num_res_units`` are MONAI ``UNet`` arguments; ``feature_layer`` is
    the module (a name of ``net.named_modules()``) whose output DSFR pools: by default the top skip
    connection, i.e. the decoder features concatenated with the first encoder block, the tensor
    that enters the output convolution. ``modality``: of the images the network reads (CT through
    the window, MR between percentiles); cases of another are refused.
    """

    slice_size: int = 128
    n_slices: int = 32
    window: str = "arterial"
    margin_mm: float = 10.0
    channels: tuple[int, ...] = (16, 32, 64, 128)
    strides: tuple[int, ...] = (2, 2, 2)
    num_res_units: int = 0
    feature_layer: str = "model.1"
    modality: str = "CT"

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "strides", tuple(self.strides))
        for name in ("slice_size", "n_slices"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"U-Net {name} must be a positive whole number; got {value!r}.")
        if len(self.strides) != len(self.channels) - 1 or len(self.channels) < 2:
            raise ConfigError(
                f"U-Net needs one stride fewer than channel levels (at least 2 levels); got "
                f"channels={self.channels}, strides={self.strides}."
            )
        factor = math.prod(self.strides)
        if self.slice_size % factor:
            raise ConfigError(
                f"Slice size {self.slice_size} must be a multiple of {factor} (the product of "
                f"the U-Net strides {self.strides})."
            )
        get_window(self.window)

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        """Network grid (x, y, z) voxels."""
        return (self.slice_size, self.slice_size, self.n_slices)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UNetConfig:
        try:
            return cls(**data)
        except TypeError as err:
            raise InputError(f"U-Net configuration is malformed: {err}") from err


@dataclass
class SegmentationInput:
    """One case on the network grid: ``image`` float32 in [0, 1], ``gtv`` and ``organ`` uint8
    masks (all ``(z, y, x)``; the organ is every voxel when the case has none) and ``reference``,
    the SimpleITK image of the grid (geometry)."""

    case_id: str
    image: np.ndarray
    gtv: np.ndarray
    organ: np.ndarray
    reference: sitk.Image


def mask_on_grid(case: Case, role: str, reference: sitk.Image) -> np.ndarray:
    """``case.masks[role]`` resampled by nearest neighbour onto ``reference``: uint8 ``(z, y, x)``."""
    if role not in case.masks:
        raise MaskError(f"Case {case.case_id} has no {role!r} mask (it has {sorted(case.masks)}).")
    resampled = sitk.Resample(
        case.masks[role], reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8
    )
    return sitk.GetArrayFromImage(resampled)


def check_modality(case: Case, config: UNetConfig) -> None:
    """InputError when ``case`` is of another modality than the network reads."""
    if case.modality != config.modality:
        raise InputError(
            f"The U-Net reads {config.modality} images; case {case.case_id} is {case.modality}. "
            "One U-Net learns one modality: segment the other modality's cases apart."
        )


def segmentation_input(case: Case, config: UNetConfig = UNetConfig()) -> SegmentationInput:
    """The windowed image of ``case`` on the network grid of ``config`` with its GTV and organ;
    a case of another modality than the network's is refused. A GTV that disappears on the grid
    is kept (empty): scoring never reads it (:func:`check_gtv_on_grid` refuses it for training)."""
    check_modality(case, config)
    volume, reference = network_input(case, config.grid_shape, config.window, config.margin_mm)
    return SegmentationInput(
        case.case_id,
        volume[0],
        mask_on_grid(case, "gtv", reference),
        mask_on_grid(case, "organ", reference)
        if "organ" in case.masks
        else np.ones(volume[0].shape, dtype=np.uint8),
        reference,
    )


def check_gtv_on_grid(item: SegmentationInput) -> None:
    """MaskError when the GTV of ``item`` disappears on its grid (thinner than a grid voxel), for
    a case the U-Net trains on or is measured on: kept, it trained the U-Net as a tumour patient
    without tumour slices and scored Dice 0 among the held-out cases. DSFR features never read
    the GTV, so a case to score keeps it (it was refused)."""
    check_not_vanished(item.gtv, "gtv", Grid.of(item.reference))


def dice_score(prediction: np.ndarray, truth: np.ndarray) -> float:
    """3-D Dice overlap 2|A & B| / (|A| + |B|) of two binary masks; 1.0 when both are empty."""
    prediction, truth = np.asarray(prediction).astype(bool), np.asarray(truth).astype(bool)
    if prediction.shape != truth.shape:
        raise ConfigError(
            f"Dice needs masks of one shape; got {prediction.shape} and {truth.shape}."
        )
    total = int(prediction.sum()) + int(truth.sum())
    return 1.0 if total == 0 else 2.0 * int((prediction & truth).sum()) / total


def build_unet(config: UNetConfig) -> torch.nn.Module:
    """An untrained 2-D MONAI U-Net (1 input channel, 1 logit channel) for ``config``, its
    instance norms fed maps shifted by their first voxel (:func:`_shift_by_first_voxel`)."""
    from monai.networks.nets import UNet

    network = UNet(
        spatial_dims=2,
        in_channels=1,
        out_channels=1,
        channels=config.channels,
        strides=config.strides,
        num_res_units=config.num_res_units,
    )
    for module in network.modules():
        if isinstance(module, torch.nn.modules.instancenorm._InstanceNorm):
            module.register_forward_pre_hook(_shift_by_first_voxel)
    return network


def _shift_by_first_voxel(
    module: torch.nn.Module, args: tuple[torch.Tensor, ...]
) -> tuple[torch.Tensor, ...]:
    """Each map of an instance norm's input minus its first voxel: the norm's output is unchanged
    (it is shift-invariant), but a constant map (a slice that is all background after windowing,
    or padding) becomes exactly zero. Unshifted, the CPU's float32 mean of a constant map misses
    it by a rounding error that the norm divides by sqrt(eps) and the next layers amplify again:
    such slices came out as noise on the CPU (up to 0.46 in probability from the GPU's exact
    constant, measured on an H200) instead of the network's constant output."""
    x = args[0]
    first = x.flatten(2)[:, :, :1].reshape(*x.shape[:2], *([1] * (x.ndim - 2)))
    return (x - first, *args[1:])


@dataclass(frozen=True)
class UNetTraining(TrainingSettings):
    """Optimisation of the U-Net (:class:`TrainingSettings`, its own defaults): Adam at ``lr`` for
    ``epochs`` passes over the tumour slices plus ``negative_ratio`` x as many tumour-free liver
    slices (redrawn each epoch), mini-batches of ``batch_size`` slices, ``seed`` for weights, slice
    draws and batch order; no validation split."""

    constraints: ClassVar[Constraints] = {
        **TrainingSettings.constraints,
        "batch_size": (lambda v: v is None or int(v) >= 1, ">= 1 or None (full batch)"),
        "validation_fraction": (lambda v: float(v) == 0, "0 (the U-Net has no validation split)"),
        "negative_ratio": (lambda v: float(v) >= 0, ">= 0"),
    }
    min_batch_size: ClassVar[int] = 1

    weight_decay: float = 0.0
    epochs: int = 30
    validation_fraction: float = 0.0
    batch_size: int | None = 16
    negative_ratio: float = 0.5


@dataclass
class SegmentationModel:
    """A U-Net with its config; ``history`` holds the mean training loss per epoch."""

    config: UNetConfig
    network: torch.nn.Module
    history: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def forward_slices(
        self, image: np.ndarray, batch_size: int = 16, hook: Callable | None = None
    ) -> np.ndarray:
        """Tumour probability ``(z, y, x)`` of an image ``(z, y, x)`` on the network grid, slice
        batch by slice batch (eval mode, no gradient); ``hook(module, input, output)`` is
        registered on the feature layer for the duration."""
        self._check_grid(image)
        handle = None if hook is None else self.layer().register_forward_hook(hook)
        self.network.eval()
        out = []
        try:
            with torch.no_grad():
                for start in range(0, image.shape[0], batch_size):
                    x = torch.as_tensor(image[start : start + batch_size, None], device=self.device)
                    out.append(torch.sigmoid(self.network(x))[:, 0].cpu().numpy())
        finally:
            if handle is not None:
                handle.remove()
        return np.concatenate(out).astype(np.float32)

    def predict(self, image: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """Predicted tumour mask (bool ``(z, y, x)``): probability >= ``threshold``."""
        return self.forward_slices(image) >= threshold

    def layer(self) -> torch.nn.Module:
        """The module named by ``config.feature_layer``."""
        modules = dict(self.network.named_modules())
        if self.config.feature_layer not in modules:
            raise ConfigError(
                f"The U-Net has no layer {self.config.feature_layer!r}; choose one of "
                f"{[name for name in modules if name][:20]}..."
            )
        return modules[self.config.feature_layer]

    def _check_grid(self, image: np.ndarray) -> None:
        expected = (self.config.slice_size, self.config.slice_size)
        if image.ndim != 3 or image.shape[1:] != expected:
            raise ConfigError(
                f"The U-Net takes (z, {expected[0]}, {expected[1]}) images; got {image.shape}."
            )

    def save(self, folder: Path | str) -> Path:
        """Write ``unet.json`` and ``weights.pt`` into ``folder`` (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in self.network.state_dict().items()}
        torch.save(state, folder / WEIGHTS_FILE)
        document = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "config": asdict(self.config),
            "history": self.history,
        }
        (folder / CONFIG_FILE).write_text(json.dumps(document, indent=1, allow_nan=False))
        return folder

    @classmethod
    def load(cls, folder: Path | str, device: str = "auto") -> SegmentationModel:
        """Read a folder written by :meth:`save` (only JSON and a tensor state_dict are read)."""
        folder = Path(folder)
        path = folder / CONFIG_FILE
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError as err:
            raise InputError(
                f"No segmentation model in {folder}: {CONFIG_FILE} is missing."
            ) from err
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(f"{path} is not a readable U-Net configuration: {err}") from err
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise InputError(f"{path} is not a RadSurv segmentation model file.")
        if document.get("version") != FORMAT_VERSION:
            raise InputError(
                f"{path} has format version {document.get('version')}; this RadSurv reads "
                f"{FORMAT_VERSION}."
            )
        config = UNetConfig.from_dict(document.get("config") or {})
        chosen = resolve_device(device)
        weights_path = folder / WEIGHTS_FILE
        weights = load_tensors(weights_path, chosen, "U-Net weights")
        network = build_unet(config).to(chosen)
        try:
            network.load_state_dict(weights)
        except (RuntimeError, TypeError, AttributeError) as err:
            raise InputError(
                f"{mismatch(weights_path, err)} The U-Net {path} describes has channels "
                f"{config.channels}."
            ) from err
        network.eval()
        return cls(config, network, document.get("history") or {})


def _training_slices(
    inputs: Sequence[SegmentationInput], negative_ratio: float, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """(case, slice) pairs of one epoch: every slice with tumour, plus tumour-free liver slices."""
    positive, negative = [], []
    for i, item in enumerate(inputs):
        has_tumour = item.gtv.any(axis=(1, 2))
        has_organ = item.organ.any(axis=(1, 2))
        positive += [(i, int(z)) for z in np.flatnonzero(has_tumour)]
        negative += [(i, int(z)) for z in np.flatnonzero(has_organ & ~has_tumour)]
    if not positive:
        raise MaskError("None of the training cases has a GTV on the network grid; cannot train.")
    n_negative = min(len(negative), int(round(negative_ratio * len(positive))))
    chosen = [negative[j] for j in rng.choice(len(negative), n_negative, replace=False)]
    pairs = positive + chosen
    return [pairs[j] for j in rng.permutation(len(pairs))]


def train_unet(
    inputs: Sequence[SegmentationInput],
    config: UNetConfig = UNetConfig(),
    settings: UNetTraining = UNetTraining(),
    progress: Callable[[str], None] | None = None,
) -> SegmentationModel:
    """Train a U-Net on the slices of ``inputs`` (Dice + BCE loss, Adam); seeded, so two CPU runs
    on the same number of torch threads give identical weights (another thread count sums in
    another order: 1 and 2 threads gave features 3e-4 apart after two epochs).
    ``history['train']`` is the mean loss of each epoch."""
    from monai.losses import DiceCELoss

    if not inputs:
        raise ConfigError("No training cases for the U-Net.")
    device = resolve_device(settings.device)
    loss_fn = DiceCELoss(sigmoid=True, batch=True)
    say = progress or (lambda _: None)
    rng = np.random.default_rng(int(settings.seed))

    def batches() -> Iterator[list[tuple[int, int]]]:
        pairs = _training_slices(inputs, float(settings.negative_ratio), rng)
        return settings.minibatches(len(pairs), pairs)

    def batch_loss(batch: list[tuple[int, int]]) -> torch.Tensor:
        x = torch.as_tensor(
            np.stack([inputs[i].image[z] for i, z in batch])[:, None], device=device
        )
        y = np.stack([inputs[i].gtv[z] for i, z in batch])[:, None]
        return loss_fn(network(x), torch.as_tensor(y, dtype=torch.float32, device=device))

    def report(epoch: int, history: dict[str, Any]) -> None:
        say(f"U-Net epoch {epoch + 1}/{settings.epochs}: loss {history['train'][-1]:.4f}")

    with seeded(int(settings.seed)):
        network = build_unet(config).to(device)
        run = train_network(
            network, settings, batches, batch_loss, name="U-Net", rows=len, on_epoch=report
        )
    return SegmentationModel(config, network, {"train": run["train"], "settings": asdict(settings)})


def case_dice(
    model: SegmentationModel, inputs: Sequence[SegmentationInput], threshold: float = 0.5
) -> dict[str, float]:
    """3-D Dice of the predicted vs the true GTV on the network grid, per case id."""
    return {
        item.case_id: dice_score(model.predict(item.image, threshold), item.gtv) for item in inputs
    }
