"""Model choice on real cohorts (issue 18): ``auto`` and ``ensemble`` against every candidate and a
plain Cox PH, on the same folds.

    .venv/bin/python benchmarks/bench_auto.py [--cohorts gbsg2,whas500,veterans,flchain,aids,synthetic]
        [--repeats 5] [--folds 5] [--workers 2] [--bootstrap 500] [--json]

For each cohort, scikit-survival's real clinical cohorts (GBSG2, WHAS500, veterans, flchain without
``chapter``, the cause of death, and AIDS) and the synthetic demo cohort (80 patients: clinical
variables and ``wei2021`` radiomics; prepared by ``make run``): one
``python -m survival_core cv --model auto --repeats R --folds F --workers W --out DIR`` run (its
wall time is auto's time: an ``auto`` fold fits every candidate, and also yields the ensemble and
each candidate's predictions on the same folds, ``DIR/comparison.csv``), and one plain Cox PH run
(``--model coxph --param penalizer=0``, same seed, so the same folds; on the synthetic cohort,
the clinical columns with coxph's default ridge of 0.01: 74 columns on 80 patients, or even its
18 clinical ones unpenalised, do not converge). Reported per cohort:
patients, events, the fold-mean and pooled out-of-fold c-index of auto, ensemble, the best single
candidate (by fold mean) and the plain Cox PH; the checks ``auto``/``ensemble`` >= best single
- 0.005 and >= plain Cox PH (fold means); auto's paired difference from the baseline (clinical-only
Cox, or plain Cox PH without image features) and the warnings the run gave; seconds.

Target: auto on GBSG2 (686 x 8), 5 x 5, within 5 minutes on 2 cores. One JSON object last with
``--json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from survival_core.cli.output import progress, report  # noqa: E402

COHORTS = ("gbsg2", "whas500", "veterans", "flchain", "aids", "synthetic")
MARGIN = 0.005
GBSG2_TARGET_S = 300.0
#: Columns that are not image features (ours are named roi__setting__class__feature).
CLINICAL_ONLY = r"^(?!.*__).*$"


def real_table(name: str) -> pd.DataFrame:
    """A scikit-survival cohort as the table ``cv --table`` reads (case_id, time, event, ...)."""
    from sksurv import datasets

    loader = {
        "gbsg2": datasets.load_gbsg2,
        "whas500": datasets.load_whas500,
        "veterans": datasets.load_veterans_lung_cancer,
        "flchain": datasets.load_flchain,
        "aids": datasets.load_aids,
    }[name]
    X, y = loader()
    event_field, time_field = y.dtype.names
    X = X.drop(columns=["chapter"], errors="ignore").reset_index(drop=True)  # flchain: the outcome
    table = pd.DataFrame({"case_id": [f"{name}-{i}" for i in range(len(X))]})
    table["time"] = y[time_field].astype(float)
    table["event"] = y[event_field].astype(int)
    return pd.concat([table, X], axis=1)


def synthetic_table() -> pd.DataFrame:
    """The demo cohort's clinical table joined with its wei2021 radiomics."""
    from survival_core.paths import data_dir, demo_cohort_dir

    clinical = pd.read_csv(demo_cohort_dir() / "clinical.csv")
    radiomics = pd.read_parquet(data_dir() / "features" / "demo-wei2021.parquet")
    return clinical.merge(radiomics, left_on="case_id", right_index=True)


def run_cv(table: Path, out: Path, args: argparse.Namespace, *model: str) -> tuple[dict, float]:
    command = [sys.executable, "-m", "survival_core", "cv", "--table", str(table), *model]
    command += ["--repeats", str(args.repeats), "--folds", str(args.folds)]
    command += ["--workers", str(args.workers), "--bootstrap", str(args.bootstrap)]
    command += ["--out", str(out), "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), seconds


def fold_mean(out: Path) -> float:
    return float(pd.read_csv(out / "folds.csv")["c_index"].mean())


def bench_cohort(name: str, folder: Path, args: argparse.Namespace) -> dict:
    table = synthetic_table() if name == "synthetic" else real_table(name)
    path = folder / f"{name}.csv"
    table.to_csv(path, index=False)
    progress(f"{name}: {len(table)} patients, {int(table['event'].sum())} events ...")
    summary, seconds = run_cv(path, folder / f"{name}-auto", args, "--model", "auto")
    comparison = pd.read_csv(folder / f"{name}-auto" / "comparison.csv").set_index("model")
    plain = ["--model", "coxph", "--param", "penalizer=0"]
    if name == "synthetic":  # 74 columns for 80 patients: the clinical ones, coxph's default
        plain = ["--model", "coxph", "--features", CLINICAL_ONLY]  # ridge 0.01 (0 diverges)
    _, cox_seconds = run_cv(path, folder / f"{name}-cox", args, *plain)
    singles = comparison.drop(index=["auto", "ensemble"])
    best = singles["fold_c_index_mean"].idxmax()
    plain = fold_mean(folder / f"{name}-cox")

    def row(model: str) -> dict:
        return {
            "fold_mean": round(float(comparison.loc[model, "fold_c_index_mean"]), 4),
            "pooled": round(float(comparison.loc[model, "c_index"]), 4),
        }

    auto, ensemble = row("auto"), row("ensemble")
    best_fold = float(singles.loc[best, "fold_c_index_mean"])
    result = {
        "patients": len(table),
        "events": int(table["event"].sum()),
        "columns": table.shape[1] - 3,
        "auto": auto,
        "ensemble": ensemble,
        "best_single": {"model": best, **row(best)},
        "plain_coxph": {"fold_mean": round(plain, 4)},
        "checks": {
            "auto_vs_best_single": round(auto["fold_mean"] - best_fold, 4),
            "ensemble_vs_best_single": round(ensemble["fold_mean"] - best_fold, 4),
            "auto_vs_plain_coxph": round(auto["fold_mean"] - plain, 4),
            "ensemble_vs_plain_coxph": round(ensemble["fold_mean"] - plain, 4),
        },
        "chosen_per_fold": summary["selection"]["chosen_per_fold"],
        "versus_baseline": summary["selection"]["versus_baseline"],
        "warnings": summary["selection"]["warnings"],
        "auto_seconds": round(seconds, 1),
        "plain_coxph_seconds": round(cox_seconds, 1),
    }
    checks = result["checks"]
    result["passed"] = bool(
        min(checks["auto_vs_best_single"], checks["ensemble_vs_best_single"]) >= -MARGIN
        and min(checks["auto_vs_plain_coxph"], checks["ensemble_vs_plain_coxph"]) >= 0
    )
    versus = result["versus_baseline"]
    result["never_significantly_worse_than_baseline"] = bool(
        versus is None or not (versus["difference"] < 0 and versus["p_value"] < 0.05)
    )
    progress(f"{name}: {json.dumps(result)}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", default=",".join(COHORTS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-auto-"))
    results = {}
    try:
        for name in [c.strip() for c in args.cohorts.split(",") if c.strip()]:
            results[name] = bench_cohort(name, folder, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    gbsg2 = results.get("gbsg2", {}).get("auto_seconds")
    report(
        {
            "protocol": f"{args.repeats} x {args.folds} repeated CV, same folds for every model",
            "cohorts": results,
            "all_passed": bool(results) and all(r["passed"] for r in results.values()),
            "gbsg2_auto_seconds": gbsg2,
            "gbsg2_target_seconds": GBSG2_TARGET_S,
            "mean_margin_vs_best_single": round(
                float(np.mean([r["checks"]["auto_vs_best_single"] for r in results.values()])), 4
            )
            if results
            else None,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
