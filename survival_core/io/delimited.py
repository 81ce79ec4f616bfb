"""Delimited text tables as sites export them: the encoding, delimiter and number marks found, not
assumed.

Spreadsheet exports differ by locale and program: UTF-8 with or without a byte-order mark, UTF-16
(Excel's "Unicode text"), Windows-1252 from older Windows tools (another code page is refused:
:func:`decode_text`); commas, semicolons, tabs or pipes between fields, else runs of spaces
(:func:`table_text`); decimal points with commas grouping thousands ('1,814.5') or decimal commas
with points grouping them ('1.814,5'). Reading such a file as comma-separated UTF-8 fails on an
accent or puts every column into one. :func:`read_delimited` finds each and says what it found, so
that a physicist's table from any site loads as written. What a comma and a point mean is decided
from the numbers themselves (:func:`number_marks`), here and in the cohort import alike.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from survival_core.errors import InputError

#: Field delimiters tried, with their names for notes.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
#: Non-ASCII text that Western European writing (Windows-1252, Excel's CSV on such a Windows)
#: does not hold but another code page read byte by byte gives: three non-ASCII characters in a
#: row, or a word of two or more with no ASCII letter beside it ('ÄÐ', GBK's 男 read as
#: cp1252). A GBK, Shift-JIS, Big5 or EUC-KR character is two bytes; a Windows-1251 word is all
#: non-ASCII letters; Western words put their accented letters among plain ones ('situação').
_FOREIGN_TEXT = re.compile(
    r"[^\x00-\x7f\xa0]{3,}|(?<![A-Za-z])[^\x00-\x7f\xa0]{2,}(?![A-Za-z])"
)  # a no-break space is Western spacing ('1 234,50 €', '60 ± 2' as French Excel writes them)
#: A well-formed UTF-8 character of two to four bytes.
_UTF8_CHARACTER = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
#: A Mac's letters (Mac Roman) read as Windows-1252: 'ä' as 'Š', 'ü' as 'Ÿ', 'é' as 'Ž', 'ß' as
#: '§' ('mŠnnlich', 'RŸckfall', 'Grš§e'); Windows-1252 text puts those capitals after no letter
#: and '§' between none.
_MAC_ROMAN = re.compile(r"[A-Za-z][ŠŸŒŽ]|[A-Za-zš]§[A-Za-z]")
_SAVE_AS_UTF8 = "Save it as UTF-8 (Excel: Save As, 'CSV UTF-8') and give it again."
#: Excel's first line naming the delimiter ('sep=;'), written by its "CSV (semicolon)" exports.
_SEP_HINT = re.compile(r'"?sep=([,;\t|])"?[,;\t|]*')
#: The decimal marks; the other one groups thousands ('1,234.5' with points, '1.234,5' with commas).
POINT, COMMA = ".", ","
_OTHER = {POINT: COMMA, COMMA: POINT}
_WORD = {POINT: "point", COMMA: "comma"}
_DECIMAL_COMMAS = "decimal commas read as points"
#: A bound before a cell's number and a unit or censoring mark after it ('<0,5', '12,5 mm',
#: '361+'): taken off, the number is evidence of how the file writes numbers.
_BOUND, _UNIT = r"^[<>]=?\s*", r"\s*[A-Za-zµ%°+][^,;]*$"
#: A text holding a decimal or thousands mark beside a digit.
_MARKED = r"\d[.,]|[.,]\d"


def _shape(decimal: str) -> str:
    """A number written with ``decimal`` as its decimal mark and the other mark grouping thousands
    in threes after a non-zero lead of one to three digits ('1.234,5' or '0,048' for a comma; a
    leading 0 never starts a group)."""
    d, t = re.escape(decimal), re.escape(_OTHER[decimal])
    plain = rf"[-+]?(?:\d+(?:{d}\d*)?|{d}\d+)(?:[eE][-+]?\d+)?"
    grouped = rf"[-+]?[1-9]\d{{0,2}}(?:{t}\d{{3}})+(?:{d}\d+)?"
    return f"{plain}|{grouped}"


_SHAPES = {POINT: _shape(POINT), COMMA: _shape(COMMA)}


def normal_number(value: float) -> str:
    """``value`` written with a decimal point and no thousands separator, never as a number
    both marks read: '1170', '1.17', and 1.234 as '1.2340' ('1.234' may be 1234). Read back as
    it was, by a file's reader and by one typed value's alike (a form's field prefilled)."""
    text = repr(float(value)).removesuffix(".0")
    return f"{text}0" if POINT in text and re.fullmatch(_SHAPES[COMMA], text) else text


def decode_text(raw: bytes, name: str) -> tuple[str, str]:
    """The text of ``raw`` and its encoding ('utf-8', 'utf-16' after its byte-order mark, else
    'cp1252'); :class:`InputError` naming ``name`` for binary data and for text that would read
    as other characters than were written (:func:`_western`)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, encoding = raw.decode("utf-16", errors="replace"), "utf-16"
    elif b"\x00" in raw:  # binary data, refused below
        text, encoding = raw.decode("latin-1"), ""
    else:
        try:
            text, encoding = raw.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as err:
            text, encoding = _western(raw, name, err), "cp1252"
    if "\x00" in text:
        raise InputError(f"{name} is not a text table (it holds binary data).")
    return text, encoding


def _western(raw: bytes, name: str, error: UnicodeDecodeError) -> str:
    """``raw``, which is not UTF-8, as Windows-1252 (a superset of Latin-1's letters), refused
    where its characters would be misread: a UTF-8 file with lines written in another encoding
    (its accented letters would read 'Ã©', a level 'Décès' becoming two), or a file of another
    code page (Chinese, Japanese, Korean or Cyrillic read as accented Latin letters, a Mac's
    'männlich' as 'mŠnnlich')."""
    undecodable = raw.count(b"\n", 0, error.start) + 1
    utf8 = sum(len(c) for c in _UTF8_CHARACTER.findall(raw))
    if utf8 > sum(b > 0x7F for b in raw) / 2:
        raise InputError(
            f"{name} mixes encodings: it is UTF-8, but line {undecodable} is not (a line "
            f"edited or pasted from another program?). {_SAVE_AS_UTF8}"
        )
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:  # bytes Windows-1252 leaves undefined
        foreign = undecodable
    else:
        found = _FOREIGN_TEXT.search(text) or _MAC_ROMAN.search(text)
        if found is None:
            return text
        foreign = text.count("\n", 0, found.start()) + 1
    raise InputError(
        f"{name} is neither UTF-8 nor Windows-1252 (Western European Windows) text: line "
        f"{foreign} holds characters of another code page (a Mac's, or one of a Chinese, "
        "Japanese, Korean or Cyrillic Windows: GBK, Shift-JIS, Big5, EUC-KR, Windows-1251), "
        f"which would read as other letters. {_SAVE_AS_UTF8}"
    )


def excel_sep_hint(text: str) -> tuple[str, str | None]:
    """The text without Excel's 'sep=;' first line, and the delimiter it names (None when the
    first line is not one)."""
    first, newline, rest = text.partition("\n")
    hint = _SEP_HINT.fullmatch(first.strip().strip("\ufeff"))
    return (rest, hint.group(1)) if hint and newline else (text, None)


def sniff_delimiter(text: str) -> str:
    """The delimiter giving the same number (> 1) of fields on the first lines, widest first;
    else the one giving the header (the first line) the most fields (> 1) where no line below
    has more (a row whose last cells were left off, as some tools write empty last values:
    'P1;61;41,5' under 'case_id;age;albumin;afp' put every column into one); else the one giving
    the header the most fields where a line below has more, for :func:`check_row_widths` to
    name that line ('P1;61;38;extra' under 'case_id;age;albumin' read as one column, its stored
    copy unreadable); a comma when none does. Empty cells after a row's last column are no
    field ('P1;61;38;': a delimiter ending the data rows only)."""
    return _sniffed(text) or ","


def _sniffed(text: str) -> str | None:
    """:func:`sniff_delimiter`'s delimiter, None where none splits the header."""
    lines = text.splitlines()[:50]
    best, best_fit = None, (False, False, 1)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(lines, delimiter=delimiter) if not _blank(r)]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        widths = [_filled_width(row, len(rows[0])) for row in rows]
        # no row wider than the header, then every row as wide, then widest
        fit = (max(widths) == widths[0], min(widths) == widths[0], widths[0])
        if fit > best_fit:
            best, best_fit = delimiter, fit
    return best


def _filled_width(row: Sequence[str], width: int) -> int:
    """How many cells ``row`` has, leaving off the empty ones after the header's ``width``
    columns (a delimiter ending the row)."""
    filled = len(row)
    while filled > width and not row[filled - 1].strip():
        filled -= 1
    return filled


def check_row_widths(name: str, width: int, rows: Iterable[tuple[int, Sequence[str]]]) -> None:
    """Refuse the first of ``rows`` (its number in the file, its cells) holding a filled cell
    after the header's ``width`` columns: read cut to the header, that value was dropped without
    a word, and pandas read the first column as the row labels, every value under the next
    column's name. Empty cells there (a delimiter ending the row) are no value."""
    for number, row in rows:
        if _filled_width(row, width) > width:
            raise InputError(
                f"{name}: row {number} has {len(row)} cells, but the header has {width} "
                "columns: its values would be read under the wrong columns. Check the delimiter "
                "and quoting (a decimal comma in a comma-delimited file must be quoted), or "
                "remove the extra cells, and give the file again."
            )


def _cut_to_header(text: str, name: str, delimiter: str) -> str:
    """``text`` with the empty cells after its header's columns left off
    (:func:`check_row_widths` refuses a filled one): pandas read a row one cell wider than the
    header ('P1,61,38,') with its first column as the row label, each value under the next
    column's name, and refused a wider row below the first with its own message."""
    if '"' not in text:  # a line a record at most: no row can be wider than its delimiters say
        lines = re.split(r"\r\n|\r|\n", text)  # the line ends csv reads
        header = next((line for line in lines if not _blank(line.split(delimiter))), None)
        if header is not None:
            width = header.count(delimiter)
            if all(line.count(delimiter) <= width for line in lines):
                return text
    rows, at = table_records(text, delimiter)
    width = len(rows[at]) if at < len(rows) else 0
    if all(len(row) <= width for row in rows):
        return text
    check_row_widths(name, width, enumerate(rows[at + 1 :], start=at + 2))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerows(r[:width] for r in rows[at:])
    return out.getvalue()


def table_records(text: str, delimiter: str) -> tuple[list[list[str]], int]:
    """``text``'s records (a quoted cell's line break, Excel's Alt+Enter in 'Albumin
    (g/L)', inside its record) and where its header is among them: the first that is not blank,
    as pandas reads it (an export's empty line before the header skipped). Taken from the first
    line, the header of such a file was none or cut, and its rows refused as wider."""
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return rows, next((at for at, row in enumerate(rows) if not _blank(row)), len(rows))


def _blank(row: Sequence[str]) -> bool:
    """Whether a record is a blank line (empty, or spaces alone), which pandas skips."""
    return len(row) < 2 and not "".join(row).strip()


#: The spaces that group a number's thousands: a space, Excel's no-break space (French and
#: Swiss exports) and the narrow no-break space of French typography.
_SPACES = "[ \u00a0\u202f]"
#: A number whose whole part is grouped in threes by :data:`_SPACES` after a non-zero lead of one
#: to three digits ('1 234,5', '-12 345.6', '1 234 567'): the spaces group thousands, whatever
#: its decimal mark (refused as no number, while '1.234,5' was read).
_SPACE_GROUPED_WHOLE = rf"[-+]?[1-9]\d{{0,2}}(?:{_SPACES}\d{{3}})+"
_SPACE_GROUPED = rf"{_SPACE_GROUPED_WHOLE}(?:[.,]\d+)?"
#: Such a number with a decimal part ('1 234,5'): no pair of values or code is written so.
_SPACE_GROUPED_DECIMAL = rf"{_SPACE_GROUPED_WHOLE}[.,]\d+"
#: A number under 1000, written with no thousands mark ('850', '12', '0,5').
_UNDER_1000 = r"[-+]?\d{1,3}(?:[.,]\d+)?"


def table_text(text: str, name: str) -> tuple[str, str, str]:
    """``text`` ready to split, its delimiter and that delimiter's name for notes: without
    Excel's 'sep=;' first line, in the delimiter it names, else in the one sniffed
    (:func:`sniff_delimiter`); where none is found, a table whose fields runs of spaces or tabs
    separate (R's write.table, lifelines' datasets: 't status sex logWBC Rx') rewritten
    tab-delimited (:func:`_whitespace_table`), so that every reader of it, and an upload's
    stored copy, splits it alike. The one place a clinical or model table's delimiter is found:
    read as one column, such a file was refused for lacking the ID column its header names."""
    text, hinted = excel_sep_hint(text)
    delimiter = hinted or _sniffed(text)
    if delimiter:
        return text, delimiter, DELIMITERS[delimiter]
    tabbed = _whitespace_table(text, name)
    if tabbed is None:
        return text, ",", DELIMITERS[","]
    return tabbed, "\t", "whitespace"


def _whitespace_table(text: str, name: str) -> str | None:
    """``text`` tab-delimited where runs of spaces or tabs split its header and every row into
    as many (> 1) fields, a quoted field kept whole, R's row names (:func:`_row_names`) under an
    empty header; None where its header holds another
    delimiter or is one field, or where no row splits (a table of one column, kept as written).
    :class:`InputError` naming ``name`` where rows split into other numbers of fields: an
    unquoted value with a space inside ('dead of disease') cannot be told from two."""
    lines = [line.strip().replace("\t", " ") for line in text.splitlines()]
    if not lines or re.search(r"[,;|]", lines[0]):
        return None
    rows = list(csv.reader(lines, delimiter=" ", skipinitialspace=True))
    width = len(rows[0])
    if width < 2 or all(len(row) < 2 for row in rows[1:]):
        return None
    if _row_names(rows):  # read as a column without a header, which the import drops
        rows[0] = ["", *rows[0]]
        width += 1
    odd = next((n for n, row in enumerate(rows, start=1) if row and len(row) != width), None)
    if odd is not None:
        raise InputError(
            f"{name} looks whitespace-separated (spaces split its header into {width} fields; "
            f"no comma, semicolon, tab or pipe splits its lines alike), but line {odd} splits into "
            f"{len(rows[odd - 1])}: quote the values holding a space, or save the file with "
            "commas between its fields."
        )
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerows(rows)
    return out.getvalue()


def _row_names(rows: list[list[str]]) -> bool:
    """Whether every row under the header is one field wider than it, its first fields all
    different: the row names R's write.table writes with no header above them ('"1" 74 1 306'
    under '"age" "sex" "time"'; refused as rows of another width)."""
    body = [row for row in rows[1:] if row]
    names = [row[0] for row in body]
    wider = all(len(row) == len(rows[0]) + 1 for row in body)
    return bool(body) and wider and len(set(names)) == len(names)


def _text(cells: pd.Series) -> pd.Series:
    """Cells as stripped text, "" where empty, digits of other scripts as ASCII ('٧٠' as an
    Arabic locale writes 70 read as a category of about 40 levels); Arrow-backed, so that the
    half million cells of a wide radiomics table are matched in a fraction of a second."""
    return as_ascii(cells.astype("string[pyarrow]").fillna("").str.strip())


def _space_grouping(text: pd.Series, position: np.ndarray, columns: int) -> np.ndarray:
    """Which of ``columns`` (by position) group thousands by spaces beyond doubt, as a French
    Excel writes them: a space-grouped number with a decimal part ('1 234,5'), or space-grouped
    ones beside numbers under 1000 written without ('1 814' among '712' and '12'). A column
    whose only numbers are space-separated pairs ('153 102', a blood pressure) or codes of one
    group ('8 140', an ICD-O morphology) proves nothing and is kept as written."""
    grouped = _matches(text, _SPACE_GROUPED).to_numpy()
    if not grouped.any():
        return np.zeros(columns, dtype=bool)
    proof = (_matches(text, _SPACE_GROUPED_DECIMAL) | _matches(text, _UNDER_1000)).to_numpy()
    return _in_columns(grouped, position, columns) & _in_columns(proof, position, columns)


def _in_columns(mask: np.ndarray, position: np.ndarray, columns: int) -> np.ndarray:
    """Which of ``columns`` (by position) hold a cell of ``mask``."""
    return np.bincount(position[mask], minlength=columns) > 0


def _without_spaces(
    text: pd.Series, position: np.ndarray, spaced: np.ndarray
) -> tuple[pd.Series, pd.Series]:
    """``text`` with the spaces grouping thousands dropped in the ``spaced`` columns (by
    position; :func:`_space_grouping`), and which cells lost them."""
    grouped = pd.Series(spaced[position], index=text.index)
    if not grouped.any():
        return text, grouped
    grouped &= _matches(text, _SPACE_GROUPED)
    return text.where(~grouped, text.str.replace(_SPACES, "", regex=True)), grouped


def without_space_groups(text: str) -> str:
    """One typed value without the spaces grouping its thousands ('1 234,5' as '1234,5'): typed
    alone it is one number, so its groups of three decide ('120 80' is none); as given where it
    is no such number. A file's column is read so only where it shows it
    (:func:`_space_grouping`)."""
    stripped = text.strip()
    return re.sub(_SPACES, "", stripped) if re.fullmatch(_SPACE_GROUPED, stripped) else text


def as_ascii(text: pd.Series) -> pd.Series:
    """Texts (Arrow-backed) with the digits and decimal and thousands marks of other scripts
    (Arabic-Indic, full width) as ASCII."""
    arrow = text.astype("string[pyarrow]")
    if not arrow.str.contains(_OTHER_DIGITS).any():
        return arrow
    return arrow.str.translate(_AS_ASCII).astype("string[pyarrow]")


#: Digits of other scripts (Arabic-Indic, Eastern Arabic-Indic, full-width) and the Arabic and
#: full-width decimal and thousands separators, as ASCII.
_OTHER_DIGITS = "[\u0660-\u0669\u06f0-\u06f9\uff10-\uff19\u066b\u066c\uff0e\uff0c]"
_AS_ASCII = str.maketrans(
    {
        **{chr(first + d): str(d) for first in (0x0660, 0x06F0, 0xFF10) for d in range(10)},
        **{"\u066b": ".", "\u066c": ",", "\uff0e": ".", "\uff0c": ","},
    }
)


def _matches(text: pd.Series, pattern: str) -> pd.Series:
    return text.str.fullmatch(pattern).fillna(False).astype(bool)


@dataclass(frozen=True)
class _Shapes:
    """Which texts (stripped) are numbers written with a decimal ``point`` (commas grouping
    thousands) and which with a decimal ``comma`` (points grouping them); a text may be both."""

    text: pd.Series
    point: pd.Series
    comma: pd.Series

    @classmethod
    def of(cls, text: pd.Series, points_decimal: bool) -> _Shapes:
        """The shapes of ``text``; where ``points_decimal`` a point is never a thousands mark (a
        workbook's typed numbers: 1.814 is written '1.814')."""
        comma = _matches(text, _SHAPES[COMMA])
        if points_decimal:
            comma &= ~text.str.contains(POINT, regex=False)
        return cls(text, _matches(text, _SHAPES[POINT]), comma)

    @property
    def ambiguous(self) -> pd.Series:
        """Texts both marks read, differently ('1,814', '1.814': one mark, then three digits
        after a non-zero lead of one to three)."""
        return self.point & self.comma & self.text.str.contains(_MARKED)

    def proving(self, mark: str) -> pd.Series:
        """Texts only ``mark`` as the decimal mark reads ('12,5', '0,048' or '1.234,5' for a
        comma; '52.5' or '1,234.5' for a point)."""
        own, other = (self.point, self.comma) if mark == POINT else (self.comma, self.point)
        return own & ~other & self.text.str.contains(_MARKED)

    def with_comma(self, decimal: str | None | pd.Series) -> pd.Series:
        """Which texts are read with a decimal comma, ambiguous ones taking ``decimal`` (one mark,
        or one per text)."""
        return self.proving(COMMA) | (self.ambiguous & (decimal == COMMA))

    def values(self, decimal: str | None | pd.Series) -> pd.Series:
        """The numbers (NaN where a text is none), ambiguous texts read with ``decimal`` (NaN
        where None)."""
        with_comma, text = self.with_comma(decimal), self.text
        as_comma = text.str.replace(POINT, "", regex=False).str.replace(COMMA, POINT, regex=False)
        digits = text.str.replace(COMMA, "", regex=False).where(~with_comma, as_comma)
        read = ((self.point & ~with_comma) | with_comma) & ~(self.ambiguous & pd.isna(decimal))
        return pd.to_numeric(digits.where(read), errors="coerce").astype(float)


def _stacked(cells: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """``cells``' texts (stripped, "" where empty) one column after another, matched all at once
    (a radiomics table holds half a million), and the column position of each."""
    position = np.repeat(np.arange(cells.shape[1]), len(cells))
    return _text(pd.Series(cells.to_numpy(object).ravel(order="F"))), position


@dataclass(frozen=True)
class DecimalMark:
    """The decimal mark ('.' or ','; None when nothing says) of a column's ambiguous numbers,
    and ``why``: what in the file says so."""

    mark: str | None
    why: str = ""


#: Where nothing else says: a comma-delimited file's quoted '1,814' groups thousands, as a
#: workbook's do (its typed numbers have decimal points).
POINTS_UNLESS_SAID = DecimalMark(POINT, "the default of a comma-delimited file or a workbook")


@dataclass
class _Evidence:
    """What a column's numbers say about its marks: ``proofs`` (a decimal mark and a number only
    it reads: '12,5', '0,048', '1,234.5'), the ``ambiguous`` numbers by their mark, and the digit
    counts of its ``whole`` numbers written without a mark; whether it groups thousands by
    spaces (``spaced``: :func:`_space_grouping`), its numbers read without them."""

    proofs: dict[str, str] = field(default_factory=dict)
    ambiguous: dict[str, str] = field(default_factory=dict)
    whole: set[int] = field(default_factory=set)
    spaced: bool = False

    def own(self) -> DecimalMark | None:
        """The one decimal mark the column's own numbers prove, if they prove one."""
        if len(self.proofs) != 1:
            return None
        ((mark, example),) = self.proofs.items()
        why = f"the column's other numbers have decimal {_WORD[mark]}s: {example!r}"
        return DecimalMark(mark, why)

    def layout(self) -> DecimalMark | None:
        """Thousands grouped as Excel's '#,##0' writes them: no proof, the ambiguous numbers all
        with one mark, beside whole numbers of three digits and none longer ('712', '1,814')."""
        if self.proofs or len(self.ambiguous) != 1 or 3 not in self.whole or max(self.whole) > 3:
            return None
        ((grouping, example),) = self.ambiguous.items()
        return DecimalMark(
            _OTHER[grouping],
            "the column writes numbers under 1000 without a mark and the others grouped by "
            f"{_WORD[grouping]}s in threes ({example!r})",
        )


def _evidence(cells: pd.DataFrame, points_decimal: bool) -> list[_Evidence]:
    """The :class:`_Evidence` of each column of ``cells`` (by position), its cells matched all at
    once."""
    text, position = _stacked(cells)
    spaced = _space_grouping(text, position, cells.shape[1])
    text, _ = _without_spaces(text, position, spaced)
    number = text.str.replace(_BOUND, "", regex=True).str.replace(_UNIT, "", regex=True)
    shapes = _Shapes.of(number, points_decimal)
    found = [_Evidence(spaced=bool(s)) for s in spaced]
    for mark in (POINT, COMMA):
        proving = shapes.proving(mark)
        for at, example in number[proving].groupby(position[proving]).first().items():
            found[at].proofs[mark] = example
        ambiguous = shapes.ambiguous & number.str.contains(mark, regex=False)
        for at, example in number[ambiguous].groupby(position[ambiguous]).first().items():
            found[at].ambiguous[mark] = example
    whole = _matches(number, r"[-+]?[1-9]\d*")
    digits = number[whole].str.lstrip("-+").str.len()
    for at, counts in digits.groupby(position[whole]).unique().items():
        found[at].whole = set(counts)
    return found


@dataclass(frozen=True)
class _Read:
    """Cells of some columns read as numbers (:meth:`NumberMarks._read`): their ``shapes``, one
    column after another, each one's column ``position``, ``decimal`` mark and ``values``, the
    cells as ``written`` and which were ``spaced`` (their thousands' spaces dropped)."""

    shapes: _Shapes
    position: np.ndarray
    decimal: pd.Series
    values: pd.Series
    spaced: pd.Series
    written: pd.Series

    def undecided(self) -> pd.Series:
        """The ambiguous numbers no decimal mark reads."""
        return self.shapes.ambiguous & self.decimal.isna()

    def numeric(self, columns: int) -> np.ndarray:
        """Whether every present cell of each of the ``columns`` is a number (an undecided
        ambiguous one included)."""
        number = self.values.notna() | self.undecided() | (self.shapes.text == "")
        numeric = number.groupby(self.position).all()
        return numeric.reindex(range(columns), fill_value=True).to_numpy()

    def counts(self) -> pd.DataFrame:
        """Per column (by position): cells read with a decimal comma, cells proving each mark,
        thousands separators (commas, points) removed, ambiguous numbers read, with the first
        of these and its value, and numbers read without the spaces grouping their thousands,
        with the first as written and its value."""
        text, read = self.shapes.text, self.values.notna()
        comma_read = self.shapes.with_comma(self.decimal) & read
        commas = text.str.contains(COMMA, regex=False)
        ambiguous = self.shapes.ambiguous & read
        masks = pd.DataFrame(
            {
                "decimal_commas": comma_read & commas,
                "proving_points": self.shapes.proving(POINT) & read,
                "proving_commas": self.shapes.proving(COMMA) & read,
                "grouped_commas": read & ~comma_read & commas,
                "grouped_points": comma_read & text.str.contains(POINT, regex=False),
                "ambiguous": ambiguous,
                "spaced": self.spaced & read,
            }
        )
        counts = masks.groupby(self.position).sum()
        spaced = self._first(self.spaced & read, self.written).add_prefix("spaced_")
        return counts.join(self._first(ambiguous, text)).join(spaced)

    def _first(self, mask: pd.Series, text: pd.Series) -> pd.DataFrame:
        """Per column (by position) holding a cell of ``mask``: the first one's ``text`` as its
        ``example``, and its ``value``."""
        at = mask.to_numpy()
        first = pd.DataFrame({"example": text, "value": self.values})[at]
        return first.groupby(self.position[at]).first()


@dataclass(frozen=True)
class NumberMarks:
    """How a table writes its numbers (:func:`number_marks`): the decimal mark each column's
    ambiguous numbers ('1,814': 1814 or 1.814) are read with, the ``file``'s for other cells,
    and the columns whose numbers are read without the spaces grouping their thousands
    (``spaced``: :func:`_space_grouping`; elsewhere '153 102' stays text)."""

    name: str
    columns: dict[Hashable, DecimalMark]
    file: DecimalMark
    points_decimal: bool = False
    spaced: frozenset[Hashable] = frozenset()

    def decimal(self, column: Hashable) -> DecimalMark:
        """The decimal mark of ``column``'s ambiguous numbers."""
        return self.columns.get(column, self.file)

    def read(self, cells: pd.Series, column: Hashable) -> pd.Series:
        """``cells`` as floats, NaN where not a number: a number only one mark reads ('12,5',
        '1,234.5', '52.5') read so, an ambiguous one with ``column``'s decimal mark.
        :class:`InputError` when nothing says what ``column``'s ambiguous numbers mean."""
        read = self._read(cells.to_frame(column))
        self._refuse(read, read.undecided(), [column])
        return pd.Series(read.values.to_numpy(), index=cells.index)

    def readable(self, cells: pd.Series, column: Hashable) -> pd.Series:
        """Which ``cells`` are numbers, an ambiguous one nothing decides too: whether a column
        is numeric is known before :meth:`read` refuses it (a histology column with one '1.500'
        is text, not a refusal)."""
        read = self._read(cells.to_frame(column))
        return pd.Series((read.values.notna() | read.undecided()).to_numpy(), index=cells.index)

    def said(self, cells: pd.Series, column: Hashable) -> list[tuple[str, int]]:
        """What reading ``cells`` as ``column``'s numbers did, for a report: each action (decimal
        commas read, both marks used as decimals, thousands separators removed, how its
        ambiguous numbers were read and why) with its count."""
        counts = self._read(cells.to_frame(column)).counts()
        return self._phrases(counts.iloc[0], column) if len(counts) else []

    def undecided(self) -> list[Hashable]:
        """The columns holding ambiguous numbers ('1,814') that nothing in the file decides."""
        return [column for column, decimal in self.columns.items() if decimal.mark is None]

    def normal(self, cells: pd.DataFrame) -> pd.DataFrame:
        """``cells`` (text) with each number these marks read written in one normal form
        (:func:`normal_number`: '1.234,5' as '1234.5', '1.170' read as 1170 as '1170', '1,234'
        read as 1.234 as '1.2340'), the ambiguous ones they leave undecided and the other cells
        as written: read with :meth:`deciding_nothing`, rows or columns cut from the file read as
        the whole file does, whatever marks the cut shows."""
        read = self._read(cells)
        text = pd.Series(cells.to_numpy(object).ravel(order="F"), dtype=object)
        number = read.values.notna().to_numpy()
        text[number] = [normal_number(value) for value in read.values[number]]
        written = text.to_numpy().reshape(cells.shape, order="F")
        return pd.DataFrame(written, index=cells.index, columns=cells.columns)

    def deciding_nothing(self) -> NumberMarks:
        """These marks deciding no column's ambiguous numbers: for a file written in normal form
        (:meth:`normal`), whose ambiguous numbers are those its whole file left undecided."""
        undecided = DecimalMark(None)
        return replace(self, columns=dict.fromkeys(self.columns, undecided), file=undecided)

    def frame(self, cells: pd.DataFrame) -> tuple[pd.DataFrame, dict[Hashable, list[str]]]:
        """The columns of ``cells`` (text, NaN where empty) whose every present cell is a number,
        read (:meth:`read`), and what reading each did (:meth:`said`); :class:`InputError` for
        such a column holding ambiguous numbers nothing decides."""
        read = self._read(cells)
        numeric = read.numeric(cells.shape[1])
        self._refuse(read, read.undecided() & numeric[read.position], cells.columns)
        values = pd.DataFrame(
            read.values.to_numpy().reshape(cells.shape, order="F"),
            index=cells.index,
            columns=cells.columns,
        )
        counts = read.counts()
        said = {
            column: [action for action, _ in self._phrases(counts.loc[at], column)]
            for at, column in enumerate(cells.columns)
            if numeric[at] and at in counts.index
        }
        return values.loc[:, numeric], said

    def _read(self, cells: pd.DataFrame) -> _Read:
        written, position = _stacked(cells)
        spaced_columns = np.array([c in self.spaced for c in cells.columns], dtype=bool)
        text, spaced = _without_spaces(written, position, spaced_columns)
        shapes = _Shapes.of(text, self.points_decimal)
        marks = np.array([self.decimal(c).mark for c in cells.columns], dtype=object)
        decimal = pd.Series(marks[position], dtype=object)
        return _Read(shapes, position, decimal, shapes.values(decimal), spaced, written)

    def _phrases(self, counts: pd.Series, column: Hashable) -> list[tuple[str, int]]:
        """The actions ``counts`` (a row of :meth:`_Read.counts`) say were done to ``column``."""
        grouped = [word for word in ("commas", "points") if counts[f"grouped_{word}"]]
        proving = int(counts["proving_points"] + counts["proving_commas"])
        both = counts["proving_points"] and counts["proving_commas"]
        said = [
            (_DECIMAL_COMMAS, int(counts["decimal_commas"])),
            ("decimal commas and points both read as decimal marks", proving if both else 0),
            (
                f"thousands separators ({' and '.join(grouped)}) removed",
                int(counts["grouped_commas"] + counts["grouped_points"]),
            ),
        ]
        if counts["ambiguous"]:
            decision, example = self.decimal(column), counts["example"]
            mark = COMMA if COMMA in example else POINT
            role = "decimal mark" if mark == decision.mark else "thousands separator"
            said.append(
                (
                    f"{example!r} read as {counts['value']:g}, its {_WORD[mark]} a {role} "
                    f"({decision.why})",
                    int(counts["ambiguous"]),
                )
            )
        if counts["spaced"]:
            shown = re.sub(_SPACES, " ", counts["spaced_example"])  # '1\xa0814,0' as '1 814,0'
            said.append(
                (
                    f"{shown!r} read as {normal_number(counts['spaced_value'])}, its spaces "
                    "grouping thousands",
                    int(counts["spaced"]),
                )
            )
        return [(action, count) for action, count in said if count]

    def _refuse(self, read: _Read, undecided: pd.Series, columns: Sequence[Hashable]) -> None:
        """Raise for the first ``undecided`` number, naming its column and what it could be."""
        if not undecided.any():
            return
        at = int(np.flatnonzero(undecided.to_numpy())[0])
        example = read.shapes.text.iloc[at]
        mark = COMMA if COMMA in example else POINT
        grouped, decimal = float(example.replace(mark, "")), float(example.replace(mark, "."))
        raise InputError(
            f"{self.name}: the column {str(columns[read.position[at]])!r} holds {example!r}, "
            f"which is {grouped:g} if its {_WORD[mark]} separates thousands and {decimal:g} if "
            f"it is a decimal {_WORD[mark]}, and no other number in the file says which (none "
            "has a decimal mark, or both marks are used). Write the numbers without thousands "
            f"separators and with decimal points ({grouped:g} or {decimal:g}, whichever it is) "
            "and read the file again."
        )


def number_marks(
    cells: pd.DataFrame,
    name: str,
    *,
    default: DecimalMark | None = None,
    points_decimal: bool = False,
) -> NumberMarks:
    """What the commas and points of ``cells``' numbers (text, NaN or "" when empty) mean, for
    the numbers both marks read ('1,814', '1.814'): the column's other numbers decide when they
    prove one decimal mark ('12,5', '0,048', '52.5', '1,234.5'); else the file's (a file whose
    numbers have decimal points groups thousands with commas, and the other way round); else
    ``default``; else the column's '#,##0' layout (:meth:`_Evidence.layout`); else nothing
    decides and :meth:`NumberMarks.read` refuses them. Spaces group thousands only in the
    columns that show it (:func:`_space_grouping`). ``name`` names the file in messages."""
    evidence = dict(zip(cells.columns, _evidence(cells, points_decimal), strict=True))
    proofs: dict[str, tuple[Hashable, str]] = {}
    for column, found in evidence.items():
        for mark, example in found.proofs.items():
            proofs.setdefault(mark, (column, example))
    if len(proofs) == 1:
        ((mark, (column, example)),) = proofs.items()
        why = f"the file's other numbers have decimal {_WORD[mark]}s: {example!r} in {column!r}"
        file = DecimalMark(mark, why)
    else:
        file = default or DecimalMark(None)
    columns = {
        column: found.own() or (file if file.mark else found.layout() or file)
        for column, found in evidence.items()
        if found.ambiguous
    }
    spaced = frozenset(column for column, found in evidence.items() if found.spaced)
    return NumberMarks(name, columns, file, points_decimal, spaced)


def file_marks(cells: pd.DataFrame, name: str, delimiter: str) -> NumberMarks:
    """:func:`number_marks` of a delimited file's number ``cells`` (text): a comma-delimited
    file's quoted '1,814' groups thousands where its numbers say nothing else."""
    return number_marks(cells, name, default=POINTS_UNLESS_SAID if delimiter == "," else None)


def read_delimited(
    raw: bytes,
    name: str,
    *,
    text_columns: Callable[[Hashable], bool] = lambda column: False,
    keep_undecided: bool = False,
    normal_form: bool = False,
) -> tuple[pd.DataFrame, str]:
    """The table in ``raw``, the columns ``text_columns`` names kept as written (an ID: '007'
    must not become 7), and how it was read
    ('' for comma-separated UTF-8 with decimal points, else e.g. 'semicolon-delimited, decimal
    commas, cp1252'); :class:`InputError` naming ``name`` when it cannot be parsed, or when a
    number's marks cannot be told (:func:`number_marks`). With ``keep_undecided``, a column of
    such numbers is kept as written instead, for a reader who tells each by what it holds (one
    patient's clinical value by its variable's plausible range). With ``normal_form``, a file
    whose decided numbers were written in normal form (:meth:`NumberMarks.normal`: an upload's
    stored clinical CSV), nothing decides its ambiguous numbers (its whole file did not)."""
    text, encoding = decode_text(raw, name)
    text, delimiter, delimited = table_text(text, name)
    try:
        text = _cut_to_header(text, name, delimiter)
        frame = pd.read_csv(io.StringIO(text), sep=delimiter)
        # the cells as written too: pandas reads decimal points only, and '007' as 7
        cells = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            usecols=_to_decide(frame, delimiter, text_columns),
        )
    except (ValueError, csv.Error, pd.errors.ParserError) as err:
        raise InputError(f"{name} could not be read as a table: {err}") from err
    kept = [c for c in cells.columns if text_columns(c)]
    frame[kept] = cells[kept]
    numbers = cells.drop(columns=kept)
    marks = file_marks(numbers, name, delimiter)
    if normal_form:
        marks = marks.deciding_nothing()
    how = [
        f"{delimited}-delimited" if delimiter != "," else "",
        *_read_marked(frame, numbers, marks, keep_undecided),
        encoding if encoding != "utf-8" else "",
    ]
    return frame, ", ".join(h for h in how if h)


def _to_decide(
    frame: pd.DataFrame, delimiter: str, text_columns: Callable[[Hashable], bool]
) -> list[Hashable] | None:
    """The columns whose text must be read (None: all): those kept as written, and those
    whose numbers must be decided. In a
    comma-delimited file a comma inside a number is quoted, so its column is text to pandas:
    where no text column holds one, nothing says a point groups thousands, and the columns
    pandas read as numbers (decimal points, the file's default) are right as read (reading
    every cell of a 3,000 x 200 radiomics table took 5x as long)."""
    if delimiter != ",":
        return None
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if any(frame[c].astype(str).str.contains(r"\d,\d").any() for c in text):
        return None
    return [c for c in frame.columns if c in text or text_columns(c)]


def _read_marked(
    frame: pd.DataFrame, cells: pd.DataFrame, marks: NumberMarks, keep_undecided: bool
) -> list[str]:
    """The columns pandas' decimal-point reading misses or may misread (a decimal comma, a
    thousands separator, an ambiguous '1.814') read in place from their text ``cells`` as
    ``marks`` says, those it leaves undecided kept as written with ``keep_undecided`` (pandas
    read '1.814' as 1.814); what was read, for the notes."""
    undecided = marks.undecided() if keep_undecided else []
    frame[undecided] = cells[undecided]
    suspect = [
        c for c in cells.columns.drop(undecided)
        if c in marks.columns or not pd.api.types.is_numeric_dtype(frame[c])
    ]  # fmt: skip
    values, said = marks.frame(cells[suspect])
    frame[values.columns] = values
    notes = [
        f"in {str(column)!r}: {'; '.join(rest)}"
        for column, actions in said.items()
        if (rest := [action for action in actions if action != _DECIMAL_COMMAS])
    ]
    commas = any(_DECIMAL_COMMAS in actions for actions in said.values())
    return ["decimal commas" if commas else "", *notes]


def written_numbers(values: pd.Series, pattern: str) -> pd.Series | None:
    """A text column as numbers when every present value fullmatches ``pattern`` (a number with
    a decimal point or comma, maybe a trailing '%'); None when one does not, or one is too large
    for a float ('1e309': left as written)."""
    present = values.dropna().astype(str).str.strip()
    if present.empty or not present.str.fullmatch(pattern).all():
        return None
    text = present.str.rstrip("%").str.strip().str.replace(",", ".", regex=False)
    try:
        return pd.to_numeric(text).reindex(values.index)
    except (ValueError, OverflowError):
        return None


#: A decimal number with a point or a comma ('1.5', '1,5', '.5').
DECIMAL = r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)"
#: A lab value written as a detection bound: '<0.5', '> 1000', '<=5'.
BOUND_VALUE = re.compile(r"\s*[<>]=?\s*" + DECIMAL + r"\s*")
#: A number as written, without a bound: '12', '0,5', '6.370e-04'.
PLAIN_NUMBER = re.compile(r"\s*" + DECIMAL + r"(?:[eE][-+]?\d+)?\s*")


def read_bounds(present: pd.Series, numeric: bool = False) -> tuple[pd.Series, int]:
    """A column's present texts with each value written as a detection bound ('<0.5', '> 1000',
    :data:`BOUND_VALUE`) read as the bound ('0.5'), and how many were: the cohort import and
    the model tables alike (60 of GBSG2's estrogen receptors written '<1' made it a category of
    231 levels). Only a column of numbers' bounds are (:func:`_bounds_among_numbers`), or every
    bound of a column known to be ``numeric`` (a fitted model's number input); else the texts
    are returned as written: an age group '<60'/'>=60' read as 60 for every patient was dropped
    as constant."""
    bounds = present.str.fullmatch(BOUND_VALUE.pattern)
    if not bounds.any():
        return present, 0
    read = present.where(~bounds, present.str.replace(r"^\s*[<>]=?\s*", "", regex=True))
    if not numeric and not _bounds_among_numbers(present, read, bounds):
        return present, 0
    return read, int(bounds.sum())


def _bounds_among_numbers(present: pd.Series, read: pd.Series, bounds: pd.Series) -> bool:
    """Whether a column's ``bounds`` (read as ``read``) are a lab's among its numbers: the column
    has plain numbers and is not constant once read, and its bounds all point one way, whatever
    their share ('<5' for 68% of CRPs stayed a category of 159 levels), or are fewer than its
    plain numbers with no number bounded both ways ('<10' and '>=10': the two levels of a
    category; '<0.1' and '<0.10', one bound written two ways, are no such levels)."""
    plain = present.str.fullmatch(PLAIN_NUMBER.pattern)
    numbers = pd.to_numeric(
        read[bounds | plain].str.strip().str.replace(",", ".", regex=False), errors="coerce"
    )
    ways = pd.DataFrame(
        {"way": present[bounds].str.strip().str[0], "number": numbers[bounds]}
    ).drop_duplicates()
    one_way = ways["way"].nunique() == 1
    both_ways = ways["number"].duplicated().any()  # one number bounded both ways
    few = int(bounds.sum()) < int(plain.sum())
    return bool(plain.any() and numbers.nunique() > 1 and (one_way or (few and not both_ways)))
