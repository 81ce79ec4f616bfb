"""Gradient-boosted Cox trees (``gbsa``): scikit-survival's own fit against RadSurv's, side by side.

    .venv/bin/python benchmarks/bench_boosting.py [--sizes 686,2000,4000] [--json]

Both fit ``GradientBoostingSurvivalAnalysis`` with the Cox loss on the same rows and seed; RadSurv's
computes the loss and its gradient from running sums over the time-sorted subjects
(``survival_core.models.boosting.SortedCoxLoss``) where scikit-survival loops over all pairs.
Rows: GBSG2 (686 patients) at its size, the first rows of flchain (7,874, ``chapter`` dropped)
above it. Reported per size and setting (the two boosting candidates of ``--model auto``): each
fit's seconds, the ratio, and the largest difference between the two models' risks (the trees
must be the same).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sksurv.column import encode_categorical
from sksurv.datasets import load_flchain, load_gbsg2
from sksurv.ensemble import GradientBoostingSurvivalAnalysis

from survival_core.cli.output import progress, report
from survival_core.models.boosting import SortedCoxBoosting

SETTINGS = {
    "stumps": {"max_depth": 1, "n_estimators": 150},
    "depth 3": {"max_depth": 3, "learning_rate": 0.05, "subsample": 0.8},
}


def cohort(size: int) -> tuple[np.ndarray, np.ndarray]:
    """GBSG2 when ``size`` is its size, else flchain's first ``size`` rows (numeric matrix, y)."""
    X, y = load_gbsg2() if size == 686 else load_flchain()
    X = encode_categorical(X.drop(columns=["chapter"], errors="ignore"))
    return X.fillna(X.median()).to_numpy(float)[:size], y[:size]


def timed_fit(model: GradientBoostingSurvivalAnalysis, X: np.ndarray, y: np.ndarray) -> float:
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="686,2000,4000")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        X, y = cohort(size)
        for name, settings in SETTINGS.items():
            common = {"loss": "coxph", "min_samples_leaf": 10, "random_state": 0, **settings}
            stock, sorted_loss = (
                GradientBoostingSurvivalAnalysis(**common),
                SortedCoxBoosting(**common),
            )
            stock_s, sorted_s = timed_fit(stock, X, y), timed_fit(sorted_loss, X, y)
            row = {
                "subjects": len(X),
                "setting": name,
                "sksurv_s": round(stock_s, 3),
                "radsurv_s": round(sorted_s, 3),
                "speedup": round(stock_s / sorted_s, 1),
                "max_risk_difference": float(
                    np.abs(stock.predict(X) - sorted_loss.predict(X)).max()
                ),
            }
            progress(str(row))
            rows.append(row)
    report({"fits": rows}, as_json=args.json)


if __name__ == "__main__":
    main()
