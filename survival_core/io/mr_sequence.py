"""Which MR sequence (weighting) an image is: T1, T1C (after contrast), T2, FLAIR, PD, DWI, ADC.

Radiomics of one weighting do not transfer to another: a FLAIR scored by a model trained on
contrast-enhanced T1 gets a risk from features that never meant what they mean there. The
sequence is read from the series' words (SeriesDescription, ProtocolName, SequenceName: what the
technologist named it) first, then from the acquisition timing (TE, TR, TI) a physicist would use,
and from a volume file's name ('BraTS_001_t1ce'); None when neither says (a scorer then cautions
nothing rather than guess).
"""

from __future__ import annotations

import re
from typing import Any

from survival_core.io.dataset_layout import named_sequence

#: The weightings told apart, in the order a caution lists them.
SEQUENCES = ("T1", "T1C", "T2", "FLAIR", "PD", "DWI", "ADC")

#: A file name's sequence word (:data:`~survival_core.io.dataset_layout.SEQUENCE_NAMES`, BraTS
#: 2021's and 2023's) -> its weighting.
_FILE_WORDS = {
    "T1": "T1",
    "T1W": "T1",
    "T1N": "T1",
    "T1C": "T1C",
    "T1CE": "T1C",
    "T1GD": "T1C",
    "T2": "T2",
    "T2W": "T2",
    "T2F": "FLAIR",
    "FLAIR": "FLAIR",
    "DWI": "DWI",
    "ADC": "ADC",
}

# Words of a series description, first match wins (T1-FLAIR is T1-weighted; ADC maps are computed from DWI; FLAIR and
# STIR are inversion-recovery T2; vendor names of T1 gradient-echo sequences).
_WORD_RULES = (
    ("T1", re.compile(r"\bt1[ -]?flair\b")),  # a T1-weighted FLAIR (brain) is a T1
    ("ADC", re.compile(r"\b(adc|apparent)\b")),
    ("DWI", re.compile(r"\b(dwi|diffusion|diff|dw|trace|b\d{3,4})\b")),
    ("FLAIR", re.compile(r"\b(flair|t2f|tirm|dark[ _-]?fluid)\b")),
    ("PD", re.compile(r"\b(pd|pdw|pd[ _-]?w|proton[ _-]?density)\b")),
    ("T2", re.compile(r"\b(t2|t2w|t2[ _-]?w|stir|haste|ssfse|space[ _-]?t2)\b")),
    (
        "T1",
        re.compile(
            r"\b(t1|t1w|t1[ _-]?w|t1c|t1ce|t1gd|mprage|spgr|fspgr|vibe|lava|thrive|bravo|"
            r"flash|tfl|fl3d|ffe|dixon|hbp)\b"
        ),
    ),
)
# Words saying contrast was given (post, Gd, +C, phases of a dynamic study), but not "pre".
_CONTRAST = re.compile(
    r"(\+\s?c\b|\bc\s?\+|\b(post|gd|gad|gado|contrast|t1c|t1ce|t1gd|ce|arterial|venous|portal|"
    r"delayed|equilibrium|hbp|hepatobiliary)\b)"
)
_NO_CONTRAST = re.compile(r"\b(pre|precontrast|pre[ _-]contrast|native|nativ)\b")
# Header words that hold the technologist's names for the series.
_NAMED_BY = ("SeriesDescription", "ProtocolName", "SequenceName")


def _number(header: Any, keyword: str) -> float | None:
    try:
        value = header.get(keyword)
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def _by_timing(header: Any) -> str | None:
    """The weighting its echo, repetition and inversion times (ms) imply: long TI with long TR is
    FLAIR, long TE and TR T2, short TE with long TR PD, short TE and TR T1; None otherwise."""
    te, tr, ti = (_number(header, k) for k in ("EchoTime", "RepetitionTime", "InversionTime"))
    if te is None or tr is None:
        return None
    if ti is not None and ti >= 1500 and tr >= 4000:
        return "FLAIR"
    if te >= 60 and tr >= 1500:
        return "T2"
    if te <= 30 and tr >= 1500:
        return "PD"
    if te <= 30 and tr <= 1000:
        return "T1"
    return None


def header_sequence(header: Any) -> str | None:
    """The weighting (one of :data:`SEQUENCES`) of an MR series from one slice's header, or None.

    Its names decide first, then its timing; a T1 is T1C when its names say contrast was
    given (post, Gd, +C, a dynamic phase) or ContrastBolusAgent is filled and its names do not
    say "pre"."""
    text = " ".join(str(header.get(k) or "") for k in _NAMED_BY).lower().replace("_", " ")
    image_type = " ".join(str(v) for v in (header.get("ImageType") or [])).lower()
    found = "ADC" if "adc" in image_type.split() else None
    found = found or next((name for name, rule in _WORD_RULES if rule.search(text)), None)
    found = found or _by_timing(header)
    agent = str(header.get("ContrastBolusAgent") or "").strip()
    if found == "T1" and not _NO_CONTRAST.search(text) and (_CONTRAST.search(text) or agent):
        return "T1C"
    return found


def file_sequence(stem: str) -> str | None:
    """The weighting a volume file's name gives ('BraTS20_001_t1ce' -> 'T1C', 'flair' ->
    'FLAIR'), or None."""
    word = named_sequence(stem)
    return None if word is None else _FILE_WORDS.get(word)


def sequence_caution(sequence: str | None, trained: dict[str, int], model: str) -> list[str]:
    """A caution when a case's MR ``sequence`` is none of those the model's training images were
    (``trained``: sequence -> cases); nothing when either is unknown."""
    if sequence is None or not trained or sequence in trained:
        return []
    listed = " and ".join(f"{s} ({n} cases)" for s, n in sorted(trained.items()))
    return [
        f"This MR image is {sequence}-weighted; model {model} learned from {listed}: its radiomic "
        "features mean something else on another sequence, so the risk is not valid for this "
        f"image. Score the case's {' or '.join(sorted(trained))} series."
    ]


def mixed_sequences_note(sequences: dict[str, int]) -> str | None:
    """The note that a cohort's MR images are of several weightings (``sequences``: weighting ->
    cases), whose radiomics mix scales and contrasts; None for one or none known."""
    if len(sequences) < 2:
        return None
    listed = ", ".join(f"{s} ({n} cases)" for s, n in sorted(sequences.items()))
    return (
        f"The cohort's MR images are of {len(sequences)} sequences: {listed}. Radiomics of one "
        "weighting mean something else on another: a model on them learns the sequence as much "
        "as the tumour. Give every case the same sequence: keep that series in each case's "
        "folder, or extract each sequence's cases apart."
    )
