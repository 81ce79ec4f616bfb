"""Table preprocessing for survival models: any table in, a standardised float matrix out.

:class:`TablePreprocessor` is fitted on the training rows of a fold only and then applied unchanged
to validation and test rows. In order it:

1. drops identifier columns (``case_id`` and names made of tokens such as ``id``, ``uid``,
   ``patient``, ``mrn``) and the label columns (``time``, ``event`` by default) - never features;
2. treats bool, category and text columns as categorical (text columns whose values all read as
   numbers are numeric), other columns as numeric; date columns (also day numbers under a
   header naming a date, :func:`is_dates`) are dropped;
3. drops columns with more than ``max_missing_fraction`` missing values and constant columns;
4. imputes missing values with the training median (numeric) or the most frequent training
   category (categorical);
5. one-hot encodes categoricals with one ``name=value`` column per training category except the
   first in sorted order, the reference (all zeros), so a Cox model without penalty stays
   identifiable; a value that is a training category written in another case or with spaces is
   read as that category, and a category not seen in training is encoded as all zeros (the
   reference); both are reported in ``transform_notes_``;
6. z-scores every output column with the training mean and standard deviation.

It also keeps each numeric column's training distribution as its percentiles (1 %, 2 %, ...,
100 %; no patient's row), from which :meth:`TablePreprocessor.draw_inputs` draws the background
patients the tree models' attributions start from (a category's levels are drawn by their
training shares, the means of its indicator columns).

Every decision is recorded in ``notes_`` (strings a user can read) and in :meth:`to_dict`, which is
plain JSON, so a saved model carries its exact preprocessing.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from survival_core.columns import is_image_feature
from survival_core.errors import ConfigError, InputError
from survival_core.io.clinical import MISSING_CODES, no_value_numbers
from survival_core.io.clinical_schema import (
    header_words,
    level_text,
    names_a_centre,
    names_nominal_codes,
)
from survival_core.io.dates import (
    excel_serial_dates,
    looks_like_dates,
    may_name_a_date,
    names_a_date,
)
from survival_core.io.headers import parse_header
from survival_core.io.tables import numbers_written_as_text, numpy_backed

#: How a transform note names a category the training rows never had.
UNSEEN = "not seen in training"
#: Percentiles kept of each numeric training column (1 %, 2 %, ..., 100 %), its distribution.
QUANTILE_LEVELS = 100


class UnseenLevelWarning(UserWarning):
    """A category level the model never learned, read as the reference level. Cross-validation
    collects these from :attr:`TablePreprocessor.transform_notes_` and silences the warning
    (:func:`unseen_levels_noted`)."""


@contextmanager
def unseen_levels_noted() -> Iterator[None]:
    """No :class:`UnseenLevelWarning` inside: for predictions whose unseen levels the caller
    reads from the notes and says once (a fold's, an inner fold's), not once per fold."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenLevelWarning)
        yield


#: Name tokens that mark a column as an identifier (compared after lower-casing and splitting on
#: anything that is not a letter or digit, e.g. "Patient ID" -> {"patient", "id"}).
ID_TOKENS = frozenset(
    {"id", "uid", "uuid", "patientid", "caseid", "subjectid", "mrn", "accession", "ssn"}
    # who the patient is (cohort import drops these by name too)
    | {"surname", "firstname", "lastname", "initials", "phone", "email"}
)
#: A name is the patient's alone or with words of whose ('patient_name', 'first name'), not a
#: covariate's ('drug_name', 'center_name').
NAME_TOKENS = frozenset({"name", "names"})
NAMED_TOKENS = frozenset({"patient", "subject", "first", "last", "full", "given", "family"})
#: A text column of more levels than this share of its values (and at least
#: :data:`FREE_TEXT_MIN_LEVELS`) is free text or an identifier, not a category: a patient's name
#: became 686 one-hot columns (an apparent c-index of 0.999) and was written into model.json.
FREE_TEXT_SHARE = 0.5
FREE_TEXT_MIN_LEVELS = 20
#: Words naming whose row it is: an identifier alone or with a number word ('patient',
#: 'subject_no'), never with a measurement ('patient_age', 'subject_weight' are covariates).
WHO_TOKENS = frozenset({"patient", "subject", "case"})
NUMBER_TOKENS = frozenset({"number", "no", "nr", "num", "code", "key"})
#: A hospital with a number word is the patient's hospital number ('Hospital No'), an
#: identifier; the hospital alone is the centre (:func:`names_a_centre`).
HOSPITAL_NUMBER_TOKENS = NUMBER_TOKENS - {"code", "key"}


def is_identifier(name: str) -> bool:
    """True when a column name looks like an identifier (case_id, PatientID, patient_uid,
    patient, subject_no, Hospital No). A centre's or an attribute's code ('institution_id',
    'race_id') and image features (ours, ``roi__setting__class__feature``, and pyradiomics'
    ``original_glcm_Id``) never are: GLCM's ``Id`` is the inverse difference."""
    if is_image_feature(str(name)) or names_nominal_codes(str(name)):  # 'institution_id'
        return False
    tokens = header_words(str(name))
    if tokens & NAME_TOKENS and tokens <= NAME_TOKENS | NAMED_TOKENS:
        return True
    return (
        bool(tokens & ID_TOKENS)
        or (bool(tokens & WHO_TOKENS) and tokens <= WHO_TOKENS | NUMBER_TOKENS)
        or (len(tokens) > 1 and tokens - HOSPITAL_NUMBER_TOKENS == {"hospital"})
    )


def is_dates(name: str, column: pd.Series) -> bool:
    """Whether a column holds dates: datetimes, date texts, or numbers under a header naming a
    date ('diagnosis_date' as Excel serials, 'birth_date' as Stata's days; CDISC's 'RANDDT' when
    its values are day numbers). Used as numbers, a last contact date is the outcome: a Cox
    c-index of 0.98 instead of 0.68."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    if column.dtype == object and looks_like_dates(column):
        return True
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    words = parse_header(name).words
    return names_a_date(words) or (
        may_name_a_date(words) and excel_serial_dates(column) is not None
    )


def as_frame(X: Any, columns: list[str] | None = None) -> pd.DataFrame:
    """A DataFrame view of ``X`` (extension-typed columns as numpy ones,
    :func:`~survival_core.io.tables.numpy_backed`);
    an array gets ``columns`` (or x0, x1, ...) as names."""
    if isinstance(X, pd.DataFrame):
        return numpy_backed(X)
    array = np.asarray(X)
    if array.ndim != 2:
        raise InputError(
            f"Expected a table (2-D: rows x columns), got an array of shape {array.shape}."
        )
    if columns is None:
        columns = [f"x{i}" for i in range(array.shape[1])]
    if len(columns) != array.shape[1]:
        raise InputError(
            f"The array has {array.shape[1]} columns but the model expects {len(columns)}: "
            f"{', '.join(columns)}. Pass a DataFrame with these column names."
        )
    return pd.DataFrame(array, columns=columns)


def _finite(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """``frame`` with infinite numbers read as missing, each column's count said in ``notes``
    (an age of inf gave a risk of -inf and a survival of 1 without a word)."""
    numbers = frame.select_dtypes("number")
    infinite = np.isinf(numbers.to_numpy(float)) if numbers.size else np.zeros((0, 0), bool)
    if not infinite.any():
        return frame
    frame = frame.copy()
    for k, name in enumerate(numbers.columns):
        if infinite[:, k].any():
            frame[name] = frame[name].where(~infinite[:, k])
            notes.append(
                f"'{name}': {int(infinite[:, k].sum())} infinite value(s) read as missing."
            )
    return frame


def _without_no_value_numbers(
    frame: pd.DataFrame, skipped: set[str], notes: list[str]
) -> tuple[pd.DataFrame, dict[Any, list[float]]]:
    """``frame`` with each numeric column's no-value codes read as missing, said in ``notes``
    (:func:`~survival_core.io.clinical.no_value_numbers`: an age of -99 among ages, as the
    cohort import reads it; kept, it was a patient 160 years younger than the median), and the
    codes by column, to be read so wherever the fitted preprocessing is applied. Columns named
    in ``skipped`` (lower case: the labels), identifiers and centres (categories whatever their
    numbers: a hospital coded 999 is a hospital) are left as they are."""
    codes: dict[Any, list[float]] = {}
    for name in frame.columns:
        column = frame[name]
        kept = is_identifier(str(name)) or names_nominal_codes(str(name))
        if str(name).lower() in skipped or kept or not _is_numbers(column):
            continue
        found = no_value_numbers(column.to_numpy(float, na_value=np.nan))
        if found:
            codes[name] = found
            notes.append(
                f"'{name}': {int(column.isin(found).sum())} value(s) "
                f"{', '.join(f'{c:g}' for c in found)} read as missing (a no-value code, "
                "clearly outside the column's other values)."
            )
    if codes:
        frame = frame.copy()
        for name, found in codes.items():
            frame[name] = frame[name].mask(frame[name].isin(found))
    return frame, codes


def _is_numbers(column: pd.Series) -> bool:
    """Whether a column holds numbers (not yes/no)."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _numeric_or_none(column: pd.Series) -> pd.Series | None:
    """The column as float when every non-missing value reads as a number, else None."""
    if pd.api.types.is_bool_dtype(column) or isinstance(column.dtype, pd.CategoricalDtype):
        return None
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(float)
    converted = pd.to_numeric(column, errors="coerce")
    if converted[column.notna()].isna().any():
        return None
    return converted.astype(float)


def _refuse_duplicated(names: list[str]) -> None:
    """InputError naming the column names ``names`` holds more than once."""
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"The table has duplicated column names: {', '.join(duplicated)}.")


def _folded(value: str) -> str:
    """A category as compared with another's spelling: a number by its value ('100.0' and '100',
    a code read as a float once a blank made its column float), other text without case or
    surrounding spaces."""
    try:
        number = float(value)
    except ValueError:
        return value.strip().casefold()
    return repr(number) if np.isfinite(number) else value.strip().casefold()


def _written_otherwise(unseen: set[str], categories: list[str]) -> dict[str, str]:
    """Values not among the training ``categories`` that are one of them written otherwise
    ('Squamous ', 'SQUAMOUS' for 'squamous'; '100.0' for '100'): value -> that category. A value
    matching several categories that way is left unseen."""
    folded: dict[str, list[str]] = {}
    for category in categories:
        folded.setdefault(_folded(category), []).append(category)
    matches = {value: folded.get(_folded(value), []) for value in unseen}
    return {value: found[0] for value, found in matches.items() if len(found) == 1}


def _as_levels(values: set[str], categories: list[str]) -> tuple[dict[str, str], list[str]]:
    """How category ``values`` read against the training ``categories``: those written
    otherwise -> the category they are (:func:`_written_otherwise`), and those none is."""
    aliases = _written_otherwise(values - set(categories), categories)
    return aliases, sorted(values - set(categories) - set(aliases))


def _category_strings(column: pd.Series) -> pd.Series:
    """Categorical values as strings, so JSON can hold the categories; missing stays missing, and
    so is a blank text (a cell of spaces: as a level of its own, the reference level, it moved
    every patient of the others) and a missing-value code (SAS's '.', Excel's '#N/A':
    :data:`~survival_core.io.clinical.MISSING_CODES`, a grade '.' was a level)."""
    values = column.astype(object)
    text = values.where(values.isna(), values.map(str))
    written = text.astype(str).str.strip()
    return text.mask(text.notna() & ((written == "") | written.str.lower().isin(MISSING_CODES)))


def _fill_text(spec: dict[str, Any]) -> str:
    """What a fitted column's missing values are filled with: 'median (25)', 'most frequent
    category ('II')'."""
    fill = spec["fill"]
    shown = f"{fill:g}" if spec["kind"] == "numeric" else repr(fill)
    return f"{spec['imputation']} ({shown})"


def share_text(fraction: float) -> str:
    """A share of rows as a percentage, one in a few hundred as '<1%' (it read '0% missing') and
    all but one in a few hundred as '>99%' (234 of 235 read '100%')."""
    if 0 < fraction < 0.005:
        return "<1%"
    return ">99%" if 0.995 <= fraction < 1 else f"{fraction:.0%}"


@dataclass(frozen=True)
class _ColumnStats:
    """What preprocessing learns from one numeric training column."""

    missing: float
    constant: bool
    median: float
    low: float  # 1st percentile, or the minimum where it is the 99th (a rare factor)
    high: float  # 99th percentile, or the maximum where it is the 1st
    least: float  # the minimum and maximum: no value the training rows held is implausible
    most: float
    whole: bool  # every value a whole number (a 0/1 code, a count): the nomogram's ticks too

    @staticmethod
    def of(matrix: np.ndarray) -> list[_ColumnStats]:
        """The stats of each column of a float matrix (NaN = missing), all columns at once."""
        absent = np.isnan(matrix)
        with warnings.catch_warnings():  # an all-missing column: NaN stats, dropped as constant
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(matrix, axis=0)
            low, high = np.nanquantile(matrix, [0.01, 0.99], axis=0)
            least, most = np.nanmin(matrix, axis=0), np.nanmax(matrix, axis=0)
            whole = (absent | (matrix == np.round(matrix))).all(axis=0)
            constant = ~(most > least)
            # a factor held by under 1 % of patients: its percentiles meet, the nomogram dropped
            # its axis and the value's effect, and its holders' values read as out of range
            low, high = np.where(low < high, low, least), np.where(low < high, high, most)
        return [
            _ColumnStats(float(a), bool(c), *map(float, (m, lo, hi, mi, ma)), bool(w))
            for a, c, m, lo, hi, mi, ma, w in zip(
                absent.mean(axis=0), constant, median, low, high, least, most, whole, strict=True
            )
        ]


def _plain_numeric_stats(frame: pd.DataFrame) -> dict[Any, _ColumnStats]:
    """Stats of the columns held as plain numpy ints or floats, keyed by column, taken together
    in one array (the per-column pandas way cost 1.8 ms a column: 0.36 s a fold at 200 columns)."""
    plain = [
        k
        for k, dtype in enumerate(frame.dtypes)
        if isinstance(dtype, np.dtype) and dtype.kind in "iuf"
    ]
    if not plain or frame.shape[0] == 0:
        return {}
    matrix = frame.iloc[:, plain].to_numpy(dtype=float)
    return dict(zip(frame.columns[plain], _ColumnStats.of(matrix), strict=True))


class TablePreprocessor:
    """Learns, on training rows, how to turn a table into a standardised float matrix.

    Parameters
    ----------
    label_columns : column names never used as features (the survival labels).
    max_missing_fraction : a column missing in more than this fraction of training rows is dropped.
    allow_empty : accept a table without usable columns (image-only models read no table columns).
    """

    def __init__(
        self,
        label_columns: tuple[str, ...] = ("time", "event"),
        max_missing_fraction: float = 0.5,
        allow_empty: bool = False,
    ) -> None:
        if not 0.0 <= max_missing_fraction <= 1.0:
            raise ConfigError(
                f"max_missing_fraction must be between 0 and 1, got {max_missing_fraction}."
            )
        self.label_columns = tuple(label_columns)
        self.max_missing_fraction = float(max_missing_fraction)
        self.allow_empty = bool(allow_empty)

    def fit(self, X: Any) -> TablePreprocessor:
        """Learn columns, imputation values, categories and z-scores from training rows ``X``."""
        frame = as_frame(X)
        if frame.shape[0] < 2:
            raise InputError(
                f"Need at least 2 training rows to fit preprocessing, got {frame.shape[0]}."
            )
        names = [str(c) for c in frame.columns]
        _refuse_duplicated(names)
        self.input_schema_ = [
            {"name": n, "dtype": str(frame[c].dtype)}
            for n, c in zip(names, frame.columns, strict=True)
        ]
        self.notes_: list[str] = []
        raw = frame
        read = numbers_written_as_text(frame, self.notes_)  # a typo made a column a category
        self.columns_: list[dict[str, Any]] = []
        labels = {c.lower() for c in self.label_columns}
        frame, codes = _without_no_value_numbers(read, labels, self.notes_)
        plain = _plain_numeric_stats(frame)
        for name, original in zip(names, frame.columns, strict=True):
            column = frame[original]
            if name.lower() in labels:
                self.notes_.append(f"'{name}' dropped: survival label, not a feature.")
                continue
            if is_identifier(name):
                self.notes_.append(f"'{name}' dropped: identifier column.")
                continue
            if is_dates(name, column):
                self.notes_.append(f"'{name}' dropped: dates are not used as features.")
                continue
            stats = plain.get(original)
            missing = stats.missing if stats else float(_category_strings(column).isna().mean())
            if missing > self.max_missing_fraction:
                self.notes_.append(
                    f"'{name}' dropped: {missing:.0%} missing (limit {self.max_missing_fraction:.0%})."
                )
                continue
            spec = self._fit_column(name, column, stats)
            if spec is not None and spec["kind"] == "numeric":
                words = raw[original][raw[original].notna() & read[original].isna()]
                if len(words):  # read as missing here, and so where this table is transformed
                    spec["missing_words"] = sorted({str(w) for w in words})
                if original in codes:
                    spec["missing_codes"] = codes[original]
            if spec is not None:
                if missing > 0:
                    self.notes_.append(
                        f"'{name}': {share_text(missing)} missing in training, imputed with the "
                        f"{spec['imputation']} ({spec['fill']})."
                    )
                self.columns_.append(spec)
        if not self.columns_ and not self.allow_empty:
            raise InputError(
                "No usable feature columns remain after preprocessing: " + " ".join(self.notes_)
                if self.notes_
                else "The table holds no feature column besides the case id, time and event: "
                "give the table of the patients' variables or features too (--table)."
            )
        self._check_output_names()
        encoded = self._encode(frame, record=False)
        self.mean_ = encoded.mean(axis=0).tolist()
        std = encoded.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0).tolist()
        levels = np.arange(1, QUANTILE_LEVELS + 1) / QUANTILE_LEVELS
        for spec, block in self._blocks():
            if spec["kind"] == "numeric":  # of the values the model saw (missing ones imputed)
                column = encoded[:, block.start]
                spec["quantiles"] = np.quantile(column, levels, method="inverted_cdf").tolist()
        self.transform_notes_: list[str] = []
        return self

    def _fit_column(
        self, name: str, column: pd.Series, stats: _ColumnStats | None
    ) -> dict[str, Any] | None:
        if names_nominal_codes(name):  # hospitals 1/2/3 as a number: a risk step per number
            codes = column if stats is not None else _numeric_or_none(column)
            if codes is not None:  # levels '1', '2' (a gap made them 1.0, 2.0)
                column = codes.map(level_text, na_action="ignore")
                whose, level = (
                    ("a centre", "centre") if names_a_centre(name) else ("a category", "code")
                )
                self.notes_.append(
                    f"'{name}': {whose} coded as numbers, read as categories (one column per "
                    f"{level}), not as a quantity."
                )
            stats = None
        elif stats is None and (numeric := _numeric_or_none(column)) is not None:
            stats = _ColumnStats.of(numeric.to_numpy(float)[:, None])[0]
        if stats is not None:
            if stats.constant:
                self.notes_.append(f"'{name}' dropped: constant in the training rows.")
                return None
            return {
                "name": name,
                "kind": "numeric",
                "imputation": "median",
                "fill": stats.median,
                # the training range (1st-99th percentile, else min-max) the nomogram's axes span
                "range": [stats.low, stats.high],
                "extent": [stats.least, stats.most],
                "whole": stats.whole,
            }
        counts = self._merged_spellings(name, _category_strings(column).dropna().value_counts())
        if len(counts) < 2:
            self.notes_.append(f"'{name}' dropped: constant in the training rows.")
            return None
        if len(counts) >= max(FREE_TEXT_MIN_LEVELS, FREE_TEXT_SHARE * counts.sum()):
            self.notes_.append(
                f"'{name}' dropped: free text or an identifier ({len(counts)} different values "
                f"among {int(counts.sum())} rows), not a category."
            )
            return None
        categories = sorted(counts.index)
        most_frequent = min(categories, key=lambda c: (-counts[c], c))
        return {
            "name": name,
            "kind": "categorical",
            "imputation": "most frequent category",
            "fill": most_frequent,
            "categories": categories,
        }

    def _merged_spellings(self, name: str, counts: pd.Series) -> pd.Series:
        """Level counts with the spellings of one level merged ('post' and 'Post', 'II ' and
        'II', as :func:`_folded` compares them) under its most frequent one, said in the notes:
        apart, a patient of the rarer spelling got a risk at fitting that scoring, which reads
        it as the level, never gave again."""
        groups: dict[str, list[str]] = {}
        for value in sorted(counts.index, key=lambda v: (-counts[v], v)):
            groups.setdefault(_folded(value), []).append(value)
        merged = {
            spellings[0]: spellings[1:] for spellings in groups.values() if len(spellings) > 1
        }
        if not merged:
            return counts
        self.notes_.append(
            f"'{name}': spellings of one level merged: "
            + ", ".join(f"{o!r} as {kept!r}" for kept, others in merged.items() for o in others)
            + "."
        )
        return pd.Series({group[0]: int(counts[group].sum()) for group in groups.values()})

    def _check_output_names(self) -> None:
        """Refuse a column named as another's one-hot column ('grade=b' beside a category
        'grade' of level b): the two would share one output name."""
        seen: dict[str, str] = {}
        for out, name in self._outputs():
            if out in seen:
                raise InputError(
                    f"Columns '{seen[out]}' and '{name}' would both encode as '{out}' (a "
                    "category's level is written 'column=level'): rename one of them."
                )
            seen[out] = name

    @property
    def feature_names_out_(self) -> list[str]:
        """Output column names: numeric names as-is, categoricals as ``name=value``."""
        return list(self.input_of_)

    @property
    def input_of_(self) -> dict[str, str]:
        """Output column -> the input column it encodes (``tgrade=III`` -> ``tgrade``), in the
        output's order."""
        return dict(self._outputs())

    def _outputs(self) -> Iterator[tuple[str, str]]:
        """(output column, input column) pairs in the output's order."""
        for spec in self.columns_:
            if spec["kind"] == "numeric":
                yield spec["name"], spec["name"]
            else:
                yield from ((f"{spec['name']}={c}", spec["name"]) for c in spec["categories"][1:])

    def _blocks(self) -> Iterator[tuple[dict[str, Any], slice]]:
        """Each input column's spec and the slice of output columns encoding it."""
        start = 0
        for spec in self.columns_:
            width = 1 if spec["kind"] == "numeric" else len(spec["categories"]) - 1
            yield spec, slice(start, start + width)
            start += width

    def draw_inputs(self, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, list[str]]:
        """``n`` rows of the output columns (z-scored), every input column drawn independently
        from its training distribution: a category's level by its training shares, a number
        from its training percentiles (:data:`QUANTILE_LEVELS`). The draws are stratified (Latin
        hypercube: each column's ``n`` draws take one from each ``1/n`` of its distribution), so
        few rows already hold each column's shares and spread. The attributions of the tree
        models start from these (a point at the mean is a patient with every majority level to
        a tree). A model saved before the percentiles were kept draws a whole-number column
        spanning one unit (a 0/1 code) from its two values, its mean being the upper one's
        share, and holds any other numeric column at its training mean: those are returned by
        name, for the explanation to say."""
        mean, scale = np.asarray(self.mean_), np.asarray(self.scale_)
        drawn, held = np.empty((n, len(mean))), []
        for spec, block in self._blocks():
            u = (rng.permutation(n) + rng.random(n)) / n  # one draw in each 1/n of [0, 1)
            if spec["kind"] == "categorical":
                shares = np.clip(mean[block], 0.0, None)
                cumulative = np.cumsum([max(0.0, 1.0 - shares.sum()), *shares])
                level = np.searchsorted(cumulative, u * cumulative[-1], side="right")
                drawn[:, block] = level[:, None] == np.arange(1, len(cumulative))[None, :]
            elif spec.get("quantiles"):
                quantiles = np.asarray(spec["quantiles"])
                drawn[:, block.start] = quantiles[(u * len(quantiles)).astype(int)]
            elif spec.get("whole") and np.ptp(spec.get("extent", [0.0, 0.0])) == 1:
                low, high = spec["extent"]
                drawn[:, block.start] = np.where(u < mean[block.start] - low, high, low)
            else:
                drawn[:, block.start] = mean[block.start]
                held.append(spec["name"])
        frame = pd.DataFrame((drawn - mean) / scale, columns=self.feature_names_out_)
        return frame, held

    @property
    def feature_names_in_(self) -> list[str]:
        """Input columns the fitted preprocessing reads (after dropping ids, labels, unusable)."""
        return [spec["name"] for spec in self.columns_]

    def _select(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            frame = as_frame(X).rename(columns=str)
        else:
            frame = as_frame(X, [c["name"] for c in self.input_schema_])
        _refuse_duplicated(list(frame.columns))
        missing = [n for n in self.feature_names_in_ if n not in frame.columns]
        if missing:
            raise InputError(
                f"The table lacks column(s) the model was trained on: {', '.join(missing)}."
            )
        return frame[self.feature_names_in_]

    def _encode(self, frame: pd.DataFrame, record: bool) -> np.ndarray:
        # numeric columns held as plain numpy ints or floats read as they are: taken together in
        # one array: the same values as one column at a time (fit + transform of 3,000 x 200:
        # 0.35 s instead of 0.76 s)
        plain = [
            k
            for k, spec in enumerate(self.columns_)
            if spec["kind"] == "numeric"
            and isinstance(dtype := frame[spec["name"]].dtype, np.dtype)
            and dtype.kind in "iuf"
        ]
        if plain:
            matrix = frame[[self.columns_[k]["name"] for k in plain]].to_numpy(dtype=float)
            fills = np.array([self.columns_[k]["fill"] for k in plain], dtype=float)
            matrix = np.where(np.isnan(matrix), fills, matrix)
        at = {k: j for j, k in enumerate(plain)}
        blocks = []
        for k, spec in enumerate(self.columns_):
            if k in at:
                blocks.append(matrix[:, at[k], None])
                continue
            column = frame[spec["name"]]
            if spec["kind"] == "numeric":
                numeric = pd.to_numeric(column, errors="coerce")
                bad = numeric.isna() & column.notna()
                if bad.any():
                    raise InputError(
                        f"Column '{spec['name']}' must be numeric; got {column[bad].iloc[0]!r}."
                    )
                blocks.append(numeric.fillna(spec["fill"]).to_numpy(float)[:, None])
                continue
            values = _category_strings(column).fillna(spec["fill"])
            aliases, unseen = _as_levels(set(values), spec["categories"])
            values = values.replace(aliases) if aliases else values
            if aliases and record:
                self.transform_notes_.append(
                    f"'{spec['name']}': "
                    + ", ".join(f"{a!r} read as {c!r}" for a, c in sorted(aliases.items()))
                    + "."
                )
            if unseen and record:
                note = (
                    f"'{spec['name']}': value(s) {', '.join(map(repr, unseen))} {UNSEEN}, "
                    f"encoded as all zeros (reference category {spec['categories'][0]!r})."
                )
                self.transform_notes_.append(note)
                # else read silently as the reference level
                warnings.warn(note, UnseenLevelWarning, stacklevel=3)
            blocks.append(
                np.stack([(values == c).to_numpy(float) for c in spec["categories"][1:]], axis=1)
            )
        return np.concatenate(blocks, axis=1) if blocks else np.empty((len(frame), 0))

    def unseen_levels(self, X: pd.DataFrame) -> dict[str, tuple[list[str], list[str]]]:
        """Categorical values of ``X`` that are none of the training levels, however written
        (:func:`_written_otherwise`): column -> (those values, its training levels). Encoded as
        all zeros, they would read as the reference level: a Child-Pugh C as A."""
        found = {}
        for spec in self.columns_:
            if spec["kind"] == "numeric" or spec["name"] not in X:
                continue
            values = set(_category_strings(X[spec["name"]]).dropna())
            _, unseen = _as_levels(values, spec["categories"])
            if unseen:
                found[spec["name"]] = (unseen, list(spec["categories"]))
        return found

    def unseen_cells(self, X: pd.DataFrame, used: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per value of ``X`` :meth:`unseen_levels` finds (``row``: its row's label,
        ``column``, ``value``, ``levels``: the training levels, the first the reference one),
        in the inputs a model's ``used`` features (``name=level``) encode when given: a variable
        its reduction dropped (a LASSO's) changes no risk, whatever its value."""
        encodes = self.input_of_
        kept = None if used is None else {encodes.get(f, f) for f in used}
        cells = [
            (row, name, value, levels)
            for name, (values, levels) in self.unseen_levels(X).items()
            if kept is None or name in kept
            for row, value in _category_strings(X[name]).items()
            if value in values
        ]
        return pd.DataFrame(cells, columns=["row", "column", "value", "levels"])

    def transform(self, X: Any) -> pd.DataFrame:
        """Apply the training-fitted steps; columns are matched by name, extra ones ignored."""
        if not hasattr(self, "columns_"):
            raise ConfigError("TablePreprocessor.transform called before fit.")
        self.transform_notes_ = []
        frame = self._read(X, self.transform_notes_)
        for name, rows in self._missing_rows(frame).items():  # a grade of ' ' or '#N/A' counted
            self.transform_notes_.append(f"'{name}': {len(rows)} missing value(s) imputed.")
        encoded = (self._encode(frame, record=True) - np.asarray(self.mean_)) / np.asarray(
            self.scale_
        )
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(encoded, columns=self.feature_names_out_, index=index)

    def _read(self, X: Any, notes: list[str]) -> pd.DataFrame:
        """The input columns of ``X`` as :meth:`transform` reads them, what it read as missing
        (a word, an infinite value, the training table's no-value code) said in ``notes``."""
        frame = self._select(X)
        # numbers written as text ('26%'), and the words the training table held among numbers,
        # read as at fit (a model refused the very table it was fitted on); another word is
        # refused in the encoding, naming it, not imputed
        written = {
            spec["name"]: spec.get("missing_words", [])
            for spec in self.columns_
            if spec["kind"] == "numeric"
            and pd.api.types.is_string_dtype(frame[spec["name"]].dtype)
            and frame[spec["name"]].map(type).eq(str).any()
        }
        if written:
            frame = frame.copy()
            frame[list(written)] = numbers_written_as_text(
                frame[list(written)].astype(object), notes, written
            )
        return self._without_training_codes(_finite(frame, notes), notes)

    def missing_filled(self, X: Any) -> dict[str, tuple[np.ndarray, str]]:
        """Each input column with values of ``X`` missing (blank, or read so as :meth:`transform`
        reads them): the positions of those rows, and what they are filled with ('median
        (25)'): the filling scored an external cohort's blank column as the training median,
        unsaid."""
        if not hasattr(self, "columns_"):
            raise ConfigError("TablePreprocessor.missing_filled called before fit.")
        specs = {spec["name"]: spec for spec in self.columns_}
        return {
            name: (rows, _fill_text(specs[name]))
            for name, rows in self._missing_rows(self._read(X, [])).items()
        }

    def _missing_rows(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The positions of each input column's missing values in ``frame`` (as :meth:`_read`
        gives it), columns with none left out."""
        missing = {}
        for spec in self.columns_:
            column = frame[spec["name"]]
            # a categorical value read as missing (a grade written '', ' ', '.' or '#N/A') is
            # filled as a blank one is: isna alone left it out
            values = column if spec["kind"] == "numeric" else _category_strings(column)
            if (rows := np.flatnonzero(values.isna().to_numpy())).size:
                missing[spec["name"]] = rows
        return missing

    def no_value_codes(self) -> dict[str, list[float]]:
        """The no-value codes fit read as missing, by input column (an age's -99)."""
        return {s["name"]: s["missing_codes"] for s in self.columns_ if s.get("missing_codes")}

    def _without_training_codes(self, frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
        """``frame`` with the no-value codes fit read as missing in a column read so here too
        (a new patient's age of -99 is imputed, as the training rows' were), said in
        ``notes``."""
        coded = self.no_value_codes()
        hits = {name: frame[name].isin(codes) for name, codes in coded.items()}
        hits = {name: hit for name, hit in hits.items() if hit.any()}
        if not hits:
            return frame
        frame = frame.copy()
        for name, hit in hits.items():
            frame[name] = frame[name].mask(hit)
            notes.append(
                f"'{name}': {int(hit.sum())} value(s) {', '.join(f'{c:g}' for c in coded[name])} "
                "read as missing (the training table's no-value code)."
            )
        return frame

    def fit_transform(self, X: Any) -> pd.DataFrame:
        return self.fit(X).transform(X)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON state (parameters, input schema, per-column decisions, z-scores, notes)."""
        return {
            "label_columns": list(self.label_columns),
            "max_missing_fraction": self.max_missing_fraction,
            "allow_empty": self.allow_empty,
            "input_schema": self.input_schema_,
            "columns": self.columns_,
            "mean": self.mean_,
            "scale": self.scale_,
            "notes": self.notes_,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TablePreprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict` output."""
        try:
            prep = cls(
                tuple(state["label_columns"]),
                state["max_missing_fraction"],
                bool(state.get("allow_empty", False)),
            )
            prep.input_schema_ = list(state["input_schema"])
            prep.columns_ = list(state["columns"])
            prep.mean_ = [float(v) for v in state["mean"]]
            prep.scale_ = [float(v) for v in state["scale"]]
            prep.notes_ = list(state["notes"])
        except (KeyError, TypeError) as err:
            raise InputError(
                f"Saved preprocessing state is incomplete or malformed: {err}"
            ) from err
        if len(prep.mean_) != len(prep.feature_names_out_):
            raise InputError("Saved preprocessing state is inconsistent (z-score length).")
        prep.transform_notes_ = []
        return prep
