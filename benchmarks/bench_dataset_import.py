"""Seconds to import a public dataset's layout as a cohort: a HECKTOR-style download (CT and PET
per patient in ``imagesTr/``, the label map on the CT's grid in ``labelsTr/``).

    .venv/bin/python benchmarks/bench_dataset_import.py [--patients 100] [--workers 2] [--json]

Writes ``--patients`` cases (CT 192 x 192 x 64 of 1 x 1 x 3 mm, int16; PET 96 x 96 x 48 of 2 x 2 x
4 mm in SUV; labels 1 = primary, 2 = nodal GTV), not timed; then times ``cohort import`` of the
CT (the ROI map's ``label.nii.gz:1``) and of the PET (``--modality PT``: every label resampled
from the CT's grid onto the PET's). Prints patients found and imported, seconds and cases per
minute for each; with ``--json`` one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import progress, report  # noqa: E402
from survival_core.cohort.importer import check_roi_map, import_images  # noqa: E402


def _write(array: np.ndarray, spacing: tuple[float, ...], path: Path) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin((-96.0, -96.0, 0.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), True)


def write_case(job: tuple[str, int]) -> None:
    """One patient's CT, PET and label map in HECKTOR 2022's layout and names."""
    root, index = job
    rng = np.random.default_rng(index)
    patient = f"CHUM-{index:03d}"
    ct = rng.normal(40, 30, (64, 192, 192)).astype(np.int16)
    label = np.zeros(ct.shape, np.uint8)
    z, y, x = 20 + index % 10, 60 + index % 40, 70
    label[z : z + 10, y : y + 25, x : x + 30] = 1
    label[z + 2 : z + 6, 140:150, 120:132] = 2
    pet = rng.gamma(2.0, 0.6, (48, 96, 96)).astype(np.float32)
    folder = Path(root)
    _write(ct, (1.0, 1.0, 3.0), folder / "imagesTr" / f"{patient}__CT.nii.gz")
    _write(pet, (2.0, 2.0, 4.0), folder / "imagesTr" / f"{patient}__PT.nii.gz")
    _write(label, (1.0, 1.0, 3.0), folder / "labelsTr" / f"{patient}.nii.gz")


def timed_import(root: Path, out: Path, workers: int, modality: str) -> dict:
    roi_map = check_roi_map({"default": {"gtv": ["label.nii.gz:1"]}})
    started = time.perf_counter()
    result = import_images(root, out, roi_map=roi_map, modality=modality, workers=workers)
    seconds = time.perf_counter() - started
    counts = result.counts()
    return {
        "patients": len(result.outcomes),
        "imported": counts["imported"],
        "failed": counts["failed"],
        "seconds": round(seconds, 2),
        "cases_per_min": round(60 * counts["imported"] / seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="radsurv-bench-dataset-") as tmp:
        root = Path(tmp) / "hecktor"
        started = time.perf_counter()
        jobs = [(str(root), i) for i in range(args.patients)]
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            list(pool.map(write_case, jobs))
        progress(f"bench-dataset-import: written in {time.perf_counter() - started:.1f} s")
        result = {"workers": args.workers}
        for modality in ("CT", "PT"):
            result[modality] = timed_import(root, Path(tmp) / modality, args.workers, modality)
            progress(f"bench-dataset-import: {modality} {result[modality]}")
    report(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
