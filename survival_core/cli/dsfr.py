"""``dsfr``: segmentation-feature radiomics (Wang 2022) on a cohort folder.

    python -m survival_core dsfr --cohort DIR --out OUT_DIR [--epochs N] [--slice-size N]
        [--test-fraction 0.2] [--seed S] [--json]

Splits the cases into development and held-out sets (stratified by early recurrence, seeded),
trains the tumour U-Net on the development cases, measures its Dice on the held-out cases, pools
the DSFR features of every case and evaluates early-recurrence signatures and the Cox model.
Writes OUT_DIR/dsfr.parquet (all cases; join it with clinical.csv in ``cv``/``fit``),
OUT_DIR/unet/ (the U-Net), OUT_DIR/classification.json and OUT_DIR/cox_model/ (model + card).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from survival_core.cli.output import progress, report
from survival_core.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dsfr`` command."""
    parser = subparsers.add_parser(
        "dsfr",
        help="train a tumour U-Net, pool its features (DSFR) and evaluate early recurrence",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--cohort", required=True, type=Path, help="cohort folder")
    parser.add_argument("--out", required=True, type=Path, metavar="OUT_DIR")
    parser.add_argument("--epochs", type=int, default=30, help="U-Net training epochs")
    parser.add_argument(
        "--slice-size", type=int, default=128, help="in-plane network grid, voxels (Wang: 256)"
    )
    parser.add_argument("--slices", type=int, default=32, help="axial slices of the network grid")
    parser.add_argument("--batch-size", type=int, default=16, help="slices per U-Net batch")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="held-out share")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run_pipeline(
    cohort: Path,
    out: Path,
    *,
    epochs: int = 30,
    slice_size: int = 128,
    n_slices: int = 32,
    batch_size: int = 16,
    test_fraction: float = 0.2,
    seed: int = 0,
    device: str = "auto",
) -> dict[str, Any]:
    """The whole DSFR study on ``cohort``, outputs into ``out``; returns the summary."""
    import numpy as np

    from survival_core.evaluation.classification import (
        early_recurrence,
        early_recurrence_study,
        split_development,
    )
    from survival_core.features.cohort import cohort_cases
    from survival_core.features.dsfr import dsfr_features, write_dsfr_table
    from survival_core.features.segmentation import (
        TrainingSettings,
        UNetConfig,
        case_dice,
        segmentation_input,
        train_unet,
    )
    from survival_core.io.case_loader import load_case
    from survival_core.io.manifest import read_clinical

    start = time.perf_counter()
    config = UNetConfig(slice_size=slice_size, n_slices=n_slices)
    settings = TrainingSettings(epochs=epochs, batch_size=batch_size, seed=seed, device=device)
    clinical = read_clinical(cohort).set_index("case_id")
    cases = [(c, f) for c, f in cohort_cases(cohort) if c in clinical.index]
    if len(cases) < 4:
        raise InputError(
            f"DSFR needs at least 4 cases with an outcome in {cohort}; got {len(cases)}."
        )
    clinical = clinical.loc[[c for c, _ in cases]]
    status = early_recurrence(clinical)
    development, held_out = split_development(status, list(clinical.index), test_fraction, seed)
    progress(
        f"{len(development)} development / {len(held_out)} held-out cases; "
        f"{status.n_excluded} censored before {status.horizon:g} days are left out of the "
        "early-recurrence classification"
    )
    inputs = {}
    for i, (case_id, folder) in enumerate(cases, 1):
        inputs[case_id] = segmentation_input(load_case(folder, case_id=case_id), config)
        progress(f"[{i}/{len(cases)}] {case_id} on the network grid")
    model = train_unet([inputs[c] for c in development], config, settings, progress)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "unet")
    dice = case_dice(model, [inputs[c] for c in held_out])
    progress(f"held-out Dice: mean {np.mean(list(dice.values())):.3f}")
    table = dsfr_features(model, list(inputs.values()))
    write_dsfr_table(table, out / "dsfr.parquet", model)
    study = early_recurrence_study(
        table.features, clinical, development, held_out, out / "cox_model", seed, progress
    )
    study["dice"] = {"mean": float(np.mean(list(dice.values()))), "per_case": dice}
    study["fallback_cases"] = [str(c) for c in table.regions.index[table.regions["fallback"]]]
    study["development"], study["held_out"] = development, held_out
    study["unet_loss"] = model.history["train"]
    (out / "classification.json").write_text(json.dumps(study, indent=1, allow_nan=False))
    signatures = study["signatures"]
    return {
        "dice_mean": study["dice"]["mean"],
        "auc_dsfr": signatures["dsfr"]["auc"],
        "auc_clinical": signatures["clinical"]["auc"],
        "auc_combined": signatures["combined"]["auc"],
        "delong_p_combined_vs_clinical": study["delong"]["combined_vs_clinical"]["p_value"],
        "cox_c_index": study["cox"]["held_out_c_index"],
        "n_dev": len(development),
        "n_test": len(held_out),
        "n_excluded_censored": status.n_excluded,
        "n_fallback": table.n_fallback,
        "out": str(out),
        "seconds": round(time.perf_counter() - start, 2),
    }


def run(args: argparse.Namespace) -> int:
    """Run the study and report its headline numbers."""
    summary = run_pipeline(
        args.cohort,
        args.out,
        epochs=args.epochs,
        slice_size=args.slice_size,
        n_slices=args.slices,
        batch_size=args.batch_size,
        test_fraction=args.test_fraction,
        seed=args.seed,
        device=args.device,
    )
    report(summary, args.json)
    return 0
