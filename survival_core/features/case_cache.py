"""A case's radiomics computed once per content, whoever asks for them.

The Risk page scores a case, draws its survival band and attributes its risk: each needs the same
feature row, and two sessions may open the same case. :func:`case_radiomics` keys the features by
the settings' hash and the case's :meth:`~survival_core.case.Case.content_digest`, keeps them in
the cohort extraction's on-disk cache (:class:`~survival_core.features.cohort.FeatureCache`, so
worker processes and later server runs share them too) and lets one caller per key compute while
the others of this process wait for its result instead of computing it again.
:func:`split_settings` cuts the work into parts that worker processes compute side by side
(:func:`survival_core.workflows.case_pool.radiomics`), whose features together are the case's.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

from survival_core.case import Case
from survival_core.features.cohort import FeatureCache
from survival_core.features.radiomics import extract_case
from survival_core.features.settings import ExtractionSettings

_LOG = logging.getLogger(__name__)
_guard = threading.Lock()
_computing: dict[str, threading.Lock] = {}


def _key_lock(key: str) -> threading.Lock:
    with _guard:
        return _computing.setdefault(key, threading.Lock())


def case_radiomics(case: Case, settings: ExtractionSettings) -> dict[str, float]:
    """``extract_case(case, settings)``, computed at most once per (settings, case content)."""
    digest = case.content_digest()
    key = f"{settings.hash()}/{digest}"
    with _key_lock(key):
        try:
            cache = FeatureCache(settings)
        except OSError as err:  # a full or read-only data folder: the score needs no cache
            cache = None
            _LOG.warning("the features cache is not usable (%s): computed without it", err)
        features = None if cache is None else cache.get(digest)
        if features is None:
            features = extract_case(case, settings)
            if cache is not None:
                try:
                    cache.put(digest, "", features)
                except OSError as err:  # a full disk failed a score whose features were computed
                    _LOG.warning("the case's features were not cached (%s)", err)
    with _guard:
        _computing.pop(key, None)
    return features


def split_settings(settings: ExtractionSettings, parts: int) -> list[ExtractionSettings]:
    """``settings`` as up to ``parts`` settings over disjoint groups of its discretisations
    (alternating, so the coarse and fine levels share the work), whose features together are
    exactly those of ``settings``; each part also computes the shape and first-order features
    again (milliseconds). Only the settings themselves when a part would repeat costly work:
    filtered images, intensity standardisation (N4) or lesion-by-lesion extraction."""
    levels = settings.discretisations
    costly = settings.filters.enabled or settings.standardisation is not None
    if parts < 2 or len(levels) < 2 or costly or settings.lesions != "union":
        return [settings]
    count = min(parts, len(levels))
    return [dataclasses.replace(settings, discretisations=levels[k::count]) for k in range(count)]
