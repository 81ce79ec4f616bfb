"""Small in-memory cases for tests: an ellipsoid 'liver' with a spherical 'tumor'; a real CT case
written as a PET volume case."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from survival_core.case import Case


def make_case(
    size: tuple[int, int, int] = (48, 40, 20),
    spacing: tuple[float, float, float] = (1.0, 1.0, 2.5),
    case_id: str = "TEST-1",
) -> Case:
    """A CT-like case: liver ellipsoid at 60 HU, tumor sphere at 120 HU, air elsewhere (x, y, z sizes)."""
    nx, ny, nz = size
    z, y, x = np.meshgrid(
        np.arange(nz) * spacing[2],
        np.arange(ny) * spacing[1],
        np.arange(nx) * spacing[0],
        indexing="ij",
    )
    cx, cy, cz = nx * spacing[0] / 2, ny * spacing[1] / 2, nz * spacing[2] / 2
    liver = ((x - cx) / (0.4 * nx * spacing[0])) ** 2 + ((y - cy) / (0.4 * ny * spacing[1])) ** 2
    liver = liver + ((z - cz) / (0.4 * nz * spacing[2])) ** 2 <= 1
    tumor = (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= (0.15 * nx * spacing[0]) ** 2
    pixels = np.full((nz, ny, nx), -1000.0, dtype=np.float32)
    pixels[liver] = 60
    pixels[tumor] = 120

    def to_image(array: np.ndarray) -> sitk.Image:
        image = sitk.GetImageFromArray(array)
        image.SetSpacing(spacing)
        image.SetOrigin((-100.0, -80.0, 30.0))
        return image

    return Case(
        case_id=case_id,
        image=to_image(pixels),
        masks={"organ": to_image(liver.astype(np.uint8)), "gtv": to_image(tumor.astype(np.uint8))},
        site="liver",
        clinical={"age": 60.0},
    )


def write_suv_volume_case(case: Case, folder: Path, image_name: str = "PT.nii.gz") -> Path:
    """``case``'s CT written as a PET volume already in SUVbw (air 0, water and soft tissue near
    1, bone near 2: uptake following tissue density, on the CT's grid) named ``image_name``,
    beside its GTV (gtv.nii.gz): a PET-only case of volume files."""
    hu = sitk.GetArrayFromImage(case.image).astype(np.float32)
    suv = sitk.GetImageFromArray(np.clip((hu + 1000.0) / 1000.0, 0.0, None))
    suv.CopyInformation(case.image)
    folder.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(suv, str(folder / image_name))
    sitk.WriteImage(case.masks["gtv"], str(folder / "gtv.nii.gz"))
    return folder


def zipped(files: list[tuple[str, bytes]], name: str = "case.zip") -> list[tuple[str, bytes]]:
    """An upload's ``(name, content)`` files as one zip of them, uploaded under ``name``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in files:
            archive.writestr(member, data)
    return [(name, buffer.getvalue())]
