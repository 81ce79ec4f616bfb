"""The model registry: registry names to model classes, each module imported on first use.

Kept apart from the package's ``__init__`` so that :meth:`SurvivalModel.load
<survival_core.models.base.SurvivalModel.load>` can find a saved model's class without importing
the package that imports it (no import circle).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from survival_core.models.base import SurvivalModel

#: Registry name -> (module under survival_core.models, class). Modules are imported on first use,
#: so scoring a Cox model does not import MONAI for the image networks.
CLASSES: dict[str, tuple[str, str]] = {
    "coxph": ("coxph", "CoxPH"),
    "coxnet": ("coxnet", "Coxnet"),
    "lasso_cox": ("coxnet", "LassoCox"),
    "rsf": ("forest", "RandomSurvivalForestModel"),
    "gbsa": ("boosting", "GradientBoostedCox"),
    "auto": ("selection", "AutoSurvival"),
    "ensemble": ("selection", "EnsembleSurvival"),
    "deepsurv": ("deepsurv", "DeepSurv"),
    "vaesurv": ("vaesurv", "VAESurv"),
    "discrete": ("discrete", "DiscreteTimeSurv"),
    "cnn3d": ("cnn3d", "CNN3DModel"),
    "fusion": ("fusion", "FusionModel"),
    "resnet_fusion": ("resnet_fusion", "ResNetFusion"),
}


def import_class(module: str, name: str) -> Any:
    """``name`` of the module ``survival_core.models.<module>``, imported now if need be."""
    return getattr(importlib.import_module(f"survival_core.models.{module}"), name)


class _Registry(Mapping[str, type]):
    """``MODELS``: a read-only mapping of registry names to classes, each imported when asked."""

    def __getitem__(self, name: str) -> type[SurvivalModel]:
        return import_class(*CLASSES[name])

    def __iter__(self) -> Iterator[str]:
        return iter(CLASSES)

    def __len__(self) -> int:
        return len(CLASSES)


MODELS: Mapping[str, type[SurvivalModel]] = _Registry()


def is_linear_cox(model: Any) -> bool:
    """Whether ``model`` (a model or a model class) is a (penalised) linear Cox model: its exact
    attributions are coefficient x (x - baseline), and it is the only kind that few events per
    variable can support (forests, boosting and networks need many more)."""
    kind = model if isinstance(model, type) else type(model)
    return issubclass(kind, (MODELS["coxph"], MODELS["coxnet"]))
