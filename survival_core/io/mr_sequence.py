"""Which MR sequence (weighting) an image is: T1, T1C (after contrast), T2, T2*, FLAIR, PD, DWI, ADC.

Radiomics of one weighting do not transfer to another: a FLAIR scored by a model trained on
contrast-enhanced T1 gets a risk from features that never meant what they mean there. The
sequence is read from the series' words (SeriesDescription, ProtocolName, SequenceName: what the
technologist named it) first, then from the acquisition timing (TE, TR, TI) a physicist would use,
and from a volume file's name ('BraTS_001_t1ce'); None when neither says (a scorer then cautions
nothing rather than guess). De-identification removes the names and the contrast agent, so it
writes the weighting read before as the series description (:mod:`survival_core.io.deid`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from survival_core.io.dataset_layout import named_sequence
from survival_core.io.dicom_stacks import header_values
from survival_core.io.volume import volume_stem

#: The weightings told apart, in the order a caution lists them (T2*: gradient-echo T2, SWI).
SEQUENCES = ("T1", "T1C", "T2", "T2*", "FLAIR", "PD", "DWI", "ADC")

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

# Words of one name, first match wins: an inversion-recovery T1 (T1-FLAIR, T1 TIRM) is T1;
# ADC maps (eADC, dADC) are computed from a diffusion series (TRACEW, b1000); FLAIR is the
# dark-fluid inversion recovery, STIR (Siemens' TIRM) a T2; T2* and SWI are gradient-echo T2;
# then the vendors' names of T1 gradient echoes (VIBE, LAVA, THRIVE, TFE, FFE, Dixon phases).
_WORD_RULES = (
    ("T1", re.compile(r"\bt1[ -]?(flair|tirm|ir)\b")),
    ("ADC", re.compile(r"\b([ed]?adc|apparent)\b")),
    ("DWI", re.compile(r"\b(dwi|diffusion|diff|dw|trace|tracew|b\d{2,4})\b")),
    ("FLAIR", re.compile(r"\b(flair|t2f|dark[ -]?fluid|da[ -]?fl)\b")),
    ("T2*", re.compile(r"(\bt2\s?\*|\b(t2star|swi|swan|hemo|medic|merge)\b)")),
    ("PD", re.compile(r"\b(pd|pdw|pd[ -]?w|proton[ -]?density)\b")),
    ("T2", re.compile(r"\b(t2|t2w|t2[ -]?w|stir|tirm|haste|ssfse|frfse)\b")),
    (
        "T1",
        re.compile(
            r"\b(t1|s?t1w|t1[ -]?w|t1c|t1ce|t1gd|mprage|spgr|fspgr|vibe|starvibe|lava|e?thrive|"
            r"bravo|flash|tfl|fl2d|fl3d|tfe|ffe|m?dixon|hbp|in[ -]?phase|opp|opposed)\b"
        ),
    ),
)
# Words saying contrast was given (post, Gd, +C, dynamic phases, German KM), but not "pre",
# "w/o" or "without" (a GE exam named 'ROUTINE BRAIN W/WO CONTRAST' holds the pre-contrast T1).
_CONTRAST = re.compile(
    r"(\+\s?c\b|\bc\s?\+|\b(post|gd|gad|gado|contrast|t1c|t1ce|t1gd|ce|arterial|venous|"
    r"portal|delayed|equilibrium|hbp|hepatobiliary|dyn|dynamic|dce|km)\b)"
)
_NO_CONTRAST = re.compile(
    r"(\bw\s?/\s?o\b|\b(pre|precontrast|pre[ -]contrast|native|nativ|wo|without|non[ -]?contrast)\b)"
)
# What ContrastBolusAgent holds when none was given.
_NO_AGENT = frozenset({"", "none", "no", "n/a", "na", "0", "-"})
# Header words that hold the technologist's names for the series, the series' own first: a GE
# ProtocolName names the whole exam ('STROKE DIFFUSION' over its T2).
_NAMED_BY = ("SeriesDescription", "ProtocolName", "SequenceName")


def _number(header: Any, keyword: str) -> float | None:
    try:
        value = header.get(keyword)
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def _by_timing(header: Any) -> str | None:
    """The weighting the acquisition implies: a diffusion b-value is DWI; an inversion time of
    1.5 s or more with a long TR FLAIR, of 300 ms-1.5 s a T1 preparation (MPRAGE, T1-FLAIR),
    under 300 ms STIR (a T2); a gradient echo with TE of 10 ms or more T2*, shorter T1; a spin
    echo with long TE and TR T2, short TE and long TR PD, short TE and TR T1; None otherwise
    (an echo-planar series without a b-value: diffusion or perfusion)."""
    te, tr, ti = (_number(header, k) for k in ("EchoTime", "RepetitionTime", "InversionTime"))
    # DICOM lists the techniques ('GR\\IR'), dcm2niix's sidecars join them ('GR_IR')
    scanning = re.split(r"[\s_\\]+", " ".join(header_values(header, "ScanningSequence")))
    if (_number(header, "DiffusionBValue") or 0) > 0:
        return "DWI"
    if te is None or tr is None or "EP" in scanning:
        return None
    if ti is not None and ti > 0:
        return "FLAIR" if ti >= 1500 and tr >= 4000 else "T1" if ti >= 300 else "T2"
    if "GR" in scanning and "SE" not in scanning:
        return "T2*" if te >= 10 else "T1"
    if te >= 60 and tr >= 1500:
        return "T2"
    if te <= 30 and tr >= 1500:
        return "PD"
    if te <= 30 and tr <= 1000:
        return "T1"
    return None


def header_sequence(header: Any) -> str | None:
    """The weighting (one of :data:`SEQUENCES`) of an MR series from one slice's header, or None.

    Its names decide first, one at a time in :data:`_NAMED_BY`'s order, then its acquisition
    (:func:`_by_timing`); a T1 is T1C when the name that told it, or the series description,
    says contrast (post, Gd, +C, a dynamic phase) and not "pre"/"w/o", or when a contrast agent
    is recorded and neither of those names says "pre"."""
    names = [str(header.get(k) or "").lower().replace("_", " ") for k in _NAMED_BY]
    found = "ADC" if "ADC" in header_values(header, "ImageType") else None
    told_by = ""
    for name in names if found is None else []:
        found = next((weighting for weighting, rule in _WORD_RULES if rule.search(name)), None)
        if found is not None:
            told_by = name
            break
    found = found or _by_timing(header)
    if found != "T1":
        return found
    said = {told_by, names[0]} - {""}
    if any(_NO_CONTRAST.search(name) for name in said):
        return "T1"
    agent = str(header.get("ContrastBolusAgent") or "").strip().lower()
    if any(_CONTRAST.search(name) for name in said) or agent not in _NO_AGENT:
        return "T1C"
    return "T1"


def file_sequence(stem: str) -> str | None:
    """The weighting a volume file's name gives ('BraTS20_001_t1ce' -> 'T1C', 'flair' ->
    'FLAIR'), or None."""
    word = named_sequence(stem)
    return None if word is None else _FILE_WORDS.get(word)


#: A BIDS sidecar's (dcm2niix's ``image.json``) times are in seconds, DICOM's in ms.
_SIDECAR_SECONDS = ("EchoTime", "RepetitionTime", "InversionTime")
#: The most of a sidecar read: dcm2niix's are a few kB.
_SIDECAR_BYTES = 1 << 20
#: Keys of an acquisition's sidecar (dcm2niix's BIDS JSON), which no clinical file holds.
SIDECAR_KEYS = frozenset(
    {
        "BidsGuess",
        "ConversionSoftware",
        "EchoTime",
        "ImageType",
        "MagneticFieldStrength",
        "Modality",
        "ProtocolName",
        "RepetitionTime",
        "ScanningSequence",
        "SeriesDescription",
        "SequenceName",
    }
)


def sidecar_path(volume: Path) -> Path:
    """Where a volume file's BIDS sidecar lies: 'image.nii.gz' -> 'image.json'."""
    return volume.with_name(volume_stem(volume) + ".json")


def said_sequence(said: dict[str, Any]) -> str | None:
    """The weighting a sidecar's object ``said`` gives (:func:`header_sequence`, its times read
    in seconds), or None."""
    header = dict(said)
    for key in _SIDECAR_SECONDS:
        if isinstance(header.get(key), int | float):
            header[key] = 1000.0 * header[key]
    return header_sequence(header)


def sidecar_sequence(volume: Path) -> str | None:
    """The weighting the JSON sidecar beside a volume file gives (dcm2niix writes one with the
    series' names and timing, in seconds; a cohort import or an upload writes the weighting it
    read as the series description), or None when there is none or it says nothing usable."""
    path = sidecar_path(volume)
    try:
        if not path.is_file() or path.stat().st_size > _SIDECAR_BYTES:
            return None
        said = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return said_sequence(said) if isinstance(said, dict) else None


def sidecar_text(sequence: str) -> str:
    """The sidecar RadSurv stores for a volume of weighting ``sequence``: the weighting as its
    series description, nothing of the patient's or the scanner's."""
    return json.dumps({"SeriesDescription": sequence})


def write_sidecar(volume: Path, sequence: str) -> Path:
    """Write :func:`sidecar_text` beside ``volume``, so that the file keeps the weighting its
    name or headers gave."""
    path = sidecar_path(volume)
    path.write_text(sidecar_text(sequence))
    return path


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
