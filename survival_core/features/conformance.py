"""IBSI conformance of RadSurv's radiomics, as one summary and as README tables.

Chapter 1 (:mod:`survival_core.features.ibsi_ct_phantom`): the CT phantom in configurations A to E,
read from DICOM + RTSTRUCT and from NIfTI; every reference value with a pyradiomics counterpart is
matched, a documented deviation, or unexplained; the image and mask diagnostics of the reference
files check reading, resampling and re-segmentation. For the resampled configurations (B to E) the
features are also computed on RadSurv's default grid (box-aligned, nearest-neighbour masks,
unrounded HU) to show what the IBSI grid changes. Chapter 2 phase 1
(:mod:`survival_core.features.ibsi_filters`): each filter RadSurv offers against the reference
response maps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from survival_core.errors import InputError
from survival_core.features import ibsi_ct_phantom as ct
from survival_core.features import ibsi_filters as filters
from survival_core.features.ibsi_reference import FAMILIES
from survival_core.features.settings import Scale

#: The shared data folder beside the project (``../shared/data``).
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def missing_data(shared_data: Path) -> str | None:
    """Why the IBSI data under ``shared_data`` cannot be used, or None when it is all there."""
    needed = (
        shared_data / ct.PHANTOM_DIR / "dicom",
        shared_data / ct.PHANTOM_DIR / "nifti",
        shared_data / ct.REFERENCE_DIR / "ibsi_1_chest_config_a.csv",
        shared_data / filters.PHANTOM_DIR,
        shared_data / filters.MAPS_DIR,
    )
    absent = [str(path) for path in needed if not path.exists()]
    return f"IBSI data not found: {', '.join(absent)}" if absent else None


def default_grid(config: ct.Configuration) -> ct.Configuration:
    """``config`` on RadSurv's default grid (same spacing and image interpolator; box-aligned,
    nearest-neighbour masks, unrounded intensities)."""
    scale = config.scale
    return replace(config, scale=Scale(scale.spacing_mm, scale.interpolator))


def _counts(rows: list[ct.Comparison]) -> dict[str, int]:
    status = Counter(row.status for row in rows)
    return {
        "compared": len(rows) - status[ct.NO_COUNTERPART],
        "matched": status[ct.MATCHED],
        "documented_deviations": status[ct.DEVIATES],
        "unexplained": status[ct.UNEXPLAINED],
        "no_counterpart": status[ct.NO_COUNTERPART],
    }


def _families(rows: list[ct.Comparison]) -> dict[str, dict[str, int]]:
    order = list(FAMILIES.values())
    by_family = {name: [row for row in rows if row.family == name] for name in order}
    return {name: _counts(found) for name, found in by_family.items() if found}


def ct_phantom_report(
    shared_data: Path, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Chapter 1 summary: per configuration the counts of the DICOM run (``configs``), its
    families and diagnostics, the NIfTI run's counts (``nifti``) and the deviations."""
    phantoms = {source: ct.load_phantom(shared_data, source) for source in ct.SOURCES}
    configs: dict[str, Any] = {}
    nifti: dict[str, Any] = {}
    deviations = []
    for name in ct.CONFIGS:
        progress(f"IBSI 1 configuration {name}")
        reference = ct.reference_values(shared_data, name)
        image, mask = phantoms["dicom"]
        config = ct.CONFIGURATIONS[name]
        rows = ct.compare(name, ct.extract(image, mask, config), reference)
        diagnostics = ct.compare_diagnostics(name, ct.diagnostics(image, mask, config), reference)
        summary = _counts(rows)
        summary["families"] = _families(rows)
        summary["diagnostics"] = {
            "compared": len(diagnostics),
            "matched": sum(row.status == ct.MATCHED for row in diagnostics),
        }
        if config.scale.spacing_mm is not None:
            default = ct.extract(image, mask, default_grid(config))
            summary["matched_on_default_grid"] = _counts(ct.compare(name, default, reference))[
                "matched"
            ]
        configs[name] = summary
        nifti_values = ct.extract(*phantoms["nifti"], config)
        nifti[name] = _counts(ct.compare(name, nifti_values, reference))
        deviations += [
            {
                "config": name,
                "tag": row.tag,
                "reference": row.reference,
                "tolerance": row.tolerance,
                "ours": row.ours,
                "converted": row.converted,
                "reason": row.reason,
            }
            for row in rows
            if row.status in (ct.DEVIATES, ct.UNEXPLAINED)
        ]
    return {"configs": configs, "nifti": nifti, "deviations": deviations}


def filter_report(shared_data: Path) -> dict[str, Any]:
    """Chapter 2 phase 1 summary: counts and one row per case RadSurv computes, and the cases it
    does not offer."""
    results = [filters.compare_case(shared_data, case) for case in filters.CASES]
    status = Counter(result.status for result in results)
    return {
        "compared": len(results),
        "matched": status[filters.MATCHED],
        "documented_deviations": status[filters.DEVIATES],
        "unexplained": status[filters.UNEXPLAINED],
        "not_offered": len(filters.NOT_OFFERED),
        "relative_tolerance": filters.RELATIVE_TOLERANCE,
        "cases": [
            {
                "case": result.case.name,
                "phantom": result.case.phantom,
                "filter": result.case.filter,
                "boundary": result.case.boundary,
                "status": result.status,
                "max_difference": result.max_difference,
                "relative_difference": result.relative,
                "relative_difference_converted": result.converted,
                "reason": result.case.reason,
            }
            for result in results
        ],
        "not_offered_cases": filters.NOT_OFFERED,
    }


def ibsi_report(
    shared_data: Path = SHARED_DATA, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """The whole summary (see the module doc); InputError when the data is missing."""
    why = missing_data(shared_data)
    if why:
        raise InputError(why)
    report = ct_phantom_report(shared_data, progress)
    progress("IBSI 2 phase 1 filters")
    report["ibsi2"] = filter_report(shared_data)
    return report


# --- README tables ------------------------------------------------------------------------------


def _cell(counts: dict[str, int] | None) -> str:
    """``matched/compared``, with the deviations; "no counterpart" when nothing maps."""
    if counts is None:
        return "not reported"
    if counts["compared"] == 0:
        return "no counterpart"
    text = f"{counts['matched']}/{counts['compared']}"
    if counts["documented_deviations"]:
        text += f" ({counts['documented_deviations']} documented)"
    if counts["unexplained"]:
        text += f" ({counts['unexplained']} unexplained)"
    return text


def markdown(report: dict[str, Any]) -> str:
    """README-ready markdown: the configuration x family table, the deviations and the IBSI 2 cases."""
    configs = report["configs"]
    names = list(configs)
    lines = [
        "| IBSI 1 family | " + " | ".join(f"config {n}" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for family in FAMILIES.values():
        cells = [configs[n]["families"].get(family) for n in names]
        if any(cell is not None for cell in cells):
            lines.append(f"| {family} | " + " | ".join(_cell(cell) for cell in cells) + " |")
    lines.append("| **all mapped values** | " + " | ".join(_cell(configs[n]) for n in names) + " |")
    lines.append(
        "| values without a pyradiomics counterpart | "
        + " | ".join(str(configs[n]["no_counterpart"]) for n in names)
        + " |"
    )
    lines.append(
        "| image and mask diagnostics | "
        + " | ".join(
            f"{configs[n]['diagnostics']['matched']}/{configs[n]['diagnostics']['compared']}"
            for n in names
        )
        + " |"
    )
    lines.append(
        "| NIfTI input, all mapped values | "
        + " | ".join(_cell(report["nifti"][n]) for n in names)
        + " |"
    )
    lines.append(
        "| matched on RadSurv's default grid | "
        + " | ".join(
            f"{configs[n]['matched_on_default_grid']}/{configs[n]['compared']}"
            if "matched_on_default_grid" in configs[n]
            else "(native grid)"
            for n in names
        )
        + " |"
    )
    lines += [
        "",
        "| config | tag | reference | ours | on IBSI's definition | why |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["deviations"]:
        converted = "" if row["converted"] is None else f"{row['converted']:.4g}"
        lines.append(
            f"| {row['config']} | `{row['tag']}` | {row['reference']:g} ± {row['tolerance']:g} | "
            f"{row['ours']:.4g} | {converted} | {row['reason'] or 'unexplained'} |"
        )
    ibsi2 = report["ibsi2"]
    lines += [
        "",
        f"| IBSI 2 case | phantom | filter | boundary | max abs. difference | share of peak "
        f"(tolerance {ibsi2['relative_tolerance']:g}) | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in ibsi2["cases"]:
        result = case["status"]
        if case["relative_difference_converted"] is not None:
            result += f" (converted: {case['relative_difference_converted']:.2%} of peak)"
        lines.append(
            f"| {case['case']} | {case['phantom']} | {case['filter']} | {case['boundary']} | "
            f"{case['max_difference']:.3g} | {case['relative_difference']:.2g} | {result} |"
        )
    lines += ["", "| IBSI 2 cases not offered | why |", "|---|---|"]
    for case, why in ibsi2["not_offered_cases"].items():
        lines.append(f"| {case} | {why} |")
    return "\n".join(lines) + "\n"
