"""Real scans of other sites through the Case page as a user would upload them (AppTest): the
TCIA sarcoma T1 MR, whose RTSTRUCT references a series UID the re-exported image lacks, alone
and beside its CT."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.test_real_sites import _zip_folder


def test_sarcoma_mr_upload_loads_and_extracts_han2020(shared_data: Path) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    app.segmented_control[0].set_value("Upload").run()
    upload = _zip_folder(shared_data / "sts_sarcoma" / "STS_001" / "MR_T1")
    app.file_uploader[0].set_value(("sts_mr.zip", upload, "application/zip")).run()
    assert not app.exception and not app.error
    # the GTV's name is clear and no organ is contoured: loaded without asking
    assert app.subheader[0].value.split(" · ")[1] == "MR"
    assert any("linked by frame of reference" in w.value for w in app.warning)
    gtv = next(m for m in app.multiselect if m.key.endswith("-gtv"))
    assert gtv.value == ["GTV_Mass_MR_T1"]
    app.selectbox(key="radiomics-preset").set_value("han2020")
    app.button(key="radiomics-run").click().run()
    assert not app.exception and not app.error
    table = next(d.value for d in app.dataframe if "feature" in d.value.columns)
    assert len(table) == 552 and set(table["roi"]) == {"gtv"}
    assert table["value"].notna().all()


def test_a_hecktor_pet_case_upload_reads_its_pet_with_the_label_drawn_on_its_ct(
    tmp_path: Path,
) -> None:
    """A HECKTOR case's PET and label map (on the CT's grid) uploaded as files: the page
    pre-selects the PET as a PT image, the label's primary GTV is chosen, and the case loads as
    PT with the label resampled onto the PET's grid, said in a warning."""
    from tests.test_dataset_layout import _hecktor_case

    _hecktor_case(tmp_path, "CHUM-001", 0)
    files = [
        tmp_path / "imagesTr" / "CHUM-001__PT.nii.gz",
        tmp_path / "labelsTr" / "CHUM-001.nii.gz",
    ]
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    app.segmented_control[0].set_value("Upload").run()
    app.file_uploader[0].set_value(
        [(p.name, p.read_bytes(), "application/octet-stream") for p in files]
    ).run()
    assert not app.exception
    modality = next(s for s in app.selectbox if s.label == "Modality of the volume")
    image = next(s for s in app.selectbox if s.label == "Image volume")
    assert (modality.value, image.value) == ("PT", "PT.nii.gz")
    gtv = next(m for m in app.multiselect if m.key.endswith("-gtv"))
    shown = next(o for o in gtv.options if ":1 (uploaded as CHUM-001.nii.gz)" in o)
    gtv.set_value([shown.split(" (uploaded as ")[0]])  # the value behind the uploaded name
    next(b for b in app.button if b.label == "Load case").click().run()
    assert not app.exception and not app.error
    assert app.subheader[0].value.split(" · ")[1] == "PT"
    assert any("resampled" in w.value for w in app.warning)


def test_the_sarcoma_mr_gtv_chosen_beside_its_ct_reads_the_mr_on_the_case_page(
    shared_data: Path,
) -> None:
    """The real sarcoma CT and T1 MR uploaded together, each with its RTSTRUCT: the series box
    pre-selected the CT (its default before roles are chosen) and the page passed it, so the
    MR's GTV chosen was read on the CT (mean 28.5 HU for the MR's 325.8). Left as
    pre-selected, the series the chosen GTV was drawn on is read."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    app.segmented_control[0].set_value("Upload").run()
    upload = _zip_folder(shared_data / "sts_sarcoma" / "STS_001")  # CT/ and MR_T1/
    app.file_uploader[0].set_value(("sts.zip", upload, "application/zip")).run()
    assert not app.exception and not app.error
    series = next(s for s in app.selectbox if s.label == "Image series")
    assert series.options[series.value].startswith("CT")  # before the GTV is chosen
    next(m for m in app.multiselect if m.key.endswith("-gtv")).set_value(["GTV_Mass_MR_T1"])
    next(b for b in app.button if b.label == "Load case").click().run()
    assert not app.exception and not app.error
    assert app.subheader[0].value.split(" · ")[1] == "MR"
    case = app.session_state["current_case"]
    assert case.array()[case.mask_array("gtv")].mean() == pytest.approx(325.8, abs=0.1)


def test_the_sarcoma_ct_warning_names_its_rtstruct_as_zipped(shared_data: Path) -> None:
    """The sarcoma CT zipped as image/ and mask/: the frame-of-reference warning named the
    RTSTRUCT by its stored name ('2.25.2295….dcm was drawn on…'), a file the user never had. It
    names the file as zipped, 'mask/RS.dcm'."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    app.segmented_control[0].set_value("Upload").run()
    upload = _zip_folder(shared_data / "sts_sarcoma" / "STS_001" / "CT")  # image/ and mask/
    app.file_uploader[0].set_value(("sts.zip", upload, "application/zip")).run()
    assert not app.exception and not app.error
    (warning,) = [w.value for w in app.warning if "linked by frame of reference" in w.value]
    assert ".dcm (uploaded as mask/RS.dcm) was drawn on a series not in the case" in warning
