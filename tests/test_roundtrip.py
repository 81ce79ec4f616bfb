"""The generator's DICOM output read back by the ingest code: image and masks as they were drawn."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.io.case_loader import load_case
from survival_core.io.dicom_write import write_ct_series, write_rtstruct
from survival_core.synthetic.phantom import make_anatomy, render


@pytest.mark.parametrize(
    ("seed", "diameters", "damage", "heterogeneity"),
    [((1, 1), (45.0,), 0.2, 0.8), ((2, 7), (60.0, 25.0, 18.0), 0.9, 0.3)],
)
def test_rtstruct_contours_come_back_as_the_masks_they_were_drawn_from(
    tmp_path, seed, diameters, damage, heterogeneity
):
    rendered = render(make_anatomy(seed, damage, heterogeneity, diameters, "SIM-CT2"))
    image = rendered.grid.image(rendered.image.astype(np.float32))
    masks = {
        name: rendered.grid.image(getattr(rendered, name.lower())) for name in ("Liver", "GTV")
    }
    case_dir = tmp_path / "case"
    info = write_ct_series(image, case_dir / "ct", patient_id="RT-1", uid_seed=str(seed))
    write_rtstruct(masks, info, case_dir / "rtstruct.dcm", uid_seed=str(seed))

    case = load_case(case_dir)

    np.testing.assert_array_equal(case.array(), rendered.image.astype(np.float32))
    assert case.image.GetSpacing() == pytest.approx(image.GetSpacing())
    assert case.image.GetOrigin() == pytest.approx(image.GetOrigin(), abs=1e-3)
    for role, drawn in (("organ", rendered.liver), ("gtv", rendered.gtv)):
        back = sitk.GetArrayFromImage(case.masks[role]).astype(bool)
        drawn = drawn.astype(bool)
        assert back.sum() == pytest.approx(drawn.sum(), rel=0.02), role
        dice = 2 * (back & drawn).sum() / (back.sum() + drawn.sum())
        assert dice > 0.97, role
