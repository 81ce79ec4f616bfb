"""CPU time of the voxel attribution maps of the default 3-D CNN on a full-size input.

    .venv/bin/python benchmarks/bench_explain.py [--threads 2] [--batch 2] [--json]
    .venv/bin/python benchmarks/bench_explain.py --model MODEL_DIR --case CASE_DIR [--json]

With ``--model`` (a trained image model folder) and ``--case``, both maps are timed through the
``explain`` command's path (:func:`survival_core.explain.case.explain_case`, mapping back to the
CT grid included) and the GTV enrichment is reported. Without them:

A seeded, untrained :class:`~survival_core.models.networks.CNN3DSurv` (default channels) scores
the 224 x 224 x 48 network input of a synthetic case (an ellipsoid liver with a tumour, from
:func:`tests.case_builders.make_case` geometry); after one warm-up forward pass, Grad-CAM and voxel
Integrated Gradients (automatic step count: doubling from 16 until the completeness delta is
<= 1 %) are timed once each. Reports {gradcam_seconds, ig_seconds, ig_steps,
completeness_delta, ...}. Targets: Grad-CAM <= 2 s, IG <= 10 s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import report
from survival_core.explain.maps import gradcam_map, integrated_gradients_map  # noqa: E402
from survival_core.models.image_data import network_input  # noqa: E402
from survival_core.models.networks import CNN3DSurv  # noqa: E402
from tests.case_builders import make_case  # noqa: E402


def _trained(model: Path, case_dir: Path) -> dict:
    from survival_core.explain.case import explain_case
    from survival_core.io.case_loader import load_case
    from survival_core.models.scoring import load_scoring_model

    loaded = load_scoring_model(model)
    case = load_case(case_dir)
    explain_case(case, loaded, "gradcam")  # warm-up
    result: dict = {"model": loaded.model.name, "volume_shape": list(loaded.model.volume_shape)}
    for method in ("gradcam", "ig"):
        explanation = explain_case(case, loaded, method)
        result[f"{method}_seconds"] = round(explanation.seconds, 3)
        result[f"{method}_enrichment"] = round(explanation.enrichment, 2)
    result.update(ig_steps=explanation.steps, completeness_delta=explanation.completeness_delta)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2, help="IG internal batch size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", type=Path, help="trained image model folder")
    parser.add_argument("--case", type=Path, help="case folder (with --model)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.model:
        report(_trained(args.model, args.case), args.json)
        return
    torch.manual_seed(args.seed)
    case = make_case(size=(256, 256, 64), spacing=(0.8, 0.8, 2.5), case_id="BENCH")
    volume, _ = network_input(case, (224, 224, 48))
    net = CNN3DSurv().eval()
    with torch.no_grad():
        net(torch.as_tensor(volume)[None])  # warm-up
    start = time.perf_counter()
    gradcam_map(net, volume)
    gradcam_seconds = time.perf_counter() - start
    start = time.perf_counter()
    _, delta, steps = integrated_gradients_map(net, volume, internal_batch_size=args.batch)
    ig_seconds = time.perf_counter() - start
    result = {
        "gradcam_seconds": round(gradcam_seconds, 3),
        "ig_seconds": round(ig_seconds, 3),
        "ig_steps": steps,
        "completeness_delta": delta,
        "threads": args.threads,
        "internal_batch_size": args.batch,
        "input_zyx": list(volume.shape[1:]),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    report(result, args.json)


if __name__ == "__main__":
    main()
