"""Training page pieces: the run form, the live jobs panel, the runs table, one run's results and
a side-by-side comparison. Runs and jobs are the app's (on disk, in the run store), not a
session's; only what this session picked or typed lives in ``st.session_state``."""

from __future__ import annotations

import inspect
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio
import streamlit as st
import yaml

from survival_core.cohort.imported import imported_cohorts
from survival_core.errors import ConfigError, RadSurvError
from survival_core.features.presets import PRESETS
from survival_core.io.clinical_schema import NUMBER, SchemaVariable
from survival_core.io.load_warnings import LOAD_WARNINGS_FILE, warned_cases
from survival_core.io.modality_view import COMPANION_NAMES
from survival_core.io.outcome_source import OutcomeSource
from survival_core.io.run_sources import changed_sources
from survival_core.models.reduction import REDUCTIONS
from survival_core.runs.config import (
    CUTS,
    DEFAULT_HORIZONS,
    DEFAULT_TRIALS,
    DEVICES,
    ENGINES,
    MAX_SEED,
    PROTOCOL_KEYS,
    RUN_LEVEL_PARAMS,
    DSFRFeatures,
    RunConfig,
    loads_config,
    read_yaml,
)
from survival_core.runs.jobs import Job
from survival_core.runs.left_out import LEFT_OUT_FILE, left_out_groups
from survival_core.runs.search import read_search, search_text, trial_table
from survival_core.runs.store import RunRecord, RunStore, protocol_label
from survival_core.text import markdown_literal, number_text
from survival_core.workflows.crossval import ibs_label
from ui.auth import export_button
from ui.auth import record as record_action
from ui.jobs import jobs_panel, when
from ui.models import follow_active
from ui.state import show_error, without_server_paths
from ui.widgets import correct_fields, number_field

CONFIGS_DIR = Path(__file__).resolve().parents[1] / "assets" / "configs"
#: Most left-out cases, and notes, a run's view lists (the files hold them all).
SHOWN_NOTES = 20
BLANK = "(blank config)"
BLANK_CONFIG: dict[str, Any] = {
    "name": "my-run",
    "cohort": "demo",
    "features": {"clinical": True},
    "model": {"name": "coxph", "params": {"penalizer": 0.1}},
    "protocol": {"name": "nested_cv", "repeats": 1, "folds": 5},
}
#: The run figures ``runner.write_plots`` saves, in the order the page shows them.
FIGURES = {
    "km_risk_groups": "Kaplan-Meier risk groups",
    "td_auc": "Time-dependent AUC",
    "calibration": "Calibration",
    "decision_curve": "Decision curve",
}


# -- the run form ----------------------------------------------------------------------------
def study_configs() -> dict[str, Path]:
    """The study configs shipped in ``assets/configs`` by name."""
    return {path.stem: path for path in sorted(CONFIGS_DIR.glob("*.yaml"))}


def template(choice: str) -> tuple[dict[str, Any], Path | None]:
    """The raw mapping of a study config (or the blank one) and the folder its paths are
    relative to (None: the working directory). Raises ConfigError when the config is not one
    ``train`` runs."""
    if choice == BLANK:
        return json.loads(json.dumps(BLANK_CONFIG)), None
    path = study_configs()[choice]
    return _checked_template(path.read_text(encoding="utf-8"), str(path)), path.parent


@st.cache_data(max_entries=16, show_spinner=False)
def _checked_template(text: str, path: str) -> dict[str, Any]:
    """The mapping of study config ``path`` (its ``text``), checked first as ``train`` checks
    it: a value the config refuses (``bootstrap: 0``) is named by its key, where a widget that
    cannot hold it raised (StreamlitValueBelowMinError). Kept per text: a check builds the model,
    0.3 s for sun2023's network, at every rerun of the form."""
    loads_config(text, source=Path(path).name, base_dir=Path(path).parent)
    return read_yaml(text)


def model_defaults(name: str) -> dict[str, Any]:
    """The constructor defaults of model ``name`` (the run's seed and device excluded)."""
    from survival_core.models import MODELS

    signature = inspect.signature(MODELS[name].__init__)
    defaults = {
        key: p.default
        for key, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty and key not in RUN_LEVEL_PARAMS
    }
    return json.loads(json.dumps(defaults, default=str))  # tuples as lists: YAML-safe


def _params_text(template: Mapping[str, Any], model: str) -> str:
    """The parameters of ``model`` as YAML: the template's (its ``model`` section) when it is
    that model, else the constructor defaults."""
    params = template.get("params") if template.get("name") == model else None
    return yaml.safe_dump(params if params is not None else model_defaults(model), sort_keys=False)


def _parse_params(text: str) -> dict[str, Any]:
    """The form's model parameters, read as a run config is (:func:`read_yaml`: ``010`` is ten,
    a key given twice refused); PyYAML's own reading took ``010`` for octal 8 and kept the last
    of two ``l1_ratio`` lines, where the same YAML in a config file was read otherwise."""
    try:
        params = read_yaml(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None)
        raise ConfigError(
            f"model.params: not valid YAML{where}" + (f": {problem}." if problem else ".")
        ) from err
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ConfigError("model.params: expected key: value lines (a mapping).")
    return params


def _kept(widget: Callable[..., Any], label: str, default: Any, key: str, **options: Any) -> Any:
    """``widget`` (``st.text_area``, a column's ``number_input``...) showing what this session
    last gave it (its state under ``key``), else ``default``: Streamlit forgets the state of a
    widget it does not draw (another model's parameters, another protocol's folds), so a value
    typed there was back to the template's after a look at another choice. Kept under ``key`` +
    ``-kept``."""
    kept = f"{key}-kept"
    value = widget(label, value=st.session_state.get(kept, default), key=key, **options)
    st.session_state[kept] = st.session_state[key]  # as shown: a number field's text, refused too
    return value


def cohort_input(current: str, key: str) -> str:
    """The run's cohort: the demo, an imported cohort (by folder) or any folder typed."""
    other = "another folder..."
    choices = list(dict.fromkeys(["demo", *(str(c) for c in imported_cohorts()), current]))
    chosen = st.selectbox(
        "Cohort",
        [*choices, other],
        index=choices.index(current),
        format_func=lambda c: c if c in ("demo", other) else f"{Path(c).name} ({c})",
        key=f"{key}-cohort-choice",
        help="`demo` (the bundled synthetic cohort), a cohort imported on the Cohort page, or "
        "a folder with manifest.csv and clinical.csv",
    )
    if chosen != other:
        return chosen
    return _kept(st.text_input, "Cohort folder", "", f"{key}-cohort")


def config_form(raw: dict[str, Any], key: str) -> dict[str, Any]:
    """Widgets for every setting of a run, pre-filled from ``raw``; returns the config mapping
    they show and nothing else of ``raw``: a study template's deep or DSFR features, required
    columns and description, which had no widget, were run unseen (a Cox run on clinical
    variables alone held the template's 64 deep features). Raises ConfigError when the model
    parameters are not YAML, the horizons not days, or a number field is refused (said under
    it: :func:`_number_setting`)."""
    refused: list[str] = []
    left, right = st.columns(2)
    with left:
        name = st.text_input("Run name", raw.get("name", ""), key=f"{key}-name")
        description = st.text_input(
            "Description", raw.get("description") or "", key=f"{key}-description"
        )
        cohort = cohort_input(str(raw.get("cohort", "demo")), key)
        features = _feature_inputs(raw.get("features") or {}, key)
        reduction = st.selectbox(
            "Feature reduction",
            list(REDUCTIONS),
            index=list(REDUCTIONS).index(raw.get("reduction", "none")),
            key=f"{key}-reduction",
        )
    with right:
        model = _model_inputs(raw.get("model") or {}, key)
        protocols = list(PROTOCOL_KEYS)
        protocol = dict(raw.get("protocol") or {})
        protocol["name"] = st.selectbox(
            "Validation protocol",
            protocols,
            index=protocols.index(protocol.get("name", "nested_cv")),
            key=f"{key}-protocol",
        )
        protocol = _protocol_inputs(protocol, key, refused)
        evaluation = _evaluation_inputs(raw, key, refused)
        engine = _engine_inputs(raw.get("engine") or {}, key)
    if refused:  # no run of a number guessed, nor of one the config would refuse
        raise ConfigError(f"The run cannot start: {correct_fields(refused)}.")
    return {
        "name": name,
        **({"description": description} if description.strip() else {}),
        "cohort": cohort,
        "features": features,
        "model": model,
        "reduction": reduction,
        "protocol": protocol,
        **evaluation,
        "engine": engine,
    }


def _feature_inputs(features: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The feature sources, pre-filled from a template's ``features``; its deep features, DSFR
    features and required columns each shown (a template's own: they need its network or its
    columns) and left out when unticked or removed."""
    out: dict[str, Any] = {
        "clinical": st.checkbox(
            "Clinical variables", features.get("clinical", True), key=f"{key}-clinical"
        ),
        "radiomics": st.multiselect(
            "Radiomics presets", list(PRESETS), features.get("radiomics", []), key=f"{key}-rad"
        ),
    }
    companions = st.multiselect(
        "Radiomics also on the images beside each case's own (PET/CT: PT; MR: FLAIR...)",
        list(COMPANION_NAMES),
        features.get("companions", []),
        key=f"{key}-companions",
        help="imported cohorts keep each patient's other images (a PET/CT study's PET beside "
        "the CT, BraTS's other sequences beside the T1c); their features are named after "
        "them (PT:..., FLAIR:...)",
    )
    if companions:
        out["companions"] = companions
    select = st.text_input(
        "Column filter (regular expression, empty: all columns)",
        features.get("select") or "",
        key=f"{key}-select",
    )
    if select.strip():
        out["select"] = select
    deep, dsfr = features.get("deep"), features.get("dsfr")
    if deep is not None and st.checkbox(
        _deep_label(deep),
        True,
        key=f"{key}-deep",
        help="activations of the study's image network, one column each (features.deep)",
    ):
        out["deep"] = deep
    if dsfr is not None and st.checkbox(
        _dsfr_label(dsfr),
        True,
        key=f"{key}-dsfr",
        help="a tumour U-Net trained on the development cases, its feature maps averaged "
        "over the predicted tumour (features.dsfr)",
    ):
        out["dsfr"] = dsfr
    if required := list(features.get("require") or []):
        kept = st.multiselect(
            "Columns the cohort must have",
            required,
            required,
            key=f"{key}-require",
            help="a cohort whose clinical table lacks one is refused before the run starts "
            "(features.require); each must match the column filter",
        )
        if kept:
            out["require"] = kept
    return out


def _deep_label(deep: Mapping[str, Any]) -> str:
    layer = f", layer {deep['layer']}" if deep.get("layer") else ""
    return f"Deep features (network {deep.get('network')}{layer})"


def _dsfr_label(dsfr: Mapping[str, Any]) -> str:
    defaults = DSFRFeatures()
    epochs, size = dsfr.get("epochs", defaults.epochs), dsfr.get("slice_size", defaults.slice_size)
    return f"DSFR features (U-Net, {epochs} epochs on {size} x {size} slices)"


def _model_inputs(model: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The model and its parameters (YAML); the template's model starts from its parameters and
    its hyper-parameter search (a ticked checkbox), another from its constructor defaults and no
    search (the template's searches the template model's parameters)."""
    from survival_core.models import MODELS

    names = list(MODELS)
    chosen = st.selectbox(
        "Model",
        names,
        index=names.index(model["name"]) if model.get("name") in names else 0,
        key=f"{key}-model",
    )
    text = _kept(
        st.text_area,
        "Model parameters (YAML)",
        _params_text(model, chosen),
        f"{key}-params-{chosen}",
        height=160,
    )
    search = model.get("search") if chosen == model.get("name") else None
    if search is not None and _kept(
        st.checkbox,
        _search_label(search),
        True,
        f"{key}-search",
        help="each trial draws these parameters from the template's ranges and is scored by "
        "inner cross-validation; the parameters above stay fixed (model.search)",
    ):
        return {"name": chosen, "params": _parse_params(text), "search": search}
    return {"name": chosen, "params": _parse_params(text)}


def _search_label(search: Any) -> str:
    """'Hyper-parameter search (from the template): 5 trials over penalizer, l1_ratio'."""
    label = "Hyper-parameter search (from the template)"
    if not isinstance(search, Mapping) or not isinstance(search.get("space"), Mapping):
        return label  # the config's checks name what is wrong with it
    trials = search.get("trials", DEFAULT_TRIALS)
    return f"{label}: {trials} trials over {', '.join(map(str, search['space']))}"


def _evaluation_inputs(raw: Mapping[str, Any], key: str, refused: list[str]) -> dict[str, Any]:
    """Risk groups, td-AUC horizons, bootstrap resamples, seed and device; a horizon refused is
    named in ``refused`` (:func:`_number_setting`)."""
    risk = raw.get("risk_groups") or {}
    cut_col, horizon_col = st.columns(2)
    cut = cut_col.selectbox(
        "Risk-group cut", CUTS, index=CUTS.index(risk.get("cut", "median")), key=f"{key}-cut"
    )
    with horizon_col:  # any days > 0, as the config
        horizon = _number_setting(
            "Horizon", float(risk.get("horizon") or 730), f"{key}-hz",
            refused=refused, name="risk_groups.horizon", low=0, unit="days",
            meaning="the follow-up time at which the Youden cut is learned, such as 730",
        )  # fmt: skip
    days_col, bootstrap_col = st.columns(2)
    horizons = days_col.text_input(
        "td-AUC horizons (days, comma-separated)",
        ", ".join(f"{day:g}" for day in raw.get("horizons") or DEFAULT_HORIZONS),
        key=f"{key}-horizons",
    )
    bootstrap = bootstrap_col.number_input(  # no most, as the config has none
        "Bootstrap resamples (c-index CI)", min_value=1, value=int(raw.get("bootstrap", 1000)),
        key=f"{key}-bootstrap",
    )  # fmt: skip
    seed_col, device_col = st.columns(2)
    seed = seed_col.number_input("Seed", 0, MAX_SEED, int(raw.get("seed", 0)), key=f"{key}-seed")
    devices = list(dict.fromkeys([*DEVICES, str(raw.get("device", "auto"))]))
    device = device_col.selectbox(
        "Device",
        devices,
        index=devices.index(str(raw.get("device", "auto"))),
        key=f"{key}-device",
        help="auto: a GPU when there is one (networks only)",
    )
    return {
        "risk_groups": {"cut": cut, "horizon": horizon},
        "horizons": _parse_days(horizons),
        "bootstrap": int(bootstrap),
        "seed": int(seed),
        "device": device,
    }


def _parse_days(text: str) -> list[float]:
    """The form's td-AUC horizons: days separated by commas ('365, 730')."""
    try:
        days = [float(part) for part in text.replace(",", " ").split()]
    except ValueError as err:
        raise ConfigError(
            f"horizons: expected days separated by commas, such as 365, 730; got {text!r}."
        ) from err
    return [int(day) if day.is_integer() else day for day in days]


def _engine_inputs(engine: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Local processes or Ray (a cluster's address, else a local Ray), and how many parallel
    tasks (0: one per CPU, no ``workers`` key)."""
    kind = st.radio(
        "Engine",
        ENGINES,
        index=ENGINES.index(engine.get("kind", "local")),
        horizontal=True,
        key=f"{key}-engine",
    )
    workers = st.number_input(
        "Workers (0: one per CPU)",
        min_value=0,
        value=int(engine.get("workers") or 0),
        key=f"{key}-workers",
        help="parallel tasks: local worker processes, or the CPUs of a local Ray (engine.workers)",
    )
    out = {"kind": kind, **({"workers": int(workers)} if workers else {})}
    if kind != "ray":
        return out
    address = _kept(
        st.text_input,
        "Ray address (empty: a local Ray; RAY_ADDRESS set for the server overrides this)",
        engine.get("address") or "",
        f"{key}-ray",
    )
    return {**out, **({"address": address.strip()} if address.strip() else {})}


def _protocol_inputs(protocol: dict[str, Any], key: str, refused: list[str]) -> dict[str, Any]:
    """The inputs of the chosen protocol's own keys (the others are dropped), bounded as the
    config bounds them, no tighter (a template's 200 folds stand): at least 2 folds and 1
    repeat; the test fraction is typed as text, any number strictly between 0 and 1 taken (0.01
    too), another refused under its field and named in ``refused`` (:func:`_number_setting`)."""
    name = protocol["name"]
    out: dict[str, Any] = {"name": name}
    columns = st.columns(max(len(PROTOCOL_KEYS[name]), 1))
    for column, field in zip(columns, PROTOCOL_KEYS[name], strict=False):
        current, at = protocol.get(field), f"{key}-{field}"
        if field in ("repeats", "folds"):
            default = int(current or (5 if field == "folds" else 1))
            least = 2 if field == "folds" else 1  # one fold has nothing to test on
            number = column.number_input
            out[field] = int(_kept(number, field.capitalize(), default, at, min_value=least))
        elif field == "test_fraction":
            fraction = partial(
                _number_setting, refused=refused, name="protocol.test_fraction", low=0, high=1,
                meaning="the share of the patients held out for the test, such as 0.2",
            )  # fmt: skip
            with column:
                out[field] = _kept(fraction, "Test fraction", float(current or 0.2), at)
        else:
            out[field] = _kept(column.text_input, "External cohort", str(current or ""), at) or None
    return out


def _number_setting(
    label: str,
    value: float | str | None,
    key: str,
    *,
    refused: list[str],
    name: str,
    low: float,
    high: float | None = None,
    unit: str = "",
    meaning: str,
) -> float | None:
    """A number of the run config (at dotted ``name``) typed as text and read as the Case form
    reads one (:func:`~ui.widgets.number_field`: '0,3' is 0.3, where a number input's browser
    dropped the comma: '365,25' days became 36525), prefilled with ``value``; one above ``low``
    and below ``high`` (None: no upper bound), as the config takes it, else refused under its
    field saying what it is (``meaning``): its label is added to ``refused``, None returned."""
    variable = SchemaVariable(name, NUMBER, label=label, unit=unit)
    shown = f"{label} ({unit})" if unit else label
    number = number_field(variable, shown, value, key, refused)
    inside = number is not None and low < number and (high is None or number < high)
    if inside or shown in refused:
        return number
    bounds = (
        f"be above {number_text(low)} {unit}".rstrip()
        if high is None
        else f"lie strictly between {number_text(low)} and {number_text(high)}"
    )
    given = "nothing" if number is None else number_text(number)
    st.error(f"{variable.title} must {bounds} ({meaning}); got {given}.", icon=":material/error:")
    refused.append(shown)
    return None


def checked_config(data: dict[str, Any], base_dir: Path | None, key: str) -> RunConfig | None:
    """The form's config, or the YAML the user edited under "Advanced", checked; a ConfigError
    is shown (its message starts with the bad key's dotted path) and None returned."""
    text = yaml.safe_dump(data, sort_keys=False)
    if st.toggle("Advanced: edit the YAML", key=f"{key}-advanced"):
        st.caption("The YAML starts from the form; changing a form field starts it over.")
        text = st.text_area("Run config (YAML)", text, height=420, key=f"{key}-yaml-{hash(text)}")
    try:
        return loads_config(text, source="the run form", base_dir=base_dir)
    except ConfigError as err:
        show_error(err)
        return None


# -- jobs ------------------------------------------------------------------------------------
def training_jobs(store: RunStore) -> None:
    """The training jobs: live progress and cancel, then the ended ones with their run ids."""
    jobs_panel("train", store=store, columns={"run": lambda job: job.run_id or ""})


# -- runs ------------------------------------------------------------------------------------
def _horizon_label(days: float) -> str:
    return f"{days / 365:g} y" if days % 365 == 0 else f"{days:g} d"


def td_auc_series(metrics: Mapping[str, float]) -> dict[float, float]:
    """A run's pooled td-AUC by horizon (days), from its ``td_auc_<days>`` metrics."""
    series = {}
    for name, value in metrics.items():
        if name.startswith("td_auc_"):
            try:
                series[float(name.removeprefix("td_auc_"))] = value
            except ValueError:
                continue
    return dict(sorted(series.items()))


def _c_index_text(c: float, low: float, high: float) -> str:
    if c is None or pd.isna(c):
        return ""
    ci = "" if pd.isna(low) or pd.isna(high) else f" ({low:.3f} to {high:.3f})"
    return f"{c:.3f}{ci}"


def _duration(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return ""
    seconds = int(round((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def shown_status(run_id: str, status: str, cancelled: set[str]) -> str:
    """A run's status for people: CANCELLED for a cancelled job's run (the store says FAILED)."""
    return "CANCELLED" if run_id in cancelled and status == "FAILED" else status


def run_label(row: Mapping[str, Any], cancelled: set[str] = frozenset()) -> str:
    status = shown_status(row["run_id"], row["status"], cancelled)
    return f"{row['name']} · {when(row['start_time'])} · {status} · {row['run_id'][:8]}"


def cohort_name(cohort: str | None) -> str:
    """A run's cohort for people: its folder's name ('gbsg2' for /srv/data/cohorts/gbsg2; 'demo'),
    '' for a run that recorded none."""
    return Path(cohort).name if isinstance(cohort, str) and cohort else ""


def runs_table(runs: pd.DataFrame, cancelled: set[str] = frozenset()) -> pd.DataFrame:
    """The run store's runs for people: name, cohort, the endpoint it recorded, model, how it was
    validated, status (CANCELLED for a cancelled job's run), c-index with its 95 % CI, td-AUC
    per horizon, started (UTC) and duration."""
    horizons = sorted({h for row in runs.to_dict("records") for h in td_auc_series(_metrics(row))})
    table = pd.DataFrame(
        {
            "name": runs["name"],
            "cohort": runs["cohort"].map(cohort_name),
            "endpoint": _listed(runs, "endpoint"),
            "model": runs["model"].fillna(""),
            "validated on": _listed(runs, "validation"),
            "status": [
                shown_status(r, s, cancelled)
                for r, s in zip(runs["run_id"], runs["status"], strict=True)
            ],
            "c-index (95 % CI)": [
                _c_index_text(row.get("c_index"), row.get("ci_low"), row.get("ci_high"))
                for row in runs.to_dict("records")
            ],
        }
    )
    for h in horizons:
        column = f"td_auc_{h:g}"
        values = runs[column] if column in runs else pd.Series(np.nan, index=runs.index)
        table[f"td-AUC {_horizon_label(h)}"] = values.round(3)
    table["started"] = [when(t) for t in runs["start_time"]]
    table["duration"] = [
        _duration(s, e) for s, e in zip(runs["start_time"], runs["end_time"], strict=True)
    ]
    table["run_id"] = runs["run_id"]
    return table


def _listed(runs: pd.DataFrame, column: str) -> list[str]:
    """Each run's text in a listing's ``column`` ('' where it has none, and for a listing made
    before the column was listed): its protocol (``validation``, :func:`.store.protocol_label`:
    an external run showed the development cohort beside its external c-index), what its search
    chose (``searched``) or the endpoint its cohort recorded at import (``endpoint``)."""
    return runs[column].fillna("").tolist() if column in runs else [""] * len(runs)


def _differing_outcomes(runs: pd.DataFrame) -> list[str]:
    """The outcomes the runs' cohorts recorded, each said once for a caption, where any two of
    them are not one outcome as the runner's external note tells them
    (:meth:`OutcomeSource.same_outcome`: 'time'/'cens' and 'Time'/'Cens' are one, their labels
    not); [] where all are one. Every pair is compared: an unnamed 'time'/'event' is both OS's
    and RFS's outcome, OS not RFS's, and [unnamed, OS, RFS] was compared without a caution.
    Outcomes of one label are told by their events (an RFS counting deaths, one not). None from
    a run without a record, or a listing made before."""
    recorded = [o for o in runs.get("outcome", []) if isinstance(o, OutcomeSource)]
    if all(a.same_outcome(b) for a, b in combinations(recorded, 2)):
        return []
    labels = Counter(o.label() for o in set(recorded))
    return sorted(
        {
            o.label() if labels[o.label()] == 1 else f"{o.label()}, events: {o.words().events}"
            for o in recorded
        }
    )


def _metrics(row: Mapping[str, Any]) -> dict[str, float]:
    skip = (
        *("run_id", "name", "status", "start_time", "end_time", "error"),
        *("cohort", "model", "validation", "searched", "outcome", "endpoint"),
    )
    return {k: v for k, v in row.items() if k not in skip and not pd.isna(v)}


def run_figures(record: RunRecord) -> dict[str, Any]:
    """The plotly figures a finished run saved (``reports/<name>.json``), by name."""
    reports = record.folder / "reports"
    return {
        name: pio.from_json((reports / f"{name}.json").read_text())
        for name in FIGURES
        if (reports / f"{name}.json").is_file()
    }


def run_details(store: RunStore, run_id: str, cancelled: bool = False) -> None:
    """One run: headline metrics, its error, the four figures, a model choice's comparison, a
    hyper-parameter search's choices and trials, per-fold metrics, the report."""
    record = store.get_run(run_id)
    m = record.metrics
    if cancelled and record.status == "FAILED":  # the store records it as a killed process
        st.info("This run was cancelled before it finished.", icon=":material/cancel:")
    elif record.error:
        st.error(f"This run failed: {record.error}")
    data_notes(record.folder / "reports")
    validated = protocol_label(record.params, m.get("n"))
    cols = st.columns(4)
    cols[0].metric(
        f"c-index, {validated} (95 % CI)" if validated else "c-index (95 % CI)",
        _c_index_text(m.get("c_index"), m.get("ci_low"), m.get("ci_high")) or "–",
    )
    cols[1].metric("Uno's c", f"{m['uno_c_index']:.3f}" if "uno_c_index" in m else "–")
    cols[2].metric(
        ibs_label(m.get("ibs_range_from"), m.get("ibs_range_to")),
        f"{m['ibs']:.3f}" if "ibs" in m else "–",
    )
    cols[3].metric("Patients tested", f"{m['n']:.0f}" if "n" in m else "–")
    figures = run_figures(record)
    if figures:
        left, right = st.columns(2)
        for i, (name, fig) in enumerate(figures.items()):
            (left if i % 2 == 0 else right).plotly_chart(
                fig, width="stretch", key=f"fig-{run_id}-{name}"
            )
    elif record.status == "FINISHED":
        st.info("This run saved no figures.")
    model_comparison(record.folder / "reports", record.params.get("model.name"))
    search_details(record.folder)
    folds = store.fold_metrics(run_id)
    if not folds.empty:
        st.markdown("**Per-fold metrics**")
        # counted from 1, as the progress log counts them ('fold 1/3'); MLflow's steps from 0
        shown = folds.set_axis(folds.index + 1).rename_axis("fold")
        st.dataframe(shown.round(3), width="stretch")
    report = record.folder / "reports" / "report.html"
    if report.is_file():
        export_button(  # audited: the report lists the cases a run left out, by id
            "Download the run report (HTML)",
            report.read_bytes(),
            f"{record.name}-{run_id[:8]}.html",
            "text/html",
            run_id,
            key=f"report-{run_id}",
            what="run report",
        )


def data_notes(reports: Path) -> None:
    """A run's notes on its data (``notes.txt``: patients or columns left out, values read as
    missing), the cases it left out with why (``left_out.csv``, headed by kind: features that
    could not be computed, or a category the model's training patients never had; its metrics
    are the others') and those loaded with warnings (their features may rest on a guess), as
    ``survival_core.runs.runner`` writes them."""
    notes_path, left_out_path = reports / "notes.txt", reports / LEFT_OUT_FILE
    if left_out_path.is_file():
        left_out = pd.read_csv(left_out_path, dtype={"case_id": str})
        for group in left_out_groups(left_out):
            listed = [
                f"\n- {markdown_literal(row.case_id)}: "
                f"{markdown_literal(without_server_paths(str(row.error)))}"
                for row in group.rows.head(SHOWN_NOTES).itertuples()
            ]
            more = len(group.rows) - len(listed)
            st.warning(
                f"**{group.heading}**: {group.advice}\n"
                + "".join(listed)
                + (f"\n- ... and {more} more row(s) (reports/{LEFT_OUT_FILE})" if more > 0 else ""),
                icon=":material/person_off:",
            )
    show_load_warnings(reports / LOAD_WARNINGS_FILE)
    notes = notes_path.read_text().splitlines() if notes_path.is_file() else []
    if any(notes):
        shown = [without_server_paths(n) for n in notes if n][:SHOWN_NOTES]
        st.warning(
            "**Notes on the data**\n" + "".join(f"\n- {note}" for note in shown),
            icon=":material/warning:",
        )


def show_load_warnings(path: Path) -> None:
    """Show how many of a run's cases were loaded with warnings, and in an expander each case,
    with its warning (the run's ``load_warnings.csv``): a GTV taken from a label other than 1, a
    margin structure taken as the GTV... Nothing when there is no such file."""
    if not path.is_file():
        return
    warned = pd.read_csv(path, dtype={"case_id": str, "warning": str})
    n_warned = warned_cases(warned)
    st.warning(
        f"**{n_warned} case(s) loaded with warnings**: their features may rest on a guess, such "
        "as which structure is the GTV. Check each case below; where the guess is wrong, correct "
        "the case's files (or remove it from the cohort) and run again.",
        icon=":material/report:",
    )
    with st.expander(f"Cases loaded with warnings ({n_warned})"):
        shown = warned[["case_id", "warning"]].assign(
            warning=warned["warning"].map(without_server_paths)
        )
        st.table(shown.rename(columns={"case_id": "Case", "warning": "Warning"}).set_index("Case"))


def model_comparison(reports: Path, kind: str | None) -> None:
    """``auto``/``ensemble`` runs (``kind``): the warnings, then every candidate's pooled
    out-of-fold c-index on the same folds with its paired difference from the run's model (BH q),
    how often each was chosen in the folds, and the final model's choice (with its stacking
    weights for an ensemble alone: ``auto`` registers the one candidate it chose)."""
    table_path, selection_path = reports / "comparison.csv", reports / "selection.json"
    if not table_path.is_file():
        return
    selection = json.loads(selection_path.read_text()) if selection_path.is_file() else {}
    st.markdown("**Model comparison** (same folds; difference = candidate minus this run's model)")
    for warning in selection.get("warnings", []):
        st.warning(warning, icon=":material/warning:")
    table = pd.read_csv(table_path)
    final = selection.get("final") or {}
    ensemble = kind == "ensemble"
    if final and ensemble:  # the registered ensemble weighs its candidates; it chose none
        weights = {c["label"]: c["weight"] for c in final.get("candidates", [])}
        table.insert(1, "final weight", table["model"].map(weights))
    elif final:  # the registered model: auto's choice on all development rows
        table.insert(
            1,
            "final model",
            table["model"].map(lambda m: "chosen" if m == final.get("chosen") else ""),
        )
    folds = selection.get("events_per_variable_range") or selection.get("events_per_variable")
    note = _events_note(folds, final.get("events_per_variable"))
    rule = final.get("choice_rule") or selection.get("choice_rule")
    if rule and not ensemble:
        note += f" `auto` took the simplest candidate {rule}."
    if ensemble:
        note += _stacked_note(final)
    if note:
        st.caption(note.strip())
    st.dataframe(table.round(3), width="stretch", hide_index=True)


def search_details(folder: Path) -> None:
    """A searched run's hyper-parameter search (its run ``folder``'s ``model/search.json``): the
    final model's chosen parameters and inner c-index, the folds' own choices and how many folds
    made each (``chosen`` of ``reports/folds.csv``: how stable the search is) and the final
    search's trials. The view showed none of them: they were in ``search.json`` alone."""
    search = read_search(folder / "model")
    if search is None:
        return
    st.markdown("**Hyper-parameter search**")
    said = f"The final model's search {search_text(search)}."
    folds_path = folder / "reports" / "folds.csv"
    folds = pd.read_csv(folds_path) if folds_path.is_file() else pd.DataFrame()
    if "chosen" in folds:  # the same choice in most folds, or each its own
        chosen = folds["chosen"].dropna().value_counts()
        said += (
            " The cross-validation folds' own searches chose "
            + "; ".join(f"{choice} ({n} of {len(folds)} folds)" for choice, n in chosen.items())
            + "."
        )
    st.caption(markdown_literal(said))
    st.dataframe(trial_table(search), width="stretch", hide_index=True)


def _events_note(folds: float | Sequence[float] | None, final: float | None) -> str:
    """Events per candidate variable of the final model's choice (all development patients) and
    of the cross-validation folds' (fewer patients: the rule they chose by may differ), one
    number or the folds' range (runs before the range was kept: one number)."""
    in_folds = None
    if folds is not None:
        low, high = (folds, folds) if isinstance(folds, int | float) else folds
        in_folds = f"{low:.1f}" if round(low, 1) == round(high, 1) else f"{low:.1f}-{high:.1f}"
    if final is None:
        return "" if in_folds is None else f"Events per candidate variable: {in_folds}."
    shown = f"Events per candidate variable: {final:.1f} for the final model's choice"
    return shown + ("." if in_folds is None else f", {in_folds} in the cross-validation folds.")


def _stacked_note(selection: Mapping[str, Any]) -> str:
    """Which candidates the ensemble stacked, when not all of them (few events per variable
    leave only the penalised Cox ones; a failed candidate is never stacked)."""
    stacked, candidates = selection.get("stacked"), selection.get("candidates")
    if not stacked or not candidates or len(stacked) == len(candidates):
        return ""
    return f" The ensemble stacked {len(stacked)} of the {len(candidates)} candidates: " + (
        ", ".join(stacked) + "."
    )


def promote_panel(store: RunStore, run_id: str) -> None:
    """The run's registered model version(s), with a button making one the app's active model."""
    models = store.list_models()
    mine = models[models["run_id"] == run_id]
    if mine.empty:
        st.caption("This run registered no model (only finished runs do).")
        return
    changed = changed_sources(store.get_run(run_id).folder)
    if changed:
        st.warning(
            "Trained on cohort data that has changed since: "
            + "; ".join(changed)
            + ". This model knows nothing of the changes (a corrected value, a withdrawn "
            "patient, a redrawn contour): train again to use them.",
            icon=":material/history:",
        )
    for row in mine.itertuples():
        if row.active:
            st.success(f"{row.name} v{row.version} is the active model.", icon=":material/star:")
        elif st.button(
            f"Promote {row.name} v{row.version} to active", key=f"promote-{row.name}-{row.version}"
        ):
            try:
                active = store.set_active(row.name, row.version)
            except RadSurvError as error:  # its files gone, or archived: say so, not a traceback
                st.error(f"{row.name} v{row.version} cannot be made active: {error}")
                continue
            record_action("promote_model", active.name, version=active.version)
            follow_active()  # this tab's pages use the model it promoted
            st.toast(f"{active.name} v{active.version} is now the active model.")
            st.rerun()


def compare_runs(runs: pd.DataFrame, run_ids: Sequence[str]) -> None:
    """Chosen runs side by side: their cohort, model and protocol, what a search chose and the
    endpoint (said where they differ: their c-indices are not comparable), their summary
    metrics and their td-AUC curves overlaid."""
    from survival_core.viewer.curves import td_auc_figure

    rows = runs.set_index("run_id").loc[list(run_ids)]
    labels = [f"{row['name']} ({run_id[:8]})" for run_id, row in rows.iterrows()]
    settings = pd.DataFrame(
        [
            [cohort_name(c) for c in rows["cohort"]],
            list(rows["model"].fillna("")),
            _listed(rows, "validation"),
            _listed(rows, "searched"),
            _listed(rows, "endpoint"),
        ],
        index=["cohort", "model", "validated on", "searched, chose", "endpoint"],
        columns=labels,
    )
    st.dataframe(settings, width="stretch")
    outcomes = _differing_outcomes(rows)
    if outcomes:  # an RFS run's c-index beside an OS run's read as the better model
        said = "; ".join(outcomes)
        st.caption(
            markdown_literal(
                f"These runs' cohorts recorded different outcomes ({said}): their c-indices and "
                "other metrics are of different endpoints and not comparable."
            )
        )
    shown = {
        "c_index": "c-index",
        "ci_low": "c-index 95 % CI low",
        "ci_high": "c-index 95 % CI high",
        "uno_c_index": "Uno's c",
        "ibs": "Integrated Brier score",
        "ibs_range_from": "Integrated Brier score from (days)",
        "ibs_range_to": "Integrated Brier score to (days)",
        "n": "patients tested",
    }
    series = [td_auc_series(_metrics(row)) for _, row in rows.iterrows()]
    horizons = sorted({h for s in series for h in s})
    table = pd.DataFrame(
        {
            label: [row.get(k) for k in shown] + [s.get(h) for h in horizons]
            for label, (_, row), s in zip(labels, rows.iterrows(), series, strict=True)
        },
        index=[*shown.values(), *(f"td-AUC {_horizon_label(h)}" for h in horizons)],
    )
    st.dataframe(table.astype(float).round(3), width="stretch")
    spans = table.loc[[shown["ibs_range_from"], shown["ibs_range_to"]]].T
    scored = table.loc[shown["ibs"]].notna()
    unknown = list(spans.index[scored & spans.isna().any(axis=1)])
    if len(spans[scored].dropna().drop_duplicates()) > 1:  # 0.187 over 281-1526, 0.116 251-769
        st.caption(
            "These runs' integrated Brier scores cover different days (its 'from' and 'to' "
            "rows): a lower score over fewer days does not make a better model."
        )
    elif unknown and scored.sum() > 1:  # a run made before the days were recorded
        st.caption(
            f"{', '.join(unknown)} did not record the days its integrated Brier score covers: "
            "compare the scores with care (a lower score over fewer days does not make a better "
            "model)."
        )
    if horizons:
        aucs = {
            label: [s.get(h, np.nan) for h in horizons]
            for label, s in zip(labels, series, strict=True)
        }
        st.plotly_chart(
            td_auc_figure(horizons, aucs, title="Time-dependent AUC of the compared runs"),
            width="stretch",
            key="compare-td-auc",
        )


def cancelled_runs(jobs: Sequence[Job]) -> set[str]:
    """Run ids of the jobs cancelled from this page."""
    return {job.run_id for job in jobs if job.run_id and job.status == "cancelled"}
