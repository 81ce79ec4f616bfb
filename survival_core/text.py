"""User strings (case ids, structure names, table values) shown where they could do more than
be read: on a line of the command line's output, in Markdown, in a file name.

A case id comes from the user's files (a clinical.json's ``case_id``, a folder name), so it may
hold a newline (which wrote ``risk: -3.00`` as its own line above the real risk), Markdown or
LaTeX (``**x** [SYN-0002](...)`` drawn as another patient's id), or only letters a regex of
ASCII letters dropped (every Chinese id downloaded as ``_-radsurv-report.pdf``).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: Characters read as markup inside a line: CommonMark's emphasis, code, links and HTML,
#: Streamlit's LaTeX (between dollars), and a colon opening Streamlit's colours, icons and emoji
#: (':red[...]', ':material/x:', ':smile:'; not the colon of 'x.zip:RS.dcm' or 'Note: ...'). A
#: run of underscores between two letters or digits ('dose_gy', 'gtv__original') emphasises
#: nothing (CommonMark) and is matched whole, to be left as it is.
_MARKDOWN = re.compile(r"(?<=[^\W_])_+(?=[^\W_])|([\\`*_\[\]<>$~|]|:(?=[\w/-]+[:\[]))")


#: Significant digits of a value shown on its own (all of a value's whole digits are kept).
VALUE_DIGITS = 5


def number_text(value: float) -> str:
    """``value`` as a clinician writes it: plain digits, never exponent notation ('2e+03' read
    as 2 for a year 1997, 'afp = 1e+06'), every whole digit kept and :data:`VALUE_DIGITS`
    significant digits for the rest (1234.5, 2380, 0.0123), no trailing zeros. The one
    formatter of a clinical value, a training range or a plausible range shown to a clinician."""
    if value == 0 or not math.isfinite(value):
        return f"{value + 0.0:g}"  # + 0.0: -0.0 is 0
    decimals = max(0, VALUE_DIGITS - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def decimals_apart(
    value: float, bound: float, fewest: int = 2, most: int = 12, tolerance: float = 0.0
) -> int:
    """The decimals (at least ``fewest``) that print ``value`` otherwise than ``bound``, and
    neither of them as 0 unless it is: a risk just beyond the training range's end printed as
    that end ('2.56 lies above ... to 2.56'), a risk of 0.074571 above a cut of 0.074421 as 'Risk
    score 0.07, high-risk group' under 'risk > 0.07 is high', a penalised model's risks as
    '-0.00'. ``fewest`` when they are equal, within ``tolerance`` (a risk at a risk-group cut
    within rounding: both printed to 12 decimals, still alike), or not told apart by ``most``."""
    if abs(value - bound) <= tolerance:
        return fewest
    digits = fewest
    while digits < most and (
        round(value, digits) == round(bound, digits)
        or any(v != 0 and round(v, digits) == 0 for v in (value, bound))
    ):
        digits += 1
    return digits if round(value, digits) != round(bound, digits) else fewest


def percentile_text(percentile: float) -> str:
    """A training-cohort percentile (the share, %, of training risks at or below the patient's)
    as a whole number, '> 99' and '< 1' short of the ends: 99.7 rounded to 100 read as beyond
    every training patient, 0.3 to 0 as below every one."""
    if 99 < percentile < 100:
        return "> 99"
    if 0 < percentile < 1:
        return "< 1"
    return f"{percentile:.0f}"


def them(names: Sequence[str]) -> str:
    """The pronoun of ``names``: 'it' for one, else 'them'."""
    return "it" if len(names) == 1 else "them"


def first_few(items: Sequence[str], n: int) -> str:
    """The first ``n`` of ``items`` joined by commas, with ' ...' after them when there are more
    (a message naming what it is about without listing hundreds)."""
    return ", ".join(items[:n]) + (" ..." if len(items) > n else "")


def params_text(params: Mapping[str, Any]) -> str:
    """Parameters as a line, a report, a fold table and the runs listing show them, to the trial
    table's 4 significant digits (folds counted by this text: 0.1398 and 0.1401 are two
    choices): 'penalizer=0.1398, l1_ratio=0'."""
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def upper_first(text: str) -> str:
    """``text`` with its first letter upper-cased and the rest as written: ``str.capitalize``
    lowered the rest, a column 'PFS_event' said as 'pfs_event'."""
    return text[:1].upper() + text[1:]


def one_line(text: str) -> str:
    """``text`` with control characters written as escapes ('A\\nB'), so it stays on its line."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda c: c.group().encode("unicode_escape").decode(), text)


#: What makes a line a block (a heading, a quote, a list item) where it begins one.
_BLOCK_START = re.compile(r"^([#>+=-]|\d+[.)])")


def _escaped(text: str) -> str:
    """``text`` with its markup characters (:data:`_MARKDOWN`) escaped."""
    return _MARKDOWN.sub(lambda m: m[0] if m[1] is None else "\\" + m[1], text)


def _no_block(line: str) -> str:
    """``line`` with a block marker it starts with escaped (:data:`_BLOCK_START`)."""
    return _BLOCK_START.sub(lambda m: m[0][:-1] + "\\" + m[0][-1], line, count=1)


def markdown_literal(text: str) -> str:
    """``text`` shown as written inside Markdown: on one line, its markup characters escaped,
    and a block marker it starts with ('# X', '- X', '1. X': a line of a list may begin with it)."""
    return _no_block(_escaped(one_line(text)))


#: A code span of a message (a command to run: `python -m survival_core users add ...`).
_CODE_SPAN = re.compile(r"(`[^`]+`)")


def markdown_message(text: str) -> str:
    """A message shown in Markdown as written, line by line, its `code` spans (the commands it
    gives) drawn as code: what it quotes of the user's files is shown, not drawn (a structure
    named with a Markdown image, a link or LaTeX drew them in an error box); a code span draws
    no link, image or HTML."""
    lines = []
    for line in text.splitlines():
        parts = _CODE_SPAN.split(one_line(line))
        lines.append(_no_block("".join(p if k % 2 else _escaped(p) for k, p in enumerate(parts))))
    return "  \n".join(lines)


def file_name_part(text: str) -> str:
    """``text`` as part of a download's file name: letters and digits of any script, '.', '_'
    and '-' kept, anything else (a path separator, a space, a control character) as '_'."""
    return re.sub(r"[^\w.-]+", "_", text).strip("._") or "case"


@functools.cache
def drawn_characters() -> frozenset[int]:
    """The code points matplotlib's default font (DejaVu Sans) holds: what a PDF or PNG it draws
    can show."""
    from matplotlib.font_manager import FontProperties, findfont
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(findfont(FontProperties())).get_charmap())


def undrawn(text: str) -> set[str]:
    """The printable characters of ``text`` the font does not hold (Chinese, Japanese, Korean)."""
    drawn = drawn_characters()
    return {c for c in text if ord(c) not in drawn and c.isprintable()}


def drawable(text: str, lacking: set[str] | None = None) -> str:
    """``text`` with each character the font does not hold (``lacking``, else :func:`undrawn`)
    written as its code point ('U+7537'), not drawn as an empty box."""
    lacking = undrawn(text) if lacking is None else lacking
    return "".join(f"U+{ord(c):04X}" if c in lacking else c for c in text)


def literal_texts(figure: Any) -> None:
    """Every text of a matplotlib ``figure`` drawn as written: a '$' of a case id, a column
    header or a label is no mathtext or TeX (a header 'Cost $\\frac$' failed to draw at all)."""
    from matplotlib.text import Text

    for text in figure.findobj(Text):
        text.set_parse_math(False)
        text.set_usetex(False)


def short_run(run_id: str | None) -> str:
    """A run id as users read it beside a model's name and version ('run 9627f8cd'): a model
    deleted and another registered under its name and version differ by it alone."""
    return f"run {run_id[:8]}" if run_id else "run unknown"
