"""The contract every survival model in RadSurv follows, and the base of the torch models.

A model is fitted with ``fit(X, y)`` where ``X`` is a table (pandas DataFrame, or an array whose
columns get the names x0, x1, ...) and ``y`` a structured array from ``sksurv.util.Surv``
(an event indicator field, then a time field in days). Every model then gives

- ``predict_risk(X)``: one score per row, higher = worse prognosis;
- ``predict_survival(X, times)``: S(t | x), an array (rows, len(times)) in [0, 1], non-increasing;
- ``save(folder)`` / ``SurvivalModel.load(folder)``: ``model.json`` (hyper-parameters, the feature
  schema and preprocessing, the Breslow baseline, fitted coefficients) plus, for torch models,
  ``weights.pt`` (a ``state_dict`` read back with ``torch.load(weights_only=True)``) and for the
  forest ``forest.npz`` (numeric arrays, read with ``allow_pickle=False``). Nothing is unpickled.

Inputs pass through a :class:`TablePreprocessor` fitted on the training rows only (identifiers
dropped, imputation, one-hot, z-scores), so test rows never inform preprocessing.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch

from survival_core.errors import ConfigError, InputError
from survival_core.io.atomic import json_ready
from survival_core.models.baseline import BreslowBaseline
from survival_core.models.device import loading_device, resolve_device, seeded
from survival_core.models.reduction import ReductionChain, selector_from_dict
from survival_core.models.registry import MODELS
from survival_core.models.tabular import TablePreprocessor
from survival_core.models.training_loop import TrainingSettings, train_network
from survival_core.models.weights_file import load_tensors, mismatch
from survival_core.outcome import survival_arrays, training_arrays

MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.pt"
FORMAT = "radsurv-survival-model"
FORMAT_VERSION = 1
#: The saved state of a null model (:attr:`SurvivalModel.null_`).
NULL_STATE = "null_model"


def check_times(times: Any) -> np.ndarray:
    """Evaluation times for survival curves as a 1-D float array (days, >= 0)."""
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if times.ndim != 1 or not np.all(np.isfinite(times)) or np.any(times < 0):
        raise InputError(
            "Survival times to evaluate must be a 1-D list of finite values >= 0 (days)."
        )
    return times


#: How far past a model's last estimated time (``survival_until``) its survival is still read
#: there, as a share of that time: 36 months are 1,095.75 days, past yearly edges of 1,095 days
#: or 156 weeks (1,092 days), where the 3-year survival was then not reported.
UNTIL_SLACK = 0.005


def survival_reach(model: Any) -> float:
    """The last time (days) ``model``'s survival is reported at: its ``survival_until`` and
    :data:`UNTIL_SLACK` beyond (no limit for a model estimating survival at every time)."""
    return getattr(model, "survival_until", float("inf")) * (1 + UNTIL_SLACK)


class SurvivalModel:
    """Base class: preprocessing, the fit/predict/save/load flow and parameter handling.

    Subclasses set ``name`` (the registry key), define ``__init__`` with keyword parameters stored
    under the same names, and implement ``_fit_matrix``, ``_risk_matrix``, ``_state`` and
    ``_set_state``. Models whose risk is a log-hazard set ``uses_baseline = True`` and get their
    survival curves from a Breslow baseline fitted on the training rows.
    """

    name: ClassVar[str] = ""
    uses_baseline: ClassVar[bool] = True
    #: Whether the model guards its own variables on small data (its penalty chosen by inner
    #: cross-validation, or a choice's own small-data warnings): no events-per-variable caution.
    guards_variables: ClassVar[bool] = False
    #: The parameter that shrinks the model's coefficients, when a search may choose it by inner
    #: cross-validation (then guarding its variables as coxnet's does).
    penalty_param: ClassVar[str | None] = None
    #: Whether the fitted model is a null model: its feature reduction kept no feature, so every
    #: patient gets the same risk and the training rows' survival curve.
    null_: bool = False
    #: The last time (days) the model estimates survival at; its curve is carried flat beyond.
    survival_until: float = float("inf")

    @property
    def risk_scale(self) -> str:
        """What the risk score is (higher = worse), as the pages and reports name it."""
        return "log relative hazard" if self.uses_baseline else "the model's own scale"

    def why_one_risk(self) -> str:
        """What to do when the fitted model gives every training patient the same risk (`fit`
        refuses it, :func:`~survival_core.models.card.build_card`)."""
        return (
            "With few patients, fit a model with fewer parameters (coxph, coxnet); a forest "
            "needs smaller minimum leaf and split sizes, a network more epochs or another "
            "learning rate."
        )

    @property
    def is_network(self) -> bool:
        """Whether ``fit`` trains a torch network, whose early stopping takes validation rows
        (``X_val``, ``y_val``) and keeps an epoch (``n_validation_``, ``epochs_kept``)."""
        return isinstance(self, TorchSurvivalModel)

    @property
    def curves_may_cross(self) -> bool:
        """Whether two patients' survival curves can cross, so that the one of higher risk may
        have the better survival at some time; a log-hazard model's (proportional hazards, a
        Breslow baseline) never do."""
        return not self.uses_baseline

    @classmethod
    def param_names(cls) -> list[str]:
        """The constructor parameters, in order."""
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters as set (scikit-learn's contract, so ``sklearn.base.clone``
        and its searches take these models; ``deep`` changes nothing: none holds an estimator)."""
        return {p: getattr(self, p) for p in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters by name (scikit-learn's contract), checked and normalised
        by the constructor as when the model is made; returns the model."""
        unknown = sorted(set(params) - set(self.param_names()))
        if unknown:
            raise ConfigError(
                f"Model '{self.name}' has no parameter(s) {', '.join(unknown)}; it takes "
                f"{', '.join(self.param_names())}."
            )
        checked = type(self)(**{**self.get_params(), **params})
        self.__dict__.update(
            {name: value for name, value in vars(checked).items() if not name.endswith("_")}
        )
        return self

    def __sklearn_clone__(self) -> Self:
        """An unfitted model with the same parameters, for ``sklearn.base.clone``: rebuilt through
        the constructor, which checks and normalises them (``hidden=[32, 16]`` -> ``(32, 16)``),
        where scikit-learn's own clone wants each parameter kept as the very object given."""
        return type(self)(**copy.deepcopy(self.get_params()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fitting and prediction -------------------------------------------------------------
    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None) -> SurvivalModel:
        """Fit preprocessing and model on training rows ``X`` with labels ``y``.

        ``X_val``/``y_val`` (neural models only) replace the internal validation split used for
        early stopping; they are preprocessed with the training-fitted preprocessing.
        """
        event, time = training_arrays(y)
        if len(X) != len(event):
            raise InputError(f"X has {len(X)} rows but y has {len(event)} labels.")
        self.preprocessor_ = self._make_preprocessor().fit(X)
        frame = self.preprocessor_.transform(X)
        chain = getattr(self, "reduction", None)
        self.reduction_ = None if chain is None else chain.fit(frame, y)
        if self.reduction_ is not None:
            self.preprocessor_.notes_.extend(self.reduction_.notes_)
        Z = self._reduce(frame)
        self.null_ = self.reduction_ is not None and Z.shape[1] == 0
        if self.null_:  # nothing passed the filter: no signal it finds, not a failure
            self.baseline_ = BreslowBaseline().fit(np.zeros(len(event)), event, time)
            self.preprocessor_.notes_.append(
                f"feature reduction {self.emptied_by} kept no feature on these training rows: a "
                "null model (every patient the same risk; c-index 0.5)"
            )
            return self
        validation = None
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ConfigError("Pass both X_val and y_val, or neither.")
            if not isinstance(self, TorchSurvivalModel):
                raise ConfigError(
                    f"Model '{self.name}' has no early stopping; X_val/y_val are not used."
                )
            val_event, val_time = survival_arrays(y_val)
            validation = (self._matrix(X_val), val_event, val_time)
        self._fit_matrix(Z, event, time, validation)
        if self.uses_baseline:
            self.baseline_ = BreslowBaseline().fit(self._risk_matrix(Z), event, time)
        return self

    def _make_preprocessor(self) -> TablePreprocessor:
        """The table preprocessing fitted on the training rows (image-only models accept none)."""
        return TablePreprocessor()

    def with_reduction(self, chain: ReductionChain | None) -> SurvivalModel:
        """Fit ``chain`` (feature reduction) on the preprocessed training rows before the model.

        The fitted chain is part of the model: applied at prediction, saved and loaded with it.
        """
        self.reduction = chain
        return self

    @property
    def emptied_by(self) -> str | None:
        """Where the fitted model is a null model, its feature-reduction step that kept no
        feature, as a note names it; else None."""
        return self.reduction_.kept_nothing() if self.null_ else None

    @property
    def features_used_(self) -> list[str]:
        """Model input columns after preprocessing and reduction."""
        if getattr(self, "reduction_", None) is not None:
            return list(self.reduction_.feature_names_out_)
        return list(self.preprocessor_.feature_names_out_)

    def _reduce(self, frame: Any) -> np.ndarray:
        if getattr(self, "reduction_", None) is not None:
            frame = self.reduction_.transform(frame)
        return np.asarray(frame, dtype=float)

    def _matrix(self, X: Any) -> np.ndarray:
        if not hasattr(self, "preprocessor_"):
            raise ConfigError(f"Model '{self.name}' is not fitted yet; call fit first.")
        return self._reduce(self.preprocessor_.transform(X))

    def predict_risk(self, X: Any) -> np.ndarray:
        """Risk score per row (higher = worse)."""
        Z = self._matrix(X)
        return np.zeros(len(Z)) if self.null_ else self._risk_matrix(Z)

    def predict_survival(self, X: Any, times: Any) -> np.ndarray:
        """Survival probability S(t | x), shape (rows, len(times))."""
        times = check_times(times)
        Z = self._matrix(X)
        if self.null_:  # the training rows' Breslow (Nelson-Aalen) curve for every patient
            return self.baseline_.survival(np.zeros(len(Z)), times)
        return self._survival_matrix(Z, times)

    def _survival_matrix(self, Z: np.ndarray, times: np.ndarray) -> np.ndarray:
        return self.baseline_.survival(self._risk_matrix(Z), times)

    def _fit_matrix(
        self, Z: np.ndarray, event: np.ndarray, time: np.ndarray, validation: Any
    ) -> None:
        raise NotImplementedError

    def _risk_matrix(self, Z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _state(self, folder: Path) -> dict[str, Any]:
        """JSON-ready fitted state; may also write weight files into ``folder``."""
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any], folder: Path) -> None:
        raise NotImplementedError

    # -- persistence --------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the fitted model into ``folder`` (created if needed); returns the folder."""
        if not hasattr(self, "preprocessor_"):
            raise ConfigError(f"Model '{self.name}' is not fitted yet; nothing to save.")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        document = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "model": self.name,
            "params": json_ready(self.get_params()),
            "feature_schema": self.preprocessor_.input_schema_,
            "preprocessing": self.preprocessor_.to_dict(),
            "reduction": None if self.reduction_ is None else self.reduction_.to_dict(),
            "baseline": self.baseline_.to_dict() if self.uses_baseline or self.null_ else None,
            "state": {NULL_STATE: True} if self.null_ else self._state(folder),
        }
        (folder / MODEL_FILE).write_text(json.dumps(document, indent=1, allow_nan=False))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SurvivalModel:
        """Read a model written by :meth:`save`; only JSON, .pt state dicts and .npz are read."""
        path = Path(folder) / MODEL_FILE
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError as err:
            raise InputError(f"No saved model in {folder}: {MODEL_FILE} is missing.") from err
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(f"{path} is not a readable model file: {err}") from err
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise InputError(f"{path} is not a RadSurv model file.")
        if document.get("version") != FORMAT_VERSION:
            raise InputError(
                f"{path} has format version {document.get('version')}; this RadSurv reads {FORMAT_VERSION}."
            )
        klass = MODELS.get(document.get("model"))
        if klass is None or not issubclass(klass, cls):
            raise InputError(
                f"{path} holds a model of unknown or unexpected type {document.get('model')!r}."
            )
        try:
            model = klass(**document["params"])
            model.preprocessor_ = TablePreprocessor.from_dict(document["preprocessing"])
            reduction = document.get("reduction")
            model.reduction_ = None if reduction is None else selector_from_dict(reduction)
            null = document["state"] == {NULL_STATE: True}
            if klass.uses_baseline or null:
                model.baseline_ = BreslowBaseline.from_dict(document["baseline"])
            if null:
                model.null_ = True
            else:
                model._set_state(document["state"], Path(folder))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{path} is incomplete or malformed: {err}") from err
        return model


def mlp_widths(hidden: Sequence[int], dropout: float, name: str = "hidden") -> tuple[int, ...]:
    """``hidden`` as layer widths, checked with ``dropout`` before any training: a width of 0 or a
    dropout of 1 or more made every fold a constant (c-index 0.5) or a torch traceback."""
    if not 0 <= dropout < 1:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout}.")
    widths = tuple(int(h) for h in hidden)
    if min(widths, default=1) < 1:
        raise ConfigError(f"{name} layer widths must be >= 1, got {list(widths)}.")
    return widths


def mlp(
    n_in: int,
    hidden: tuple[int, ...],
    dropout: float = 0.0,
    batchnorm: bool = False,
) -> tuple[torch.nn.Sequential, int]:
    """Linear -> (BatchNorm) -> ReLU -> (Dropout) blocks; returns the stack and its output width."""
    layers: list[torch.nn.Module] = []
    width = n_in
    for units in hidden:
        layers.append(torch.nn.Linear(width, units))
        if batchnorm:
            layers.append(torch.nn.BatchNorm1d(units))
        layers.append(torch.nn.ReLU())
        if dropout > 0:
            layers.append(torch.nn.Dropout(dropout))
        width = units
    return torch.nn.Sequential(*layers), width


def stratified_split(
    event: np.ndarray, fraction: float, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) row indices; ``fraction`` of events and of censored rows go to validation."""
    train, val = [], []
    for group in (np.flatnonzero(event), np.flatnonzero(~event)):
        order = group[torch.randperm(len(group), generator=generator).numpy()]
        n_val = int(round(fraction * len(group)))
        n_val = min(max(n_val, 1), len(group) - 1) if fraction > 0 and len(group) >= 2 else 0
        val.append(order[:n_val])
        train.append(order[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


class _TrainingParam:
    """A torch model's training parameter, read from (and set through) its ``training_settings``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, model: Any, owner: type | None = None) -> Any:
        return self if model is None else getattr(model.training_settings, self.name)

    def __set__(self, model: Any, value: Any) -> None:
        model.training_settings = replace(model.training_settings, **{self.name: value})


class TorchSurvivalModel(SurvivalModel):
    """Base of the neural models, trained by :func:`train_network` (Adam, early stopping).

    Subclasses implement ``_build_network(n_features)``, ``_targets(event, time)`` (a dict of
    tensors, one row per subject) and ``_loss(net, x, targets)``. Their constructors take the
    :class:`TrainingSettings` fields as ``**training`` (shown in the signature and type hints,
    defaults ``training_defaults``), kept in ``training_settings``; ``model.lr`` etc. read it, and
    assigning one replaces (and re-checks) the settings. Training is full batch by default (the Cox
    loss needs whole risk sets); with ``batch_size`` the Cox risk sets are those within each
    mini-batch, an approximation. The validation rows are ``validation_fraction`` of the training
    rows split stratified by event, or explicit ``X_val``/``y_val``. Where they hold no event
    (a rare-event cohort's small fold) and the loss is a Cox loss, which is 0 on rows without
    one, early stopping is off (it kept the first epoch's weights), said in the fit's notes.
    """

    training_defaults: ClassVar[TrainingSettings] = TrainingSettings()
    #: Whether the validation loss says nothing without an event among the rows (a Cox loss).
    validation_needs_events: ClassVar[bool] = True
    #: Early stopping keeps no epoch before this one (:func:`train_network`'s ``warmup``).
    warmup_epochs: ClassVar[int] = 0
    #: The key of the final training stage's history in ``history_`` (None: ``history_`` itself).
    final_stage: ClassVar[str | None] = None
    lr, weight_decay, epochs, patience, validation_fraction, batch_size, seed, device = (
        _TrainingParam() for _ in range(8)
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        training = [
            inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=f.type,
                              default=getattr(cls.training_defaults, f.name))
            for f in fields(TrainingSettings)
        ]  # fmt: skip
        init.__signature__ = signature.replace(parameters=own + training)
        init.__annotations__.pop("training", None)
        init.__annotations__.update({p.name: p.annotation for p in training})

    def _set_training(self, training: dict[str, Any]) -> None:
        """Check and keep the training keywords the constructor was given (others: defaults)."""
        self.training_settings = replace(self.training_defaults, **training)

    def _build_network(self, n_features: int) -> torch.nn.Module:
        raise NotImplementedError

    def _targets(self, event: np.ndarray, time: np.ndarray) -> dict[str, torch.Tensor]:
        return {
            # fresh copies: field views of structured arrays can be strided oddly
            "event": torch.tensor(np.asarray(event, dtype=np.float32).tolist()),
            "time": torch.tensor(np.asarray(time, dtype=float).tolist(), dtype=torch.float64),
        }

    def _loss(
        self, net: torch.nn.Module, x: torch.Tensor, targets: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        raise NotImplementedError

    def _fit_matrix(
        self, Z: np.ndarray, event: np.ndarray, time: np.ndarray, validation: Any
    ) -> None:
        self.device_ = resolve_device(self.device)
        with seeded(int(self.seed)) as generator:
            if validation is None and self.validation_fraction > 0:
                train_idx, val_idx = stratified_split(
                    event, float(self.validation_fraction), generator
                )
                if self._blind_validation(event[val_idx]):
                    self._note_blind_validation(len(val_idx))
                else:
                    validation = (Z[val_idx], event[val_idx], time[val_idx])
                    Z, event, time = Z[train_idx], event[train_idx], time[train_idx]
            elif validation is not None and self._blind_validation(validation[1]):
                self._note_blind_validation(len(validation[1]))
                validation = None
            self.n_validation_ = 0 if validation is None else len(validation[1])
            self.network_ = self._build_network(Z.shape[1]).to(self.device_)
            data = self._tensors(Z, event, time)
            val_data = self._tensors(*validation) if validation is not None else None
            self.history_ = self._fit_network(self.network_, data, val_data, generator)

    def epochs_kept(self) -> dict[str, int]:
        """The epoch whose weights the final training stage kept and the epochs it trained: a CV
        fold's, beside its metrics (early stopping at work, or a network that kept epoch 1); none
        for a null model, which trained no network (its reduction kept no feature)."""
        if self.null_:
            return {}
        history = self.history_ if self.final_stage is None else self.history_[self.final_stage]
        return {"best_epoch": int(history["best_epoch"]), "epochs_trained": len(history["train"])}

    def _blind_validation(self, event: np.ndarray) -> bool:
        """Whether validation rows of events ``event`` cannot stop training early: no event
        among them, on which the loss says nothing."""
        return self.validation_needs_events and not event.any()

    def _note_blind_validation(self, rows: int) -> None:
        """Say in the fit's notes that early stopping was off, and why."""
        self.preprocessor_.notes_.append(
            f"The {rows} validation rows hold no event, on which the Cox loss says nothing: "
            f"early stopping was off, all {self.epochs} epochs trained."
        )

    def _tensors(
        self, Z: np.ndarray, event: np.ndarray, time: np.ndarray
    ) -> tuple[torch.Tensor, dict]:
        x = torch.as_tensor(Z, dtype=torch.float32, device=self.device_)
        targets = {k: v.to(self.device_) for k, v in self._targets(event, time).items()}
        return x, targets

    def _fit_network(
        self,
        net: torch.nn.Module,
        data: tuple[torch.Tensor, dict],
        val_data: tuple[torch.Tensor, dict] | None,
        generator: torch.Generator,
        loss_fn: Callable[[torch.nn.Module, torch.Tensor, dict], torch.Tensor] | None = None,
        epochs: int | None = None,
    ) -> dict[str, Any]:
        """Train ``net`` with ``loss_fn`` (default the model's loss) by :func:`train_network`, on
        row batches (shuffled when smaller than the data); returns the loss history."""
        settings, loss_fn = self.training_settings, loss_fn or self._loss
        x, targets = data
        n = x.shape[0]

        def batches() -> Iterator[Any]:
            if settings.batch_rows(n) == n:  # full batch: no shuffling
                return settings.minibatches(n)
            return settings.minibatches(n, torch.randperm(n, generator=generator).to(x.device))

        def batch_loss(idx: Any) -> torch.Tensor:
            return loss_fn(net, x[idx], {k: v[idx] for k, v in targets.items()})

        return train_network(
            net, settings, batches, batch_loss, name=self.name, epochs=epochs,
            validation=None if val_data is None else lambda: loss_fn(net, *val_data).item(),
            warmup=self.warmup_epochs,
        )  # fmt: skip

    def _risk_matrix(self, Z: np.ndarray) -> np.ndarray:
        """The network output, a log-hazard for the Cox-trained models."""
        return self._forward_numpy(Z).reshape(-1).double().cpu().numpy()

    def _forward_numpy(self, Z: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(Z, dtype=torch.float32, device=self.device_)
        self.network_.eval()
        with torch.no_grad():
            return self.network_(x)

    def _state(self, folder: Path) -> dict[str, Any]:
        state = {k: v.detach().cpu() for k, v in self.network_.state_dict().items()}
        torch.save(state, folder / WEIGHTS_FILE)
        return {"n_features": len(self.features_used_), "history": self.history_}

    def _set_state(self, state: dict[str, Any], folder: Path) -> None:
        self.device_ = loading_device(self.device)
        path = folder / WEIGHTS_FILE
        weights = load_tensors(path, self.device_, "model weights")
        self.network_ = self._build_network(int(state["n_features"])).to(self.device_)
        try:
            self.network_.load_state_dict(weights)
        except (RuntimeError, TypeError, AttributeError) as err:
            raise InputError(mismatch(path, err)) from err
        self.network_.eval()
        self.history_ = state.get("history", {})
