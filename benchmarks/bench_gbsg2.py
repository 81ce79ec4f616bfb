"""Every model on a real cohort: scikit-survival's GBSG2 (686 breast-cancer patients), 5-fold CV.

    .venv/bin/python benchmarks/bench_gbsg2.py [--repeats 1] [--json]

Also fits lifelines' CoxPHFitter on the same folds: our Cox PH must agree within 0.005 (issue 4).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.utils import concordance_index
from sksurv.datasets import load_gbsg2
from sksurv.util import Surv

from survival_core.cli.output import report
from survival_core.evaluation import splits
from survival_core.models import IMAGE_MODELS, MODELS, make_model
from survival_core.workflows.crossval import cross_validate


def lifelines_folds(X: pd.DataFrame, y: np.ndarray, folds) -> float:
    """Mean test c-index of lifelines' own Cox fit (penalizer 0.01) on the same folds."""
    encoded = pd.get_dummies(X, drop_first=True, dtype=float)
    scores = []
    for fold in folds:
        rows = np.sort(np.concatenate([fold.train, fold.validation]))
        train = encoded.iloc[rows].assign(time=y["time"][rows], event=y["event"][rows])
        fitter = CoxPHFitter(penalizer=0.01).fit(train, "time", "event")
        risk = fitter.predict_log_partial_hazard(encoded.iloc[fold.test]).to_numpy()
        scores.append(concordance_index(y["time"][fold.test], -risk, y["event"][fold.test]))
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    X, raw = load_gbsg2()
    X = pd.DataFrame(X)
    y = Surv.from_arrays(raw["cens"], raw["time"])
    folds = splits.nested_cv(y["event"], args.repeats, 5, seed=0)
    result: dict = {
        "n": len(y),
        "lifelines_coxph_fold_mean": round(lifelines_folds(X, y, folds), 4),
    }
    for name in (m for m in MODELS if m not in IMAGE_MODELS):  # the table models
        start = time.perf_counter()
        s = cross_validate(X, y, lambda name=name: make_model(name), folds, n_bootstrap=500).summary
        result[name] = {
            "c_index": round(s["c_index"], 4),
            "ci": [round(s["ci_low"], 3), round(s["ci_high"], 3)],
            "fold_mean": round(s["fold_c_index_mean"], 4),
            "td_auc_730": round(s["td_auc"].get("730", float("nan")), 3),
            "ibs": round(s["ibs"], 3),
            "seconds": round(time.perf_counter() - start, 1),
        }
    report(result, args.json)


if __name__ == "__main__":
    main()
