"""Automatic model choice (``auto``) and a stacked ensemble (``ensemble``) of candidate pipelines.

Both fit the same way on their training rows (in a cross-validation, an outer fold's training
rows only, so the outer estimate stays honest: nested CV):

1. every candidate (:mod:`survival_core.models.candidates`) is scored by stratified inner CV,
   keeping its out-of-fold risks (z-scored per inner fold model) and its c-index per inner fold;
2. every candidate is refitted on all the training rows.

``auto`` then predicts with the simplest candidate (the first listed) whose c-index on the pooled
inner out-of-fold risks is within :data:`TIE_MARGIN` (0.005) of the best: differences that small
are noise at these sizes, and the simpler model generalises as well. On GBSG2, WHAS500 and
veterans (2 x 5 outer folds) this chose better than the plain best, than the best mean of the
inner folds' c-indices, and than a one-standard-error rule; 5 inner folds better than 3. With
fewer than 10 events per variable (AIDS, 7; the synthetic cohort, 0.6) the inner c-indices are
mostly noise and the margin rule chases it; there ``auto`` takes the simplest candidate within
one standard error of the best (the SE of its per-inner-fold c-index differences from the best:
Breiman's one-SE rule), the most parsimonious listed first: the LASSO-Cox, then the more
penalised ridge Cox (5 x 5 repeated CV, from the best single candidate: AIDS -0.007 with the
margin rule, -0.006 with the ridge first, -0.0003 with the LASSO-Cox first; synthetic -0.036,
-0.004, -0.0047). With ``recalibrate`` a
linear Cox winner's coefficients are shrunk by its calibration slope on the inner out-of-fold
risks (van Houwelingen's heuristic shrinkage) and its baseline refitted. ``ensemble`` predicts
with a weighted sum of the candidates' z-scored risks, the weights fitted by a (ridge-penalised)
Cox regression of the outcome on the inner out-of-fold risks only, negative weights dropped; its
survival curve is the same weighting of the candidates' curves. With fewer than 10 events per
variable it stacks only the penalised Cox candidates (:func:`ensemble_members`; 2 x 5 outer
folds: synthetic -0.018 -> -0.006 and AIDS -0.001 -> +0.001 from the best single candidate).

``selection_`` records why: each candidate's inner c-index (pooled, and the mean and SD over the
inner folds) and failure if any, the choice, the ensemble weights and (an ensemble's) the
candidates stacked, the
events per candidate variable and the warnings a statistician would give (a network chosen with
few events; very few events per variable). :meth:`candidate_risks` gives every candidate's (and
the choice's and the ensemble's) z-scored risk, which a cross-validation pools into the model
comparison.

``auto`` saves the chosen model's folder (an ordinary model, readable by ``load_model``) plus
``selection.json``; ``ensemble`` saves its candidates in ``member-<k>`` folders beside its own
``model.json``, and loads back as an ensemble.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.standardisation import risk_standardisation, standardised
from survival_core.io.atomic import json_ready, write_json
from survival_core.models.base import SurvivalModel, check_times
from survival_core.models.baseline import BreslowBaseline
from survival_core.models.candidates import (
    FEW_EVENTS_PER_VARIABLE,
    Candidate,
    InnerPredictions,
    clinical_baseline,
    default_candidates,
    few_events_per_variable,
    inner_predictions,
    per_column,
    with_baseline,
)
from survival_core.models.tabular import TablePreprocessor, as_frame
from survival_core.outcome import training_arrays

SELECTION_FILE = "selection.json"
#: Below this many events, or FEW_EVENTS_PER_VARIABLE events per variable, a network's choice
#: is flagged.
FEW_EVENTS = 200
#: Inner c-indices within this of the best count as a tie, which the simplest candidate wins.
TIE_MARGIN = 0.005
#: How the choice was made, as recorded in ``selection_["choice_rule"]``.
MARGIN_RULE, ONE_SE_RULE = "within 0.005 of the best", "within one standard error of the best"


def choose_candidate(inner: InnerPredictions, pooled_c: np.ndarray, few_events: bool) -> int:
    """Index of the simplest (first) candidate whose pooled inner c-index ``pooled_c`` (NaN:
    failed) is within :data:`TIE_MARGIN` of the best, or with ``few_events`` within one standard
    error of the best: the SD of its per-inner-fold c-index differences from the best over the
    square root of the number of folds (never less than the margin)."""
    score = np.nan_to_num(pooled_c, nan=-np.inf)
    best = int(np.argmax(score))
    tolerance = np.full(score.shape, TIE_MARGIN)
    if few_events:
        difference = inner.fold_c[:, [best]] - inner.fold_c
        se = per_column(difference, _standard_error, least=2)
        tolerance = np.fmax(tolerance, np.nan_to_num(se, nan=0.0))
    return int(np.flatnonzero(score >= score[best] - tolerance)[0])


def _standard_error(values: np.ndarray) -> float:
    """The standard error of the mean of ``values`` (at least two)."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))


def _json_number(value: float) -> float | None:
    """``value`` for selection.json: None where it is NaN (a candidate that failed, folds
    without a c-index), which JSON cannot hold."""
    return None if np.isnan(value) else float(value)


#: Label of the ensemble and of the automatic choice in :meth:`candidate_risks`.
AUTO, ENSEMBLE = "auto", "ensemble"


def ensemble_members(
    candidates: list[Candidate], members: list[SurvivalModel | None], few_events: bool
) -> list[int]:
    """Indices of the fitted candidates the ensemble stacks: with ``few_events`` per variable only
    the penalised Cox ones (if any), since forests, boosting and networks need many more events
    per variable than Cox regression (van der Ploeg et al., BMC Med Res Methodol 2014) and their
    stacking weights, fitted on the same few inner out-of-fold events, follow the noise."""
    fitted = [k for k, m in enumerate(members) if m is not None]
    linear = [k for k in fitted if candidates[k].is_linear_cox]
    return linear if few_events and linear else fitted


def stacking_weights(risk_z: np.ndarray, event: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Non-negative weights of the columns of ``risk_z`` (NaN columns get 0): a ridge-penalised
    Cox regression of the outcome on them, refitted without the non-positive ones until none is
    left; normalised to sum 1 (all zeros when every column dropped out or no fit converged)."""
    active = [k for k in range(risk_z.shape[1]) if np.isfinite(risk_z[:, k]).all()]
    weights = np.zeros(risk_z.shape[1])
    while active:
        coef = _stacking_fit(risk_z[:, active], event, time)
        if coef is None:  # no stable fit (nearly identical candidates, very few rows)
            break
        if (coef > 0).all():
            weights[active] = coef
            break
        active = [k for k, c in zip(active, coef, strict=True) if c > 0]
    total = weights.sum()
    return weights / total if total > 0 else weights


def _stacking_fit(z: np.ndarray, event: np.ndarray, time: np.ndarray) -> np.ndarray | None:
    """Cox coefficients of the columns of ``z``, the ridge penalty raised tenfold (from 0.1, at
    most twice) until lifelines converges; None if it never does."""
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    frame = pd.DataFrame(z, columns=[f"m{k}" for k in range(z.shape[1])])
    frame = frame.assign(_time=time, _event=event.astype(int))
    for penalizer in (0.1, 1.0, 10.0):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = CoxPHFitter(penalizer=penalizer).fit(frame, "_time", "_event")
        except ConvergenceError:
            continue
        return fitted.params_.to_numpy(float)
    return None


def small_data_warnings(
    candidates: list[Candidate], inner_c: np.ndarray, chosen: int, events: int, variables: int
) -> list[str]:
    """What a statistician would say about a choice on this much data: a network chosen with
    fewer than :data:`FEW_EVENTS` events or :data:`FEW_EVENTS_PER_VARIABLE` events per variable
    (naming the best non-network candidate), a forest or boosted trees chosen with too few events
    per variable (naming the best linear Cox candidate; the ensemble leaves them out there, and
    `auto` chose a forest in a 79-event fold unflagged), and too few events per variable for any
    model."""
    epv = events / max(1, variables)
    notes = []
    few = few_events_per_variable(events, variables)
    order = np.argsort(-np.nan_to_num(inner_c, nan=-np.inf), kind="stable")
    picked = candidates[chosen]
    if picked.is_network and (events < FEW_EVENTS or few):
        runner_up = next((candidates[k].label for k in order if not candidates[k].is_network), None)
        notes.append(
            f"A neural network ({picked.label}) was chosen with {events} events "
            f"({epv:.1f} per variable): networks overfit at this size and its inner c-index "
            f"lead may not hold; the best non-network candidate was {runner_up}."
        )
    elif few and not picked.is_linear_cox:
        runner_up = next((candidates[k].label for k in order if candidates[k].is_linear_cox), None)
        notes.append(
            f"A tree ensemble ({picked.label}) was chosen with {events} events ({epv:.1f} per "
            "variable): forests and boosted trees need many more events per variable than Cox "
            f"regression, and its inner c-index lead may not hold; the best penalised Cox "
            f"candidate was {runner_up}."
        )
    if few:
        notes.append(
            f"{events} events for {variables} candidate variables ({epv:.1f} per variable, "
            f"fewer than {FEW_EVENTS_PER_VARIABLE:g}): prefer penalised or reduced models and "
            "read the estimates with care."
        )
    return notes


class _CandidateChoice(SurvivalModel):
    """Shared fitting of :class:`AutoSurvival` and :class:`EnsembleSurvival` (module doc).

    Parameters
    ----------
    candidates : the pipelines to try, as dicts (``Candidate.to_dict``); None: the default grid
        for the training table (:func:`~survival_core.models.candidates.default_candidates`).
        The clinical-only (or plain) Cox baseline is added when the list lacks it.
    inner_folds : stratified inner folds scoring the candidates.
    seed : seeds the inner folds and the default candidates.
    recalibrate : ``auto`` only: shrink a linear Cox winner by its inner calibration slope.
    """

    uses_baseline: ClassVar[bool] = False
    guards_variables: ClassVar[bool] = True  # the choice's own small-data warnings

    def __init__(
        self,
        candidates: tuple[dict[str, Any], ...] | None = None,
        inner_folds: int = 5,
        seed: int = 0,
        recalibrate: bool = False,
    ) -> None:
        if int(inner_folds) < 2:
            raise ConfigError(f"inner_folds must be >= 2, got {inner_folds}.")
        if candidates is not None:
            if not candidates:
                raise ConfigError("candidates: give at least one pipeline, or None for the grid.")
            [Candidate.from_dict(c) for c in candidates]  # checked now, not at the first fold
        self.candidates = candidates
        self.inner_folds = inner_folds
        self.seed = seed
        self.recalibrate = recalibrate

    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None) -> _CandidateChoice:
        """Score every candidate by inner CV on ``X``, ``y``, then refit each on all of them."""
        if getattr(self, "reduction", None) is not None:
            raise ConfigError(
                f"Model '{self.name}' tries the feature reductions that apply itself; "
                "run it without --reduction."
            )
        event, time = training_arrays(y)
        frame = as_frame(X)
        if len(frame) != len(event):
            raise InputError(f"X has {len(frame)} rows but y has {len(event)} labels.")
        self.preprocessor_ = TablePreprocessor(allow_empty=True).fit(frame)
        variables = len(self.preprocessor_.feature_names_out_)  # one-hot levels counted
        candidates = with_baseline(
            [Candidate.from_dict(c) for c in self.candidates]
            if self.candidates is not None
            else default_candidates(frame, int(event.sum()), int(self.seed), variables),
            frame,
        )
        inner = inner_predictions(
            candidates, frame, event, time, int(self.inner_folds), int(self.seed)
        )
        from sksurv.util import Surv

        outcome = Surv.from_arrays(event, time)
        members: list[SurvivalModel | None] = []
        errors = dict(inner.errors)
        for k, candidate in enumerate(candidates):
            if k in errors:
                members.append(None)
                continue
            try:
                members.append(candidate.make().fit(candidate.select(frame), outcome))
            except (InputError, ConfigError, ValueError) as err:
                errors[k] = f"{type(err).__name__}: {err}"
                members.append(None)
        pooled_c = np.where([m is None for m in members], np.nan, inner.pooled_c)
        if np.isnan(pooled_c).all():
            raise InputError(
                "Every candidate model failed on these rows; the last error was "
                f"{errors[max(errors)]}"
            )
        self.candidates_ = candidates
        self.members_ = members
        few = few_events_per_variable(int(event.sum()), variables)
        self.chosen_ = choose_candidate(inner, pooled_c, few)
        train_z = self._set_scales(frame)
        stacked = ensemble_members(candidates, members, few)
        self.weights_ = np.zeros(len(candidates))
        self.weights_[stacked] = stacking_weights(inner.risk_z[:, stacked], event, time)
        if not self.weights_.any():  # nothing helps on top of the rest: the choice alone
            self.weights_[self.chosen_] = 1.0
        if self.recalibrate:
            self._recalibrate(frame, inner.risk_z[:, self.chosen_], event, time)
        fitted = self._ensemble_risk(
            train_z
        )  # recalibration leaves the winner's z-scores as they are
        self.ensemble_scale_ = tuple(float(v) for v in risk_standardisation(fitted))
        self.preprocessor_.notes_ = list(self._chosen().preprocessor_.notes_)
        self.reduction_ = None
        self.selection_ = self._report(
            inner, pooled_c, errors, event, frame, variables, few, stacked
        )
        return self

    def _chosen(self) -> SurvivalModel:
        if not hasattr(self, "members_"):
            raise ConfigError(f"Model '{self.name}' is not fitted yet; call fit first.")
        return self.members_[self.chosen_]

    def _set_scales(self, frame: pd.DataFrame) -> np.ndarray:
        """Keep (mean, SD) of each member's risk on its training rows, to z-score its risks (SD 0:
        the member gave them all one risk, and ranks no one); returns those training rows'
        z-scored risks (NaN for a failed member)."""
        self.scales_ = np.zeros((len(self.members_), 2))
        train_z = np.full((len(frame), len(self.members_)), np.nan)
        for k, (candidate, member) in enumerate(zip(self.candidates_, self.members_, strict=True)):
            if member is not None:
                risk = member.predict_risk(candidate.select(frame))
                self.scales_[k] = risk_standardisation(risk)
                train_z[:, k] = standardised(risk, *self.scales_[k])
        return train_z

    def _recalibrate(
        self, frame: pd.DataFrame, inner_z: np.ndarray, event: np.ndarray, time: np.ndarray
    ) -> None:
        """Shrink a linear Cox winner by its calibration slope on the inner out-of-fold risks."""
        from survival_core.evaluation.risk_groups import cox_coefficient

        winner = self._chosen()
        if not hasattr(winner, "coef_") or self.scales_[self.chosen_, 1] == 0:  # one risk: no slope
            self.slope_ = None
            return
        slope_z = cox_coefficient((event, time), inner_z)[0]
        self.slope_ = float(slope_z / self.scales_[self.chosen_, 1])
        winner.coef_ = winner.coef_ * self.slope_
        if hasattr(winner, "covariance_") and winner.covariance_ is not None:
            winner.covariance_ = winner.covariance_ * self.slope_**2
        risk = winner._risk_matrix(winner._matrix(self.candidates_[self.chosen_].select(frame)))
        winner.baseline_ = BreslowBaseline().fit(risk, event, time)
        self.scales_[self.chosen_] = risk_standardisation(risk)

    def _report(
        self,
        inner: Any,
        pooled_c: np.ndarray,
        errors: dict[int, str],
        event: np.ndarray,
        frame: pd.DataFrame,
        variables: int,
        few: bool,
        stacked: list[int],
    ) -> dict[str, Any]:
        events = int(event.sum())
        chosen = self.candidates_[self.chosen_]
        n_inputs = len(self._chosen().features_used_)
        epv = events / max(1, variables)
        notes = small_data_warnings(self.candidates_, pooled_c, self.chosen_, events, variables)
        mean_c, sd_c = inner.mean_c(), inner.sd_c()
        notes += [  # a pipeline the user listed may not vanish into selection.json unsaid
            f"Candidate {self.candidates_[k].label} failed and was left out: {error}"
            for k, error in sorted(errors.items())
        ]
        return {
            "candidates": [
                {
                    "label": c.label,
                    **c.to_dict(),
                    "inner_c_index": _json_number(pooled_c[k]),
                    "inner_fold_c_index_mean": _json_number(mean_c[k]),
                    "inner_c_index_sd": _json_number(sd_c[k]),
                    # an ensemble's weights: auto weighs none (it gave each its unused one)
                    **({"weight": float(self.weights_[k])} if self.name == ENSEMBLE else {}),
                    "error": errors.get(k),
                }
                for k, c in enumerate(self.candidates_)
            ],
            "chosen": chosen.label,
            "choice_rule": ONE_SE_RULE if few else MARGIN_RULE,
            # an ensemble's alone: auto predicts with its choice and stacks nothing
            **(
                {"stacked": [self.candidates_[k].label for k in stacked]}
                if self.name == ENSEMBLE
                else {}
            ),
            "baseline": clinical_baseline(self.candidates_, frame).label,
            "inner_folds": int(self.inner_folds),
            "events": events,
            "variables": variables,
            "chosen_inputs": n_inputs,
            "events_per_variable": epv,
            "calibration_slope_applied": getattr(self, "slope_", None),
            "warnings": notes,
        }

    # -- predictions ---------------------------------------------------------------------------
    def _member_risks_z(self, X: Any) -> np.ndarray:
        frame = as_frame(X)
        out = np.full((len(frame), len(self.members_)), np.nan)
        for k, (candidate, member) in enumerate(zip(self.candidates_, self.members_, strict=True)):
            if member is not None:
                out[:, k] = standardised(
                    member.predict_risk(candidate.select(frame)), *self.scales_[k]
                )
        return out

    def _ensemble_risk(self, risks_z: np.ndarray) -> np.ndarray:
        used = self.weights_ > 0
        return risks_z[:, used] @ self.weights_[used]

    def candidate_risks(self, X: Any) -> dict[str, np.ndarray]:
        """Each candidate's z-scored risk on ``X`` by its label, plus ``auto`` (the chosen
        candidate's) and ``ensemble``: what a cross-validation pools into the comparison."""
        risks = self._member_risks_z(X)
        out = {c.label: risks[:, k] for k, c in enumerate(self.candidates_) if self.members_[k]}
        out[AUTO] = risks[:, self.chosen_]
        out[ENSEMBLE] = standardised(self._ensemble_risk(risks), *self.ensemble_scale_)
        return out

    @property
    def features_used_(self) -> list[str]:
        return list(self._chosen().features_used_)

    @property
    def emptied_by(self) -> str | None:  # type: ignore[override]
        """The chosen pipeline's (:attr:`SurvivalModel.emptied_by`); None before the fit."""
        return self._chosen().emptied_by if getattr(self, "chosen_", None) is not None else None

    @property
    def null_(self) -> bool:  # type: ignore[override]
        return self.emptied_by is not None

    def _chosen_input(self, X: Any) -> pd.DataFrame:
        return self.candidates_[self.chosen_].select(as_frame(X))

    def _predicting(self) -> list[int]:
        """Indices of the candidates this model predicts with."""
        return [self.chosen_]

    def _reporting_members(self) -> list[SurvivalModel]:
        """The fitted members whose curves this model's survival is made of."""
        return [self._chosen()]

    def why_one_risk(self) -> str:
        """Why every training patient gets one risk: the candidate(s) predicted with kept no
        variable (or gave one risk), and how far above chance (0.5) the best candidate's inner
        c-index was; the plain advice of fewer parameters would send the user to the very
        penalised Cox models that kept nothing."""
        used = self._predicting()
        names = ", ".join(self.candidates_[k].label for k in used)
        how = (
            f", the simplest candidate {self.selection_['choice_rule']},"
            if self.name == AUTO
            else ", the candidate(s) it weights,"
        )
        kept_none = all(not np.any(getattr(self.members_[k], "coef_", 1.0)) for k in used)
        scored = [c for c in self.selection_["candidates"] if c["inner_c_index"] is not None]
        best = max(scored, key=lambda c: c["inner_c_index"])
        return (
            f"It predicts with {names}{how} which "
            + ("kept no variable (every coefficient 0)" if kept_none else "gives them all one risk")
            + f"; the best inner cross-validated c-index of any candidate was "
            f"{best['inner_c_index']:.3f} ({best['label']}; 0.5 is chance): these "
            f"{self.selection_['events']} events show no signal the candidates could learn. Give "
            "more patients or events, or fewer and stronger variables."
        )

    @property
    def survival_until(self) -> float:  # type: ignore[override]
        """The last time (days) every curve this model reports is estimated at (a discrete
        member's last edge, past which it is carried flat); before the fit, any candidate's
        (a cross-validation's horizons stop there, whichever each fold chooses)."""
        if hasattr(self, "members_"):
            return min(m.survival_until for m in self._reporting_members())
        listed = [Candidate.from_dict(c) for c in self.candidates or ()]
        return min((c.make().survival_until for c in listed), default=float("inf"))


class AutoSurvival(_CandidateChoice):
    """The candidate pipeline with the best inner c-index, refitted (see the module doc)."""

    name: ClassVar[str] = "auto"

    @property
    def risk_scale(self) -> str:  # type: ignore[override]
        return self._chosen().risk_scale

    @property
    def curves_may_cross(self) -> bool:  # type: ignore[override]
        return self._chosen().curves_may_cross

    def predict_risk(self, X: Any) -> np.ndarray:
        """The chosen candidate's risk (its own scale; higher = worse)."""
        return self._chosen().predict_risk(self._chosen_input(X))

    def predict_survival(self, X: Any, times: Any) -> np.ndarray:
        return self._chosen().predict_survival(self._chosen_input(X), times)

    def save(self, folder: str | Path) -> Path:
        """The chosen model's folder (an ordinary model) plus ``selection.json``."""
        folder = self._chosen().save(folder)
        write_json(Path(folder) / SELECTION_FILE, json_ready(self.selection_))
        return folder


class EnsembleSurvival(_CandidateChoice):
    """The candidates' z-scored risks weighted by inner stacking (see the module doc)."""

    name: ClassVar[str] = "ensemble"
    #: Its curve is the weighted mean of its members' curves, which can cross even where each
    #: member's cannot.
    curves_may_cross: ClassVar[bool] = True  # type: ignore[misc]
    risk_scale: ClassVar[str] = "weighted sum of its members' z-scored risks"  # type: ignore[misc]

    def predict_risk(self, X: Any) -> np.ndarray:
        """Weighted sum of the candidates' z-scored risks (higher = worse)."""
        return self._ensemble_risk(self._member_risks_z(X))

    def predict_survival(self, X: Any, times: Any) -> np.ndarray:
        """The candidates' survival curves averaged with the ensemble's weights."""
        times = check_times(times)
        frame = as_frame(X)
        total = np.zeros((len(frame), times.size))
        for k in np.flatnonzero(self.weights_ > 0):
            member, candidate = self.members_[k], self.candidates_[k]
            total += self.weights_[k] * member.predict_survival(candidate.select(frame), times)
        return total

    def _predicting(self) -> list[int]:
        return [int(k) for k in np.flatnonzero(self.weights_ > 0)]

    def _reporting_members(self) -> list[SurvivalModel]:
        return [self.members_[k] for k in self._predicting()]

    def member_terms(self) -> list[tuple[Candidate, SurvivalModel, float]]:
        """(candidate, fitted model, weight / risk SD) of each member with a weight: the ensemble
        risk is the sum of these times the member's risk, plus a constant (for attributions; 0
        for a member of one risk, which :func:`standardised` gives 0)."""
        used = np.flatnonzero(self.weights_ > 0)
        factors = standardised(self.weights_[used], 0.0, self.scales_[used, 1])
        return [
            (self.candidates_[k], self.members_[k], float(f))
            for k, f in zip(used, factors, strict=True)
        ]

    def _state(self, folder: Path) -> dict[str, Any]:
        for k in np.flatnonzero(self.weights_ > 0):
            self.members_[k].save(folder / f"member-{k}")
        return {
            "candidates": [c.to_dict() for c in self.candidates_],
            "weights": self.weights_.tolist(),
            "scales": self.scales_.tolist(),
            "chosen": self.chosen_,
            "ensemble_scale": list(self.ensemble_scale_),
            "selection": json_ready(self.selection_),
        }

    def _set_state(self, state: dict[str, Any], folder: Path) -> None:
        self.candidates_ = [Candidate.from_dict(c) for c in state["candidates"]]
        self.weights_ = np.asarray(state["weights"], dtype=float)
        self.scales_ = np.asarray(state["scales"], dtype=float)
        self.chosen_ = int(state["chosen"])
        self.ensemble_scale_ = tuple(state["ensemble_scale"])
        self.selection_ = state["selection"]
        self.members_ = [
            SurvivalModel.load(folder / f"member-{k}") if w > 0 else None
            for k, w in enumerate(self.weights_)
        ]

    def _chosen(self) -> SurvivalModel:
        if not hasattr(self, "members_"):
            raise ConfigError(f"Model '{self.name}' is not fitted yet; call fit first.")
        chosen = self.members_[self.chosen_]
        # a loaded ensemble keeps only its weighted members; the heaviest stands for the choice
        return chosen if chosen is not None else self.members_[int(np.argmax(self.weights_))]

    @property
    def features_used_(self) -> list[str]:
        names: list[str] = []
        for _, member, _ in self.member_terms():
            names += [n for n in member.features_used_ if n not in names]
        return names


def read_selection(folder: str | Path) -> dict[str, Any] | None:
    """How the model saved in ``folder`` was chosen: ``auto``'s ``selection.json``, or the
    selection stored in an ensemble's ``model.json``; None for any other model."""
    path = Path(folder) / SELECTION_FILE
    if path.is_file():
        return json.loads(path.read_text())
    document = json.loads((Path(folder) / "model.json").read_text())
    return document["state"]["selection"] if document.get("model") == ENSEMBLE else None
