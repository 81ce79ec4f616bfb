"""``extract``: radiomics or deep features of a cohort folder into a Parquet feature table.

    python -m survival_core extract --cohort DIR --preset wei2021 --out features.parquet [--workers N] [--json]
    python -m survival_core extract --cohort DIR --preset deep --network FILE [--layer NAME] --out deep.parquet
        [--site NAME] [--modality CT|MR|PT] [--companion CT|MR|PT]
        [--lesions union|largest|each [--aggregate HOW]] [--roi NAME ...]

Any site and modality: ``--site`` names the organ's site (default: the manifest's ``site`` column,
else each case's organ); ``--modality`` picks the preset's CT, MR or PET variant (default: the manifest's
``modality`` column, else the first case's); ``--companion PT`` extracts each case's PET beside its
CT instead (its variant; a PET/CT model joins both tables); ``--lesions`` says how several lesions
make features.

Writes FEATURES.parquet (one row per case, settings in its metadata), FEATURES.failures.csv
(case_id, error) and FEATURES.warnings.csv (case_id, warning: what loading an extracted case
warned of, cached cases too) beside it; cases that fail are reported, not fatal. Progress goes to
stderr, one line per case.
"""

from __future__ import annotations

import argparse
import dataclasses
from functools import partial
from pathlib import Path

from survival_core.cli.arg_types import user_path
from survival_core.cli.output import check_out, progress, report
from survival_core.errors import ConfigError, InputError
from survival_core.features.settings import LESION_AGGREGATES, LESION_MODES
from survival_core.io.structures import VOLUME_MODALITIES


def _parquet_path(text: str) -> Path:
    """``--out``: a Parquet file's path (the table keeps its settings in Parquet metadata; a
    '.csv' name held Parquet bytes that no spreadsheet reads)."""
    path = user_path(text)
    if path.suffix.lower() not in (".parquet", ".pq"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: the feature table is written as Parquet (its extraction settings in its "
            "metadata); name it .parquet"
        )
    return path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``extract`` command."""
    parser = subparsers.add_parser(
        "extract",
        help="extract radiomics features of a cohort folder (cached, parallel over cases)",
        description="Extract radiomics features of every case of a cohort folder into a Parquet "
        "table. Exit status 0 when any case was extracted, even if others failed: n_failed "
        "counts those (in the JSON too) and OUT.failures.csv beside the table names each and "
        "why, so a script checks n_failed; 2 when every case failed (no table is written) or "
        "the command was refused. OUT.warnings.csv lists what loading each extracted case "
        "warned of (n_warned cases), which its features may rest on.",
    )
    parser.add_argument(
        "--cohort", required=True, type=user_path, help="cohort folder (manifest.csv + cases/)"
    )
    parser.add_argument(
        "--preset", required=True, help="feature preset: wei2021, han2020, full or deep"
    )
    parser.add_argument(
        "--out", required=True, type=_parquet_path, help="output feature table (.parquet)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: all CPUs)"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="extract every case again, ignoring the cache"
    )
    parser.add_argument(
        "--log-sigma", type=float, action="append", default=[], metavar="MM",
        help="full preset: add a Laplacian-of-Gaussian image of this sigma (mm); repeat for several",
    )  # fmt: skip
    parser.add_argument(
        "--wavelet", metavar="NAME", help="full preset: add wavelet images (e.g. coif1)"
    )
    parser.add_argument(
        "--network", type=user_path, metavar="FILE",
        help="deep preset: saved image model folder (cnn3d, resnet_fusion) or ResNet weights file",
    )  # fmt: skip
    parser.add_argument(
        "--layer", metavar="NAME",
        help="deep preset: layer to read (default: the embedding before the risk head)",
    )  # fmt: skip
    parser.add_argument(
        "--roi", action="append", default=[], metavar="NAME",
        help="full preset: ROIs (gtv, organ_minus_gtv, peritumoral_ring, body); repeat for several",
    )  # fmt: skip
    parser.add_argument(
        "--site", help="the organ's site (liver, lung, brain...; default: manifest or case)"
    )
    parser.add_argument(
        "--modality", type=str.upper, choices=VOLUME_MODALITIES,
        help="the preset's variant (default: manifest's modality column, else the first case's)",
    )  # fmt: skip
    parser.add_argument(
        "--companion", type=str.upper, metavar="IMAGE",
        help="extract from each case's image of this name beside its own: a modality (PT: a CT "
        "cohort's PETs) or another MR sequence (FLAIR beside the T1c), the masks moved onto its "
        "grid; its features are named after it when joined (a PET/CT or multi-sequence model)",
    )  # fmt: skip
    parser.add_argument(
        "--lesions", choices=LESION_MODES, default="union",
        help="several lesions: united (default), the largest alone, or each aggregated",
    )  # fmt: skip
    parser.add_argument(
        "--aggregate", choices=LESION_AGGREGATES, default="weighted_mean",
        help="with --lesions each: per-patient value (default: volume-weighted mean)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.set_defaults(func=run)


def _preset_options(args: argparse.Namespace) -> dict:
    options: dict = {}
    if args.log_sigma:
        options["log_sigmas_mm"] = tuple(args.log_sigma)
    if args.wavelet:
        options["wavelet"] = args.wavelet
    if args.roi:
        options["rois"] = tuple(args.roi)
    return options


def _legacy_roi_note(rois: list[str], site: str | None) -> str | None:
    """The note that a liver-only ROI name of earlier versions (``--roi liver_minus_gtv``) was
    read as the organ's, named after the cohort's site ('lung_minus_gtv' on a lung cohort,
    without a word before); None where none was given or the cohort is a liver one."""
    from survival_core.features.settings import LEGACY_ROIS, roi_label

    legacy = [r for r in rois if r in LEGACY_ROIS]
    if not legacy or site == "liver":
        return None
    named = ", ".join(
        f"{r} as {LEGACY_ROIS[r]} ({roi_label(LEGACY_ROIS[r], site)})" if site else r
        for r in legacy
    )
    where = f"this {site} cohort" if site else "each case's site"
    return (
        f"Note: --roi {named}: the liver names of earlier versions are read as the organ of "
        f"{where}; give --roi {' '.join(LEGACY_ROIS[r] for r in legacy)}."
    )


def run(args: argparse.Namespace) -> int:
    """Extract, write the table and the failures, report counts. Exit 0 when any case succeeded;
    InputError (exit 2) when every case failed."""
    from survival_core.cohort.withdrawn import withdrawn_cases
    from survival_core.features.cohort import (
        cohort_modality,
        extract_cohort,
        line_progress,
        mixed_spacing_note,
        withdrawn_note,
        write_cohort_features,
        write_warnings,
    )
    from survival_core.features.presets import get_preset
    from survival_core.io.load_warnings import warned_note
    from survival_core.io.modality_view import companion_modality
    from survival_core.io.mr_sequence import mixed_sequences_note

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1; got {args.workers}.")
    if not (args.cohort / "manifest.csv").is_file():
        raise InputError(f"{args.cohort} is not a cohort folder: it has no manifest.csv.")
    check_out(args.out, folder=False)
    if args.preset == "deep":
        if args.companion:
            raise ConfigError("--companion applies to the radiomics presets, not --preset deep.")
        return run_deep(args)
    if args.network or args.layer:
        raise ConfigError("--network and --layer apply to --preset deep only.")
    companion_of = companion_modality(args.companion) if args.companion else None
    if companion_of and args.modality and companion_of != args.modality:
        raise ConfigError(
            f"--companion {args.companion} extracts {companion_of} radiomics with that preset "
            f"variant; --modality {args.modality} would ask for another. Give one of them."
        )
    modality = companion_of or args.modality or cohort_modality(args.cohort)
    settings = dataclasses.replace(
        get_preset(args.preset, modality, **_preset_options(args)),
        lesions=args.lesions,
        lesion_aggregate=args.aggregate,
    )

    progress(
        f"Extracting {args.preset} features ({settings.hash()}, {modality}) from {args.cohort}..."
    )
    result = extract_cohort(
        args.cohort,
        settings,
        workers=args.workers,
        use_cache=not args.no_cache,
        progress=line_progress(progress),
        site=args.site,
        modality=None if args.companion else modality,
        companion=args.companion,
        withdrawn=partial(withdrawn_cases, args.cohort),
    )
    table, failures = write_cohort_features(result, args.out, settings, modality, args.companion)
    warnings = write_warnings(result.warnings, args.out)
    if result.withdrawn:
        progress(withdrawn_note(result.withdrawn))
    if result.n_failed:
        progress(f"{result.n_failed} case(s) failed; see {failures}.")
    if result.n_warned:
        progress(warned_note(result.n_warned, warnings))
    if note := mixed_sequences_note(result.sequences):
        progress(note)
    if note := mixed_spacing_note(settings, result.voxel_sizes):
        progress(note)
    if note := _legacy_roi_note(args.roi, result.site):
        progress(note)
    report(
        {
            "n_cases": result.n_cases,
            "n_features": result.features.shape[1],
            "n_failed": result.n_failed,
            "seconds": round(result.seconds, 2),
            "n_extracted": result.n_extracted,
            "n_cached": result.n_cached,
            "settings_hash": settings.hash(),
            "modality": modality,
            "mr_sequences": result.sequences,
            "voxel_sizes": result.voxel_sizes,
            "site": result.site,
            "withdrawn": result.withdrawn,
            "out": table,
            "failures": failures,
            "n_warned": result.n_warned,
            "warnings": warnings,
        },
        args.json,
    )
    return 0


def run_deep(args: argparse.Namespace) -> int:
    """``extract --preset deep --network FILE [--layer NAME]``: extract, write, report."""
    from survival_core.features.cohort import write_warnings
    from survival_core.features.deep import extract_deep_features, write_deep_features
    from survival_core.io.load_warnings import warned_note

    if not args.network:
        raise ConfigError(
            "--preset deep needs --network FILE: a saved RadSurv image model folder (cnn3d, "
            "resnet_fusion) or a ResNet weights file."
        )
    progress(f"Extracting deep features of {args.network} from {args.cohort}...")
    result = extract_deep_features(
        args.cohort, args.network, args.layer, workers=args.workers, progress=progress
    )
    table, failures = write_deep_features(result, args.out)
    warnings = write_warnings(result.warnings, args.out)
    n_cases, n_failed = len(result.features) + len(result.failures), len(result.failures)
    if n_failed:
        progress(f"{n_failed} case(s) failed; see {failures}.")
    if result.n_warned:
        progress(warned_note(result.n_warned, warnings))
    report(
        {
            "n_cases": n_cases,
            "n_features": result.features.shape[1],
            "n_failed": n_failed,
            "seconds": round(result.seconds, 2),
            "network_sha256": result.info["network_sha256"],
            "layer": result.info["layer"],
            "out": table,
            "failures": failures,
            "n_warned": result.n_warned,
            "warnings": warnings,
        },
        args.json,
    )
    return 0
