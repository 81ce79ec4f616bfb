"""Model card: what a saved model needs beside its weights to score and explain a new case.

Written as ``card.json`` next to ``model.json``: the training cohort's size and events, its sorted
risk scores (for a new patient's percentile), the learned risk-group cut with the cohort's
Kaplan-Meier curves per group, log-rank p and hazard ratio (for the Risk page), the apparent and,
when run, cross-validated c-index, and the feature sources (clinical variables, radiomics
settings) that a case must be able to produce.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from survival_core import __version__
from survival_core.errors import InputError
from survival_core.evaluation.concordance import harrell_c_index
from survival_core.evaluation.risk_groups import (
    RiskGroupCut,
    hazard_ratio,
    kaplan_meier,
    logrank_test,
)
from survival_core.outcome import survival_arrays

CARD_FILE = "card.json"


def _curve(km) -> dict[str, list[float]]:
    return {
        "time": km.time.tolist(),
        "survival": km.survival.tolist(),
        "ci_low": km.ci_low.tolist(),
        "ci_high": km.ci_high.tolist(),
        "n_at_risk": km.n_at_risk.tolist(),
        "n_events": km.n_events.tolist(),
    }


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite number as None (JSON has neither; e.g. an unbounded
    hazard-ratio CI in a small cohort, or a td-AUC no patient could inform)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


@dataclass
class ModelCard:
    """Training-cohort facts of a fitted model (times in days)."""

    model: str
    n: int
    n_events: int
    training_risk: list[float]
    cut: dict[str, Any]
    km: dict[str, dict[str, list[float]]]
    logrank_p: float | None
    hazard_ratio: list[float] | None
    apparent_c_index: float
    clinical_columns: list[str]
    radiomics_settings: str | None = None
    tables: list[str] = field(default_factory=list)
    cv: dict[str, Any] | None = None
    created: str = ""
    radsurv_version: str = __version__

    def percentile(self, risk: float) -> float:
        """Share (%) of training patients with a risk at or below ``risk``."""
        ranked = np.asarray(self.training_risk)
        return float(100.0 * np.searchsorted(ranked, risk, side="right") / ranked.size)

    def risk_group(self, risk: float) -> str:
        """'high' or 'low' by the cut learned on the training cohort."""
        return "high" if RiskGroupCut.from_dict(self.cut).assign(np.array([risk]))[0] else "low"

    def save(self, folder: Path | str) -> Path:
        path = Path(folder) / CARD_FILE
        path.write_text(json.dumps(_finite(asdict(self)), indent=1, allow_nan=False))
        return path

    @classmethod
    def load(cls, folder: Path | str) -> ModelCard:
        path = Path(folder) / CARD_FILE
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError as err:
            raise InputError(
                f"{folder} has no {CARD_FILE}; train it with `fit` to score cases."
            ) from err
        except (OSError, ValueError, TypeError) as err:
            raise InputError(f"{path} is not a readable model card: {err}") from err


def build_card(
    model_name: str,
    y: np.ndarray,
    training_risk: np.ndarray,
    *,
    clinical_columns: list[str],
    radiomics_settings: str | None = None,
    tables: list[str] | None = None,
    cut_method: str = "median",
    horizon: float | None = None,
    cv: dict[str, Any] | None = None,
) -> ModelCard:
    """A card from the training outcomes and the fitted model's risks on its training rows."""
    event, time = survival_arrays(y)
    cut = RiskGroupCut(cut_method, horizon).fit(y, training_risk)
    high = cut.assign(training_risk)
    km = {
        name: kaplan_meier((event[high == g], time[high == g]))
        for g, name in ((0, "low"), (1, "high"))
    }
    try:
        logrank_p = float(logrank_test(y, high).p_value)
        ratio = hazard_ratio(y, high)
        hr: list[float] | None = [ratio.value, ratio.ci_low, ratio.ci_high]
    except InputError:  # too few events in a group (tiny cohorts): the card says so with None
        logrank_p, hr = None, None
    return ModelCard(
        model=model_name,
        n=int(event.size),
        n_events=int(event.sum()),
        training_risk=np.sort(training_risk).tolist(),
        cut=cut.to_dict(),
        km={name: _curve(curve) for name, curve in km.items()},
        logrank_p=logrank_p,
        hazard_ratio=hr,
        apparent_c_index=float(harrell_c_index(y, training_risk)),
        clinical_columns=clinical_columns,
        radiomics_settings=radiomics_settings,
        tables=tables or [],
        cv=cv,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
