"""Every loaded case in one storage orientation, LPS, whatever order its files store voxels in.

A NIfTI written by nibabel or an nnU-Net pipeline stores voxels in RAS order; DICOM and ITK in LPS.
The physical image is the same, but everything that works in index order saw another array: a CNN
crops and resizes in index order, so the same scan got another risk (lung CT stored RAS: -1.345
against -1.525), and the viewer, which draws index order in radiological convention for LPS
volumes, showed a RAS scan rotated 180 degrees (the patient's left on the screen's left). Axes
are only permuted and flipped (``sitk.DICOMOrient``): no voxel is resampled, and an oblique
direction keeps its tilt, on the axes nearest L, P and S.
"""

from __future__ import annotations

import dataclasses

import SimpleITK as sitk

from survival_core.case import Case

ORIENTATION = "LPS"


def orientation(image: sitk.Image) -> str:
    """The three-letter orientation the image's axes point to (``"LPS"``, ``"RAS"``...)."""
    return sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(image.GetDirection())


def in_lps(image: sitk.Image) -> sitk.Image:
    """``image`` with its axes permuted and flipped to point to L, P and S (itself when they do)."""
    return image if orientation(image) == ORIENTATION else sitk.DICOMOrient(image, ORIENTATION)


def case_in_lps(case: Case) -> Case:
    """``case`` with its image, masks, structures and companions in LPS order (a mask that is also
    a structure stays one image)."""
    if all(orientation(i) == ORIENTATION for i in (case.image, *case.companions.values())):
        return case
    done: dict[int, sitk.Image] = {}

    def turned(image: sitk.Image) -> sitk.Image:
        if id(image) not in done:
            done[id(image)] = in_lps(image)
        return done[id(image)]

    return dataclasses.replace(
        case,
        stored_orientation=orientation(case.image),
        image=turned(case.image),
        masks={role: turned(mask) for role, mask in case.masks.items()},
        structures={name: turned(mask) for name, mask in case.structures.items()},
        companions={name: turned(image) for name, image in case.companions.items()},
    )
