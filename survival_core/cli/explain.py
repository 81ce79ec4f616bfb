"""``explain``: attributions of one case's risk under a saved model: an image model's Integrated
Gradients or Grad-CAM map, a table model's input attributions by the method that fits it."""

from __future__ import annotations

import argparse

from survival_core.cli.arg_types import user_path
from survival_core.cli.model_args import add_case_options, case_options
from survival_core.cli.output import check_out, progress, report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``explain`` command."""
    parser = subparsers.add_parser(
        "explain",
        help="attribute one case's risk: a voxel map (image models) or input attributions",
    )
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--case", type=user_path, help="case folder or zip")
    given.add_argument(
        "--values",
        type=user_path,
        metavar="JSON",
        help="a patient's clinical values alone (a JSON object, as a case's clinical.json; its "
        "case_id, else the file name, names it), for a model that reads no image",
    )
    parser.add_argument("--model", type=user_path, required=True, metavar="MODEL_DIR")
    parser.add_argument(
        "--method",
        choices=["ig", "gradcam"],
        default="ig",
        help="image models: Integrated Gradients or Grad-CAM map; table models take ig, their "
        "attributions by the method that fits the model (exact for linear Cox, Integrated "
        "Gradients for networks, Shapley value sampling for trees; the JSON's method names it) "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=user_path,
        metavar="FILE",
        help="image models: the map on the grid of the case's image file, as NIfTI (MAP.nii.gz; "
        ".nrrd or .mha also); table models: every attribution as CSV (FILE.csv); an extension of "
        "the other kind is refused",
    )
    parser.add_argument(
        "--steps",
        type=int,
        help="IG steps (default: exact integral for table networks, from the completeness "
        "check for image models); tree models: the orders Shapley value sampling draws "
        "(default 64); refused for linear Cox models, whose attributions are exact",
    )
    parser.add_argument(
        "--top", type=int, default=5, help="table models: inputs to list (default: %(default)s)"
    )
    parser.add_argument(
        "--layer", metavar="NAME", help="Grad-CAM layer, e.g. blocks.2 (default: the last block)"
    )
    add_case_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load case (or clinical values) and model, explain, write the map, report (with the score's
    model and cautions and the case's reading warnings)."""
    from survival_core.errors import ConfigError
    from survival_core.explain.case import (
        explain_case,
        explain_values,
        explained_by_map,
        explanation_file,
        save_explanation,
    )
    from survival_core.io.case_loader import load_case, read_clinical_values
    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.scoring import score_case, score_values

    if args.out:
        check_out(args.out, folder=False)
    loaded = load_scoring_model(args.model)
    # before the work: an extension of the other kind of explanation than this model's
    out = explanation_file(args.out, explained_by_map(loaded)) if args.out else None
    if args.values:
        if args.method != "ig":
            raise ConfigError(
                "Clinical values alone are explained by input attributions (--method ig); "
                "Grad-CAM needs an image."
            )
        values, case_id = read_clinical_values(args.values)
        scored = score_values(values, loaded, case_id)
        explanation = explain_values(values, loaded, case_id, n_steps=args.steps, top=args.top)
        warnings: list[str] = []
    else:
        case = load_case(args.case, schema=loaded.schema, **case_options(args))
        scored = score_case(case, loaded)
        explanation = explain_case(
            case, loaded, args.method, n_steps=args.steps, top=args.top, layer=args.layer
        )
        warnings = list(case.warnings)
    # the risk explained comes with the score's model and cautions (an unknown site, a value
    # beyond the training range: it was explained without them), and what reading the case
    # warned about travels with its map (an MR volume read as CT...)
    result = {
        **explanation.as_dict(),
        **scored.model_fields(),
        "cautions": scored.cautions,
        "warnings": warnings,
    }
    if out:
        stored = "LPS" if args.values else case.stored_orientation
        result["out"] = str(save_explanation(explanation, out, stored))
        progress(f"wrote {result['out']}")
    report(result, args.json)
    return 0
