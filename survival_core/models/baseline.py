"""Breslow baseline cumulative hazard: survival curves for any risk-score model.

For a model whose risk is a log-hazard r(x), S(t | x) = exp(-H0(t) exp(r(x))) with
H0(t) = sum over event times t_j <= t of d_j / sum_{T_i >= t_j} exp(r_i) (Breslow), fitted on the
training rows at fit time. Risks are shifted by their training maximum before exponentiating so the
estimate cannot overflow; the shift is stored and cancels out in every prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from survival_core.errors import InputError

#: Largest spread of the training risks (log-hazards) a baseline is fitted for: beyond it
#: exp(risk - max) underflows to 0 for the lowest risks.
MAX_RISK_SPREAD = 700.0


class BreslowBaseline:
    """Step-function baseline cumulative hazard H0(t) (t in the unit of the training times)."""

    def fit(self, risk: np.ndarray, event: np.ndarray, time: np.ndarray) -> BreslowBaseline:
        """Estimate H0 from training risks (log-hazards), event indicators and times."""
        risk = np.asarray(risk, dtype=float).reshape(-1)
        if not np.all(np.isfinite(risk)):
            raise InputError("The model produced non-finite risk scores on the training data.")
        spread = float(risk.max() - risk.min())
        if spread > MAX_RISK_SPREAD:  # exp(-spread) underflows: an at-risk sum of 0, H0 of inf
            raise InputError(
                f"The model's training risks span {spread:.0f} log-hazard units (hazard ratios "
                f"beyond 1e{MAX_RISK_SPREAD * np.log10(np.e):.0f} between patients): its training "
                "diverged. Lower the learning rate or the number of epochs, or add regularisation."
            )
        event = np.asarray(event, dtype=bool)
        time = np.asarray(time, dtype=float)
        self.offset_ = float(risk.max())
        w = np.exp(risk - self.offset_)
        order = np.argsort(time, kind="stable")
        t_sorted, w_sorted, e_sorted = time[order], w[order], event[order]
        at_risk = np.cumsum(w_sorted[::-1])[::-1]
        unique, first = np.unique(t_sorted, return_index=True)
        deaths = np.add.reduceat(e_sorted.astype(float), first)
        has_event = deaths > 0
        self.times_ = unique[has_event]
        self.cum_hazard_ = np.cumsum(deaths[has_event] / at_risk[first][has_event])
        return self

    def cumulative_hazard(self, times: np.ndarray) -> np.ndarray:
        """H0 at ``times``: 0 before the first event time, constant after the last."""
        idx = np.searchsorted(self.times_, np.asarray(times, dtype=float), side="right") - 1
        return np.where(idx >= 0, self.cum_hazard_[np.clip(idx, 0, None)], 0.0)

    def survival(self, risk: np.ndarray, times: np.ndarray) -> np.ndarray:
        """S(t | x) for each risk (rows) and time (columns), in [0, 1], non-increasing in t."""
        h0 = self.cumulative_hazard(times)[None, :]
        with np.errstate(over="ignore"):
            relative = np.exp(np.asarray(risk, dtype=float).reshape(-1, 1) - self.offset_)
        cum_hazard = np.where(h0 > 0, h0 * relative, 0.0)
        return np.exp(-cum_hazard)

    def to_dict(self) -> dict[str, Any]:
        return {
            "offset": self.offset_,
            "times": self.times_.tolist(),
            "cum_hazard": self.cum_hazard_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> BreslowBaseline:
        baseline = cls()
        try:
            baseline.offset_ = float(state["offset"])
            baseline.times_ = np.asarray(state["times"], dtype=float)
            baseline.cum_hazard_ = np.asarray(state["cum_hazard"], dtype=float)
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"Saved baseline hazard is malformed: {err}") from err
        if baseline.times_.shape != baseline.cum_hazard_.shape:
            raise InputError(
                "Saved baseline hazard is malformed: times and values differ in length."
            )
        return baseline
