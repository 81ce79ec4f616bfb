"""Candidate pipelines for automatic model choice, and scoring them by inner cross-validation.

A :class:`Candidate` is one pipeline: a registered model with its parameters, a feature reduction
and the columns it reads (all, or only the clinical ones: the clinical-only baseline a
statistician compares every imaging model with). :func:`default_candidates` is the small grid
RadSurv tries: penalised Cox PH (two penalties, and with a univariate filter when features
outnumber events), elastic-net and LASSO Cox (their penalty chosen by their own inner CV), a
random survival forest, gradient-boosted Cox trees (two depths) and DeepSurv.

:func:`inner_predictions` fits every candidate on the training rows of stratified inner folds
and keeps its out-of-fold risks, z-scored against that fold model's own training risks (risk
scales differ between models and between folds), its c-index on each fold's held-out rows and on the pooled out-of-fold risks: what
:mod:`survival_core.models.selection` chooses and weights by.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from survival_core.columns import is_image_feature
from survival_core.errors import ConfigError, RadSurvError
from survival_core.evaluation import splits
from survival_core.evaluation.concordance import concordance_columns
from survival_core.evaluation.standardisation import z_scores
from survival_core.models.base import SurvivalModel, TorchSurvivalModel
from survival_core.models.reduction import make_reduction
from survival_core.models.registry import MODELS, is_linear_cox
from survival_core.models.tabular import TablePreprocessor, unseen_levels_noted

#: Parameters left out of a candidate's label (they do not define the pipeline).
UNSHOWN_PARAMS = ("seed", "device")
#: Which table columns a candidate reads.
COLUMN_SETS = ("all", "clinical")
#: Fewer events per candidate variable than this is "few": inner c-indices are then mostly noise.
FEW_EVENTS_PER_VARIABLE = 10.0


def few_events_per_variable(n_events: int, n_columns: int) -> bool:
    """Whether ``n_events`` are few for ``n_columns`` candidate variables."""
    return n_events / max(1, n_columns) < FEW_EVENTS_PER_VARIABLE


def too_few_events(model: SurvivalModel, n_events: int, n_variables: int) -> str:
    """The start of a caution when ``model`` fits ``n_variables`` on ``n_events`` (fewer than
    :data:`FEW_EVENTS_PER_VARIABLE` per variable), "" when there is none to give: a model that
    guards its own variables (:attr:`~survival_core.models.base.SurvivalModel.guards_variables`:
    a penalty chosen by inner CV, a search's too) or no variable (an image model)."""
    if model.guards_variables or not n_variables:
        return ""
    if not few_events_per_variable(n_events, n_variables):
        return ""
    return (
        f"{n_events} event(s) for {n_variables} variable(s) ({n_events / n_variables:.1f} per "
        f"variable, fewer than {FEW_EVENTS_PER_VARIABLE:g})"
    )


def candidate_variables(X: pd.DataFrame) -> int:
    """How many variables a model of table ``X`` estimates: its model matrix's columns (a
    category of k levels is k - 1 of them; identifiers, constant and mostly missing columns none),
    not the table's columns (AIDS's six with four categories are 14: 6.9 events per variable,
    not 16)."""
    return len(TablePreprocessor(allow_empty=True).fit(X).feature_names_out_)


#: The keys of a candidate in a config's list.
CANDIDATE_KEYS = ("model", "params", "reduction", "columns")


@dataclass(frozen=True)
class Candidate:
    """One pipeline: ``model`` (a registry name) with ``params``, ``reduction`` fitted inside
    each training fold, reading ``columns`` ("all", or "clinical": no image features)."""

    model: str
    params: Mapping[str, Any] = field(default_factory=dict)
    reduction: str = "none"
    columns: str = "all"

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"Unknown candidate model {self.model!r}.")
        if self.columns not in COLUMN_SETS:
            raise ConfigError(f"Candidate columns must be one of {COLUMN_SETS}.")

    @property
    def label(self) -> str:
        """A short readable name, unique within a candidate list."""
        shown = ", ".join(
            f"{k}={v}" for k, v in sorted(self.params.items()) if k not in UNSHOWN_PARAMS
        )
        text = self.model + (f"({shown})" if shown else "")
        if self.reduction != "none":
            text += f" + {self.reduction}"
        return text + (" [clinical only]" if self.columns == "clinical" else "")

    @property
    def is_network(self) -> bool:
        return issubclass(MODELS[self.model], TorchSurvivalModel)

    @property
    def is_linear_cox(self) -> bool:
        """Whether the pipeline is a (penalised) linear Cox model (:func:`is_linear_cox`)."""
        return is_linear_cox(MODELS[self.model])

    def make(self) -> SurvivalModel:
        """A fresh, unfitted model of this pipeline."""
        from survival_core.models import make_model

        return make_model(self.model, **dict(self.params)).with_reduction(
            make_reduction(self.reduction)
        )

    def select(self, X: pd.DataFrame) -> pd.DataFrame:
        """The columns of ``X`` this candidate reads."""
        if self.columns == "all":
            return X
        return X[[c for c in X.columns if not is_image_feature(str(c))]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "params": dict(self.params),
            "reduction": self.reduction,
            "columns": self.columns,
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Candidate:
        """A candidate of a config's list, its keys, parameters and reduction checked now: a
        misspelt key ('parms', 'reduciton') was ignored and a misspelt parameter failed in every
        fold, the candidate dropped, each without a word on the console."""
        unknown = sorted(set(document) - set(CANDIDATE_KEYS))
        if unknown or "model" not in document:
            said = f"unknown key(s) {', '.join(map(repr, unknown))}" if unknown else "no 'model'"
            raise ConfigError(
                f"The candidate {dict(document)!r} has {said}; a candidate's keys are "
                f"{', '.join(CANDIDATE_KEYS)} (model: a model name, as `--model` takes)."
            )
        candidate = cls(
            document["model"],
            dict(document.get("params") or {}),
            document.get("reduction", "none"),
            document.get("columns", "all"),
        )
        try:
            candidate.make()
        except ConfigError as err:
            raise ConfigError(f"The candidate {dict(document)!r}: {err}") from err
        return candidate


def default_candidates(
    X: pd.DataFrame, n_events: int, seed: int = 0, n_variables: int | None = None
) -> list[Candidate]:
    """The candidates tried on table ``X`` with ``n_events`` events (simplest first, so that a
    tie goes to the simpler pipeline). With few events per variable (``n_variables``, default
    :func:`candidate_variables`), where the choice takes the most parsimonious candidate within
    one standard error of the best (Breiman's rule), the LASSO-Cox, which keeps only the
    variables its inner CV supports, comes first and the more penalised ridge Cox next;
    otherwise the plain ridge Cox comes first."""
    n_columns = X.shape[1]
    variables = candidate_variables(X) if n_variables is None else n_variables
    clinical = [c for c in X.columns if not is_image_feature(str(c))]
    many = variables > max(10, n_events // 10)  # fewer than ~10 events per candidate variable
    big = len(X) > 1500
    few = few_events_per_variable(n_events, variables)
    lasso = Candidate("lasso_cox", {"n_alphas": 50, "seed": seed})
    candidates = [lasso] if few else []
    if not wide_table(X):
        penalties = (1.0, 0.1) if few else (0.1, 1.0)
        candidates += [Candidate("coxph", {"penalizer": p}) for p in penalties]
    if many:
        candidates.append(Candidate("coxph", {"penalizer": 0.1}, reduction="cox_pvalue"))
    if 0 < len(clinical) < n_columns:
        candidates.append(Candidate("coxph", {"penalizer": 0.1}, columns="clinical"))
    candidates += [
        Candidate("coxnet", {"n_alphas": 50, "seed": seed}),
        *([] if few else [lasso]),
        Candidate(
            "rsf",
            {
                "n_estimators": 100,
                "min_samples_leaf": 15,
                "time_points": 100,
                "seed": seed,
                **({"max_samples": 1000, "max_bins": 64} if big else {}),
            },
        ),
        Candidate("gbsa", {"max_depth": 1, "n_estimators": 150, "seed": seed}),
        Candidate(
            "gbsa",
            {"max_depth": 3, "learning_rate": 0.05, "subsample": 0.8, "seed": seed},
        ),
        Candidate("deepsurv", {"seed": seed, "device": "cpu"}),
    ]
    return candidates


def wide_table(X: pd.DataFrame) -> bool:
    """Whether table ``X`` has more than twice as many columns as rows. lifelines' Newton fit of
    a ridge Cox PH on all of them slows by orders of magnitude there (160 patients: 300 columns
    1.4 s a fit, 550 columns 381 s at penalty 0.1), so the candidates leave the unfiltered
    Cox PH out: the LASSO and elastic-net Cox (path solvers) and the filtered Cox PH remain.
    (The demo cohort's outer folds, 64 patients and 74 columns, keep it: seconds a fit.)"""
    return X.shape[1] > 2 * len(X)


def clinical_baseline(candidates: Sequence[Candidate], X: pd.DataFrame) -> Candidate:
    """The reference every model is compared with: penalised Cox PH on the clinical columns when
    table ``X`` also holds image features (a clinical-only candidate of the list if there is
    one), else on all columns (a plain Cox PH; after the univariate filter on a wide table)."""
    for candidate in candidates:
        if candidate.columns == "clinical":
            return candidate
    clinical = [c for c in X.columns if not is_image_feature(str(c))]
    if 0 < len(clinical) < X.shape[1]:
        return Candidate("coxph", {"penalizer": 0.1}, columns="clinical")
    reduction = "cox_pvalue" if wide_table(X) else "none"
    return Candidate("coxph", {"penalizer": 0.1}, reduction=reduction)


def with_baseline(candidates: Sequence[Candidate], X: pd.DataFrame) -> list[Candidate]:
    """``candidates`` plus the baseline (:func:`clinical_baseline`) when they lack it, so every
    choice is compared with it on the same folds."""
    baseline = clinical_baseline(candidates, X)
    labels = [c.label for c in candidates]
    return list(candidates) + ([] if baseline.label in labels else [baseline])


@dataclass
class InnerPredictions:
    """Per candidate: z-scored out-of-fold risk per training row (NaN where a candidate failed),
    its c-index on each inner fold and on all rows' pooled out-of-fold risks (``pooled_c``, what
    the choice ranks by: steadier than the mean of a few small folds); ``errors`` holds why a
    candidate failed."""

    risk_z: np.ndarray  # (rows, candidates)
    fold_c: np.ndarray  # (folds, candidates)
    pooled_c: np.ndarray  # (candidates,)
    errors: dict[int, str]

    def mean_c(self) -> np.ndarray:
        """Each candidate's mean c-index over its inner folds (NaN for one that failed)."""
        return per_column(self.fold_c, np.mean)

    def sd_c(self) -> np.ndarray:
        """Each candidate's SD of its inner folds' c-indices (NaN for one that failed)."""
        return per_column(self.fold_c, np.std)


def per_column(
    values: np.ndarray, statistic: Callable[[np.ndarray], float], least: int = 1
) -> np.ndarray:
    """``statistic`` of the finite values of each column of ``values`` (folds x candidates), NaN
    for a column with fewer than ``least`` of them (a candidate that failed has none). numpy's
    nan-functions gave the same NaN with RuntimeWarnings on stderr ('Mean of empty slice',
    'Degrees of freedom <= 0') in every run where a candidate failed."""
    finite = [column[np.isfinite(column)] for column in np.asarray(values, dtype=float).T]
    return np.array([statistic(f) if len(f) >= least else np.nan for f in finite], dtype=float)


def inner_predictions(
    candidates: Sequence[Candidate],
    X: pd.DataFrame,
    event: np.ndarray,
    time: np.ndarray,
    n_folds: int,
    seed: int,
) -> InnerPredictions:
    """Fit every candidate on each inner fold's training rows and predict its held-out rows."""
    from sksurv.util import Surv

    try:
        folds = splits.nested_cv(event, 1, n_folds, validation_fraction=0.0, seed=seed)
    except ConfigError as err:
        way_out = (
            "Lower inner_folds (2 at least: --param inner_folds=2, or model.params.inner_folds "
            "in a run config), "
            if n_folds > 2
            else "Too few events to compare candidates: fit one model (coxph); "
        )
        raise ConfigError(
            f"Choosing a model on {event.size} patients: the inner cross-validation comparing the "
            f"candidates ({n_folds} inner folds, not the run's folds) cannot split them: {err} "
            f"{way_out}under cross-validation use fewer outer folds (larger training folds), or "
            "give more patients."
        ) from err
    y = Surv.from_arrays(event, time)
    risk_z = np.full((len(X), len(candidates)), np.nan)
    fold_c = np.full((len(folds), len(candidates)), np.nan)
    errors: dict[int, str] = {}
    for k, candidate in enumerate(candidates):
        columns = candidate.select(X)
        for f, fold in enumerate(folds):
            try:
                with unseen_levels_noted():  # an inner fold's rare level: the choice's own
                    model = candidate.make().fit(columns.iloc[fold.train], y[fold.train])
                    train = model.predict_risk(columns.iloc[fold.train])
                    test = model.predict_risk(columns.iloc[fold.test])
            except (RadSurvError, ValueError, np.linalg.LinAlgError) as err:
                errors[k] = f"{type(err).__name__}: {err}"
                risk_z[:, k] = np.nan
                fold_c[:, k] = np.nan
                break
            risk_z[fold.test, k] = z_scores(test, train)
            fold_c[f, k] = concordance_columns(event[fold.test], time[fold.test], test[:, None])[0]
    pooled_c = concordance_columns(event, time, np.nan_to_num(risk_z))
    pooled_c[list(errors)] = np.nan
    return InnerPredictions(risk_z, fold_c, pooled_c, errors)
