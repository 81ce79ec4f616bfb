"""What a model-table column is: an image feature (radiomics, deep or DSFR) or a clinical variable.

Shared by every floor (the fusion model routes columns by it, extraction names its columns by it),
so it depends on nothing in RadSurv.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Column prefixes of the image features that are not radiomics: deep features of an image
#: network (:mod:`survival_core.features.deep`) and DSFR features (:mod:`~.features.dsfr`).
DEEP_PREFIX, DSFR_PREFIX = "deep_", "dsfr_"


#: pyradiomics' own column names, as tables exported by it have them:
#: ``<image type>_<feature class>_<feature>`` (original_glcm_Contrast, wavelet-LLH_glszm_...),
#: also after the ROI's name as other tools prefix them (GTV_original_firstorder_Mean).
_PYRADIOMICS_NAME = re.compile(
    r"^(?:[^_]+_)*?"
    r"(?:original|wavelet|log-sigma|square|squareroot|logarithm|exponential|gradient|lbp)"
    r"[^_]*_(?:firstorder|shape|shape2D|glcm|glrlm|glszm|gldm|ngtdm)_"
)


def clinical_inputs(columns: Iterable[str], known: set[str], *, tabular: bool) -> list[str]:
    """The model inputs a case's clinical values give: the ``known`` variables (the demo's, an
    own cohort's schema), and on a model of tables without radiomics (``tabular``) every column
    that is not an image feature: nothing else could give them."""
    return [c for c in columns if c in known or (tabular and not is_image_feature(c))]


def is_image_feature(column: str) -> bool:
    """Whether a model input column was computed from the images: radiomics (ours,
    ``roi__setting__class__feature``, or pyradiomics' ``original_glcm_Contrast``), deep or DSFR
    features. Every other column is a clinical variable of the cohort's own schema (one-hot
    columns ``name=value`` included)."""
    name = str(column)
    return (
        "__" in name
        or name.startswith((DEEP_PREFIX, DSFR_PREFIX))
        or _PYRADIOMICS_NAME.match(name) is not None
    )
