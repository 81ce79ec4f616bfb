"""Feature reduction for survival models, fitted on the training part of a fold only.

Each selector learns which columns to keep from training rows and labels (``fit(X, y)``), then
``transform`` keeps those columns of any later table (matched by name for DataFrames). Selectors
compose in a :class:`ReductionChain`; every one round-trips through plain JSON (``to_dict`` /
``selector_from_dict``). Inputs must be complete numeric tables (impute first, e.g. with
:class:`survival_core.models.tabular.TablePreprocessor`).

- :class:`MADFilter` - drop features whose median absolute deviation is 0 (Han 2020), but
  two-valued ones (yes/no, a category's indicator).
- :class:`Standardizer` - z-scores with the training mean and standard deviation.
- :class:`UnivariateCIndexFilter` - keep features with |c - 0.5| + 0.5 >= threshold (Harrell's c of
  the feature alone; Han 2020 used 0.66-0.685).
- :class:`CorrelationFilter` - of every pair with Pearson |r| > threshold keep the feature with the
  higher univariate c-index (ties: the earlier column).
- :class:`CoxPValueFilter` - keep features whose univariate Cox p-value (Wald; likelihood-ratio
  where the fit does not converge) is below ``alpha``.
- :class:`LassoCoxSelector` - keep the non-zero coefficients of a LASSO Cox at the CV-chosen penalty.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.concordance import concordance_columns
from survival_core.evaluation.risk_groups import cox_wald
from survival_core.models.coxnet_path import cv_coxnet
from survival_core.outcome import training_arrays


def univariate_cindex(
    X: np.ndarray, event: np.ndarray, time: np.ndarray, tied_tol: float = 1e-8
) -> np.ndarray:
    """Harrell's c-index of each column of ``X`` used as a risk score (higher = worse), by
    :func:`~survival_core.evaluation.concordance.concordance_columns`; 0.5 for every feature when
    there is no comparable pair."""
    c = concordance_columns(np.asarray(event, dtype=bool), np.asarray(time), X, tied_tol)
    return np.nan_to_num(c, nan=0.5)


def univariate_cox(
    X: np.ndarray, event: np.ndarray, time: np.ndarray, n_iter: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """(coefficient per standard deviation, p-value) of a one-covariate Cox model per column
    (Breslow ties, :func:`~survival_core.evaluation.risk_groups.cox_wald`): the Wald p, or the
    likelihood ratio's where the fit does not converge (``CoxWald.test_p_value``: a feature
    that separates the events had a Wald p near 1 and was dropped)."""
    fit = cox_wald(X, event, time, n_iter=n_iter)
    return fit.coef, fit.test_p_value


class Selector:
    """Base: column bookkeeping, ``transform``, ``get_support`` and JSON state.

    Subclasses set ``kind`` and implement ``_fit_support(Z, event, time) -> bool mask``; fitted
    statistics they want saved go in ``self.scores_`` (a dict of per-feature lists), what a user
    must know of the fit in ``self.notes_`` (the model's fit notes carry them).
    """

    kind: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ()

    def fit(self, X: Any, y: Any) -> Selector:
        """Learn the kept columns from training rows ``X`` and labels ``y`` (a Surv array)."""
        Z = self._input(X, fitting=True)
        event, time = training_arrays(y)
        if len(event) != Z.shape[0]:
            raise InputError(f"X has {Z.shape[0]} rows but y has {len(event)} labels.")
        self.scores_: dict[str, list[float]] = {}
        self.notes_: list[str] = []
        # no feature kept (none passed its filter on these rows): the model is a null model
        # (:meth:`~survival_core.models.base.SurvivalModel.fit`), not a failed fold
        self.support_ = (
            np.asarray(self._fit_support(Z, event, time), dtype=bool)
            if Z.shape[1]
            else np.zeros(0, dtype=bool)
        )
        return self

    def _describe(self) -> str:
        return ", ".join(f"{p}={getattr(self, p)}" for p in self.params)

    def kept_nothing(self) -> str | None:
        """The step, as a note names it, when it kept no feature; else None."""
        return None if self.support_.any() else f"'{self.kind}' ({self._describe()})"

    def _input(self, X: Any, fitting: bool = False) -> np.ndarray:
        if fitting:
            if isinstance(X, pd.DataFrame):
                self.feature_names_in_ = [str(c) for c in X.columns]
            else:
                self.feature_names_in_ = [f"x{i}" for i in range(np.asarray(X).shape[1])]
        elif not hasattr(self, "support_"):
            raise ConfigError(f"Selector '{self.kind}' used before fit.")
        if isinstance(X, pd.DataFrame):
            frame = X.rename(columns=str)
            missing = [c for c in self.feature_names_in_ if c not in frame.columns]
            if missing:
                raise InputError(f"The table lacks feature column(s): {', '.join(missing)}.")
            Z = frame[self.feature_names_in_].to_numpy(dtype=float)
        else:
            Z = np.asarray(X, dtype=float)
            if Z.ndim != 2 or Z.shape[1] != len(self.feature_names_in_):
                raise InputError(
                    f"Expected {len(self.feature_names_in_)} feature columns, got shape {Z.shape}."
                )
        if not np.all(np.isfinite(Z)):
            raise InputError("Feature values must be finite numbers; impute missing values first.")
        return Z

    def _apply(self, Z: np.ndarray) -> np.ndarray:
        return Z[:, self.support_]

    def transform(self, X: Any) -> Any:
        """The kept columns (a DataFrame keeps names and index; an array stays an array)."""
        out = self._apply(self._input(X))
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(out, columns=self.feature_names_out_, index=X.index)
        return out

    def fit_transform(self, X: Any, y: Any) -> Any:
        return self.fit(X, y).transform(X)

    def get_support(self, indices: bool = False) -> np.ndarray:
        """Mask (or indices) of the kept input columns."""
        return np.flatnonzero(self.support_) if indices else self.support_.copy()

    @property
    def feature_names_out_(self) -> list[str]:
        return [n for n, keep in zip(self.feature_names_in_, self.support_, strict=True) if keep]

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": {p: getattr(self, p) for p in self.params},
            "feature_names_in": self.feature_names_in_,
            "support": self.support_.tolist(),
            "scores": self.scores_,
            **self._extra_state(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Selector:
        selector = cls(**state["params"])
        selector.feature_names_in_ = list(state["feature_names_in"])
        selector.support_ = np.asarray(state["support"], dtype=bool)
        selector.scores_ = dict(state.get("scores", {}))
        selector._set_extra_state(state)
        return selector


class MADFilter(Selector):
    """Drop features whose median absolute deviation is <= ``threshold`` (default: exactly 0).

    A two-valued column (a yes/no variable, a category's indicator) is kept: its MAD is 0 whenever
    fewer than half the patients hold its rarer value, and filtering on it dropped GBSG2's hormone
    therapy and tumour grade (univariate Cox p < 0.004)."""

    kind = "mad"
    params = ("threshold",)

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = float(threshold)

    def _fit_support(self, Z: np.ndarray, event: np.ndarray, time: np.ndarray) -> np.ndarray:
        mad = np.median(np.abs(Z - np.median(Z, axis=0)), axis=0)
        self.scores_ = {"mad": mad.tolist()}
        low, high = Z.min(axis=0), Z.max(axis=0)
        two_valued = (low < high) & np.all(np.equal(Z, low) | np.equal(Z, high), axis=0)
        return (mad > self.threshold) | two_valued


class Standardizer(Selector):
    """Z-scores with the training mean and standard deviation; keeps every column."""

    kind = "zscore"

    def _fit_support(self, Z: np.ndarray, event: np.ndarray, time: np.ndarray) -> np.ndarray:
        self.mean_ = Z.mean(axis=0)
        std = Z.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return np.ones(Z.shape[1], dtype=bool)

    def _apply(self, Z: np.ndarray) -> np.ndarray:
        return (Z - self.mean_) / self.scale_

    def _extra_state(self) -> dict[str, Any]:
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        self.mean_ = np.asarray(state["mean"], dtype=float)
        self.scale_ = np.asarray(state["scale"], dtype=float)


class UnivariateCIndexFilter(Selector):
    """Keep features whose own c-index is far enough from 0.5: |c - 0.5| + 0.5 >= ``threshold``."""

    kind = "cindex"
    params = ("threshold",)

    def __init__(self, threshold: float = 0.55) -> None:
        if not 0.5 <= threshold <= 1.0:
            raise ConfigError(f"c-index threshold must be between 0.5 and 1, got {threshold}.")
        self.threshold = float(threshold)

    def _fit_support(self, Z: np.ndarray, event: np.ndarray, time: np.ndarray) -> np.ndarray:
        c = univariate_cindex(Z, event, time)
        self.scores_ = {"cindex": c.tolist()}
        return np.abs(c - 0.5) + 0.5 >= self.threshold


class CorrelationFilter(Selector):
    """Remove redundancy: no two kept features have Pearson |r| > ``threshold``.

    Features are visited by decreasing univariate c-index strength (|c - 0.5|, ties by column
    order) and kept when not too correlated with any already kept one.
    """

    kind = "correlation"
    params = ("threshold",)

    def __init__(self, threshold: float = 0.85) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(f"correlation threshold must be in (0, 1], got {threshold}.")
        self.threshold = float(threshold)

    def _fit_support(self, Z: np.ndarray, event: np.ndarray, time: np.ndarray) -> np.ndarray:
        strength = np.abs(univariate_cindex(Z, event, time) - 0.5)
        centred = Z - Z.mean(axis=0)
        norms = np.linalg.norm(centred, axis=0)
        unit = centred / np.where(norms > 0, norms, 1.0)
        corr = np.abs(unit.T @ unit)
        keep = np.zeros(Z.shape[1], dtype=bool)
        for j in np.lexsort((np.arange(Z.shape[1]), -strength)):
            if not np.any(corr[j, keep] > self.threshold):
                keep[j] = True
        self.scores_ = {"cindex_strength": strength.tolist()}
        return keep


class CoxPValueFilter(Selector):
    """Keep features whose univariate Cox p-value (:func:`univariate_cox`) is below ``alpha``."""

    kind = "cox_pvalue"
    params = ("alpha",)

    def __init__(self, alpha: float = 0.05) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ConfigError(f"alpha must be in (0, 1], got {alpha}.")
        self.alpha = float(alpha)

    def _fit_support(self, Z: np.ndarray, event: np.ndarray, time: np.ndarray) -> np.ndarray:
        coef, p_value = univariate_cox(Z, event, time)
        self.scores_ = {"coef_per_sd": coef.tolist(), "p_value": p_value.tolist()}
        return p_value < self.alpha


class LassoCoxSelector(Selector):
    """Keep the features with non-zero LASSO-Cox coefficients at the penalty chosen by inner CV.

    Columns are z-scored (training statistics) before the fit; only penalties leaving at least one
    non-zero coefficient compete.
    """

    kind = "lasso_cox"
    params = ("cv_folds", "n_alphas", "seed")

    def __init__(self, cv_folds: int = 5, n_alphas: int = 50, seed: int = 0) -> None:
        self.cv_folds = int(cv_folds)
        self.n_alphas = int(n_alphas)
        self.seed = int(seed)

    def _fit_support(self, Z: np.ndarray, event: np.ndarray, time: np.ndarray) -> np.ndarray:
        std = Z.std(axis=0)
        z = (Z - Z.mean(axis=0)) / np.where(std > 0, std, 1.0)
        result = cv_coxnet(
            z, event, time, 1.0, self.n_alphas, self.cv_folds, self.seed, require_nonzero=True
        )
        self.scores_ = {"coef_per_sd": result["coef"].tolist()}
        self.notes_.extend(result["notes"])
        return result["coef"] != 0


SELECTORS: dict[str, type[Selector]] = {
    cls.kind: cls
    for cls in (
        MADFilter,
        Standardizer,
        UnivariateCIndexFilter,
        CorrelationFilter,
        CoxPValueFilter,
        LassoCoxSelector,
    )
}


def selector_from_dict(state: dict[str, Any]) -> Selector:
    """Rebuild a fitted selector or chain from its ``to_dict`` output."""
    kind = state.get("kind")
    if kind == ReductionChain.kind:
        return ReductionChain.from_dict(state)
    if kind not in SELECTORS:
        raise InputError(f"Unknown feature-reduction step {kind!r}; known: {', '.join(SELECTORS)}.")
    try:
        return SELECTORS[kind].from_dict(state)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"Saved feature-reduction step {kind!r} is malformed: {err}") from err


class ReductionChain:
    """Selectors applied in order, each fitted on the previous one's output (training rows only)."""

    kind = "chain"

    def __init__(self, steps: list[Selector]) -> None:
        if not steps:
            raise ConfigError("A reduction chain needs at least one step.")
        self.steps = list(steps)

    def fit(self, X: Any, y: Any) -> ReductionChain:
        self.feature_names_in_ = (
            [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
        )
        current = X
        for step in self.steps:
            current = step.fit_transform(current, y)
        return self

    def transform(self, X: Any) -> Any:
        for step in self.steps:
            X = step.transform(X)
        return X

    def fit_transform(self, X: Any, y: Any) -> Any:
        return self.fit(X, y).transform(X)

    def get_support(self, indices: bool = False) -> np.ndarray:
        """Kept columns of the chain's input."""
        kept = np.arange(len(self.steps[0].support_))
        for step in self.steps:
            kept = kept[step.support_]
        if indices:
            return kept
        mask = np.zeros(len(self.steps[0].support_), dtype=bool)
        mask[kept] = True
        return mask

    @property
    def feature_names_out_(self) -> list[str]:
        return self.steps[-1].feature_names_out_

    @property
    def notes_(self) -> list[str]:
        """The fit notes of every step, in order."""
        return [note for step in self.steps for note in step.notes_]

    def kept_nothing(self) -> str | None:
        """The first step that kept no feature, as a note names it; else None."""
        return next((said for step in self.steps if (said := step.kept_nothing())), None)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "steps": [s.to_dict() for s in self.steps]}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ReductionChain:
        return cls([selector_from_dict(s) for s in state["steps"]])


def default_chain(
    cindex_threshold: float = 0.55, correlation_threshold: float = 0.85
) -> ReductionChain:
    """Han 2020's reduction: MAD = 0 filter, z-scores, univariate c-index, correlation pruning."""
    return ReductionChain(
        [
            MADFilter(),
            Standardizer(),
            UnivariateCIndexFilter(cindex_threshold),
            CorrelationFilter(correlation_threshold),
        ]
    )


def _cox_pvalue_chain() -> ReductionChain:
    return ReductionChain([MADFilter(), Standardizer(), CoxPValueFilter(), CorrelationFilter()])


def _lasso_chain() -> ReductionChain:
    return ReductionChain([MADFilter(), Standardizer(), LassoCoxSelector()])


#: Named reduction recipes for configs and the CLI (``none`` = no reduction).
REDUCTIONS: dict[str, Any] = {
    "none": None,
    "han2020": default_chain,
    "cox_pvalue": _cox_pvalue_chain,
    "lasso": _lasso_chain,
}


def make_reduction(name: str) -> ReductionChain | None:
    """A fresh, unfitted reduction chain by recipe name."""
    if name not in REDUCTIONS:
        raise ConfigError(f"Unknown feature reduction {name!r}; choose {', '.join(REDUCTIONS)}.")
    recipe = REDUCTIONS[name]
    return None if recipe is None else recipe()
