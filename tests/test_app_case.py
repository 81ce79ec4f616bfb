"""The Case page renders without exceptions and shows a demo case with contours and clinical values."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = ROOT / "app.py"


def test_case_page_shows_a_demo_case(demo_in_place):
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception
    case_select = next(s for s in app.selectbox if s.label == "Demo case")
    first = case_select.options[0].split(" ")[0]
    assert first.startswith("SYN-")
    assert app.subheader[0].value.startswith(f"{first} ·")
    assert any(m.label == "gtv volume (mL)" and float(m.value) > 0 for m in app.metric)
    # pick another case: the page follows
    second = case_select.options[1].split(" ")[0]
    case_select.set_value(second).run()
    assert not app.exception
    assert app.subheader[0].value.startswith(f"{second} ·")
    # the clinical table lists every schema variable, as an HTML table a screen reader reads
    # (a canvas grid was three unnamed tab stops), labelled
    table = app.table[0].value
    assert "Albumin" in set(table["variable"]) and "g/L" in set(table["unit"])
    assert app.table[0].proto.alt == "The case's clinical values: each variable, its value and unit"
    assert not [d for d in app.dataframe if "variable" in d.value.columns]


def test_case_page_without_demo_offers_to_prepare(monkeypatch, tmp_path):
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception
    assert any("Prepare the demo cohort" in b.label for b in app.button)


def test_case_page_shows_the_same_risk_as_the_score_command(demo_in_place):
    from survival_core.io.case_loader import load_case
    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.scoring import score_case
    from survival_core.workflows.training import train_model

    model_dir = default_model_dir()
    train_model(
        [demo_in_place / "clinical.csv"],
        "coxph",
        {"penalizer": 1.0},
        model_dir,
        features="^(albumin|bilirubin|ecog)$",
    )
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not app.exception
    case_id = app.subheader[0].value.split(" ·")[0]
    shown = next(m.value for m in app.metric if m.label == "Risk score")
    expected = score_case(
        load_case(demo_in_place / "cases" / case_id), load_scoring_model(model_dir)
    )
    assert shown == f"{expected.risk:.2f}"
    assert next(m.value for m in app.metric if m.label == "Risk group") == expected.risk_group


def test_case_page_extracts_radiomics_on_demand(demo_in_place):
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    app.selectbox(key="radiomics-preset").set_value("wei2021")
    app.button(key="radiomics-run").click().run()
    assert not app.exception
    table = next(d.value for d in app.dataframe if "feature" in d.value.columns)
    assert len(table) == 56
    assert set(table["roi"]) == {"gtv", "liver_minus_gtv"}
    assert table["value"].notna().all()


def test_partial_pet_uptake_and_an_uploads_file_in_a_warning(demo_in_place, monkeypatch):
    """A GTV partly outside the PET adds its share outside to the uptake figures: the page looked
    a label up for it (KeyError). A warning naming a file of an upload named the server's data
    folder."""
    from survival_core.paths import data_dir

    figures = {"suv_max": 6.25, "suv_mean": 5.35, "mtv_ml": 327.8, "gtv_share_outside_fov": 0.103}
    stored = f"{data_dir().resolve()}/cases/upload-0a1b2c/x.zip:RS.dcm names another patient"

    def uptake(case):
        if stored not in case.warnings:
            case.warnings.append(stored)
        return figures

    monkeypatch.setattr("survival_core.features.pet_uptake.gtv_uptake", uptake)
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception
    shown = {m.label: m.value for m in app.metric}
    assert shown["SUVmax"] == "6.25" and shown["MTV (mL)"] == "327.8"
    assert "x.zip:RS.dcm names another patient" in [w.value for w in app.warning]


def test_corrections_of_a_case_stay_when_another_is_opened_and_can_be_discarded(demo_in_place):
    """Albumin 31 corrected to 48 for case A, case B opened, then A again: the correction was
    dropped without a word (albumin 31 scored again). It is kept for A alone, said on the page,
    and a button discards it."""

    def shown(app: AppTest) -> dict:
        table = app.table[0].value
        return dict(zip(table["variable"], table["value"], strict=True))

    app = AppTest.from_file(str(APP), default_timeout=60).run()
    case_select = next(s for s in app.selectbox if s.label == "Demo case")
    first, second = (option.split(" ")[0] for option in case_select.options[:2])
    case_select.set_value(first).run()
    as_read = shown(app)["Albumin"]
    next(n for n in app.text_input if n.key.endswith("-albumin")).input("48")
    next(b for b in app.button if b.label == "Validate and save").click().run()
    assert shown(app)["Albumin"] == "48.0"
    for case_id, albumin in ((second, None), (first, "48.0")):
        next(s for s in app.selectbox if s.label == "Demo case").set_value(case_id).run()
        assert not app.exception
        assert albumin is None or shown(app)["Albumin"] == albumin
        said = [i.value for i in app.info if "corrections saved in this session" in i.value]
        assert (said and "albumin" in said[0]) if albumin else not said
    next(b for b in app.button if b.label == "Discard corrections").click().run()
    assert shown(app)["Albumin"] == as_read and not any("corrections" in i.value for i in app.info)


def test_a_decimal_comma_typed_in_the_form_is_read_as_score_values_reads_it(
    demo_in_place, tmp_path, capsys
):
    """Browser review: '42,8' typed for bilirubin was saved and scored as 428 (risk 2.56 -> 6.95)
    and '12,5' for AFP as 125: the number input's browser dropped the comma before the server saw
    it. The fields are text read as `score --values` reads a typed value: 42.8 and 12.5, said
    under each; an AFP of '1,200' (1.2 or 1200, both plausible) is refused there, not saved."""
    import json

    from survival_core.cli.main import main
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.training import train_model

    model_dir = default_model_dir()
    train_model([demo_in_place / "clinical.csv"], "coxph", {"penalizer": 1.0}, model_dir,
                features="^(albumin|bilirubin|ecog|afp)$")  # fmt: skip
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    case_id = app.subheader[0].value.split(" ·")[0]

    def field(name: str):
        return next(t for t in app.text_input if t.key.endswith(f"-{name}"))

    def saved() -> dict:
        field("bilirubin").input("42,8")
        next(b for b in app.button if b.label == "Validate and save").click().run()
        assert not app.exception
        table = app.table[0].value
        return dict(zip(table["variable"], table["value"], strict=True))

    field("afp").input("1,200")
    before = saved()
    assert before["Total bilirubin"] != "42.8"  # nothing saved
    errors = [e.value for e in app.error]
    assert errors == [
        "Alpha-fetoprotein (afp): '1,200' is ambiguous: 1200 with a thousands separator, or a "
        "decimal comma? Write 1.2 or 1200: the number without a thousands separator and with a "
        "decimal point.",
        "Not saved: correct Alpha-fetoprotein [ng/mL], as said under its field.",
    ]
    field("afp").input("12,5")
    after = saved()
    assert not app.error
    assert (after["Total bilirubin"], after["Alpha-fetoprotein"]) == ("42.8", "12.5")
    captions = {c.value for c in app.caption}
    assert {"Read as 42.8 umol/L", "Read as 12.5 ng/mL"} <= captions
    given = json.loads((demo_in_place / "cases" / case_id / "clinical.json").read_text())
    typed = {k: v for k, v in given.items() if not k.startswith("albi_")}  # worked out again
    values = tmp_path / "typed.json"
    values.write_text(json.dumps({**typed, "bilirubin": "42,8", "afp": "12,5"}))
    capsys.readouterr()
    assert main(["score", "--model", str(model_dir), "--values", str(values), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert next(m.value for m in app.metric if m.label == "Risk score") == f"{expected['risk']:.2f}"
