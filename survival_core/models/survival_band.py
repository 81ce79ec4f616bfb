"""One patient's predicted survival curve S(t | x) with a pointwise confidence band (Risk page).

For the Cox model fitted by lifelines (``coxph``) the band comes from the delta method on the
linear predictor eta = (z - mean) . beta: se(eta) = sqrt(d' V d) with V the coefficient covariance
(the inverse of the penalised information matrix, as lifelines reports it), and, since
S(t | x) = exp(-H0(t) exp(eta)) is monotone in eta, the band is S evaluated at eta -/+ z se(eta)
(symmetric on the log(-log S) scale). It **excludes the uncertainty of the Breslow baseline
hazard H0(t)**, so it is somewhat too narrow, most where few patients remain at risk.

Models without a coefficient covariance (coxnet/lasso_cox, deepsurv, the forest, image models)
give the point estimate only, with a note saying why there is no band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from survival_core.errors import ConfigError
from survival_core.models.base import SurvivalModel, check_times
from survival_core.models.scoring import DAYS_PER_MONTH, REPORT_MONTHS

NO_BAND = "no confidence band for this model type ({model}: no coefficient covariance)"
BAND_NOTE = "delta method on the linear predictor; excludes the baseline-hazard uncertainty"


@dataclass(frozen=True)
class SurvivalBand:
    """S(t) at ``time`` (days) for one patient; ``low``/``high`` None when the model has no band."""

    time: np.ndarray
    survival: np.ndarray
    low: np.ndarray | None
    high: np.ndarray | None
    level: float
    note: str

    def at(self, days: float) -> tuple[float, float | None, float | None]:
        """(S, low, high) at ``days``, one of the grid's times (see :func:`follow_up_times`)."""
        k = np.flatnonzero(np.isclose(self.time, days))
        if k.size == 0:
            raise ConfigError(f"{days:g} days is not on the survival curve's time grid.")
        i = int(k[0])
        if self.low is None or self.high is None:
            return float(self.survival[i]), None, None
        return float(self.survival[i]), float(self.low[i]), float(self.high[i])


def coefficient_covariance(model: SurvivalModel) -> np.ndarray | None:
    """The (p, p) covariance of a lifelines Cox model's coefficients (on its preprocessed inputs),
    None for every other model and for a coxph saved before the covariance was kept."""
    from survival_core.models import CoxPH

    if not isinstance(model, CoxPH):
        return None
    return getattr(model, "covariance_", None)


def survival_band(model: SurvivalModel, X, times, level: float = 0.95) -> SurvivalBand:
    """S(t | x) at ``times`` (days) for the one row of ``X``, with a pointwise ``level`` band
    where the model has a coefficient covariance (see the module docstring)."""
    if not 0.0 < level < 1.0:
        raise ConfigError(f"The confidence level must be between 0 and 1; got {level}.")
    if len(X) != 1:
        raise ConfigError(f"A survival band is drawn for one patient; got {len(X)} rows.")
    times = check_times(times)
    survival = model.predict_survival(X, times)[0]
    covariance = coefficient_covariance(model)
    if covariance is None:
        return SurvivalBand(times, survival, None, None, level, NO_BAND.format(model=model.name))
    d = model._matrix(X)[0] - model.norm_mean_
    eta = float(d @ model.coef_)
    se = float(np.sqrt(max(d @ covariance @ d, 0.0)))
    z = float(norm.ppf(0.5 + level / 2))
    low, high = model.baseline_.survival(np.array([eta + z * se, eta - z * se]), times)
    return SurvivalBand(times, survival, low, high, level, BAND_NOTE)


def follow_up_times(end: float, points: int = 200) -> np.ndarray:
    """A time grid (days) from 0 to ``end``, a model's last follow-up
    (:attr:`~survival_core.models.scoring.LoadedModel.last_follow_up`), holding the 1/2/3-year
    report times within it exactly: the curve stops where the score stops reporting survival
    (:meth:`~survival_core.models.scoring.LoadedModel.followed`), as the model's survival is only
    carried flat beyond."""
    report = np.array(REPORT_MONTHS) * DAYS_PER_MONTH
    return np.union1d(np.linspace(0.0, end, points), report[report <= end])
