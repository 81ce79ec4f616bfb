"""Cases stored in another voxel order (a RAS NIfTI) load as the same LPS arrays, so the CNN input,
its risk and the viewer's slices do not depend on how a file stores the scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.io.case_loader import load_case
from survival_core.io.orientation import case_in_lps, orientation
from survival_core.models.image_data import network_input
from survival_core.viewer.slices import best_slice, extract_slice


@pytest.fixture(scope="module")
def lung_folders(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """pyradiomics' real lung CT with its GTV as stored (LPS), and rewritten in RAS order as a
    nibabel or nnU-Net pipeline writes NIfTI (the same scan in patient space)."""
    root = tmp_path_factory.mktemp("orientation")
    stored, ras = root / "stored", root / "ras"
    for folder, order in ((stored, None), (ras, "RAS")):
        folder.mkdir()
        for name, out in (("lung1_image.nrrd", "image.nii.gz"), ("lung1_label.nrrd", "gtv.nii.gz")):
            image = sitk.ReadImage(str(shared_data / "pyradiomics" / name))
            sitk.WriteImage(
                image if order is None else sitk.DICOMOrient(image, order), folder / out
            )
    return stored, ras


def test_a_ras_file_loads_as_the_same_lps_arrays(lung_folders) -> None:
    stored, ras = (load_case(folder) for folder in lung_folders)
    assert orientation(sitk.ReadImage(str(lung_folders[1] / "image.nii.gz"))) == "RAS"
    for case in (stored, ras):
        assert orientation(case.image) == "LPS"
    assert stored.image.GetDirection() == ras.image.GetDirection()
    np.testing.assert_allclose(stored.image.GetOrigin(), ras.image.GetOrigin(), atol=1e-4)
    np.testing.assert_array_equal(stored.array(), ras.array())
    np.testing.assert_array_equal(stored.mask_array("gtv"), ras.mask_array("gtv"))


def test_the_network_input_and_the_viewer_do_not_depend_on_the_storage_order(lung_folders) -> None:
    stored, ras = (load_case(folder) for folder in lung_folders)
    a, b = network_input(stored, (48, 48, 16)), network_input(ras, (48, 48, 16))
    np.testing.assert_array_equal(a[0], b[0])  # was flipped in x and y: another risk
    index = best_slice(stored, "axial")
    assert best_slice(ras, "axial") == index
    np.testing.assert_array_equal(
        extract_slice(stored, "axial", index).pixels, extract_slice(ras, "axial", index).pixels
    )


def test_an_lps_case_is_returned_as_it_is(lung_folders) -> None:
    case = load_case(lung_folders[0])
    assert case_in_lps(case) is case


def test_a_map_is_written_on_the_grid_of_the_cases_own_file(lung_folders, tmp_path) -> None:
    """A map of the RAS-stored lung CT was written in LPS order: overlaid by array index on the
    file it explains (numpy, nibabel), its hot spot was mirrored about 120 mm away."""
    from survival_core.explain.case import CaseExplanation, save_explanation

    for folder in lung_folders:
        case = load_case(folder)
        explanation = CaseExplanation(
            case.case_id, "ig", 0.0, None, [], 0.0, map=sitk.Cast(case.image, sitk.sitkFloat32)
        )
        written = sitk.ReadImage(str(save_explanation(explanation, tmp_path / "map.nii.gz",
                                                      case.stored_orientation)))  # fmt: skip
        original = sitk.ReadImage(str(folder / "image.nii.gz"))
        assert written.GetDirection() == original.GetDirection()
        np.testing.assert_allclose(written.GetOrigin(), original.GetOrigin(), atol=1e-4)
        np.testing.assert_array_equal(
            sitk.GetArrayFromImage(written), sitk.GetArrayFromImage(original).astype(np.float32)
        )
    assert load_case(lung_folders[1]).stored_orientation == "RAS"


def test_a_slice_is_titled_with_its_position_in_the_patient(lung_folders) -> None:
    """The viewer titled a slice by its number alone ('axial 29/59'), which a PACS counting from
    the top numbers otherwise: the title gives its LPS coordinate, the same for the RAS copy."""
    from survival_core.viewer.slices import slice_position

    stored, ras = (load_case(folder) for folder in lung_folders)
    image = sitk.ReadImage(str(lung_folders[0] / "image.nii.gz"))
    k = best_slice(stored, "axial")
    z = image.TransformContinuousIndexToPhysicalPoint((0.0, 0.0, float(k)))[2]
    assert slice_position(stored.image, "axial", k) == f"z {z:.1f} mm"
    for plane in ("axial", "coronal", "sagittal"):
        index = best_slice(stored, plane)
        assert slice_position(ras.image, plane, index) == slice_position(stored.image, plane, index)
