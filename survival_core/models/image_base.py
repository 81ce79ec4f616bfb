"""Shared machinery of the models whose input includes the case's CT: training on random patches,
inference on the whole volume or a patch grid, and the differentiable risk the explainers use.

An image model is a :class:`~survival_core.models.base.SurvivalModel` like the others: ``fit(X, y)``
with ``X`` a table indexed by ``case_id`` (its columns feed the tabular branch, if the model has
one) and ``y`` the survival array; the CT of each row comes from the :class:`ImageSet` given with
:meth:`ImageSurvivalModel.with_images` (a cohort folder, or the uploaded case being scored). The
images are not part of the saved model; the volume geometry (``volume_shape``, ``window``,
``margin_mm``) and patch size are its parameters.

Training (Wei 2021): each epoch visits the training cases in a random order, in mini-batches of
``batch_size`` cases, each represented by one random ``patch_size`` crop of its volume
(augmentation); the loss (Cox partial likelihood within the batch, or the discrete-time likelihood)
is minimised with Adam. Early stopping watches the loss on held-out training cases scored the way
predictions are made. Inference scores the whole volume (``inference="volume"``; the networks
end in global pooling) or averages the outputs over a fixed patch grid (``"grid"``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import SimpleITK as sitk
import torch
from torch import nn
from torch.nn import functional as F

from survival_core.case import Case
from survival_core.errors import ConfigError, InputError
from survival_core.models.base import TorchSurvivalModel
from survival_core.models.image_data import (
    _check_size,
    grid_patch_starts,
    random_patch_starts,
)
from survival_core.models.image_set import ImageRows, ImageSet, VolumeSpec
from survival_core.models.tabular import TablePreprocessor
from survival_core.models.training_loop import TrainingSettings, decay_groups, train_network

INFERENCE_MODES = ("volume", "grid")


def crop_batch(
    volumes: torch.Tensor, starts: np.ndarray, zyx: tuple[int, int, int]
) -> torch.Tensor:
    """Crop ``volumes[i]`` at ``starts[i]`` (z, y, x) to ``zyx``; differentiable, zero-padded at
    the far end where a volume is smaller than the patch."""
    pad = [max(p - s, 0) for s, p in zip(volumes.shape[2:], zyx, strict=True)]
    if any(pad):
        volumes = F.pad(volumes, (0, pad[2], 0, pad[1], 0, pad[0]))
    return torch.stack(
        [
            volumes[i, :, z : z + zyx[0], y : y + zyx[1], x : x + zyx[2]]
            for i, (z, y, x) in enumerate(np.asarray(starts).tolist())
        ]
    )


class ImageSurvivalModel(TorchSurvivalModel):
    """Base class of the image models.

    Subclasses build a network ``net(volume, tabular) -> output (N, K)`` in
    ``_build_network(n_tabular)`` and define ``_output_loss(output, targets)`` and
    ``_risk_from_output(output) -> (N,)`` (differentiable: the explainers attribute it).
    ``uses_tabular = False`` makes the model read no table column.
    """

    uses_tabular: ClassVar[bool] = True
    training_defaults = TrainingSettings(epochs=60, patience=10, batch_size=16)
    images: ImageSet | None = None

    def _set_image_params(
        self,
        volume_shape: Sequence[int],
        window: str,
        margin_mm: float,
        patch_size: Sequence[int],
        inference: str,
    ) -> None:
        """Store and check the image parameters every image model shares."""
        if inference not in INFERENCE_MODES:
            raise ConfigError(f"inference must be one of {INFERENCE_MODES}; got {inference!r}.")
        spec = VolumeSpec(tuple(volume_shape), window, float(margin_mm))
        self.volume_shape = spec.shape
        self.window = window
        self.margin_mm = float(margin_mm)
        self.patch_size = _check_size(patch_size, "Patch size")
        larger = [
            axis
            for axis, p, v in zip("xyz", self.patch_size, self.volume_shape, strict=True)
            if p > v
        ]
        if larger:  # the patches would be mostly padding, and "whole" inference ill-defined
            raise ConfigError(
                f"patch_size {self.patch_size} is larger than volume_shape {self.volume_shape} "
                f"along {', '.join(larger)}: a training patch is a crop of the network input."
            )
        self.inference = inference

    @property
    def volume_spec(self) -> VolumeSpec:
        return VolumeSpec(tuple(self.volume_shape), self.window, self.margin_mm)

    @property
    def _patch_zyx(self) -> tuple[int, int, int]:
        return tuple(self.patch_size[::-1])

    def with_images(self, images: ImageSet) -> ImageSurvivalModel:
        """Read the CT of each table row (by case id) from ``images``."""
        if not isinstance(images, ImageSet):
            raise ConfigError(
                "with_images expects an ImageSet (e.g. ImageSet.from_cohort(folder))."
            )
        self.images = images
        return self

    def case_input(self, case: Case) -> tuple[np.ndarray, sitk.Image]:
        """The network input ``(1, z, y, x)`` of ``case`` and its grid (for mapping maps back)."""
        return self.volume_spec.input(case)

    # -- the table side ---------------------------------------------------------------------
    def _make_preprocessor(self) -> TablePreprocessor:
        return TablePreprocessor(allow_empty=True)

    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None) -> ImageSurvivalModel:
        if not self.uses_tabular:
            X = self._no_columns(X)
            X_val = None if X_val is None else self._no_columns(X_val)
        return super().fit(X, y, X_val, y_val)

    @staticmethod
    def _no_columns(X: Any) -> Any:
        if not hasattr(X, "index") or not hasattr(X, "iloc"):
            raise InputError("Image models need a table indexed by case_id.")
        return X.iloc[:, []]

    def _reduce(self, frame: Any) -> ImageRows:
        ids = [str(i) for i in frame.index]
        return ImageRows(super()._reduce(frame), ids)

    # -- subclass hooks ---------------------------------------------------------------------
    def _output_loss(self, output: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def _risk_from_output(self, output: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- data ---------------------------------------------------------------------------------
    def _tensors(self, rows: ImageRows, event: np.ndarray, time: np.ndarray) -> dict[str, Any]:
        """The rows' CT volumes (CPU; patches move to the device), table values and targets."""
        if self.images is None:
            raise ConfigError(
                f"Model '{self.name}' reads CT volumes: give it the cases' images with "
                "with_images(ImageSet.from_cohort(folder)) (CLI: --cohort DIR)."
            )
        volumes = torch.from_numpy(self.images.volumes(rows.case_ids, self.volume_spec))
        targets = {k: v.to(self.device_) for k, v in self._targets(event, time).items()}
        tabular = torch.as_tensor(rows.tabular, dtype=torch.float32, device=self.device_)
        return {"volumes": volumes, "tabular": tabular, "targets": targets}

    # -- training -----------------------------------------------------------------------------
    def _fit_network(
        self,
        net: nn.Module,
        data: dict[str, Any],
        val_data: dict[str, Any] | None,
        generator: torch.Generator,
    ) -> dict[str, Any]:
        """Train ``net`` (all its trainable parameters); subclasses may train in stages."""
        groups = decay_groups(net, self.weight_decay)
        return self._train_images(net, data, val_data, groups, generator)

    def _train_images(
        self,
        net: nn.Module,
        data: dict[str, Any],
        val_data: dict[str, Any] | None,
        groups: list[dict[str, Any]],
        generator: torch.Generator,
        epochs: int | None = None,
    ) -> dict[str, Any]:
        """:func:`train_network` on mini-batches of one random patch per case; the validation
        cases are scored the way predictions are."""
        settings = self.training_settings
        volumes = data["volumes"]
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))

        def batches() -> Iterator[np.ndarray]:
            n = volumes.shape[0]
            return settings.minibatches(n, torch.randperm(n, generator=generator).numpy())

        def batch_loss(idx: np.ndarray) -> torch.Tensor:
            starts = random_patch_starts(volumes.shape[1:], self.patch_size, len(idx), rng)
            patches = crop_batch(volumes[idx], starts, self._patch_zyx)
            output = net(patches.to(self.device_), data["tabular"][idx])
            return self._output_loss(output, {k: v[idx] for k, v in data["targets"].items()})

        def validation() -> float:
            output = self._outputs(net, val_data["volumes"], val_data["tabular"])
            return self._output_loss(output, val_data["targets"]).item()

        return train_network(
            net, settings, batches, batch_loss, name=self.name, groups=groups, epochs=epochs,
            validation=None if val_data is None else validation,
        )  # fmt: skip

    # -- inference ----------------------------------------------------------------------------
    def _case_output(
        self, net: nn.Module, volume: torch.Tensor, tabular: torch.Tensor
    ) -> torch.Tensor:
        """Output ``(1, K)`` of one case (``volume`` ``(1, C, z, y, x)``, ``tabular`` ``(1, p)``):
        the whole volume, or the mean over the patch grid (differentiable either way)."""
        volume = volume.to(self.device_)
        if self.inference == "volume":
            return net(volume, tabular)
        starts = grid_patch_starts(volume.shape[1:], self.patch_size)
        patches = crop_batch(volume.expand(len(starts), *volume.shape[1:]), starts, self._patch_zyx)
        return net(patches, tabular.expand(len(starts), -1)).mean(dim=0, keepdim=True)

    def _outputs(
        self, net: nn.Module, volumes: torch.Tensor, tabular: torch.Tensor
    ) -> torch.Tensor:
        """Outputs ``(n, K)`` of a set of cases in eval mode (the train/eval mode is restored)."""
        was_training = net.training
        net.eval()
        try:
            rows = [
                self._case_output(net, volumes[i : i + 1], tabular[i : i + 1])
                for i in range(volumes.shape[0])
            ]
        finally:
            net.train(was_training)
        return torch.cat(rows)

    def _predict_outputs(self, Z: ImageRows) -> torch.Tensor:
        if not hasattr(self, "network_"):
            raise ConfigError(f"Model '{self.name}' is not fitted yet; call fit first.")
        data = self._tensors(Z, np.zeros(len(Z), bool), np.ones(len(Z)))
        with torch.no_grad():
            return self._outputs(self.network_, data["volumes"], data["tabular"])

    def _risk_matrix(self, Z: ImageRows) -> np.ndarray:
        return self._risk_from_output(self._predict_outputs(Z)).double().cpu().numpy()

    def risk_function(self, X: Any) -> nn.Module:
        """The model's risk as a function of the CT alone for the one table row ``X``: a module
        mapping ``(1, C, z, y, x)`` to ``(1,)`` with the row's table values fixed, for Grad-CAM and
        voxel Integrated Gradients (its submodule ``net`` is the trained network)."""
        Z = self._matrix(X)
        if len(Z) != 1:
            raise InputError(f"risk_function explains one case at a time; got {len(Z)} rows.")
        tabular = torch.as_tensor(Z.tabular, dtype=torch.float32, device=self.device_)
        return _CaseRisk(self, tabular)


class _CaseRisk(nn.Module):
    """An image model's risk of one case as a function of its volume (table values fixed)."""

    def __init__(self, model: ImageSurvivalModel, tabular: torch.Tensor) -> None:
        super().__init__()
        self.net = model.network_
        self._model = model
        self.register_buffer("tabular", tabular)
        last_block = getattr(self.net, "last_block", None)
        if last_block is not None:
            self.last_block = last_block  # the default Grad-CAM layer
        self.eval()  # the reported risk: explainers restore this mode, not training mode

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        outputs = [
            self._model._case_output(self.net, volume[i : i + 1], self.tabular)
            for i in range(volume.shape[0])
        ]
        return self._model._risk_from_output(torch.cat(outputs)).reshape(-1)
