"""An A4 PDF of one case's risk for a tumor board: one page, continued on another when its
"Check before use" block needs more room than the page leaves it.

Gathering and drawing are separate: :func:`gather_report` turns a case, its score under a saved model,
the model's card and an optional explanation into formatted text and arrays (a
:class:`ReportContent`, testable without a renderer); :func:`render_report` draws it with matplotlib
(no pyplot, so concurrent app sessions share no figure state) and returns the PDF bytes.

Clinical inputs are named by the model's clinical schema (labels and units of an own cohort's
variables, else the demo's HCC ones; :attr:`~survival_core.models.scoring.LoadedModel.schema`).

Privacy: the page names the case only by its ``case_id`` (the pseudonym the app shows); no other
identifying field of the case (source path, DICOM tags) is printed, and warnings naming the case's
files are printed without the names (:attr:`~survival_core.case.Case.unnamed_warnings`), or else
without the case's archive or folder, the server's data folder and DICOM UIDs
(:func:`printed_warning`).
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import SimpleITK as sitk

from survival_core import __version__
from survival_core.case import Case
from survival_core.errors import InputError
from survival_core.explain.attributions import method_description
from survival_core.explain.case import TOP_FRACTION, CaseExplanation
from survival_core.features.pet_uptake import gtv_uptake
from survival_core.io.clinical_schema import SchemaVariable
from survival_core.io.outcome_source import EndpointWords
from survival_core.models.scoring import DAYS_PER_MONTH, CaseScore, LoadedModel, survival_text
from survival_core.paths import without_server_paths
from survival_core.preprocess.window import (
    DEFAULT_PERCENTILE_WINDOW,
    DEFAULT_SUV_WINDOW,
    SUV_WINDOWS,
    get_window,
    percentile_window,
    site_window,
)
from survival_core.text import (
    drawable,
    literal_texts,
    number_text,
    one_line,
    percentile_text,
    short_run,
    undrawn,
)
from survival_core.viewer.figures import (
    OVERLAY_FLOOR,
    POSITIVE_COLOURS,
    SIGNED_COLOURS,
    intensity_unit,
    overlay_range,
    role_colour,
    role_label,
    site_label,
)
from survival_core.viewer.slices import (
    SliceView,
    best_slice,
    extract_slice,
    make_overlay,
    n_slices,
    slice_position,
)

DISCLAIMER = "For research use only. Not a medical device; not for clinical decision-making."
#: A4 portrait in inches (210 x 297 mm).
A4_INCHES = (210 / 25.4, 297 / 25.4)
#: Bars in the feature chart.
TOP_FEATURES = 8
#: Margin (mm) around the organ (else the GTV) when the snapshot is cropped to it.
CROP_MARGIN_MM = 15.0
#: Characters of an input's name in a value text (a radiomics feature's, shortened).
_VALUE_CHARS = 34
#: Clinical inputs the model card names at most (fewer when their labels are long); more are
#: counted ("... and 52 more").
_INPUTS_SHOWN = 8
#: A DICOM UID ('1.3.6.1.4.1.14519...', '2.25.<128-bit number>'), which the report never prints:
#: dotted numbers of :data:`_UID_CHARS` characters or more (a version '2.1.0' is none).
_UID = re.compile(r"\b[0-2](?:\.\d+){2,}\b")
_UID_CHARS = 16


@dataclass
class ReportContent:
    """Everything the report page shows, formatted (percentages, p-values, units) but not drawn."""

    case_id: str
    date: str
    model_label: str
    #: The RadSurv that made the report (the model's card keeps the one that trained it).
    radsurv_version: str
    risk: float
    percentile: float
    risk_group: str
    #: (months, predicted survival probability) at 12, 24, 36 months.
    #: (months, survival), survival None past the training cohort's follow-up.
    survival: list[tuple[int, float | None]]
    #: Labels of the clinical values the model imputed for this case.
    imputed: list[str]
    #: Training-cohort Kaplan-Meier curves per risk group: (time in months, survival, group size).
    km: dict[str, tuple[np.ndarray, np.ndarray, int]]
    training_risk: np.ndarray
    #: Model card rows (label, text).
    card: list[tuple[str, str]]
    view: SliceView
    #: Display window (low, high) of the snapshot (HU for CT).
    window: tuple[float, float]
    slice_note: str
    #: (label, value): signed attributions (risk units) or region shares (0-1), see ``signed``.
    features: list[tuple[str, float]] = field(default_factory=list)
    signed: bool = True
    feature_note: str = ""
    disclaimer: str = DISCLAIMER
    #: The case's site, naming the organ contour ("Liver", "Lung"; "Organ" when unknown).
    site: str | None = None
    #: The image's modality, naming the snapshot ("CT", "MR", "PET").
    modality: str = "CT"
    #: The contours' volumes from the case's summary, the values the Case page shows ('Volumes
    #: from the contours: GTV 365.3 mL (1 lesion).'; :func:`volumes_text`); '' without contours.
    volumes: str = ""
    #: The score's cautions, each whole as ``score --json`` and the Risk page give them (an input
    #: or the risk outside the training cohort with what to check, a site or MR weighting the
    #: model never learned from, clinical values not given).
    cautions: list[str] = field(default_factory=list)
    #: What reading the case warned about (``Case.warnings``, as ``score --json`` gives them, but
    #: without the names of the case's files: ``Case.unnamed_warnings``).
    warnings: list[str] = field(default_factory=list)
    #: The case id as given where ``case_id`` writes letters the font lacks as code points: the
    #: PDF's metadata keeps it (searchable, copyable).
    case_id_as_given: str | None = None
    #: What the risk score is, and whether the model's curves can cross (the score's).
    risk_scale: str = "log relative hazard"
    curves_may_cross: bool = False
    #: Decimals of the risk and the risk-group cut, enough to tell them apart
    #: (:meth:`~survival_core.models.card.ModelCard.risk_digits`).
    risk_digits: int = 2
    #: What the survival and the events are of: the model's endpoint ('overall survival'), as
    #: its card records it (:attr:`~survival_core.models.card.ModelCard.endpoint`).
    endpoint: EndpointWords = field(default_factory=EndpointWords)

    @property
    def overlay(self) -> bool:
        """Whether the CT snapshot carries an attribution overlay."""
        return self.view.overlay is not None

    @property
    def risk_text(self) -> str:
        return f"Risk score {self.risk:.{self.risk_digits}f}"

    @property
    def percentile_text(self) -> str:
        n = self.training_risk.size
        return f"Percentile {percentile_text(self.percentile)} of the training cohort (n = {n})"

    @property
    def group_text(self) -> str:
        return f"{self.risk_group.capitalize()}-risk group"


def p_text(p: float | None) -> str:
    """A p-value with 3 decimals, '< 0.001' below that; 'not computed' when missing."""
    if p is None:
        return "not computed (too few events in a group)"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _interval(value: float, low: float | None, high: float | None, digits: int) -> str:
    """'0.71 (95 % CI 0.60-0.80)'; the value alone when a bound is missing or unbounded."""
    if low is None or high is None or not np.isfinite([low, high]).all():
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} (95 % CI {low:.{digits}f}-{high:.{digits}f})"


def _cut_text(cut: Mapping[str, Any], digits: int) -> str:
    """The card's risk-group cut, its threshold in ``digits`` decimals (the risk's)."""
    threshold = cut.get("threshold")
    at = "" if threshold is None else f", risk > {threshold:.{digits}f} is high"
    if cut.get("method") == "youden":
        return f"Youden index at {cut['horizon'] / DAYS_PER_MONTH:.0f} months{at}"
    return f"median training risk{at}"


def explanation_method(loaded: LoadedModel) -> str:
    """The explanation the report uses: signed Grad-CAM for image models (seconds on a CPU, where
    a voxel IG map takes minutes), exact Integrated Gradients for table models."""
    from survival_core.models.image_base import ImageSurvivalModel

    return "gradcam" if isinstance(loaded.model, ImageSurvivalModel) else "ig"


def model_label(loaded: LoadedModel) -> str:
    """How the report names the model: its family (an ``auto`` model's with the candidate it
    chose: :attr:`~survival_core.models.scoring.LoadedModel.kind`) and name, a registered model's
    with its registry version ('coxph (gbsg/v3)', 'coxnet (demo-default)'): the app's picker
    label said 'demo default (coxnet on the demo cohort)' or 'gbsg v3 (active)', an app status in
    a tumour-board document, where the command line said 'coxnet (demo-default)'. A model of a
    training run adds that run ('coxph (rt-b/v1, run 9627f8cd)'): a version deleted and another
    registered under its name and number carried the same label."""
    run = f", {short_run(loaded.run_id)}" if loaded.run_id else ""
    return f"{loaded.kind} ({loaded.name}{run})"


def _label(name: str, variables: Mapping[str, SchemaVariable]) -> str:
    """A clinical variable's label ('Albumin'); any other column's name."""
    var = variables.get(name)
    return var.label if var is not None and var.label else name


def _card_rows(
    loaded: LoadedModel, variables: Mapping[str, SchemaVariable], digits: int
) -> list[tuple[str, str]]:
    """The model card as (label, text) rows: cohort, inputs, protocol, c-index, groups (the cut
    in ``digits`` decimals, the risk's)."""
    card = loaded.card
    groups = card.stratification_result()
    inputs = loaded.inputs
    clinical = [
        _label(n, variables)
        for n in loaded.schema.in_order(inputs)  # the sheet's order, not the inputs' by name
        if n in card.clinical_columns
    ]
    others = len(inputs) - len(clinical)
    parts = [f"{others} image feature(s)"] if others else []
    if explanation_method(loaded) == "gradcam":
        parts.append("the organ-cropped image volume")
    if clinical:  # as many labels as the card's lines hold (long labels ran off the page)
        tail = "".join(f"; {part}" for part in parts)
        lines = _counted("", clinical, tail, _INPUTS_SHOWN, (_BODY, _CARD_TEXT, _ROW_LINES))
        parts = [" ".join(lines)]
    rows = [
        ("Model", f"{loaded.kind}, trained {card.created[:10] or 'date unknown'}"),
        (
            "Training cohort",
            f"n = {card.n} patients, {card.n_events} {card.endpoint.events} "
            f"({100 * card.n_events / max(card.n, 1):.0f} %)",
        ),
        *([("Outcome", card.endpoint.outcome)] if card.endpoint.outcome else []),
        ("Inputs", "; ".join(parts) or "none recorded"),
    ]
    cv = card.cv or {}
    if card.validated == "external":
        rows.append(("Protocol", f"external validation on {cv.get('n', '?')} other patients"))
    elif card.validated:
        rows.append(
            ("Protocol", f"resampling, {cv.get('n_folds', '?')} test folds, pooled out-of-fold")
        )
    else:
        rows.append(("Protocol", "fit on all patients; no cross-validation stored"))
    if card.validated:
        c_index = _interval(cv["c_index"], cv.get("ci_low"), cv.get("ci_high"), 3)
        rows.append((f"C-index ({'external' if card.validated == 'external' else 'CV'})", c_index))
    rows += [
        ("C-index (apparent)", f"{card.apparent_c_index:.3f} (on the training patients)"),
        ("Risk-group cut", _cut_text(card.cut, digits)),
        (
            "Log-rank p",
            _training(p_text(None if groups.logrank is None else groups.logrank.p_value)),
        ),
    ]
    hr = groups.hazard_ratio
    estimable = hr is not None and np.isfinite(hr.value)
    text = _interval(hr.value, hr.ci_low, hr.ci_high, 2) if estimable else "not estimable"
    return [*rows, ("HR high vs low", _training(text))]


def _training(text: str) -> str:
    """A risk-group statistic of the card, said to be the training patients' (an external
    validation's log-rank and hazard ratio differ)."""
    return f"{text} (training patients)"


def _km_curves(loaded: LoadedModel) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """The card's group curves ("low", "high") in months, starting at (0, 1)."""
    return {
        ("low", "high")[g]: (
            np.concatenate([[0.0], curve.time / DAYS_PER_MONTH]),
            np.concatenate([[1.0], curve.survival]),
            int(curve.n_at_risk[0]),
        )
        for g, curve in loaded.card.stratification_result().km.items()
    }


def _value_text(
    name: str, case: Case, imputed: list[str], variables: Mapping[str, SchemaVariable]
) -> str:
    """'Albumin 32 g/L' for a clinical input ('(imputed)' when missing), else the short name."""
    var = variables.get(name)
    if var is None:
        return name if len(name) <= _VALUE_CHARS else name[: _VALUE_CHARS - 1] + "…"
    label = _label(name, variables)
    if name in imputed or case.clinical.get(name) is None:
        return f"{label} (imputed)"
    value = case.clinical[name]
    if isinstance(value, bool):  # as the Case page shows it, not 'Cirrhosis True'
        shown = "yes" if value else "no"
    else:
        shown = number_text(value) if isinstance(value, int | float) else value
    return f"{label} {shown}{' ' + var.unit if var.unit else ''}"


def _features(
    case: Case,
    explanation: CaseExplanation | None,
    loaded: LoadedModel,
    imputed: list[str],
    variables: Mapping[str, SchemaVariable],
) -> tuple[list[tuple[str, float]], bool, str]:
    """Bars of the feature chart, whether they are signed, and the note under it (naming the
    method of ``loaded``'s attributions)."""
    if explanation is None:
        return [], True, "No explanation was computed for this report."
    items = explanation.top_features[:TOP_FEATURES]
    if items and "attribution" in items[0]:
        bars = [
            (_value_text(i["name"], case, imputed, variables), float(i["attribution"]))
            for i in items
        ]
        how = method_description(loaded.model)
        # each method's own baseline: a network's risk at the mean inputs is not the cohort's
        # mean risk; a forest's is measured from the training cohort
        note = (
            f"{how[:1].upper()}{how[1:]} from {explanation.baseline} (risk "
            f"{_baseline_text(explanation.f_baseline)}), in risk-score units: red raises, blue "
            "lowers the risk."
        )
        return bars, True, note
    method = "Grad-CAM" if explanation.method == "gradcam" else "Integrated Gradients"
    bars = [(str(i["name"]), float(i["share"])) for i in items]
    note = f"Share of the {method} map's absolute attribution by region."
    if explanation.enrichment is not None:
        ranked = explanation.enrichment_note or f"top {100 * TOP_FRACTION:g} % voxels"
        note += f" Tumour enrichment of the {ranked}: {explanation.enrichment:.1f}x."
    elif explanation.enrichment_note:
        note += f" No tumour enrichment: {explanation.enrichment_note}."
    return bars, False, note


def _baseline_text(risk: float) -> str:
    """The baseline's risk in plain digits, to a millionth: a linear model's risk at the training
    means is 0 up to floating noise, printed '(risk 1.6e-17)'."""
    return number_text(round(risk, 6))


def _display_window(case: Case) -> tuple[tuple[float, float], str]:
    """The window the viewer opens ``case`` in, and its note: the site's window for CT
    (:func:`site_window`), :data:`DEFAULT_SUV_WINDOW` for a PET in SUVbw, else the whole volume's
    :data:`DEFAULT_PERCENTILE_WINDOW` (not the slice's: the page and the page's report agree)."""
    unit = intensity_unit(case)
    if unit == "HU":
        name = site_window(case.site)
        window = get_window(name)
        return (
            window.low,
            window.high,
        ), f"{name} window W {window.width:g} / L {window.level:g} HU"
    if unit == "SUVbw":
        window = SUV_WINDOWS[DEFAULT_SUV_WINDOW]
        return (window.low, window.high), (
            f"SUVbw window {window.low:g}-{window.high:g} (the viewer's default)"
        )
    window = percentile_window(case.image, DEFAULT_PERCENTILE_WINDOW)
    return (window.low, window.high), (
        f"window {window.low:.4g}-{window.high:.4g}, the whole volume's "
        f"{DEFAULT_PERCENTILE_WINDOW} intensity percentiles (the viewer's default)"
    )


def volumes_text(case: Case) -> str:
    """The volumes (mL) of the case's contours, with the GTV's lesion count, from the summary the
    Case page shows (:meth:`Case.summary`): the report gave a risk and a snapshot, but not the
    tumour's size. '' for a case without contours."""
    summary = case.summary()
    lesions = summary.get("lesions")
    volumes = []
    for key, value in summary.items():
        if not key.endswith("_volume_ml"):
            continue
        role = key.removesuffix("_volume_ml")
        count = f" ({lesions} lesion{'s' if lesions != 1 else ''})" if role == "gtv" else ""
        volumes.append(f"{role_label(role, case.site)} {value:.1f} mL{count}")
    return f"Volumes from the contours: {', '.join(volumes)}." if volumes else ""


def gather_report(
    case: Case,
    loaded: LoadedModel,
    score: CaseScore | Mapping[str, Any],
    explanation: CaseExplanation | None = None,
    overlay: sitk.Image | np.ndarray | None = None,
    *,
    date: str | None = None,
) -> ReportContent:
    """Collect and format the report of ``case``.

    ``score``: the case's :class:`CaseScore` (or its ``as_dict()``) under ``loaded``.
    ``overlay``: an attribution map on the case's CT grid (default: ``explanation.map``, present
    for image models). ``date``: ISO date shown (default today, UTC).
    The model is named by :func:`model_label`, the same from the app and the command line.
    """
    values = score.as_dict() if isinstance(score, CaseScore) else dict(score)
    if values["case_id"] != case.case_id:
        raise InputError(
            f"The score given is of case {values['case_id']}, not of case {case.case_id}; "
            "score this case first."
        )
    if overlay is None and explanation is not None:
        overlay = explanation.map
    gradcam = explanation is not None and explanation.method == "gradcam"
    label = "Grad-CAM" if gradcam else "attribution"
    shown = None if overlay is None else make_overlay(case, overlay, label)
    index = best_slice(case, "axial")
    view = extract_slice(case, "axial", index, overlay=shown, roles=("organ", "gtv"))
    window, window_text = _display_window(case)
    where = "largest GTV cross-section" if "gtv" in case.masks else "middle slice"
    position = slice_position(case.image, "axial", index)  # as the PACS locates a slice
    of_series = f" of {case.modality} {case.series}" if case.series else ""  # which phase
    note = (
        f"Axial slice {index + 1}/{n_slices(case.image, 'axial')}{of_series} at {position} "
        f"({where}), {window_text}."
    )
    if shown is not None:
        note += f" Overlay: {label} map" + (
            ", red raises and blue lowers the risk." if shown.scale.signed else "."
        )
    elif explanation_method(loaded) == "gradcam":
        note += " No attribution overlay was computed."
    else:
        note += " No attribution overlay: the model does not read the image."
    uptake = gtv_uptake(case)
    if uptake:
        note += (
            f" GTV uptake: SUVmax {uptake['suv_max']:.1f}, SUVpeak {uptake['suv_peak']:.1f}, "
            f"SUVmean {uptake['suv_mean']:.1f}, MTV {uptake['mtv_ml']:.1f} mL, "
            f"TLG {uptake['tlg']:.0f}."
        )
    imputed = list(values.get("imputed") or [])
    variables = {v.name: v for v in loaded.schema.variables}
    features, signed, feature_note = _features(case, explanation, loaded, imputed, variables)
    digits = loaded.card.risk_digits(float(values["risk"]))
    return _drawable(
        ReportContent(
            case_id=case.case_id,
            site=case.site,
            modality="PET" if case.modality == "PT" else case.modality,
            volumes=volumes_text(case),
            date=date or datetime.now(UTC).date().isoformat(),
            model_label=model_label(loaded),
            radsurv_version=__version__,
            risk=float(values["risk"]),
            percentile=float(values["percentile"]),
            risk_group=str(values["risk_group"]),
            risk_scale=str(values.get("risk_scale", "the model's own scale")),
            curves_may_cross=bool(values.get("curves_may_cross", False)),
            risk_digits=digits,
            endpoint=loaded.card.endpoint,
            survival=[
                (int(m), None if s is None else float(s)) for m, s in values["survival"].items()
            ],
            imputed=[_label(n, variables) for n in imputed],
            km=_km_curves(loaded),
            training_risk=np.asarray(loaded.card.training_risk, dtype=float),
            card=_card_rows(loaded, variables, digits),
            view=view,
            window=window,
            slice_note=note,
            features=features,
            signed=signed,
            feature_note=feature_note,
            cautions=list(values.get("cautions") or []),
            warnings=[printed_warning(case, w) for w in case.warnings],
        )
    )


def printed_warning(case: Case, warning: str) -> str:
    """A warning of the case's reading as the report prints it, naming the case by its id alone:
    its wording without file names where it has one (:attr:`Case.unnamed_warnings`), else
    without the case's archive or folder (its name may carry the patient's; a path where the
    server keeps an upload) nor the server's data folder (:func:`without_server_paths`, as the
    Case page shows it): a structure set naming another patient was printed as
    '/srv/radsurv/data/cases/upload-1a2b/STS_001.zip:RS.dcm names another patient...'. A DICOM
    UID left in the wording is printed as '[UID]': the hospital's, it finds the study in its
    archive (the CLI reads files as the PACS sent them)."""
    if warning in case.unnamed_warnings:
        return _without_uids(case.unnamed_warnings[warning])
    if case.source:
        for named, shown in (
            (f"{case.source}:", ""),
            (f"{case.source}/", ""),
            (case.source, "the case"),
        ):
            warning = warning.replace(named, shown)
    return _without_uids(without_server_paths(warning))


def _without_uids(text: str) -> str:
    """``text`` with each DICOM UID (:data:`_UID`) as '[UID]'."""
    return _UID.sub(lambda uid: "[UID]" if len(uid[0]) >= _UID_CHARS else uid[0], text)


def _drawable(content: ReportContent) -> ReportContent:
    """``content`` with each character of its texts that the font does not hold written as its
    code point ('U+9648'), said among its warnings: a Chinese case id printed as empty boxes,
    with no word (only a warning on the server's console)."""
    missing: set[str] = set()

    def draw(value: Any) -> Any:
        if isinstance(value, str):
            lacking = undrawn(value)
            missing.update(lacking)
            return drawable(value, lacking)
        if type(value) in (list, tuple):  # the lines, labels and rows
            return type(value)(draw(v) for v in value)
        return value

    drawn_fields = {f.name: draw(getattr(content, f.name)) for f in fields(content)}
    if not missing:
        return content
    shown = " ".join(f"U+{ord(c):04X}" for c in sorted(missing)[:6])
    note = (
        "Characters the report's font does not hold (e.g. of Chinese, Japanese or Korean "
        f"script) are written as their Unicode code points ({shown}"
        f"{' ...' if len(missing) > 6 else ''})."
    )
    drawn_fields["warnings"].append(note)
    drawn_fields["case_id_as_given"] = content.case_id
    return replace(content, **drawn_fields)


# --- drawing -------------------------------------------------------------------------------------

_HIGH, _LOW, _MUTED, _IMPUTED = "#c0392b", "#2471a3", "#7f8c8d", "#b9770e"
_BODY, _SMALL, _TITLE = 8.5, 7, 10
#: Under the risk of a model whose survival curves can cross (``ui.risk.CURVES_CROSS`` in full).
CURVES_CROSS_NOTE = "curves can cross: higher risk need not mean lower survival"
#: The page in points, and the left and right edges (page fractions) of its text.
_PAGE_POINTS = (72 * A4_INCHES[0], 72 * A4_INCHES[1])
_LEFT, _RIGHT = 0.05, 0.95
_SUBTITLE = "survival risk report for the tumor board"
#: Points kept free between two texts on one line, and share of a measured width kept in reserve
#: (the renderer's hinting draws a few percent wider than the font's metrics).
_GAP, _SLACK = 8.0, 1.04
#: Font sizes (points) the header's case title may take before the case id is shortened.
_TITLE_SIZES = (13.0, 12.5, 12.0, 11.5, 11.0, 10.5, 10.0)
#: Heights (points) of the header and the footer; the least height of the risk and Kaplan-Meier
#: band and of the model card's band (their charts' room). The other bands are sized to their
#: lines, the snapshot's takes what is left.
_HEADER, _FOOTER = 0.058 * _PAGE_POINTS[1], 0.06 * _PAGE_POINTS[1]
_TOP_LEAST, _CARD_LEAST = 195.0, 200.0
#: The least height (points) of the snapshot and feature chart's band: the "Check before use"
#: block takes the page's room down to it, and continues on a further page past it.
_MIDDLE_LEAST = 180.0
#: Points from a band's top to its section titles' baseline, and to the top of its charts.
_TITLE_AT, _CHART_AT = 22.0, 30.0
#: Width (page fraction) of the model card's text column, and its texts' width (points).
_CARD_WIDTH = 0.62
_CARD_TEXT = (_CARD_WIDTH - 0.215) * _PAGE_POINTS[0] - _GAP
#: Points from the model card's top to its first row, and between two rows.
_CARD_ROWS, _ROW_GAP = 33.0, 4.0
#: Points from the risk column's top to the top and bottom of its survival table, and the
#: width (points) of its lines.
_TABLE_AT = (123.6, 165.8)
_RISK_TEXT = 0.4 * _PAGE_POINTS[0]
#: Width (points) of the feature chart's tick labels (left of it, in the page's right half) and
#: of the note under it.
_TICK_TEXT = 0.25 * _PAGE_POINTS[0] - 2 * _GAP
_FEATURE_NOTE_AT = 0.52
_FEATURE_NOTE_TEXT = (_RIGHT - _FEATURE_NOTE_AT) * _PAGE_POINTS[0]
#: Lines of the full case id (when the header shortens it), of the imputed inputs' list, of each
#: note and of a model card row.
_ID_LINES = 3
_IMPUTED_LINES, _NOTE_LINES, _ROW_LINES = 3, 3, 5
#: Line pitch of texts drawn a line at a time, and height of a line of a text of several lines
#: (matplotlib's 1.2 line spacing, with room for the renderer's rounding), per point of font
#: size; the blocks' padding (points).
_PITCH, _LINE, _PAD = 1.3, 1.4, 4.0
#: Points under a chart for its tick labels and axis label, and kept between two tick labels.
_FEATURE_AXIS, _LABEL_GAP = 30.0, 1.0
#: Space between two legend rows (per point of font size, matplotlib's ``labelspacing``).
_LEGEND_SPACING = 0.4


def _width(text: str, size: float, bold: bool = False) -> float:
    """The width (points) of ``text`` drawn literally (no mathtext) at font ``size``: the sum of
    its characters' advances, at least its drawn width (kerning only narrows a line, by under
    1 % in words). Each line measured whole was half of a report's drawing time."""
    return _SLACK * sum(_advance(char, size, bold) for char in text)


@functools.lru_cache(maxsize=4096)
def _advance(char: str, size: float, bold: bool) -> float:
    """The advance (points) of one character at font ``size``."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    font = FontProperties(size=size, weight="bold" if bold else "normal")
    return text_to_path.get_text_width_height_descent(char, font, ismath=False)[0]


def _fitting(text: str, size: float, width: float, cut, bold: bool = False) -> str:
    """``cut(text, k)`` for the most characters ``k`` that fit ``width`` points (binary search)."""
    low, high = 0, len(text)  # cut(text, low) fits, cut(text, high) does not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (
            (middle, high) if _width(cut(text, middle), size, bold) <= width else (low, middle)
        )
    return cut(text, low)


def _middle_cut(text: str, kept: int) -> str:
    head = (kept + 1) // 2
    return f"{text[:head]}...{text[len(text) - (kept - head) :]}"


def _shorten(text: str, size: float, width: float, bold: bool = False) -> str:
    """``text`` cut in its middle ('SYN-00...0042', so both its ends show) to fit ``width``
    points at font ``size``; unchanged when it fits."""
    if _width(text, size, bold) <= width:
        return text
    return _fitting(text, size, width, _middle_cut, bold)


def _wrap(text: str, size: float, width: float) -> list[str]:
    """``text`` in lines at most ``width`` points wide at font ``size``: broken between words,
    a word wider than a line (a long case id) between its characters, from where it starts."""
    lines, line = [], ""
    for word in one_line(text).split(" "):
        joined = f"{line} {word}" if line else word
        if _width(joined, size) <= width:
            line = joined
            continue
        if _width(word, size) > width:
            word = joined  # broken anyway: it fills the line it starts on
        elif line:
            lines.append(line)
        while len(word) > 1 and _width(word, size) > width:
            head = _fitting(word, size, width, lambda w, k: w[: max(k, 1)])
            lines.append(head)
            word = word[len(head) :]
        line = word
    return [*lines, line] if line else lines


def _clip(lines: list[str], most: int, size: float, width: float) -> list[str]:
    """At most ``most`` of ``lines``, the last ending in '...' when some are left out."""
    if len(lines) <= most:
        return lines
    cut = _fitting(" ".join(lines[most - 1 :]), size, width, lambda t, k: t[:k] + "...")
    return [*lines[: most - 1], cut]


def _counted(
    head: str, items: list[str], tail: str, most_items: int, fit: tuple[float, float, int]
) -> list[str]:
    """``head``, as many of ``items`` (at most ``most_items``) as fit and ``tail`` on the lines
    ``fit`` allows (font size, width in points, most lines), the items left out counted
    ('Albumin, INR ... and 3 more'): a list of long labels kept whole, never cut mid-word."""
    size, width, most = fit
    for k in range(min(len(items), most_items), -1, -1):
        more = f" ... and {len(items) - k} more" if k < len(items) else ""
        lines = _wrap(head + ", ".join(items[:k]) + more + tail, size, width)
        if len(lines) <= most:
            return lines
    return _clip(lines, most, size, width)  # ``head`` and ``tail`` alone are too long


def _fit(text: str, size: float, width: float, most: int) -> list[str]:
    """``text`` on at most ``most`` lines of ``width`` points at font ``size``, cut in its middle
    when longer, so that both its ends show (an input's name and its value and unit)."""
    lines = _wrap(text, size, width)
    if len(lines) <= most:
        return lines
    low, high = 0, len(text)  # middle cuts keeping ``low`` characters fit, ``high`` do not
    while high - low > 1:
        middle = (low + high) // 2
        fits = len(_wrap(_middle_cut(text, middle), size, width)) <= most
        low, high = (middle, high) if fits else (low, middle)
    return _wrap(_middle_cut(text, low), size, width)


def _text_width() -> float:
    """The width (points) of the page's text, from :data:`_LEFT` to :data:`_RIGHT`."""
    return (_RIGHT - _LEFT) * _PAGE_POINTS[0]


def _case_title(content: ReportContent) -> tuple[str, float, bool]:
    """The header's 'Case <id> · CT · Liver', its font size and whether the id is shortened:
    the largest of :data:`_TITLE_SIZES` at which it fits right of the subtitle, else the id cut
    in its middle at the smallest (and shown whole under the header, :func:`_id_lines`)."""
    room = (_RIGHT - 0.205) * _PAGE_POINTS[0] - _width(_SUBTITLE, 11) - _GAP
    tail = " · ".join(["", content.modality, *([site_label(content.site)] if content.site else [])])
    case_id = one_line(content.case_id)
    for size in _TITLE_SIZES:
        if _width(f"Case {case_id}{tail}", size, bold=True) <= room:
            return f"Case {case_id}{tail}", size, False
    size = _TITLE_SIZES[-1]
    shown = _shorten(case_id, size, room - _width(f"Case {tail}", size, bold=True), bold=True)
    return f"Case {shown}{tail}", size, True


def _id_lines(content: ReportContent) -> list[str]:
    """The case id in full, wrapped, for when the header shows it shortened."""
    lines = _wrap(f"Case id in full: {content.case_id}", _SMALL, _text_width())
    return _clip(lines, _ID_LINES, _SMALL, _text_width())


def _check_items(content: ReportContent) -> list[list[str]]:
    """The "Check before use" items, each whole on its lines: each warning of the case's reading
    first (a structure set naming another patient: all else on the page may be another
    patient's), then the score's cautions (their advice too: 'check that it is in mm'). None is
    cut or counted: a tumor board reads the paper alone."""
    items = [f"- {w}" for w in [*content.warnings, *content.cautions]]
    return [_wrap(item, _SMALL, _text_width()) for item in items]


def _lines_in(points: float) -> int:
    """How many lines of a headed block (:func:`_block_height`) a band of ``points`` holds."""
    return max(0, int((points - 2 * _PAD - _PITCH * _BODY) / (_PITCH * _SMALL)))


def _check_pages(items: list[list[str]], first: int, others: int) -> list[list[str]]:
    """``items`` as the check block's lines of each page: the first page's block holds
    ``first`` lines, a continuation page's ``others``, one of them, when lines are left over,
    saying where they continue. Items go whole where they fit; one longer than a page's room
    goes on to the next page when that holds it, else is split between pages (one longer than
    the first page's room took it all the same: the snapshot band went negative and the report
    crashed, or printed over itself)."""
    pages: list[list[str]] = []
    left = [list(item) for item in items]
    while left:
        room = max(others if pages else first, 2)
        page: list[str] = []
        while left:
            more = 1 if len(left) > 1 else 0  # the line saying where the rest continues
            if len(page) + len(left[0]) + more <= room:
                page += left.pop(0)
                continue
            if not page and (pages or len(left[0]) + more > max(others, 2)):
                page, left[0] = left[0][: room - 1], left[0][room - 1 :]
            break
        if left:
            page.append(f"Continued on page {len(pages) + 2}: {len(left)} more to check.")
        pages.append(page)
    return pages


def _block_height(lines: list[str], heading: bool) -> float:
    """The height (points) of a band of ``lines`` under an optional bold heading."""
    return 2 * _PAD + len(lines) * _PITCH * _SMALL + (_PITCH * _BODY if heading else 0)


def _draw_block(sub, lines: list[str], heading: str | None, colour: str) -> None:
    """A band of ``lines`` (sized by :func:`_block_height`) under ``heading``, over a rule."""
    y = _PAD
    if heading:
        _line(sub, _LEFT, y, heading, _BODY, fontweight="bold", color=colour)
        y += _PITCH * _BODY
    _lines(sub, _LEFT, y, lines, _SMALL, color=colour)
    _rule(sub, 0.0)


def _points(sub) -> float:
    """The height (points) of subfigure ``sub``."""
    return 72 * sub.bbox.height / sub.dpi


def _below_top(sub, points: float) -> float:
    """The height (fraction of ``sub``) ``points`` below its top."""
    return 1 - points / _points(sub)


def _line(sub, x: float, y: float, text: str, size: float, **style) -> None:
    """One line of text whose top lies ``y`` points below the top of ``sub``."""
    sub.text(x, _below_top(sub, y), text, fontsize=size, va="top", **style)


def _lines(sub, x: float, y: float, lines: list[str], size: float, **style) -> float:
    """``lines`` drawn one under the other from ``y`` points below the top of ``sub``, each on
    its own (so that their pitch is the one their band was sized by); the points below them."""
    for line in lines:
        _line(sub, x, y, line, size, **style)
        y += _PITCH * size
    return y


def _section(sub, x: float, title: str) -> None:
    """A section's title, its baseline :data:`_TITLE_AT` points below the top of ``sub``."""
    sub.text(x, _below_top(sub, _TITLE_AT), title, fontsize=_TITLE, fontweight="bold", va="bottom")


def _rule(sub, y: float) -> None:
    """A grey horizontal rule across the page's text width, at height ``y`` of ``sub``."""
    from matplotlib.lines import Line2D

    sub.add_artist(Line2D([0.05, 0.95], [y, y], color="#bbbbbb", linewidth=0.8))


def _draw_header(sub, content: ReportContent, title: tuple[str, float, bool]) -> None:
    """Name, case title (``title``: :func:`_case_title`), model and date, each measured to fit
    beside the others (a long model label is shortened)."""
    sub.text(_LEFT, 0.43, "RadSurv", fontsize=18, fontweight="bold", va="baseline")
    sub.text(0.205, 0.43, _SUBTITLE, fontsize=11, va="baseline", color=_MUTED)
    text, size, _ = title
    sub.text(_RIGHT, 0.43, text, fontsize=size, fontweight="bold", ha="right", va="baseline")
    dated = f"Report date {content.date} · RadSurv {content.radsurv_version}"
    room = _text_width() - _width(dated, _BODY) - _GAP
    model = "Model: " + _shorten(
        one_line(content.model_label), _BODY, room - _width("Model: ", _BODY)
    )
    sub.text(_LEFT, 0.14, model, fontsize=_BODY, va="baseline")
    sub.text(_RIGHT, 0.14, dated, fontsize=_BODY, ha="right", va="baseline")
    _rule(sub, 0.0)


def _risk_notes(content: ReportContent) -> list[tuple[str, str]]:
    """(line, colour) under the survival table: that the score comes with cautions, and which
    inputs were imputed (as many labels as :data:`_IMPUTED_LINES` hold, the others counted)."""
    notes = []
    if content.cautions:
        notes.append(("This score comes with cautions: see Check before use above.", _HIGH))
    if content.imputed:
        fit = (_SMALL, _RISK_TEXT, _IMPUTED_LINES)
        head = "Imputed (missing, training-cohort value): "
        imputed = _counted(head, content.imputed, "", len(content.imputed), fit)
        notes += [(line, _IMPUTED) for line in imputed]
    return notes


def _top_height(content: ReportContent) -> float:
    """The height (points) of the risk and Kaplan-Meier band: the risk column's lines down to
    its notes, the chart's least room."""
    notes = len(_risk_notes(content)) * _PITCH * _SMALL
    return max(_TOP_LEAST, _TABLE_AT[1] + 2 * _PAD + notes + _PAD)


def _survival_heading(endpoint: EndpointWords) -> tuple[str, float]:
    """The survival table's heading and its size, naming the model's endpoint: the first of
    its wordings that fits the risk column ('Predicted overall survival (model)')."""
    texts = [f"Predicted {endpoint.short} of this patient (model)"]
    texts.append(f"Predicted {endpoint.short} (model)")
    fitting = (
        (text, size)
        for size in (_BODY, _SMALL)
        for text in texts
        if _width(text, size, bold=True) <= _RISK_TEXT
    )
    return next(fitting, (texts[-1], _SMALL))


def _draw_risk(sub, content: ReportContent) -> None:
    """The risk, its scale, percentile and group, the survival table and the notes under it, at
    fixed points from the band's top (the band grows with the notes, :func:`_top_height`)."""
    _section(sub, 0.1, "Risk")
    colour = _HIGH if content.risk_group == "high" else _LOW

    def baseline(points: float, text: str, size: float, **style) -> None:
        sub.text(0.1, _below_top(sub, points), text, fontsize=size, va="baseline", **style)

    baseline(45.5, content.risk_text, 15, fontweight="bold")
    scale = _shorten(f"{content.risk_scale}, higher = worse", _SMALL, _RISK_TEXT)
    if content.curves_may_cross:  # the group need not order the survival table below
        baseline(54.7, scale, _SMALL, color=_MUTED)
        baseline(63.5, _shorten(CURVES_CROSS_NOTE, _SMALL, _RISK_TEXT), _SMALL, color=_MUTED)
    else:
        baseline(58.0, scale, _SMALL, color=_MUTED)
    baseline(75.8, content.percentile_text, _BODY)
    baseline(91.0, content.group_text, 12, fontweight="bold", color=colour)
    baseline(115.4, *_survival_heading(content.endpoint), fontweight="bold")
    top, bottom = (_below_top(sub, points) for points in _TABLE_AT)
    ax = sub.add_axes((0.1, bottom, 0.8, top - bottom), label="survival")
    ax.axis("off")
    table = ax.table(
        cellText=[
            [survival_text(s) if s is not None else "beyond follow-up" for _, s in content.survival]
        ],
        colLabels=[f"{m} months" for m, _ in content.survival],
        loc="center",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(_BODY)
    table.scale(1, 1.5)
    y = _TABLE_AT[1] + 2 * _PAD
    for line, colour in _risk_notes(content):
        y = _lines(sub, 0.1, y, [line], _SMALL, color=colour)


def _draw_km(sub, content: ReportContent) -> None:
    """The training cohort's curves by risk group and the patient's predicted survival, the
    legend under the chart's axis label (inside the axes it covered the curves and the
    patient's marks)."""
    _section(sub, 0.04, "Training cohort Kaplan-Meier by risk group")
    legend = (len(content.km) + 1) * (_LINE + _LEGEND_SPACING) * _SMALL  # its rows, points
    bottom = (_FEATURE_AXIS + legend) / _points(sub)  # the tick labels, axis label and legend
    ax = sub.add_axes((0.16, bottom, 0.74, _below_top(sub, _CHART_AT + 4) - bottom), label="km")
    for name, (time, surv, n) in content.km.items():
        mine = name == content.risk_group
        ax.step(
            time,
            surv,
            where="post",
            color=_HIGH if name == "high" else _LOW,
            linewidth=2.4 if mine else 1.0,
            alpha=1.0 if mine else 0.55,
            label=f"{name} risk (n = {n})" + (", this patient" if mine else ""),
        )
    followed = [(m, s) for m, s in content.survival if s is not None]
    ax.plot(
        [m for m, _ in followed],
        [s for _, s in followed],
        "kD",
        markersize=4,
        label="this patient, predicted",
    )
    ax.set_xlabel("months since baseline", fontsize=_SMALL)
    # the model's endpoint; 'recurrence/progression-free survival' in two lines (it ran off)
    ax.set_ylabel(content.endpoint.short.replace("/", "/\n"), fontsize=_SMALL)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f} %")
    ax.tick_params(labelsize=_SMALL)
    ax.grid(alpha=0.3, linewidth=0.5)
    sub.legend(
        *ax.get_legend_handles_labels(),
        fontsize=_SMALL,
        loc="lower left",
        bbox_to_anchor=(0.1, 0.0),
        frameon=False,
        borderaxespad=0.0,
        labelspacing=_LEGEND_SPACING,
    )


def _crop(ax, view: SliceView) -> None:
    """Zoom to the organ contours (else the GTV's; plus a margin) when there are any."""
    points = [c for c in view.contours.get("organ", []) if len(c)] or [
        c for c in view.contours.get("gtv", []) if len(c)
    ]
    if not points:
        return
    stacked = np.concatenate(points)
    (x0, y0), (x1, y1) = stacked.min(axis=0), stacked.max(axis=0)
    ax.set_xlim(x0 - CROP_MARGIN_MM, x1 + CROP_MARGIN_MM)
    ax.set_ylim(y1 + CROP_MARGIN_MM, y0 - CROP_MARGIN_MM)


def _draw_slice(sub, content: ReportContent) -> None:
    _section(sub, 0.1, f"{content.modality} snapshot")
    view = content.view
    ax = sub.add_axes((0.1, 0.0, 0.84, _below_top(sub, _CHART_AT)), label="ct")
    dx = view.col_mm[1] - view.col_mm[0] if view.col_mm.size > 1 else 1.0
    dy = view.row_mm[1] - view.row_mm[0] if view.row_mm.size > 1 else 1.0
    extent = (-dx / 2, view.col_mm[-1] + dx / 2, view.row_mm[-1] + dy / 2, -dy / 2)
    low, high = content.window
    ax.imshow(view.pixels, cmap="gray", vmin=low, vmax=high, extent=extent, interpolation="nearest")
    scale = view.overlay_scale
    if view.overlay is not None and scale is not None:
        low_value, high_value = overlay_range(scale)
        faint = np.abs(view.overlay) < OVERLAY_FLOOR * scale.limit
        image = ax.imshow(
            np.ma.masked_where(faint, view.overlay),
            cmap=SIGNED_COLOURS if scale.signed else POSITIVE_COLOURS.lower(),
            vmin=low_value,
            vmax=high_value,
            alpha=0.5,
            extent=extent,
            interpolation="bilinear",
        )
        bar = sub.colorbar(image, ax=ax, fraction=0.04, pad=0.01)
        bar.set_label(scale.label, fontsize=_SMALL)
        bar.ax.tick_params(labelsize=_SMALL - 1)
    for position, (role, lines) in enumerate(view.contours.items()):
        for k, line in enumerate(lines):
            ax.plot(
                line[:, 0],
                line[:, 1],
                color=role_colour(role, position),
                linewidth=1.1,
                label=role_label(role, content.site) if k == 0 else None,
            )
    _crop(ax, view)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    places = ((0.02, 0.5, "left", "center"), (0.98, 0.5, "right", "center"),
              (0.5, 0.98, "center", "top"), (0.5, 0.02, "center", "bottom"))  # fmt: skip
    for text, (x, y, ha, va) in zip(view.edges or (), places, strict=False):
        ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=_BODY,
                fontweight="bold", color="#ffd54f")  # fmt: skip  # the patient's sides
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=_SMALL, loc="lower right", framealpha=0.7)


def _draw_features(sub, content: ReportContent) -> None:
    """The top features' bars, as many as their band holds a line of label for (the others
    counted under the chart), each label on the lines its bar's height holds."""
    _section(sub, 0.04, "Top features of this patient's risk")
    bottom = _FEATURE_AXIS / _points(sub)
    ax = sub.add_axes((0.5, bottom, 0.4, _below_top(sub, _CHART_AT) - bottom), label="features")
    if not content.features:
        ax.axis("off")
        _line(sub, 0.04, _CHART_AT, content.feature_note, _BODY, color=_MUTED)
        return
    room = _points(sub) - _CHART_AT - _FEATURE_AXIS  # the chart's height, points
    shown = content.features[: max(1, int(room / (_LINE * _SMALL + _LABEL_GAP)))]
    lines = max(1, int((room / len(shown) - _LABEL_GAP) / (_LINE * _SMALL)))  # each label's
    names = [_tick_label(name, lines) for name, _ in shown][::-1]
    values = np.array([value for _, value in shown][::-1])
    left = len(content.features) - len(shown)
    more = f"; {left} more not shown" if left else ""
    if content.signed:
        colours = [_HIGH if v > 0 else _LOW for v in values]
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_xlabel(f"attribution (risk units){more}", fontsize=_SMALL)
    else:
        values = 100 * values
        colours = [_MUTED] * len(values)
        ax.set_xlabel(f"share of the map (%){more}", fontsize=_SMALL)
    ax.barh(range(len(values)), values, color=colours, height=0.65)
    ax.set_ylim(-0.5, len(values) - 0.5)  # one bar's height each: what the labels were fit to
    ax.set_yticks(range(len(values)), names, fontsize=_SMALL)
    ax.tick_params(axis="x", labelsize=_SMALL)
    ax.grid(axis="x", alpha=0.3, linewidth=0.5)


def _tick_label(name: str, lines: int) -> str:
    """A feature's name on at most ``lines`` lines that fit beside the chart, broken between its
    parts ('gtv__lloydmax16__glszm__SmallAreaLowGrayLevelEmphasis' ran off the page's edge), cut
    in its middle when longer (its value and unit, at its end, kept)."""
    return "\n".join(_fit(name.replace("__", " "), _SMALL, _TICK_TEXT, lines))


def _note_lines(content: ReportContent) -> tuple[list[str], list[str]]:
    """The lines of the note under the feature chart (right half) and under the snapshot (the
    page's width: the contours' volumes, then the slice's note), at most :data:`_NOTE_LINES`
    each, the snapshot's after the volumes' own line (first: no long note cuts them)."""
    feature = _wrap(content.feature_note, _SMALL, _FEATURE_NOTE_TEXT) if content.features else []
    volumes = _clip(_wrap(content.volumes, _SMALL, _text_width()), 1, _SMALL, _text_width())
    snapshot = _wrap(content.slice_note, _SMALL, _text_width())
    return (
        _clip(feature, _NOTE_LINES, _SMALL, _FEATURE_NOTE_TEXT),
        volumes + _clip(snapshot, _NOTE_LINES, _SMALL, _text_width()),
    )


def _notes_height(content: ReportContent) -> float:
    """The height (points) of the notes' band."""
    return 2 * _PAD + sum(len(lines) for lines in _note_lines(content)) * _PITCH * _SMALL


def _draw_notes(sub, content: ReportContent) -> None:
    """The notes under the feature chart (right half), then under the snapshot (full width)."""
    feature, snapshot = _note_lines(content)
    y = _lines(sub, _FEATURE_NOTE_AT, _PAD, feature, _SMALL, color=_MUTED)
    _lines(sub, _LEFT, y, snapshot, _SMALL, color=_MUTED)
    _rule(sub, 0.0)


def _card_lines(content: ReportContent) -> list[tuple[str, list[str]]]:
    """The model card's rows: (label, lines of its text), at most :data:`_ROW_LINES` each."""
    return [
        (label, _clip(_wrap(text, _BODY, _CARD_TEXT) or [""], _ROW_LINES, _BODY, _CARD_TEXT))
        for label, text in content.card
    ]


def _card_height(content: ReportContent) -> float:
    """The height (points) of the model card's band: its rows, the histogram's least room."""
    rows = sum(len(lines) * _PITCH * _BODY + _ROW_GAP for _, lines in _card_lines(content))
    return max(_CARD_LEAST, _CARD_ROWS + rows + _PAD)


def _draw_card_rows(sub, content: ReportContent) -> None:
    """The card's rows top-down, texts wrapped to the column: a long row pushes the next down."""
    _section(sub, 0.05 / _CARD_WIDTH, "Model card")
    y = _CARD_ROWS
    for label, lines in _card_lines(content):
        _line(sub, 0.05 / _CARD_WIDTH, y, label, _BODY, fontweight="bold")
        y = _lines(sub, 0.215 / _CARD_WIDTH, y, lines, _BODY) + _ROW_GAP


def _draw_distribution(sub, content: ReportContent) -> None:
    """Histogram of the training risks with this patient's risk."""
    from matplotlib.ticker import MaxNLocator

    ax = sub.add_axes((0.105, 0.232, 0.763, 0.546), label="distribution")
    ax.hist(
        content.training_risk,
        bins=min(30, max(5, content.training_risk.size // 3)),
        color="#d5d8dc",
        edgecolor="white",
    )
    ax.axvline(content.risk, color="black", linewidth=1.6, label="this patient")
    ax.set_xlabel("risk score", fontsize=_SMALL)
    ax.set_ylabel("training patients", fontsize=_SMALL)
    ax.set_title(
        f"Training risks; this patient at percentile {percentile_text(content.percentile)}",
        fontsize=_SMALL,
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.tick_params(labelsize=_SMALL)
    ax.legend(fontsize=_SMALL, frameon=False)


def _draw_footer(sub, content: ReportContent, page: tuple[int, int] = (1, 1)) -> None:
    """The disclaimer, and the case, RadSurv's version, the date and ``page`` (number, count)."""
    _rule(sub, 0.917)
    sub.text(
        0.5, 0.583, content.disclaimer, fontsize=9, fontweight="bold", ha="center", color=_HIGH
    )
    made = f"generated by RadSurv {content.radsurv_version} on {content.date}"
    tail = f" · {made} · page {page[0]} of {page[1]}"
    room = _text_width() - _width(f"Case {tail}", _SMALL)
    shown = _shorten(one_line(content.case_id), _SMALL, room)
    sub.text(0.5, 0.3, f"Case {shown}{tail}", fontsize=_SMALL, ha="center", color=_MUTED)


def report_figures(content: ReportContent) -> list:
    """The report as A4 portrait matplotlib Figures: the report's page, then a continuation page
    for each part of the "Check before use" block that the first page cannot hold (a tumor
    board reads the paper alone: no caution or warning is cut or left out).

    The report's page is of bands split into columns, each element drawn inside its own
    subfigure so none can run into another (axes labelled 'survival', 'km', 'ct', 'features',
    'distribution'). Bands are laid out top-down, each as high as its lines (measured, drawn a
    line at a time) or its chart needs, the snapshot's taking what is left (at least
    :data:`_MIDDLE_LEAST`): under the header, the case id in full when the header shortens it and
    "Check before use" (the score's cautions, what its reading warned about); the risk with its
    notes; the snapshot and feature chart (as many bars as their labels have room for); their
    notes; the model card. Every text prints literally: a '$' of a case id or a label is no
    mathtext."""
    title = _case_title(content)
    ids = [(_id_lines(content), None, _MUTED)] if title[2] else []
    bands = _report_bands(content)
    taken = [_HEADER, _FOOTER, _MIDDLE_LEAST, *(h for h, _, _ in bands if h is not None)]
    taken += [_block_height(lines, False) for lines, _, _ in ids]
    first = _lines_in(_PAGE_POINTS[1] - sum(taken))
    others = _lines_in(_PAGE_POINTS[1] - _HEADER - _FOOTER)
    items = _check_items(content)
    checks = _check_pages(items, first, others) if items else [[]]
    figures = []
    for page, lines in enumerate(checks, start=1):
        heading = "Check before use" + (" (continued)" if page > 1 else "")
        blocks = [*(ids if page == 1 else []), *([(lines, heading, _HIGH)] if lines else [])]
        shown = bands if page == 1 else [(None, None, (_nothing,))]
        figures.append(_figure_of(content, title, blocks, shown, (page, len(checks))))
    return figures


def _report_bands(content: ReportContent) -> list[tuple[float | None, tuple | None, tuple]]:
    """The report page's bands under its blocks, above its footer: (height in points, or None for
    the snapshot's, which takes the room left; column widths or None; a draw per column)."""
    return [
        (_top_height(content), (0.5, 0.5), (_draw_risk, _draw_km)),
        (None, (0.5, 0.5), (_draw_slice, _draw_features)),
        (_notes_height(content), None, (_draw_notes,)),
        (
            _card_height(content),
            (_CARD_WIDTH, 1 - _CARD_WIDTH),
            (_draw_card_rows, _draw_distribution),
        ),
    ]


def _figure_of(content: ReportContent, title, blocks, bands, page: tuple[int, int]):
    """An A4 Figure: the header, ``blocks`` (lines, heading, colour) under it, ``bands`` (as
    :func:`_report_bands` gives them), the footer of ``page`` (number, count)."""
    from matplotlib.figure import Figure

    extra = [_block_height(lines, heading is not None) for lines, heading, _ in blocks]
    bands = [*bands, (_FOOTER, None, (functools.partial(_draw_footer, page=page),))]
    known = sum(height for height, _, _ in bands if height is not None)
    left = _PAGE_POINTS[1] - _HEADER - sum(extra) - known
    heights = [_HEADER, *extra, *(left if height is None else height for height, _, _ in bands)]
    fig = Figure(figsize=A4_INCHES)
    header, *rest = fig.subfigures(len(heights), 1, height_ratios=heights)
    _draw_header(header, content, title)
    for band, (lines, heading, colour) in zip(rest[: len(blocks)], blocks, strict=True):
        _draw_block(band, lines, heading, colour)
    for band, (_, widths, draws) in zip(rest[len(blocks) :], bands, strict=True):
        columns = band.subfigures(1, len(widths), width_ratios=widths) if widths else [band]
        for column, draw in zip(columns, draws, strict=True):
            draw(column, content)
    literal_texts(fig)  # ids, labels and warnings are no mathtext or TeX
    return fig


def _nothing(sub, content: ReportContent) -> None:
    """The free room of a continuation page."""


def render_report(content: ReportContent) -> bytes:
    """The PDF bytes of the report: its A4 pages (:func:`report_figures`). Its text is in Type 3
    fonts (matplotlib's default: selectable and searchable, each Windows-1252 character one byte),
    which embed twice as fast as TrueType (Type 42) subsets (fontTools reads the fonts' layout
    tables for every PDF: ~0.4 s of a case's report). ``pdf.fonttype`` is a process-wide
    rcParam: it is set for every PDF this process writes rather than around this save, which
    another thread's save could undo midway."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    matplotlib.rcParams["pdf.fonttype"] = 3
    buffer = io.BytesIO()
    metadata = {
        "Title": f"RadSurv report, case {content.case_id_as_given or content.case_id}",
        "Subject": content.disclaimer,
        "Creator": f"RadSurv {content.radsurv_version}",
    }
    with PdfPages(buffer, metadata=metadata) as pdf:
        for fig in report_figures(content):
            pdf.savefig(fig)
    return buffer.getvalue()


def build_report(
    case: Case,
    loaded: LoadedModel,
    score: CaseScore | Mapping[str, Any],
    explanation: CaseExplanation | None = None,
    overlay: sitk.Image | np.ndarray | None = None,
    *,
    date: str | None = None,
) -> bytes:
    """The PDF report of ``case`` (see :func:`gather_report` for the arguments)."""
    return render_report(gather_report(case, loaded, score, explanation, overlay, date=date))
