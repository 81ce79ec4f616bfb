"""Learning check of the image models: out-of-fold c-index of the CNN, the single-source models and
their fusion on a synthetic cohort, and where the trained CNN looks.

    .venv/bin/python benchmarks/bench_image_models.py --cohort DIR [--volume 112,112,32]
        [--patch 64,64,24] [--folds 5] [--json]

The cohort (``demo-cohort --n 300``) needs a wei2021 radiomics table ``DIR/wei2021.parquet``
(``extract --preset wei2021``; made here when missing) for the radiomics and fusion models.
``--models cnn3d`` on a tumour-driven cohort (``demo-cohort --risk-source tumour``) checks where
the CNN looks when the risk is known to live in the tumours. Every model runs through the same
cross-validation as the ``cv`` command (``--repeats`` x ``--folds``, pooled out-of-fold risks):

- ``clinical``: VAE-SurvNet on the clinical variables (the fusion's clinical branch);
- ``radiomics``: VAE-SurvNet on the radiomics signature (the fusion's radiomics branch);
- ``cnn3d``: the 3-D CNN on the CT alone;
- ``fusion``: the three fused and fine-tuned (Wei 2021);
- ``coxph_clinical``: a Cox model of the clinical variables, for reference.

Targets (issue 5): the CNN's c-index clearly above 0.5, the fusion above each single-source model.
Then one CNN is trained on the first fold's training rows, and Grad-CAM and voxel Integrated
Gradients of its test cases are scored by tumour enrichment (share of the top 5 % liver voxels in
the GTV over the GTV's share of the liver; 1 = chance). The volume and patch default to half of
Wei 2021's 224 x 224 x 48 / 80 x 80 x 40 so the run fits a 2-core CPU; pass the full sizes on a GPU.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
import torch

from survival_core.cli.output import progress, report
from survival_core.evaluation import splits
from survival_core.explain.correlation import spearman_matrix
from survival_core.explain.maps import enrichment, gradcam_map, integrated_gradients_map
from survival_core.io.case_loader import load_case
from survival_core.io.tables import load_model_table
from survival_core.models.fusion import is_clinical
from survival_core.models.image_set import ImageSet
from survival_core.workflows.crossval import cross_validate
from survival_core.workflows.training import model_factory


def _sizes(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def _network_masks(case, reference: sitk.Image) -> tuple[np.ndarray, np.ndarray]:
    """The case's liver and GTV masks (nearest neighbour) on the network grid."""
    out = []
    for role in ("liver", "gtv"):
        resampled = sitk.Resample(
            case.masks[role], reference, sitk.Transform(), sitk.sitkNearestNeighbor
        )
        out.append(sitk.GetArrayFromImage(resampled).astype(bool))
    return out[0], out[1]


def _enrichment(model, table, test_ids: list[str], images: ImageSet) -> dict[str, float]:
    """Median tumour enrichment of |signed Grad-CAM|, classic Grad-CAM and |IG| over the test
    cases, and how many classic Grad-CAM maps are empty (nothing raises the risk)."""
    scores: dict[str, list[float]] = {"gradcam": [], "gradcam_classic": [], "ig": []}
    empty = 0
    for case_id in test_ids:
        case = load_case(images.reads[case_id].folder)
        volume, reference = model.case_input(case)
        liver, gtv = _network_masks(case, reference)
        if not (gtv & liver).any():
            continue
        net = model.risk_function(table.X.loc[[case_id]])
        signed = gradcam_map(net, volume, signed=True)
        classic = gradcam_map(net, volume)
        empty += int(not classic.any())
        scores["gradcam"].append(enrichment(np.abs(signed), gtv, organ_mask=liver))
        scores["gradcam_classic"].append(enrichment(classic, gtv, organ_mask=liver))
        attr, _, _ = integrated_gradients_map(net, volume)
        scores["ig"].append(enrichment(np.abs(attr), gtv, organ_mask=liver))
    return {
        f"{k}_enrichment_median": round(float(np.median(v)), 2) for k, v in scores.items() if v
    } | {"enrichment_cases": len(scores["ig"]), "gradcam_classic_empty_maps": empty}


def _deep_correlations(model, table, clinical_cols, radiomics_cols) -> dict:
    """Spearman correlations of the CNN's FC-64 features with the clinical and radiomics ones
    (Wei 2021 Fig. 4): significant pairs (BH q < 0.05) and the strongest partner of each group."""
    embedding = model.embed(table.X.iloc[:, []])
    deep = pd.DataFrame(embedding, index=table.X.index).add_prefix("fc64_")
    deep = deep.loc[:, deep.std() > 0]
    out: dict = {"deep_features_active": deep.shape[1]}
    numeric = table.X[clinical_cols].select_dtypes("number")
    for label, other in (("clinical", numeric), ("radiomics", table.X[radiomics_cols])):
        result = spearman_matrix(deep, other)
        significant = int((result.q < 0.05).to_numpy().sum())
        strongest = result.rho.abs().max().idxmax()
        out[f"deep_vs_{label}_significant_pairs"] = f"{significant}/{result.rho.size}"
        out[f"deep_vs_{label}_strongest"] = f"{strongest} |rho| {result.rho.abs().max().max():.2f}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=Path, required=True)
    parser.add_argument("--volume", default="112,112,32", help="x,y,z voxels")
    parser.add_argument("--patch", default="64,64,24", help="x,y,z voxels")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--cnn-epochs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--models",
        default="coxph_clinical,clinical,radiomics,cnn3d,fusion",
        help="comma-separated; empty: only the CNN trained for the maps",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    labels = list(filter(None, args.models.split(",")))
    tables = [args.cohort / "clinical.csv"]
    if set(labels) & {"radiomics", "fusion"}:  # only these read the radiomics table
        features = args.cohort / "wei2021.parquet"
        if not features.exists():
            from survival_core.features.cohort import extract_cohort, write_cohort_features
            from survival_core.features.presets import wei2021

            settings = wei2021()
            write_cohort_features(extract_cohort(args.cohort, settings), features, settings)
        tables.append(features)
    table = load_model_table(tables)
    clinical_cols = [c for c in table.X.columns if is_clinical(c)]
    radiomics_cols = [c for c in table.X.columns if not is_clinical(c)]
    geometry = {"volume_shape": _sizes(args.volume), "patch_size": _sizes(args.patch)}
    cnn = {"epochs": args.cnn_epochs, "patience": 10}
    vae = {"latent_dim": 8, "hidden": [32], "epochs": 300, "patience": 20, "weight_decay": 1e-3}
    candidates = {
        "coxph_clinical": ("coxph", {"penalizer": 0.1}, clinical_cols),
        "clinical": ("vaesurv", vae, clinical_cols),
        "radiomics": ("vaesurv", vae, radiomics_cols),
        "cnn3d": ("cnn3d", {**cnn, **geometry}, []),
        "fusion": (
            "fusion",
            {"clinical": vae, "radiomics": vae, "cnn": cnn, **geometry},
            list(table.X.columns),
        ),
    }
    folds = splits.nested_cv(table.y["event"], args.repeats, args.folds, seed=args.seed)
    result: dict = {
        "n": len(table.y),
        "folds": len(folds),
        **{k: str(v) for k, v in geometry.items()},
    }
    for label in labels:
        model, params, columns = candidates[label]
        tick = time.perf_counter()
        factory = model_factory(model, params, "none", args.cohort, table.case_ids, progress)
        summary = cross_validate(
            table.X[columns], table.y, factory, folds, n_bootstrap=500, progress=progress
        ).summary
        result[f"{label}_c_index"] = round(summary["c_index"], 4)
        result[f"{label}_ci"] = [round(summary["ci_low"], 3), round(summary["ci_high"], 3)]
        result[f"{label}_seconds"] = round(time.perf_counter() - tick, 1)
        progress(f"{label}: c-index {summary['c_index']:.3f}")
    singles = [result.get(f"{k}_c_index") for k in ("clinical", "radiomics", "cnn3d")]
    if "fusion_c_index" in result and all(s is not None for s in singles):
        result["fusion_beats_each_single"] = bool(result["fusion_c_index"] > max(singles))
    fold = folds[0]
    train_ids = [table.case_ids[i] for i in fold.train]
    test_ids = [table.case_ids[i] for i in fold.test]
    factory = model_factory("cnn3d", {**cnn, **geometry}, "none", args.cohort, table.case_ids)
    model = factory().fit(table.X.loc[train_ids, []], table.y[fold.train])
    result.update(_enrichment(model, table, test_ids[:20], model.images))
    if radiomics_cols:
        result.update(_deep_correlations(model, table, clinical_cols, radiomics_cols))
    result["seconds"] = round(time.perf_counter() - start, 1)
    report(result, args.json)


if __name__ == "__main__":
    pd.options.mode.copy_on_write = True
    main()
