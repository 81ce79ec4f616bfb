"""Arguments shared by the modelling commands (cv, fit: tables, model, parameters) and the
commands that read one case (score, explain, report: its modality)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from survival_core.cli.arg_types import user_path
from survival_core.errors import ConfigError
from survival_core.io.structures import SITES, VOLUME_MODALITIES

#: Mirror survival_core.models.MODELS, io.tables.TIME_UNITS and models.reduction.REDUCTIONS,
#: which import torch and the scientific stack; a test keeps them in step so that building the
#: parser (for every command) stays light.
MODEL_NAMES = (
    "coxph", "coxnet", "lasso_cox", "rsf", "gbsa", "auto", "ensemble", "deepsurv", "vaesurv",
    "discrete", "cnn3d", "fusion", "resnet_fusion",
)  # fmt: skip
TIME_UNIT_NAMES = ("days", "weeks", "months", "years")
REDUCTION_NAMES = ("none", "han2020", "cox_pvalue", "lasso")
#: Hyper-parameters that are times (the discrete-time model's interval edges): given in the
#: table's --time-unit, as the horizons are ('edges=[0,12,24,36]' in months), and passed in days.
TIME_PARAMS = ("edges",)
#: Mirrors survival_core.runs.config.MAX_SEED: the folds add offsets to the seed, which numpy
#: takes up to 2**32 - 1.
MAX_SEED = 2**31 - 1


def in_days(value: float, time_unit: str) -> float:
    """``value`` given in ``time_unit`` (a horizon, with the table's --time-unit) in days."""
    from survival_core.io.tables import TIME_UNITS

    return value * TIME_UNITS[time_unit]


def seed(text: str) -> int:
    """A --seed: a whole number from 0 to :data:`MAX_SEED` (argparse names a bad one)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {MAX_SEED}")
    return value


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (``--workers 0`` and
    ``--cv-repeats -1`` were taken without a word)."""

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value

    return whole


def add_table_arguments(parser: argparse.ArgumentParser) -> None:
    """--table (repeatable), --cohort, --features, --time-unit."""
    parser.add_argument(
        "--table",
        action="append",
        type=user_path,
        metavar="FILE",
        help="CSV or Parquet with case_id; repeat to join (one must hold time and event); "
        "default with --cohort: its clinical.csv",
    )
    parser.add_argument(
        "--cohort",
        type=user_path,
        metavar="DIR",
        help="cohort folder whose CT volumes the image models (cnn3d, ...) read",
    )
    parser.add_argument(
        "--features", metavar="REGEX", help="use only feature columns matching REGEX"
    )
    parser.add_argument(
        "--time-unit",
        choices=TIME_UNIT_NAMES,
        default="days",
        help="unit of 'time' in --table (default: %(default)s); a cohort's clinical.csv is in "
        "days, as its import wrote it: another unit is refused there",
    )


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --param NAME=VALUE (repeatable), --reduction, --seed."""
    parser.add_argument("--model", required=True, choices=MODEL_NAMES)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a hyper-parameter, e.g. --param epochs=5 (repeatable); times (the "
        "discrete model's edges=[0,12,24]) in the --time-unit",
    )
    parser.add_argument(
        "--reduction",
        choices=REDUCTION_NAMES,
        default="none",
        help="feature reduction fitted inside each training fold (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="seeds the folds, and the model where it takes a seed unless --param seed= is given "
        "(default: %(default)s)",
    )


def parse_params(items: list[str], time_unit: str = "days") -> dict[str, Any]:
    """``NAME=VALUE`` strings to a dict; values parsed as YAML scalars/lists (5, 0.1, [32, 16])
    as a run config's are (:func:`~survival_core.runs.config.read_yaml`: ``1e-4`` a number, where
    it was refused as text, ``010`` ten, where it trained 8 epochs); the times of
    :data:`TIME_PARAMS`, given in ``time_unit``, in days."""
    from survival_core.runs.config import read_yaml

    params: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--param expects NAME=VALUE, got {item!r}.")
        try:
            params[name.strip()] = read_yaml(value)
        except yaml.YAMLError as err:
            raise ConfigError(f"--param {name}: cannot read value {value!r}: {err}") from err
    _times_in_days(params, time_unit)
    for candidate in params.get("candidates") or ():  # auto's and ensemble's pipelines
        if isinstance(candidate, dict) and isinstance(candidate.get("params"), dict):
            _times_in_days(candidate["params"], time_unit)
    return params


def _times_in_days(params: dict[str, Any], time_unit: str) -> None:
    """The lists of times of :data:`TIME_PARAMS` in ``params``, given in ``time_unit``, in days
    (in place)."""
    for name in TIME_PARAMS:
        times = params.get(name)
        if isinstance(times, list) and all(type(t) in (int, float) for t in times):
            params[name] = [in_days(t, time_unit) for t in times]


def table_paths(args: argparse.Namespace) -> list[Path]:
    """The --table files, or the cohort's clinical.csv when only --cohort is given."""
    if args.table:
        return list(args.table)
    if args.cohort is None:
        raise ConfigError("Give the data: --table FILE (repeatable) and/or --cohort DIR.")
    clinical = args.cohort / "clinical.csv"
    if not clinical.is_file():
        raise ConfigError(f"{args.cohort} has no clinical.csv; pass --table with the outcomes.")
    return [clinical]


def add_case_options(parser: argparse.ArgumentParser) -> None:
    """``--modality``: what a case given as volume files holds (they record none, and were read
    as CT: an MR NIfTI was refused by its own MR model and scored by a CT one); DICOM says its
    own, and of a CT and an MR each with its own structure set, it picks the one to read.
    ``--site``: the case's cancer site, which only an organ contour otherwise tells (a lung
    GTV alone was cautioned as of unknown site under its own lung model). ``--series``: which of
    a study's series (its phases) to read: the refusal to choose told to say which, and no
    command could."""
    parser.add_argument(
        "--modality",
        type=str.upper,
        choices=VOLUME_MODALITIES,
        help="what a case of volume files (NIfTI, NRRD...) holds; they do not say (default: what "
        "the name of its only image says, PT.nii.gz: PT; else CT). DICOM cases say their own; "
        "of a DICOM CT and MR each with its own structure set, the one to read",
    )
    parser.add_argument(
        "--site",
        type=str.lower,
        choices=SITES,
        help="the case's cancer site (default: what its organ contour says, else unknown)",
    )
    parser.add_argument(
        "--series",
        metavar="UID",
        help="the image series to read where a DICOM case holds several its structure set does "
        "not tell apart (phases of one study): its SeriesInstanceUID, as the refusal lists them",
    )


def case_options(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`~survival_core.io.case_loader.load_case` arguments of :func:`add_case_options`."""
    return {"modality": args.modality, "site": args.site, "series_uid": args.series}
