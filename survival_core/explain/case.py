"""Explain one case's risk under a saved model: what the ``explain`` command and the viewer show.

- Image models (cnn3d, fusion, ...): a voxel map on the case's own CT grid — signed Grad-CAM at
  the network's last block (in [-1, 1]: positive where the image raises the risk, negative where
  it lowers it; classic Grad-CAM keeps only the positive part, which is empty for most low-risk
  patients), or Integrated Gradients of every CT voxel (baseline: the window floor) —
  with, as "top features", the share of the map's absolute mass in the tumour, the rest of the organ
  and outside the organ, and the tumour enrichment of the map's top 5 % organ and tumour voxels
  (all the voxels the map covers when the case has no organ; see :func:`_tumour_enrichment`).
- Table models: each input variable's attribution by the method that fits the model
  (:mod:`survival_core.explain.attributions`): coefficient x (x - mean) for the linear Cox models,
  Integrated Gradients from the mean patient integrated exactly over the linear pieces of the path
  for the networks, Shapley value sampling against the training cohort for the tree models (with
  each attribution's standard error); the top features are the largest signed attributions.
  Grad-CAM needs an image, so it is refused for them.

The explained function is the risk the model reports for the case (the same number ``score``
gives); ``completeness_delta`` = |sum(attributions) - (f(x) - f(baseline))| / |f(x) - f(baseline)|.
The explanation says what its baseline is (``baseline``, ``baseline_note``), its risk
(``f_baseline``) and the attributions' sum (``attribution_sum``), so that risk = f_baseline +
attribution_sum can be read (an IG map's sum on the CT grid to within 1-2 %, the resampling's).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import SimpleITK as sitk

from survival_core.case import Case
from survival_core.errors import ConfigError
from survival_core.features.case_row import (
    case_features,
    require_values,
    values_features,
)
from survival_core.io.volume import nonzero_box
from survival_core.models.scoring import LoadedModel, case_model

METHODS = ("ig", "gradcam")
#: Top share of the ranked (organ and tumour) voxels scored by the tumour enrichment.
TOP_FRACTION = 0.05
#: The extension of a table model's explanation (every input's attribution).
TABLE_SUFFIX = ".csv"
#: An image model's Integrated Gradients baseline, in full.
IG_FLOOR_NOTE = (
    "the window floor: every voxel of the network's input at the bottom of its intensity "
    "window (air or fat)"
)


@dataclass
class CaseExplanation:
    """An explanation of one case: the method, its cost and checks, the leading inputs, the map."""

    case_id: str
    #: "ig" or "gradcam" (image models); a table model's attribution method: "linear", "ig",
    #: "shapley" or "ensemble" (:func:`~survival_core.explain.attributions.attribution_method`).
    method: str
    seconds: float
    completeness_delta: float | None
    top_features: list[dict[str, Any]]
    risk: float
    #: IG's gradient evaluations, or the orders Shapley value sampling drew (None: Grad-CAM).
    steps: int | None = None
    #: What signed attributions are measured from, as their bars' axis names it ('the mean
    #: patient', 'the training cohort', 'the window floor'); None for Grad-CAM.
    baseline: str | None = None
    #: The baseline in full, its risk (in the risk's units) and the sum of every attribution:
    #: risk = f_baseline + attribution_sum (None for Grad-CAM, whose map does not add up).
    baseline_note: str | None = None
    f_baseline: float | None = None
    attribution_sum: float | None = None
    enrichment: float | None = None
    #: What the enrichment ranked ('top 5 % of the lung and tumour voxels'), or why it is None.
    enrichment_note: str | None = None
    map: sitk.Image | None = field(default=None, repr=False)
    attributions: list[dict[str, Any]] | None = field(default=None, repr=False)
    #: Inputs the case did not give, which took the training median or most frequent level: their
    #: attributions are that value's against the baseline, not the patient's (marked in the list).
    imputed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "method": self.method,
            "seconds": round(self.seconds, 3),
            "completeness_delta": self.completeness_delta,
            "top_features": self.top_features,
            "risk": self.risk,
            "steps": self.steps,
            "baseline": self.baseline,
            "baseline_note": self.baseline_note,
            "f_baseline": self.f_baseline,
            "attribution_sum": self.attribution_sum,
            "enrichment": self.enrichment,
            "enrichment_note": self.enrichment_note,
            "imputed": self.imputed,
        }

    def additivity(self) -> str | None:
        """How the attributions add up to the risk, in words (the Risk page says it), or
        None where they do not (Grad-CAM)."""
        if self.f_baseline is None or self.attribution_sum is None:
            return None
        what = "the map's voxels" if self.map is not None else "every input's attribution"
        gap = self.risk - self.f_baseline - self.attribution_sum
        exact = abs(gap) <= ADDS_UP_RTOL * max(abs(self.risk - self.f_baseline), 1.0)
        said = "is" if exact else f"is within {abs(gap):.2g} of"  # a few IG steps, a resampled map
        return (
            f"Measured from {self.baseline_note}. Its risk, {self.f_baseline:.4g}, plus the sum "
            f"of {what}, {self.attribution_sum:+.4g}, {said} this patient's risk, {self.risk:.4g}."
        )


#: Relative gap below which attributions add up to the risk (float rounding, not an integral's).
ADDS_UP_RTOL = 1e-6


def _region_shares(values: np.ndarray, case: Case, box: tuple[slice, ...]) -> list[dict[str, Any]]:
    """Share of the map's absolute mass in the tumour, the rest of the organ and elsewhere; the
    map is 0 outside ``box`` (the network's crop box on the CT grid), so the mass is summed
    there, and each region is listed when it holds a voxel anywhere."""
    mass = np.abs(values[box])
    total = float(mass.sum())
    whole = {
        role: sitk.GetArrayViewFromImage(case.masks[role]) if role in case.masks else None
        for role in ("organ", "gtv")
    }
    inside = {
        role: np.zeros(mass.shape, bool) if view is None else view[box].astype(bool)
        for role, view in whole.items()
    }
    organ, gtv = inside["organ"], inside["gtv"]
    counts = {role: 0 if v is None else int(np.count_nonzero(v)) for role, v in whole.items()}
    both = _overlap(whole["organ"], whole["gtv"])
    name = case.site or "organ"
    regions = {
        "tumour (GTV)": (gtv, counts["gtv"] > 0),
        f"{name} outside the tumour": (organ & ~gtv, counts["organ"] > both),
        f"outside {name} and tumour" if counts["organ"] else "outside the tumour": (
            ~(organ | gtv),
            values.size > counts["organ"] + counts["gtv"] - both,
        ),
    }
    shares = [
        {"name": name, "share": float(mass[mask].sum() / total) if total > 0 else 0.0}
        for name, (mask, held) in regions.items()
        if held
    ]
    return sorted(shares, key=lambda item: -item["share"])


def _overlap(first: np.ndarray | None, second: np.ndarray | None) -> int:
    """Voxels nonzero in both masks, counted within the second's box (no whole-grid copy)."""
    if first is None or second is None:
        return 0
    box = nonzero_box(second)
    return int(np.count_nonzero(first[box].astype(bool) & second[box].astype(bool)))


def _layer(net: Any, name: str | None, volume: np.ndarray) -> Any:
    """The Grad-CAM layer ``name`` of an image model's network (None: its last block); only a
    layer whose output is a spatial map in the forward pass of ``volume`` qualifies."""
    from survival_core.explain.maps import spatial_layers

    if name is None:
        return None
    choices = spatial_layers(net, volume, scope=net.net)
    if name not in choices:
        raise ConfigError(
            f"The network has no Grad-CAM layer {name!r} (one whose output is a spatial map, "
            "run once per pass and not changed in place by what follows); "
            f"choose one of: {', '.join(choices)}."
        )
    return net.net.get_submodule(name)


def _tumour_enrichment(
    values: np.ndarray, case: Case, box: tuple[slice, ...]
) -> tuple[float | None, str | None]:
    """Tumour enrichment of ``|values|`` (a map on the case's CT grid, 0 outside ``box``) and a
    note: what was ranked, or why there is no score.

    Ranked: the voxels the map covers (``box``, the network's crop box on the CT grid) that lie in the
    organ or the GTV, so a GTV beside the organ (a nodal GTV next to the lung contour) is ranked
    too; the whole box when the case has no organ. Voxels outside the box are 0 by construction:
    ranked, they would fill the top 5 % with ties and any map would score the ceiling (a random
    map did, on pyradiomics' lung1). None (with the reason) when no GTV voxel lies in the box;
    None without a note when the case has no GTV.
    """
    from survival_core.explain.maps import enrichment

    if "gtv" not in case.masks or not sitk.GetArrayViewFromImage(case.masks["gtv"]).any():
        return None, None
    gtv = sitk.GetArrayViewFromImage(case.masks["gtv"])[box].astype(bool)
    candidates = np.ones(gtv.shape, dtype=bool)
    what = "CT voxels in the network's crop box"
    if "organ" in case.masks:
        candidates = sitk.GetArrayViewFromImage(case.masks["organ"])[box].astype(bool) | gtv
        what = f"{case.site or 'organ'} and tumour voxels"
    if not (candidates & gtv).any():
        return None, "the GTV lies outside the network's crop box, so the map does not cover it"
    score = enrichment(np.abs(values[box]), gtv, TOP_FRACTION, organ_mask=candidates)
    return score, f"top {100 * TOP_FRACTION:g} % of the {what}"


def _explain_image(
    case: Case, loaded: LoadedModel, method: str, n_steps: int | None, layer: str | None
) -> CaseExplanation:
    from survival_core.explain.maps import (
        baseline_risk,
        gradcam_map,
        integrated_gradients_map,
        reference_box,
        to_original_geometry,
    )

    X, imputed = case_features(case, loaded)  # a fusion model's clinical inputs
    model = case_model(case, loaded)
    risk = float(model.predict_risk(X)[0])
    start = time.perf_counter()
    net = model.risk_function(X)
    volume, reference = model.case_input(case)
    delta = steps = f_base = None
    if method == "gradcam":
        values = gradcam_map(net, volume, layer=_layer(net, layer, volume), signed=True)
    else:
        values, delta, steps = integrated_gradients_map(net, volume, n_steps=n_steps)
        f_base = baseline_risk(net, volume)
    image = to_original_geometry(values, reference, case, additive=method == "ig")
    seconds = time.perf_counter() - start
    array = sitk.GetArrayViewFromImage(image)
    box = reference_box(reference, case.image)  # the map is 0 outside
    score, note = _tumour_enrichment(array, case, box)
    return CaseExplanation(
        case_id=case.case_id,
        method=method,
        seconds=seconds,
        completeness_delta=delta,
        top_features=_region_shares(array, case, box),
        risk=risk,
        steps=steps,
        baseline=None if f_base is None else "the window floor",
        baseline_note=None if f_base is None else IG_FLOOR_NOTE,
        f_baseline=f_base,
        attribution_sum=None if f_base is None else float(array.sum(dtype=np.float64)),
        enrichment=score,
        enrichment_note=note,
        map=image,
        imputed=list(imputed),
    )


def _explain_table(
    case: Case, loaded: LoadedModel, n_steps: int | None, top: int
) -> CaseExplanation:
    X, imputed = case_features(case, loaded)
    return _explain_row(X, case.case_id, loaded, n_steps, top, imputed)


def explain_values(
    values: Mapping[str, Any],
    loaded: LoadedModel,
    case_id: str,
    n_steps: int | None = None,
    top: int = 5,
) -> CaseExplanation:
    """Attributions of a patient known by clinical values alone, under a model that reads
    no image: refused as ``score_values`` refuses them (values with every input missing would
    explain the training cohort's typical patient; their cautions, a key that is none of the
    model's variables among them, are the score's)."""
    X, imputed, ignored = values_features(values, loaded, case_id)
    require_values(imputed, loaded, case_id, ignored)
    return _explain_row(X, case_id, loaded, n_steps, top, imputed)


def _explain_row(
    X: pd.DataFrame,
    case_id: str,
    loaded: LoadedModel,
    n_steps: int | None,
    top: int,
    imputed: Sequence[str] = (),
) -> CaseExplanation:
    """Attributions of the one-row feature table ``X`` by the model's method, per input variable
    (a category's indicators summed), with their standard error where sampled; the ``imputed``
    inputs marked (the real sarcoma T1 without clinical values listed its imputed BCLC and ECOG
    among the five leading drivers, unmarked)."""
    from survival_core.explain.attributions import (
        BASELINE_LABELS,
        attribution_method,
        model_attributions,
    )

    model = loaded.model
    risk = float(model.predict_risk(X)[0])
    start = time.perf_counter()
    result = model_attributions(model, X, n_steps)
    seconds = time.perf_counter() - start
    row = result.values.iloc[0]
    # a category's indicator columns summed into the variable (attributions add up): the report
    # drew 'tgrade=II -0.41' for a grade III patient, levels she does not have
    owner = model.preprocessor_.input_of_
    row = row.groupby(lambda name: owner.get(str(name), str(name)), sort=False).sum()
    order = row.abs().sort_values(ascending=False, kind="stable").index
    error = None if result.sampling_error is None else result.sampling_error.iloc[0]
    attributions = [
        {
            "name": str(name),
            "attribution": float(row[name]),
            "imputed": str(name) in imputed,
            **({} if error is None else {"standard_error": float(error.get(name, 0.0))}),
        }
        for name in order
    ]
    method = attribution_method(model)
    return CaseExplanation(
        case_id=case_id,
        method=method,
        seconds=seconds,
        completeness_delta=float(result.completeness_delta.iloc[0]),
        top_features=attributions[: max(top, 0)],
        risk=risk,
        steps=int(result.n_steps),
        baseline=BASELINE_LABELS[method],
        baseline_note=result.baseline_note,
        f_baseline=float(result.f_baseline.iloc[0]),
        attribution_sum=float(result.values.iloc[0].sum()),
        attributions=attributions,
        imputed=list(imputed),
    )


def explain_case(
    case: Case,
    loaded: LoadedModel,
    method: str = "ig",
    n_steps: int | None = None,
    top: int = 5,
    layer: str | None = None,
) -> CaseExplanation:
    """Explain ``case``'s risk under ``loaded`` with ``method`` ("ig" or "gradcam").

    ``layer``: Grad-CAM's layer by module name (e.g. ``blocks.2``; default the last block). A
    finer layer localises better: on a tumour-driven cohort at 112 x 112 x 32 the last block's
    maps were 1.3x chance on the tumour and ``blocks.2``'s 5.3x.

    ``n_steps``: IG integration steps, or None: the exact piecewise integral for table networks,
    steps chosen from the completeness check for image models; for tree models the orders
    Shapley value sampling draws (None: 64); refused for a linear Cox model (exact).
    ``top``: how many table inputs to list (table models).
    """
    if method not in METHODS:
        raise ConfigError(f"Unknown explanation method {method!r}; choose one of {METHODS}.")
    if explained_by_map(loaded):
        return _explain_image(case, loaded, method, n_steps, layer)
    if method == "gradcam":
        raise ConfigError(
            f"Grad-CAM needs an image model (cnn3d, fusion, ...); model {loaded.name} "
            f"('{loaded.model.name}') reads a table: use --method ig."
        )
    return _explain_table(case, loaded, n_steps, top)


def explained_by_map(loaded: LoadedModel) -> bool:
    """Whether ``loaded`` is explained by a voxel map (an image model) rather than by a table of
    input attributions."""
    from survival_core.models.image_base import ImageSurvivalModel

    return isinstance(loaded.model, ImageSurvivalModel)


def explanation_file(path: Path | str, voxel_map: bool) -> Path:
    """The file an explanation is written to: a ``voxel_map`` in a volume format (.nii.gz, .nii,
    .nrrd, .mha...), a table of attributions as .csv; a name without an extension gets .nii.gz or
    .csv. A name of the other kind (or of none of them) is refused before the work: a table's
    'map.nii.gz' held gzipped CSV, which no viewer opens, and a map's 'map.csv' was written as
    'map.csv.nii.gz'."""
    from survival_core.io.volume import VOLUME_SUFFIXES, is_volume_file

    path = Path(path)
    if not path.suffix:
        return path.with_name(path.name + (".nii.gz" if voxel_map else TABLE_SUFFIX))
    if is_volume_file(path) if voxel_map else path.suffix.lower() == TABLE_SUFFIX:
        return path
    what = (
        "a voxel map" if voxel_map else "a table of input attributions (a model reading no image)"
    )
    wanted = ", ".join(VOLUME_SUFFIXES) if voxel_map else TABLE_SUFFIX
    name = path.name.lower()  # 'map.nii.gz' is told as '.nii.gz', not '.gz'
    given = next((s for s in VOLUME_SUFFIXES if name.endswith(s)), path.suffix)
    raise ConfigError(
        f"{path.name}: this model's explanation is {what}, written as {wanted}, not as "
        f"'{given}': name the file with one of those extensions."
    )


def save_explanation(
    explanation: CaseExplanation, path: Path | str, orientation: str = "LPS"
) -> Path:
    """Write the map in a volume format (image models) or every attribution as CSV (table
    models: ``name,attribution,imputed`` (``standard_error`` where sampled), a first row
    ``baseline: <what>`` holding the baseline's risk, so the column sums to the patient's risk),
    to :func:`explanation_file`'s name. The map is written in the voxel order
    ``orientation`` of the case's own file (the case's ``stored_orientation``): read by index
    beside a RAS file, an LPS map was mirrored."""
    from survival_core.explain.maps import save_map

    path = explanation_file(path, explanation.map is not None)
    if explanation.map is not None:
        stored = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(
            explanation.map.GetDirection()
        )
        same = stored == orientation  # reoriented, a copy of the whole map for nothing
        return save_map(
            explanation.map if same else sitk.DICOMOrient(explanation.map, orientation), path
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = pd.DataFrame(explanation.attributions or [])
    if explanation.f_baseline is not None:  # first: the column then sums to the patient's risk
        start = {"name": f"baseline: {explanation.baseline}", "attribution": explanation.f_baseline}
        rows = pd.concat([pd.DataFrame([start]), rows], ignore_index=True)
    rows.to_csv(path, index=False)
    return path
