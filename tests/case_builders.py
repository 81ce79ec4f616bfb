"""Small in-memory cases for tests: an ellipsoid 'liver' with a spherical 'tumor'; a real CT case
written as a PET volume case; pyradiomics' real lung1 cropped around its tumour."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
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


def lung1_around_tumour(shared_data: Path) -> tuple[sitk.Image, sitk.Image]:
    """pyradiomics' real lung1 CT and its GTV (uint8 0/1: 837 voxels) cropped in-plane to 30
    voxels around the tumour (84 x 86 x 48 voxels of 0.57 x 0.57 x 5 mm, at their real place):
    a real grid small enough for fast tests (the test skips without the samples)."""
    source = shared_data / "pyradiomics"
    if not (source / "lung1_image.nrrd").is_file():
        pytest.skip("pyradiomics samples not in ../shared/data")
    image = sitk.ReadImage(str(source / "lung1_image.nrrd"))
    gtv = sitk.Cast(sitk.ReadImage(str(source / "lung1_label.nrrd")) > 0, sitk.sitkUInt8)
    z, y, x = np.nonzero(sitk.GetArrayViewFromImage(gtv))
    low = [max(int(x.min()) - 30, 0), max(int(y.min()) - 30, 0), 0]
    high = [int(x.max()) + 31, int(y.max()) + 31, image.GetSize()[2]]
    high = [min(h, n) for h, n in zip(high, image.GetSize(), strict=True)]
    size = [h - lo for lo, h in zip(low, high, strict=True)]
    return sitk.RegionOfInterest(image, size, low), sitk.RegionOfInterest(gtv, size, low)
