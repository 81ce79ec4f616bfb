"""``cohort import``: turn an archive or PACS download (one folder per patient) into a cohort
folder of de-identified cases, a manifest and an import report, joining a clinical spreadsheet;
or, from the spreadsheet alone, a table-only cohort that ``cv`` and ``fit`` read. ``cohort
withdraw``: take patients out of a cohort (consent withdrawn) and keep them out of later imports."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from survival_core.cli import output
from survival_core.cli.arg_types import user_path
from survival_core.errors import ConfigError, InputError
from survival_core.io.structures import SITES, VOLUME_MODALITIES

if TYPE_CHECKING:
    from survival_core.cohort.clinical_join import ClinicalJoin


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``cohort`` command and its ``import`` and ``withdraw`` sub-commands."""
    parser = subparsers.add_parser(
        "cohort", help="build a cohort folder from downloaded images", description=__doc__
    )
    commands = parser.add_subparsers(title="cohort commands", dest="cohort_command", required=True)
    importer = commands.add_parser(
        "import",
        help="import a download of DICOM (+ RTSTRUCT/SEG) or NIfTI patients and/or a clinical "
        "spreadsheet",
        description="Inventory every file below --images (patient/study/series folders, flat "
        "folders or .zip archives), pick each patient's image series and structure set, check "
        "that a GTV is named, de-identify, and write cases/<pseudonym>/, manifest.csv, "
        "id_map.csv and import_report.csv to --out. A rerun imports only new or changed "
        "patients; a failing patient is reported and does not stop the others. With --clinical "
        "alone (no images), the spreadsheet becomes a table-only cohort: clinical.csv keyed by "
        "the same pseudonyms, schema.yaml and clinical_report.csv.",
    )
    importer.add_argument("--images", type=user_path, default=None, help="folder of the download")
    importer.add_argument("--out", type=user_path, required=True, help="cohort folder to write")
    importer.add_argument(
        "--site", choices=list(SITES), default=None, help="cancer site (only its organ counts)"
    )
    importer.add_argument(
        "--roi-map",
        type=user_path,
        default=None,
        help="YAML naming the GTV/organ structures: {default: {gtv: [...], organ: [...]}, "
        "patients: {<PatientID or the case id of import_report.csv>: {gtv: [...]}}}",
    )
    importer.add_argument(
        "--modality", choices=VOLUME_MODALITIES, type=str.upper,
        help="modality of NIfTI/NRRD volumes (they carry none: unless said, what the name of a "
        "case's image gives, t1ce: MR, PT.nii.gz: PT, else CT, as score reads it; PT already in "
        "SUVbw); picks the image where a case has several (HECKTOR's __CT and __PT; a DICOM "
        "PET/CT study's PET with PT, its contours drawn on the CT)",
    )  # fmt: skip
    importer.add_argument(
        "--image", default="",
        help="which volume of each case is the image, by its name in the case without extension, "
        "where names do not say (t1ce for BraTS)",
    )  # fmt: skip
    importer.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: number of CPUs)"
    )
    importer.add_argument(
        "--clinical", type=user_path, default=None,
        help="clinical spreadsheet (CSV, XLSX or JSON records) keyed by the patients' IDs: joined into "
        "clinical.csv with a drafted schema.yaml (alone: a table-only cohort)",
    )  # fmt: skip
    importer.add_argument(
        "--id-column", help="the spreadsheet's patient ID column (default: found)"
    )
    importer.add_argument(
        "--time-column",
        help="the survival time column, or the date column the time counts from (default: found)",
    )
    importer.add_argument("--event-column", help="the event column (default: found)")
    importer.add_argument(
        "--time-unit", choices=("days", "weeks", "months", "years"),
        help="unit of the time column when its header does not say",
    )  # fmt: skip
    importer.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    importer.set_defaults(func=run_import)
    withdraw = commands.add_parser(
        "withdraw",
        help="take patients out of a cohort (consent withdrawn), and keep them out",
        description="Delete each case's folder, its rows of clinical.csv and import_report.csv, "
        "its manifest and ID map rows, and what was computed from its images (cached features "
        "and volumes, feature tables holding its row); list it in withdrawn.csv so that later "
        "imports of a download or spreadsheet still holding the patient leave them out. Run "
        "folders whose outputs name the case are listed, not changed (delete them to remove "
        "it there too).",
    )
    withdraw.add_argument("--cohort", type=user_path, required=True, help="the cohort folder")
    withdraw.add_argument(
        "case_ids", nargs="*", metavar="CASE_ID",
        help="case ids (the pseudonyms of import_report.csv and clinical.csv)",
    )  # fmt: skip
    withdraw.add_argument(
        "--patient-id", action="append", default=[], metavar="ID",
        help="a patient by the hospital's ID, as the images or spreadsheet had it (repeatable)",
    )  # fmt: skip
    withdraw.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    withdraw.set_defaults(func=run_withdraw)


def run_import(args: argparse.Namespace) -> int:
    """Import the download (one line per patient to stderr) and/or the clinical spreadsheet;
    returns the exit status."""
    summary = _import_table_only(args) if args.images is None else _import_images(args)
    output.report(summary, args.json)
    return 0


def run_withdraw(args: argparse.Namespace) -> int:
    """Withdraw the cases, saying what was removed and which runs still name them."""
    from survival_core.cohort.withdrawal import case_ids_of_patients, withdraw

    if not args.cohort.is_dir():
        raise InputError(f"Cohort folder {args.cohort} does not exist.")
    if not args.case_ids and not args.patient_id:
        raise ConfigError("Give the case ids to withdraw, or --patient-id ID.")
    case_ids = [*args.case_ids, *case_ids_of_patients(args.cohort, args.patient_id)]
    done = withdraw(args.cohort, case_ids)
    if done.runs:
        output.progress(
            f"note: {len(done.runs)} run or model folder(s) name a withdrawn case in their "
            f"outputs (kept as trained): {', '.join(done.runs[:10])}; delete those folders to "
            "remove it there too."
        )
    output.progress(
        f"note: feature tables written outside {args.cohort} and the data folder (extract --out "
        "elsewhere, copies sent on) are not searched: delete those extracted from this cohort "
        "(their metadata's radsurv.cohort names it), or extract them again."
    )
    output.report(done.summary(), args.json)
    return 0


#: Skipped files listed by name on the console (the rest counted).
SKIPPED_SHOWN = 20
#: Said in a background job's log where a list that may name patients would stand.
LISTED_ON_TERMINAL = "listed on the console only when run from a terminal"


def _listing(summary: str, listing: str) -> None:
    """``summary`` followed by ``listing``, lines that may name patients (a download's paths,
    original IDs), on the console; in a background job, whose console is its log, shown on the
    jobs panel to every user, ``summary`` alone and where the list is said."""
    from survival_core.runs.jobs import in_job

    output.progress(f"{summary}: {LISTED_ON_TERMINAL}" if in_job() else f"{summary}:{listing}")


def _import_images(args: argparse.Namespace) -> dict[str, Any]:
    """The spreadsheet (if any) read and checked, the download imported, then the spreadsheet
    joined through the ID map: a spreadsheet refused (a time header without its unit) was refused
    only after every image was imported."""
    from survival_core.cohort.clinical_table import read_clinical_spreadsheet
    from survival_core.cohort.importer import import_images, read_roi_map

    clinical = None
    if args.clinical is not None:  # checked before the images: the import takes minutes
        clinical = read_clinical_spreadsheet(args.clinical, **_columns(args))
    result = import_images(
        args.images,
        args.out,
        site=args.site,
        roi_map=read_roi_map(args.roi_map) if args.roi_map else None,
        modality=args.modality,
        image=args.image,
        workers=args.workers,
        progress=output.progress,
    )
    summary = result.summary()
    if not result.outcomes:  # a mistyped or empty folder is no success
        raise InputError(
            f"No patient was found in {args.images} ({result.n_files} file(s) read, "
            f"{len(result.skipped)} skipped): give the folder holding the download."
        )
    if result.unmatched_roi_entries:  # PatientIDs: on the console only
        _listing(
            f"ROI map patient entries matching no patient: {len(result.unmatched_roi_entries)}",
            "".join(f"\n  {entry}" for entry in result.unmatched_roi_entries),
        )
    if result.skipped:  # on the console only: the download's paths may name patients
        shown = result.skipped[:SKIPPED_SHOWN]
        more = len(result.skipped) - len(shown)
        _listing(
            f"skipped {len(result.skipped)} file(s) of the download (not read)",
            "".join(f"\n  {path}" for path in shown) + (f"\n  ... and {more} more" if more else ""),
        )
    if result.mixed_modalities():
        output.progress(f"note: {result.mixed_modalities()}")
    if clinical is not None:
        from survival_core.cohort.clinical_join import join_clinical

        summary |= _clinical_summary(join_clinical(args.out, args.clinical, clinical))
    return summary


def _import_table_only(args: argparse.Namespace) -> dict[str, Any]:
    """The spreadsheet alone as a table-only cohort (joined instead into an image cohort)."""
    if args.clinical is None:
        raise ConfigError("Give the data: --images DIR and/or --clinical FILE.")
    image_options = (
        [
            f"--{name.replace('_', '-')}"
            for name in ("site", "roi_map", "workers")
            if getattr(args, name) is not None
        ]
        + (["--modality"] if args.modality else [])
        + (["--image"] if args.image else [])
    )
    if image_options:  # said, not refused: a form may send its site with a spreadsheet alone
        output.progress(f"note: {', '.join(image_options)} ignored: they apply with --images.")
    from survival_core.cohort.clinical_join import import_table

    joined = import_table(args.out, args.clinical, **_columns(args))
    return {"out": str(args.out.resolve())} | _clinical_summary(joined)


def _columns(args: argparse.Namespace) -> dict[str, str | None]:
    """The spreadsheet's column and unit options, as the clinical readers take them."""
    names = ("id_column", "time_column", "event_column", "time_unit")
    return {name: getattr(args, name) for name in names}


def _clinical_summary(joined: ClinicalJoin) -> dict[str, Any]:
    """The join's totals (with the warnings to act on), each coercion printed to stderr on the
    way."""
    from survival_core.cohort.clinical_table import asks_to_act

    for line in joined.report:
        output.progress(f"{'warning: ' if asks_to_act(line.action) else ''}clinical: {line}")
    if joined.unmatched_ids:  # on the console only: the cohort folder keeps no original ID
        shown = [
            f"{original} (the images' {near}?)" if near else original
            for original, near in list(joined.unmatched_ids.items())[:10]
        ]
        more = len(joined.unmatched_ids) - len(shown)
        _listing(
            f"clinical: {len(joined.unmatched_ids)} ID(s) without an imported patient",
            " " + ", ".join(shown) + (f" and {more} more" if more > 0 else ""),
        )
    for line in joined.near_joined_said():  # case ids only: no original ID
        output.progress(f"clinical: {line}")
    for line in joined.alike_said():  # on the console only, as the unmatched IDs
        output.progress(f"clinical: {line}")
    return joined.summary()
