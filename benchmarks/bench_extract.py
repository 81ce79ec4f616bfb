"""Speed and agreement of our ``wei2021`` extraction against the naive pyradiomics way.

    .venv/bin/python benchmarks/bench_extract.py [--cohort DIR] [--n 10] [--json]

Naive: for each ROI and gray level, the whole pipeline again from the loaded case: resample image
and ROI mask to 1 mm, crop to the ROI, Lloyd-Max quantise, and a fresh
``RadiomicsFeatureExtractor`` with every feature class enabled, via ``execute()`` (told not to
re-bin: bin width 1 on levels starting at 1); the 7 features are then picked from its output.
Ours: :func:`~survival_core.features.radiomics.extract_case` with the preset. Both run on the same
loaded cases, in turn case by case, in this process with one ITK thread; the ratio of their times
is the speed-up and the largest relative difference between the two tables checks that the values
are the same.

Then the cohort throughput (cases/s, loading included, no cache) with 1 and 2 worker processes.
Without ``--cohort`` a demo cohort of ``--n`` cases is generated in a temporary folder.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from radiomics.featureextractor import RadiomicsFeatureExtractor

from survival_core.case import Case
from survival_core.cli.output import report
from survival_core.engine import ProcessMapper, SerialMapper
from survival_core.features.cohort import extract_cases
from survival_core.features.presets import WEI2021_LEVELS, wei2021
from survival_core.features.radiomics import extract_case, roi_masks
from survival_core.features.settings import feature_name
from survival_core.io.case_loader import load_case
from survival_core.io.manifest import cohort_cases
from survival_core.preprocess.quantize import LloydMax, quantize_roi
from survival_core.preprocess.resample import resample_image, resample_mask
from survival_core.preprocess.roi import crop_to_roi


def naive_roi_level(case: Case, roi: str, levels: int) -> dict[str, float]:
    """The 7 wei2021 features of one ROI and gray level, the whole pipeline from scratch."""
    settings = wei2021()
    scale = settings.scales[0]
    image = resample_image(case.image, scale.spacing_mm, scale.interpolator)
    mask = resample_mask(
        roi_masks(case.masks, (roi,))[roi], scale.spacing_mm, scale.mask_method, roi
    )
    image, cropped = crop_to_roi(image, {roi: mask}, roi)
    mask = cropped[roi]
    quantised = sitk.GetImageFromArray(
        quantize_roi(
            sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(mask), LloydMax(levels)
        ).astype(np.float32)
    )
    quantised.CopyInformation(image)
    extractor = RadiomicsFeatureExtractor(binWidth=1)
    extractor.enableAllFeatures()
    values = extractor.execute(quantised, mask)
    token = settings.token(
        scale, discretisation=next(d for d in settings.discretisations if d.levels == levels)
    )
    return {
        feature_name(roi, token, c.name, f): float(values[f"original_{c.name}_{f}"])
        for c in settings.classes
        for f in c.features
    }


def naive_case(case: Case) -> dict[str, float]:
    """All 56 features of a case the naive way."""
    out: dict[str, float] = {}
    for roi in wei2021().rois:
        for levels in WEI2021_LEVELS:
            out.update(naive_roi_level(case, roi, levels))
    return out


def timed_tables(cases: list[Case]) -> tuple[pd.DataFrame, pd.DataFrame, float, float]:
    """Our and the naive table with their total seconds; the two run case by case in turn, so a
    change of machine load affects both alike."""
    ours, naive, seconds = {}, {}, {"ours": 0.0, "naive": 0.0}
    settings = wei2021()
    for case in cases:
        for name, rows, extract in (
            ("ours", ours, lambda c: extract_case(c, settings)),
            ("naive", naive, naive_case),
        ):
            start = time.perf_counter()
            rows[case.case_id] = extract(case)
            seconds[name] += time.perf_counter() - start
    frame = partial(pd.DataFrame.from_dict, orient="index")
    return frame(ours), frame(naive), seconds["ours"], seconds["naive"]


def max_relative_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Largest |a - b| / max(|a|, |b|) over all cells (NaN in both counts as equal)."""
    a, b = (
        a.sort_index().sort_index(axis=1),
        b.loc[a.index, a.columns].sort_index().sort_index(axis=1),
    )
    x, y = a.to_numpy(float), b.to_numpy(float)
    both_nan = np.isnan(x) & np.isnan(y)
    scale = np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-300)
    diff = np.where(both_nan, 0.0, np.abs(x - y) / scale)
    return float(np.nanmax(np.where(np.isnan(diff), np.inf, diff)))


def throughput(cases: list[tuple[str, Path]], workers: int) -> float:
    """Cases per second of the cohort extraction (loading included, no cache)."""
    mapper = SerialMapper() if workers == 1 else ProcessMapper(workers)
    start = time.perf_counter()
    result = extract_cases(cases, wei2021(), mapper=mapper, use_cache=False)
    if result.n_failed:
        raise RuntimeError(f"cases failed: {result.failures.to_dict('records')}")
    return len(cases) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cohort", type=Path, help="cohort folder (default: generate --n demo cases)"
    )
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.getLogger("radiomics").setLevel(logging.CRITICAL)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    temporary = None
    cohort = args.cohort
    if cohort is None:
        from survival_core.synthetic.generate import generate_cohort

        temporary = Path(tempfile.mkdtemp(prefix="bench-extract-"))
        cohort = temporary / "cohort"
        generate_cohort(cohort, n=args.n, seed=args.seed, workers=1)
    try:
        folders = cohort_cases(cohort)[: args.n]
        cases = [load_case(folder, case_id=case_id) for case_id, folder in folders]
        ours, naive, seconds_ours, seconds_naive = timed_tables(cases)
        rates = {workers: throughput(folders, workers) for workers in (1, 2)}
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    result = {
        "n_cases": len(cases),
        "n_features": ours.shape[1],
        "seconds_naive": round(seconds_naive, 2),
        "seconds_ours": round(seconds_ours, 2),
        "speedup": round(seconds_naive / seconds_ours, 2),
        "max_rel_diff": max_relative_difference(ours, naive),
        "cases_per_s_workers1": round(rates[1], 3),
        "cases_per_s_workers2": round(rates[2], 3),
        "parallel_gain": round(rates[2] / rates[1], 2),
    }
    report(result, args.json)


if __name__ == "__main__":
    main()
