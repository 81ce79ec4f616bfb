"""Where everything of a nomogram goes, shared by the plotly figure and the static drawings.

Rows from the top, as ``rms::nomogram`` draws them: Points (0-100), one axis per variable in its
raw units, Total points, Linear predictor, then survival at 1, 2 and 3 years. Every row shares one
horizontal coordinate, the points scale 0-100: a variable's value sits at its points, and the
total-points, lp and survival axes are the total-points scale squeezed onto 0-100.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from survival_core.models.scoring import REPORT_MONTHS, survival_text
from survival_core.nomogram.cox import Nomogram, NomogramVariable, PatientPoints
from survival_core.text import number_text

#: Survival probabilities marked on the survival axes (those inside the reachable range).
SURVIVAL_TICKS = (0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01)
#: Tick labels closer than this (points units) alternate above and below the axis line.
CROWDED = 4.0
#: Width of one tick-label character in points units (the 0-100 scale) as drawn; neighbouring
#: labels keep at least GAP points between their texts.
CHAR_POINTS, GAP = 0.8, 1.0
#: Row labels longer than this many characters are drawn on two lines.
LABEL_WRAP = 32
#: About one numeric tick per this many points of axis length (at most 6, the ends at least).
TICK_SPACING = 5.0


@dataclass(frozen=True)
class Tick:
    """A tick at ``x`` (0-100 scale) labelled ``text``; ``below`` when crowded by its neighbour."""

    x: float
    text: str
    below: bool = False


@dataclass(frozen=True)
class AxisRow:
    """One axis: label, line from ``start`` to ``end``, ticks, and the patient's mark if any."""

    label: str
    start: float
    end: float
    ticks: tuple[Tick, ...]
    marker: float | None = None
    marker_text: str = ""


@dataclass
class NomogramLayout:
    """Rows top to bottom plus the vertical guides of a patient, ``(x, top row, bottom row)``."""

    rows: list[AxisRow]
    guides: list[tuple[float, int, int]] = field(default_factory=list)
    #: The drawings' title: the model as the page names it (a registered one's name and version)
    #: and its research use only, which a downloaded PNG or SVG carries away from the page.
    title: str = ""

    @property
    def label_chars(self) -> int:
        """Length of the longest line of the row labels as drawn (sets the drawings' left
        margin)."""
        return max(len(line) for r in self.rows for line in label_lines(r.label))

    @property
    def x_range(self) -> tuple[float, float]:
        """Horizontal extent to show: 0-100 plus margins, widened to marks beyond an axis end."""
        marks = [r.marker for r in self.rows if r.marker is not None]
        return min([-2.0, *(m - 2 for m in marks)]), max([104.0, *(m + 2 for m in marks)])


def nice_ticks(low: float, high: float, target: int = 6, whole: bool = False) -> np.ndarray:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) inside ``[low, high]``: about
    ``target`` of them, at least two where the range allows (whole numbers only if ``whole``)."""
    if high <= low:
        return np.array([low])
    for count in range(max(1, target), max(1, target) + 8):
        raw = (high - low) / count
        power = 10.0 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
        if whole:
            step = max(1.0, round(step))
        first = math.ceil(low / step - 1e-9) * step
        values = np.round(np.arange(first, high + step * 1e-9, step), 12)
        if len(values) >= 2:
            break
    return values


def _text(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 2
    return f"{value:.{decimals}f}"


def label_lines(label: str) -> list[str]:
    """A row label as drawn: one line, or two when it is longer than :data:`LABEL_WRAP` (a
    95-character name was cut at the image's edge), broken after the space or radiomics ``__``
    separator that makes the longer line shortest, never inside a word."""
    breaks = [m.end() for m in re.finditer(r"__|\s+", label) if m.end() < len(label)]
    if len(label) <= LABEL_WRAP or not breaks:
        return [label]
    cut = min(breaks, key=lambda at: max(len(label[:at].rstrip()), len(label) - at))
    return [label[:cut].rstrip(), label[cut:]]


def _crowd(placed: tuple[float, str], label: tuple[float, str]) -> bool:
    """Whether ``label`` (x, text) would overlap the label ``placed`` on the same side of the
    line: closer than :data:`CROWDED`, or than their texts' half widths need ('Plattenepithel-
    karzinom' beside 'kleinzellig (SCLC)' 17 points away overprinted)."""
    room = (len(placed[1]) + len(label[1])) / 2 * CHAR_POINTS + GAP
    return abs(label[0] - placed[0]) < max(CROWDED, room)


def _ticks(pairs: list[tuple[float, str]], numeric: bool = True) -> tuple[Tick, ...]:
    """Ticks sorted by position, each label above the line, else below it, where it crowds no
    label placed on that side; the two ends' labels placed first, so that an axis shows its
    range. A numeric label crowding both sides is left out (its tick drawn: the demo's short
    Age axis printed '40' and '80' over each other as '4080'); a level's, which nothing else
    names, goes to the side of the farther neighbour."""
    ordered = sorted(pairs)
    sides: dict[bool, list[tuple[float, str]]] = {False: [], True: []}
    ticks: dict[int, Tick] = {}
    ends = list(dict.fromkeys([0, len(ordered) - 1])) if ordered else []
    for k in [*ends, *range(1, len(ordered) - 1)]:
        x, text = ordered[k]
        free = [
            side for side in (False, True) if not any(_crowd(p, (x, text)) for p in sides[side])
        ]
        if free:
            below = free[0]
        elif numeric:
            ticks[k] = Tick(float(x), "")
            continue
        else:
            below = _nearest(sides[True], x) > _nearest(sides[False], x)
        sides[below].append((x, text))
        ticks[k] = Tick(float(x), text, below)
    return tuple(ticks[k] for k in range(len(ordered)))


def _nearest(placed: list[tuple[float, str]], x: float) -> float:
    """The distance from ``x`` to the nearest label of ``placed``."""
    return min((abs(x - p[0]) for p in placed), default=math.inf)


def _value_text(variable: NomogramVariable, value) -> str:
    """A patient's value on its marker: the level ('yes' / 'no' for a yes/no variable, as the
    page's select box and the PDF say it), or the plain number and unit."""
    if variable.kind == "categorical":
        return variable.level_text(str(value))
    return f"{number_text(float(value))} {variable.unit}".strip()


def _marked_value(variable: NomogramVariable, patient: PatientPoints) -> str:
    """The patient's value as its axis marks it: '38.5 g/L', 'yes', '62 years (imputed)'."""
    note = patient.missing_note(variable.name)
    imputed = f" (imputed{'; ' + note if note else ''})" if variable.name in patient.imputed else ""
    return f"{_value_text(variable, patient.values[variable.name])}{imputed}"


def points_rows(nomo: Nomogram, patient: PatientPoints) -> list[dict[str, Any]]:
    """The drawing's marks of ``patient`` as text, for a reader who cannot see it: per variable
    its label, value as marked and points; then the total points (their sum) and the linear
    predictor, as the markers of their axes say them."""
    rows: list[dict[str, Any]] = [
        {
            "variable": var.label,
            "value": _marked_value(var, patient),
            "points": patient.points[var.name],
        }
        for var in nomo.variables
    ]
    rows.append({"variable": "Total points", "value": "", "points": patient.total})
    rows.append({"variable": "Linear predictor", "value": f"{patient.lp:.3f}", "points": None})
    return rows


def _variable_row(nomo: Nomogram, var: NomogramVariable, patient: PatientPoints | None) -> AxisRow:
    if var.kind == "categorical":
        pairs = [
            (nomo.points_of(var, e), var.level_text(lv))
            for lv, e in zip(var.levels, var.effects, strict=True)
        ]
    else:
        length = nomo.points_of(var, var.span[1])
        target = int(np.clip(length / TICK_SPACING, 1, 6))
        values = nice_ticks(var.low, var.high, target, whole=var.whole_numbers or var.whole)
        if len(values) > 1:
            step = values[1] - values[0]
            pairs = [(nomo.points_of(var, var.contribution(v)), _text(v, step)) for v in values]
        else:  # a short axis: its two ends only
            pairs = [
                (nomo.points_of(var, var.contribution(v)), number_text(v))
                for v in (var.low, var.high)
            ]
    xs = [x for x, _ in pairs]
    if var.kind == "numeric":
        xs += [nomo.points_of(var, var.contribution(e)) for e in (var.low, var.high)]
    marker, text = None, ""
    if patient is not None:
        marker = patient.points[var.name]
        text = f"{var.label}: {_marked_value(var, patient)} = {marker:.1f} points"
    ticks = _ticks(pairs, numeric=var.kind == "numeric")
    return AxisRow(var.label, min(xs), max(xs), ticks, marker, text)


def _survival_row(
    nomo: Nomogram, months: int, column: int, scale: float, patient: PatientPoints | None
) -> AxisRow:
    """Survival at ``months``: S(lp) = exp(-exp(c + lp)), so each probability has one lp."""
    label = f"{months // 12}-year {nomo.endpoint.short}"  # the model's: 'overall survival'
    at_zero = float(nomo.survival_of_lp(0.0)[0, column])
    lp_range = nomo.lp_of_total(np.array([0.0, nomo.max_total]))
    pairs: list[tuple[float, str]] = []
    if 0.0 < at_zero < 1.0:
        offset = math.log(-math.log(at_zero))
        for p in SURVIVAL_TICKS:
            lp = math.log(-math.log(p)) - offset
            if lp_range[0] <= lp <= lp_range[1]:
                pairs.append((float(nomo.total_of_lp(lp)) * scale, f"{p:g}"))
    if len(pairs) < 2:  # a flat stretch (no event before this horizon, or a tiny lp range)
        ends = nomo.survival_of_lp(lp_range)[:, column]
        pairs = [(0.0, f"{ends[0]:.3f}"), (100.0, f"{ends[1]:.3f}")]
    marker, text = None, ""
    if patient is not None:
        marker = patient.total * scale
        text = f"{label}: {survival_text(patient.survival[months])}"  # as the score and PDF
    xs = [x for x, _ in pairs]
    return AxisRow(label, min(xs), max(xs), _ticks(pairs), marker, text)


def nomogram_layout(nomo: Nomogram, patient: PatientPoints | None = None) -> NomogramLayout:
    """Rows and guides of ``nomo``, with ``patient`` marked on every axis when given."""
    scale = 100.0 / nomo.max_total  # total points -> the shared 0-100 coordinate
    rows = [AxisRow("Points", 0.0, 100.0, _ticks([(v, f"{v:g}") for v in range(0, 101, 10)]))]
    rows += [_variable_row(nomo, var, patient) for var in nomo.variables]
    totals = nice_ticks(0.0, nomo.max_total)
    total_step = totals[1] - totals[0] if len(totals) > 1 else 1.0
    lp_values = nice_ticks(*nomo.lp_of_total(np.array([0.0, nomo.max_total])))
    lp_step = lp_values[1] - lp_values[0] if len(lp_values) > 1 else 1.0
    total_marker = lp_marker = None
    total_text = lp_text = ""
    if patient is not None:
        total_marker = lp_marker = patient.total * scale
        total_text = f"Total points: {patient.total:.1f}"
        lp_text = f"Linear predictor: {patient.lp:.3f}"
    rows.append(
        AxisRow(
            "Total points",
            0.0,
            100.0,
            _ticks([(t * scale, _text(t, total_step)) for t in totals]),
            total_marker,
            total_text,
        )
    )
    lp_pairs = [(float(nomo.total_of_lp(v)) * scale, _text(v, lp_step)) for v in lp_values]
    rows.append(
        AxisRow(
            "Linear predictor",
            min(x for x, _ in lp_pairs),
            max(x for x, _ in lp_pairs),
            _ticks(lp_pairs),
            lp_marker,
            lp_text,
        )
    )
    total_row = len(rows) - 2
    rows += [
        _survival_row(nomo, months, column, scale, patient)
        for column, months in enumerate(REPORT_MONTHS)
        if nomo.loaded.followed(months)  # no axis past the training cohort's follow-up
    ]
    guides = []
    if patient is not None:
        guides = [(rows[i].marker, 0, i) for i in range(1, total_row)]
        guides.append((total_marker, total_row, len(rows) - 1))
    title = f"Cox nomogram of {nomo.loaded.name} ({nomo.model_name}), research use only"
    return NomogramLayout(rows, guides, title)
