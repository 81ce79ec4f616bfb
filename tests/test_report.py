"""The tumor-board PDF: gathered content matches the score and card, one A4 page, text extractable,
overlay drawn for image-model maps only, no identifying fields, and the ``report`` command."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import SimpleITK as sitk
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from survival_core.errors import InputError
from survival_core.explain.attributions import method_description
from survival_core.explain.case import CaseExplanation, explain_case
from survival_core.io.case_loader import load_case
from survival_core.models import make_model
from survival_core.models.scoring import LoadedModel, load_scoring_model
from survival_core.preprocess.window import percentile_window
from survival_core.report.pdf import (
    CURVES_CROSS_NOTE,
    DISCLAIMER,
    build_report,
    explanation_method,
    gather_report,
    p_text,
    printed_warning,
    render_report,
    report_figures,
    survival_text,
)
from survival_core.text import percentile_text
from survival_core.workflows.scoring import score_case
from survival_core.workflows.training import train_model

A4_POINTS = (595.28, 841.89)


def _unescape(literal: bytes) -> bytes:
    """A PDF literal string's bytes (backslash escapes resolved)."""
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(match: re.Match) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8) & 0xFF])
        return simple.get(code, code)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def pdf_facts(data: bytes) -> tuple[int, list[float], str]:
    """(page count, MediaBox, text) of a matplotlib PDF: the page text is read from the inflated
    content streams, whose Type 3 strings are Windows-1252 bytes."""
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    box = [float(v) for v in re.search(rb"/MediaBox\s*\[([^\]]*)\]", data).group(1).split()]
    lines = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for operation in re.findall(rb"\[(.*?)\]\s*TJ|(\((?:\\.|[^\\)])*\))\s*Tj", content, re.S):
            strings = re.findall(rb"\(((?:\\.|[^\\)])*)\)", b"".join(operation), re.S)
            text = b"".join(_unescape(s) for s in strings)
            lines.append(text.decode("cp1252", errors="replace"))
    return pages, box, "\n".join(lines)


@pytest.fixture(scope="module")
def model_dir(small_cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-model") / "coxph"
    train_model(
        [small_cohort / "clinical.csv"],
        "coxph",
        {"penalizer": 1.0},
        out,
        features="^(albumin|bilirubin|ecog)$",
    )
    return out


@pytest.fixture(scope="module")
def loaded(model_dir):
    return load_scoring_model(model_dir)


@pytest.fixture(scope="module")
def case(small_cohort):
    return load_case(small_cohort / "cases" / "SYN-0001")


@pytest.fixture(scope="module")
def scored(case, loaded):
    return score_case(case, loaded), explain_case(case, loaded, top=10)


@pytest.fixture(scope="module")
def report_pdf(case, loaded, scored) -> bytes:
    """The report of a case whose upload path carries a name and birth date (never shown)."""
    named = dataclasses.replace(case, source="/uploads/DOE^JOHN 1961-04-01/ct.zip")
    return build_report(named, loaded, *scored)


def _gtv_map(case) -> sitk.Image:
    """A signed map on the case's grid: positive in the tumour, slightly negative in the liver."""
    values = case.mask_array("gtv").astype(np.float32) - 0.3 * case.mask_array("organ")
    image = sitk.GetImageFromArray(values)
    image.CopyInformation(case.image)
    return image


@pytest.mark.parametrize(
    ("probability", "text"),
    [(0.0012, "< 1 %"), (0.5049, "50 %"), (0.8, "80 %"), (0.999, "> 99 %")]
    + [(0.995, "> 99 %"), (0.005, "< 1 %")],  # printed '100 %' and '0 %', half to even
)
def test_survival_is_a_whole_percentage(probability, text):
    assert survival_text(probability) == text


@pytest.mark.parametrize(("p", "text"), [(0.00004, "< 0.001"), (0.01234, "0.012"), (0.5, "0.500")])
def test_p_values_have_three_decimals(p, text):
    assert p_text(p) == text
    assert p_text(None).startswith("not computed")


def test_content_matches_the_score_and_the_card(case, loaded, scored):
    score, explanation = scored
    content = gather_report(case, loaded, score, explanation, date="2026-01-02")
    assert content.case_id == "SYN-0001" and content.date == "2026-01-02"
    assert content.risk == score.risk and content.risk_group == score.risk_group
    assert content.risk_text == f"Risk score {score.risk:.2f}"
    assert [m for m, _ in content.survival] == [12, 24, 36]
    assert [s for _, s in content.survival] == list(score.survival.values())
    # KM curves: the card's, in months from (0, 100 %); the group sizes add up to the cohort
    km = loaded.card.stratification_result().km
    for g, (time, surv, _) in enumerate(content.km.values()):
        assert (time[0], surv[0]) == (0.0, 1.0)
        np.testing.assert_allclose(surv[1:], km[g].survival)
        np.testing.assert_allclose(time[1:] * 365.25 / 12, km[g].time)
    assert sum(n for _, _, n in content.km.values()) == loaded.card.n == 6
    rows = dict(content.card)
    # the synthetic demo's outcome is days to death, recorded as overall survival
    assert rows["Training cohort"].startswith(f"n = 6 patients, {loaded.card.n_events} deaths")
    assert rows["Outcome"] == "overall survival ('time'/'event'; events: deaths)"
    assert rows["C-index (apparent)"].startswith(f"{loaded.card.apparent_c_index:.3f}")
    assert rows["Risk-group cut"].startswith("median training risk")
    assert "no cross-validation" in rows["Protocol"]
    # features: the explanation's signed attributions, in its order, with values and units
    assert content.signed
    assert [v for _, v in content.features] == [
        f["attribution"] for f in explanation.top_features[:8]
    ]
    labels = [label for label, _ in content.features]
    assert f"Albumin {case.clinical['albumin']:g} g/L" in labels


def test_cross_validated_c_index_is_shown_with_its_interval(case, loaded, scored):
    cv = {"c_index": 0.7123, "ci_low": 0.6012, "ci_high": 0.8034, "n_folds": 10}
    card = dataclasses.replace(loaded.card, cv=cv)
    content = gather_report(case, dataclasses.replace(loaded, card=card), scored[0])
    rows = dict(content.card)
    assert rows["C-index (CV)"] == "0.712 (95 % CI 0.601-0.803)"
    assert "10 test folds" in rows["Protocol"]


def test_an_external_validations_c_index_is_not_called_cross_validated(case, loaded, scored):
    """A model of a run with an external cohort showed its external c-index as 'C-index (CV)'
    of 'resampling, 1 test folds', and the training cohort's log-rank and hazard ratio beside
    it without saying whose they were."""
    cv = {"c_index": 0.657, "ci_low": 0.606, "ci_high": 0.708, "n_folds": 1, "n": 290}
    card = dataclasses.replace(loaded.card, cv={**cv, "protocol": "external"})
    content = gather_report(case, dataclasses.replace(loaded, card=card), scored[0])
    rows = dict(content.card)
    assert rows["C-index (external)"] == "0.657 (95 % CI 0.606-0.708)"
    assert rows["Protocol"] == "external validation on 290 other patients"
    assert "C-index (CV)" not in rows and card.validated == "external"
    assert rows["Log-rank p"].endswith("(training patients)")
    assert rows["HR high vs low"].endswith("(training patients)")


def test_the_model_is_named_by_its_name_and_registry_version(case, loaded, scored, tmp_path):
    """The app's PDF named the model by the sidebar's label ('gbsg v3 (active)', an app status;
    'demo default (coxnet on the demo cohort)'), the command's by its family and folder: one rule,
    the family, and the name with a registered model's registry version."""
    assert gather_report(case, loaded, scored[0]).model_label == f"coxph ({loaded.folder.name})"
    copy = tmp_path / "runs" / "registry" / "gbsg" / "v3-0a1b2c3d"  # the registry's local copy
    registered = dataclasses.replace(loaded, folder=copy)
    assert gather_report(case, registered, scored[0]).model_label == "coxph (gbsg/v3)"


def test_the_pdf_is_one_a4_page_with_the_risk_and_the_disclaimer(report_pdf, scored):
    assert report_pdf.startswith(b"%PDF")
    pages, box, text = pdf_facts(report_pdf)
    assert pages == 1
    np.testing.assert_allclose(box[2:], A4_POINTS, atol=0.5)
    score = scored[0]
    for shown in (
        "Case SYN-0001 · CT · Liver",
        f"Risk score {score.risk:.2f}",
        f"{score.risk_group.capitalize()}-risk group",
        survival_text(score.survival["12"]),
        DISCLAIMER,
        "Model card",
    ):
        assert shown in text, shown
    assert "No attribution overlay" in text


def test_many_inputs_are_listed_briefly_and_never_run_into_the_histogram(case, loaded, scored):
    names = [f"clinical_variable_{k:02d}" for k in range(60)]
    schema = SimpleNamespace(
        preprocessor_=SimpleNamespace(input_schema_=[{"name": n} for n in names])
    )
    card = dataclasses.replace(loaded.card, clinical_columns=names[:50])
    content = gather_report(case, LoadedModel(loaded.folder, schema, card), scored[0])
    inputs = dict(content.card)["Inputs"]
    assert inputs.endswith("clinical_variable_07 ... and 42 more; 10 image feature(s)")
    fig = report_figures(content)[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    (text,) = [t for t in fig.findobj(Text) if t.get_text().startswith("clinical_variable_00")]
    (histogram,) = [ax for ax in fig.axes if ax.get_label() == "distribution"]
    box = text.get_window_extent(renderer)
    assert not box.overlaps(histogram.title.get_window_extent(renderer))
    assert not box.overlaps(histogram.get_tightbbox(renderer))


def test_imputed_values_are_flagged(case, loaded):
    partial = dataclasses.replace(case, clinical={**case.clinical, "albumin": None})
    score = score_case(partial, loaded)
    explanation = explain_case(partial, loaded, top=10)
    content = gather_report(partial, loaded, score, explanation)
    assert content.imputed == ["Albumin"]
    assert "Albumin (imputed)" in [label for label, _ in content.features]
    _, _, text = pdf_facts(build_report(partial, loaded, score, explanation))
    assert "Imputed (missing, training-cohort value): Albumin" in text


def test_the_snapshot_is_the_largest_gtv_cross_section_with_contours(case, loaded, scored):
    content = gather_report(case, loaded, scored[0])
    areas = case.mask_array("gtv").sum(axis=(1, 2))
    assert content.view.index == int(np.argmax(areas))
    assert set(content.view.contours) == {"organ", "gtv"}
    assert content.window == (-45.0, 105.0)  # liver window W 150 / L 30 HU
    assert not content.overlay
    ct = next(ax for ax in report_figures(content)[0].axes if ax.get_label() == "ct")
    assert len(ct.images) == 1
    assert sorted(t.get_text() for t in ct.texts) == ["A", "L", "P", "R"]  # the patient's sides
    assert content.features == [] and "No explanation" in content.feature_note


def test_a_pet_case_reports_its_uptake_on_one_page(case, loaded, scored):
    pet = dataclasses.replace(case, modality="PT")  # its voxels read as SUV
    content = gather_report(pet, loaded, scored[0])
    gtv = sitk.GetArrayViewFromImage(case.image)[case.mask_array("gtv")]
    assert f"GTV uptake: SUVmax {gtv.max():.1f}, SUVpeak " in content.slice_note
    assert (
        f"SUVmean {gtv.mean():.1f}, MTV {case.mask_volume_ml('gtv'):.1f} mL" in content.slice_note
    )
    assert "percentile" in content.slice_note  # never an HU window
    assert content.modality == "PET"
    pages, _, _ = pdf_facts(render_report(content))
    assert pages == 1


def _report_of(case, loaded):
    """The report of ``case`` scored with the demo's clinical values."""
    from survival_core.cli.score import case_result

    case.clinical = {"ecog": 1, "albumin": 40.0, "bilirubin": 12.0}
    return gather_report(case, loaded, case_result(case, loaded))


def test_the_snapshot_is_in_the_viewers_default_window(shared_data, loaded, tmp_path):
    """A PET in SUVbw was drawn in its slice's 1st-99th percentile (the background SUV 2 black) and
    the real MR T1 in its slice's (0-1034), where the viewer opens them in SUV 0-5 and in the
    volume's 1-99 % (0-1063): the report shows the window the page opens in, and says which."""
    from tests.test_pet_suv import write_pet_case

    pet = _report_of(load_case(write_pet_case(tmp_path / "pet")), loaded)
    assert pet.window == (0.0, 5.0)
    assert "SUVbw window 0-5 (the viewer's default)" in pet.slice_note
    assert "percentile" not in pet.slice_note
    mr_case = load_case(shared_data / "sts_sarcoma" / "STS_001" / "MR_T1")
    mr = _report_of(mr_case, loaded)
    expected = percentile_window(mr_case.image, "1-99 %")
    assert mr.window == pytest.approx((expected.low, expected.high))
    assert mr.window == pytest.approx((0.0, 1063.0))
    assert "window 0-1063, the whole volume's 1-99 % intensity percentiles" in mr.slice_note


def test_an_image_model_map_is_overlaid(case, loaded, scored):
    shares = [
        {"name": "tumour (GTV)", "share": 0.7},
        {"name": "liver outside the tumour", "share": 0.3},
    ]
    explanation = CaseExplanation(
        "SYN-0001",
        "gradcam",
        0.1,
        None,
        shares,
        scored[0].risk,
        enrichment=4.2,
        map=_gtv_map(case),
    )
    content = gather_report(case, loaded, scored[0], explanation)
    assert content.overlay and content.view.overlay_scale.signed
    assert content.view.overlay.max() == pytest.approx(0.7)  # tumour minus liver weight
    assert not content.signed and content.features[0] == ("tumour (GTV)", 0.7)
    ct = next(ax for ax in report_figures(content)[0].axes if ax.get_label() == "ct")
    assert len(ct.images) == 2
    _, _, text = pdf_facts(build_report(case, loaded, scored[0], explanation))
    assert "Overlay: Grad-CAM map" in text and "4.2x" in text


def test_an_overlay_alone_is_drawn_too(case, loaded, scored):
    array = sitk.GetArrayFromImage(_gtv_map(case))
    content = gather_report(case, loaded, scored[0], overlay=array)
    assert content.overlay and "Overlay: attribution map" in content.slice_note


def test_the_snapshot_says_where_its_slice_lies_in_the_patient(case, loaded, scored):
    """'Axial slice 29/59' alone cannot be found on the PACS, which may count from the top: the
    slice's position (z in mm, as the viewer's title gives it) is printed too."""
    from survival_core.viewer.slices import best_slice

    content = gather_report(case, loaded, scored[0])
    index = best_slice(case, "axial")
    z = case.image.TransformIndexToPhysicalPoint((0, 0, index))[2]
    assert f"Axial slice {index + 1}/{case.image.GetSize()[2]} at z {z:.1f} mm (" in (
        content.slice_note
    )


def test_an_overlay_on_another_grid_is_refused(case, loaded, scored):
    with pytest.raises(InputError, match="shape"):
        gather_report(case, loaded, scored[0], overlay=np.zeros((2, 3, 4)))


def test_a_score_of_another_case_is_refused(case, loaded, scored):
    other = {**scored[0].as_dict(), "case_id": "SYN-0002"}
    with pytest.raises(InputError, match="SYN-0002"):
        gather_report(case, loaded, other)


def test_nothing_but_the_case_id_identifies_the_patient(report_pdf):
    _, _, text = pdf_facts(report_pdf)
    assert "SYN-0001" in text
    assert "DOE" not in text and "1961" not in text


def test_a_warning_naming_where_the_case_is_kept_is_printed_without_it(case, loaded, scored):
    """A structure set naming another patient was printed as '/srv/data/cases/upload-1a2b/
    STS_001.zip:RS.dcm names another patient...': the server's data folder and the upload's
    archive, which the Case page strips, were on the tumor board's page."""
    from survival_core.paths import data_root

    source = f"{data_root()}/cases/upload-334876e50d080fe7/STS_001.zip"
    said = (
        f"{source}:dbe98b984/RS.dcm names another patient than the image series (a different "
        "PatientID); it was linked by its frame of reference and geometry: check that both are "
        "this patient's."
    )
    others = [f"{data_root()}/cases/upload-99/x.csv: 1 row not read.", f"{source} holds two sets."]
    kept = dataclasses.replace(case, source=source, warnings=[said, *others])
    printed = gather_report(kept, loaded, *scored).warnings
    assert printed == [
        said.removeprefix(f"{source}:"),
        "x.csv: 1 row not read.",
        "the case holds two sets.",
    ]
    assert not any(str(data_root()) in w or "upload-" in w for w in printed)


def test_a_structure_sets_file_name_and_the_uids_are_not_printed(shared_data, tmp_path):
    """The real sarcoma CT zipped under 'Doe_Jane_MRN12345/', its structure set renamed
    'Jane_Doe_MRN12345_RS.dcm' and of another PatientID: the CLI's report printed
    'Jane_Doe_MRN12345_RS.dcm was drawn on series 1.3.6.1.4.1.14519..., not on the image series
    1.3.6...' and 'Doe_Jane_MRN12345/mask/Jane_Doe_MRN12345_RS.dcm names another patient...'
    (an upload's files are renamed and its UIDs remapped; the CLI reads them as the PACS sent
    them). The page says both without the file and the UIDs; the console still names them."""
    import shutil

    import pydicom

    folder = tmp_path / "Doe_Jane_MRN12345"
    shutil.copytree(shared_data / "sts_sarcoma" / "STS_001" / "CT", folder)
    structure_set = pydicom.dcmread(folder / "mask" / "RS.dcm")
    structure_set.PatientID = "MRN99999"
    structure_set.save_as(folder / "mask" / "Jane_Doe_MRN12345_RS.dcm")
    (folder / "mask" / "RS.dcm").unlink()
    archive = shutil.make_archive(str(tmp_path / "upload"), "zip", tmp_path, folder.name)
    case = load_case(archive)
    printed = [printed_warning(case, w) for w in case.warnings]
    assert printed[-2:] == [
        "The structure set was drawn on another series than the image's; both share a frame of "
        "reference, so it is linked by frame of reference and geometry (its contours in patient "
        "coordinates).",
        "The structure set names another patient than the image series (a different PatientID); "
        "it was linked by its frame of reference and geometry: check that both are this "
        "patient's.",
    ]
    assert not any("MRN12345" in w or "1.3.6.1.4.1.14519" in w for w in printed)
    named = case.warnings[-2:]
    assert named[0].startswith("Jane_Doe_MRN12345_RS.dcm was drawn on series 1.3.6.1.4.1.14519.")
    assert named[1].startswith(f"{archive}:Doe_Jane_MRN12345/mask/Jane_Doe_MRN12345_RS.dcm names")


def test_a_structure_set_left_aside_is_printed_without_its_file(shared_data, tmp_path):
    """Two copies of the real sarcoma CT's structure set that read alike (one referencing the
    image series, the other linked by frame of reference), the latter's file named after the
    patient, twice: the warning naming the two left aside told them apart by their files
    ('(mask/Doe_Jane_RS.dcm)'), which the report printed. The console still names them."""
    import shutil

    import pydicom
    from pydicom.uid import generate_uid

    folder = tmp_path / "case"
    shutil.copytree(shared_data / "sts_sarcoma" / "STS_001" / "CT", folder)
    (folder / "mask" / "RS.dcm").rename(folder / "mask" / "Doe_Jane_RS.dcm")
    copy = pydicom.dcmread(folder / "mask" / "Doe_Jane_RS.dcm")
    copy.SOPInstanceUID = generate_uid()
    image_series = pydicom.dcmread(next((folder / "image").glob("*.dcm"))).SeriesInstanceUID
    for frame in copy.ReferencedFrameOfReferenceSequence:
        for study in frame.RTReferencedStudySequence:
            for series in study.RTReferencedSeriesSequence:
                series.SeriesInstanceUID = image_series  # drawn on the series: the one used
                del series.ContourImageSequence
    copy.save_as(folder / "mask" / "RS_copy.dcm")
    again = pydicom.dcmread(folder / "mask" / "Doe_Jane_RS.dcm")
    again.SOPInstanceUID = generate_uid()  # a second one aside, alike: told apart by its file
    again.save_as(folder / "mask" / "Doe_Jane_RS_2.dcm")
    case = load_case(folder)
    (named,) = [w for w in case.warnings if "left aside" in w]
    assert "Doe_Jane_RS.dcm" in named and "Doe_Jane_RS_2.dcm" in named
    printed = printed_warning(case, named)
    assert "Doe_Jane" not in printed and ".dcm" not in printed
    assert printed.startswith("The case holds 3 structure sets drawn on this image: used RTSTRUCT")


def test_dicom_uids_in_a_warning_are_not_printed(case):
    """A series read of several stacks was printed as 'Series 1.3.6.1.4.1.14519.5.2.1.5168...
    holds 2 stacks': the hospital's UID, which finds the study in its archive."""
    warning = (
        "Series 1.3.6.1.4.1.14519.5.2.1.5168.1900.449841255123215696894565592289 holds 2 stacks "
        "(1, 2); 1 was read. pyradiomics 3.1.0 read it."
    )
    printed = printed_warning(dataclasses.replace(case, warnings=[warning]), warning)
    assert printed == "Series [UID] holds 2 stacks (1, 2); 1 was read. pyradiomics 3.1.0 read it."


@pytest.mark.parametrize(("name", "method"), [("coxph", "ig"), ("cnn3d", "gradcam")])
def test_image_models_are_explained_with_gradcam(loaded, name, method):
    assert explanation_method(LoadedModel(loaded.folder, make_model(name), loaded.card)) == method


def _cli(*argv: str):
    from survival_core.cli import report

    parser = argparse.ArgumentParser()
    report.register(parser.add_subparsers())
    args = parser.parse_args(["report", *argv])
    return args.func(args)


def test_the_report_command_writes_the_pdf(small_cohort, model_dir, tmp_path, capsys):
    out = tmp_path / "sub" / "SYN-0002.pdf"
    code = _cli(
        "--case",
        str(small_cohort / "cases" / "SYN-0002"),
        "--model",
        str(model_dir),
        "--out",
        str(out),
        "--json",
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["case_id"] == "SYN-0002" and result["out"] == str(out)
    assert result["overlay"] is False and result["bytes"] == out.stat().st_size
    pages, _, text = pdf_facts(out.read_bytes())
    assert pages == 1 and "Case SYN-0002" in text and f"Risk score {result['risk']:.2f}" in text
    assert result["training_patients"] == 6
    # printed as score prints it: the percentile among the training patients once, rounded
    argv = ("--case", str(small_cohort / "cases" / "SYN-0002"), "--model", str(model_dir))
    assert _cli(*argv, "--out", str(tmp_path / "again.pdf")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if "percentile" in line or "training_patients" in line] == [
        f"percentile among the 6 training patients: {percentile_text(result['percentile'])} %"
    ]


def test_a_report_rewrite_on_a_full_disk_keeps_the_earlier_pdf(
    small_cohort, model_dir, tmp_path, monkeypatch
):
    """The PDF was written in place: a full disk left the earlier report truncated."""
    import errno

    from survival_core.errors import InputError
    from survival_core.io import atomic

    out = tmp_path / "SYN-0002.pdf"
    argv = ("--case", str(small_cohort / "cases" / "SYN-0002"), "--model", str(model_dir))
    assert _cli(*argv, "--out", str(out)) == 0
    earlier = out.read_bytes()

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(InputError, match="Cannot write the report .*No space left on device"):
        _cli(*argv, "--out", str(out))
    assert out.read_bytes() == earlier and sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_a_report_out_under_a_file_is_refused_before_any_work(model_dir, tmp_path, monkeypatch):
    """'File exists' came after scoring and explaining the case."""
    from survival_core.errors import InputError
    from survival_core.models import scoring

    (tmp_path / "results.txt").write_text("mine")
    monkeypatch.setattr(scoring, "load_scoring_model", lambda *_: pytest.fail("loaded a model"))
    out = tmp_path / "results.txt" / "SYN-0002.pdf"
    with pytest.raises(InputError, match="results.txt is a file, not a folder"):
        _cli("--case", str(tmp_path), "--model", str(model_dir), "--out", str(out))


def test_the_report_command_gives_the_warnings_score_gives(
    small_cohort, model_dir, tmp_path, capsys
):
    """Warnings of reading the case were in ``score --json`` only: not in the PDF, nor in
    ``report --json``."""
    import shutil

    folder = shutil.copytree(small_cohort / "cases" / "SYN-0002", tmp_path / "SYN-0002")
    values = json.loads((folder / "clinical.json").read_text())
    (folder / "clinical.json").write_text(json.dumps({**values, "albumn": 30.0}))
    scored, reported, out = _score_and_report(folder, model_dir, tmp_path, capsys)
    assert reported["warnings"] == scored["warnings"] and "albumn" in scored["warnings"][0]
    _, _, text = pdf_facts(out.read_bytes())
    assert "Check before use" in text and "ignored: albumn" in text


def _score_and_report(folder, model_dir, tmp_path, capsys) -> tuple[dict, dict, Path]:
    """``score --json`` and ``report --json`` of the case ``folder``: both JSON results and the
    PDF written."""
    from survival_core.cli import score

    parser = argparse.ArgumentParser()
    score.register(parser.add_subparsers())
    args = parser.parse_args(["score", "--case", str(folder), "--model", str(model_dir), "--json"])
    assert args.func(args) == 0
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    out = tmp_path / "report.pdf"
    assert _cli("--case", str(folder), "--model", str(model_dir), "--out", str(out), "--json") == 0
    return scored, json.loads(capsys.readouterr().out.strip().splitlines()[-1]), out


def test_the_report_command_gives_what_score_gives(small_cohort, model_dir, tmp_path, capsys):
    """``report --json`` left out the DICOM series read (``series``: which phase of a study)
    that ``score --json`` gives for the same case: it gives all of the score's fields."""

    folder = next(c for c in sorted((small_cohort / "cases").iterdir()) if load_case(c).series)
    scored, reported, out = _score_and_report(folder, model_dir, tmp_path, capsys)
    assert scored["series"] and reported.pop("out") == str(out)
    assert reported.pop("bytes") == out.stat().st_size and reported.pop("overlay") is False
    assert reported == scored


def test_an_auto_model_is_named_by_the_candidate_it_chose(small_cohort, scored, tmp_path, capsys):
    """A model fitted with ``--model auto`` was 'Model: auto (demo-auto)' in the PDF's header and
    'auto, trained ...' in its card, and `score`, `explain` and `report --json` named no candidate:
    which one predicts (its penalty, its columns) was in selection.json alone."""
    from survival_core.cli.main import main
    from survival_core.models.selection import read_selection

    folder = tmp_path / "demo-auto"
    candidates = [{"model": "coxph", "params": {"penalizer": 1.0}}]  # the plain Cox PH added
    train_model(
        [small_cohort / "clinical.csv"],
        "auto",
        {"candidates": candidates, "inner_folds": 2},
        folder,
        features="^(albumin|bilirubin|ecog)$",
    )
    chosen = read_selection(folder)["chosen"]
    assert chosen == "coxph(penalizer=0.1)"  # not the card's 'coxph' family alone
    case = small_cohort / "cases" / "SYN-0001"
    by_score, reported, out = _score_and_report(case, folder, tmp_path, capsys)
    assert by_score["model"] == "demo-auto" and by_score["chosen"] == reported["chosen"] == chosen
    text = _flat(pdf_facts(out.read_bytes())[2])
    assert "Model: auto -> coxph(penalizer=0.1) (demo-auto)" in text
    assert "auto -> coxph(penalizer=0.1), trained " in text
    assert main(["explain", "--case", str(case), "--model", str(folder), "--json"]) == 0
    explained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (explained["model"], explained["chosen"]) == ("demo-auto", chosen)
    assert "chosen" not in scored[0].as_dict()  # a model that chose nothing


def test_file_names_of_a_case_folder_are_not_printed(small_cohort, model_dir, tmp_path, capsys):
    """A DICOM case folder holding a stray 'Mueller_Hans_ct.nii.gz' (the patient's name): the PDF
    said 'The volumes Mueller_Hans_ct.nii.gz beside the DICOM files are not read', under a
    pseudonymous case id. It says how many, the JSON keeps the names for whoever ran it."""
    import shutil

    source = next(c for c in sorted((small_cohort / "cases").iterdir()) if load_case(c).series)
    folder = shutil.copytree(source, tmp_path / "Mueller_Hans_1961-04-01")
    sitk.WriteImage(load_case(source).image, str(folder / "Mueller_Hans_ct.nii.gz"))
    out = tmp_path / "report.pdf"
    assert _cli("--case", str(folder), "--model", str(model_dir), "--out", str(out), "--json") == 0
    reported = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert any("Mueller_Hans_ct.nii.gz" in w for w in reported["warnings"])
    said = "1 volume file beside the DICOM files is not read (the DICOM series is the image)."
    case = load_case(folder)
    assert said in gather_report(case, load_scoring_model(model_dir), reported).warnings
    flat = _flat(pdf_facts(out.read_bytes())[2])  # its 'fi' a ligature, read as another byte
    assert "- 1 volume" in flat and "is not read (the DICOM series is the image)." in flat
    assert "Mueller" not in flat and "1961" not in flat


def test_the_report_command_wants_a_pdf_name(small_cohort, model_dir, tmp_path):
    with pytest.raises(InputError, match=r"\.pdf"):
        _cli(
            "--case",
            str(small_cohort / "cases" / "SYN-0002"),
            "--model",
            str(model_dir),
            "--out",
            str(tmp_path / "report.png"),
        )


def test_long_feature_names_stay_on_the_page(case, loaded, scored):
    """Radiomics names as long as pyradiomics makes them ran off the page's left edge."""
    content = gather_report(case, loaded, scored[0])
    long_names = [
        "gtv__lloydmax16__glszm__SmallAreaLowGrayLevelEmphasis",
        "wavelet-LLH_glszm_SizeZoneNonUniformityNormalized",
        "liver_minus_gtv__original__glrlm__LongRunHighGrayLevelEmphasis",
    ]
    content = dataclasses.replace(content, features=[(n, 0.1) for n in long_names], signed=True)
    fig = report_figures(content)[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    (chart,) = [ax for ax in fig.axes if ax.get_label() == "features"]
    labels = [t for t in chart.get_yticklabels() if t.get_text()]
    assert len(labels) == 3 and "SmallAreaLowGrayLevelEmphasis" in labels[-1].get_text()
    left = chart.figure.bbox.x0  # the chart's band: the CT snapshot lies left of it
    for label in labels:
        assert label.get_window_extent(renderer).x0 >= left, label.get_text()


def test_the_feature_note_names_the_attribution_method(
    small_cohort, case, loaded, scored, tmp_path
):
    """A random survival forest's attributions come from Shapley value sampling; the note said
    'Integrated Gradients' for every table model."""
    folder = tmp_path / "rsf"
    train_model(
        [small_cohort / "clinical.csv"],
        "rsf",
        {"n_estimators": 10, "min_samples_leaf": 1, "min_samples_split": 2},
        folder,
        features="^(albumin|bilirubin|ecog)$",
    )
    forest = load_scoring_model(folder)
    note = gather_report(case, forest, score_case(case, forest), explain_case(case, forest))
    # from the training cohort (background patients drawn from it), not from a mean point
    assert note.feature_note.startswith("Shapley value sampling from the training cohort (risk ")
    assert "Integrated Gradients" not in note.feature_note
    linear = gather_report(case, loaded, *scored).feature_note
    assert linear.startswith("Exact linear attributions, coefficient × difference from")
    assert method_description(make_model("deepsurv")) == "Integrated Gradients"


def _flat(text: str) -> str:
    """PDF text with its lines and runs of spaces joined by single spaces (wrapped lines read on)."""
    return " ".join(text.split())


@pytest.mark.parametrize("case_id", ["$1000$", "pt$x^2$id", "a$\\foo{$b"])
def test_dollars_in_names_print_literally(case, loaded, scored, case_id):
    """A '$' was read as mathtext: '$1000$' printed as '1000', 'a$\\foo{$b' crashed the page."""
    named = dataclasses.replace(case, case_id=case_id, warnings=[f"images of {case_id}"])
    score = {**scored[0].as_dict(), "case_id": case_id}
    dollars = dataclasses.replace(loaded, folder=loaded.folder.parent / "cox $v2$")
    content = gather_report(named, dollars, score, scored[1])
    content = dataclasses.replace(content, features=[(f"label {case_id}", 0.1)])
    _, _, text = pdf_facts(render_report(content))
    assert f"label {case_id}" in text.splitlines()
    assert f"Case {case_id} · CT · Liver" in text
    assert f"Case {case_id} · generated by RadSurv" in text

    assert "Model: coxph (cox $v2$)" in text and f"- images of {case_id}" in text


def _reading_warnings(n: int) -> list[str]:
    return [
        f"RTSTRUCT {k}: its contours were drawn on another series (1.2.840.{k}); check that the "
        "GTV belongs to these images."
        for k in range(n)
    ]


def test_the_warnings_of_reading_the_case_are_on_the_page(case, loaded, scored):
    warnings = [
        "clinical.json names the case SYN-0009, but its DICOM images are of patient SYN-0001: "
        "check that the clinical values belong to this patient.",
        *_reading_warnings(1),
    ]
    warned = dataclasses.replace(case, warnings=warnings)
    content = gather_report(warned, loaded, *scored)
    assert content.warnings == warnings
    _, _, text = pdf_facts(render_report(content))
    assert "Check before use" in text
    for warning in warnings:
        assert f"- {warning}" in _flat(text), warning
    assert " more: see score --json" not in text
    _, _, plain = pdf_facts(render_report(gather_report(case, loaded, *scored)))
    assert "Check before use" not in plain


def test_warnings_past_the_pages_room_continue_on_a_second_page(case, loaded, scored):
    """Past six lines the block printed '... and 24 more: see score --json / the Case page',
    which a tumor board reading the paper cannot see: every warning prints whole, those the
    report's page cannot hold on a continuation page that the first one points to."""
    warned = dataclasses.replace(case, warnings=_reading_warnings(30))
    pages, _, text = pdf_facts(render_report(gather_report(warned, loaded, *scored)))
    flat = _flat(text)
    assert pages == 2 and "more: see score --json" not in flat
    for warning in _reading_warnings(30):
        assert flat.count(f"- {warning}") == 1, warning
    assert "Continued on page 2:" in flat and "Check before use (continued)" in flat
    assert "page 1 of 2" in flat and "page 2 of 2" in flat and flat.count(DISCLAIMER) == 2


def test_a_warning_of_the_cases_reading_comes_before_many_cautions(case, loaded, scored):
    """A clinical file naming another patient puts all else on the page in doubt: it is the
    first item, on page 1, however many cautions follow (it was printed after them, and with
    many cautions it went to the continuation page)."""
    wrong = "clinical.json names the case G3, but its DICOM images are of patient SYN-0001."
    content = gather_report(dataclasses.replace(case, warnings=[wrong]), loaded, *scored)
    many = [f"{k}: {text}" for k, text in enumerate(_reading_warnings(30))]
    pages, _, text = pdf_facts(render_report(dataclasses.replace(content, cautions=many)))
    flat = _flat(text)
    assert pages == 2 and flat.index(f"- {wrong}") < flat.index("Continued on page 2:")
    assert flat.index(f"- {wrong}") < flat.index(f"- {many[0]}")


def test_the_report_names_the_radsurv_that_made_it(case, loaded, scored):
    """A model trained by another version (its card's radsurv_version) is reported by this
    one: the header, footer and the PDF's Creator named the card's version as the maker."""
    from survival_core import __version__

    other = dataclasses.replace(
        loaded, card=dataclasses.replace(loaded.card, radsurv_version="9.0.0")
    )
    data = render_report(gather_report(case, other, *scored))
    flat = _flat(pdf_facts(data)[2])
    assert f"generated by RadSurv {__version__}" in flat and "9.0.0" not in flat
    assert f"RadSurv {__version__}".encode() in data and b"RadSurv 9.0.0" not in data


@pytest.mark.parametrize("keys", [150, 600])
def test_a_warning_longer_than_the_pages_room_moves_on_or_is_split(case, loaded, scored, keys):
    """A clinical.json of many keys no model reads (a REDCap export) makes one warning naming
    them all: longer than page 1's room it still took page 1 (the snapshot band went negative:
    a crash, or at 300 keys a page printed over itself). It continues where it has room, split
    between pages when no page holds it, every key printed once."""
    names = [f"redcap_var_{k:03d}_value" for k in range(keys)]  # no 'fi': a ligature glyph
    warning = f"clinical.json holds {keys} values of no variable of the model: {', '.join(names)}."
    content = gather_report(dataclasses.replace(case, warnings=[warning]), loaded, *scored)
    pages, _, text = pdf_facts(render_report(content))
    flat = _flat(text)
    assert pages >= 2 and "Continued on page 2:" in flat
    assert all(flat.count(name) == 1 for name in names)


#: GBSG2's variables as its trial's case report form names them (long labels), tumour size in mm.
GBSG2_SCHEMA = """\
variables:
- {name: age, kind: number, label: Age at diagnosis of the primary breast tumour, unit: years}
- {name: estrec, kind: number, label: Estrogen receptor concentration (dextran-coated charcoal
    assay), unit: fmol/mg protein}
- {name: horTh, kind: category, label: Adjuvant hormonal therapy with tamoxifen,
    categories: ['no', 'yes']}
- {name: menostat, kind: category, label: Menopausal status at randomisation,
    categories: [Pre, Post]}
- {name: pnodes, kind: integer, label: Number of positive axillary lymph nodes examined}
- {name: progrec, kind: number, label: Progesterone receptor concentration (dextran-coated
    charcoal assay), unit: fmol/mg protein}
- {name: tgrade, kind: category, label: Histological tumour grade (Bloom-Richardson),
    categories: [I, II, III], ordered: true}
- {name: tsize, kind: number, label: Largest tumour diameter on pathology, unit: mm}
"""


@pytest.fixture(scope="module")
def gbsg2_model(tmp_path_factory):
    """A Cox model of GBSG2 (scikit-survival's German breast cancer trial), tumour size in mm."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    folder = tmp_path_factory.mktemp("gbsg2")
    table = X.assign(time=y["time"], event=y["cens"].astype(int))
    table.insert(0, "case_id", [f"GB-{k:04d}" for k in range(len(X))])
    table.to_csv(folder / "clinical.csv", index=False)
    (folder / "schema.yaml").write_text(GBSG2_SCHEMA)
    train_model([folder / "clinical.csv"], "coxph", {}, folder / "coxph")
    return load_scoring_model(folder / "coxph")


def test_every_caution_prints_whole_with_its_advice(case, gbsg2_model):
    """A tumour size of 2.1 (cm) under a model of mm: the score cautioned 'tsize = 2.1 lies
    outside its training range 8 to 80 (1st-99th percentile): check that it is in mm, the
    model's unit.', the PDF printed 'Tumour size 2.1 mm (training 8 to 80)': the advice dropped,
    the value given the model's unit as if right. Every caution of the score is printed whole,
    the risk's too (a risk of 99 beyond every training patient's)."""
    from survival_core.features.case_row import case_features
    from survival_core.workflows.scoring import extrapolation

    values = {"age": 70.0, "estrec": 66.0, "horTh": "no", "menostat": "Post", "pnodes": 3.0}
    given = {**values, "progrec": 48.0, "tgrade": "II", "tsize": 2.1}
    in_cm = dataclasses.replace(case, clinical=given)
    score = score_case(in_cm, gbsg2_model)
    unit = "check that it is in mm, the model's unit."
    assert any(c.startswith("tsize = 2.1 ") and c.endswith(unit) for c in score.cautions)
    X, _ = case_features(in_cm, gbsg2_model)
    beyond = {**score.as_dict(), "risk": 99.0, "cautions": extrapolation(X, 99.0, gbsg2_model)}
    for scored in (score, beyond):
        content = gather_report(in_cm, gbsg2_model, scored)
        cautions = scored.cautions if scored is score else scored["cautions"]
        assert content.cautions == cautions
        flat = _flat(pdf_facts(render_report(content))[2])
        for caution in cautions:
            assert f"- {caution}" in flat, caution
        assert "2.1 mm" not in flat and "This score comes with cautions" in flat


def test_every_caution_and_a_wrong_patient_warning_print_whole_on_the_page(case, gbsg2_model):
    """Reviewer's case G3: a GBSG2 patient of 85 with six values outside the training ranges and
    a clinical.json naming another patient than the images. The block stopped at six lines, the
    wrong-patient warning counted in '... and 2 more', though the page had free room."""
    given = {"age": 85, "estrec": 1000, "horTh": "no", "menostat": "Post", "pnodes": 0}
    given |= {"progrec": 5000, "tgrade": "II", "tsize": 2.1}
    wrong = (
        "clinical.json names the case G3, but its DICOM images are of patient SYN-0001: check "
        "that the clinical values belong to this patient."
    )
    g3 = dataclasses.replace(case, clinical=given, warnings=[wrong])
    score = score_case(g3, gbsg2_model)
    assert len(score.cautions) >= 6
    pages, _, text = pdf_facts(render_report(gather_report(g3, gbsg2_model, score)))
    flat = _flat(text)
    assert pages == 1 and "more: see score --json" not in flat
    for item in [*score.cautions, wrong]:
        assert f"- {item}" in flat, item


def test_a_risk_just_past_the_cut_prints_apart_from_it(case, gbsg2_model):
    """A risk of 0.074571 above a cut of 0.074421 printed 'Risk score 0.07 / High-risk group'
    beside 'risk > 0.07 is high'; a patient at percentile 99.708 'Percentile 100', as if beyond
    every training patient."""
    threshold = float(gbsg2_model.card.cut["threshold"])
    score = score_case(case, gbsg2_model).as_dict()
    just = {**score, "risk": threshold + 1.5e-4, "risk_group": "high", "percentile": 99.708}
    content = gather_report(case, gbsg2_model, just)
    text = _flat(pdf_facts(render_report(content))[2])
    risk_shown = float(re.search(r"Risk score (-?[\d.]+)", text).group(1))
    cut_shown = float(re.search(r"risk > (-?[\d.]+) is high", text).group(1))
    assert risk_shown > cut_shown and "High-risk group" in text
    assert "Percentile > 99 of the training cohort" in text and "Percentile 100" not in text


def test_a_value_shown_to_clinicians_is_in_plain_digits(case, gbsg2_model):
    """An estrogen receptor of 12340 fmol/mg labelled its bar 'Estrogen receptor ... 1.234e+04
    fmol/mg protein' and its caution 'estrec = 1.234e+04', read as 1.234."""
    given = {"age": 60.0, "estrec": 12340.0, "horTh": "no", "menostat": "Post", "pnodes": 3}
    given |= {"progrec": 48.0, "tgrade": "II", "tsize": 25.0}
    export = dataclasses.replace(case, clinical=given)
    score = score_case(export, gbsg2_model)
    content = gather_report(export, gbsg2_model, score, explain_case(export, gbsg2_model, top=10))
    assert any(label.endswith(" 12340 fmol/mg protein") for label, _ in content.features)
    assert any(c.startswith("estrec = 12340 lies outside") for c in content.cautions)
    shown = [*content.cautions, *dict(content.features), content.feature_note]
    assert not re.search(r"\de[+-]\d", " ".join(shown))
    # a Cox model's risk at the training means is 0 up to floating noise ('(risk 1.6e-17)')
    assert "from the training mean (risk 0)" in content.feature_note


def test_the_kaplan_meier_legend_covers_no_curve(case, loaded, scored):
    """The legend sat inside the chart's lower left, over the curves and the patient's marks
    (a high-risk group falling to 20 %): it lies under the chart, clear of its axes."""
    from matplotlib.legend import Legend

    fig = report_figures(gather_report(case, loaded, *scored))[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    km = next(ax for ax in fig.axes if ax.get_label() == "km")
    (legend,) = [
        found
        for found in fig.findobj(Legend)
        if "this patient, predicted" in [t.get_text() for t in found.get_texts()]
    ]
    assert km.get_legend() is None
    assert legend.get_window_extent(renderer).y1 < km.get_tightbbox(renderer).y0 + 1
    assert fig.bbox.contains(*legend.get_window_extent(renderer).p0)


def test_a_caution_worded_otherwise_is_shown_whole(case, loaded, scored):
    """A caution that is not about the training ranges (a misspelt variable, a site or MR
    weighting the model never learned from) was listed under 'Outside the training cohort, the
    model extrapolates', even for a training patient's own case: it is shown whole, on its own."""
    caution = "Not variables of model m, ignored: albumn (its variables: albumin)."
    score = {**scored[0].as_dict(), "cautions": [caution]}
    content = gather_report(case, loaded, score)
    assert content.cautions == [caution]
    flat = _flat(pdf_facts(render_report(content))[2])
    assert f"- {caution}" in flat
    assert "extrapolates" not in flat and "Outside the training cohort" not in flat


def _drawn_texts(fig, monkeypatch) -> list[tuple[str, object]]:
    """(text, box on the canvas) of every non-blank text the figure draws (a tick label outside
    its axis's view exists but is not drawn)."""
    drawn, draw = [], Text.draw

    def recording(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return draw(self, renderer)

    monkeypatch.setattr(Text, "draw", recording)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    monkeypatch.undo()
    return [(t.get_text(), t.get_window_extent(renderer)) for t in drawn]


def _laid_out(fig, monkeypatch) -> list[tuple[str, Any]]:
    """The figure's drawn texts, checked: each on the page, no two overlapping."""
    texts = _drawn_texts(fig, monkeypatch)
    page = fig.bbox.padded(0.5)
    for k, (text, box) in enumerate(texts):
        assert page.contains(box.x0, box.y0) and page.contains(box.x1, box.y1), text[:40]
        for other, other_box in texts[k + 1 :]:
            assert not box.overlaps(other_box), (text[:40], other[:40])
    return texts


@pytest.mark.parametrize("case_id", ["X" * 300, "Müller-Łukasz", "A\nB"])
def test_a_long_case_id_fits_the_header_and_footer(case, loaded, scored, case_id, monkeypatch):
    """A 300-character id ran off the page; even 'Müller-Łukasz' ran into the subtitle."""
    named = dataclasses.replace(case, case_id=case_id, warnings=_reading_warnings(3))
    score = {**scored[0].as_dict(), "case_id": case_id, "cautions": ["a = 9 lies outside its"]}
    long_name = dataclasses.replace(loaded, folder=loaded.folder.parent / ("m" * 200))
    content = gather_report(named, long_name, score, scored[1])
    _laid_out(report_figures(content)[0], monkeypatch)
    _, _, pdf = pdf_facts(render_report(content))
    if len(case_id) > 100:  # shortened in the header and footer, whole on a line of its own
        assert f"Case {case_id}" not in pdf and case_id in pdf.replace("\n", "")


def test_no_text_runs_into_another_or_off_the_page(case, gbsg2_model, monkeypatch):
    """Fixed heights and an estimated line height: three lines of imputed inputs ran into the
    survival table and 'Outside the training cohort', the model card's long labels into the
    disclaimer and off the page, the feature chart's labels into each other. With long labels,
    most inputs imputed, many cautions and warnings and a long case id, no two drawn texts
    overlap and every one lies on the page; lists too long are counted, not dropped."""
    given = {"age": 70.0, "tsize": 2.1}  # in cm under a model of mm; the others imputed
    case_id = "Nguyen-Thi-Minh-Khai-Mueller-Luedenscheidt-2026-0001-very-long-research-id"
    long = dataclasses.replace(case, case_id=case_id, clinical=given, warnings=_reading_warnings(4))
    score = score_case(long, gbsg2_model)
    cautions = [*score.cautions, *(f"MR weighting {k} was never learned from." for k in range(3))]
    score = {**score.as_dict(), "cautions": cautions}
    content = gather_report(long, gbsg2_model, score, explain_case(long, gbsg2_model, top=10))
    assert "Number of positive axillary lymph nodes examined" in content.imputed
    assert len(content.imputed) == 6 and len(content.features) == 8
    texts = _laid_out(report_figures(content)[0], monkeypatch)
    shown = {text for text, _ in texts}
    assert "HR high vs low" in shown and DISCLAIMER in shown
    flat = _flat("\n".join(text for text, _ in texts))
    assert re.search(r"Imputed \(missing, training-cohort value\): .* and \d+ more", flat)
    # a label too long for its bar's lines is cut in its middle: its value and unit kept
    assert any(t.startswith("Largest tumour") and t.endswith(" 2.1 mm") for t in shown)


def test_letters_the_font_lacks_print_as_code_points_and_say_so(case, loaded, scored):
    """A Chinese case id printed as empty boxes ('Case ☐☐ · CT · Liver'), said only on the
    server's console; Greek and Arabic, which the font holds, print as written."""
    import warnings

    named = dataclasses.replace(case, case_id="陈伟-Ωμέγα")
    score = {**scored[0].as_dict(), "case_id": named.case_id}
    content = gather_report(named, loaded, score, scored[1])
    assert content.case_id == "U+9648U+4F1F-Ωμέγα"
    assert any("code points (U+4F1F U+9648)" in w for w in content.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's 'Glyph 38472 missing from font(s)'
        pdf = render_report(content)
    assert content.case_id_as_given == "陈伟-Ωμέγα"  # the PDF's title keeps the id as given
    assert "陈伟".encode("utf-16-be") in pdf  # its Title, UTF-16 as PDF metadata is


def test_the_series_read_is_named_on_the_page_and_in_the_score(shared_data, loaded):
    """A study of several phases or reconstructions: which series was analysed went nowhere
    (de-identification removes the descriptions), so the tumor board could not tell the portal
    phase from the arterial one. Its number and slice thickness, from the real sarcoma CT's
    headers, name it in the case, the score and the PDF's snapshot note."""
    import pydicom

    from survival_core.cli.score import case_result

    folder = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    header = pydicom.dcmread(next((folder / "image").iterdir()), stop_before_pixels=True)
    expected = f"series {header.SeriesNumber}, {float(header.SliceThickness):.3g} mm slices"
    case = load_case(folder)
    assert case.series == expected
    case.clinical = {"ecog": 1, "albumin": 40.0, "bilirubin": 12.0}
    result = case_result(case, loaded)
    assert result["series"] == expected
    content = gather_report(case, loaded, result)
    assert f"of CT {expected} at" in content.slice_note


def test_the_risk_says_what_it_is_and_when_the_curves_can_cross(
    case, report_pdf, small_cohort, tmp_path
):
    """A forest's risk is its summed cumulative hazard, not a log-hazard; its curves cross, so
    the report says its group need not order the survival table (it said 'relative scale' for
    every model, and nothing of crossing)."""
    assert "log relative hazard, higher = worse" in pdf_facts(report_pdf)[2]
    assert CURVES_CROSS_NOTE not in pdf_facts(report_pdf)[2]
    train_model(
        [small_cohort / "clinical.csv"],
        "rsf",
        {"n_estimators": 20, "min_samples_leaf": 1, "min_samples_split": 2},
        tmp_path / "rsf",
        features="^(albumin|bilirubin|ecog)$",
    )
    forest = load_scoring_model(tmp_path / "rsf")
    score = score_case(case, forest)
    assert score.as_dict()["risk_scale"] == "summed cumulative hazard (forest)"
    assert score.as_dict()["curves_may_cross"] is True
    text = pdf_facts(build_report(case, forest, score, explain_case(case, forest, top=5)))[2]
    assert "summed cumulative hazard (forest), higher = worse" in text
    assert CURVES_CROSS_NOTE in text


def test_yes_no_values_read_yes_and_no_as_on_the_case_page(small_cohort, case, tmp_path):
    """The report printed 'Cirrhosis True' and 'Hepatitis B (HBsAg positive) False' where the
    Case page shows yes and no."""
    out = tmp_path / "yes-no"
    train_model([small_cohort / "clinical.csv"], "coxph", {"penalizer": 1.0}, out,
                features="^(albumin|cirrhosis|hbv)$")  # fmt: skip
    loaded = load_scoring_model(out)
    content = gather_report(case, loaded, score_case(case, loaded), explain_case(case, loaded))
    labels = [label for label, _ in content.features]
    said = {True: "yes", False: "no"}
    assert f"Cirrhosis {said[case.clinical['cirrhosis']]}" in labels
    assert f"Hepatitis B (HBsAg positive) {said[case.clinical['hbv']]}" in labels


@pytest.mark.parametrize(
    ("endpoint", "heading", "axis", "events", "outcome"),
    [
        ("os", "Predicted overall survival (model)", "overall survival", "deaths", "overall "
         "survival ('os_days'/'os_status'; events: deaths)"),
        ("rfs", "Predicted recurrence/progression-free survival (model)",
         "recurrence/progression-free survival", "recurrences or progressions",
         "survival free of recurrence or progression ('rfs_days'/'recurrence'; events: "
         "recurrences or progressions)"),
        ("coded", "Predicted recurrence/progression/death-free survival (model)",
         "recurrence/progression/death-free survival", "recurrences or progressions, or deaths",
         "survival free of recurrence, progression or death ('rfs_days'/'status (0=censored, "
         "1=recurrence, 2=dead)'; events: recurrences or progressions, or deaths)"),
        ("efs", "Predicted event-free survival (model)", "event-free survival",
         "events (recurrence, progression or death, as 'efs_status (0=event-free, 1=event or "
         "death)' records them)", "event-free survival ('efs_days'/'efs_status (0=event-free, "
         "1=event or death)'; events: recurrence, progression or death, as 'efs_status "
         "(0=event-free, 1=event or death)' records them)"),
        ("unnamed", "Predicted survival of this patient (model)", "survival", "events",
         "'time'/'cens', endpoint not named by its headers"),
    ],
)  # fmt: skip
def test_the_report_names_the_endpoint_its_model_was_fitted_on(
    case, gbsg2_model, tmp_path, endpoint, heading, axis, events, outcome
):
    """Reviewer's GBSG2 sheet with a recurrence-free and a (made-up) overall survival pair: the
    RFS model's PDF read 'Predicted survival of this patient', axis 'survival', 'n = 686
    patients, 299 events', as an OS model's does; a tumour board read its 24-month 76 % as
    overall survival. The survival heading and axis, the events and an Outcome row name the
    endpoint the cohort's import recorded; a model without a record reads as before."""
    from tests.clinical_exports import imported_gbsg2_model

    values = {"age": 70.0, "estrec": 66.0, "horTh": "no", "menostat": "Post", "pnodes": 3.0}
    patient = dataclasses.replace(case, clinical={**values, "progrec": 48.0, "tgrade": "II"})
    for loaded, said in (
        (load_scoring_model(imported_gbsg2_model(tmp_path, endpoint)), (heading, axis, events)),
        (gbsg2_model, ("Predicted survival of this patient (model)", "survival", "events")),
    ):
        content = gather_report(patient, loaded, score_case(patient, loaded))
        flat = _flat(pdf_facts(render_report(content))[2])
        n, n_events = loaded.card.n, loaded.card.n_events
        assert said[0] in flat and f"n = {n} patients, {n_events} {said[2]} (" in flat
        km = next(ax for ax in report_figures(content)[0].axes if ax.get_label() == "km")
        assert km.get_ylabel().replace("\n", "") == said[1]
        assert (f"Outcome {outcome}" in flat) is (loaded is not gbsg2_model)
    assert "Outcome" not in flat  # the model of a table no import recorded


@pytest.mark.parametrize(
    ("endpoint", "events"),
    [
        ("dead_cells", "recurrences or progressions, or deaths"),
        ("or_death", "recurrences or progressions, or deaths"),
        ("pfs", "events (recurrence, progression or death, as 'PFS_event' records them)"),
        ("rfs", "recurrences or progressions"),
    ],
)
def test_a_recurrence_free_models_events_say_the_deaths_its_import_counted(
    case, tmp_path, endpoint, events
):
    """Reviewer's GBSG2 sheet, 38 patients without recurrence made dead: an RFS event written
    Recurrence/Dead/Alive, or 0/1 under 'rfs_event (0=censored, 1=recurrence or death)', counted
    the 299 recurrences and the 38 deaths, and the PDF said 'n = 686 patients, 337 recurrences
    or progressions'. The import records whether a death counted; a 'PFS_event' of 0/1 does not
    say, and the words say so; a 'recurrence' column counts recurrences alone."""
    from tests.clinical_exports import GBSG2_DEATHS, imported_gbsg2_model

    loaded = load_scoring_model(imported_gbsg2_model(tmp_path, endpoint))
    patient = dataclasses.replace(case, clinical={"age": 70.0, "horTh": "no", "pnodes": 3.0})
    flat = _flat(
        pdf_facts(render_report(gather_report(patient, loaded, score_case(patient, loaded))))[2]
    )
    n_events = 299 + (0 if endpoint == "rfs" else GBSG2_DEATHS)
    assert loaded.card.n_events == n_events
    assert f"n = 686 patients, {n_events} {events} (" in flat


def test_the_case_section_states_the_contours_volumes_as_the_case_page_does(
    sarcoma_ct, loaded, report_pdf, case
):
    """The Case page showed the real sarcoma CT's GTV volume (365.3 mL) and the demo case's liver
    volume; the tumor board's PDF gave a risk and a snapshot but no volume at all."""
    sarcoma = dataclasses.replace(
        sarcoma_ct, clinical={"ecog": 1, "albumin": 40.0, "bilirubin": 12.0}
    )
    assert sarcoma.summary()["gtv_volume_ml"] == 365.3
    _, _, text = pdf_facts(build_report(sarcoma, loaded, score_case(sarcoma, loaded)))
    assert "\nVolumes from the contours: GTV 365.3 mL (1 lesion).\n" in text
    demo = case.summary()
    expected = (
        f"Volumes from the contours: GTV {demo['gtv_volume_ml']:.1f} mL ({demo['lesions']} "
        f"lesion{'s' * (demo['lesions'] > 1)}), Liver (organ) {demo['organ_volume_ml']:.1f} mL."
    )
    assert expected in pdf_facts(report_pdf)[2]


def test_a_registered_models_label_names_its_run(case, loaded, scored, tmp_path):
    """A version deleted and another registered under its name and number were both 'Model:
    coxph (rt-b/v1)' in the PDF's header; the run that fitted each tells them apart."""
    copy = tmp_path / "runs" / "registry" / "rt-b" / "v1-0a1b2c3d"
    for run_id in ("9627f8cd99f54378ab4e73b60909194b", "9fe96aa9d33e4da697a8334ce03a0061"):
        card = dataclasses.replace(loaded.card, cv={"provenance": {"run_id": run_id}})
        registered = dataclasses.replace(loaded, folder=copy, card=card)
        _, _, text = pdf_facts(build_report(case, registered, *scored))
        assert f"Model: coxph (rt-b/v1, run {run_id[:8]})" in text
