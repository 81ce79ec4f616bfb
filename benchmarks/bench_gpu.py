"""CPU vs CUDA: time case scoring, voxel IG, Grad-CAM and one training epoch, and check they agree.

    .venv/bin/python benchmarks/bench_gpu.py [--device cpu,cuda] [--repeats 3] [--n 8]
        [--volume 64,64,16] [--patch 48,48,12] [--slice-size 64] [--threads 2] [--tf32] [--json]

Self-contained: an ``--n`` case synthetic cohort is generated (seeded) in a temporary folder, which
is also the data folder (``RADSURV_DATA_DIR``: the volume cache goes there), and a ``cnn3d``
(default network, CT resized to ``--volume``, trained for 2 epochs on the CPU) is fitted and saved
with its card as the ``fit`` command does. Then, on each device of ``--device`` (default: ``cpu``,
and ``cuda`` when ``torch.cuda.is_available()``; each checked by
:func:`survival_core.models.device.resolve_device`), the saved model is loaded, moved to the device
and the first case is:

1. scored (:func:`survival_core.workflows.scoring.score_case`: network input, risk, survival);
2. explained by voxel Integrated Gradients and 3. by signed Grad-CAM
   (:func:`survival_core.explain.case.explain_case`, the map put back on the case's CT grid);

and training is timed: 4. one ``fit`` of a fresh ``cnn3d`` with ``epochs=1`` on the cohort (one
epoch of random patches, batch 4, plus the risk pass for the Breslow baseline; volumes cached by
the warm-up) and one epoch of the DSFR 2-D U-Net
(:func:`survival_core.features.segmentation.train_unet`, ``--slice-size`` slices of the first
``--unet-cases`` cases, network built fresh each call).

Each figure is one warm-up call, then the median of ``--repeats`` calls; on CUDA
``torch.cuda.synchronize()`` runs before each clock reading, so queued kernels are counted.

Agreement, when both CPU and CUDA ran: the risk (relative tolerance 1e-4), and the IG and Grad-CAM
maps (max |cpu - cuda| over max |cpu|, tolerance 1e-3; IG with the CPU's step count on both). They
cannot agree bit for bit: both run float32 convolutions, but cuDNN picks other algorithms (other
summation orders, Winograd/FFT transforms, atomics in the backward pass), so each output differs in
the last bits, and the ~1e-7 relative rounding grows through the layers and IG's sum of gradients.
TF32 (a 10-bit mantissa, ~1e-3 relative, which torch allows for cuDNN convolutions by default on
Ampere and later GPUs) is switched off here unless ``--tf32``: with it the risk may miss 1e-4 (on an
H200 it moved 7.7e-6 relative), and the timings without it are an upper bound.
Targets on a GPU (issue 16): voxel IG <= 1 s and case scoring <= 1 s, reported as pass/fail when
CUDA ran; without a GPU ``"cuda"`` is null with the reason.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import progress, report  # noqa: E402
from survival_core.errors import ConfigError  # noqa: E402
from survival_core.explain.case import explain_case  # noqa: E402
from survival_core.features.segmentation import (  # noqa: E402
    UNetConfig,
    UNetTraining,
    segmentation_input,
    train_unet,
)
from survival_core.io.case_loader import load_case  # noqa: E402
from survival_core.io.manifest import cohort_cases  # noqa: E402
from survival_core.io.tables import load_model_table  # noqa: E402
from survival_core.models import make_model  # noqa: E402
from survival_core.models.device import resolve_device  # noqa: E402
from survival_core.models.image_set import ImageSet  # noqa: E402
from survival_core.models.scoring import load_scoring_model  # noqa: E402
from survival_core.synthetic.generate import generate_cohort  # noqa: E402
from survival_core.workflows.scoring import score_case  # noqa: E402
from survival_core.workflows.training import train_model  # noqa: E402

RISK_RTOL = 1e-4
MAP_TOL = 1e-3
TARGET_SECONDS = 1.0


def _sizes(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def _timed(fn: Callable[[], Any], device: torch.device, repeats: int) -> tuple[float, Any]:
    """One warm-up call of ``fn``, then the median seconds of ``repeats`` calls and the last
    result (CUDA synchronised before each clock reading)."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    times, result = [], None
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        result = fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _load_on(folder: Path, device: torch.device):
    """The saved model loaded for scoring, its network moved to ``device``. The loader takes the
    device from the saved ``device`` parameter (here "cpu"); there is no device argument, so the
    parameter, ``device_`` and the network are set here."""
    loaded = load_scoring_model(folder)
    model = loaded.model
    model.device = str(device)
    model.device_ = device
    model.network_.to(device)
    return loaded


def _map_difference(a: sitk.Image, b: sitk.Image) -> float:
    """max |a - b| / max |a| of two maps on one grid."""
    x, y = sitk.GetArrayFromImage(a).astype(np.float64), sitk.GetArrayFromImage(b)
    scale = float(np.abs(x).max())
    return float(np.abs(x - y).max()) / scale if scale > 0 else float(np.abs(y).max())


def _measure(
    device: torch.device, model_dir: Path, case, cohort: Path, table, unet_inputs, args
) -> tuple[dict, dict]:
    """The figures on ``device`` and the outputs the agreement check compares."""
    loaded = _load_on(model_dir, device)
    result: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    progress(f"{device}: scoring")
    seconds, score = _timed(lambda: score_case(case, loaded), device, args.repeats)
    result["score_seconds"] = round(seconds, 3)
    result["risk"] = outputs["risk"] = score.risk
    progress(f"{device}: integrated gradients")
    seconds, ig = _timed(lambda: explain_case(case, loaded, "ig"), device, args.repeats)
    result.update(ig_seconds=round(seconds, 3), ig_steps=ig.steps)
    result["ig_completeness_delta"] = ig.completeness_delta
    outputs["ig"], outputs["ig_steps"] = ig.map, ig.steps
    progress(f"{device}: Grad-CAM")
    seconds, cam = _timed(lambda: explain_case(case, loaded, "gradcam"), device, args.repeats)
    result["gradcam_seconds"] = round(seconds, 3)
    outputs["gradcam"] = cam.map
    outputs["explain"] = lambda steps: explain_case(case, loaded, "ig", n_steps=steps).map

    progress(f"{device}: cnn3d epoch")
    images = ImageSet.from_cohort(cohort)
    params = {**_cnn_params(args), "epochs": 1, "seed": args.seed, "device": str(device)}
    X = table.X.iloc[:, []]

    def fit() -> Any:
        return make_model("cnn3d", **params).with_images(images).fit(X, table.y)

    seconds, _ = _timed(fit, device, args.repeats)
    result["cnn3d_epoch_seconds"] = round(seconds, 3)
    progress(f"{device}: U-Net epoch")
    config = UNetConfig(slice_size=args.slice_size, n_slices=args.volume[2])
    settings = UNetTraining(epochs=1, batch_size=8, seed=args.seed, device=str(device))
    seconds, _ = _timed(lambda: train_unet(unet_inputs, config, settings), device, args.repeats)
    result["unet_epoch_seconds"] = round(seconds, 3)
    return result, outputs


def _cnn_params(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "volume_shape": args.volume,
        "patch_size": args.patch,
        "batch_size": 4,
        "validation_fraction": 0.0,
    }


def _agreement(cpu: dict, cuda: dict) -> dict[str, Any]:
    """Risk, IG and Grad-CAM of the two devices: the differences and pass/fail."""
    risk = abs(cuda["risk"] - cpu["risk"]) / max(abs(cpu["risk"]), 1e-12)
    ig_cuda = cuda["ig"]
    if cuda["ig_steps"] != cpu["ig_steps"]:  # the automatic step search stopped elsewhere
        ig_cuda = cuda["explain"](cpu["ig_steps"])
    ig = _map_difference(cpu["ig"], ig_cuda)
    cam = _map_difference(cpu["gradcam"], cuda["gradcam"])
    return {
        "risk_relative_difference": risk,
        "risk_pass": risk <= RISK_RTOL,
        "ig_relative_max_difference": ig,
        "ig_pass": ig <= MAP_TOL,
        "gradcam_relative_max_difference": cam,
        "gradcam_pass": cam <= MAP_TOL,
        "tolerances": {"risk_rtol": RISK_RTOL, "map_max_abs_over_max": MAP_TOL},
    }


def _devices(text: str | None) -> list[torch.device]:
    if text is None:
        names = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    else:
        names = [name.strip() for name in text.split(",") if name.strip()]
    return list(dict.fromkeys(resolve_device(name) for name in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device",
        help="comma-separated: cpu, cuda, cuda:N or auto (default: cpu, then cuda if available)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after a warm-up")
    parser.add_argument("--n", type=int, default=8, help="synthetic cases to generate")
    parser.add_argument("--volume", type=_sizes, default=[64, 64, 16], help="x,y,z voxels")
    parser.add_argument("--patch", type=_sizes, default=[48, 48, 12], help="x,y,z voxels")
    parser.add_argument("--slice-size", type=int, default=64, help="U-Net slice size (voxels)")
    parser.add_argument("--unet-cases", type=int, default=4, help="U-Net training cases")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tf32", action="store_true", help="allow TF32 on CUDA (faster, inexact)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    try:
        devices = _devices(args.device)
    except ConfigError as err:
        parser.error(str(err))
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = args.tf32
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        os.environ["RADSURV_DATA_DIR"] = str(Path(tmp) / "data")
        cohort = Path(tmp) / "cohort"
        progress(f"generating {args.n} synthetic cases")
        generate_cohort(cohort, n=args.n, seed=args.seed, workers=1)
        clinical = cohort / "clinical.csv"
        model_dir = Path(tmp) / "cnn3d"
        progress("training the cnn3d on the CPU")
        params = {**_cnn_params(args), "epochs": 2, "seed": args.seed, "device": "cpu"}
        train_model([clinical], "cnn3d", params, model_dir, cohort=cohort)
        table = load_model_table([clinical])
        folders = [folder for _, folder in cohort_cases(cohort)]
        case = load_case(folders[0])
        config = UNetConfig(slice_size=args.slice_size, n_slices=args.volume[2])
        unet_inputs = [segmentation_input(load_case(f), config) for f in folders[: args.unet_cases]]

        result: dict[str, Any] = {
            "volume_xyz": args.volume,
            "patch_xyz": args.patch,
            "unet_slice_size": args.slice_size,
            "n_cases": args.n,
            "repeats": args.repeats,
            "threads": args.threads,
            "cpu": None,
            "cuda": None,
        }
        outputs: dict[str, dict] = {}
        for device in devices:
            figures, outputs[device.type] = _measure(
                device, model_dir, case, cohort, table, unet_inputs, args
            )
            if device.type == "cuda":
                figures["device_name"] = torch.cuda.get_device_name(device)
                figures["tf32"] = args.tf32
            result[device.type] = figures
        if result["cuda"] is None:
            result["cuda_reason"] = (
                "no CUDA GPU on this machine (torch.cuda.is_available() is False)"
                if not torch.cuda.is_available()
                else "not requested (--device)"
            )
            result["agreement"] = result["gpu_targets"] = None
        else:
            both = "cpu" in outputs and "cuda" in outputs
            result["agreement"] = _agreement(outputs["cpu"], outputs["cuda"]) if both else None
            cuda = result["cuda"]
            result["gpu_targets"] = {
                "ig_le_1s": cuda["ig_seconds"] <= TARGET_SECONDS,
                "score_le_1s": cuda["score_seconds"] <= TARGET_SECONDS,
            }
    result["seconds"] = round(time.perf_counter() - started, 1)
    report(result, args.json)


if __name__ == "__main__":
    main()
