"""``explain``: Integrated Gradients or Grad-CAM of one case's risk under a saved model."""

from __future__ import annotations

import argparse
from pathlib import Path

from survival_core.cli.output import progress, report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``explain`` command."""
    parser = subparsers.add_parser(
        "explain",
        help="attribute one case's risk: a voxel map (image models) or input attributions",
    )
    parser.add_argument("--case", type=Path, required=True, help="case folder or zip")
    parser.add_argument("--model", type=Path, required=True, metavar="MODEL_DIR")
    parser.add_argument("--method", choices=["ig", "gradcam"], default="ig")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="image models: the map as NIfTI on the case's CT grid (MAP.nii.gz); "
        "table models: every attribution as CSV",
    )
    parser.add_argument(
        "--steps",
        type=int,
        help="IG steps (default: exact integral for table models, "
        "from the completeness check for image models)",
    )
    parser.add_argument("--top", type=int, default=5, help="table models: inputs to list")
    parser.add_argument(
        "--layer", metavar="NAME", help="Grad-CAM layer, e.g. blocks.2 (default: the last block)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load case and model, explain, write the map, report (with the case's reading warnings)."""
    from survival_core.explain.case import explain_case, save_explanation
    from survival_core.io.case_loader import load_case
    from survival_core.models.scoring import load_scoring_model

    loaded = load_scoring_model(args.model)
    case = load_case(args.case, schema=loaded.schema)
    explanation = explain_case(
        case, loaded, args.method, n_steps=args.steps, top=args.top, layer=args.layer
    )
    # what reading the case warned about travels with its map (an MR volume read as CT...)
    result = {**explanation.as_dict(), "warnings": list(case.warnings)}
    if args.out:
        result["out"] = str(save_explanation(explanation, args.out))
        progress(f"wrote {result['out']}")
    report(result, args.json)
    return 0
