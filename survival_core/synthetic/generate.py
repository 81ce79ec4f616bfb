"""Write a synthetic cohort folder: images, masks, clinical table, ground truth and manifest.

Patients are simulated first (:mod:`survival_core.synthetic.simulate`); then every case's phantom of
the cohort's site (liver or lung, :mod:`survival_core.synthetic.sites`) is rendered by its scanner
(CT or MR) and written by a process pool, about a third as a DICOM series + RTSTRUCT and the rest
as NIfTI; the largest tumour's diameter is measured on the written GTV mask and replaces the
designed one in the clinical table (and the BCLC stage is re-derived from it). Everything is
deterministic by the seed, whatever the number of workers; the site and modality change the images
only, never the patients or their outcomes. The folder layout is the cohort format of the project
brief (manifest.csv, clinical.csv, truth.csv, cohort.json, cases/<id>/...).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from survival_core import __version__
from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.concordance import harrell_c_index
from survival_core.evaluation.risk_groups import kaplan_meier
from survival_core.io.dicom_write import write_ct_series, write_mr_series, write_rtstruct
from survival_core.io.outcome_source import OUTCOME_FILE, OutcomeSource
from survival_core.synthetic.scanners import (
    BY_MODALITY,
    IN_PLANE_SPACING_MM,
    MR_SCANNERS,
    SLICE_SPACING_MM,
)
from survival_core.synthetic.sites import MODALITIES, SITES, RenderedCase
from survival_core.synthetic.tumors import longest_axial_diameter
from survival_core.workers import worker_pool

GENERATOR = "radsurv-synthetic-hcc"
GENERATOR_VERSION = "1.1"  # 1.1: the late arterial phase throughout (1.0 mixed phases)
DICOM_FRACTION = 1.0 / 3.0
NIFTI_COMPRESSION_LEVEL = 1
TRUTH_COLUMNS = ("case_id", "true_log_hazard", "liver_damage", "tumor_heterogeneity", "scanner")
_OUTPUT_FILES = ("manifest.csv", "clinical.csv", "truth.csv", "cohort.json", OUTCOME_FILE)
#: The simulated outcome: days to death (overall survival), as an import would record it, so
#: that the demo model's survival is named as such.
OUTCOME = OutcomeSource("time", "event", "days", "death")


@dataclass(frozen=True)
class CaseTask:
    """What a worker needs to render and write one case."""

    index: int
    case_id: str
    seed: int
    anatomy_seed: tuple[int, ...]
    liver_damage: float
    tumor_heterogeneity: float
    tumor_diameters: tuple[float, ...]
    scanner: str
    sex: str
    fmt: str
    folder: str
    site: str
    modality: str


def _manifest_row(case_id: str, fmt: str, site: str, modality: str) -> dict[str, str]:
    base = f"cases/{case_id}"
    row = {"case_id": case_id, "format": fmt, "site": site, "modality": modality}
    if fmt == "dicom":
        files = {"image": f"{base}/{modality.lower()}", "rtstruct": f"{base}/rtstruct.dcm"}
    else:
        files = {
            "image": f"{base}/image.nii.gz",
            "organ_mask": f"{base}/{SITES[site].organ}.nii.gz",
            "gtv_mask": f"{base}/gtv.nii.gz",
        }
    return row | files


def _uid_seed(task: CaseTask) -> str:
    """What a case's DICOM UIDs derive from; liver CT cases keep the seeds of generator 1.0."""
    base = f"{GENERATOR}-{task.seed}-{task.case_id}"
    return (
        base
        if (task.site, task.modality) == ("liver", "CT")
        else f"{base}-{task.site}-{task.modality}"
    )


def _write_dicom(task: CaseTask, case: RenderedCase, folder: Path) -> None:
    """The case as a DICOM series (CT or MR) and an RTSTRUCT of its ROIs."""
    uid_seed = _uid_seed(task)
    image = case.grid.image(case.image)
    identity = {
        "patient_id": task.case_id,
        "patient_name": f"SYNTHETIC^{task.case_id.split('-')[-1]}",
        "patient_sex": task.sex,
        "uid_seed": uid_seed,
        "model_name": task.scanner,
    }
    series = folder / task.modality.lower()
    if task.modality == "MR":
        strength = MR_SCANNERS[task.scanner].field_strength_t
        info = write_mr_series(image, series, field_strength_t=strength, **identity)
    else:
        info = write_ct_series(image, series, **identity)
    rois = {name: case.grid.image(mask) for name, mask in case.rois.items()}
    write_rtstruct(rois, info, folder / "rtstruct.dcm", uid_seed=uid_seed, colors=case.colors)


def write_case(task: CaseTask) -> dict[str, Any]:
    """Render one case's phantom and write it; returns the measured tumour diameters (mm)."""
    case = SITES[task.site].render(
        task.anatomy_seed,
        task.liver_damage,
        task.tumor_heterogeneity,
        task.tumor_diameters,
        task.scanner,
    )
    folder = Path(task.folder)
    folder.mkdir(parents=True, exist_ok=True)
    if task.fmt == "dicom":
        _write_dicom(task, case, folder)
    else:
        volumes = (("image", case.image), (SITES[task.site].organ, case.organ), ("gtv", case.gtv))
        for name, array in volumes:
            path = str(folder / f"{name}.nii.gz")
            sitk.WriteImage(case.grid.image(array), path, True, NIFTI_COMPRESSION_LEVEL)
    return {
        "index": task.index,
        "tumor_diameter": round(longest_axial_diameter(case.gtv, case.grid.spacing), 1),
        "secondary_max": max(case.tumor_diameters[1:], default=0.0),
    }


def _init_worker() -> None:
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)


def _prepare_folder(out: Path) -> None:
    """Create ``out``, or clear a previous cohort there; refuse any other non-empty folder."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"Output {out} exists and is not a folder.")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "cohort.json").is_file():
            raise ConfigError(
                f"Output folder {out} is not empty and holds no cohort.json: choose an empty or "
                "new folder (an earlier synthetic cohort there would be replaced)."
            )
        shutil.rmtree(out / "cases", ignore_errors=True)
        for name in _OUTPUT_FILES:
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _run(
    tasks: list[CaseTask], workers: int, progress: Callable[[str], None] | None, started: float
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    step = max(1, len(tasks) // 10)

    def done(result: dict[str, Any]) -> None:
        results.append(result)
        if progress and (len(results) % step == 0 or len(results) == len(tasks)):
            progress(
                f"demo-cohort: {len(results)}/{len(tasks)} cases written "
                f"({time.perf_counter() - started:.1f} s)"
            )

    if workers == 1:
        for task in tasks:
            done(write_case(task))
    else:
        with worker_pool(workers, _init_worker) as pool:
            for future in as_completed([pool.submit(write_case, task) for task in tasks]):
                done(future.result())
    return sorted(results, key=lambda r: r["index"])


def _folder_megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _c_index_or_none(outcome: tuple[np.ndarray, np.ndarray], log_hazard: Any) -> float | None:
    """Harrell's c of a true log-hazard, rounded; None for a cohort too small to have a
    comparable pair (a handful of cases for a test)."""
    try:
        return round(harrell_c_index(outcome, np.asarray(log_hazard, dtype=float)), 4)
    except InputError:
        return None


def generate_cohort(
    out: Path,
    n: int,
    seed: int,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
    risk_source: str = "all",
    site: str = "liver",
    modality: str = "CT",
) -> dict[str, Any]:
    """Write a synthetic cohort of ``n`` cases to ``out``, deterministic by ``seed``.

    ``risk_source="tumour"`` makes the hazard depend on the tumours only (see
    :func:`survival_core.synthetic.simulate.tumour_log_hazard`). ``site`` ("liver" or "lung") and
    ``modality`` ("CT" or "MR") choose the images; the same seed gives the same patients, outcomes
    and tumour designs at every site and modality.

    ``workers`` processes render the cases (default: all CPUs). Returns the summary: out, n,
    seed, site, modality, n_dicom, n_nifti, censored_fraction, oracle_c_index, seconds,
    megabytes.
    """
    # Imported here so that worker processes, which import this module, do not load pandas.
    from survival_core.io.clinical import SCHEMA
    from survival_core.io.clinical_schema import validate_clinical
    from survival_core.io.manifest import MANIFEST_COLUMNS
    from survival_core.synthetic import simulate

    started = time.perf_counter()
    if site not in SITES:
        raise ConfigError(f"Unknown site {site!r}; choose one of {', '.join(SITES)}.")
    if modality not in MODALITIES:
        raise ConfigError(f"Unknown modality {modality!r}; choose one of {', '.join(MODALITIES)}.")
    if n < 1:
        raise ConfigError(f"Number of cases must be at least 1 (got {n}).")
    if seed < 0:
        raise ConfigError(f"Seed must be a non-negative integer (got {seed}).")
    if workers is not None and workers < 1:
        raise ConfigError(f"Number of workers must be at least 1 (got {workers}).")
    workers = min(workers or os.cpu_count() or 1, n)
    out = Path(out).expanduser().resolve()
    _prepare_folder(out)

    scanners = BY_MODALITY[modality]
    patients = simulate.simulate_cohort(n, seed, risk_source, tuple(scanners))
    layout = np.random.default_rng(np.random.SeedSequence([seed, simulate.STREAM_LAYOUT]))
    dicom = set(layout.choice(n, size=int(round(n * DICOM_FRACTION)), replace=False).tolist())
    tasks = [
        CaseTask(
            index=i,
            case_id=row.case_id,
            seed=seed,
            anatomy_seed=(seed, simulate.STREAM_ANATOMY, i),
            liver_damage=float(row.liver_damage),
            tumor_heterogeneity=float(row.tumor_heterogeneity),
            tumor_diameters=tuple(row.tumor_diameters),
            scanner=row.scanner,
            sex=row.sex,
            fmt="dicom" if i in dicom else "nifti",
            folder=str(out / "cases" / row.case_id),
            site=site,
            modality=modality,
        )
        for i, row in enumerate(patients.itertuples(index=False))
    ]
    results = _run(tasks, workers, progress, started)

    patients["tumor_diameter"] = [r["tumor_diameter"] for r in results]
    patients["bclc"] = simulate.bclc_stage(
        patients["tumor_number"],
        patients["tumor_diameter"],
        patients["ecog"],
        patients["child_pugh"],
        patients["mvi"],
        [r["secondary_max"] for r in results],
    )
    for row in patients.to_dict("records"):
        values = validate_clinical({v.name: row[v.name] for v in SCHEMA}).values
        (out / "cases" / row["case_id"] / "clinical.json").write_text(json.dumps(values, indent=1))

    clinical_columns = ["case_id", "time", "event"] + [v.name for v in SCHEMA]
    patients[clinical_columns].to_csv(out / "clinical.csv", index=False, lineterminator="\n")
    OUTCOME.save(out)
    patients[list(TRUTH_COLUMNS)].to_csv(out / "truth.csv", index=False, lineterminator="\n")
    manifest = [_manifest_row(t.case_id, t.fmt, site, modality) for t in tasks]
    with open(out / "manifest.csv", "w", encoding="utf-8") as handle:
        handle.write(",".join(MANIFEST_COLUMNS) + "\n")
        handle.writelines(
            ",".join(row.get(c, "") for c in MANIFEST_COLUMNS) + "\n" for row in manifest
        )

    outcome = (patients["event"].to_numpy(bool), patients["time"].to_numpy(float))
    oracle = _c_index_or_none(outcome, patients["true_log_hazard"])
    clinical_oracle = _c_index_or_none(outcome, patients["clinical_log_hazard"])
    censored = float(1.0 - patients["event"].mean())
    description = {
        "generator": GENERATOR,
        "version": GENERATOR_VERSION,
        "radsurv_version": __version__,
        "seed": seed,
        "n": n,
        "site": site,
        "modality": modality,
        "n_dicom": len(dicom),
        "n_nifti": n - len(dicom),
        "censored_fraction": round(censored, 4),
        "oracle_c_index": oracle,
        "clinical_oracle_c_index": clinical_oracle,
        # Kaplan-Meier median survival; the median of the times, censored ones included, is
        # follow-up (558-597 days where survival's median is 709-729 on 4,000 patients)
        "median_survival_days": kaplan_meier(outcome).median,
        "median_follow_up_days": float(np.median(patients["time"])),
        "parameters": {
            "risk_source": risk_source,
            "hazard": "Weibull PH, see survival_core.synthetic.simulate; eta in truth.csv",
            "weibull_shape": simulate.WEIBULL_SHAPE,
            "weibull_scale_days": simulate.WEIBULL_SCALE_DAYS,
            "frailty_sd": simulate.FRAILTY_SD,
            "accrual_days": simulate.ACCRUAL_DAYS,
            "min_follow_up_days": simulate.MIN_FOLLOW_UP_DAYS,
            "loss_to_follow_up_mean_days": simulate.LOSS_MEAN_DAYS,
            "in_plane_spacing_mm": IN_PLANE_SPACING_MM,
            "slice_spacing_mm": SLICE_SPACING_MM,
            "dicom_fraction": DICOM_FRACTION,
            "scanners": {name: asdict(s) for name, s in scanners.items()},
        },
    }
    (out / "cohort.json").write_text(json.dumps(description, indent=1) + "\n")
    return {
        "out": str(out),
        "n": n,
        "seed": seed,
        "site": site,
        "modality": modality,
        "n_dicom": len(dicom),
        "n_nifti": n - len(dicom),
        "censored_fraction": round(censored, 4),
        "oracle_c_index": oracle,
        "seconds": round(time.perf_counter() - started, 2),
        "megabytes": round(_folder_megabytes(out), 2),
    }
