"""Cohort exploration for the Cohort page: survival by a clinical variable or feature split,
univariate Cox models, Spearman maps between feature families and feature distributions by risk
group. Times are in days (shown in months); every number comes with the patients it rests on.

Encoding (shared by every analysis, so a variable means the same on each tab):

- clinical variables of the cohort's schema (its ``schema.yaml`` beside the clinical table, else
  the demo's HCC schema, :func:`~survival_core.io.clinical_schema.hcc_schema`): categories by
  their schema order (HCC: sex M < F is binary F vs M; Child-Pugh A < B < C, BCLC
  0 < A < B < C < D and mRECIST CR < PR < SD < PD are ordinal, one hazard ratio per step; a
  category of more levels that the schema does not mark ``ordered`` is nominal), yes/no
  variables as 0/1, numbers as they are (with the schema's label and unit);
- any other column: yes/no values as 0/1, numbers as they are, text with two levels as binary
  (alphabetical order); text with more levels is nominal: it can be split on, not ranked; in
  a Cox model it enters as one indicator per level against the most frequent level.

Missing values are never filled: each analysis uses the patients with a value and says how many
were left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from scipy import stats

from survival_core.columns import DEEP_PREFIX, DSFR_PREFIX, is_image_feature
from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.bootstrap import check_level, two_sided_z
from survival_core.evaluation.comparison import benjamini_hochberg
from survival_core.evaluation.concordance import concordance_columns
from survival_core.evaluation.risk_groups import (
    GroupTest,
    KaplanMeierCurve,
    RiskGroupCut,
    cox_wald,
    kaplan_meier,
    level_cox,
    logrank_groups,
)
from survival_core.explain.correlation import heatmap_figure, spearman_matrix
from survival_core.features.case_row import training_codes
from survival_core.io.clinical import in_unit
from survival_core.io.clinical_schema import (
    CATEGORY,
    SCHEMA_FILE,
    YES_NO,
    CohortSchema,
    SchemaVariable,
    hcc_schema,
    names_a_scale,
    schema_beside,
)
from survival_core.io.outcome_source import EndpointWords, load_outcome_source
from survival_core.io.tables import FOLLOW_UP_NOTE_START, load_model_table
from survival_core.outcome import Outcome, survival_arrays
from survival_core.paths import demo_cohort_dir
from survival_core.text import upper_first
from survival_core.viewer.curves import GROUP_COLOURS, PALETTE, export_config, km_figure

if TYPE_CHECKING:
    from survival_core.models.scoring import LoadedModel

#: Ways to split a cohort: a categorical variable's levels; a number's median, tertiles or a
#: threshold given by the user (in the variable's unit).
RULES = ("levels", "median", "tertiles", "threshold")
#: Most distinct values a numeric column may have to be split by its levels (ECOG, ALBI grade).
MAX_LEVELS = 8
#: Most levels of an unordered category to draw or test (a free-text column has one per patient),
#: and the events per level below which its likelihood-ratio test is not made: the chi-square
#: approximation fails there (131 levels of noise gave p = 5e-18 and a c-index of 0.94).
MAX_NOMINAL_LEVELS = 20
EVENTS_PER_LEVEL = 10
#: Largest value of a number's few whole values that may be codes (AIDS' raceth 1-5).
LARGEST_CODE = 9
#: Column families for the correlation maps; deep features are the ``deep_*`` columns that
#: :mod:`survival_core.features.deep` writes (its PREFIX; importing it would load torch).
FAMILIES = ("clinical", "radiomics", "deep")
#: Tick labels longer than this are shortened (the full name stays on hover).
LABEL_WIDTH = 32
#: The clinical schema of a cohort without its own (the demo's HCC variables).
DEMO_SCHEMA = hcc_schema()


def _clinical(name: str, schema: CohortSchema | None) -> SchemaVariable | None:
    """Column ``name``'s variable in ``schema`` (None: :data:`DEMO_SCHEMA`); None if not one."""
    return next((v for v in (schema or DEMO_SCHEMA).variables if v.name == name), None)


# --- loading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortData:
    """A cohort's columns (index case_id), its outcome (days), what was noticed reading it and
    the schema of its clinical variables (labels, units, category order)."""

    frame: pd.DataFrame
    y: np.ndarray
    sources: tuple[str, ...]
    notes: list[str] = field(default_factory=list)
    schema: CohortSchema = DEMO_SCHEMA
    #: How its outcome is named (its import's ``outcome.json``): 'overall survival', 'deaths';
    #: the neutral 'survival', 'events' where none was recorded.
    endpoint: EndpointWords = EndpointWords()

    @property
    def name(self) -> str:
        """The cohort's name in a figure's title and file name: an imported cohort's folder
        ('gbsg2'), 'demo' for the demo cohort, else the first table's file name."""
        first = Path(self.sources[0])
        if first.name != "clinical.csv":
            return first.stem
        demo = first.parent.resolve() == demo_cohort_dir().resolve()
        return "demo" if demo else first.parent.name

    @property
    def n_events(self) -> int:
        return int(survival_arrays(self.y)[0].sum())

    @property
    def warnings(self) -> list[str]:
        """The notes to act on: a longest follow-up implausible in the time unit the times were
        read in (:func:`~survival_core.io.tables.follow_up_unit_note`), every curve and
        survival of the page then on the wrong scale."""
        return [note for note in self.notes if note.startswith(FOLLOW_UP_NOTE_START)]

    def families(self) -> dict[str, list[str]]:
        """Columns by family: clinical (schema variables, and any column not named as an image
        feature: a study's cd4 or karnof without a schema), deep (``deep_*``, ``dsfr_*``),
        radiomics (the other image features)."""
        out: dict[str, list[str]] = {name: [] for name in FAMILIES}
        # the schema's variables in its order (the sheet's): a table's columns are in name order
        for name in self.schema.in_order(map(str, self.frame.columns)):
            if name in self.schema.names or not is_image_feature(name):
                family = "clinical"
            elif name.startswith((DEEP_PREFIX, DSFR_PREFIX)):
                family = "deep"
            else:
                family = "radiomics"
            out[family].append(name)
        return out

    def two_group_columns(self) -> list[str]:
        """The columns that split the patients in two (:func:`two_group_split`): image features
        are numbers; each clinical variable is read by its kind."""
        clinical = set(self.families()["clinical"])
        return [
            str(c)
            for c in self.frame.columns
            if c not in clinical or variable(self.frame[c], self.schema).kind in TWO_GROUP_KINDS
        ]


def cohort_sources(path: Path | str) -> list[Path]:
    """``path`` as table files: a cohort folder means its clinical.csv, a file itself."""
    path = Path(path).expanduser()
    if path.is_dir():
        clinical = path / "clinical.csv"
        if not clinical.is_file():
            raise InputError(f"{path} is a folder without a clinical.csv: not a cohort folder.")
        return [clinical]
    if not path.is_file():
        raise InputError(f"{path} does not exist (expected a cohort folder, a CSV or a Parquet).")
    return [path]


def cohort_files(paths: Sequence[Path | str]) -> list[Path]:
    """Every file :func:`load_cohort` of ``paths`` reads: the tables and the ``schema.yaml`` that
    may stand beside each (present or not). A cache of the loaded cohort is keyed on all of them:
    a schema edited beside unchanged tables (ordered grades, a label) must be read again."""
    tables = [f for p in paths for f in cohort_sources(p)]
    return [*tables, *dict.fromkeys(f.parent / SCHEMA_FILE for f in tables)]


def load_cohort(paths: Sequence[Path | str], time_unit: str = "days") -> CohortData:
    """Tables (cohort folders, CSV, Parquet) joined on case_id; one of them holds time and event,
    in ``time_unit`` (a cohort folder's clinical.csv is in days).

    Rows without a usable outcome and cases missing from a table are left out with a note
    (:func:`survival_core.io.tables.load_model_table`; a follow-up implausible in ``time_unit``
    is noted with the Cohort page's ways to give the unit). The clinical schema is the
    ``schema.yaml`` beside the first table that has one, else :data:`DEMO_SCHEMA`; the endpoint
    is the one recorded beside its clinical.csv (:func:`load_outcome_source`), if any.
    """
    files = [f for p in paths for f in cohort_sources(p)]
    table = load_model_table(files, time_unit=time_unit, unit_advice=_time_unit_on_the_page)
    schema = schema_beside(files) or DEMO_SCHEMA
    records = (load_outcome_source(f.parent) for f in files if f.name == "clinical.csv")
    record = next((r for r in records if r is not None), None)
    endpoint = EndpointWords() if record is None else record.words()
    sources = tuple(str(f) for f in files)
    return CohortData(table.X, table.y, sources, list(table.notes), schema, endpoint)


def _time_unit_on_the_page(unit: str) -> str:
    """How the Cohort page gives the time unit ``unit`` ("": unknown): a table by path's Time
    unit; an imported cohort's clinical.csv is in days, its sheet imported again in that unit
    (the command line's --time-unit is no option of the page)."""
    chosen = f" {unit}" if unit else ""
    return (
        f"a table by path: its Time unit{chosen}; an imported cohort, whose clinical.csv is in "
        f"days: import its sheet again in Import mode with the Time unit{chosen}"
    )


# --- variables -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One column encoded for analysis: ``values`` are numbers (level positions for categories),
    ``levels`` the category names in order, ``labels`` each patient's level (categorical only)."""

    name: str
    label: str
    unit: str
    kind: str  # "continuous", "binary", "ordinal" or "nominal"
    values: pd.Series
    levels: tuple[str, ...] = ()
    labels: pd.Series | None = None

    @property
    def n_missing(self) -> int:
        return int(self.values.isna().sum())

    @property
    def coding(self) -> str:
        """How the categories are numbered, which a sign is read by: "Pre vs Post" (binary: the
        second level is 1, the first 0), "I < II < III" (ordered: level positions); "" for a
        number."""
        if self.kind == "continuous":
            return ""
        if self.kind == "binary":
            return f"{self.levels[1]} vs {self.levels[0]}"
        return " < ".join(self.levels)

    @property
    def scale(self) -> str:
        """What one step of ``values`` means, for hazard ratios."""
        if self.kind == "continuous":
            return f"per 1 {_SINGULAR.get(self.unit, self.unit)}" if self.unit else "per unit"
        return self.coding if self.kind == "binary" else f"per step ({self.coding})"


_SINGULAR = {"years": "year"}


def _number(value: float) -> str:
    return f"{value:.4g}"


def _level(value: float) -> str:
    """A number as a level's name: every distinct value its own ('201001' and '201002'; the
    4 digits of :func:`_number` made both 2.01e+05)."""
    return f"{value:.12g}"


def _with_unit(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}".rstrip()


def _bool_value(value: object) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    return {"true": True, "false": False}.get(text)


def _category_index(value: object, levels: tuple[str, ...], name: str) -> int:
    whole = isinstance(value, float | np.floating) and float(value).is_integer()
    text = str(int(value)) if whole else str(value).strip()
    for k, level in enumerate(levels):
        if text.upper() == level.upper():
            return k
    raise InputError(
        f"Column {name!r} has the value {value!r}; expected one of {', '.join(levels)}."
    )


def _fits(present: pd.Series, spec: SchemaVariable) -> bool:
    """Whether every value of ``present`` is one ``spec`` allows (its categories, yes/no, its
    plausible range: an albumin in g/dL is not the demo's albumin in g/L), a number's median
    where the demo's unit puts it (:func:`~survival_core.io.clinical.in_unit`)."""
    try:
        if spec.kind == CATEGORY:
            for value in present.unique():
                _category_index(value, spec.categories, spec.name)
        elif spec.kind == YES_NO:
            return bool(present.map(_bool_value).notna().all())
        else:
            read = [spec.coerce(value) for value in present]  # '12,5' reads as 12.5
            return not read or in_unit(spec.name, float(np.median(read)))
    except InputError:  # a ClinicalValueError too
        return False
    return True


def variable(values: pd.Series, schema: CohortSchema | None = None) -> Variable:
    """``values`` (one column, index case_id) encoded as described in the module notes, its
    label and unit from ``schema`` (None: :data:`DEMO_SCHEMA`)."""
    name = str(values.name)
    spec = _clinical(name, schema)
    present = values.dropna()
    if spec is not None and schema in (None, DEMO_SCHEMA) and not _fits(present, spec):
        spec = None  # the demo's HCC variable of that name, coded otherwise in this table
    unit = spec.unit if spec else ""
    label = (spec.label or name) if spec else name
    label += f" ({unit})" if unit else ""
    numeric = is_numeric_dtype(present.dtype) and not is_bool_dtype(present.dtype)
    bools = pd.Series(None, index=present.index) if numeric else present.map(_bool_value)
    if spec is not None and spec.kind == CATEGORY:
        levels = spec.categories
        codes = present.map(lambda v: _category_index(v, levels, name)).astype(float)
        kind = "binary" if len(levels) == 2 else ("ordinal" if spec.ordered else "nominal")
    elif isinstance(values.dtype, pd.CategoricalDtype) and values.dtype.ordered:
        levels = tuple(str(c) for c in values.dtype.categories)
        codes = pd.Series(values.cat.codes, index=values.index)[present.index].astype(float)
        kind = "binary" if len(levels) == 2 else "ordinal"
    elif (spec is not None and spec.kind == YES_NO) or (present.size and bools.notna().all()):
        if bools.isna().any():
            bad = present[bools.isna()].iloc[0]
            raise InputError(f"Column {name!r} has the value {bad!r}; expected true/false.")
        levels, codes, kind = ("no", "yes"), bools.astype(float), "binary"
    else:
        numbers = pd.to_numeric(present, errors="coerce")
        if numbers.notna().all():
            codes = numbers.astype(float)
            distinct = np.unique(codes.to_numpy())
            levels = tuple(map(_level, distinct)) if distinct.size <= MAX_LEVELS else ()
            kind = "binary" if distinct.size == 2 else "continuous"
            if kind == "binary":  # 0/1, as the scale says ('50 vs 0': its HR was per 1 unit)
                codes = (codes == distinct[1]).astype(float)
            encoded = codes.reindex(values.index)
            name_of = (lambda v: levels[int(v)]) if kind == "binary" else _level
            labels = encoded.map(lambda v: np.nan if pd.isna(v) else name_of(v)) if levels else None
            return Variable(name, label, unit, kind, encoded, levels, labels)
        levels = tuple(sorted(present.astype(str).unique()))
        codes = present.astype(str).map({level: float(k) for k, level in enumerate(levels)})
        kind = "binary" if len(levels) == 2 else "nominal"
    encoded = codes.reindex(values.index).astype(float)
    labels = encoded.map(lambda v: np.nan if pd.isna(v) else levels[int(v)])
    return Variable(name, label, unit, kind, encoded, tuple(levels), labels)


#: Variables that split patients in two (:func:`two_group_split`).
TWO_GROUP_KINDS = ("binary", "continuous")


def two_group_split(values: pd.Series, schema: CohortSchema | None = None) -> Split:
    """Patients in two groups by one variable, to compare distributions: a binary variable's
    two levels, a number's median; a variable of three or more categories is refused."""
    var = variable(values, schema)
    if var.kind not in TWO_GROUP_KINDS:
        raise InputError(
            f"{var.label} has {len(var.levels)} categories: it does not split the patients in "
            "two. Choose a number (split at its median) or a two-level variable."
        )
    return split_groups(values, "levels" if var.kind == "binary" else "median", schema=schema)


def rules_for(var: Variable) -> tuple[str, ...]:
    """The split rules that make sense for ``var`` (levels first where it has any)."""
    numeric = () if var.kind in ("binary", "ordinal", "nominal") else RULES[1:]
    return (("levels",) if var.labels is not None else ()) + numeric


# --- splits and Kaplan-Meier ---------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Patients in groups by one variable: ``groups`` holds each patient's group label (NaN for a
    missing value), ``order`` the labels in display order, ``cuts`` the thresholds used."""

    variable: Variable
    rule: str
    groups: pd.Series
    order: tuple[str, ...]
    cuts: tuple[float, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {g: int((self.groups == g).sum()) for g in self.order}

    @property
    def n_missing(self) -> int:
        return int(self.groups.isna().sum())

    @property
    def how(self) -> str:
        """The rule in words with the patients used, e.g. "at the median (36.5 g/L): 98 patients;
        2 without a value left out"."""
        unit = self.variable.unit
        cuts = ", ".join(_with_unit(c, unit) for c in self.cuts)
        how = {
            "levels": "by its levels",
            "median": f"at the median ({cuts})",
            "tertiles": f"in tertiles ({cuts})",
            "threshold": f"at {cuts}",
        }[self.rule]
        kept = sum(self.counts.values())
        left = f"; {self.n_missing} without a value left out" if self.n_missing else ""
        return f"{how}: {kept} patients{left}"

    @property
    def description(self) -> str:
        return f"{self.variable.label} split {self.how}"


def split_groups(
    values: pd.Series,
    rule: str = "auto",
    threshold: float | None = None,
    schema: CohortSchema | None = None,
) -> Split:
    """Split patients by ``values`` (one column, index case_id).

    ``rule``: "levels" (categories, or the distinct values of a number with few of them),
    "median" (at or below vs above), "tertiles" (at or below the 1st, up to the 2nd, above it),
    "threshold" (at or below ``threshold``, in the variable's unit, vs above); "auto" is levels
    for categorical variables and the median otherwise. Patients with a missing value are in no
    group and counted in :attr:`Split.n_missing`. ``schema``: the cohort's (see :func:`variable`).
    """
    var = variable(values, schema)
    if var.n_missing == len(var.values):
        raise InputError(f"{var.label} has no value in this cohort; it cannot split it.")
    allowed = rules_for(var)
    if rule == "auto":
        rule = allowed[0]
    if rule not in RULES:
        raise ConfigError(f"Unknown split rule {rule!r}; choose one of {', '.join(RULES)}.")
    if rule not in allowed:
        raise ConfigError(
            f"{var.label} cannot be split by {rule} ({var.kind}); choose {', '.join(allowed)}."
        )
    notes: list[str] = []
    if rule == "levels" and var.kind == "nominal" and len(var.levels) > MAX_NOMINAL_LEVELS:
        raise InputError(
            f"{var.label} has {len(var.levels)} different values, too many to compare as groups "
            "(free text, or numbers written with text such as '<2'?)."
        )
    if rule == "levels":
        groups = var.labels
        order = tuple(level for level in var.levels if (groups == level).any())
        cuts: tuple[float, ...] = ()
        absent = [level for level in var.levels if level not in order]
        if absent:
            notes.append(f"No patient has {var.label} {', '.join(absent)}.")
    else:
        x = var.values
        if rule == "threshold":
            if threshold is None or not np.isfinite(threshold):
                raise ConfigError(f"Give a threshold for {var.label} (a number).")
            cuts = (float(threshold),)
        elif rule == "median":
            cuts = (float(x.median()),)
        else:
            cuts = tuple(float(c) for c in x.quantile([1 / 3, 2 / 3]))
        edges = np.concatenate(([-np.inf], cuts, [np.inf]))
        unit = var.unit
        names = [f"≤ {_with_unit(cuts[0], unit)}"]
        names += [
            f"> {_number(low)} and ≤ {_with_unit(high, unit)}"
            for low, high in zip(cuts[:-1], cuts[1:], strict=True)
        ]
        names.append(f"> {_with_unit(cuts[-1], unit)}")
        index = np.searchsorted(edges[1:-1], x.to_numpy(), side="left")
        groups = pd.Series(
            [names[k] if np.isfinite(v) else np.nan for k, v in zip(index, x, strict=True)],
            index=x.index,
            dtype=object,
        )
        order = tuple(name for name in names if (groups == name).any())
        if len(order) < len(names):
            notes.append(
                f"{len(names) - len(order)} group(s) are empty (tied values at the cut) and are "
                "not shown."
            )
    if len(order) < 2:
        raise InputError(
            f"Splitting {var.label} by {rule} puts every patient with a value in one group; "
            "choose another rule or threshold."
        )
    missing = int(groups.isna().sum())
    if missing:
        notes.append(f"{missing} patient(s) without a value for {var.label} were left out.")
    return Split(var, rule, groups, order, cuts, notes)


@dataclass(frozen=True)
class GroupSurvival:
    """Kaplan-Meier curves of a split, its log-rank test and the figure."""

    split: Split
    curves: dict[str, KaplanMeierCurve]
    logrank: GroupTest
    figure: go.Figure
    #: The chart's config: its PNG download named after the cohort and variable.
    config: dict[str, Any]


def km_by(
    frame: pd.DataFrame,
    y: Outcome,
    column: str,
    rule: str = "auto",
    threshold: float | None = None,
    time_unit: str = "months",
    schema: CohortSchema | None = None,
    endpoint: EndpointWords | None = None,
    cohort: str = "",
) -> GroupSurvival:
    """Kaplan-Meier curves of the cohort split by ``column`` (see :func:`split_groups`), with the
    log-rank p (k-group for more than two groups) in the figure, titled with the ``endpoint``'s
    survival (None: the neutral 'survival') and the ``cohort``'s name: an exported figure of
    GBSG2's recurrence-free survival was 'Survival by horTh', as was any other cohort's."""
    if column not in frame.columns:
        raise InputError(f"The cohort has no column {column!r}.")
    event, time = survival_arrays(y)
    split = split_groups(frame[column], rule, threshold, schema)
    labels = split.groups.to_numpy()
    kept = split.groups.notna().to_numpy()
    curves = {g: kaplan_meier((event[labels == g], time[labels == g])) for g in split.order}
    test = logrank_groups((event[kept], time[kept]), labels[kept].astype(str))
    short = (endpoint or EndpointWords()).short
    heading = f"{upper_first(short)} by {split.variable.label}"
    where = f"cohort {cohort}, " if cohort else ""
    figure = km_figure(
        curves,
        logrank_p=test.p_value,
        time_unit=time_unit,
        title=f"{heading}<br><sup>{where}split {split.how}</sup>",
        survival=short,
    )
    if test.df > 1:
        figure.layout.annotations[-1].text += f" ({test.df} df)"
    config = export_config(f"{cohort or 'cohort'}-km-{column}", figure.layout.height)
    return GroupSurvival(split, curves, test, figure, config)


# --- univariate Cox ------------------------------------------------------------------------------

COX_COLUMNS = (
    "variable",
    "label",
    "kind",
    "scale",
    "n",
    "events",
    "hr",
    "hr_low",
    "hr_high",
    "sd",
    "hr_per_sd",
    "hr_per_sd_low",
    "hr_per_sd_high",
    "p",
    "q",
    "c_index",
    "note",
)


def _cox_row(
    var: Variable, event: np.ndarray, time: np.ndarray, level: float
) -> tuple[dict, np.ndarray | None]:
    """One variable's row of :func:`univariate_cox` (its c-index still missing) and each
    patient's fitted risk (NaN without a value; None when nothing was fitted)."""
    row: dict = {"variable": var.name, "label": var.label, "kind": var.kind, "note": ""}
    used = var.values.notna().to_numpy()
    x, e, t = var.values.to_numpy()[used], event[used], time[used]
    row.update(n=int(used.sum()), events=int(e.sum()))
    if np.unique(x).size < 2 or not e.any():
        row["note"] = "not estimable: the variable is constant or there is no event"
        return row, None
    risk = np.full(used.size, np.nan)
    if var.kind == "nominal":
        levels = np.unique(var.labels.to_numpy()[used]).size
        if levels > MAX_NOMINAL_LEVELS or (levels - 1) * EVENTS_PER_LEVEL > e.sum():
            row["note"] = (
                f"not tested: {levels} unordered levels for {int(e.sum())} events (a test needs "
                f"about {EVENTS_PER_LEVEL} events per level; free text, or numbers written with "
                "text such as '<2'?)"
            )
            return row, None
        row, risk[used] = _nominal_cox_row(row, var.labels.to_numpy()[used], e, t, level)
        return row, risk
    row["scale"], row["note"] = var.scale, _codes_note(var, x)
    z = two_sided_z(level)
    fit = cox_wald(x[:, None], e, t)  # the cox_pvalue feature filter's fit (Breslow ties)
    beta, se = fit.coef[0] / fit.sd[0], fit.se[0] / fit.sd[0]
    risk[used] = beta * x  # its order stands even where beta runs to infinity (the c-index)
    with np.errstate(over="ignore"):  # a separating covariate: infinite bounds
        bounds = np.exp([beta - z * se, beta + z * se])
    if not (fit.converged and np.isfinite(bounds).all()):
        notes = (_separation_note(var, used, e), row["note"])
        row.update(p=float(fit.lr_p_value[0]), note="; ".join(n for n in notes if n))
        return row, risk
    row.update(hr=np.exp(beta), hr_low=bounds[0], hr_high=bounds[1], p=float(fit.p_value[0]))
    if var.kind == "continuous":
        sd = float(np.std(x, ddof=1))
        with np.errstate(over="ignore"):
            row.update(
                sd=sd,
                hr_per_sd=np.exp(beta * sd),
                hr_per_sd_low=np.exp((beta - z * se) * sd),
                hr_per_sd_high=np.exp((beta + z * se) * sd),
            )
    return row, risk


def _codes_note(var: Variable, x: np.ndarray) -> str:
    """What the row of a number whose few whole values may be codes says (``x``: its values;
    AIDS' raceth 1-5, txgrp's arms 1-4, drafted as integer): its hazard ratio is per unit, a
    linear trend across them, while the Kaplan-Meier tab splits it into unordered levels, and
    how to test it by its levels. "" for another number (a Karnofsky score of 70-100, an age)
    and for a scale its name names (ECOG, grade: ordered, a trend per step)."""
    # the Kaplan-Meier tab splits it by its levels only where it has labels
    if var.kind != "continuous" or var.labels is None or names_a_scale(var.name):
        return ""
    distinct = np.unique(x)
    codes = ((distinct >= 0) & (distinct <= LARGEST_CODE) & (distinct % 1 == 0)).all()
    if distinct.size < 3 or not codes:
        return ""
    shown = ", ".join(map(_level, distinct))
    return (
        f"read as a number: its HR is per unit, a linear trend across {shown}; if these are "
        f"codes of unordered groups, make {var.name} a category in {SCHEMA_FILE} (kind: "
        f"category, categories: [{shown}]) to test its levels, as the Kaplan-Meier tab "
        "splits them"
    )


def _eventless(labels: np.ndarray, e: np.ndarray) -> str:
    """Which levels of ``labels`` (one per patient) have no event, whose HR tends to 0: "no
    event in level LEVEL: its HR is not estimable"; "" where every level has one."""
    eventless = sorted(map(str, set(labels) - set(labels[e.astype(bool)])))
    if not eventless:
        return ""
    levels = "level" if len(eventless) == 1 else "levels"
    return f"no event in {levels} {', '.join(eventless)}: its HR is not estimable"


def _separation_note(var: Variable, used: np.ndarray, e: np.ndarray) -> str:
    """Why a fit that did not converge (or has an infinite CI bound) shows no HR, and which p
    it shows instead: its Wald p tends to 1 as the HR runs to 0 or infinity (Hauck-Donner)."""
    why = _eventless(var.labels.to_numpy()[used], e) if var.kind == "binary" else ""
    if not why:
        why = (
            f"the fit does not converge: {var.label} orders the events (almost) perfectly, its "
            "HR runs to 0 or infinity and is not estimable"
        )
    return f"{why}; p from the likelihood-ratio test (its Wald p tends to 1)"


def _nominal_cox_row(
    row: dict, labels: np.ndarray, e: np.ndarray, t: np.ndarray, level: float
) -> tuple[dict, np.ndarray]:
    """An unordered category's row: one likelihood-ratio p over its levels (levels - 1 df), and
    each level's hazard ratio against the most frequent one in the note; its fitted risk."""
    fit = level_cox((e, t), labels, level=level)
    ratios = "; ".join(
        f"{name} {_number(hr.value)} ({_number(hr.ci_low)} to {_number(hr.ci_high)})"
        for name, hr in fit.hazard_ratios.items()
    )
    row.update(scale=f"levels vs {fit.reference}", p=fit.p_value)
    row["note"] = (
        f"{fit.df + 1} unordered levels, likelihood-ratio test ({fit.df} df, Efron ties); "
        f"HR vs {fit.reference}: {ratios}"
    )
    eventless = _eventless(labels, e)
    if eventless:  # its HR tends to 0 (1e-8 was shown, inside the convergence flag's bound)
        row["note"] += f"; {eventless}"
    elif not fit.converged:
        row["note"] += " (convergence problem)"
    return row, fit.risk


#: Below this a p-value is shown as this bound: one that underflowed to 0 is not "0" (certainty).
SMALLEST_P = 1e-300
#: How the page says it (the tables' captions).
SMALLEST_P_NOTE = f"a p or q of {SMALLEST_P:g} is below it (its computation underflowed)"


def p_shown(p: pd.Series) -> pd.Series:
    """p or q values as a table shows them: numbers, so that a column sorts by value (as text,
    '0.0012' sorted before '1e-05'), one that underflowed raised to :data:`SMALLEST_P`
    (flchain's age against survival: p = 0.0 was shown "0"), NaN where none."""
    return p.astype(float).clip(lower=SMALLEST_P)


def hr_text(hr: float, low: float, high: float) -> str:
    """HR (CI) with 3 significant digits, more where they would print alike (AFP per ng/mL) or
    where a bound short of 1 would print as 1 (estrec's 0.99996 read as a CI touching 1 beside
    p = 0.04); "" without an HR."""
    if pd.isna(hr):
        return ""

    def unclear(digits: int) -> bool:
        shown = [f"{v:.{digits}g}" for v in (hr, low, high)]
        return len(set(shown)) < 3 or any(
            text == "1" and v != 1 for text, v in zip(shown[1:], (low, high), strict=True)
        )

    digits = 3
    while digits < 7 and unclear(digits):
        digits += 1
    return f"{hr:.{digits}g} ({low:.{digits}g} to {high:.{digits}g})"


def _c_indices(risks: list[np.ndarray | None], event: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Harrell's c-index of each fitted risk (NaN where none, or without a comparable pair):
    the risks of the same patients (all of them, where no value is missing) in one pass."""
    out = np.full(len(risks), np.nan)
    groups: dict[bytes, list[int]] = {}
    for k, risk in enumerate(risks):
        if risk is not None:
            groups.setdefault((~np.isnan(risk)).tobytes(), []).append(k)
    for key, members in groups.items():
        used = np.frombuffer(key, dtype=bool)
        fitted = np.column_stack([risks[k][used] for k in members])
        out[members] = concordance_columns(event[used], time[used], fitted)
    return out


def univariate_cox(
    frame: pd.DataFrame,
    y: Outcome,
    columns: Sequence[str],
    level: float = 0.95,
    schema: CohortSchema | None = None,
) -> pd.DataFrame:
    """One Cox model per column (:func:`~survival_core.evaluation.risk_groups.cox_wald`, Breslow
    ties as the ``cox_pvalue`` feature filter): hazard ratio per unit (per step or level
    for categories; ``scale`` says which) and per standard deviation for continuous variables,
    Wald CI at ``level`` and p (where the fit does not converge, no HR and the likelihood-ratio
    p: the Wald p tends to 1), Harrell's c-index of the fitted risk, and Benjamini-Hochberg
    q-values over the columns tested. Columns that cannot be fitted get a ``note``, not an error.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"The cohort has no column(s) {', '.join(map(str, missing))}.")
    event, time = survival_arrays(y)
    check_level(level)
    fitted = [_cox_row(variable(frame[c], schema), event, time, level) for c in columns]
    table = pd.DataFrame([row for row, _ in fitted], columns=COX_COLUMNS)
    table["c_index"] = _c_indices([risk for _, risk in fitted], event, time)
    tested = table["p"].notna().to_numpy()
    table["q"] = np.nan
    if tested.any():
        table.loc[tested, "q"] = benjamini_hochberg(table.loc[tested, "p"].to_numpy(float))
    return table


# --- correlations --------------------------------------------------------------------------------


def short_label(name: str, width: int = LABEL_WIDTH, schema: CohortSchema | None = None) -> str:
    """A readable tick label: the label of a clinical variable of ``schema`` (None:
    :data:`DEMO_SCHEMA`); a long radiomics name ``roi__quantiser__class__FeatureName`` as
    ``roi·quantiser·class·FN`` (CamelCase initials of the feature, as in the IBSI tables), then
    without inner vowels in the leading parts (``liver_minus_gtv`` -> ``lvr_mns_gtv``); anything
    still too long cut with an ellipsis."""
    spec = _clinical(name, schema)
    if spec is not None:
        return spec.label or name
    parts = name.split("__")
    if len(name) <= width or len(parts) < 2:
        return name if len(name) <= width else name[: width - 1] + "…"
    initials = re.sub(r"[^A-Z0-9]", "", parts[-1])
    last = initials if len(initials) >= 2 else parts[-1]
    label = "·".join(parts[:-1] + [last])
    if len(label) > width:
        label = "·".join([re.sub(r"(?<=[a-z])[aeiou]", "", p) for p in parts[:-1]] + [last])
    return label if len(label) <= width else label[: width - 1] + "…"


def short_labels(
    names: Sequence[str], width: int = LABEL_WIDTH, schema: CohortSchema | None = None
) -> list[str]:
    """:func:`short_label` of each name, made unique with #2, #3... where shortening collides."""
    labels = [short_label(str(n), width, schema) for n in names]
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def _encoded(
    frame: pd.DataFrame, columns: Sequence[str], schema: CohortSchema | None
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """The ``columns`` that can be ranked, as numbers (:func:`variable`), each one's
    :attr:`Variable.coding` ("" for a number), and a note naming the unordered ones left out."""
    encoded, codings, skipped = {}, {}, []
    for column in columns:
        var = variable(frame[column], schema)
        if var.kind == "nominal":
            skipped.append(column)
        else:
            encoded[column], codings[column] = var.values, var.coding
    notes = (
        [f"Unordered categorical column(s) not ranked: {', '.join(skipped)}."] if skipped else []
    )
    if not encoded:
        raise InputError("None of the chosen columns can be ranked for a Spearman correlation.")
    return pd.DataFrame(encoded, index=frame.index), codings, notes


def _with_coding(name: str, coding: str) -> str:
    """``name`` with how its categories are coded, e.g. "menostat (Pre vs Post)"."""
    return f"{name} ({coding})" if coding else name


def correlation_figure(
    frame: pd.DataFrame,
    rows: Sequence[str],
    columns: Sequence[str] | None = None,
    title: str = "Spearman correlation",
    schema: CohortSchema | None = None,
) -> tuple[go.Figure, list[str]]:
    """Spearman heat map of ``rows`` against ``columns`` (``rows`` with themselves if None), with
    BH-significant cells starred (:mod:`survival_core.explain.correlation`); ticks show short
    labels, the hover the full column names, both with how a category is coded ("menostat (Pre
    vs Post)": a rho of -0.8 with age is Pre with the younger; "tgrade (I < II < III)").
    Returns the figure and notes."""
    A, codings, notes = _encoded(frame, rows, schema)
    B = None
    if columns is not None:
        B, more_codings, more = _encoded(frame, columns, schema)
        codings.update(more_codings)
        notes += more
    result = spearman_matrix(A, B)
    coded = {name: _with_coding(name, coding) for name, coding in codings.items()}
    figure = heatmap_figure(result.renamed(coded), title)
    x, y = list(result.rho.columns), list(result.rho.index)
    height = max(420, 200 + 18 * len(y))
    for axis, names in ((figure.layout.xaxis, x), (figure.layout.yaxis, y)):
        ticks = short_labels(names, schema=schema)
        axis.update(
            tickvals=[coded[n] for n in names],
            ticktext=[_with_coding(t, codings[n]) for t, n in zip(ticks, names, strict=True)],
        )
    figure.update_layout(height=height, margin={"l": 200, "b": 200})
    return figure, notes + result.notes


# --- distributions by risk group -----------------------------------------------------------------


@dataclass(frozen=True)
class ModelGroups:
    """Each patient's risk group under a model ("low", "high"; NaN without a value of an input
    its score depends on: never filled in here) and, per such input, the patients without one."""

    groups: pd.Series
    missing: dict[str, int]

    @property
    def how(self) -> str:
        """The patients placed, and those left out with the inputs they lack, e.g. "590
        patients; 96 without a value of a model input left out (estrec 40, tgrade 60)"."""
        kept, left = int(self.groups.notna().sum()), int(self.groups.isna().sum())
        if not left:
            return f"{kept} patients"
        lacking = ", ".join(f"{name} {n}" for name, n in self.missing.items())
        return f"{kept} patients; {left} without a value of a model input left out ({lacking})"


def _missing_inputs(loaded: LoadedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Per patient, whether each input the score depends on (:attr:`LoadedModel.used_inputs`)
    has no value: empty, or the training table's no-value code (a tsize of -99), both of which
    the model's preprocessing would fill in with a training median."""
    codes = training_codes(loaded)
    inputs = frame[loaded.used_inputs]
    return inputs.isna() | inputs.apply(lambda column: column.isin(codes.get(column.name, [])))


def model_risk_groups(loaded: LoadedModel, frame: pd.DataFrame) -> ModelGroups:
    """Each patient's risk group under the cut stored in the model's card (learned on its
    training cohort: median or Youden), applied to the model's risks; a patient without a value
    of an input the score depends on is in no group and counted, as every analysis of this
    module leaves out, and says, what it would otherwise have to fill in."""
    from survival_core.models.image_base import ImageSurvivalModel

    if isinstance(loaded.model, ImageSurvivalModel):
        raise InputError(
            f"Model {loaded.name} reads CT images; risk groups on this page need a model "
            "on table columns (or split by a feature instead)."
        )
    absent = [c for c in loaded.inputs if c not in frame.columns]
    if absent:
        shown = ", ".join(absent[:6]) + (" ..." if len(absent) > 6 else "")
        raise InputError(
            f"Model {loaded.name} needs {len(absent)} column(s) this cohort lacks: {shown}."
        )
    missing = _missing_inputs(loaded, frame)
    placed = ~missing.any(axis=1).to_numpy()
    if not placed.any():
        raise InputError(
            f"No patient has a value of every input model {loaded.name} scores with "
            f"({', '.join(loaded.used_inputs)}): none can be placed in its risk groups."
        )
    risk = loaded.model.predict_risk(frame.loc[placed, loaded.inputs])
    high = RiskGroupCut.from_dict(loaded.card.cut).assign(risk)
    groups = pd.Series(np.nan, index=frame.index, dtype=object)
    groups[placed] = np.where(high == 1, "high", "low")
    counts = missing.sum()
    return ModelGroups(groups, {str(c): int(n) for c, n in counts[counts > 0].items()})


def _two_groups(groups: pd.Series) -> tuple[str, str]:
    order = [g for g in ("low", "high") if (groups == g).any()]
    if len(order) != 2:
        order = list(dict.fromkeys(groups.dropna()))
    if len(order) != 2:
        raise InputError(
            f"Distributions are compared between two groups; got {len(order)} "
            f"({', '.join(map(str, order))})."
        )
    return order[0], order[1]


def _median(values: np.ndarray, var: Variable) -> str:
    """The median of a group's ``values`` as shown: a number to 4 digits, or for a category the
    level it falls on ('II', '50'; two levels where it falls between: 'no/yes'), never a level's
    position code. Text throughout, so a table of numbers and categories is one column type."""
    median = float(np.median(values))
    if var.kind == "continuous":
        return _number(median)
    low, high = int(np.floor(median)), int(np.ceil(median))
    return var.levels[low] if low == high else f"{var.levels[low]}/{var.levels[high]}"


def distributions_by_group(
    frame: pd.DataFrame,
    columns: Sequence[str],
    groups: pd.Series,
    schema: CohortSchema | None = None,
) -> pd.DataFrame:
    """Per column: n and median in each of two groups, the two-sided Mann-Whitney U p and BH q
    over the columns tested; a column not tested says why in ``note``."""
    first, second = _two_groups(groups)
    rows = []
    for column in columns:
        var = variable(frame[column], schema)
        row = {"variable": column, "label": var.label, "p": np.nan, "note": ""}
        if var.kind == "nominal":
            row["note"] = (
                f"not tested: {len(var.levels)} unordered categories have no order to rank "
                "(mark them ordered in the schema if they are a scale)"
            )
            rows.append(row)
            continue
        a = var.values[(groups == first) & var.values.notna()].to_numpy()
        b = var.values[(groups == second) & var.values.notna()].to_numpy()
        row.update({f"n {first}": a.size, f"n {second}": b.size})
        if a.size and b.size:
            row.update({f"median {first}": _median(a, var), f"median {second}": _median(b, var)})
            row["p"] = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
        else:
            empty = first if not a.size else second
            row["note"] = f"not tested: no patient of group {empty} has a value"
        rows.append(row)
    table = pd.DataFrame(rows)
    tested = table["p"].notna().to_numpy()
    table["q"] = np.nan
    if tested.any():
        table.loc[tested, "q"] = benjamini_hochberg(table.loc[tested, "p"].to_numpy(float))
    last = ["p", "q", "note"]
    return table[[c for c in table.columns if c not in last] + last]


def distribution_figure(
    frame: pd.DataFrame, column: str, groups: pd.Series, schema: CohortSchema | None = None
) -> go.Figure:
    """Violin with box and points of ``column`` in each of two groups, Mann-Whitney p in the title."""
    first, second = _two_groups(groups)
    row = distributions_by_group(frame, [column], groups, schema).iloc[0]
    var = variable(frame[column], schema)
    fig = go.Figure()
    for k, name in enumerate((first, second)):
        values = var.values[(groups == name) & var.values.notna()]
        fig.add_trace(
            go.Violin(
                y=values.to_numpy(),
                name=f"{name} (n = {values.size})",
                box_visible=True,
                meanline_visible=False,
                points="all",
                line_color=GROUP_COLOURS.get(name, PALETTE[k + 2]),
                customdata=values.index.to_numpy(),
                hovertemplate="%{customdata}: %{y:.4g}<extra></extra>",
            )
        )
    p = row.get("p", np.nan)
    test = (
        ""
        if pd.isna(p)
        else ("Mann-Whitney p < 0.001" if p < 0.001 else f"Mann-Whitney p = {p:.3f}")
    )
    fig.update_layout(
        title={"text": f"{var.label} by group<br><sup>{test}</sup>", "x": 0.01},
        template="plotly_white",
        font={"size": 14},
        showlegend=False,
        height=460,
        yaxis_title=var.label,
    )
    if var.kind != "continuous":  # level positions on the axis, level names on the ticks
        fig.update_yaxes(tickvals=list(range(len(var.levels))), ticktext=list(var.levels))
    return fig
