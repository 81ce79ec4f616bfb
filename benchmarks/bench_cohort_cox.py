"""The Cohort page's univariate Cox table at radiomics sizes, and its c-index stage side by side.

    .venv/bin/python benchmarks/bench_cohort_cox.py [--sizes 300x1500,3000x300] [--json]

Per size (patients x columns of normal noise, exponential times, 60 % events, a few values
missing in every seventh column): the seconds of ``cohort.exploration.univariate_cox`` over every
column (one Cox fit per column, the c-index of each fitted risk, Benjamini-Hochberg), and the
c-index stage two ways on the same fitted risks: one pass of ``concordance_columns`` per set of
patients with a value (what the table does) against one ``harrell_c_index`` call per column (what
it did), with the largest difference between them (must be 0).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sksurv.util import Surv

from survival_core.cli.output import progress, report
from survival_core.cohort import exploration as ex
from survival_core.evaluation.concordance import harrell_c_index


def cohort(n: int, p: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    names = [f"gtv__original__firstorder__f{k}" for k in range(p)]
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=names)
    X.index = pd.Index([f"P{k:05d}" for k in range(n)], name="case_id")
    X.iloc[:5, ::7] = np.nan
    time_ = rng.exponential(1000.0, n).round() + 1
    return X, Surv.from_arrays(rng.random(n) < 0.6, time_)


def measure(n: int, p: int) -> dict[str, float]:
    X, y = cohort(n, p)
    start = time.perf_counter()
    table = ex.univariate_cox(X, y, list(X.columns))
    total = time.perf_counter() - start
    event, time_ = y["event"], y["time"]
    fitted = [ex._cox_row(ex.variable(X[c]), event, time_, 0.95) for c in X.columns]
    risks = [risk for _, risk in fitted]
    start = time.perf_counter()
    batched = ex._c_indices(risks, event, time_)
    one_pass = time.perf_counter() - start
    start = time.perf_counter()
    looped = []
    for risk in risks:
        used = ~np.isnan(risk)
        looped.append(harrell_c_index((event[used], time_[used]), risk[used]))
    per_column = time.perf_counter() - start
    return {
        "patients": n,
        "columns": p,
        "table_seconds": round(total, 3),
        "c_index_one_pass_seconds": round(one_pass, 3),
        "c_index_per_column_seconds": round(per_column, 3),
        "speedup": round(per_column / one_pass, 2),
        "max_difference": float(np.max(np.abs(batched - np.array(looped)))),
        "rows": len(table),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300x1500,3000x300")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for size in args.sizes.split(","):
        n, p = map(int, size.lower().split("x"))
        result = measure(n, p)
        progress(
            f"{n} x {p}: table {result['table_seconds']} s; c-index one pass "
            f"{result['c_index_one_pass_seconds']} s vs per column "
            f"{result['c_index_per_column_seconds']} s ({result['speedup']}x), "
            f"max difference {result['max_difference']:.1e}"
        )
        results.append(result)
    report({"sizes": results}, args.json)


if __name__ == "__main__":
    main()
