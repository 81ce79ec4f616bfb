"""``score``: risk, percentile, risk group and survival of one case, or of several cases in one
process (the model and the scoring stack loaded once), with a saved model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from survival_core.cli.arg_types import user_path
from survival_core.cli.model_args import add_case_options, case_options
from survival_core.cli.output import progress, report, write_out

if TYPE_CHECKING:  # imported when run: the CLI starts without the scoring stack
    from survival_core.case import Case
    from survival_core.models.scoring import LoadedModel


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``score`` command."""
    parser = subparsers.add_parser(
        "score", help="score one case (folder or zip), or several, with a saved model"
    )
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument(
        "--case",
        type=user_path,
        nargs="+",
        action="extend",  # '--case A --case B' scores both: the second replaced the first
        help="case folder or zip; several are scored one after the other, a broken one "
        "reported without stopping the rest",
    )
    given.add_argument(
        "--values",
        type=user_path,
        nargs="+",
        action="extend",
        metavar="JSON",
        help="a patient's clinical values alone (a JSON object, as a case's clinical.json; its "
        "case_id, else the file name, names it), for a model that reads no image; several as "
        "with --case",
    )
    parser.add_argument(
        "--model",
        type=user_path,
        help="saved model folder (default: the app's active model, as `train --activate` or the "
        "Training page set it, else the demo cohort's default model)",
    )
    add_case_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def case_result(case: Case, loaded: LoadedModel) -> dict[str, Any]:
    """The case's score with what its reading warned about (``warnings``: a slice gap, a GTV
    united from several structures, a clinical.json key the model does not know...); the DICOM
    series read (``series``: 'series 4, 2.5 mm slices', which phase of a study); a PET or
    PET/CT case's GTV uptake figures too (``uptake``: SUVmax, SUVpeak, SUVmean, MTV, TLG), which
    a tumor board reads beside the risk."""
    from survival_core.features.pet_uptake import gtv_uptake
    from survival_core.workflows.scoring import score_case

    uptake = gtv_uptake(case)  # first: a GTV partly outside the PET is said in the warnings
    result = {**score_case(case, loaded).as_dict(), "warnings": list(case.warnings)}
    if case.series:
        result["series"] = case.series
    return result if uptake is None else {**result, "uptake": uptake}


def _values_result(source: Path, loaded: LoadedModel) -> dict[str, Any]:
    """The score of the clinical values in the JSON file ``source`` (``--values``)."""
    from survival_core.io.case_loader import read_clinical_values
    from survival_core.workflows.scoring import score_values

    values, case_id = read_clinical_values(source)
    return score_values(values, loaded, case_id).as_dict()


#: What a `score` user is told to do once the app's active model is not used: commands first,
#: then the Training page's Promote (no command makes a registered version active).
SCORE_ADVICE = (
    "score with --model MODEL_DIR, or make another model active (`python -m survival_core "
    "train --config FILE --activate`, or Promote on the app's Training page)"
)


def _default_model() -> tuple[Path, str | None]:
    """The model the app's pages score with by default, and how `score` names it: its active
    model as the registry holds it now, resolved as the pages resolve it (:func:`resolve_active`:
    a deleted, replaced or archived active version was still scored from its local copy here,
    under the label the registry gave another model), else the demo cohort's default model
    (label None). A data folder that does not exist is refused, not created (scoring created
    models/ under it)."""
    from survival_core.errors import RadSurvError
    from survival_core.paths import existing_data_root
    from survival_core.runs.active import resolve_active
    from survival_core.runs.store import ACTIVE_FILE, RunStore
    from survival_core.workflows.demo import default_model_dir

    # looked for, never created (the run store, opened where a model was made active, may take
    # its lock there)
    root = existing_data_root("it holds no active or demo model", "give --model MODEL_DIR, or ")
    runs = root / "runs"
    if not (runs / ACTIVE_FILE).is_file():  # none made active: no MLflow store opened
        return default_model_dir(), None
    resolved = resolve_active(
        lambda: RunStore(runs), runs, refuse_elsewhere=True, advice=SCORE_ADVICE
    )
    for problem in resolved.problems:
        progress(f"warning: {problem}")
    active = resolved.active
    if resolved.unread is not None:
        error = resolved.unread
        why = str(error) if isinstance(error, RadSurvError) else type(error).__name__
        using = (
            f"the active model {active.name} v{active.version} is used from its local copy, as "
            "it was when last made active here (the registry could not say whether it is "
            "still registered)"
            if active is not None
            else "the demo default model is used"
            + (f" (the active model: {resolved.missing})" if resolved.missing else "")
        )
        progress(f"warning: the model registry cannot be read ({why}): {using}.")
    if active is None:
        return default_model_dir(), None
    return active.folder, f"the active model {active.name} v{active.version}"


#: Names of standard input besides '-'.
_STDIN_PATHS = ("/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")


def _is_stdin(source: Path) -> bool:
    """Whether ``source`` reads standard input: '-', or a path to it."""
    return str(source) == "-" or str(source) in _STDIN_PATHS


def run(args: argparse.Namespace) -> int:
    """Load the model once, score each case (or set of clinical values), report (survival keyed
    by months).

    One case reports its score (a broken case is the command's error). Several report
    ``{"model", "run_id", "n_scored", "n_failed", "cases": [...], "failed": [...]}``
    (``run_id``, the run that fitted the model, as one case's: absent for a model of ``fit``);
    each score carries the path it came from (``source``: the case id of an upload is a
    pseudonym), each failure its path and the reason; the exit status is 2 when any case failed.
    """
    from survival_core.errors import InputError, RadSurvError
    from survival_core.io.case_loader import load_case
    from survival_core.models.scoring import load_scoring_model
    from survival_core.text import short_run

    if args.values and (times := sum(map(_is_stdin, args.values))) > 1:
        raise InputError(
            f"--values names standard input ('-', /dev/stdin) {times} times; it can be read once "
            "(the second read found nothing): give the other patients' values as files."
        )
    folder, active = (args.model, None) if args.model else _default_model()
    if not (folder / "model.json").exists():
        raise InputError(
            f"No model at {folder}. Train one with `fit` (or `train --activate`, which makes it "
            "the active model), or run `make run` once to prepare the demo model."
        )
    loaded = load_scoring_model(folder)
    if active is not None:  # its run tells it from a model given its name and version since
        progress(f"scoring with {active} ({short_run(loaded.run_id)})")

    def scored_one(source: Path) -> dict[str, Any]:
        if args.values:
            return _values_result(source, loaded)
        case = load_case(source, schema=loaded.schema, **case_options(args))
        return case_result(case, loaded)

    sources = args.values or args.case
    fitted_by = model_fitted_by(loaded, args.json)
    survival = loaded.card.endpoint.survival  # 'overall survival: 12 months 80 %' as text
    if len(sources) == 1:
        shown = shown_score({**scored_one(sources[0]), **fitted_by}, args.json, survival)
        report(shown, args.json)
        return 0
    scored, failed = [], []
    for source in sources:
        try:
            scored.append({"source": str(source), **scored_one(source)})
        except RadSurvError as error:  # a bad case, or one the model cannot score
            failed.append({"source": str(source), "error": str(error)})
            progress(f"{source}: not scored: {error}")
    result = {"model": loaded.name, **fitted_by, "n_scored": len(scored), "n_failed": len(failed)}
    if warnings := _same_ids(scored):
        result["warnings"] = warnings
        for warning in warnings:
            progress(f"warning: {warning}")
    if args.json:
        report({**result, "cases": scored, "failed": failed}, True)
    else:  # every case's lines as it alone prints them: its cautions and warnings kept
        for row in [*scored, *failed]:
            report(shown_score(row, False, survival), False)
            write_out("\n")
        report(result, False)
    return 2 if failed else 0


def model_fitted_by(loaded: LoadedModel, as_json: bool) -> dict[str, Any]:
    """What a score says of its model: the run that fitted it (``run_id``: which 'name vN' it
    is) and the outcome it predicts (``endpoint``: the time to which event; the card's record in
    JSON, "'os_days'/'os_status' (death)" as text), each where known."""
    from survival_core.io.outcome_source import OutcomeSource

    fitted_by: dict[str, Any] = {"run_id": loaded.run_id} if loaded.run_id else {}
    if outcome := loaded.card.outcome:
        fitted_by["endpoint"] = outcome if as_json else OutcomeSource.from_record(outcome).said()
    return fitted_by


def shown_score(row: dict[str, Any], as_json: bool, survival: str = "survival") -> dict[str, Any]:
    """A score as printed: the JSON's survival keyed by months; as text, its percentile said
    among whom ('percentile among the 451 training patients: 77 %', rounded as the Risk page
    rounds it) and its months said under the model's endpoint's name (``survival``: 'overall
    survival: 12 months 33 %'), a survival past the training follow-up as such."""
    from survival_core.models.scoring import survival_text
    from survival_core.text import percentile_text

    if as_json or not isinstance(row.get("survival"), dict):
        return row
    at_months = ", ".join(
        f"{months} months " + ("beyond the follow-up" if value is None else survival_text(value))
        for months, value in row["survival"].items()
    )
    shown = {}
    for key, value in row.items():
        if key == "percentile":
            shown[f"percentile among {row['percentile_among']}"] = f"{percentile_text(value)} %"
        elif key == "survival":
            shown[survival] = at_months
        elif key not in ("percentile_among", "training_patients"):  # said in the line above
            shown[key] = value
    return shown


def _same_ids(scored: list[dict[str, Any]]) -> list[str]:
    """A warning for each case id that several sources gave: results joined on the case id
    would mix those patients up (join them on ``source``)."""
    sources: dict[str, list[str]] = {}
    for row in scored:
        sources.setdefault(row["case_id"], []).append(row["source"])
    return [
        f"case id {case_id} is that of {len(given)} sources ({', '.join(given)}): tell their "
        "results apart by source, not by case id."
        for case_id, given in sources.items()
        if len(given) > 1
    ]
