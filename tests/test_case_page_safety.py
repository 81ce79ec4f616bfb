"""Case page patient safety and its role form: a failed or pending upload never leaves another patient
shown as current (page or sidebar); the form maps several structures per role, the site and series."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from streamlit.testing.v1 import AppTest

from tests.case_builders import make_case
from tests.conftest import ROOT
from tests.dicom_fixtures import ct_slices, rtstruct, square, zip_bytes

APP = ROOT / "app.py"
BROKEN = ("broken.zip", b"this is not a zip archive", "application/zip")
SPACING = (1.0, 1.0, 2.5)
ORIGIN = (-100.0, -120.0, 40.0)


def _dicom_bytes(ds) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def lung_zip(*, mr_series: bool = False) -> bytes:
    """A lung CT + RTSTRUCT: GTV-1 and GTV-2 inside Lung-Left and Lung-Right, a Spinal-Cord; with
    ``mr_series`` an MR series of the same frame of reference rides along, not contoured."""
    shape = (6, 40, 48)  # z, y, x
    volume = np.full(shape, 40.0)
    volume[:, 10:30, 5:25] = -800.0
    volume[:, 12:28, 27:43] = -800.0
    volume += np.random.default_rng(3).normal(0.0, 30.0, shape).round()  # texture to quantise
    ct = ct_slices(volume, spacing=SPACING, origin=ORIGIN)
    z_mm = [ORIGIN[2] + k * SPACING[2] for k in range(shape[0])]
    left, right = (-85.0, -100.0), (-65.0, -100.0)
    rois = {
        "GTV-1": [square(left, 6, z) for z in z_mm[1:4]],
        "GTV-2": [square(right, 4, z) for z in z_mm[2:4]],
        "Lung-Left": [square(left, 18, z) for z in z_mm],
        "Lung-Right": [square(right, 14, z) for z in z_mm],
        "Spinal-Cord": [square((-75.0, -85.0), 4, z) for z in z_mm],
    }
    files = {f"case/ct/{n:03d}.dcm": _dicom_bytes(ds) for n, ds in enumerate(ct)}
    files["case/rtstruct.dcm"] = _dicom_bytes(rtstruct(ct, rois))
    if mr_series:
        mr = ct_slices(
            volume + 1000.0,
            spacing=SPACING,
            origin=ORIGIN,
            modality="MR",
            intercept=0.0,
            frame_uid=ct[0].FrameOfReferenceUID,
            study_uid=ct[0].StudyInstanceUID,
        )
        files |= {f"case/mr/{n:03d}.dcm": _dicom_bytes(ds) for n, ds in enumerate(mr)}
    return zip_bytes(files)


def _nifti(image: sitk.Image) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "volume.nii.gz"
        sitk.WriteImage(image, str(path), True)
        return path.read_bytes()


def liver_volumes() -> list[tuple[str, bytes, str]]:
    """Loose NIfTI files of a liver case: image, GTV and liver masks (needs its roles confirmed)."""
    case = make_case(case_id="VOL-1")
    return [
        ("image.nii.gz", _nifti(case.image), "application/gzip"),
        ("gtv.nii.gz", _nifti(case.masks["gtv"]), "application/gzip"),
        ("liver.nii.gz", _nifti(case.masks["organ"]), "application/gzip"),
    ]


def _texts(node) -> list[str]:
    """Every string an element tree holds (element protos, recursively)."""
    found = [str(node.proto)] if getattr(node, "proto", None) is not None else []
    for child in getattr(node, "children", {}).values():
        found += _texts(child)
    return found


def _shown_anywhere(app: AppTest, text: str) -> bool:
    return any(text in t for t in _texts(app.main) + _texts(app.sidebar))


#: How the sidebar's case line begins (the data-folder caption may also contain "case").
CASE_LINES = ("Current case:", "No case loaded")


def _sidebar_case_line(app: AppTest) -> str:
    """The sidebar's case line as the app draws it for this session's state.

    AppTest keeps the sidebar of a multipage app's first run only (later runs' sidebar deltas are
    not in its tree), so the line is read from a fresh run holding this session's current case.
    """
    assert ("current_case" in app.session_state) == bool(app.subheader)
    fresh = AppTest.from_file(str(APP), default_timeout=120)
    for key in ("current_case", "current_case_origin"):
        if key in app.session_state:
            fresh.session_state[key] = app.session_state[key]
    fresh.session_state["case-source"] = "Upload"  # with no file: the Case page picks no case
    fresh.run()
    assert not fresh.exception
    lines = [c.value for c in fresh.sidebar.caption if c.value.startswith(CASE_LINES)]
    assert len(lines) == 1, lines
    return lines[0]


def _shown_case_id(app: AppTest) -> str:
    (heading,) = app.subheader
    return heading.value.split(" ·")[0]


def _upload(app: AppTest, files) -> AppTest:
    app.file_uploader[0].set_value(files)
    return app.run()


def _form_button(app: AppTest):
    return next(b for b in app.button if b.label == "Load case")


@pytest.fixture()
def app() -> AppTest:
    """The whole app (pages and sidebar) on the Case page, its source switched to Upload."""
    test = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not test.exception
    test.segmented_control[0].set_value("Upload").run()
    assert not test.exception and len(test.file_uploader) == 1
    return test


def _assert_no_case(app: AppTest, previous: str) -> None:
    assert not app.exception
    assert not _shown_anywhere(app, previous), f"{previous} is still shown"
    assert not app.subheader and not app.metric and not app.get("plotly_chart")
    assert _sidebar_case_line(app) == "No case loaded yet."


def test_a_bad_upload_after_a_good_one_shows_no_patient(app):
    _upload(app, ("lung.zip", lung_zip(), "application/zip"))
    assert not app.exception and not app.error
    previous = _shown_case_id(app)
    assert _sidebar_case_line(app) == f"Current case: **{previous}**"
    assert any(m.label == "lung volume (mL)" for m in app.metric)

    _upload(app, BROKEN)
    _assert_no_case(app, previous)
    (error,) = app.error
    assert "broken.zip" in error.value and "not the zip archive" in error.value


def test_a_bad_upload_after_a_demo_case_shows_no_patient(app):
    app.session_state["current_case"] = make_case(case_id="DEMO-7")
    app.session_state["current_case_origin"] = "demo:DEMO-7"
    app.run()
    assert _shown_case_id(app) == "DEMO-7"
    assert _sidebar_case_line(app) == "Current case: **DEMO-7**"
    _upload(app, BROKEN)
    _assert_no_case(app, "DEMO-7")
    assert "broken.zip" in app.error[0].value


def test_a_pending_upload_hides_the_previous_patient_until_loaded(app):
    _upload(app, ("lung.zip", lung_zip(), "application/zip"))
    previous = _shown_case_id(app)
    # loose volumes: which file is the image must be confirmed, so nothing loads yet
    _upload(app, liver_volumes())
    _assert_no_case(app, previous)
    assert any("press **Load case**" in info.value for info in app.info)
    _form_button(app).click().run()
    assert not app.exception and not app.error
    loaded = _shown_case_id(app)
    assert loaded != previous and _sidebar_case_line(app) == f"Current case: **{loaded}**"
    assert not _shown_anywhere(app, previous)


def test_the_gtv_is_required(app):
    _upload(app, liver_volumes())
    app.multiselect(key=next(m.key for m in app.multiselect if m.key.endswith("-gtv"))).set_value(
        []
    )
    _form_button(app).click().run()
    assert not app.exception and not app.subheader
    assert "GTV is required" in app.error[0].value
    assert _sidebar_case_line(app) == "No case loaded yet."


def test_a_failed_load_of_the_same_upload_clears_its_case(app):
    _upload(app, liver_volumes())
    _form_button(app).click().run()
    loaded = _shown_case_id(app)
    # the GTV's file chosen as the image: it is no longer offered as a mask, so the GTV is
    # missing; the case is no longer shown
    gtv = next(m for m in app.multiselect if m.key.endswith("-gtv"))
    assert "image.nii.gz" not in gtv.options and gtv.value == ["gtv.nii.gz"]
    next(s for s in app.selectbox if s.label == "Image volume").set_value("gtv.nii.gz")
    _form_button(app).click().run()
    assert not app.exception and "GTV is required" in app.error[0].value
    assert app.error and not _shown_anywhere(app, f"{loaded} ·")
    assert _sidebar_case_line(app) == "No case loaded yet."


def test_role_form_unites_several_structures_per_role_and_names_the_site(app):
    _upload(app, ("lung.zip", lung_zip(), "application/zip"))
    labels = {m.label: m for m in app.multiselect}
    organ = labels["Organ hosting the tumour (optional): liver, lung, brain…"]
    gtv = labels["GTV (all lesions united)"]
    assert organ.value == ["Lung-Left", "Lung-Right"] and gtv.value == ["GTV-1", "GTV-2"]
    assert "Spinal-Cord" in organ.options
    site = app.selectbox(
        key=next(s.key for s in app.selectbox if (s.key or "").startswith("site-"))
    )
    assert site.value == "lung"
    # the unambiguous upload loaded at once: the organ is both lungs, the GTV both lesions
    assert app.subheader[0].value.split(" · ")[1:3] == ["CT", "Lung"]  # then the series
    volumes = {m.label: float(m.value) for m in app.metric if m.label.endswith("(mL)")}
    assert volumes["lung volume (mL)"] > volumes["gtv volume (mL)"] > 0


def test_no_organ_is_a_choice(app):
    _upload(app, ("lung.zip", lung_zip(), "application/zip"))
    organ = next(m for m in app.multiselect if m.key.endswith("-organ"))
    organ.set_value([])
    _form_button(app).click().run()
    assert not app.exception and not app.error
    assert "lung volume (mL)" not in {m.label for m in app.metric}
    assert "gtv volume (mL)" in {m.label for m in app.metric}


def test_a_structure_chosen_for_two_roles_is_refused_naming_it_and_both(app):
    """GTV = [GTV-1, Lung-Left] and organ = Lung-Left: the organ was silently dropped (the GTV
    took the lung's volume), and the refusal that followed said the case had no organ mapped."""
    _upload(app, ("lung.zip", lung_zip(), "application/zip"))
    next(m for m in app.multiselect if m.key.endswith("-gtv")).set_value(["GTV-1", "Lung-Left"])
    next(m for m in app.multiselect if m.key.endswith("-organ")).set_value(["Lung-Left"])
    _form_button(app).click().run()
    assert not app.exception and not app.subheader and not app.metric
    (error,) = app.error
    assert "'Lung-Left' as organ and GTV" in error.value and "for one only" in error.value
    assert _sidebar_case_line(app) == "No case loaded yet."


def test_volume_files_say_their_modality(app):
    _upload(app, liver_volumes())
    modality = next(s for s in app.selectbox if s.label == "Modality of the volume")
    assert modality.value == "CT"
    modality.set_value("MR")
    _form_button(app).click().run()
    assert not app.exception and not app.error
    assert app.subheader[0].value.split(" · ")[1] == "MR"
    assert not any(w.label == "Window preset" for w in app.selectbox)


def test_an_upload_with_several_series_asks_which_one(app):
    _upload(app, ("lung.zip", lung_zip(mr_series=True), "application/zip"))
    assert not app.exception and not app.error
    series = next(s for s in app.selectbox if s.label == "Image series")
    labels = series.options  # as shown; the value is the series' position
    assert sorted(label.split(",")[0] for label in labels) == ["CT", "MR"]
    # pre-selected: the contoured series; nothing loads before the choice is confirmed
    assert labels[series.value].startswith("CT") and "contoured" in labels[series.value]
    assert not app.subheader
    assert any("press **Load case**" in info.value for info in app.info)
    series.set_value(next(n for n, label in enumerate(labels) if label.startswith("MR")))
    _form_button(app).click().run()
    assert not app.exception and not app.error
    assert app.subheader[0].value.split(" · ")[1] == "MR"
    # an MR case is windowed by percentiles, never by HU presets
    labels = {w.label for w in app.selectbox}
    assert "Percentile window" in labels and "Window preset" not in labels


def test_two_echoes_in_one_series_are_two_choices(app):
    """A dual-echo MR filed as one series, contoured on echo 2: both echoes are offered, the
    contoured one pre-selected, and the one chosen is the one read."""
    shape = (5, 40, 48)
    echoes = []
    for echo in (1, 2):
        volume = np.full(shape, 300.0 * echo) + np.random.default_rng(echo).normal(0, 20, shape)
        datasets = ct_slices(
            volume.round(), spacing=SPACING, origin=ORIGIN, modality="MR", intercept=0.0,
            series_uid="1.2.826.0.1.3680043.8.498.77", frame_uid="1.2.3.77",
        )  # fmt: skip
        for ds in datasets:
            ds.EchoNumbers = echo
        echoes.append(datasets)
    z_mm = [ORIGIN[2] + k * SPACING[2] for k in range(shape[0])]
    gtv = [square((-85.0, -100.0), 8, z) for z in z_mm[1:4]]
    files = {
        f"mr/{e}-{n}.dcm": _dicom_bytes(ds) for e, d in enumerate(echoes) for n, ds in enumerate(d)
    }
    files["rtstruct.dcm"] = _dicom_bytes(rtstruct(echoes[1], {"GTV": gtv}))
    _upload(app, ("mr.zip", zip_bytes(files), "application/zip"))
    assert not app.exception and not app.error
    series = next(s for s in app.selectbox if s.label == "Image series")
    labels = series.options
    assert [label.split(", ")[1] for label in labels] == ["echo 1", "echo 2"]
    assert "contoured" in labels[series.value] and "echo 2" in labels[series.value]
    series.set_value(0)
    _form_button(app).click().run()
    assert not app.exception and not app.error
    assert app.subheader[0].value.split(" · ")[1] == "MR"
    assert any("holds 2 stacks (echo 1, echo 2); echo 1 was read" in w.value for w in app.warning)


def test_a_demo_case_then_a_bad_upload_shows_no_patient(demo_in_place):
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not app.exception
    previous = _shown_case_id(app)
    assert previous.startswith("SYN-")
    assert _sidebar_case_line(app) == f"Current case: **{previous}**"
    app.segmented_control[0].set_value("Upload").run()
    _upload(app, BROKEN)
    _assert_no_case(app, previous)
    assert "broken.zip" in app.error[0].value


def test_coming_back_after_a_failed_upload_loads_no_demo_patient(demo_in_place):
    """A failed upload leaves no case; leaving the page and coming back keeps Upload chosen,
    never loading a demo patient the user did not pick."""
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    app.segmented_control[0].set_value("Upload").run()
    _upload(app, BROKEN)
    assert app.error and "current_case" not in app.session_state
    app.switch_page("pages/risk.py").run()
    app.switch_page("pages/case.py").run()
    assert not app.exception
    assert app.segmented_control[0].value == "Upload"
    assert "current_case" not in app.session_state and not app.subheader


def test_a_damaged_slice_is_named_by_its_position_not_a_server_path(app):
    """The stored upload renames its files (de-identified), so the message says where the slice
    lies; the server's folders are never shown."""
    import io

    from survival_core.paths import data_dir

    with zipfile.ZipFile(io.BytesIO(lung_zip())) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["case/ct/003.dcm"] = files["case/ct/003.dcm"][:-900]  # truncated pixel data
    _upload(app, ("lung.zip", zip_bytes(files), "application/zip"))
    (error,) = app.error
    assert "(slice 4 of 6, at (" in error.value and "cannot be read" in error.value
    assert str(data_dir().resolve()) not in error.value and "upload-" not in error.value


def test_an_image_without_structures_is_named_as_such(app):
    import io

    with zipfile.ZipFile(io.BytesIO(lung_zip())) as archive:
        files = {n: archive.read(n) for n in archive.namelist() if "rtstruct" not in n}
    _upload(app, ("ct.zip", zip_bytes(files), "application/zip"))
    assert not app.exception
    (error,) = app.error
    assert "holds no structures: no RTSTRUCT, SEG or mask file" in error.value
    assert not app.multiselect  # no role form to fill in vain


def _form_values(app: AppTest) -> dict[str, object]:
    """The clinical form's inputs by variable name (keys are clinical-<case>-<name>)."""
    inputs = [*app.text_input, *app.selectbox]
    return {
        w.key.rsplit("-", 1)[1]: w.value for w in inputs if w.key and w.key.startswith("clinical-")
    }


def test_a_new_patients_clinical_form_never_holds_the_previous_ones_values(demo_in_place):
    """Demo patient first (age filled), then an upload without clinical values: its form is
    empty, so pressing Validate and save cannot give it the demo patient's values."""
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    assert _form_values(app)["age"] is not None
    app.segmented_control[0].set_value("Upload").run()
    _upload(app, ("lung.zip", lung_zip(), "application/zip"))
    assert not app.exception and not app.error
    form = _form_values(app)
    assert form and all(value is None for value in form.values()), form


def test_radiomics_of_a_case_without_an_organ(app):
    """A lung case loaded with no organ: han2020 runs on the GTV; wei2021 computes its GTV features
    and names the ROI it cannot compute (organ_minus_gtv) and why, rather than failing or
    filling zeros."""
    _upload(app, ("lung.zip", lung_zip(), "application/zip"))
    next(m for m in app.multiselect if m.key.endswith("-organ")).set_value([])
    _form_button(app).click().run()
    app.selectbox(key="radiomics-preset").set_value("han2020")
    app.button(key="radiomics-run").click().run()
    assert not app.exception and not app.error
    table = next(d.value for d in app.dataframe if "feature" in d.value.columns)
    assert len(table) == 552 and set(table["roi"]) == {"gtv"}
    app.selectbox(key="radiomics-preset").set_value("wei2021")
    app.button(key="radiomics-run").click().run()
    assert not app.exception and not app.error
    (note,) = [i.value for i in app.info if "organ_minus_gtv" in i.value]
    assert "cannot be computed" in note and "organ mask" in note
    table = next(d.value for d in app.dataframe if "feature" in d.value.columns)
    assert len(table) == 28 and set(table["roi"]) == {"gtv"}
