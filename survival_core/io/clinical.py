"""The demo's (HCC) clinical variables: their schema (type, unit, plausible range), the ALBI
formulas, missing-value tokens and clinical CSV reading.

Values are validated by :func:`survival_core.io.clinical_schema.validate_clinical` (the same
checks as an own cohort's schema): validation never fills a gap silently; a missing value stays
``None`` and is reported; a value outside its plausible range, of the wrong type or an unknown
category raises :class:`ClinicalValueError` naming the variable, the value and the range.
Derived values (ALBI score and grade) are computed from their inputs when those are present.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survival_core.errors import ClinicalValueError, InputError
from survival_core.io.delimited import read_delimited
from survival_core.io.headers import TIME_UNIT_OF, UNIT_ALIASES, normalise_name, parse_header


@dataclass(frozen=True)
class ClinicalVariable:
    """One clinical variable. ``kind`` is 'float', 'int', 'bool' or 'category'."""

    name: str
    kind: str
    label: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    categories: tuple[str, ...] = ()
    derived: bool = False
    help: str = ""
    #: Where a cohort's median lies in ``unit``, for a variable that sites give in another unit
    #: within the plausible range too (a diameter in cm, a bilirubin in mg/dL): a column whose
    #: median lies elsewhere is not this variable (:func:`in_unit`).
    typical: tuple[float, float] | None = None


#: The variables the seeds use (Wei 2021, Sun 2023, Wang 2022), in display order.
SCHEMA: tuple[ClinicalVariable, ...] = (
    ClinicalVariable("age", "float", "Age", "years", 18, 100),
    ClinicalVariable("sex", "category", "Sex", categories=("M", "F")),
    ClinicalVariable("ecog", "int", "ECOG performance status", "", 0, 4),
    ClinicalVariable("albumin", "float", "Albumin", "g/L", 10, 60),
    ClinicalVariable("bilirubin", "float", "Total bilirubin", "umol/L", 2, 600, typical=(5, 200)),
    ClinicalVariable(
        "albi_score",
        "float",
        "ALBI score",
        "",
        -5,
        1,
        derived=True,
        help="0.66*log10(bilirubin [umol/L]) - 0.085*albumin [g/L]",
    ),
    ClinicalVariable(
        "albi_grade",
        "int",
        "ALBI grade",
        "",
        1,
        3,
        derived=True,
        help="1: score <= -2.60; 2: -2.60 < score <= -1.39; 3: score > -1.39",
    ),
    ClinicalVariable("afp", "float", "Alpha-fetoprotein", "ng/mL", 0, 1_000_000),
    ClinicalVariable("platelets", "float", "Platelet count", "10^9/L", 5, 1000),
    ClinicalVariable("inr", "float", "INR", "", 0.7, 6),
    ClinicalVariable("child_pugh", "category", "Child-Pugh class", categories=("A", "B", "C")),
    ClinicalVariable("bclc", "category", "BCLC stage", categories=("0", "A", "B", "C", "D")),
    ClinicalVariable("cirrhosis", "bool", "Cirrhosis"),
    ClinicalVariable("hbv", "bool", "Hepatitis B (HBsAg positive)"),
    ClinicalVariable("mvi", "bool", "Microvascular invasion"),
    ClinicalVariable("tumor_number", "int", "Number of tumors", "", 1, 20),
    ClinicalVariable(
        "tumor_diameter", "float", "Largest tumor diameter", "mm", 1, 300, typical=(10, 200)
    ),
    ClinicalVariable(
        "mrecist", "category", "mRECIST response", categories=("CR", "PR", "SD", "PD")
    ),
)

BY_NAME: dict[str, ClinicalVariable] = {v.name: v for v in SCHEMA}

#: Statistics software's and spreadsheets' codes of a missing value, never a value whatever
#: their share: SAS's and Stata's '.', '._' and '.a'-'.z' (special missing values, written so by
#: their CSV exports) and Excel's error values (compared stripped and lower-cased).
MISSING_CODES = frozenset(
    {".", "._", *(f".{letter}" for letter in "abcdefghijklmnopqrstuvwxyz"),
     "#div/0!", "#n/a", "#value!", "#ref!", "#name?", "#num!", "#null!", "#calc!", "#spill!"}
)  # fmt: skip
#: Text read as "no value" (compared stripped and lower-cased).
MISSING_TOKENS = MISSING_CODES | frozenset(
    {"", "na", "n/a", "n.a.", "nan", "null", "none", "-", "--", "?", "unknown", "unk", "missing",
     # TCGA / GDC exports
     "'--", "[not available]", "[not applicable]", "[unknown]", "[not evaluated]",
     "[not reported]", "not reported", "[discrepancy]",
     # a lab's or a registry's test not done / not evaluated ('n.d.', 'n.e.')
     "nd", "n.d.", "not done", "n.e.", "not determined",
     # a result not back yet or never taken, as clinic exports write it ('pending', 'n/d')
     "pending", "awaiting", "n/d", "unk.", "not assessed", "not known", "not recorded",
     "not available"}
)  # fmt: skip

#: No-value words that a text column may use as one of its levels ('none' of a hormone therapy
#: beside 'tamoxifen'): a level where a text column writes them often, missing in a column of
#: numbers (:func:`~survival_core.cohort.clinical_table` decides by the column's values).
LEVEL_WORDS = frozenset({"none"})


#: A positive as a staining or a serology writes it ('+', '++', '+++'), beside its negative '-'.
_POSITIVE_SIGNS = r"\+{1,3}"


def negative_signs(cells: pd.Series) -> pd.Series:
    """Which of a column's cells are a negative '-' among positives written '+' ('++', '+++'):
    the levels of ER, HER2, HPV or a serology, not a missing-value word there (read as no value,
    the negatives left the column one level '+', dropped as constant)."""
    text = cells.astype("string").str.strip()
    negative = (text == "-").fillna(False).astype(bool)
    others = text[~negative].dropna()
    others = others[~others.str.lower().isin(MISSING_TOKENS)]
    if not negative.any() or others.empty or not others.str.fullmatch(_POSITIVE_SIGNS).all():
        return pd.Series(False, index=cells.index)
    return negative


#: Numbers sites write for "no value" in a numeric column (-99 for an unknown age, 9999 days for
#: an unknown follow-up), read as missing where they lie clearly outside the column's other
#: values (:func:`no_value_numbers`).
NO_VALUE_NUMBERS = (-9999.0, -999.0, -99.0, 999.0, 9999.0)


def no_value_numbers(values: np.ndarray) -> list[float]:
    """The :data:`NO_VALUE_NUMBERS` a column of numbers (NaN missing) holds as no-value codes: a
    negative one where its other values are never below 0, a positive one above twice their
    largest (9999 days among GBSG2's at most 2659 read as 27 years of follow-up)."""
    values = np.asarray(values, dtype=float)
    coded = np.isin(values, NO_VALUE_NUMBERS)
    others = values[~coded & ~np.isnan(values)]
    if not coded.any() or others.size == 0:
        return []
    return [
        code
        for code in NO_VALUE_NUMBERS
        if (values == code).any() and (others.min() >= 0 if code < 0 else others.max() * 2 < code)
    ]


def in_unit(name: str, median: float) -> bool:
    """Whether a numeric column named as the demo's variable ``name`` has its median where that
    variable's cohorts have theirs in its unit (:attr:`ClinicalVariable.typical`): tumour
    diameters in cm (median 4) passed the 1-300 mm range and were labelled mm on the nomogram
    and in the report. True for a variable without a typical range."""
    known = BY_NAME.get(name)
    typical = known.typical if known is not None else None
    return typical is None or typical[0] <= median <= typical[1]


def is_missing(value: Any) -> bool:
    """True for None, NaN, NA, NaT and the text tokens of :data:`MISSING_TOKENS`."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value.strip().lower() in MISSING_TOKENS
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return False


def albi_score(bilirubin_umol_l: float, albumin_g_l: float) -> float:
    """ALBI score (Johnson 2015): 0.66*log10(bilirubin umol/L) - 0.085*albumin g/L."""
    return 0.66 * math.log10(bilirubin_umol_l) - 0.085 * albumin_g_l


def albi_grade(score: float) -> int:
    """ALBI grade 1/2/3 from the score (cut-offs -2.60 and -1.39)."""
    if score <= -2.60:
        return 1
    if score <= -1.39:
        return 2
    return 3


@dataclass
class ClinicalValues:
    """Validated clinical values: ``values`` by name (``None`` where missing) and what is missing."""

    values: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def require(self, names: list[str] | tuple[str, ...]) -> None:
        """Raise if any of ``names`` is missing (e.g. the inputs a model needs)."""
        absent = [n for n in names if self.values.get(n) is None]
        if absent:
            labels = ", ".join(f"{BY_NAME[n].label} ({n})" if n in BY_NAME else n for n in absent)
            raise ClinicalValueError(f"Missing clinical value(s): {labels}.")


def _is_case_id(column: object) -> bool:
    """Whether a header names the case ID ('case_id', 'Case ID', 'CASE_ID'): read as text, its
    '007' must not become 7."""
    return parse_header(str(column).strip()).name == "case_id"


def read_clinical_table(source: str | bytes | Path, *, stored: bool = False) -> pd.DataFrame:
    """Read a clinical CSV (path or bytes) of any common delimiter, decimal mark and encoding
    (:func:`.delimited.read_delimited`): column names normalised, ``case_id`` as text, and a
    column of ambiguous numbers the file does not decide ('1,170': 1170 or 1.17?) as written,
    each read as one patient's typed value is (by its variable's plausible range, else refused
    naming it: :meth:`~survival_core.io.clinical_schema.SchemaVariable.coerce`). ``stored``: an
    upload's stored copy, its numbers in normal form, so that one its whole uploaded file left
    undecided stays so whatever the rows and columns kept show (a '41,5' kept, a '72.5' not).

    Raises :class:`ClinicalValueError` for an unreadable file or one without a ``case_id`` column.
    """
    try:
        raw = source if isinstance(source, bytes) else Path(source).read_bytes()
        table, _ = read_delimited(
            raw,
            "The clinical CSV",
            text_columns=_is_case_id,
            keep_undecided=True,
            normal_form=stored,
        )
    except OSError as err:
        raise ClinicalValueError(f"The clinical CSV could not be read: {err}") from err
    except InputError as err:
        raise ClinicalValueError(str(err)) from err
    headers = [parse_header(str(c).strip()) for c in table.columns]
    table.columns = [h.name for h in headers]  # 'Albumin (g/L)' is albumin, 'Case ID' case_id
    table.attrs["units"] = {h.name: h.unit for h in headers if h.unit}
    table.attrs["headers"] = {h.name: h.text for h in headers}  # as written: 'tsize (cm)'
    repeated = sorted({c for c in table.columns if list(table.columns).count(c) > 1})
    if repeated:
        raise ClinicalValueError(
            f"The clinical CSV has more than one column named {', '.join(map(repr, repeated))} "
            "(names compared ignoring case and spaces); keep one of each."
        )
    if "case_id" not in table.columns:
        raise ClinicalValueError(
            f"The clinical CSV has no case_id column (columns: {', '.join(table.columns)})."
        )
    table = table.dropna(how="all")
    table["case_id"] = table["case_id"].astype(str).str.strip()
    return table


#: Columns of a clinical table that are not clinical variables.
OUTCOME_COLUMNS = frozenset({"case_id", "time", "event"})


def key_names(key: object) -> set[str]:
    """The variable names a clinical key or header may be read as: its normalised form ('ECOG',
    ' Tumor Size ' -> ecog, tumor_size) and the name :func:`parse_header` reads in it without its
    unit ('Albumin (g/L)' -> albumin), as a clinical CSV's headers are read."""
    text = str(key).strip()
    return {normalise_name(text), parse_header(text).name}


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's ``(key, value)`` pairs as a dict (``json.loads``'s ``object_pairs_hook``),
    refusing a key given twice: JSON keeps the last one silently (a tsize of 21, then of 80, was
    scored 80)."""
    read: dict[str, Any] = {}
    for key, value in pairs:
        if key in read:
            raise ClinicalValueError(
                f"{key!r} is given twice ({read[key]!r} and {value!r}): keep the right one."
            )
        read[key] = value
    return read


#: A cell count's unit (platelets, neutrophils, lymphocytes, WBC), as :func:`_unit_key` writes it.
_CELL_COUNT = "10^9/l"
#: Units written otherwise that are the same quantity (1 ug/L = 1 ng/mL: AFP is reported in
#: either), by :func:`_unit_key`; each maps to one spelling.
_SAME_UNITS = {
    "ug/l": "ng/ml",
    "mg/l": "ug/ml",
    "g/l": "mg/ml",
    "mmol/l": "umol/ml",
    "umol/l": "nmol/ml",
    "iu/l": "miu/ml",
    "u/l": "mu/ml",
    "kiu/l": "iu/ml",
    # a cell count: 10^3 per uL (= per mm3) and one per nL are 10^9 per L, as US, German and
    # French laboratories write it
    "10^3/ul": _CELL_COUNT,
    "10^3/mm3": _CELL_COUNT,
    "k/ul": _CELL_COUNT,
    "/nl": _CELL_COUNT,
    "giga/l": _CELL_COUNT,
}
#: 'G/L' with a capital G: giga per litre, as French laboratories write a cell count (10^9/L);
#: 'g/L' is grams per litre, as is 'G/L' of any other variable (:func:`counts_cells`).
_GIGA_PER_LITRE = re.compile(r"\s*G\s*/\s*[lL]\s*")
#: Words of a variable's name saying it is a cell count (:func:`counts_cells`).
_CELL_COUNT_WORDS = frozenset(
    {
        "platelet", "platelets", "plt", "thrombocytes", "wbc", "leukocytes", "leucocytes",
        "neutrophil", "neutrophils", "neut", "anc", "lymphocyte", "lymphocytes", "lymph", "alc",
        "monocyte", "monocytes", "amc", "eosinophil", "eosinophils", "eos", "aec", "basophil",
        "basophils",
    }
)  # fmt: skip
#: Time units as their words write them ('yrs', 'mos', 'jours': years, months, days), but the
#: one-letter ones ('m' may be metres, 'd' a vitamin's).
_TIME_UNITS = {alias: unit for alias, unit in TIME_UNIT_OF.items() if len(alias) > 1}
#: Words of a lymph node's name ('lymph nodes positive', 'lymph_node_count'): its 'lymph' is a
#: node's, not a lymphocyte count's (:func:`counts_cells`).
_NODE_WORDS = frozenset({"node", "nodes", "nodal", "ln", "lns"})
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def _unit_key(unit: str, cells: bool = False) -> str:
    if cells and _GIGA_PER_LITRE.fullmatch(unit):  # a cell count's 'G/L': giga per litre
        return _CELL_COUNT
    # the micro sign and the Greek mu alike (typed either way); units of one quantity alike
    key = unit.lower().replace("µ", "u").replace("μ", "u").replace("×", "x").replace(" ", "")
    key = key.removeprefix("x") if key.startswith("x10") else key  # 'x10^9/L' is 10^9/L
    # a power of ten written 10⁹, 10*9, 10**9 or 10E9 is 10^9
    key = re.sub(r"^10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", lambda m: "10^" + m[1].translate(_SUPERSCRIPTS), key)
    key = re.sub(r"^10(?:\*\*?|e)(\d)", r"10^\1", key)
    return _SAME_UNITS.get(key, _TIME_UNITS.get(key, key))


def counts_cells(name: str, unit: str) -> bool:
    """Whether the variable ``name``, recorded in ``unit``, is a cell count (platelets, WBC,
    neutrophils…, or recorded in 10^9/L however written; not a lymph node count, 'lymph_nodes'),
    whose 'G/L' is giga per litre. Told by
    the variable, not by the unit 'G/L' is compared with: read as either, albumin in 'G/L' took
    '10^3/µL' for its own unit."""
    words = set(re.split(r"[^a-z]+", name.lower()))
    named = bool(words & _CELL_COUNT_WORDS) and not (words & _NODE_WORDS and "lymph" in words)
    return named or _unit_key(unit) == _CELL_COUNT


def same_unit(unit: str, other: str, *, cells: bool = False) -> bool:
    """Whether two units are one, however written ('µg/L', 'ug/l' and 'ng/mL' alike; a cell
    count's 10^9/L, 10^3/µL, K/µL, /nL and G/L alike: 'Platelets (10^3/µL)' was refused as
    another unit, to convert, under a model of 10^9/L). 'G/L' is 10^9/L for a cell count
    (``cells``: :func:`counts_cells`), else grams per litre."""
    return _unit_key(unit, cells) == _unit_key(other, cells)


#: Kinds of quantity a clinical unit measures, by :func:`_unit_key`: an amount or a count per
#: volume (mg/dL, umol/L, ng/mL, IU/mL, 10^9/L, /uL), a length, a mass, a radiation dose.
_PER_VOLUME = re.compile(r"(?:10\^\d+|giga|[kmunp]?(?:g|mol|iu|u))?/(?:l|dl|ml|ul|mm3)")
_KINDS_OF_UNIT = {
    "length": frozenset({"mm", "cm"}),
    "mass": frozenset({"kg", "g", "lb", "lbs"}),
    "dose": frozenset({"gy", "cgy"}),
    "pressure": frozenset({"mmhg", "kpa"}),
    "time": frozenset(UNIT_ALIASES),
}


def _quantity(unit: str) -> str:
    """The kind of quantity ``unit`` measures (:data:`_KINDS_OF_UNIT`, or per volume); "" for
    none known (a word that is no unit: 'direct', 'total'). 'mmHg' and 'yrs' are known: 'sysbp
    mmHg' and 'age yrs' state a unit as 'sysbp (mmHg)' does, not a near miss of sysbp."""
    key = _unit_key(unit)
    if _PER_VOLUME.fullmatch(key):
        return "per volume"
    return next((kind for kind, units in _KINDS_OF_UNIT.items() if key in units), "")


def names_a_quantity(unit: str) -> bool:
    """Whether ``unit`` is a unit of a quantity :func:`same_quantity` knows (a length, a mass,
    a dose, a pressure, a time, an amount or a count per volume), not another word ('direct',
    'date')."""
    return _quantity(unit) != ""


def same_quantity(unit: str, other: str) -> bool:
    """Whether ``unit`` measures what ``other`` does, in it or another unit ('umol/L' and
    'mg/dL', 'cm' and 'mm'): a key naming a variable then such a unit bare ('Bilirubin umol/L')
    states that unit, as 'Bilirubin (umol/L)' does, to be checked against the model's."""
    return same_unit(unit, other) or _quantity(unit) == _quantity(other) != ""


def check_units(given: Mapping[str, str], expected: Mapping[str, str], source: str) -> None:
    """Refuse a column or key whose header states a unit (``given``: name -> unit) other than
    the variable's (``expected``): 'Bilirubin (mg/dL)' read as µmol/L would be off by 17 times."""
    for name, unit in given.items():
        wanted = expected.get(name, "")
        if wanted and not same_unit(unit, wanted, cells=counts_cells(name, wanted)):
            raise ClinicalValueError(
                f"{source} {name} in {unit}, but the model reads it in {wanted}: "
                f"convert the value to {wanted} (and the unit its name states)."
            )


def clinical_row(table: pd.DataFrame, case_id: str) -> dict[str, Any]:
    """The row of ``case_id`` as a dict; exactly one row must match."""
    rows = table[table["case_id"] == case_id]
    if len(rows) != 1:
        found = "no row" if rows.empty else f"{len(rows)} rows"
        raise ClinicalValueError(f"The clinical CSV has {found} for case {case_id!r}.")
    return rows.iloc[0].to_dict()
