"""Widgets used by several pages: the slice viewer and the clinical-values panel."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import SimpleITK as sitk
import streamlit as st

from survival_core.case import Case
from survival_core.errors import ClinicalValueError, ConfigError
from survival_core.io.clinical import SCHEMA
from survival_core.io.clinical_schema import (
    CohortSchema,
    SchemaVariable,
    cached_hcc_schema,
    read_any_range,
    validate_clinical,
)
from survival_core.io.delimited import normal_number
from survival_core.models import IMAGE_MODELS
from survival_core.models.base import MODEL_FILE
from survival_core.preprocess.window import (
    DEFAULT_PERCENTILE_WINDOW,
    DEFAULT_SUV_WINDOW,
    PERCENTILE_WINDOWS,
    SUV_WINDOWS,
    WINDOW_PRESETS,
    Window,
    percentile_window,
    site_window,
)
from survival_core.text import markdown_literal
from survival_core.viewer.figures import Layer, display_layers, intensity_unit, slice_figure
from survival_core.viewer.slices import (
    PLANES,
    Overlay,
    best_slice,
    crosshair_mm,
    extract_slice,
    make_overlay,
    n_slices,
    slice_position,
)
from survival_core.workflows.demo import image_model_dir
from ui.models import ModelChoice, chosen_model, chosen_schema, explanation, listed_choices
from ui.state import case_key, clinical_refusal, given_values, save_edits, show_error

if TYPE_CHECKING:
    from survival_core.explain.case import CaseExplanation

_WINDOW_LABELS = {name: f"{name} ({w.level:g}/{w.width:g})" for name, w in WINDOW_PRESETS.items()}
_METHODS = {"IG": "ig", "Grad-CAM": "gradcam"}
NO_IMAGE_MODEL = (
    "Overlays need an image model (cnn3d, fusion or resnet_fusion); train one on the Training page."
)


WHOLE_VOLUME = "whole volume"
#: Percentiles of the volume the intensity slider spans (widened to the chosen window): a few very
#: bright voxels must not stretch it to millions in steps of 1000.
SLIDER_PERCENTILES = (0.1, 99.9)


def _case_memo(case: Case) -> dict:
    """Values this session computed for ``case`` (display layers, intensity percentiles), dropped
    when another case is shown: the case object itself is the key, so nothing leaks between cases."""
    stored = st.session_state.get("case-memo")
    if stored is None or stored[0] is not case:
        stored = (case, {})
        st.session_state["case-memo"] = stored
    return stored[1]


def case_layers(case: Case) -> dict[str, Layer]:
    """The structures the viewer draws for ``case`` (:func:`display_layers`), computed once."""
    memo = _case_memo(case)
    if "layers" not in memo:
        memo["layers"] = display_layers(case)
    return memo["layers"]


def case_unit(case: Case) -> str:
    """The unit of ``case``'s voxels (:func:`intensity_unit`: 'HU', 'SUVbw' or ''), computed once."""
    memo = _case_memo(case)
    if "unit" not in memo:
        memo["unit"] = intensity_unit(case)
    return memo["unit"]


def _range_slider(
    label: str, bounds: tuple[float, float], key: str, value: tuple[float, float] | None = None
) -> tuple[float, float]:
    """A (low, high) slider over ``bounds`` in 500-5000 steps of a power of ten, its numbers shown
    to the step's decimals: Streamlit's default '%0.2f' shows a window of 0-0.0018 (an ADC map in
    mm^2/s) as '0.00 - 0.00'."""
    bottom, top = bounds
    step = float(10 ** np.floor(np.log10((top - bottom) / 500)))
    decimals = max(0, -int(np.floor(np.log10(step))))
    return st.slider(label, bottom, top, value=value, step=step, format=f"%.{decimals}f", key=key)


def _apply_preset(key: str) -> None:
    preset = WINDOW_PRESETS[st.session_state[f"{key}-preset"]]
    st.session_state[f"{key}-level"] = int(preset.level)
    st.session_state[f"{key}-width"] = int(preset.width)


def _hu_window_controls(key: str, site: str | None) -> Window:
    """A CT window preset picker plus level/width sliders (HU); a preset sets both sliders. A case
    of another site than the last one opens in its site's preset."""
    if f"{key}-level" not in st.session_state or st.session_state.get(f"{key}-site") != site:
        st.session_state[f"{key}-site"] = site
        st.session_state[f"{key}-preset"] = site_window(site)
        _apply_preset(key)
    st.selectbox(
        "Window preset",
        list(WINDOW_PRESETS),
        format_func=_WINDOW_LABELS.get,
        key=f"{key}-preset",
        on_change=_apply_preset,
        args=(key,),
        help="Level/width in HU",
    )
    level = st.slider("Level (HU)", -1200, 1500, key=f"{key}-level")
    width = st.slider("Width (HU)", 1, 4000, key=f"{key}-width")
    return Window(level, width)


def _apply_suv_preset(key: str, range_key: str) -> None:
    window = SUV_WINDOWS[st.session_state[f"{key}-suv-preset"]]
    st.session_state[range_key] = (window.low, window.high)


def _suv_window_controls(case: Case, key: str) -> Window:
    """For a PET read as SUVbw: SUV presets from 0 and a range slider in SUVbw (up to the volume's
    highest SUV); a preset sets the slider, and each case opens in :data:`DEFAULT_SUV_WINDOW`."""
    st.caption(
        "PET voxels are SUVbw (body-weight standardised uptake values): the window starts at "
        "SUV 0, so background uptake stays grey; pick a preset or set the range in SUVbw."
    )
    memo = _case_memo(case)
    if "suv-top" not in memo:
        highest = float(np.nanmax(sitk.GetArrayViewFromImage(case.image)))
        memo["suv-top"] = float(max(max(w.high for w in SUV_WINDOWS.values()), np.ceil(highest)))
    range_key = f"{key}-suv-range-{case.case_id}"
    if range_key not in st.session_state:
        st.session_state[f"{key}-suv-preset"] = DEFAULT_SUV_WINDOW
        _apply_suv_preset(key, range_key)
    st.selectbox(
        "SUV window",
        list(SUV_WINDOWS),
        key=f"{key}-suv-preset",
        on_change=_apply_suv_preset,
        args=(key, range_key),
        help="Body-weight SUV, from 0",
    )
    low, high = _range_slider("SUV range (SUVbw)", (0.0, memo["suv-top"]), range_key)
    return Window((low + high) / 2.0, high - low) if high > low else SUV_WINDOWS[DEFAULT_SUV_WINDOW]


def _percentile_window_controls(case: Case, key: str) -> Window:
    """For images without an absolute scale (MR, a PET not in SUV): a percentile window over the
    volume or one structure, then fine-tuned on an intensity range slider (in the image's own
    units). Never an HU preset."""
    st.caption(
        f"{case.modality} intensities have no absolute scale, so CT (HU) windows do not apply: "
        "the window spans percentiles of the intensities."
    )
    layers = case_layers(case)
    regions = [WHOLE_VOLUME, *layers]
    if st.session_state.get(f"{key}-percentile-region", WHOLE_VOLUME) not in regions:
        st.session_state.pop(f"{key}-percentile-region")  # a structure of the previous case
    percentiles = st.selectbox(
        "Percentile window",
        list(PERCENTILE_WINDOWS),
        index=list(PERCENTILE_WINDOWS).index(DEFAULT_PERCENTILE_WINDOW),
        key=f"{key}-percentile",
        help="The intensity slider spans the volume's 0.1-99.9 % percentiles and this window; "
        "0-100 % reaches its lowest and highest voxels.",
    )
    region = st.selectbox(
        "Percentiles over",
        regions,
        format_func=lambda name: name if name == WHOLE_VOLUME else layers[name].label,
        key=f"{key}-percentile-region",
    )
    memo = _case_memo(case)
    if "range" not in memo:
        memo["range"] = percentile_window(case.image, SLIDER_PERCENTILES)
    if (percentiles, region) not in memo:
        mask = None if region == WHOLE_VOLUME else layers[region].mask
        memo[(percentiles, region)] = percentile_window(case.image, percentiles, mask)
    window = memo[(percentiles, region)]
    low, high = _range_slider(
        "Intensity range",
        (min(memo["range"].low, window.low), max(memo["range"].high, window.high)),
        # a new percentile choice or case starts from its own window
        key=f"{key}-range-{case.case_id}-{percentiles}-{region}",
        value=(window.low, window.high),
    )
    return Window((low + high) / 2.0, high - low) if high > low else window


def window_controls(key: str, case: Case | None = None) -> Window:
    """The display window of ``case`` by its unit (:func:`case_unit`): HU presets and level/width
    sliders for CT (opening in the case's site preset), SUV windows from 0 for a PET in SUVbw,
    percentile windows for any other image (MR...)."""
    unit = "HU" if case is None else case_unit(case)
    if unit == "SUVbw":
        return _suv_window_controls(case, key)
    if unit != "HU":
        return _percentile_window_controls(case, key)
    return _hu_window_controls(key, None if case is None else case.site)


def structure_toggles(case: Case, key: str) -> list[str]:
    """One toggle per structure of ``case`` (:func:`case_layers`, all shown at first); returns the
    keys of those shown. Toggles are kept by structure name, so a like-named structure of the next
    case keeps its choice."""
    layers = case_layers(case)
    if not layers:
        st.caption("This case has no contour.")
        return []
    box = st.container(height=260) if len(layers) > 8 else st.container()
    with box:
        return [
            name
            for name, layer in layers.items()
            if st.toggle(layer.label, value=True, key=f"{key}-show-{name}")
        ]


def _slice_slider(case: Case, key: str, plane: str, label: str = "Slice") -> int:
    """A 1-based slice slider starting at the GTV's largest cross-section; returns the index."""
    count = n_slices(case.image, plane)
    if count == 1:  # a one-slice scan: a slider from 1 to 1 is refused by Streamlit
        st.caption(f"{label}: 1 of 1")
        return 0
    number = st.slider(
        label, 1, count, value=best_slice(case, plane) + 1, key=f"{key}-{case.case_id}-{plane}"
    )
    return number - 1


def _show_slice(
    case: Case,
    key: str,
    plane: str,
    index: int,
    window: Window,
    height: int,
    overlay: Overlay | None = None,
    structures: Sequence[str] | None = None,
    **figure_options,
) -> None:
    """One plane's slice drawn with :func:`slice_figure` (``figure_options`` go to it), with the
    contours of ``structures`` (keys of :func:`case_layers`; all by default) in their colours."""
    volume = sitk.GetArrayViewFromImage(case.image)
    layers = case_layers(case)
    masks = {name: layer.mask for name, layer in layers.items()}
    view = extract_slice(
        case, plane, index, overlay=overlay, volume=volume, roles=structures, masks=masks
    )
    title = f"{plane} {index + 1}/{n_slices(case.image, plane)}, "
    title += slice_position(case.image, plane, index)
    figure = slice_figure(
        view,
        window.low,
        window.high,
        height=height,
        title=title,
        colours={name: layer.colour for name, layer in layers.items()},
        labels={name: layer.label for name, layer in layers.items()},
        modality=case.modality or "CT",
        unit=case_unit(case),
        **figure_options,
    )
    st.plotly_chart(
        figure,
        width="stretch",
        theme=None,
        key=f"{key}-figure-{plane}",
    )


def slice_viewer(case: Case, key: str, overlay: Overlay | None = None, height: int = 600) -> None:
    """Slices of ``case`` with every structure's contour, its window (HU presets for CT, SUV for
    a PET in SUVbw, percentiles otherwise), plane and slice choice."""
    view_col, control_col = st.columns([4, 1])
    with control_col:
        plane = st.radio("Plane", PLANES, key=f"{key}-plane")
        window = window_controls(key, case)
        index = _slice_slider(case, key, plane)
    with view_col:
        _show_slice(case, key, plane, index, window, height, overlay=overlay)


def planes_viewer(
    case: Case,
    key: str,
    window: Window,
    *,
    planes: Sequence[str] = PLANES,
    overlay: Overlay | None = None,
    opacity: float = 0.5,
    structures: Sequence[str] | None = None,
    height: int = 480,
) -> None:
    """``planes`` side by side, each with its own slice slider (starting at the GTV's largest
    cross-section) and the contours of ``structures`` (keys of :func:`case_layers`; all by
    default); one colour bar (on the last plane) since the planes share the overlay scale.
    With all three planes, each shows where the other two cut it."""
    columns = st.columns(len(planes))
    indices = {}
    for plane, column in zip(planes, columns, strict=True):
        with column:
            indices[plane] = _slice_slider(case, key, plane, f"{plane.capitalize()} slice")
    for n, (plane, column) in enumerate(zip(planes, columns, strict=True)):
        with column:
            _show_slice(
                case,
                key,
                plane,
                indices[plane],
                window,
                height,
                overlay=overlay,
                structures=structures,
                overlay_opacity=opacity,
                colour_bar=n == len(planes) - 1,
                crosshair=crosshair_mm(case, plane, indices) if len(indices) == 3 else None,
            )


@st.cache_data(max_entries=256, show_spinner=False)
def _model_name(folder: str, modified: float) -> str | None:
    """The registry name in a model folder's model.json (None if unreadable); ``modified``
    invalidates the cache when the folder is retrained."""
    try:
        return json.loads((Path(folder) / MODEL_FILE).read_text()).get("model")
    except (OSError, ValueError, AttributeError):
        return None


def image_model_choices() -> list[ModelChoice]:
    """Registered models that read the CT (by their model.json), then the demo image model."""
    choices = [
        choice
        for choice in listed_choices()
        if _model_name(str(choice.folder), choice.modified) in IMAGE_MODELS
    ]
    demo = image_model_dir()
    if (demo / MODEL_FILE).exists() and all(c.folder != demo for c in choices):
        choices.append(ModelChoice("demo cnn3d (on the demo cohort)", demo))
    return choices


def overlay_model_picker(key: str) -> ModelChoice | None:
    """The session's chosen model if it reads images, else a picker of the image models (None,
    with a note saying how to get one, when there is none)."""
    chosen = chosen_model()
    if chosen is not None and _model_name(str(chosen.folder), chosen.modified) in IMAGE_MODELS:
        st.caption(f"Overlay model: {chosen.label}")
        return chosen
    choices = image_model_choices()
    if not choices:
        st.info(NO_IMAGE_MODEL, icon=":material/info:")
        return None
    labels = [c.label for c in choices]
    label = st.selectbox(
        "Overlay model",
        labels,
        key=f"{key}-overlay-model",
        help="The session's model reads no image, so overlays come from an image model.",
    )
    return choices[labels.index(label)]


def case_overlay(
    case: Case, choice: ModelChoice, method: str, key: str
) -> tuple[Overlay, CaseExplanation]:
    """The case's IG or Grad-CAM map (``method`` "IG"/"Grad-CAM") under ``choice`` as an overlay.

    The explanation is cached per (case, values, model, method) by ui.models; its overlay (colour
    limit over the whole volume) is kept in this session's state next to it.
    """
    with st.spinner(f"Computing the {method} map of {markdown_literal(case.case_id)}..."):
        result = explanation(case, choice, _METHODS[method])
    stored = st.session_state.get(f"{key}-overlay")
    if stored is None or stored[0] is not result:
        if result.map is None:
            raise ConfigError(f"Model {choice.label} gave no voxel map for {case.case_id}.")
        stored = (result, make_overlay(case, result.map, method))
        st.session_state[f"{key}-overlay"] = stored
    return stored[1], result


#: Form input kinds of the own-cohort schema's variable kinds.
_FORM_KINDS = {"number": "float", "integer": "int", "yes/no": "bool", "category": "category"}


@dataclass(frozen=True)
class _FormVariable:
    """One clinical variable as the form shows it, from the HCC schema or a model's own schema;
    ``variable``, the schema's, reads its typed number."""

    name: str
    kind: str
    label: str
    variable: SchemaVariable
    unit: str = ""
    categories: tuple[str, ...] = ()
    help: str = ""


def _form_variables(schema: CohortSchema | None, derived: bool = False) -> list[_FormVariable]:
    """The chosen model's own schema's variables, else the HCC schema's (whose derived values,
    such as ALBI, are shown with ``derived`` but computed, never asked)."""
    if schema is None:
        hcc = cached_hcc_schema()
        return [
            _FormVariable(v.name, v.kind, v.label, hcc[v.name], v.unit, v.categories, v.help)
            for v in SCHEMA
            if derived or not v.derived
        ]
    return [
        _FormVariable(
            v.name,
            _FORM_KINDS[v.kind],
            v.label or v.name,
            v,
            v.unit,
            v.categories,
            v.help
            or (f"plausible: {v.range_text()}" if v.low is not None or v.high is not None else ""),
        )
        for v in schema.variables
    ]


def clinical_table(values: dict, variables: Sequence[_FormVariable]) -> pd.DataFrame:
    """Clinical values as a readable table with units; missing values say so."""
    rows = []
    for var in variables:
        value = values.get(var.name)
        if value is None:
            shown = "missing"
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, float):
            shown = f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
        else:
            shown = str(value)
        rows.append({"variable": var.label, "value": shown, "unit": var.unit})
    return pd.DataFrame(rows)


def number_field(
    variable: SchemaVariable,
    label: str,
    current: float | str | None,
    key: str,
    refused: list[str],
    **kwargs,
) -> int | float | bool | None:
    """A text field for one number of ``variable``, prefilled with ``current`` (None: empty), read
    as one patient's typed value is (:func:`read_any_range`: '42,8' is 42.8, blank or NA no value);
    ``kwargs`` go to the field. A number input's browser dropped the comma ('42,8' was scored as
    428). The value as read is said under the field where the text writes it otherwise; a text
    that is no one number ('1,200' where 1.2 and 1200 are both plausible) is refused there, never
    guessed: its ``label`` is added to ``refused``, and None returned."""
    # a text (a value another model's schema read) is shown as given, for the reading to refuse
    shown = current if current is None or isinstance(current, str) else normal_number(current)
    text = st.text_input(label, value=shown, key=key, **kwargs)
    try:
        # as `score --values` reads one patient's value (:meth:`SchemaVariable.read`: its
        # plausible range tells '1,170' of an INR as 1.17); a number outside that range is read
        # still, for the checks that refuse it once, as before (the form's on saving, the
        # score's): a case's value the model refuses was named twice, by the page and under its
        # field. Raises for no one number.
        value = read_any_range(variable, text)
    except ClinicalValueError as error:
        st.error(str(error), icon=":material/error:")
        refused.append(label)
        return None
    if value is not None and text.strip() != normal_number(value):
        st.caption(f"Read as {normal_number(value)} {variable.unit}".rstrip())
    return value


def correct_fields(refused: list[str]) -> str:
    """What to do about the fields :func:`number_field` refused, by label."""
    where = "its field" if len(refused) == 1 else "their fields"
    return f"correct {', '.join(refused)}, as said under {where}"


def _input(var: _FormVariable, current, case: str, refused: list[str]):
    """One form input for a clinical variable of the case keyed ``case`` (:func:`case_key`: a
    widget's value outlives the page run under its key, so each case has its own); ``None``
    means left empty, or a number it cannot read (named in ``refused``: :func:`number_field`)."""
    label = f"{var.label} [{var.unit}]" if var.unit else var.label
    key = f"clinical-{case}-{var.name}"
    if var.kind in ("float", "int"):
        return number_field(var.variable, label, current, key, refused, help=var.help or None)
    options = ["yes", "no"] if var.kind == "bool" else list(var.categories)
    shown = (
        None
        if current is None
        else ("yes" if current is True else "no" if current is False else str(current))
    )
    choice = st.selectbox(
        label, options, index=options.index(shown) if shown in options else None, key=key
    )
    if var.kind == "bool" and choice is not None:
        return choice == "yes"
    return choice


#: Session key marking the case whose clinical values were just saved (the rerun says so).
_SAVED = "clinical_values_saved"


def clinical_panel(case: Case, choice: ModelChoice | None = None) -> None:
    """The case's clinical values with units, and a form to complete or correct them: the
    variables, checks and missing-value report of the chosen model's own schema when it carries
    one (a model of an own cohort), else the HCC schema's."""
    schema = chosen_schema(choice)
    variables = _form_variables(schema)
    values = given_values(case)  # a value the model refuses is corrected here
    missing = [  # a value the model refused is named as such (clinical_refusal), not missing
        var.label
        for var in variables
        if values.get(var.name) is None and var.name not in case.clinical_refused
    ]
    if schema is not None:
        st.caption(f"The variables of {choice.label}'s cohort.")
    shown = _form_variables(schema, derived=True)
    st.table(  # HTML a screen reader reads, not a canvas grid: a few rows, nothing to sort
        clinical_table(values, shown),
        hide_index=True,
        alt="The case's clinical values: each variable, its value and unit",
    )
    if missing:
        st.warning("Missing: " + ", ".join(missing), icon=":material/warning:")
    key = case_key(case)
    refused = clinical_refusal(case) is not None  # the form to correct it, open
    with st.expander("Edit clinical values", expanded=refused), st.form(f"clinical-form-{key}"):
        columns = st.columns(3)
        raw, unread = {}, []
        for n, var in enumerate(variables):
            with columns[n % 3]:
                raw[var.name] = _input(var, values.get(var.name), key, unread)
        submitted = st.form_submit_button("Validate and save")
        if submitted and unread:  # said under each field: nothing saved with a value guessed
            st.error(f"Not saved: {correct_fields(unread)}.", icon=":material/error:")
        elif submitted:
            try:
                checked = (
                    validate_clinical(raw) if schema is None else schema.validate(raw)
                ).values
            except Exception as error:  # noqa: BLE001 - shown to the user
                show_error(error)
            else:
                save_edits(case, checked)
                st.session_state[_SAVED] = key  # said on the rerun that shows the new values
                st.rerun()
    if st.session_state.pop(_SAVED, None) == key:
        st.success("Clinical values saved for this session.", icon=":material/check:")
