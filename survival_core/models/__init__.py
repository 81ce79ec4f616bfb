"""Survival models behind one interface (see :mod:`survival_core.models.base`).

``MODELS`` maps registry names to classes; :func:`make_model` builds one from a name and keyword
parameters (as read from a config file), refusing unknown names and parameters with a
:class:`~survival_core.errors.ConfigError` that lists what is allowed; :func:`load_model` reads a
saved model folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from survival_core.errors import ConfigError
from survival_core.models.base import SurvivalModel, TorchSurvivalModel
from survival_core.models.registry import CLASSES, MODELS, import_class

#: Other public names of this package, imported on first use like the models.
_LAZY = {klass: module for module, klass in CLASSES.values()} | {"ImageSurvivalModel": "image_base"}
#: Models that read each row's CT (they need ``with_images``); the others read tables only
#: (tests/test_models.py checks this against the classes).
IMAGE_MODELS = ("cnn3d", "fusion", "resnet_fusion")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return import_class(_LAZY[name], name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_model(name: str, **params: Any) -> SurvivalModel:
    """A new, unfitted model ``name`` with ``params`` (others keep their defaults)."""
    klass = MODELS.get(name)
    if klass is None:
        raise ConfigError(f"Unknown model {name!r}; choose one of: {', '.join(MODELS)}.")
    allowed = klass.param_names()
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(
            f"Model {name!r} has no parameter(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}."
        )
    try:
        return klass(**params)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"Invalid parameter value for model {name!r}: {err}") from err


def is_network(name: str) -> bool:
    """Whether model ``name`` is a torch network (its folds may ask a cluster for a GPU)."""
    klass = MODELS.get(name)
    if klass is None:
        raise ConfigError(f"Unknown model {name!r}; choose one of: {', '.join(MODELS)}.")
    return issubclass(klass, TorchSurvivalModel)


def load_model(folder: str | Path) -> SurvivalModel:
    """Read a model folder written by ``model.save(folder)``."""
    return SurvivalModel.load(folder)


__all__ = [
    "IMAGE_MODELS",
    "MODELS",
    "CNN3DModel",
    "Coxnet",
    "CoxPH",
    "DeepSurv",
    "DiscreteTimeSurv",
    "FusionModel",
    "ImageSurvivalModel",
    "LassoCox",
    "RandomSurvivalForestModel",
    "ResNetFusion",
    "SurvivalModel",
    "TorchSurvivalModel",
    "VAESurv",
    "is_network",
    "load_model",
    "make_model",
]
