"""The in-memory case: one CT/MR volume, its binary masks by role, its named structures, and its
clinical values.

Roles are what the pipeline asks for, whatever the cancer site: ``gtv`` (the tumour, all lesions
united unless asked otherwise) and an optional ``organ`` (the organ hosting the tumour: liver, lung,
brain...). Which organ it is, is the case's ``site``. Derived ROIs (``organ_minus_gtv``,
``peritumoral_ring``, ``body``) are computed from them (:mod:`survival_core.preprocess.roi`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import SimpleITK as sitk

#: Mask roles the pipeline knows. Structures from files are mapped onto these.
ROLES = ("organ", "gtv")
#: Role names of earlier versions, read as today's (a ``liver`` mask is the organ of a liver case).
LEGACY_ROLES = {"liver": "organ"}


@dataclass
class Case:
    """A loaded case.

    ``image`` is a float32 SimpleITK volume (HU for CT) carrying spacing (mm), origin and direction;
    every mask in ``masks`` is a uint8 0/1 volume on exactly the image's grid; besides ``ROLES``
    it may hold derived roles (``organ_minus_gtv``, ``peritumoral_ring``, see preprocess.roi).
    ``site`` names the organ (``"liver"``, ``"lung"``...; None when unknown). ``structures`` holds
    every named structure the source had (ROI name -> mask on the image grid), for display.
    ``companions`` holds the patient's other images by name: by modality (the PET beside its
    CT, in SUV: 'PT') and, beside an MR image, by sequence ('FLAIR'), each on its own grid in the
    image's frame of reference, for models on several images' radiomics
    (:func:`survival_core.io.modality_view.modality_view`).
    ``sequence`` is an MR image's weighting ('T1C', 'FLAIR'...,
    :mod:`survival_core.io.mr_sequence`), None when not MR or not known. ``series`` names the
    DICOM series read ('series 4, 2.5 mm slices': which phase of a study), '' for volume files.
    ``modality_word`` is the word of its image file's name its modality was read from, none being
    said ('t1ce': MR), '' where one was said (DICOM, ``--modality``) or the name gave none (CT).
    ``warnings`` carries what a reader should know but did not stop loading (e.g. a slice gap
    within tolerance); ``unnamed_warnings`` maps each of them that names the case's files or
    folders (or DICOM UIDs) to its wording without them, which a document naming the case by its
    pseudonym (the PDF report) prints: file names may carry the patient's
    ('Mueller_Hans_ct.nii.gz').
    ``clinical_refused`` names, by variable, each clinical value given with the case that the
    schema it was read by refused (why, and in which file), left out of ``clinical`` for its
    reader to correct (the app's form): never imputed in its place without a word.
    ``stored_orientation`` is the voxel order the image's file stored (``"RAS"``
    for a nibabel NIfTI; the case is read in LPS order), so that maps are written back on the
    file's own grid.
    """

    case_id: str
    image: sitk.Image
    masks: dict[str, sitk.Image] = field(default_factory=dict)
    clinical: dict[str, Any] = field(default_factory=dict)
    modality: str = "CT"
    source: str = ""
    warnings: list[str] = field(default_factory=list)
    site: str | None = None
    structures: dict[str, sitk.Image] = field(default_factory=dict)
    companions: dict[str, sitk.Image] = field(default_factory=dict)
    stored_orientation: str = "LPS"
    sequence: str | None = None
    series: str = ""
    modality_word: str = ""
    unnamed_warnings: dict[str, str] = field(default_factory=dict)
    clinical_refused: dict[str, str] = field(default_factory=dict)

    def content_digest(self) -> str:
        """BLAKE2b (hex) of what a case's image features depend on: the voxels and grid of the
        image, of every mask by role and of the companion images, the modality and the site; not
        the case id, clinical values or display structures. Two uploads of the same images share
        it, whoever made them.
        Computed once per case object (a loaded case's images are never changed in place; a
        :func:`dataclasses.replace` copy computes its own)."""
        if "_content_digest" not in self.__dict__:
            digest = hashlib.blake2b(digest_size=32)
            digest.update(f"{self.modality}|{self.site}".encode())
            companions = [(f"companion {m}", v) for m, v in sorted(self.companions.items())]
            for role, volume in [("", self.image), *sorted(self.masks.items()), *companions]:
                grid = (
                    volume.GetSize(),
                    volume.GetSpacing(),
                    volume.GetOrigin(),
                    volume.GetDirection(),
                )
                digest.update(f"|{role}|{volume.GetPixelIDTypeAsString()}|{grid}|".encode())
                digest.update(np.ascontiguousarray(sitk.GetArrayViewFromImage(volume)).data)
            self.__dict__["_content_digest"] = digest.hexdigest()
        return self.__dict__["_content_digest"]

    def shown_digest(self) -> str:
        """BLAKE2b (hex) of the case as a result or document about it shows it: its content
        (:meth:`content_digest`), id, source, series and MR weighting, and what reading it warned
        about (with the wordings without file names); not its clinical values, which a task is
        given beside it (a session's edits). Two reads of the same images under other warnings (a
        structure set naming another patient) have other results: a score's cautions, a report's
        "Check before use". Computed every time: a warning may be added after reading (a GTV
        partly outside the PET)."""
        digest = hashlib.blake2b(self.content_digest().encode(), digest_size=32)
        shown = [self.case_id, self.source, self.series, self.sequence, self.warnings]
        digest.update(repr([*shown, sorted(self.unnamed_warnings.items())]).encode())
        return digest.hexdigest()

    def array(self) -> np.ndarray:
        """Image voxels as a (z, y, x) numpy array."""
        return sitk.GetArrayFromImage(self.image)

    def mask_array(self, role: str) -> np.ndarray:
        """Mask voxels of ``role`` as a (z, y, x) boolean array."""
        return sitk.GetArrayFromImage(self.masks[role]).astype(bool)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing (x, y, z) in mm."""
        return tuple(self.image.GetSpacing())

    def mask_volume_ml(self, role: str) -> float:
        """Volume of the ``role`` mask in millilitres (voxel count x voxel volume)."""
        voxel_mm3 = float(np.prod(self.image.GetSpacing()))
        return float(self.mask_array(role).sum()) * voxel_mm3 / 1000.0

    def lesion_count(self, role: str = "gtv") -> int:
        """Number of 3-D connected components (26-connectivity) of the ``role`` mask."""
        from scipy import ndimage

        _, count = ndimage.label(self.mask_array(role), structure=np.ones((3, 3, 3)))
        return int(count)

    def summary(self) -> dict[str, Any]:
        """Facts a reader checks first: grid, spacing (mm), ROI volumes (mL), lesion count."""
        info: dict[str, Any] = {
            "case_id": self.case_id,
            "modality": self.modality,
            "matrix": "x".join(str(s) for s in self.image.GetSize()),
            "spacing_mm": "x".join(f"{s:.2f}" for s in self.spacing),
        }
        for role in self.masks:
            info[f"{role}_volume_ml"] = round(self.mask_volume_ml(role), 1)
        if "gtv" in self.masks:
            info["lesions"] = self.lesion_count("gtv")
        return info
