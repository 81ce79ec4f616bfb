"""A cohort's own clinical schema: its variables (kind, unit, plausible range or categories).

Physicists bring cohorts whose clinical columns are their study's own (T/N stage, histology, HPV,
dose, ...). A :class:`CohortSchema` describes them, is drafted from a cleaned table by
:func:`infer_schema`, edited by hand as ``schema.yaml`` and checks one patient's values with
:meth:`CohortSchema.validate`: a missing value stays ``None`` and is reported, a value of the wrong
type, outside its plausible range or an unknown category raises :class:`ClinicalValueError`
naming the variable, the value and what was expected. :func:`hcc_schema` gives the demo cohort's
(HCC) schema in the same form, so one schema type serves every cohort.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from survival_core.errors import ClinicalValueError, InputError
from survival_core.io import atomic
from survival_core.io.clinical import (
    OUTCOME_COLUMNS,
    SCHEMA,
    ClinicalValues,
    ClinicalVariable,
    albi_grade,
    albi_score,
    check_units,
    is_missing,
    key_names,
    names_a_quantity,
    same_quantity,
)
from survival_core.io.delimited import without_space_groups
from survival_core.io.headers import normalise_name, parse_header
from survival_core.text import number_text

NUMBER, INTEGER, CATEGORY, YES_NO = "number", "integer", "category", "yes/no"
KINDS = (NUMBER, INTEGER, CATEGORY, YES_NO)
#: The same in the languages hospital exports come in (French, German, Spanish, Italian, Dutch,
#: Portuguese): the one list of yes and no abroad, an event's and a yes/no variable's alike.
YES_NO_ABROAD = {
    "oui": "yes",
    "non": "no",
    "ja": "yes",
    "nein": "no",
    "nee": "no",
    "sí": "yes",
    "sì": "yes",
    "si": "yes",
    "sim": "yes",
    "não": "no",
    "nao": "no",
}
#: Yes and no as a form or a clinical file writes them, and as the import reads them from
#: exports in other languages ('oui', 'nein': :data:`YES_NO_ABROAD`).
YES_TOKENS = frozenset({"1", "true", "yes", "y", "t", "positive", "pos", "present"}) | {
    word for word, meaning in YES_NO_ABROAD.items() if meaning == "yes"
}
NO_TOKENS = frozenset({"0", "false", "no", "n", "f", "negative", "neg", "absent"}) | {
    word for word, meaning in YES_NO_ABROAD.items() if meaning == "no"
}
#: The words of a yes/no column of a table (not '1'/'0', numbers, nor 't'/'f'): the cohort
#: import's and the model tables' alike (:func:`yes_no_words`).
YES_WORDS = YES_TOKENS - {"1", "t"}
NO_WORDS = NO_TOKENS - {"0", "f"}
#: Yes and no as one patient's value is typed: '+' in serology's habit, 'none' (no cirrhosis),
#: a no-value word of a table that typed for a yes/no says no. '-' is not here: a negative
#: serology or a test not done, as hospital tables write it, it is refused for a yes/no.
TYPED_YES_NO = {"+": True, "none": False}
#: No-value words a value typed for one patient may mean a value by: no for a yes/no ('none'),
#: a category's level where it lists one; refused otherwise, asking for a value or an empty
#: one (:meth:`SchemaVariable.read`).
_VALUE_WORDS = frozenset({"none", "-"})
#: Share of the observed span added below and above it when drafting a plausible range: wide
#: enough for a new patient beyond the cohort's (an 88-year-old beside a cohort of 21-80, whom
#: 10 % refused), narrow enough to catch a value in another unit.
RANGE_MARGIN = 0.5
#: Header words of an ordinal scale or a count (ECOG, grade, stage, score, number of ...): such
#: a column is an integer variable even when a cohort holds only its levels 0 and 1.
SCALE_WORDS = frozenset(
    {"ecog", "zubrod", "ps", "performance", "karnofsky", "kps", "grade", "stage", "score",
     "count", "number", "num", "nb", "n"}
)  # fmt: skip
#: Header words that make a scale's column a yes/no ("high grade", "early stage").
_YES_NO_WORDS = frozenset({"high", "low", "early", "late", "advanced", "any", "has", "is"})
#: Full ranges of the scales a header names, the first match winning (Karnofsky performance
#: status before the 0-4 ECOG/WHO one).
_SCALE_RANGES = (
    (frozenset({"karnofsky", "kps"}), (0, 100)),
    (frozenset({"ecog", "zubrod", "ps", "performance"}), (0, 4)),
)
_HCC_KINDS = {"float": NUMBER, "int": INTEGER, "bool": YES_NO, "category": CATEGORY}
#: The file a cohort folder and a model folder keep their clinical schema in.
SCHEMA_FILE = "schema.yaml"
#: The schema RadSurv last drafted into a cohort folder (to tell a user's edits from its draft).
DRAFTED_SCHEMA = ".schema.drafted.yaml"
#: The fields of a variable in ``schema.yaml``, in their order (the Cohort page edits them).
SCHEMA_FIELDS = ("name", "kind", "label", "unit", "low", "high", "categories", "ordered", "help")


def yes_no_words(present: pd.Series) -> pd.Series | None:
    """A column's present texts as True (yes) and False (no) when every one is a word of
    :data:`YES_WORDS` or :data:`NO_WORDS` ('yes', 'Nein', 'oui'), else None: read as text,
    'ja' was the reference level and 'nein' the coefficient, and a 'yes' unseen."""
    lowered = present.str.strip().str.lower()
    if not lowered.isin(YES_WORDS | NO_WORDS).all():
        return None
    return lowered.isin(YES_WORDS)


def natural_key(text: str) -> tuple:
    """Sort key putting "2" before "10" and "T2" before "T10" (digits compared as numbers)."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower())
        for part in re.split(r"(\d+)", text)
        if part
    )


def header_words(header: str) -> set[str]:
    """A header's words, lower case, split at anything not a letter or digit ('Hospital No',
    'institution_id', 'race_id'): what the centre, category-code and identifier rules read."""
    return set(re.split(r"[^a-z0-9]+", header.lower())) - {""}


def _scale_words(header: str) -> set[str]:
    """The header's words; none when one makes it a yes/no ("high grade")."""
    words = header_words(header)
    return set() if words & _YES_NO_WORDS else words


#: Header words of the centre a patient came from, and the words beside one in such a header
#: ('study site', 'treating hospital'; not 'hospital days', a length of stay). 'inst' is R's
#: survival::lung institution code ('ctr' is not one: a cardiothoracic ratio is a number).
CENTRE_WORDS = frozenset(
    {"hospital", "centre", "center", "site", "institution", "institute", "inst"}
)
_CENTRE_QUALIFIERS = frozenset(
    {"study", "trial", "treating", "treatment", "recruiting", "enrolling", "participating"}
)
#: Words naming a centre's code ('institution_id', 'site no'); not after 'hospital', whose
#: 'Hospital ID' and 'Hospital No' are the patient's hospital number, an identifier.
_CENTRE_CODE_WORDS = frozenset({"id", "code", "no", "nr", "number", "num"})


def names_a_centre(header: str) -> bool:
    """True when ``header`` names the centre a patient came from ('hospital', 'Centre', 'study
    site', 'inst', 'institution_id'): its codes are nominal whatever their writing. As an
    integer, hospitals 1/2/3 stepped a Cox model's risk per hospital number, and a new hospital
    4 was scored by extrapolation."""
    words = header_words(header)
    codes = frozenset() if "hospital" in words else _CENTRE_CODE_WORDS
    return bool(words & CENTRE_WORDS) and words <= CENTRE_WORDS | _CENTRE_QUALIFIERS | codes


#: Words of a patient's attribute whose '<attribute>_id' codes a category, never whose row it
#: is (I-SPY1's 'race_id'; 'site_id' is a centre's, :func:`names_a_centre`).
_CATEGORY_CODE_WORDS = frozenset(
    {"race", "ethnicity", "ethnic", "sex", "gender", "histology", "histologic", "histotype",
     "stage", "grade"}
)  # fmt: skip


def names_a_category_code(header: str) -> bool:
    """True when ``header`` names an attribute's code by the attribute and 'id' ('race_id',
    'Histology ID'): I-SPY1's race codes 1-50, dropped as an identifier for the 'id'."""
    words = header_words(header)
    return (
        "id" in words
        and bool(words & _CATEGORY_CODE_WORDS)
        and words <= _CATEGORY_CODE_WORDS | {"id"}
    )


def names_nominal_codes(header: str) -> bool:
    """True when ``header``'s numbers are nominal codes: a centre's (:func:`names_a_centre`) or
    an attribute's (:func:`names_a_category_code`), read as categories, never as a quantity."""
    return names_a_centre(header) or names_a_category_code(header)


def level_text(value: Any) -> str:
    """A category's value as its level's text: a whole number without its '.0' (a centre 2
    read as 2.0 from a column with a gap is level '2'), spaces collapsed."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def names_a_scale(header: str) -> bool:
    """True when ``header`` names an ordinal scale or a count (``ECOG``, ``WHO PS``, ``grade``,
    ``number of nodes``): its 0 and 1 are levels, not no/yes."""
    return bool(_scale_words(header) & SCALE_WORDS)


def _scale_range(header: str) -> tuple[int, int] | None:
    """The full range of the scale ``header`` names (ECOG 0-4, Karnofsky 0-100), if known."""
    words = _scale_words(header)
    return next((span for names, span in _SCALE_RANGES if words & names), None)


#: A number whose commas may group thousands or be a decimal comma: '1,200', '12,500,000'
#: (not '0,125', whose leading zero cannot start a thousands group).
_GROUPED_OR_DECIMAL = re.compile(r"[-+]?[1-9]\d{0,2}(?:,\d{3})+")
#: A number whose one dot may group thousands or be a decimal point: '1.200', '12.500' (not
#: '0.125', '1.25' nor '1234.500', which no thousands group writes).
_DOT_GROUPED_OR_DECIMAL = re.compile(r"[-+]?[1-9]\d{0,2}\.\d{3}")
#: A number with thousands grouped by commas and a decimal point: '1,200.5'.
_GROUPED = re.compile(r"[-+]?[1-9]\d{0,2}(?:,\d{3})+\.\d+")
#: A value below or above a detection limit ('<5', '> 400'), its limit as group 1.
_LIMIT = re.compile(r"[<>≤≥]=?\s*([-+]?\d+(?:[.,]\d+)?)")
#: A range of values ('20-30', '20 to 30').
_RANGE = re.compile(r"\d+(?:[.,]\d+)?\s*(?:-|–|to)\s*\d+(?:[.,]\d+)?")
#: A number followed by a unit ('21 mm', '3.5 cm', '66 %', '12 ng/mL').
_WITH_UNIT = re.compile(r"[-+]?\d+(?:[.,]\d+)?\s*(?:[^\W\d_]+|%)(?:/[^\W\d_]+)?")


def says_no_value(value: Any) -> bool:
    """Whether one patient's value says it is not known ('', 'NA', 'unknown', 'not done':
    :func:`is_missing`), whatever its variable: not 'none' nor '-', which may be a value
    (:data:`_VALUE_WORDS`)."""
    return is_missing(value) and not (
        isinstance(value, str) and value.strip().lower() in _VALUE_WORDS
    )


@dataclass(frozen=True)
class SchemaVariable:
    """One clinical variable: ``kind`` is one of :data:`KINDS`; ``low``/``high`` bound numbers
    (inclusive, in ``unit``), ``categories`` list a category's allowed values, ``ordered`` says
    their order is a scale (stage A < B < C; a drafted schema lists them alphabetically, which
    is no order: a histology or a centre)."""

    name: str
    kind: str
    label: str = ""
    unit: str = ""
    low: float | None = None
    high: float | None = None
    categories: tuple[str, ...] = ()
    ordered: bool = False
    help: str = ""

    def __post_init__(self) -> None:
        where = f"Clinical variable {self.name!r}"
        if not self.name or not str(self.name).strip():
            raise InputError("A clinical variable has no name.")
        if self.kind not in KINDS:
            raise InputError(f"{where}: kind {self.kind!r} is not one of {', '.join(KINDS)}.")
        if self.kind == CATEGORY and not self.categories:
            raise InputError(f"{where} is a category but lists no categories.")
        if self.kind != CATEGORY and self.categories:
            raise InputError(f"{where} is {self.kind}, so it cannot list categories.")
        if not isinstance(self.ordered, bool) or (self.ordered and self.kind != CATEGORY):
            raise InputError(f"{where}: ordered is true or false, and only for a category.")
        if self.kind not in (NUMBER, INTEGER) and (self.low is not None or self.high is not None):
            raise InputError(f"{where} is {self.kind}, so it cannot have a low/high range.")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise InputError(f"{where}: low {self.low:g} is above high {self.high:g}.")
        object.__setattr__(self, "categories", tuple(str(c) for c in self.categories))

    @property
    def title(self) -> str:
        """How messages name the variable: ``Age (age)``."""
        return (
            f"{self.label} ({self.name})" if self.label and self.label != self.name else self.name
        )

    def range_text(self) -> str:
        """The plausible range as text: ``18-100 years``, ``at least 0 Gy``, ``any``."""
        unit = f" {self.unit}" if self.unit else ""
        if self.low is not None and self.high is not None:
            return f"{number_text(self.low)}-{number_text(self.high)}{unit}"
        if self.low is not None:
            return f"at least {number_text(self.low)}{unit}"
        if self.high is not None:
            return f"at most {number_text(self.high)}{unit}"
        return "any"

    def check_unit(self, unit: str, source: str) -> None:
        """Refuse a ``unit`` a key or header states for the variable ('Bilirubin (mg/dL)')
        other than its own (:func:`check_units`), or any unit for a number whose model records
        none, nor its name states ('tsize (cm)' under GBSG2's tsize, fitted in mm without a
        schema: 9.5 cm was scored as 9.5 mm, in the low risk group)."""
        numeric = self.kind in (NUMBER, INTEGER)
        named = [parse_header(t).unit for t in (self.name, self.label) if t] if numeric else []
        wanted = self.unit or next((u for u in named if u), "")
        check_units({self.name: unit}, {self.name: wanted}, source)
        if wanted or not numeric or not names_a_unit(unit):
            return
        known = (
            f" Its plausible range: {self.range_text()}."
            if self.low is not None or self.high is not None
            else f" {self.help}"
            if self.help
            else ""
        )
        raise ClinicalValueError(
            f"{source} {self.name} in {unit}, but the model records no unit for {self.name}: "
            f"give the value as its training table wrote it, without a unit (under "
            f"{self.name!r}).{known}"
        )

    def coerce(self, value: Any) -> bool | int | float | str:
        """One present value converted to the variable's type (yes/no -> bool, integer -> int,
        number -> float, category -> its listed spelling) and checked; raises
        :class:`ClinicalValueError` naming the variable, the value and what was expected."""
        if self.kind == YES_NO:
            return self._yes_no(value)
        if self.kind == CATEGORY:
            return self._category(value)
        return self._number(value)

    def read(self, value: Any) -> bool | int | float | str | None:
        """One patient's value as :meth:`coerce` reads it, None where it says no value
        (:func:`says_no_value`); 'none' and '-' by the variable's kind (:meth:`_value_word`)."""
        if says_no_value(value):
            return None
        # 'none' or '-' (missing words that may be a value): read by the variable's kind
        return self._value_word(value) if is_missing(value) else self.coerce(value)

    def _value_word(self, value: str) -> bool | str:
        """'none' or '-' typed for one patient: a yes/no's 'none' is no (no cirrhosis), a
        category's level where it lists one; else refused, saying what to write: read as no
        value, the training cohort's typical value was imputed (a cirrhosis 'none' scored as
        present, a node count 'none' as 3), and a yes/no's '-' (negative, or not done?) was read
        as no where a cohort import of the same cell reads no value."""
        text = value.strip().casefold()
        if self.kind == YES_NO and text in TYPED_YES_NO:
            return TYPED_YES_NO[text]
        level = next((c for c in self.categories if c.casefold() == text), None)
        if level is not None:
            return level
        if self.kind in (NUMBER, INTEGER):
            meant = self._number_meant(text)
        elif self.kind == YES_NO:
            meant = "no (or yes)"
        else:
            meant = f"one of {', '.join(self.categories)}"
        raise ClinicalValueError(
            f"{self.title}: {value!r} may mean no value or a value: write {meant}, or leave it "
            "empty (or NA) where it is not known."
        )

    def _number_meant(self, text: str) -> str:
        """What to write for a number's 'none' or '-' (``text``, case folded): 0 for a 'none'
        where the range holds 0 (GBSG2's positive nodes), else its value: a '-' of an age or a
        lab value is not recorded, and 0 would be made-up data."""
        zero = (self.low is None or self.low <= 0) and (self.high is None or self.high >= 0)
        if text == "none" and zero:
            return "0 if it means none, else the number"
        return f"the value in {self.unit}" if self.unit else "the value"

    def _yes_no(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
            return bool(value)
        text = str(value).strip().lower()
        if text in TYPED_YES_NO:
            return TYPED_YES_NO[text]
        if text in YES_TOKENS:
            return True
        if text in NO_TOKENS:
            return False
        raise ClinicalValueError(
            f"{self.title}: {value!r} is not yes/no (use yes/no, true/false, 1/0 or +)."
        )

    def _category(self, value: Any) -> str:
        text = level_text(value)
        for category in self.categories:
            if text.casefold() == category.casefold():
                return category
        levels = {c.casefold(): c for c in self.categories}
        if set(levels) == {"no", "yes"}:  # GBSG2's horTh: 'Y', 1, TRUE (a CSV's boolean), 'ja'
            with contextlib.suppress(ClinicalValueError):
                return levels["yes" if self._yes_no(value) else "no"]
        raise ClinicalValueError(
            f"{self.title}: {value!r} is not one of {', '.join(self.categories)}."
        )

    @property
    def zero_one(self) -> bool:
        """Whether the variable is a 0/1 code read as a number (an integer of range 0-1, as a
        model trained without a schema records WHAS500's gender, chf or sho): yes/no words read
        as 1/0 too, any other number is refused (:meth:`_not_zero_one`)."""
        return self.kind == INTEGER and (self.low, self.high) == (0, 1)

    def _zero_one(self, value: Any) -> int | None:
        """A 0/1 code's yes/no word or boolean as 1/0; None for anything else (read as a number,
        then refused unless 0 or 1: :meth:`_number`). Not 'F' nor 'T': a gender's F is female,
        not false."""
        words = (YES_TOKENS | NO_TOKENS | TYPED_YES_NO.keys()) - {"f", "t"}
        if isinstance(value, bool | np.bool_) or (
            isinstance(value, str) and value.strip().lower() in words
        ):
            return int(self._yes_no(value))
        return None

    def _not_zero_one(self, value: Any) -> ClinicalValueError:
        """The refusal of a 0/1 code's other number: a sheet coding it 1/2 (WHAS500's gender)
        was scored by extrapolating the model's 0/1 slope to 2, with a range caution alone."""
        return ClinicalValueError(
            f"{self.title}: {value!r} is not 0 or 1: the model learned {self.name} as a 0/1 "
            "code (yes/no also read as 1/0). Does the sheet code it 1/2? Write its value as the "
            "training table coded it, 0 or 1."
        )

    def _number(self, value: Any) -> int | float:
        if self.zero_one and (code := self._zero_one(value)) is not None:
            return code
        if isinstance(value, bool | np.bool_):
            raise ClinicalValueError(f"{self.title}: {value!r} is yes/no, not a number.")
        try:
            if isinstance(value, str):
                text = without_space_groups(value.strip())  # '1 234,5' as a French Excel writes
                for pattern, separator in (
                    (_GROUPED_OR_DECIMAL, ","),
                    (_DOT_GROUPED_OR_DECIMAL, "."),
                ):
                    if pattern.fullmatch(text):  # '1,200' or '1.200': 1200, or 1.2?
                        text = self._plausible_reading(value, text, separator)
                if "_" in text:  # Python reads '1_000' as 1000 and '2_1' as 21
                    raise ValueError(text)
                if _GROUPED.fullmatch(text):  # '1,200.5': the point says the comma groups
                    text = text.replace(",", "")
                elif re.fullmatch(r"[-+]?\d+,\d+", text):
                    text = text.replace(",", ".")
                number = float(text)
            else:
                number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ClinicalValueError(
                f"{self.title}: {value!r} is not a number{self._number_advice(value)}."
            ) from None
        if not math.isfinite(number):
            raise ClinicalValueError(f"{self.title}: {value!r} is not a finite number.")
        if self.zero_one and number not in (0, 1):
            raise self._not_zero_one(value)
        if self.kind == INTEGER:
            if not number.is_integer():
                raise ClinicalValueError(f"{self.title}: {value!r} must be a whole number.")
            number = int(number)
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            unit = f" {self.unit}" if self.unit else ""
            raise ClinicalValueError(
                f"{self.title}: {value!r}{unit} is outside the plausible range "
                f"{self.range_text()}. Check the value and its unit."
            )
        return number

    def _plausible_reading(self, value: str, text: str, separator: str) -> str:
        """The one reading of a number whose ``separator`` may group thousands or mark decimals
        that the variable's plausible range holds ('-2.600' for an ALBI score of -4 to 0, never
        -2600), as text; refused as ambiguous where both or neither are (or no range says)."""
        grouped = float(text.replace(separator, ""))
        decimal = float(text.replace(",", ".")) if text.count(separator) == 1 else None
        plausible = [
            number
            for number in (grouped, decimal)
            if number is not None
            and self.low is not None
            and self.high is not None
            and self.low <= number <= self.high
            and (self.kind != INTEGER or number == int(number))
        ]
        if len(plausible) != 1:
            raise self._ambiguous(value, text, separator)
        return repr(plausible[0])

    def _ambiguous(self, value: str, text: str, separator: str) -> ClinicalValueError:
        """The refusal of a number whose ``separator`` may group thousands or mark decimals."""
        grouped = text.replace(separator, "")
        decimal = f"{float(text.replace(',', '.')):g}" if text.count(separator) == 1 else ""
        choice = f"{decimal} or {grouped}" if decimal else grouped
        return ClinicalValueError(
            f"{self.title}: {value!r} is ambiguous: {grouped} with a thousands separator, or a "
            f"decimal {'comma' if separator == ',' else 'point'}? Write {choice}: the number "
            "without a thousands separator and with a decimal point."
        )

    def _number_advice(self, value: Any) -> str:
        """What to write instead of a text that is not a number ('21 mm', '<5', '20-30'), as the
        refusal's end; "" where none is known."""
        text = str(value).strip() if isinstance(value, str) else ""
        unit = f", in {self.unit}" if self.unit else ""
        limit = _LIMIT.fullmatch(text)
        if limit:
            return (
                f": for a value below or above a detection limit, write the limit itself "
                f"({limit.group(1)}{unit})"
            )
        if "_" in text:
            return f": write it without '_' ({text.replace('_', '')}?)"
        if _RANGE.fullmatch(text):
            return f": write one number{unit}, not a range"
        if _WITH_UNIT.fullmatch(text):
            return f": write the number alone{unit}"
        return ""


def _compact(text: str) -> str:
    """A name or key as keys are compared: normalised, without separators ('Cell type',
    'Celltype' and 'cell_type' alike)."""
    return normalise_name(text).replace("_", "")


def _key_variables(key: Any, variables: Iterable[SchemaVariable]) -> tuple[set[str], str]:
    """The variables a key names and the unit it states for them: by its variable's name, else
    as a header reads, whole ('Age_in_years', 'Cell type', 'Child-Pugh class': its name or label,
    case, spaces and punctuation aside; no unit) or without the unit it states ('Albumin (g/L)',
    'Total bilirubin (mg/dL)': that unit; 'Age_in_years (years)', its rest read as a name or
    label whole or without the unit it states). A key naming a variable whole is that variable,
    not another's name followed by a unit ('Dose_Gy' beside dose and dose_gy is dose_gy: it was
    refused as reading as either)."""
    variables = list(variables)
    names = [v.name for v in variables]
    if key in names:
        return {key}, ""
    read = _KeyRead.of(key)
    how = [(v, read.reads_as(v)) for v in variables]
    whole = [v for v, way in how if way == "whole"]
    if whole and not read.unit:  # a unit in brackets ('Tumor size (mm)') may be either's
        return {v.name for v in whole}, ""
    named = [v for v, way in how if way]
    return {v.name for v in named}, "" if whole or not named else read.unit_of(named[0])


@dataclass(frozen=True)
class _KeyRead:
    """A clinical key as it is compared with variables, normalised once for them all: ``key``
    itself, ``text`` (it stripped), ``whole`` and ``bare`` (its text and its header's name
    without the unit it states, :func:`_compact`) and that ``unit``."""

    key: Any
    text: str
    whole: str
    bare: str
    unit: str

    @classmethod
    def of(cls, key: Any) -> _KeyRead:
        text = str(key).strip()
        header = parse_header(text)
        return cls(key, text, _compact(text), _compact(header.name), header.unit)

    def reads_as(self, variable: SchemaVariable) -> str:
        """How the key reads as ``variable``: "name" (its exact name), "whole" (its name or
        label as a header reads, whole: no unit), "unit" (its name or label without the unit
        the key states, or followed by a unit of it bare: :func:`_unit_after_name`);
        "" where it does not."""
        if self.key == variable.name:
            return "name"
        if self.whole in _forms(variable, whole=True):
            return "whole"
        if self.bare in _any_forms(variable) or _unit_after_name(self.text, variable):
            return "unit"
        return ""

    def unit_of(self, variable: SchemaVariable) -> str:
        """The unit the key states for ``variable``, which it reads as: bracketed or a time
        unit (:func:`parse_header`), else written bare after its name (:func:`_unit_after_name`);
        "" for none."""
        return self.unit or _unit_after_name(self.text, variable)


def _unit_after_name(text: str, variable: SchemaVariable) -> str:
    """The unit a key states bare after a variable's name or label, as written ('AFP ng/mL',
    'Bilirubin umol/L', 'tsize_cm': as 'AFP (ng/mL)' states it in brackets), where it is a unit
    of what the variable's unit measures (:func:`same_quantity`: 'Bilirubin umol/L' under a
    model of mg/dL, read so and refused, not taken for a near miss whose advice, the value under
    'bilirubin', scored 20 umol/L as 20 mg/dL) or, for a number whose model records no unit, of
    a quantity known (:func:`names_a_quantity`: 'tsize cm' under GBSG2's tsize fitted in mm,
    refused as 'tsize (cm)' is, where the near miss's advice scored 9.5 cm as 9.5 mm); "" for
    none. A word that is no such unit ('Bilirubin direct', another quantity) is no such key."""
    if variable.unit:
        states = functools.partial(same_quantity, other=variable.unit)
    elif variable.kind in (NUMBER, INTEGER):
        states = names_a_quantity
    else:
        return ""
    words = re.split(r"[\s_]+", text.strip())
    return next(
        (
            unit
            for at in range(1, len(words))
            if states(unit := " ".join(words[at:]))
            and _compact(" ".join(words[:at])) in _any_forms(variable)
        ),
        "",
    )


def _forms(variable: SchemaVariable, *, whole: bool) -> set[str]:
    """A variable's name and label as keys are compared (:func:`_compact`), ``whole`` or
    without the unit they state ('Age_in_years' as age)."""
    texts = [t for t in (variable.name, variable.label) if t]
    return {_compact(t if whole else parse_header(t).name) for t in texts}


def _any_forms(variable: SchemaVariable) -> set[str]:
    """A variable's name and label as keys are compared, whole or without the unit they state
    ('Age_in_years' as ageinyears and age)."""
    return _forms(variable, whole=True) | _forms(variable, whole=False)


#: Words of a header's brackets that list a variable's values, not its unit ('yes/no', 'M/F').
_LEVEL_WORDS = YES_TOKENS | NO_TOKENS | {"m", "male", "female"}
#: Words of a header's brackets that say its number has no unit ('INR (ratio)', 'nodes (count)',
#: 'Child-Pugh (points)'; 'n' is a level word); a percentage's '%' is a unit.
_UNITLESS_WORDS = frozenset({"ratio", "index", "score", "points", "count", "number"})


def names_a_unit(text: str) -> bool:
    """Whether a header's bracket names a unit ('cm', '%', 'U/L'), not the values its variable
    takes ('0-4', '0/1', 'y/n', 'M/F') nor that it has none ('ratio', 'count', 'points')."""
    if re.fullmatch(r"[\d\s.,\-\u2013/<>=+]*", text):
        return False
    words = _LEVEL_WORDS | _UNITLESS_WORDS
    return not all(w.strip().lower() in words for w in re.split(r"[/,;|]", text))


@dataclass(frozen=True)
class CohortSchema:
    """A cohort's clinical variables, in display order; names are unique."""

    variables: tuple[SchemaVariable, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "variables", tuple(self.variables))
        names = [v.name for v in self.variables]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InputError(f"The clinical schema names {', '.join(repeated)} more than once.")
        reserved = sorted(OUTCOME_COLUMNS & set(names))
        if reserved:
            raise InputError(
                f"The clinical schema cannot have a variable named {', '.join(reserved)}: "
                "those names hold the case id and the outcome."
            )

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def in_order(self, names: Iterable[str]) -> list[str]:
        """``names`` in the schema's order (its variables', the sheet's as the cohort import
        kept it), the others after them as given: a model's inputs are taken in name order,
        which drew and listed 'Dose, T stage' for a sheet's 'T stage, Dose'."""
        position = {name: i for i, name in enumerate(self.names)}
        return sorted(names, key=lambda name: position.get(name, len(position)))

    def __getitem__(self, name: str) -> SchemaVariable:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(f"The clinical schema has no variable {name!r} (it has {self.names}).")

    def validate(
        self,
        values: Mapping[str, Any],
        *,
        strict_unknown: bool = False,
        refused: dict[str, str] | None = None,
        source: str = "The clinical values give",
    ) -> ClinicalValues:
        """Check one patient's values (a form dict or a table row).

        Every schema variable appears in the result, ``None`` where missing (and then listed in
        ``missing``); a key is matched to its variable as :meth:`keys` matches it; keys that are
        not variables (other than case_id, time, event) are listed in ``unknown`` and ignored
        unless ``strict_unknown``. A bad value raises :class:`ClinicalValueError`; with
        ``refused`` given, it is left out (None) and its reason kept there by variable instead,
        for a reader who corrects it (the app's form). ``source``: where the values come from,
        as a unit's refusal names it (:meth:`keys`).
        """
        keys, unknown = self.keys(values, source)
        if strict_unknown and unknown:
            raise ClinicalValueError(f"Unknown clinical variable(s): {', '.join(unknown)}.")
        checked: dict[str, Any] = {}
        missing: list[str] = []
        for variable in self.variables:
            key = keys.get(variable.name)
            try:
                checked[variable.name] = variable.read(values[key]) if key is not None else None
            except ClinicalValueError as err:
                if refused is None:
                    raise
                refused[variable.name], checked[variable.name] = str(err), None
            if checked[variable.name] is None:
                missing.append(variable.name)
        if _derives_albi(self):  # the demo's variables, as validate_clinical reads them
            _derive_albi(checked, missing)
        return ClinicalValues(values=checked, missing=missing, unknown=unknown)

    def keys(
        self, values: Mapping[Any, Any], source: str = "The clinical values give"
    ) -> tuple[dict[str, Any], list[str]]:
        """Each variable's key in ``values`` and the keys that are none (case_id, time and event
        aside). A key is a variable's where it is its name or reads as its name or label as a
        clinical CSV's header does, case, spaces and punctuation aside (:func:`_key_variables`:
        'AFP', ' Tumor size ', 'Cell type' for Celltype, 'Total bilirubin' for bilirubin, the
        label the Case page's form shows: an uploaded clinical.json lost every key not in lower
        case, and a label was ignored, its variable imputed). A variable given under two keys
        ('Tsize' and 'TSIZE': the last one won) is refused naming both values, as is a key
        stating a unit its variable does not read with a number (:meth:`SchemaVariable.check_unit`;
        another value is read as under the variable's own key: :func:`_has_a_number`), naming
        ``source`` ('The clinical CSV gives': an upload's refusal named no file)."""
        found: dict[str, list[Any]] = {}
        stated: dict[str, str] = {}
        unknown: list[str] = []
        for key in values:
            read, unit = _key_variables(key, self.variables)
            if len(read) > 1:  # 'Tumor size (mm)' naming both tumor_size and tumor
                raise ClinicalValueError(
                    f"{key!r} reads as {' or '.join(sorted(read))}: name it by one of them."
                )
            if read:
                name = read.pop()
                if name not in found:  # the unit of its first key, checked once it is one key
                    stated[name] = unit
                found.setdefault(name, []).append(key)
            elif not key_names(key) & OUTCOME_COLUMNS:
                unknown.append(str(key))
        for name, given in found.items():
            if len(given) > 1:
                times = "twice" if len(given) == 2 else f"{len(given)} times"
                both = " and ".join(f"{k!r}: {values[k]!r}" for k in given)
                raise ClinicalValueError(
                    f"{self[name].title} is given {times} ({both}): keep the right one."
                )
        for name, unit in stated.items():
            if unit and _has_a_number(self[name], values[found[name][0]]):
                self[name].check_unit(unit, source)
        return {name: given[0] for name, given in found.items()}, unknown

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for YAML/JSON): empty fields left out."""
        rows = []
        for variable in self.variables:
            row = asdict(variable)
            row["categories"] = list(variable.categories)
            rows.append(
                {k: v for k, v in row.items() if v not in (None, "", []) and v is not False}
            )
        return {"variables": rows}

    @classmethod
    def from_dict(cls, document: Any, *, source: str = "The clinical schema") -> CohortSchema:
        """The schema from :meth:`to_dict`'s form; an :class:`InputError` names what is wrong."""
        if not isinstance(document, Mapping) or not isinstance(document.get("variables"), list):
            raise InputError(f"{source} must be a mapping with a 'variables' list.")
        variables = []
        for i, row in enumerate(document["variables"], start=1):
            if not isinstance(row, Mapping):
                raise InputError(f"{source}: variable {i} is not a mapping of its fields.")
            extra = sorted(set(map(str, row)) - set(SCHEMA_FIELDS))
            if extra:
                raise InputError(
                    f"{source}: variable {i} ({row.get('name')!r}) has unknown field(s) "
                    f"{', '.join(extra)}; fields are {', '.join(SCHEMA_FIELDS)}."
                )
            if "name" not in row or "kind" not in row:
                raise InputError(f"{source}: variable {i} needs a name and a kind.")
            fields = dict(row)
            for bound in ("low", "high"):
                if fields.get(bound) is not None and not isinstance(fields[bound], int | float):
                    raise InputError(
                        f"{source}: {bound} of {row['name']!r} must be a number; "
                        f"got {fields[bound]!r}."
                    )
            if isinstance(fields.get("categories"), str):
                raise InputError(
                    f"{source}: categories of {row['name']!r} must be a list, e.g. [T1, T2]; "
                    f"got {fields['categories']!r}."
                )
            fields["name"] = str(fields["name"])
            fields["categories"] = tuple(fields.get("categories") or ())
            try:
                variables.append(SchemaVariable(**fields))
            except InputError as err:
                raise InputError(f"{source}: {err}") from None
        return cls(tuple(variables))

    def save(self, path: str | Path) -> Path:
        """Write the schema as YAML (``schema.yaml``), atomically."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        return atomic.write_text(path, text)

    @classmethod
    def load(cls, path: str | Path) -> CohortSchema:
        """Read a ``schema.yaml`` written by :meth:`save` (or by hand)."""
        path = Path(path)
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"Clinical schema {path} does not exist.") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise InputError(f"Clinical schema {path} could not be read: {err}") from None
        return cls.from_dict(document, source=f"Clinical schema {path}")


def _nice_range(low: float, high: float, *, whole: bool) -> tuple[float, float]:
    """``[low, high]`` widened by :data:`RANGE_MARGIN` of its span and rounded outwards to a step
    a tenth of the span's order of magnitude; never below 0 for non-negative data."""
    span = high - low
    margin = RANGE_MARGIN * (span if span > 0 else max(abs(high), 1.0))
    wide_low, wide_high = low - margin, high + margin
    step = 10.0 ** (math.floor(math.log10(wide_high - wide_low)) - 1)
    if whole:
        step = max(step, 1.0)
    digits = max(0, -math.floor(math.log10(step)))
    nice_low = round(math.floor(wide_low / step) * step, digits)
    nice_high = round(math.ceil(wide_high / step) * step, digits)
    if low >= 0:
        nice_low = max(nice_low, 0.0)
    if whole:
        return int(nice_low), int(nice_high)
    return nice_low, nice_high


def _infer_variable(name: str, column: pd.Series, unit: str, label: str) -> SchemaVariable:
    present = column.dropna()
    if pd.api.types.is_bool_dtype(column.dtype) or (
        column.dtype == object and len(present) and present.map(type).isin([bool, np.bool_]).all()
    ):
        return SchemaVariable(name, YES_NO, label, unit)
    if pd.api.types.is_numeric_dtype(column.dtype) and not names_nominal_codes(name):
        whole = pd.api.types.is_integer_dtype(column.dtype)
        kind = INTEGER if whole else NUMBER
        if present.empty:
            return SchemaVariable(name, kind, label, unit)
        observed = float(present.min()), float(present.max())
        scale = _scale_range(f"{name} {label}") if whole else None
        if scale is not None:  # the scale's levels a small cohort may not show (ECOG 3, 4)
            low, high = int(min(scale[0], observed[0])), int(max(scale[1], observed[1]))
        else:
            low, high = _nice_range(*observed, whole=whole)
        return SchemaVariable(name, kind, label, unit, low, high)
    categories = sorted({level_text(v) for v in present}, key=natural_key)
    if not categories:
        raise InputError(f"Column {name!r} has no values to draft its categories from.")
    return SchemaVariable(name, CATEGORY, label, unit, categories=tuple(categories))


def infer_schema(
    table: pd.DataFrame,
    *,
    units: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> CohortSchema:
    """Draft a schema from a cleaned table (one column per variable; case_id, time and event are
    skipped): bool columns are yes/no, integer columns integer, float columns number, anything else
    a category with its observed values (natural order), as are a centre's or an attribute's
    codes written as numbers (:func:`names_nominal_codes`). Ranges are the observed ones widened by
    :data:`RANGE_MARGIN` of their span and rounded outwards, or for an integer column naming a
    known scale (ECOG, Karnofsky) the scale's range. ``units``/``labels`` by column name."""
    units, labels = units or {}, labels or {}
    variables = []
    for name in table.columns:
        if name in OUTCOME_COLUMNS:
            continue
        column = table[name]
        if isinstance(column, pd.DataFrame):
            raise InputError(f"The clinical table has more than one column named {name!r}.")
        variables.append(
            _infer_variable(str(name), column, units.get(name, ""), labels.get(name, str(name)))
        )
    return CohortSchema(tuple(variables))


#: How alike (:class:`difflib.SequenceMatcher`'s ratio) an ignored key and a missing variable's
#: name or label are where the key nearly names it ('albumen' and albumin: 0.86).
NEAR_MISS = 0.8
#: Words a key adds to a variable's name where it names something about the variable, not its
#: value ('tsize_date', 'treatment_plan', 'hbv_dna'): no near miss.
_ABOUT_WORDS = frozenset(
    {"date", "time", "day", "plan", "comment", "comments", "note", "notes", "remark", "source",
     "site", "method", "dna", "rna"}
)  # fmt: skip


def refuse_near_misses(
    schema: CohortSchema, checked: ClinicalValues, source: str, values: Mapping[Any, Any]
) -> None:
    """ClinicalValueError when a key of ``values`` that is none of the variables
    (``checked.unknown``) nearly names one left missing ('karnofsky' beside Karnofsky_score,
    'ECOG PS' beside ecog, 'pnode' beside pnodes) with a value it could take, naming both:
    ignored, its variable was imputed and the value given lost. Not a key whose value says it
    is not known ('NA', 'unknown': :func:`says_no_value`): nothing is lost, the variable is
    missing as under its own key, and imputed and said so."""
    given = {str(k): v for k, v in values.items()}
    for key in checked.unknown:
        if says_no_value(given.get(key)):
            continue
        near = next(
            (n for n in checked.missing if _nearly_names(key, given.get(key), schema[n])), None
        )
        if near is not None:
            raise ClinicalValueError(
                f"{source}: {key!r} is none of the model's variables, while "
                f"{schema[near].title}, which it nearly names, is missing and would be imputed: "
                f"give the value under {near!r} (or leave {key!r} out if it is another value)."
            )


def _nearly_names(key: Any, value: Any, variable: SchemaVariable) -> bool:
    """Whether ``key`` nearly names ``variable``: one of its name or label forms holds the
    other and most of it (4 characters at least: 'ECOG PS' and ecog, not 'diagnosis' and
    Months_from_Diagnosis) or is :data:`NEAR_MISS` alike (3 characters at least: 'hrt' is no
    hr). Not a key adding a word of :data:`_ABOUT_WORDS` ('tsize_date'), nor one whose
    ``value`` the variable could not take (:func:`_could_take`)."""
    text = str(key).strip()
    named = set().union(*(header_words(t) for t in (variable.name, variable.label) if t))
    if (header_words(text) - named) & _ABOUT_WORDS or not _could_take(variable, value):
        return False
    read = _compact(parse_header(text).name)
    for form in _any_forms(variable):
        shorter, longer = sorted((read, form), key=len)
        if len(shorter) >= 4 and shorter in longer and 2 * len(shorter) > len(longer):
            return True
        if len(shorter) >= 3 and difflib.SequenceMatcher(None, read, form).ratio() >= NEAR_MISS:
            return True
    return False


def reads_as_one_of(key: Any, variables: Iterable[SchemaVariable]) -> bool:
    """Whether a clinical ``key`` reads as one of ``variables`` as :meth:`CohortSchema.keys`
    reads it (case, spaces, punctuation and a stated unit aside: 'Cell type' for Celltype, 'AFP
    ng/mL' for afp in ng/mL), whatever its value: what an upload's clinical file keeps of its
    keys before any schema reads them (only keys of a variable's exact name were kept, a label
    read as none). A key naming the patient or a date ('Patient name', 'Age (DOB)') never does:
    its value identifies."""
    variables = list(variables)
    if names_the_patient(key) and str(key) not in {v.name for v in variables}:
        return False
    return bool(_key_variables(key, variables)[0])


def each_read_as(key: Any, variables: Iterable[SchemaVariable]) -> set[SchemaVariable]:
    """Those of ``variables`` a clinical ``key`` reads as, each alone (:func:`reads_as_one_of`
    of the key and that one variable), the key normalised once for them all: which variables an
    upload's stored keys give."""
    read = _KeyRead.of(key)
    patient = names_the_patient(key)
    return {v for v in variables if (not patient or str(key) == v.name) and read.reads_as(v)}


def names_the_patient(key: Any) -> bool:
    """Whether a clinical ``key`` names the patient, where they live or a date of theirs
    (:data:`_IDENTIFYING_WORDS`: 'Patient name', 'Age (DOB)'): its value identifies."""
    return bool(set(normalise_name(str(key)).split("_")) & _IDENTIFYING_WORDS)


def nearly_named(
    key: Any, variables: Iterable[SchemaVariable], values: Iterable[Any] = (None,)
) -> SchemaVariable | None:
    """The first of ``variables`` a key nearly names as :func:`refuse_near_misses` finds it
    ('karnofsky' beside Karnofsky_score) with one of ``values`` it could take (none given: any
    value), None if none: an upload stores no such key (its value may be anything: 'Patient
    name' nearly names patient_age), it names the variable to use."""
    values = list(values)
    return next(
        (v for v in variables if any(_nearly_names(key, value, v) for value in values)), None
    )


#: Words of a key naming the patient, where they live or a date of theirs: never stored from an
#: upload under a variable it reads as ('Age (DOB)' read as age; 'Patient name').
_IDENTIFYING_WORDS = frozenset(
    {"name", "surname", "forename", "initials", "dob", "birth", "birthdate", "address", "street",
     "postcode", "zip", "mrn", "nhs", "ssn", "insurance", "phone", "telephone", "email", "mail"}
)  # fmt: skip


def _has_a_number(variable: SchemaVariable, value: Any) -> bool:
    """Whether ``value`` is one the unit a key states for ``variable`` applies to: a number it
    could take, not one saying no value ('NA', 'n.d.': missing) nor a text ('-', 'pending'),
    read as under the variable's own key. Refused as in another unit, 'pending' was to be
    converted, where there is nothing to convert."""
    return not says_no_value(value) and _could_take(variable, value)


def _could_take(variable: SchemaVariable, value: Any) -> bool:
    """Whether a number ``variable`` reads ``value`` as one, its plausible range aside: a date
    or a text ('diagnosis': 'NSCLC' beside Months_from_Diagnosis) is another value. Any value
    of a variable of another kind."""
    if variable.kind not in (NUMBER, INTEGER):
        return True
    try:
        read_any_range(variable, value)
    except ClinicalValueError:
        return False
    return True


def read_any_range(variable: SchemaVariable, value: Any) -> Any:
    """``value`` as ``variable`` reads it (:meth:`SchemaVariable.read`: its plausible range tells
    '1,170' of an INR as 1.17), else as the variable without that range reads it: a number
    outside the range is read still, for the checks that refuse it. ClinicalValueError where
    neither reads it (no one number)."""
    try:
        return variable.read(value)
    except ClinicalValueError:
        return replace(variable, low=None, high=None).read(value)


def model_schema(model_folder: Path | str) -> CohortSchema | None:
    """The clinical schema a trained model carries (``schema.yaml`` in its folder; written when it
    was trained on an own cohort), or None for a model of the demo's HCC variables."""
    path = Path(model_folder) / SCHEMA_FILE
    return CohortSchema.load(path) if path.is_file() else None


def schema_beside(tables: Iterable[Path | str]) -> CohortSchema | None:
    """The cohort schema beside the first of ``tables`` that has one (``cohort import`` writes it
    next to ``clinical.csv``), or None (the demo's tables: the HCC variables)."""
    found = (model_schema(Path(table).parent) for table in tables)
    return next((schema for schema in found if schema is not None), None)


def hcc_schema(variables: Iterable[ClinicalVariable] = SCHEMA) -> CohortSchema:
    """The demo (HCC) cohort's schema, :data:`survival_core.io.clinical.SCHEMA`, as a
    :class:`CohortSchema`; its validation works ALBI score and grade out from albumin and
    bilirubin as :func:`validate_clinical` does."""
    return CohortSchema(
        tuple(
            SchemaVariable(
                name=v.name,
                kind=_HCC_KINDS[v.kind],
                label=v.label,
                unit=v.unit,
                low=v.low,
                high=v.high,
                categories=v.categories,
                ordered=len(v.categories) > 2,  # Child-Pugh, BCLC, mRECIST: scales
                help=v.help,
            )
            for v in variables
        )
    )


@functools.cache
def cached_hcc_schema() -> CohortSchema:
    """:func:`hcc_schema`, built once (frozen: shared, never changed): one reading of numbers,
    decimal commas, yes/no words, categories and missing-value tokens for the demo's variables
    and an own cohort's."""
    return hcc_schema()


#: The HCC variables ALBI is worked out from, and the ALBI score and grade.
ALBI_SOURCES = ("albumin", "bilirubin")
_ALBI_VARIABLES = (*ALBI_SOURCES, "albi_score", "albi_grade")


def _derives_albi(schema: CohortSchema) -> bool:
    """Whether ``schema`` holds the demo's albumin (g/L), bilirubin (umol/L) and ALBI variables,
    whose score and grade are then worked out, not imputed (another cohort's albumin in g/dL
    gives no ALBI)."""
    names = set(schema.names)
    return all(n in names and schema[n] == cached_hcc_schema()[n] for n in _ALBI_VARIABLES)


def _derive_albi(values: dict[str, Any], missing: list[str]) -> None:
    """ALBI score and grade from albumin and bilirubin when both are given, in place; a given
    score or grade contradicting them is refused. ``missing`` then lists the ALBI values still
    unknown, last."""
    if values["albumin"] is not None and values["bilirubin"] is not None:
        score = albi_score(values["bilirubin"], values["albumin"])
        given = values["albi_score"]
        if given is not None and abs(given - score) > 0.02:
            raise ClinicalValueError(
                f"ALBI score {given:.2f} contradicts albumin {values['albumin']:g} g/L and "
                f"bilirubin {values['bilirubin']:g} umol/L (expected {score:.2f})."
            )
        values["albi_score"] = round(score, 4)
    if values["albi_score"] is not None:
        grade = albi_grade(values["albi_score"])
        if values["albi_grade"] is not None and values["albi_grade"] != grade:
            raise ClinicalValueError(
                f"ALBI grade {values['albi_grade']} contradicts the ALBI score "
                f"{values['albi_score']:.2f} (grade {grade})."
            )
        values["albi_grade"] = grade
    missing[:] = [m for m in missing if m not in ("albi_score", "albi_grade")]
    missing.extend(n for n in ("albi_score", "albi_grade") if values[n] is None)


def derived_values(schema: CohortSchema, values: Mapping[str, Any]) -> dict[str, Any]:
    """The variables ``schema`` works out from others, worked out from ``values``: ALBI score and
    grade from albumin and bilirubin (:func:`_derive_albi`, as a form's values are), else those
    given where a source is missing (None where not given); {} for a schema deriving none. A page
    taking the sources (the Nomogram) shows these, not inputs of their own: albumin 20 g/L beside
    an ALBI of grade 2 scored a patient no form can give."""
    if not _derives_albi(schema):
        return {}
    worked = {"albumin": values.get("albumin"), "bilirubin": values.get("bilirubin")}
    sources = worked["albumin"] is not None and worked["bilirubin"] is not None
    worked |= {n: None if sources else values.get(n) for n in ("albi_score", "albi_grade")}
    _derive_albi(worked, [])
    return {name: worked[name] for name in ("albi_score", "albi_grade")}


def validate_clinical(
    raw: Mapping[str, Any],
    *,
    strict_unknown: bool = False,
    refused: dict[str, str] | None = None,
    source: str = "The clinical values give",
) -> ClinicalValues:
    """Validate a form dict or CSV row against :data:`SCHEMA` (:meth:`CohortSchema.validate` of
    :func:`hcc_schema`: keys read as an own cohort's are, 'AFP' as afp; a unit's refusal naming
    ``source``).

    Missing values are kept as ``None`` and listed in ``missing``; columns that are not clinical
    variables (case_id, time, event, ...) are listed in ``unknown`` and ignored unless
    ``strict_unknown``. ALBI score and grade are derived from albumin and bilirubin when both are
    given; a supplied ALBI score that contradicts them is an error.
    """
    given = {k: v for k, v in raw.items() if k != "true_log_hazard"}  # the simulated truth
    return cached_hcc_schema().validate(
        given, strict_unknown=strict_unknown, refused=refused, source=source
    )
