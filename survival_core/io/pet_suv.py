"""PET voxel values as body-weight standardised uptake values (SUVbw), from the DICOM header alone.

A PET series stores activity concentration (Units BQML, Bq/mL) that depends on the injected dose,
the patient's weight and the time between injection and scan; radiomics and models compare
patients only on SUV. SUVbw = activity (Bq/mL) x weight (g) / injected dose decay-corrected to the
time the images refer to (DecayCorrection START: the series start; ADMIN: the injection itself;
NONE: each slice's own acquisition time). Everything comes from standard attributes (PatientWeight,
RadiopharmaceuticalInformationSequence: RadionuclideTotalDose, RadionuclideHalfLife,
RadiopharmaceuticalStartDateTime or RadiopharmaceuticalStartTime; SeriesDate/SeriesTime,
AcquisitionDate/AcquisitionTime), following the QIBA vendor-neutral recipe: a series time later
than the first acquisition (a series re-processed on the console) gives way to the first
acquisition time, and an injection time of day later than the scan's is the day before when
that gives a plausible uptake (injected before midnight, scanned after). An injection a few
minutes after the scan's start is a dynamic acquisition's (uptake about 0, said); any other
injection after the scan, or one over six half-lives before it (FDG: 11 h), is refused naming
the times read. An acquisition time without AcquisitionDate is on the series' day, or the next
when it lies over 12 h before the series time (a scan running past midnight). Series already in
SUVbw (Units GML) are kept; counts and other units are refused with what to export, and so is a
series stating it is not attenuation-corrected (a NAC reconstruction is not quantitative).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from pydicom.dataset import Dataset
from pydicom.valuerep import DA, DT, TM

from survival_core.errors import DicomError
from survival_core.io.dicom_stacks import header_values

#: Longest plausible time from injection to scan, in half-lives of the radionuclide: after six,
#: under 2 % of the activity is left (F-18: 11 h); longer means a wrong date or time.
MAX_UPTAKE_HALF_LIVES = 6
#: How long after the scan's start the injection may be: a dynamic acquisition starts with the
#: injection, and the injector's and the scanner's clocks may differ by a minute or two.
INJECTED_AFTER_START = timedelta(minutes=5)
#: Plausible patient weight (kg); DICOM stores PatientWeight in kg.
WEIGHT_RANGE_KG = (1.0, 500.0)
#: Plausible injected activity (Bq): a clinical FDG dose is about 37 MBq to 1 GBq; a value
#: outside is a dose written in MBq or mCi, which DICOM stores in Bq.
DOSE_RANGE_BQ = (1e6, 2e10)
#: How far before the series time an acquisition time may lie on the series' day; further, it
#: was acquired after midnight (the series time on a console re-processing is hours later).
MIDNIGHT_WRAP = timedelta(hours=12)


def _when(date: object, time: object) -> datetime | None:
    """A DA date and TM time as one datetime, None when either is missing or malformed."""
    try:
        day, moment = DA(str(date).strip()), TM(str(time).strip())
    except (TypeError, ValueError):
        return None
    if day is None or moment is None:
        return None
    return datetime.combine(day, moment)


class Injection(NamedTuple):
    """The series' injection: when, what was injected, and where its time was read."""

    #: Injection date and time.
    time: datetime
    #: Total injected activity (Bq) and the radionuclide's half-life (s).
    dose: float
    half_life: float
    #: The attribute and value the time was read from ('RadiopharmaceuticalStartTime 100000').
    source: str
    #: How the time was read, when a choice was made ("" otherwise).
    note: str


def _max_uptake(half_life: float) -> timedelta:
    """The longest plausible time from injection to scan for a radionuclide of ``half_life``
    (s): :data:`MAX_UPTAKE_HALF_LIVES` half-lives."""
    return timedelta(seconds=MAX_UPTAKE_HALF_LIVES * half_life)


def _plausible(uptake: timedelta, half_life: float) -> bool:
    """Whether a scan ``uptake`` after the injection can be: at most :func:`_max_uptake`, and
    no more than :data:`INJECTED_AFTER_START` before it (a dynamic scan's start)."""
    return -INJECTED_AFTER_START <= uptake <= _max_uptake(half_life)


def _injection(ds: Dataset, scan: datetime, name: str) -> Injection:
    """The series' radiopharmaceutical :class:`Injection`; :class:`DicomError` naming the
    missing or implausible attribute."""
    items = ds.get("RadiopharmaceuticalInformationSequence") or []
    if not items:
        raise DicomError(
            f"{name}: a PET image without RadiopharmaceuticalInformationSequence; the injected "
            "dose is needed for SUV. Export the series with its radiopharmaceutical information."
        )
    item = items[0]
    missing = [k for k in ("RadionuclideTotalDose", "RadionuclideHalfLife") if not item.get(k)]
    if missing:
        raise DicomError(f"{name}: no {' or '.join(missing)}; SUV cannot be computed.")
    dose, half_life = float(item.RadionuclideTotalDose), float(item.RadionuclideHalfLife)
    if not half_life > 0:
        raise DicomError(f"{name}: RadionuclideHalfLife {half_life} s; SUV needs it > 0.")
    low, high = DOSE_RANGE_BQ
    if not low <= dose <= high:
        raise DicomError(
            f"{name}: RadionuclideTotalDose {item.RadionuclideTotalDose} is {dose:g} Bq, not a "
            f"plausible injected activity ({low / 1e6:g} MBq to {high / 1e9:g} GBq; a clinical "
            "FDG dose is about 37 MBq to 1 GBq). DICOM stores the dose in Bq: a dose written in "
            "MBq (370 for 370 MBq) must be corrected in the header (370000000) and the series "
            "exported again."
        )
    found = _injection_time(item, scan, half_life)
    if found is None:
        raise DicomError(
            f"{name}: no readable RadiopharmaceuticalStartDateTime or StartTime; the decay from "
            "injection to scan cannot be corrected."
        )
    start, source, note = found
    return Injection(start, dose, half_life, source, note)


def _start_datetime(item: Dataset) -> datetime | None:
    """RadiopharmaceuticalStartDateTime as a naive datetime (its time zone dropped, as the
    scan's times have none), None when absent or malformed."""
    if not item.get("RadiopharmaceuticalStartDateTime"):
        return None
    try:
        start = DT(str(item.RadiopharmaceuticalStartDateTime).strip())
    except ValueError:
        return None
    return start.replace(tzinfo=None) if start is not None else None


def _on_scan_day(item: Dataset, scan: datetime, half_life: float) -> tuple[datetime, str] | None:
    """RadiopharmaceuticalStartTime on the scan's day, and a note; None when absent or
    malformed. A time later in the day than the scan is the day before only when that makes a
    plausible uptake (:func:`_max_uptake`: injected late in the evening, scanned after
    midnight); within :data:`INJECTED_AFTER_START` after the scan's start it is the same day
    (a dynamic acquisition starting with the injection)."""
    same_day = _when(scan.strftime("%Y%m%d"), item.get("RadiopharmaceuticalStartTime"))
    if same_day is None or same_day - scan <= INJECTED_AFTER_START:
        return (same_day, "") if same_day is not None else None
    day_before = same_day - timedelta(days=1)
    if not _plausible(scan - day_before, half_life):
        return same_day, ""  # refused by the caller: after the scan, or the day before too long
    return day_before, (
        f" RadiopharmaceuticalStartTime {item.RadiopharmaceuticalStartTime} is later in the day "
        "than the scan: the injection was taken on the day before (before midnight)."
    )


def _injection_time(
    item: Dataset, scan: datetime, half_life: float
) -> tuple[datetime, str, str] | None:
    """The injection's datetime, the attribute and value it was read from, and a note ("" when
    there is nothing to say): RadiopharmaceuticalStartDateTime, else StartTime on the scan's
    day (:func:`_on_scan_day`). StartTime also when the StartDateTime gives an implausible
    uptake at StartTime's time of day (its date shifted by a de-identification), said in the
    note. None when neither is readable."""
    by_date = _start_datetime(item)
    by_time = _on_scan_day(item, scan, half_life)
    date_source = f"RadiopharmaceuticalStartDateTime {item.get('RadiopharmaceuticalStartDateTime')}"
    time_source = f"RadiopharmaceuticalStartTime {item.get('RadiopharmaceuticalStartTime')}"
    if by_time is None:
        return (by_date, date_source, "") if by_date is not None else None
    if by_date is None:
        return by_time[0], time_source, by_time[1]
    shifted = round((by_date - by_time[0]).total_seconds()) % 86400 == 0  # same time of day
    if _plausible(scan - by_date, half_life) or not shifted:
        return by_date, date_source, ""
    return (
        by_time[0],
        time_source,
        (
            f" RadiopharmaceuticalStartDateTime {by_date:%Y-%m-%d %H:%M:%S} is "
            f"{_span(scan - by_date)} from the scan (a date shifted by de-identification?): "
            f"the injection was taken at {by_time[0]:%Y-%m-%d %H:%M:%S} by "
            "RadiopharmaceuticalStartTime and the scan's date; check that this is the injection time."
        ),
    )


def _series_time(headers: Sequence[Dataset]) -> datetime | None:
    """SeriesDate and SeriesTime of the first header."""
    return _when(headers[0].get("SeriesDate"), headers[0].get("SeriesTime"))


def _acquired(headers: Sequence[Dataset]) -> list[datetime | None]:
    """Each header's acquisition datetime: by AcquisitionDate, else on the SeriesDate, rolled to
    the next day when over :data:`MIDNIGHT_WRAP` before the series time (acquired after
    midnight, the SeriesDate the day before)."""
    series = _series_time(headers)
    times = []
    for h in headers:
        t = _when(h.get("AcquisitionDate") or h.get("SeriesDate"), h.get("AcquisitionTime"))
        if t and series and not h.get("AcquisitionDate") and series - t > MIDNIGHT_WRAP:
            t += timedelta(days=1)
        times.append(t)
    return times


def _span(delta: timedelta) -> str:
    """A time span's length for a message: '3656 days', '23.5 h' or '30 min'."""
    seconds = abs(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400:.0f} days"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def _scan_said(headers: Sequence[Dataset]) -> str:
    """The scan's start as the header gives it, for a message: SeriesDate and SeriesTime, and
    the first acquisition's AcquisitionDate and AcquisitionTime."""
    said = [f"{k} {headers[0].get(k)}" for k in ("SeriesDate", "SeriesTime") if headers[0].get(k)]
    acquired = [(t, h) for t, h in zip(_acquired(headers), headers, strict=True) if t is not None]
    if acquired:
        first = min(acquired, key=lambda pair: pair[0])[1]
        said += [
            f"first {k} {first.get(k)}"
            for k in ("AcquisitionDate", "AcquisitionTime")
            if first.get(k)
        ]
    return ", ".join(said)


def _scan_start(headers: Sequence[Dataset], name: str) -> datetime:
    """The time START decay correction refers to: the series time, or the first acquisition
    when the series time is later (re-processed on the console)."""
    series = _series_time(headers)
    acquired = [t for t in _acquired(headers) if t is not None]
    if series is None and not acquired:
        raise DicomError(
            f"{name}: no SeriesDate/SeriesTime or AcquisitionTime; the scan time is unknown."
        )
    if series is None or (acquired and min(acquired) < series):
        return min(acquired)
    return series


def _weight(ds: Dataset, name: str) -> float:
    """PatientWeight (kg); :class:`DicomError` saying what is wrong with it otherwise: absent,
    0 (not recorded), or outside :data:`WEIGHT_RANGE_KG` (grams, as some exports write it)."""
    given = ds.get("PatientWeight")
    if given is None or str(given).strip() == "":
        problem = "no PatientWeight"
    else:
        try:
            weight = float(given)
        except (TypeError, ValueError):
            weight = math.nan
        low, high = WEIGHT_RANGE_KG
        if low <= weight <= high:
            return weight
        if weight == 0:
            problem = "PatientWeight 0: the weight was not recorded"
        elif weight > high:
            problem = (
                f"PatientWeight {weight:g} is not a plausible weight in kg ({low:g} to {high:g}; "
                f"in grams, {weight / 1000:g} kg?). DICOM stores it in kg"
            )
        else:
            problem = f"PatientWeight {given} is not a plausible weight in kg ({low:g} to {high:g})"
    raise DicomError(
        f"{name}: {problem}; SUV needs the patient's weight in kg. Correct PatientWeight in the "
        "header and export the series again."
    )


def _uptake_refusal(name: str, injection: Injection, scan: datetime, scan_said: str) -> str:
    """The refusal of an implausible time from injection to scan, naming the attributes read and
    their values."""
    uptake = scan - injection.time
    where = (
        f"{name}: {injection.source} puts the injection at {injection.time:%Y-%m-%d %H:%M:%S}, "
        f"{_span(uptake)} {'after' if uptake < timedelta(0) else 'before'} the scan's start "
        f"{scan:%Y-%m-%d %H:%M:%S} ({scan_said})"
    )
    limit = f"{MAX_UPTAKE_HALF_LIVES} half-lives of {injection.half_life / 60:.1f} min"
    if uptake < timedelta(0):
        why = (
            "; a PET is acquired after its injection (a dynamic one from it: at most "
            f"{INJECTED_AFTER_START.total_seconds() / 60:.0f} min after its start)"
        )
        if injection.source.startswith("RadiopharmaceuticalStartTime"):
            why += f", and on the day before it would be over {limit}"
    else:
        why = (
            f"; over {limit} ({_span(_max_uptake(injection.half_life))}) under 2 % of the activity "
            "is left"
        )
    return (
        f"{where}{why}: a wrong date or time. Check the injection and scan times, correct the "
        "header and export the series again."
    )


def _uptake_text(uptake: timedelta) -> str:
    """When the dose was injected, for the conversion note: before the scan, or at the start of
    a dynamic acquisition."""
    minutes = uptake.total_seconds() / 60
    if minutes >= 0.5:
        return f"{minutes:.0f} min before the scan"
    return (
        f"{abs(minutes):.1f} min {'after' if minutes < 0 else 'before'} the scan's start (a "
        "dynamic acquisition starting with the injection: uptake about 0)"
    )


def _check_attenuation_corrected(ds: Dataset, name: str) -> None:
    """:class:`DicomError` when the series says it is not attenuation-corrected (CorrectedImage
    given without ATTN, a NAC reconstruction): tissue deep in the body reads far too low in it
    (half the SUV in a thigh), so no SUV is taken from it. A series stating no CorrectedImage is
    read as it is."""
    corrected = header_values(ds, "CorrectedImage")
    if corrected and "ATTN" not in corrected:
        raise DicomError(
            f"{name}: not attenuation-corrected (CorrectedImage {'/'.join(corrected)}, without "
            "ATTN): the activity of a NAC PET is not quantitative, so no SUV is computed from "
            "it. Use the scan's attenuation-corrected reconstruction (CorrectedImage with ATTN)."
        )


def suv_factors(headers: Sequence[Dataset], name: str) -> tuple[list[float], str]:
    """Per header (slice), the factor from rescaled voxel values to SUVbw, and a note saying how;
    :class:`DicomError` naming ``name`` and the missing or implausible attribute otherwise."""
    first = headers[0]
    _check_attenuation_corrected(first, name)
    units = str(first.get("Units", "")).strip().upper()
    if units == "GML":
        return [1.0] * len(headers), "PET already in SUVbw (Units GML)."
    if units != "BQML":
        raise DicomError(
            f"{name}: PET in units {units or '(none given)'}; RadSurv computes SUV from activity "
            "concentration. Export the series in Bq/mL (Units BQML) or as SUVbw (GML)."
        )
    weight = _weight(first, name)
    correction = str(first.get("DecayCorrection", "")).strip().upper()
    scan = _scan_start(headers, name)
    injection = _injection(first, scan, name)
    injected, dose, half_life = injection.time, injection.dose, injection.half_life
    if correction == "ADMIN":
        references = [injected] * len(headers)
    elif correction == "START":
        references = [scan] * len(headers)
    elif correction == "NONE":
        references = [t or scan for t in _acquired(headers)]
    else:
        raise DicomError(
            f"{name}: DecayCorrection {correction or '(none given)'} is not START, ADMIN or NONE."
        )
    if not _plausible(scan - injected, half_life):
        raise DicomError(_uptake_refusal(name, injection, scan, _scan_said(headers)))
    factors = [
        weight * 1000.0 / (dose * math.pow(2.0, -(t - injected).total_seconds() / half_life))
        for t in references
    ]
    note = (
        f"PET converted to SUVbw: weight {weight:g} kg, {dose / 1e6:.1f} MBq injected "
        f"{_uptake_text(scan - injected)}, half-life {half_life / 60:.1f} min, decay "
        f"correction {correction}.{injection.note}"
    )
    return factors, note
