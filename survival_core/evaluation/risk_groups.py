"""Risk groups from a cut learned on training data, and the statistics reported for them:
Kaplan-Meier curves with log-log (exponential Greenwood) intervals, the log-rank test, and the
high-vs-low hazard ratio from a Cox model (Efron ties), all cross-checked against lifelines.
The log-rank test stays here: lifelines' ``multivariate_logrank_test`` does not return the
observed/expected events reported below, and takes 30 ms against 0.2 ms at n = 300.

A cut is learned once on the TRAINING risks and then applied unchanged to test patients, so the
reported separation is not optimistically tuned on the data it is shown on. Two rules:

* ``"median"``: the training median of the risk.
* ``"youden"``: the threshold maximising sensitivity + specificity - 1 on the cumulative/dynamic
  ROC at ``horizon`` days (see :mod:`survival_core.evaluation.td_auc`). Patients censored before the
  horizon have unknown status: they get weight 0 and cases are weighted by the inverse censoring
  probability at their event time (IPCW), rather than being counted as controls. The cut is placed
  halfway between the chosen risk and the next lower one.

A patient is high risk (1) when their risk is strictly above the cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import chi2, norm
from sksurv.nonparametric import kaplan_meier_estimator

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.bootstrap import Estimate, check_level, two_sided_z
from survival_core.evaluation.concordance import risk_array
from survival_core.evaluation.td_auc import cumulative_dynamic_roc
from survival_core.outcome import Outcome, survival_arrays
from survival_core.text import decimals_apart


@dataclass(frozen=True)
class KaplanMeierCurve:
    """Kaplan-Meier survival at each unique observed time (days) with a pointwise CI."""

    time: np.ndarray
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n_at_risk: np.ndarray
    n_events: np.ndarray
    level: float

    @property
    def median(self) -> float | None:
        """The median survival: the first time the curve reaches 0.5 or below (None when it stays
        above)."""
        below = np.flatnonzero(self.survival <= 0.5)
        return float(self.time[below[0]]) if below.size else None

    def at(self, t: float) -> Estimate:
        """Survival at ``t`` days with its CI; the curve is flat after the last observed time."""
        k = int(np.searchsorted(self.time, t, side="right")) - 1
        if k < 0:
            return Estimate(1.0, 1.0, 1.0, "Kaplan-Meier")
        return Estimate(
            float(self.survival[k]),
            float(self.ci_low[k]),
            float(self.ci_high[k]),
            f"Kaplan-Meier, log-log Greenwood {self.level:.0%} CI",
        )


def kaplan_meier(y: Outcome, level: float = 0.95) -> KaplanMeierCurve:
    """Kaplan-Meier estimate with the log(-log S) Greenwood interval (lifelines' default), by
    ``sksurv.nonparametric.kaplan_meier_estimator``, with the numbers at risk and of events."""
    check_level(level)
    event, time = survival_arrays(y)
    if time.size == 0:
        raise InputError("A Kaplan-Meier curve needs at least one patient.")
    times, surv, (low, high) = kaplan_meier_estimator(
        event, time, conf_level=level, conf_type="log-log"
    )
    n_at_risk = (time.size - np.searchsorted(np.sort(time), times)).astype(float)
    n_events = np.bincount(np.searchsorted(times, time[event]), minlength=times.size)
    return KaplanMeierCurve(times, surv, low, high, n_at_risk, n_events.astype(float), level)


def survival_at(y: Outcome, t: float, level: float = 0.95) -> Estimate:
    """Kaplan-Meier survival at ``t`` days with its log-log Greenwood CI."""
    return kaplan_meier(y, level).at(t)


@dataclass(frozen=True)
class LogRankResult:
    """Two-group log-rank test: chi-square statistic (1 df), p-value, and observed/expected events
    in the high-risk group."""

    chi2: float
    p_value: float
    observed: float
    expected: float


def _two_groups(groups: np.ndarray, n: int) -> np.ndarray:
    groups = np.asarray(groups)
    if groups.shape != (n,) or not np.isin(groups, (0, 1)).all():
        raise InputError(f"Risk groups must be one 0/1 label per patient ({n}).")
    groups = groups.astype(bool)
    if groups.all() or not groups.any():
        raise InputError(
            "Both risk groups must contain patients; the cut put everybody in one group."
        )
    return groups


@dataclass(frozen=True)
class GroupTest:
    """A k-group log-rank test: chi-square statistic, degrees of freedom (k - 1) and p-value."""

    chi2: float
    df: int
    p_value: float


def _logrank(
    event: np.ndarray, time: np.ndarray, codes: np.ndarray, k: int
) -> tuple[float, int, np.ndarray, np.ndarray]:
    """The log-rank chi-square of groups ``codes`` (0..k-1), its degrees of freedom, and observed
    and expected events per group: (O - E)' V^-1 (O - E) with the hypergeometric covariance V (as
    lifelines' ``multivariate_logrank_test``) over the groups at risk at some event time but
    one. A group never at risk when an event happens (patients censored before the first) adds
    nothing and takes no degree of freedom, as in R's ``survdiff``: which group came last
    decided whether the test was refused or answered on one degree of freedom too many."""
    event_times = np.unique(time[event])
    if event_times.size == 0:
        raise InputError("The log-rank test needs at least one event.")
    at_risk = np.empty((event_times.size, k))
    deaths = np.zeros((event_times.size, k))
    slot = np.searchsorted(event_times, time[event])
    for g in range(k):
        mine = np.sort(time[codes == g])
        at_risk[:, g] = mine.size - np.searchsorted(mine, event_times, side="left")
        np.add.at(deaths[:, g], slot[codes[event] == g], 1.0)
    n, d = at_risk.sum(axis=1), deaths.sum(axis=1)
    share = at_risk / n[:, None]
    spread = d * (n - d) / np.where(n > 1, n - 1.0, 1.0)
    observed, expected = deaths.sum(axis=0), (d[:, None] * share).sum(axis=0)
    difference = observed - expected
    covariance = np.einsum("t,tg,th->gh", spread, share, -share)
    covariance[np.diag_indices(k)] += (spread[:, None] * share).sum(axis=0)
    kept = np.flatnonzero(expected > 0)[:-1]  # the groups at risk, but one
    undefined = InputError(
        "The log-rank test is undefined here (fewer than two groups have patients at risk at an "
        "event time)."
    )
    if kept.size == 0:
        raise undefined
    try:
        inverse_part = np.linalg.solve(covariance[np.ix_(kept, kept)], difference[kept])
    except np.linalg.LinAlgError as err:
        raise undefined from err
    return float(difference[kept] @ inverse_part), int(kept.size), observed, expected


def logrank_groups(y: Outcome, groups: np.ndarray) -> GroupTest:
    """Log-rank test of equal survival across the groups in ``groups`` (any labels, k >= 2)."""
    event, time = survival_arrays(y)
    names, codes = np.unique(np.asarray(groups), return_inverse=True)
    if names.size < 2:
        raise InputError("The log-rank test needs at least two groups of patients.")
    statistic, df, _, _ = _logrank(event, time, codes, names.size)
    return GroupTest(statistic, df, float(chi2.sf(statistic, df)))


def logrank_test(y: Outcome, groups: np.ndarray) -> LogRankResult:
    """Log-rank test between group 1 (high risk) and group 0 (low risk)."""
    event, time = survival_arrays(y)
    high = _two_groups(groups, time.size)
    statistic, _, observed, expected = _logrank(event, time, high.astype(int), 2)
    return LogRankResult(
        statistic, float(chi2.sf(statistic, 1)), float(observed[1]), float(expected[1])
    )


@dataclass(frozen=True)
class CoxWald:
    """One-covariate Cox fits per column, on the column standardised by its (ddof 0) ``sd``:
    coefficient and standard error per SD, Wald and likelihood-ratio p-values, and whether
    Newton-Raphson converged for each column."""

    coef: np.ndarray
    se: np.ndarray
    p_value: np.ndarray
    sd: np.ndarray
    column_converged: np.ndarray
    lr_p_value: np.ndarray

    @property
    def converged(self) -> bool:
        """Whether Newton-Raphson converged for every column."""
        return bool(self.column_converged.all())

    @property
    def test_p_value(self) -> np.ndarray:
        """Per column, the p to report: Wald's where the fit converged, else the likelihood
        ratio's. A coefficient that runs to infinity (no event in one level of a yes/no, a
        number that separates the events) has a standard error growing faster than it, so its
        Wald p tends to 1 (Hauck-Donner: 0.99999 beside a log-rank p of 9e-6 on GBSG2 patients
        without an event under hormone therapy); the likelihood ratio stays valid."""
        return np.where(self.column_converged, self.p_value, self.lr_p_value)


#: Step halvings allowed per Newton iteration of :func:`cox_wald`.
_HALVINGS = 30


def constant_columns(X: np.ndarray) -> np.ndarray:
    """Per column of ``X`` (n, p): whether its spread is rounding, not variation (a standard
    deviation of at most 1e-12 of its largest magnitude; 0.97 repeated has a float std of
    1e-17, which a test for ``> 0`` took for spread)."""
    X = np.asarray(X, dtype=float)
    return ~(X.std(axis=0) > 1e-12 * np.abs(X).max(axis=0, initial=0.0))


def cox_wald(
    X: np.ndarray, event: np.ndarray, time: np.ndarray, ties: str = "breslow", n_iter: int = 50
) -> CoxWald:
    """The one univariate Cox implementation: a one-covariate model per column of ``X`` (n, p).

    Newton-Raphson on the partial likelihood for all columns at once, steps limited to 1 per
    iteration and halved while they lower the likelihood; ``ties`` "breslow" (the
    ``cox_pvalue`` feature filter and the Cohort page) or "efron" (hazard ratio, calibration
    slope; as lifelines). Constant columns (:func:`constant_columns`) get coefficient 0 and p = 1.
    The likelihood-ratio p compares the partial likelihood at the coefficient with that at 0
    (:attr:`CoxWald.test_p_value` uses it where a column's fit does not converge).
    """
    X = np.asarray(X, dtype=float)
    usable = ~constant_columns(X)
    std = np.where(usable, X.std(axis=0), 0.0)
    x = (X - X.mean(axis=0)) / np.where(usable, std, 1.0)
    order = np.argsort(time, kind="stable")
    x, e, t = x[order], np.asarray(event, dtype=bool)[order], np.asarray(time)[order]
    _, first, inverse = np.unique(t, return_index=True, return_inverse=True)
    # Efron: the l-th of d events tied at a time removes l/d of their weight from the risk set
    _, tie_start, tie_of, tie_size = np.unique(
        t[e], return_index=True, return_inverse=True, return_counts=True
    )
    fraction = ((np.arange(tie_of.size) - tie_start[tie_of]) / tie_size[tie_of])[:, None]
    beta = np.zeros(X.shape[1])
    info = np.ones(X.shape[1])
    converged = np.zeros(X.shape[1], dtype=bool)

    def risk_sums(values: np.ndarray) -> np.ndarray:
        sums = np.cumsum(values[::-1], axis=0)[::-1][first][inverse][e]
        if ties == "efron":
            sums = sums - fraction * np.add.reduceat(values[e], tie_start, axis=0)[tie_of]
        return sums

    def log_likelihood(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each column's partial log-likelihood at ``b``, with the weights and risk-set sums
        (shifted by the column's largest eta, which cancels)."""
        eta = x * b
        shifted = eta - eta.max(axis=0)
        w = np.exp(shifted)
        s0 = risk_sums(w)
        return (shifted[e] - np.log(s0)).sum(axis=0), w, s0

    loglik, w, s0 = log_likelihood(beta)
    null_loglik = loglik
    for _ in range(n_iter):
        s1, s2 = risk_sums(w * x), risk_sums(w * x * x)
        mean_x = s1 / s0
        score = (x[e] - mean_x).sum(axis=0)
        info = np.maximum((s2 / s0 - mean_x**2).sum(axis=0), 1e-12)
        step = np.clip(score / info, -1.0, 1.0)
        converged = (np.abs(step) < 1e-10) | ~usable
        if converged.all():
            break
        # the partial likelihood is concave: a step that lowers it is halved. Unhalved, a skewed
        # column's steps overshot and cycled between two betas of opposite sign (FLCHAIN's
        # creatinine: HR 0.32 per SD reported, 1.44 the maximum)
        for _ in range(_HALVINGS):
            trial = beta + step
            new, w_new, s0_new = log_likelihood(trial)
            worse = new < loglik - 1e-12 * np.abs(loglik)
            if not worse.any():
                break
            step = np.where(worse, step / 2.0, step)
        beta, loglik, w, s0 = trial, new, w_new, s0_new
    p_value = 2.0 * norm.sf(np.abs(beta) * np.sqrt(info))
    lr_p_value = chi2.sf(np.maximum(2.0 * (loglik - null_loglik), 0.0), df=1)
    return CoxWald(
        np.where(usable, beta, 0.0),
        np.where(usable, 1.0 / np.sqrt(info), np.inf),
        np.where(usable, p_value, 1.0),
        std,
        converged,
        np.where(usable, lr_p_value, 1.0),
    )


def cox_coefficient(y: Outcome, x: np.ndarray, max_iter: int = 50) -> tuple[float, float]:
    """Coefficient and standard error of a one-covariate Cox model (Efron ties, :func:`cox_wald`).

    Used for the high-vs-low hazard ratio and for the calibration slope.
    """
    event, time = survival_arrays(y)
    x = risk_array(x, time.size, "covariate")
    if not event.any():
        raise InputError("A Cox model needs at least one event.")
    fit = cox_wald(x[:, None], event, time, ties="efron", n_iter=max_iter)
    if fit.sd[0] == 0:
        raise InputError(
            "Every patient has the same value (e.g. the same predicted survival, as before the "
            "first event): a Cox coefficient (hazard ratio, calibration slope) is undefined."
        )
    if not fit.converged:
        raise InputError(
            "The Cox model did not converge (the covariate separates events completely, e.g. no "
            "events in one risk group); a hazard ratio cannot be estimated."
        )
    return float(fit.coef[0] / fit.sd[0]), float(fit.se[0] / fit.sd[0])


def hazard_ratio(y: Outcome, groups: np.ndarray, level: float = 0.95) -> Estimate:
    """Hazard ratio of group 1 (high risk) vs group 0 with a Wald CI from a Cox model."""
    event, time = survival_arrays(y)
    high = _two_groups(groups, time.size)
    z = two_sided_z(level)
    if not event[high].any() or not event[~high].any():
        raise InputError(
            "Both risk groups need at least one event to estimate a hazard ratio; "
            f"events: high {int(event[high].sum())}, low {int(event[~high].sum())}."
        )
    coef, se = cox_coefficient((event, time), high.astype(float))
    with np.errstate(over="ignore"):  # a near-separating split: the CI is unbounded (inf)
        bounds = np.exp([coef, coef - z * se, coef + z * se])
    return Estimate(*map(float, bounds), "Cox proportional hazards (Efron ties), Wald CI")


@dataclass(frozen=True)
class LevelCox:
    """A Cox model of an unordered category: each level's hazard ratio against ``reference``
    (Wald CI), the likelihood-ratio test of all levels at once (``df`` = levels - 1) and each
    patient's fitted log hazard (for a c-index)."""

    reference: str
    hazard_ratios: dict[str, Estimate]
    df: int
    p_value: float
    risk: np.ndarray
    converged: bool


def level_cox(y: Outcome, labels: np.ndarray, level: float = 0.95) -> LevelCox:
    """Cox PH (Efron ties, lifelines) of the categories ``labels`` (one per patient, at least two
    distinct), as indicator columns against the most frequent level; a level without events
    has no finite hazard ratio and leaves ``converged`` False."""
    import warnings

    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    event, time = survival_arrays(y)
    labels = np.asarray(labels, dtype=str)
    counts = pd.Series(labels).value_counts(sort=True)  # ties: first seen
    if counts.size < 2 or not event.any():
        raise InputError("A Cox model of categories needs two levels and at least one event.")
    reference = str(counts.index[0])
    others = [str(c) for c in counts.index[1:]]
    data = pd.DataFrame({f"x{k}": (labels == name).astype(float) for k, name in enumerate(others)})
    data["time"], data["event"] = time, event.astype(int)
    z = two_sided_z(level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-convergence is reported through ``converged``
        fitter = CoxPHFitter()
        try:
            fitter.fit(data, "time", "event", fit_options={"step_size": 0.5})
            converged = True
        except ConvergenceError:
            fitter.fit(data, "time", "event", fit_options={"step_size": 0.5, "max_steps": 50})
            converged = False
        test = fitter.log_likelihood_ratio_test()
    coef, se = fitter.params_.to_numpy(), fitter.standard_errors_.to_numpy()
    converged = converged and bool(np.isfinite(se).all() and (np.abs(coef) < 20).all())
    with np.errstate(over="ignore"):
        ratios = {
            name: Estimate(
                *map(float, np.exp([b, b - z * s, b + z * s])),
                "Cox proportional hazards (Efron ties), Wald CI",
            )
            for name, b, s in zip(others, coef, se, strict=True)
        }
    return LevelCox(
        reference=reference,
        hazard_ratios=ratios,
        df=len(others),
        p_value=float(test.p_value),
        risk=data[[f"x{k}" for k in range(len(others))]].to_numpy() @ coef,
        converged=converged,
    )


#: Relative distance from the cut within which a risk is at it (float rounding of one model's
#: risk between a batch and a single row, far below any real difference in risk).
CUT_RTOL = 1e-9


def cut_rounding(threshold: float) -> float:
    """How far from a cut's ``threshold`` a risk is still at it (:data:`CUT_RTOL` of its scale)."""
    return CUT_RTOL * max(1.0, abs(threshold))


def digits_apart_from_cut(risk: float, threshold: float | None) -> int:
    """Decimals that print ``risk`` apart from a risk-group cut's ``threshold`` (a risk of
    0.074571 above a cut of 0.074421 was shown as 0.07 in the high-risk group, by 'risk > 0.07
    is high'), 2 at the cut within its rounding or without a threshold."""
    if threshold is None:
        return 2
    return decimals_apart(risk, threshold, tolerance=cut_rounding(threshold))


def check_youden_horizon(
    y: Outcome, horizon: float, option: str, unit: tuple[str, float] = ("days", 1.0)
) -> None:
    """Refuse, before any fit, a Youden cut ``horizon`` (days) outside the follow-up of the
    training outcomes ``y``, naming the ``option`` that set it (``fit --horizon``, a run config's
    ``risk_groups.horizon``): the cut is learned at it on them, after every fold and fit. The
    refusal speaks in the ``unit`` (name, days in one) the option was given in, as the user
    wrote it (``--time-unit months --horizon 200`` was told of 6087.5 days)."""
    from survival_core.evaluation.td_auc import check_horizons

    time = survival_arrays(y)[1]
    try:
        check_horizons(time, horizon)
    except InputError as err:
        name, days = unit
        said = f"{horizon / days:g} {name}" + (f" ({horizon:g} days)" if days != 1.0 else "")
        raise ConfigError(
            f"{option}: the Youden cut is learned at {said}, outside the follow-up of the "
            f"training patients [{time.min() / days:.4g}, {time.max() / days:.4g}) {name}; "
            "choose a horizon inside it."
        ) from err


def _median_cut(risk: np.ndarray) -> float:
    """The median of the training ``risk``; where it is the highest risk (more than half the
    patients tied at the top: a Cox model of one yes/no variable), the boundary below the tie, so
    that both groups hold patients (at the median everybody was 'low', and the card failed with
    'A Kaplan-Meier curve needs at least one patient')."""
    median = float(np.median(risk))
    rounding = cut_rounding(median)
    below = risk[risk < median - rounding]
    if (risk > median + rounding).any() or not below.size:
        return median
    return float((below.max() + median) / 2.0)


class RiskGroupCut:
    """A risk threshold learned on training data: ``fit(y_train, risk_train)``, then ``assign``."""

    METHODS = ("median", "youden")

    def __init__(self, method: str = "median", horizon: float | None = None) -> None:
        if method not in self.METHODS:
            raise ConfigError(
                f"Risk-group cut method must be one of {self.METHODS}; got {method!r}."
            )
        if method == "youden" and (horizon is None or not horizon > 0):
            raise ConfigError(f"The Youden cut needs a positive horizon in days; got {horizon!r}.")
        self.method = method
        self.horizon = None if horizon is None else float(horizon)
        self.threshold_: float | None = None

    def fit(self, y_train: Outcome, risk_train: np.ndarray) -> RiskGroupCut:
        """Learn the threshold from training outcomes and risks (higher = worse)."""
        event, time = survival_arrays(y_train)
        risk = risk_array(risk_train, time.size)
        if self.method == "median":
            self.threshold_ = _median_cut(risk)
            return self
        roc = cumulative_dynamic_roc((event, time), (event, time), risk, self.horizon)
        best = int(np.argmax(roc.true_positive_rate - roc.false_positive_rate))
        if best == 0 or best == roc.thresholds.size - 1:
            raise InputError(
                f"The training risk does not separate patients at {self.horizon:g} days (the best "
                "Youden threshold puts everybody in one group)."
            )
        self.threshold_ = float((roc.thresholds[best] + roc.thresholds[best + 1]) / 2.0)
        return self

    def assign(self, risk: np.ndarray) -> np.ndarray:
        """1 for high risk (risk above the cut), 0 for low risk. A risk within rounding
        (:data:`CUT_RTOL` of the cut's scale) of the cut is at it, so low: the median cut lands
        on tied training risks, and one patient scored alone differs from its batch risk by
        ~1e-16 (144 of GBSG2's patients were 'low' in the card and 'high' when scored)."""
        if self.threshold_ is None:
            raise ConfigError(
                "The risk-group cut has not been fitted; call fit() on training data."
            )
        risk = np.asarray(risk, dtype=float)
        rounding = cut_rounding(self.threshold_)
        return (risk > self.threshold_ + rounding).astype(int)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings and learned threshold."""
        return {"method": self.method, "horizon": self.horizon, "threshold": self.threshold_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskGroupCut:
        """Rebuild a cut saved with :meth:`to_dict`."""
        try:
            cut = cls(data["method"], data.get("horizon"))
            cut.threshold_ = None if data["threshold"] is None else float(data["threshold"])
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(
                f"Saved risk-group cut is incomplete or malformed: {data!r}."
            ) from err
        return cut


@dataclass(frozen=True)
class StratificationResult:
    """Test-set risk groups with Kaplan-Meier curves (0 = low, 1 = high), log-rank and HR."""

    groups: np.ndarray
    km: dict[int, KaplanMeierCurve]
    logrank: LogRankResult
    hazard_ratio: Estimate

    @property
    def logrank_p(self) -> float:
        return self.logrank.p_value

    @property
    def hr(self) -> float:
        return self.hazard_ratio.value

    @property
    def hr_ci(self) -> tuple[float, float]:
        return self.hazard_ratio.ci_low, self.hazard_ratio.ci_high


def stratify(
    y_test: Outcome, risk_test: np.ndarray, cut: RiskGroupCut, level: float = 0.95
) -> StratificationResult:
    """Apply a training-fitted ``cut`` to test patients and summarise the separation."""
    event, time = survival_arrays(y_test)
    groups = cut.assign(risk_array(risk_test, time.size))
    high = _two_groups(groups, time.size)
    km = {g: kaplan_meier((event[high == g], time[high == g]), level) for g in (0, 1)}
    return StratificationResult(
        groups, km, logrank_test((event, time), groups), hazard_ratio((event, time), groups, level)
    )
