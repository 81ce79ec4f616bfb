"""Cohort page: survival by any variable, univariate Cox table, Spearman maps, distributions by
risk group, for the demo cohort, an imported cohort or tables given by path; and, for those who
may, importing a cohort (a download of studies and/or a clinical spreadsheet) in the background."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from survival_core.cohort import exploration as ex
from survival_core.cohort.imported import feature_tables, imported_cohorts
from survival_core.errors import InputError
from survival_core.io.clinical_schema import NUMBER, SchemaVariable
from survival_core.io.tables import TIME_UNITS
from survival_core.paths import demo_cohort_dir
from survival_core.workflows.demo import demo_features_path
from ui.auth import permitted, require
from ui.cohort_import import cohort_reports, import_form, import_jobs
from ui.state import show_error
from ui.widgets import number_field

FAMILY_LABELS = {"clinical": "Clinical", "radiomics": "Radiomics", "deep": "Deep"}
#: p and q as numbers (a column sorts by value), 2 significant digits ('0.031', '7.1e-60').
P_FORMAT = "%.2g"
P_COLUMN = st.column_config.NumberColumn(format=P_FORMAT)
RULE_LABELS = {
    "levels": "by level",
    "median": "at the median",
    "tertiles": "in tertiles",
    "threshold": "at a threshold",
}


#: A cohort's files as last seen: (path, modification time in ns, size), None where absent.
Stamps = tuple[tuple[str, int | None, int | None], ...]


@st.cache_data(max_entries=8, show_spinner="Reading the cohort...")
def cohort(paths: tuple[str, ...], modified: Stamps, time_unit: str) -> ex.CohortData:
    """The joined tables, their times in ``time_unit``, read once per (paths, state of every
    file read, unit)."""
    return ex.load_cohort(list(paths), time_unit)


@st.cache_data(max_entries=32, show_spinner="Fitting one Cox model per variable...")
def cox_table(paths: tuple[str, ...], modified: Stamps, time_unit: str, columns: tuple[str, ...]):
    data = cohort(paths, modified, time_unit)
    return ex.univariate_cox(data.frame, data.y, list(columns), schema=data.schema)


def _modified(paths: list[Path]) -> Stamps:
    """The state of every file the cohort's load reads (:func:`ex.cohort_files`: the tables and
    a schema.yaml beside them, edited by hand or saved on the Import tab), so that a change to
    any of them, or a schema written or removed, reads the cohort again."""
    stamps = []
    for path in ex.cohort_files(paths):
        info = path.stat() if path.is_file() else None
        stamps.append((str(path), info and info.st_mtime_ns, info and info.st_size))
    return tuple(stamps)


def pick_sources() -> tuple[list[Path], str] | None:
    """The tables to explore and the time unit of their times (days but for tables by path,
    whose unit the user says, as the Import form's Time unit)."""
    imported = [c for c in imported_cohorts() if (c / "clinical.csv").is_file()]
    sources = ["Demo cohort", *(["Imported cohort"] if imported else []), "Tables by path"]
    source = st.segmented_control("Cohort", sources, default="Demo cohort", key="cohort-source")
    if source == "Imported cohort":
        folder = st.selectbox(
            "Imported cohort", imported, format_func=lambda p: p.name, key="cohort-imported"
        )
        return [folder / "clinical.csv", *feature_tables(folder)], "days"
    if source == "Demo cohort":
        clinical = demo_cohort_dir() / "clinical.csv"
        if not clinical.exists():
            st.info("The demo cohort is not prepared yet: open the Case page to prepare it.")
            return None
        features = demo_features_path()
        return [clinical] + ([features] if features.exists() else []), "days"
    left, right = st.columns([4, 1])
    outcome = left.text_input(
        "Cohort folder (with clinical.csv), or a CSV/Parquet table with time and event",
        key="cohort-path",
    )
    time_unit = right.selectbox(
        "Time unit",
        list(TIME_UNITS),
        key="cohort-time-unit",
        help="of the table's time column; an imported cohort's clinical.csv is in days",
    )
    extra = st.text_area(
        "Feature tables (Parquet or CSV with a case_id column), one path per line",
        key="cohort-tables",
    )
    paths = [p.strip() for p in [outcome, *extra.splitlines()] if p.strip()]
    if not paths:
        st.info("Type the path of a cohort folder or of a table on this server.")
        return None
    return [Path(p).expanduser() for p in paths], time_unit


def _family_columns(data: ex.CohortData, families: list[str]) -> list[str]:
    grouped = data.families()
    return [c for f in families for c in grouped[f]]


def widget_key(data: ex.CohortData, name: str) -> str:
    """A widget's key for one cohort: a rule or threshold chosen for flchain's age (75 years) is
    not carried to AIDS's age (all patients at or below it: no plot), whose median it replaces."""
    cohort = hashlib.sha256("\0".join(data.sources).encode()).hexdigest()[:12]
    return f"{name}-{cohort}"


def km_tab(data: ex.CohortData) -> None:
    columns = list(data.frame.columns)
    labels = {c: ex.short_label(c, schema=data.schema) for c in columns}
    left, middle, right = st.columns([2, 1, 1])
    column = left.selectbox("Variable", columns, format_func=labels.get, key="km-variable")
    var = ex.variable(data.frame[column], data.schema)
    rules = ex.rules_for(var)
    rule = middle.selectbox(
        "Split", rules, format_func=RULE_LABELS.get, key=widget_key(data, f"km-rule-{column}")
    )
    threshold = None
    if rule == "threshold":
        refused: list[str] = []
        with right:
            threshold = number_field(  # a number input's browser dropped a comma: 42,8 was 428
                SchemaVariable(column, NUMBER, label="Threshold", unit=var.unit),
                f"Threshold ({var.unit})" if var.unit else "Threshold",
                float(var.values.median()),
                widget_key(data, f"km-threshold-{column}"),
                refused,
            )
        if refused:  # said under the field: no groups split at a number guessed
            return
    result = ex.km_by(
        data.frame,
        data.y,
        column,
        rule,
        threshold,
        schema=data.schema,
        endpoint=data.endpoint,
        cohort=data.name,
    )
    st.plotly_chart(result.figure, key="km-chart", config=result.config)
    for note in result.split.notes:
        st.caption(note)


def cox_tab(data: ex.CohortData, paths: tuple[str, ...], modified: Stamps, time_unit: str) -> None:
    present = [f for f, cols in data.families().items() if cols]
    families = st.multiselect(
        "Variables",
        present,
        default=present[:1],
        format_func=FAMILY_LABELS.get,
        key="cox-families",
    )
    columns = _family_columns(data, families)
    if not columns:
        st.info("Choose at least one group of variables.")
        return
    table = cox_table(paths, modified, time_unit, tuple(columns))
    units = [ex.variable(data.frame[c], data.schema).unit for c in table["variable"]]
    shown = pd.DataFrame(
        {
            "variable": table["label"],
            "HR (95 % CI)": [
                ex.hr_text(*r) for r in table[["hr", "hr_low", "hr_high"]].itertuples(index=False)
            ],
            "HR per": table["scale"],
            "SD": [
                "" if pd.isna(sd) else f"{sd:.3g} {unit}".rstrip()
                for sd, unit in zip(table["sd"], units, strict=True)
            ],
            "HR per SD (95 % CI)": [
                ex.hr_text(*r)
                for r in table[["hr_per_sd", "hr_per_sd_low", "hr_per_sd_high"]].itertuples(
                    index=False
                )
            ],
            "p": ex.p_shown(table["p"]),
            "q (BH)": ex.p_shown(table["q"]),
            "c-index": table["c_index"],
            "n": table["n"],
            "events": table["events"],
            "note": table["note"],
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "c-index": st.column_config.NumberColumn(format="%.3f"),
            "p": P_COLUMN,
            "q (BH)": P_COLUMN,
        },
        key="cox-table",
    )
    st.caption(
        "One Cox model per variable (Breslow ties, the fit of the cox_pvalue feature filter), "
        "p from its Wald test; where the fit does not converge (no event in one level, a number "
        "that orders the events) the HR is not estimable and p is the likelihood-ratio test's, "
        "as the note says; an unordered category's p is the likelihood-ratio test over its "
        "levels, its hazard ratios against the most frequent level are in the note. HR per SD is "
        "given for continuous variables; q: Benjamini-Hochberg over the variables shown; "
        f"c-index: Harrell's, of the fitted risk; {ex.SMALLEST_P_NOTE}."
    )


def correlation_tab(data: ex.CohortData) -> None:
    present = [f for f, cols in data.families().items() if cols]
    left, right = st.columns(2)
    rows = left.selectbox("Rows", present, format_func=FAMILY_LABELS.get, key="corr-rows")
    others = right.selectbox(
        "Columns",
        present,
        index=min(1, len(present) - 1),
        format_func=FAMILY_LABELS.get,
        key="corr-columns",
    )
    grouped = data.families()
    figure, notes = ex.correlation_figure(
        data.frame,
        grouped[rows],
        None if others == rows else grouped[others],
        title=f"Spearman correlation: {FAMILY_LABELS[rows]} vs {FAMILY_LABELS[others]}",
        schema=data.schema,
    )
    st.plotly_chart(figure, key="corr-chart")
    for note in notes:
        st.caption(note)


def _model_groups(data: ex.CohortData) -> tuple[pd.Series, str] | None:
    from ui.models import chosen_model, loaded_model

    choice = chosen_model()
    if choice is None:
        return None
    loaded = loaded_model(choice)
    placed = ex.model_risk_groups(loaded, data.frame)
    method = loaded.card.cut.get("method", "median")
    return (
        placed.groups,
        f"risk groups of {choice.label} ({method} cut of its training cohort): {placed.how}",
    )


def distribution_tab(data: ex.CohortData) -> None:
    grouping = st.radio(
        "Groups",
        ["Risk groups of the chosen model", "Two groups by a variable"],
        horizontal=True,
        key="dist-grouping",
    )
    found, why, by = None, "No usable model", None
    if grouping.startswith("Risk"):
        try:
            found = _model_groups(data)
        except InputError as error:  # another cohort's model: a note, not a failure
            why = f"The chosen model cannot place these patients ({error})"
        except Exception as error:  # noqa: BLE001 - shown; the median split still works
            show_error(error)
        if found is None:
            st.info(f"{why}: patients are split in two by a variable instead.")
    if found is None:
        by = st.selectbox(
            "Split in two by (a number at its median, a two-level variable by its levels)",
            data.two_group_columns(),
            format_func=lambda c: ex.short_label(c, schema=data.schema),
            key="dist-split",
        )
        split = ex.two_group_split(data.frame[by], schema=data.schema)
        found = split.groups, split.description
    groups, description = found
    st.caption(f"Groups: {description}.")
    compared = {f: [c for c in cols if c != by] for f, cols in data.families().items()}
    families = [f for f, cols in compared.items() if cols]  # the split variable is not compared
    family = st.selectbox("Features", families, format_func=FAMILY_LABELS.get, key="dist-family")
    table = ex.distributions_by_group(data.frame, compared[family], groups, data.schema)
    table = table.sort_values("p", na_position="last")
    feature = st.selectbox(
        "Feature (smallest Mann-Whitney p first)",
        list(table["variable"]),
        format_func=lambda c: ex.short_label(c, schema=data.schema),
        key="dist-feature",
    )
    st.plotly_chart(
        ex.distribution_figure(data.frame, feature, groups, data.schema), key="dist-chart"
    )
    st.dataframe(
        table.assign(p=ex.p_shown(table["p"]), q=ex.p_shown(table["q"])),
        hide_index=True,
        column_config={
            "p": st.column_config.NumberColumn("p (Mann-Whitney)", format=P_FORMAT),
            "q": st.column_config.NumberColumn("q (BH)", format=P_FORMAT),
        },
        key="dist-table",
    )
    itself = (
        f" {ex.short_label(by, schema=data.schema)} makes the groups: not compared." if by else ""
    )
    st.caption(
        "Mann-Whitney U test of each variable between the two groups (categories by their "
        "order), patients without a value left out; q: Benjamini-Hochberg over the variables "
        f"tested; {ex.SMALLEST_P_NOTE}." + itself
    )


def import_part() -> None:
    """Import a cohort; follow the jobs; read and act on a cohort's import reports."""
    try:
        import_form()
        st.subheader("Import jobs")
        import_jobs()
        st.subheader("Imported cohorts")
        cohort_reports()
    except Exception as error:  # noqa: BLE001 - every failure is shown, none as a traceback
        show_error(error)


st.title("Cohort")
require("explore_cohort")
if permitted("import_cohort"):
    mode = st.segmented_control("Mode", ["Explore", "Import"], default="Explore", key="cohort-mode")
    if mode == "Import":
        import_part()
        st.stop()
try:
    picked = pick_sources()
    if not picked:
        st.stop()
    sources, time_unit = picked
    paths = tuple(str(p) for p in sources)
    modified = _modified(sources)
    data = cohort(paths, modified, time_unit)
except Exception as error:  # noqa: BLE001 - every failure is shown, none as a traceback
    show_error(error)
    st.stop()

counts = {FAMILY_LABELS[f]: len(c) for f, c in data.families().items() if c}
st.caption(
    f"{len(data.y)} patients, {data.n_events} {data.endpoint.events}; "
    + ", ".join(f"{n} {name.lower()}" for name, n in counts.items())
    + " columns. Sources: "
    + ", ".join(Path(p).name for p in data.sources)
)
warned = set(data.warnings)  # a follow-up in another unit puts every curve on the wrong scale
for note in data.notes:
    if note in warned:
        st.warning(note, icon=":material/warning:")
    else:
        st.caption(note)

tabs = st.tabs(["KM by variable", "Univariate Cox", "Correlations", "Distributions by risk group"])
for tab, draw in zip(
    tabs,
    (km_tab, lambda d: cox_tab(d, paths, modified, time_unit), correlation_tab, distribution_tab),
    strict=True,
):
    with tab:
        try:
            draw(data)
        except Exception as error:  # noqa: BLE001 - one failing tab must not hide the others
            show_error(error)
