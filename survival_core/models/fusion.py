"""Multimodal fusion (Wei 2021): clinical VAE-SurvNet + radiomics VAE-SurvNet + 3-D CNN, fused.

The three single-source networks are first trained separately on the training rows (each with its
own early stopping on the same validation rows), exactly as their stand-alone models would be
(:class:`~survival_core.models.vaesurv.VAESurv`, :class:`~survival_core.models.cnn3d.CNN3DModel`).
Their last hidden layers (the VAE heads' last hidden layer, the CNN's FC-64 embedding) are then
concatenated into a new linear Cox head, and the whole network is fine-tuned with two learning
rates: ``lr_pretrained`` (Wei 2021: 1e-4) for the three pretrained parts and ``lr`` (1e-2) for the
new head.

Table columns are split by name (:func:`survival_core.columns.is_image_feature`): the
clinical variables of any cohort (one-hot columns ``name=value`` included) feed the clinical VAE,
the image features (radiomics, deep) the radiomics VAE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from survival_core.columns import is_image_feature
from survival_core.errors import ConfigError
from survival_core.models.cnn3d import CNN3DModel
from survival_core.models.image_base import ImageSurvivalModel
from survival_core.models.losses import cox_nll, cox_output
from survival_core.models.networks import CNN3DSurv
from survival_core.models.training_loop import TrainingSettings, decay_groups
from survival_core.models.vaesurv import VAENet, VAESurv

#: CNN3DModel parameters the fusion sets itself (its own image geometry, seed and device).
_SHARED = ("volume_shape", "window", "margin_mm", "patch_size", "inference", "seed", "device")


def is_clinical(column: str) -> bool:
    """Whether a model input column is a clinical variable (or one of its one-hot columns)."""
    return not is_image_feature(column)


def _vae_width(net: VAENet) -> int:
    linear = [m for m in net.head.modules() if isinstance(m, nn.Linear)]
    return linear[-2].out_features if len(linear) > 1 else net.mu.out_features


def _vae_last_layer(net: VAENet, x: torch.Tensor) -> torch.Tensor:
    """The VAE head's last hidden activation (its latent when the head has no hidden layer)."""
    z, _, _ = net.encode(x)
    return net.head[0](z)


def _branch(name: str, klass: type, given: dict[str, Any], fusion: dict[str, Any]) -> Any:
    """One branch model of its ``given`` parameters (over those the fusion model sets for it);
    :class:`ConfigError` naming the branch and its parameters ('clinical: {dropout: high}' gave
    "'<' not supported between instances of 'str' and 'int'")."""
    unknown = sorted(set(given) - set(klass.param_names()))
    if unknown:
        raise ConfigError(
            f"The fusion branch {name!r} has no parameter(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(klass.param_names())}."
        )
    try:
        return klass(**{**fusion, **given})
    except (TypeError, ValueError) as err:
        shown = ", ".join(f"{k}={v!r}" for k, v in given.items() if isinstance(v, str))
        raise ConfigError(
            f"The fusion branch {name!r} has an invalid parameter value"
            + (f" (text where a number may be expected: {shown})" if shown else "")
            + f": {err}"
        ) from err


class FusionNet(nn.Module):
    """Clinical VAE + radiomics VAE + CNN, their last layers concatenated into a Cox head."""

    def __init__(
        self,
        clinical: VAENet,
        radiomics: VAENet,
        cnn: CNN3DSurv,
        clinical_columns: Sequence[int],
        radiomics_columns: Sequence[int],
    ) -> None:
        super().__init__()
        self.clinical, self.radiomics, self.cnn = clinical, radiomics, cnn
        self.register_buffer(
            "clinical_columns", torch.as_tensor(clinical_columns, dtype=torch.long)
        )
        self.register_buffer(
            "radiomics_columns", torch.as_tensor(radiomics_columns, dtype=torch.long)
        )
        width = _vae_width(clinical) + _vae_width(radiomics) + cnn.embedding_dim
        self.head = cox_output(nn.Linear(width, 1))
        self.last_block = cnn.last_block

    def pretrained_parameters(self) -> list[nn.Parameter]:
        return [p for part in (self.clinical, self.radiomics, self.cnn) for p in part.parameters()]

    def forward(self, volume: torch.Tensor, tabular: torch.Tensor) -> torch.Tensor:
        """Log-hazard ``(N,)``."""
        parts = [
            _vae_last_layer(self.clinical, tabular[:, self.clinical_columns]),
            _vae_last_layer(self.radiomics, tabular[:, self.radiomics_columns]),
            self.cnn.embed(volume),
        ]
        return self.head(torch.cat(parts, dim=1)).squeeze(1)


class FusionModel(ImageSurvivalModel):
    """Wei 2021's fusion of clinical, radiomics and CT.

    Parameters
    ----------
    clinical, radiomics : :class:`VAESurv` parameters of the two table branches (e.g.
        ``{"latent_dim": 4, "epochs": 100}``); unspecified ones keep VAESurv's defaults.
    cnn : :class:`CNN3DModel` parameters of the image branch (network and its training); the
        geometry (volume_shape, window, margin_mm, patch_size, inference), seed and device are the
        fusion's own.
    volume_shape, window, margin_mm, patch_size, inference : as :class:`CNN3DModel`.
    lr : learning rate of the new head during fine-tuning (Wei 2021: 1e-2).
    lr_pretrained : learning rate of the three pretrained parts during fine-tuning (1e-4).
    weight_decay, epochs, patience, validation_fraction, batch_size, seed, device : fine-tuning.
    """

    name = "fusion"
    training_defaults = TrainingSettings(lr=1e-2, epochs=30, patience=5, batch_size=16)
    final_stage = "fine_tune"

    def __init__(
        self,
        clinical: dict[str, Any] | None = None,
        radiomics: dict[str, Any] | None = None,
        cnn: dict[str, Any] | None = None,
        volume_shape: Sequence[int] = (224, 224, 48),
        window: str = "arterial",
        margin_mm: float = 10.0,
        patch_size: Sequence[int] = (80, 80, 40),
        inference: str = "volume",
        lr_pretrained: float = 1e-4,
        **training: Any,
    ) -> None:
        self.clinical = dict(clinical or {})
        self.radiomics = dict(radiomics or {})
        self.cnn = dict(cnn or {})
        clash = sorted(set(self.cnn) & set(_SHARED))
        if clash:
            raise ConfigError(
                f"Set {', '.join(clash)} on the fusion model itself, not in its cnn parameters."
            )
        if float(lr_pretrained) <= 0:
            raise ConfigError(f"lr_pretrained must be > 0; got {lr_pretrained!r}.")
        self.lr_pretrained = lr_pretrained
        self._set_image_params(volume_shape, window, margin_mm, patch_size, inference)
        self._set_training(training)
        self._branches()  # check the branch parameters now

    def _branches(self) -> tuple[VAESurv, VAESurv, CNN3DModel]:
        """The three single-source models, configured (unfitted)."""
        shared = {name: getattr(self, name) for name in _SHARED}
        own = {"seed": self.seed, "device": self.device}
        return (
            _branch("clinical", VAESurv, self.clinical, own),
            _branch("radiomics", VAESurv, self.radiomics, own),
            _branch("cnn", CNN3DModel, self.cnn, shared),
        )

    def _column_groups(self) -> tuple[list[int], list[int]]:
        names = self.features_used_
        clinical = [i for i, name in enumerate(names) if is_clinical(name)]
        radiomics = [i for i, name in enumerate(names) if not is_clinical(name)]
        if not clinical or not radiomics:
            raise ConfigError(
                "The fusion model needs both clinical and radiomics columns; the table has "
                f"{len(clinical)} clinical and {len(radiomics)} other column(s). Join clinical.csv "
                "and a radiomics table (--table clinical.csv --table radiomics.parquet)."
            )
        return clinical, radiomics

    def _build_network(self, n_features: int) -> FusionNet:
        clinical_columns, radiomics_columns = self._column_groups()
        clinical, radiomics, cnn = self._branches()
        return FusionNet(
            clinical._build_network(len(clinical_columns)),
            radiomics._build_network(len(radiomics_columns)),
            cnn._build_network(0),
            clinical_columns,
            radiomics_columns,
        )

    def _output_loss(self, output: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        return cox_nll(output.reshape(-1), targets["event"], targets["time"])

    def _risk_from_output(self, output: torch.Tensor) -> torch.Tensor:
        return output.reshape(-1)

    def _fit_network(
        self,
        net: FusionNet,
        data: dict[str, Any],
        val_data: dict[str, Any] | None,
        generator: torch.Generator,
    ) -> dict[str, Any]:
        """Train each branch alone, then fine-tune everything with two learning rates."""
        clinical, radiomics, cnn = self._branches()
        history: dict[str, Any] = {}
        for key, branch, part, columns in (
            ("clinical", clinical, net.clinical, net.clinical_columns),
            ("radiomics", radiomics, net.radiomics, net.radiomics_columns),
        ):
            branch.device_ = self.device_
            rows = (data["tabular"][:, columns], data["targets"])
            val = (
                None if val_data is None else (val_data["tabular"][:, columns], val_data["targets"])
            )
            history[key] = branch._fit_network(part, rows, val, generator)
        cnn.device_ = self.device_
        cnn_groups = decay_groups(net.cnn, cnn.weight_decay)
        history["cnn"] = cnn._train_images(net.cnn, data, val_data, cnn_groups, generator)
        pretrained = net.pretrained_parameters()
        groups = [
            {"params": pretrained, "lr": float(self.lr_pretrained), "weight_decay": 0.0},
            {"params": list(net.head.parameters()), "lr": float(self.lr),
             "weight_decay": float(self.weight_decay)},
        ]  # fmt: skip
        history["fine_tune"] = self._train_images(net, data, val_data, groups, generator)
        history["best_epoch"] = history["fine_tune"]["best_epoch"]
        return history
