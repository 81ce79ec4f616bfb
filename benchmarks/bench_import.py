"""Seconds to inventory a PACS-style download: 1,000 patients' headers in under a minute on 2 cores.

    .venv/bin/python benchmarks/bench_import.py [--patients 1000] [--slices 20] [--workers 2]
        [--hash] [--keep DIR] [--json]

Writes a download tree of tiny DICOM files (``--patients`` folders, each patient/study/series with
``--slices`` 16 x 16 CT slices and an RTSTRUCT of one GTV in its own series folder, written with
:mod:`survival_core.io.dicom_write`), then times :func:`survival_core.cohort.inventory.
inventory_tree` over it: headers only (with ``--hash`` also the SHA-256 of every byte, as an
import does). Prints the seconds, files per second and what was found; with ``--json`` one JSON
object as the last line. The generation is not timed.
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
from survival_core.cohort.inventory import inventory_tree  # noqa: E402
from survival_core.io.dicom_write import write_ct_series, write_rtstruct  # noqa: E402

MATRIX = 16


def write_patient(job: tuple[str, int, int]) -> None:
    """One patient folder: study/CT series of ``slices`` slices, study/RTSTRUCT series."""
    root, index, slices = job
    folder = Path(root) / f"PAT{index:05d}" / "study-1"
    array = np.full((slices, MATRIX, MATRIX), -800.0, dtype=np.float32)
    array[slices // 3 : 2 * slices // 3, 5:11, 5:11] = 40.0
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((2.0, 2.0, 3.0))
    identity = {"patient_id": f"MRN{index:07d}", "patient_name": f"PATIENT^{index:05d}"}
    info = write_ct_series(image, folder / "series-2-ct", uid_seed=f"bench-{index}", **identity)
    gtv = sitk.GetImageFromArray((array > 0).astype(np.uint8))
    gtv.CopyInformation(image)
    write_rtstruct({"GTV": gtv}, info, folder / "series-3-rtstruct" / "rs.dcm", uid_seed=f"{index}")


def write_download(root: Path, patients: int, slices: int, workers: int) -> None:
    """The download tree, written over ``workers`` processes."""
    jobs = [(str(root), i, slices) for i in range(patients)]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        list(pool.map(write_patient, jobs, chunksize=max(1, patients // (workers * 8))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--slices", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--hash", action="store_true", help="also hash every file's bytes")
    parser.add_argument("--keep", type=Path, default=None, help="write (or reuse) the tree here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="radsurv-bench-import-") as tmp:
        root = args.keep or Path(tmp) / "download"
        if not root.is_dir():
            started = time.perf_counter()
            root.mkdir(parents=True)
            write_download(root, args.patients, args.slices, args.workers)
            progress(f"bench-import: tree written in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        with inventory_tree(root, workers=args.workers, hash_files=args.hash) as inventory:
            seconds = time.perf_counter() - started
            patients = inventory.patients.values()
            structures = sum(len(p.dicom.rtstructs) for p in patients if p.dicom)
            result = {
                "patients": len(inventory.patients),
                "files": inventory.n_files,
                "rtstructs": structures,
                "workers": args.workers,
                "hashed": args.hash,
                "seconds": round(seconds, 2),
                "files_per_s": round(inventory.n_files / seconds, 1),
            }
    report(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
