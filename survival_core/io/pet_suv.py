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
acquisition time, and an injection time of day later than the scan's is the day before. An
acquisition time without AcquisitionDate is on the series' day, or the next when it lies over
12 h before the series time (a scan running past midnight). Series already in SUVbw (Units GML)
are kept; counts and other units are refused with what to export.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydicom.dataset import Dataset
from pydicom.valuerep import DA, DT, TM

from survival_core.errors import DicomError

#: Longest plausible time from injection to scan; longer means a wrong date or time.
MAX_UPTAKE = timedelta(hours=24)
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


def _injection(ds: Dataset, scan: datetime, name: str) -> tuple[datetime, float, float, str]:
    """Injection datetime, total dose (Bq) and half-life (s) of the series' radiopharmaceutical,
    and a note when the injection time was not taken from RadiopharmaceuticalStartDateTime."""
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
    start, note = _injection_time(item, scan)
    if start is None:
        raise DicomError(
            f"{name}: no readable RadiopharmaceuticalStartDateTime or StartTime; the decay from "
            "injection to scan cannot be corrected."
        )
    return start, dose, half_life, note


def _injection_time(item: Dataset, scan: datetime) -> tuple[datetime | None, str]:
    """The injection's datetime: RadiopharmaceuticalStartDateTime, else StartTime on the scan's
    day (the day before when later than the scan). StartTime also when the StartDateTime lies
    over :data:`MAX_UPTAKE` from the scan (its date shifted by a de-identification), said in the
    note returned ("" otherwise)."""
    start: datetime | None = None
    if item.get("RadiopharmaceuticalStartDateTime"):
        try:
            start = DT(str(item.RadiopharmaceuticalStartDateTime).strip())
        except ValueError:
            start = None
        if start is not None and start.tzinfo is not None:
            start = start.replace(tzinfo=None)
    by_time = _when(scan.strftime("%Y%m%d"), item.get("RadiopharmaceuticalStartTime"))
    if by_time is not None and by_time > scan:  # injected before midnight, scanned after
        by_time -= timedelta(days=1)
    if start is None:
        return by_time, ""
    if by_time is None or abs(scan - start) <= MAX_UPTAKE:
        return start, ""
    return by_time, (
        f" RadiopharmaceuticalStartDateTime {start:%Y-%m-%d %H:%M:%S} is {abs(scan - start).days} "
        "days from the scan (a date shifted by de-identification?): the injection was taken at "
        f"{by_time:%Y-%m-%d %H:%M:%S} by RadiopharmaceuticalStartTime and the scan's date; check "
        "that this is the injection time."
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


def suv_factors(headers: Sequence[Dataset], name: str) -> tuple[list[float], str]:
    """Per header (slice), the factor from rescaled voxel values to SUVbw, and a note saying how;
    :class:`DicomError` naming ``name`` and the missing or implausible attribute otherwise."""
    first = headers[0]
    units = str(first.get("Units", "")).strip().upper()
    if units == "GML":
        return [1.0] * len(headers), "PET already in SUVbw (Units GML)."
    if units != "BQML":
        raise DicomError(
            f"{name}: PET in units {units or '(none given)'}; RadSurv computes SUV from activity "
            "concentration. Export the series in Bq/mL (Units BQML) or as SUVbw (GML)."
        )
    try:
        weight = float(first.get("PatientWeight") or 0)
    except (TypeError, ValueError):
        weight = 0.0
    if not 1 <= weight <= 500:
        raise DicomError(
            f"{name}: PatientWeight {first.get('PatientWeight') or '(none)'} kg; SUV needs the "
            "patient's weight. Export the series with PatientWeight."
        )
    correction = str(first.get("DecayCorrection", "")).strip().upper()
    scan = _scan_start(headers, name)
    injected, dose, half_life, injection_note = _injection(first, scan, name)
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
    uptake = scan - injected
    if not timedelta(0) <= uptake <= MAX_UPTAKE:
        raise DicomError(
            f"{name}: injection at {injected:%Y-%m-%d %H:%M:%S} and scan at "
            f"{scan:%Y-%m-%d %H:%M:%S} are {uptake} apart; check the dates and times."
        )
    factors = [
        weight * 1000.0 / (dose * math.pow(2.0, -(t - injected).total_seconds() / half_life))
        for t in references
    ]
    note = (
        f"PET converted to SUVbw: weight {weight:g} kg, {dose / 1e6:.1f} MBq injected "
        f"{uptake.total_seconds() / 60:.0f} min before the scan, half-life "
        f"{half_life / 60:.1f} min, decay correction {correction}.{injection_note}"
    )
    return factors, note
