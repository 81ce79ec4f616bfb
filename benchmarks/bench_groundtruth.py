"""Ground truth check: out-of-fold c-index of models on a synthetic cohort vs the oracle.

    .venv/bin/python benchmarks/bench_groundtruth.py --n 300 --seed 3 --repeats 2 [--json]

Generates the cohort (or reuses --cohort), extracts the wei2021 radiomics signature, then runs
repeated nested CV for clinical-only and clinical + radiomics models. The oracle c-index is
Harrell's c of the true log-hazard against the observed outcomes. Target (issue 4): the best
clinical + radiomics model reaches at least 0.9 x the oracle, and beats clinical-only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from survival_core.cli.output import report
from survival_core.evaluation import splits
from survival_core.evaluation.concordance import harrell_c_index
from survival_core.features.cohort import extract_cohort, write_cohort_features
from survival_core.features.presets import wei2021
from survival_core.io.tables import load_model_table
from survival_core.models import make_model
from survival_core.models.reduction import make_reduction
from survival_core.workflows.crossval import cross_validate

CANDIDATES = {
    "coxnet": ("coxnet", {}, "none"),
    "coxph+han2020": ("coxph", {"penalizer": 0.1}, "han2020"),
    "deepsurv": (
        "deepsurv",
        {"hidden": [32], "dropout": 0.3, "weight_decay": 1e-3, "epochs": 300},
        "none",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cohort", type=Path, help="reuse a generated cohort folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    cohort = args.cohort or Path(tempfile.mkdtemp(prefix="bench-gt-")) / "cohort"
    if not (cohort / "cohort.json").exists():
        from survival_core.synthetic.generate import generate_cohort

        generate_cohort(cohort, n=args.n, seed=args.seed)
    features = cohort / "wei2021.parquet"
    if not features.exists():
        settings = wei2021()
        write_cohort_features(extract_cohort(cohort, settings), features, settings)
    truth = pd.read_csv(cohort / "truth.csv", dtype={"case_id": str}).set_index("case_id")
    clinical = load_model_table([cohort / "clinical.csv"])
    both = load_model_table([cohort / "clinical.csv", features])
    oracle = harrell_c_index(both.y, truth.loc[both.case_ids, "true_log_hazard"].to_numpy())
    folds = splits.nested_cv(both.y["event"], args.repeats, 5, seed=args.seed)
    result: dict = {"n": len(both.y), "oracle_c_index": round(oracle, 4), "repeats": args.repeats}
    for label, table in (("clinical", clinical), ("clinical+radiomics", both)):
        for name, (model, params, reduction) in CANDIDATES.items():

            def factory(model=model, params=params, reduction=reduction):
                return make_model(model, **params).with_reduction(make_reduction(reduction))

            summary = cross_validate(table.X, table.y, factory, folds, n_bootstrap=500).summary
            result[f"{label}:{name}"] = round(summary["c_index"], 4)
    best = max(v for k, v in result.items() if k.startswith("clinical+radiomics:"))
    best_clinical = max(v for k, v in result.items() if k.startswith("clinical:"))
    result.update(
        best_ratio_to_oracle=round(best / oracle, 3),
        radiomics_gain=round(best - best_clinical, 4),
        seconds=round(time.perf_counter() - start, 1),
        cohort=str(cohort),
    )
    report(result, args.json)


if __name__ == "__main__":
    main()
