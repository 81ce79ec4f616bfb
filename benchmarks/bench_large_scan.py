"""Memory and time of one large scan's radiomics: the grid around the ROI against the whole grid.

    .venv/bin/python benchmarks/bench_large_scan.py [--size 512 512 600] [--preset full] [--json]

A CT of ``--size`` voxels (x y z; 0.8 x 0.8 x 1 mm, float32 HU as a loaded case holds it) with a
30 mm spherical GTV is extracted with ``--preset`` (``full`` resamples to 1 mm), in a fresh
process each: ``around_roi`` as extraction runs (the ROI's part of the 1 mm grid,
:func:`~survival_core.preprocess.resample.grid_around`), and ``whole_grid``, the whole scan
resampled to 1 mm first, as extraction did before, then cropped alike. Reports each one's
seconds, the memory the read scan holds (``held_mb``) and the peak RSS while extracting
(``peak_rss_mb``, the scan included; Linux's VmHWM, reset after reading), and whether their
features agree bit for bit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import report  # noqa: E402


def _write_scan(size: tuple[int, int, int], folder: Path) -> None:
    """The scan and its GTV as files in ``folder``: each child reads them, so that its peak RSS
    is the scan's and the extraction's, not what building the scan took."""
    import numpy as np
    import SimpleITK as sitk

    nx, ny, nz = size
    rng = np.random.default_rng(0)
    values = np.empty((nz, ny, nx), dtype=np.float32)
    inside = np.zeros((nz, ny, nx), dtype=np.uint8)
    y, x = np.ogrid[:ny, :nx]
    plane = ((y - ny / 2) * 0.8) ** 2 + ((x - nx / 2) * 0.8) ** 2
    for k in range(nz):
        values[k] = rng.standard_normal((ny, nx), dtype=np.float32) * 20.0 + 40.0
        inside[k] = plane + (k - nz / 2) ** 2 <= 15.0**2  # a 30 mm ball
    values[inside.astype(bool)] += 60.0
    image = sitk.GetImageFromArray(values)
    image.SetSpacing((0.8, 0.8, 1.0))
    gtv = sitk.GetImageFromArray(inside)
    gtv.CopyInformation(image)
    sitk.WriteImage(image, str(folder / "image.nii"))
    sitk.WriteImage(gtv, str(folder / "gtv.nii"))


def _child(folder: Path, preset: str, whole: bool) -> dict:
    """Extract in this process; with ``whole``, the grid around the ROI is the whole grid."""
    import SimpleITK as sitk

    from survival_core.features import radiomics
    from survival_core.features.presets import get_preset
    from survival_core.features.radiomics import extract_image

    image = sitk.ReadImage(str(folder / "image.nii"))
    gtv = sitk.ReadImage(str(folder / "gtv.nii"))
    held = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak from here on: not the reader's
    settings = get_preset(preset).with_rois(("gtv",))
    start = time.perf_counter()
    if whole:
        with mock.patch.object(radiomics, "grid_around", lambda grid, *_: grid):
            features = extract_image(image, {"gtv": gtv}, settings, name="large")
    else:
        features = extract_image(image, {"gtv": gtv}, settings, name="large")
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "held_mb": held,
        "peak_rss_mb": _status("VmHWM"),
        "features": features,
    }


def _status(field: str) -> int:
    """A memory figure of this process from /proc/self/status (MB): VmRSS now, VmHWM its peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024)
    raise RuntimeError(f"/proc/self/status has no {field}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", type=int, nargs=3, default=(512, 512, 600), metavar=("X", "Y", "Z")
    )
    parser.add_argument("--preset", default="full")
    parser.add_argument("--child", choices=("around_roi", "whole_grid"), help=argparse.SUPPRESS)
    parser.add_argument("--scan", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = tuple(args.size)
    if args.child:
        print(json.dumps(_child(args.scan, args.preset, args.child == "whole_grid")))
        return
    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        _write_scan(size, Path(folder))
        for how in ("around_roi", "whole_grid"):
            argv = [sys.executable, __file__, "--scan", folder, "--preset", args.preset]
            done = subprocess.run(
                [*argv, "--child", how], capture_output=True, text=True, check=True
            )
            runs[how] = json.loads(done.stdout.strip().splitlines()[-1])
    same = runs["around_roi"].pop("features") == runs["whole_grid"].pop("features")
    scan_mb = round(size[0] * size[1] * size[2] * 4 / 2**20)
    result = {"size": list(size), "scan_mb": scan_mb, "preset": args.preset, **runs}
    result["features_identical"] = same
    result["memory_ratio"] = round(
        runs["whole_grid"]["peak_rss_mb"] / runs["around_roi"]["peak_rss_mb"], 2
    )
    report(result, args.json)


if __name__ == "__main__":
    main()
