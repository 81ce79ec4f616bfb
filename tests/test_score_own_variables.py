"""`score`, `explain` and `report` read a case's clinical.json with the model's own variables: a
model of an own cohort (GBSG2 imported as a physicist's table) scores the values given, checked
by its cohort's schema, never the demo's HCC ranges; a model fitted on a table of its own reads
its columns as trained. Before, they were dropped and imputed, and the risk came out wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from sksurv import datasets

from survival_core.cli.main import main
from survival_core.models.scoring import load_scoring_model
from survival_core.workflows.training import train_model

ROW = {"age": 16, "estrec": 66, "horTh": "no", "menostat": "Pre", "pnodes": 3,
       "progrec": 48, "tgrade": "II", "tsize": 21}  # fmt: skip


def _case(folder: Path, clinical: dict) -> Path:
    """A small CT-like case (image and GTV) with ``clinical`` as its clinical.json."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    image = sitk.GetImageFromArray(rng.normal(40, 60, (12, 32, 32)).astype(np.int16))
    mask = np.zeros((12, 32, 32), np.uint8)
    mask[4:8, 10:20, 10:20] = 1
    gtv = sitk.GetImageFromArray(mask)
    gtv.CopyInformation(image)
    sitk.WriteImage(image, str(folder / "image.nii.gz"))
    sitk.WriteImage(gtv, str(folder / "gtv.nii.gz"))
    (folder / "clinical.json").write_text(json.dumps(clinical))
    return folder


def _gbsg2(tmp_path: Path) -> pd.DataFrame:
    X, y = datasets.load_gbsg2()
    table = X.copy()
    table.insert(0, "case_id", [f"G{i:04d}" for i in range(len(table))])
    table["time"], table["event"] = y["time"], y["cens"].astype(int)
    return table


def _scored(capsys, *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _gbsg2_cohort_model(tmp_path: Path, capsys) -> Path:
    """GBSG2 imported as a spreadsheet alone and a Cox PH fitted on it: the model's folder."""
    _gbsg2(tmp_path).to_csv(tmp_path / "gbsg2.csv", index=False)
    cohort, model = tmp_path / "cohort", tmp_path / "model"
    assert main(["cohort", "import", "--clinical", str(tmp_path / "gbsg2.csv"),
                 "--time-unit", "days", "--out", str(cohort)]) == 0  # fmt: skip
    assert main(["fit", "--cohort", str(cohort), "--model", "coxph", "--out", str(model)]) == 0
    capsys.readouterr()
    return model


def test_an_own_cohorts_model_scores_the_values_given(tmp_path: Path, capsys) -> None:
    model = _gbsg2_cohort_model(tmp_path, capsys)
    case = _case(tmp_path / "case", {"case_id": "NEW", **ROW})  # age 16: the HCC range is 18+
    scored = _scored(capsys, "score", "--case", str(case), "--model", str(model))
    assert scored["imputed"] == []
    loaded = load_scoring_model(model)
    row = pd.DataFrame([{k.lower(): v for k, v in ROW.items()}])
    row["horth"] = row["horth"].map({"no": False})
    expected = float(loaded.model.predict_risk(row[loaded.inputs])[0])
    assert scored["risk"] == pytest.approx(expected, rel=1e-9)
    explained = _scored(capsys, "explain", "--case", str(case), "--model", str(model))
    assert {f["name"].split("=")[0] for f in explained["top_features"]} <= set(loaded.inputs)
    bad = _case(tmp_path / "bad", {**ROW, "tgrade": "IV"})  # checked by the cohort's schema
    assert main(["score", "--case", str(bad), "--model", str(model)]) != 0
    assert "tgrade" in capsys.readouterr().err


def test_a_case_scored_mostly_on_imputed_values_or_of_an_unrecorded_site_is_cautioned(
    tmp_path: Path, capsys
) -> None:
    """A Cox model of GBSG2 (breast cancer) imported as a spreadsheet alone scored a liver case
    from its age alone, its 7 other inputs imputed: risk, percentile and group with no caution,
    the card's sites empty so the site went unchecked. Half of them imputed is not cautioned."""
    model = _gbsg2_cohort_model(tmp_path, capsys)

    def cautions(name: str, values: dict, *site: str) -> list[str]:
        case = _case(tmp_path / name, {"case_id": name, **values})
        argv = ["score", "--case", str(case), "--model", str(model), *site]
        return _scored(capsys, *argv)["cautions"]

    name = load_scoring_model(model).name
    liver = cautions("LIVER", {"age": 45}, "--site", "liver")
    assert liver == [
        f"Model {name} does not record the cancer site of the patients it learned from (it was "
        "trained on tables without a cohort's images), so this liver case cannot be checked "
        "against them: if they had another cancer, the model extrapolates beyond its training "
        "cases.",
        f"7 of the 8 inputs model {name}'s score depends on were missing for case LIVER and "
        "imputed (estrec, horth, menostat, pnodes, progrec, tgrade ...): the score rests mostly "
        "on the training cohort's typical values, not on this patient's. Give the missing values "
        "(the Case page's form, or clinical.json), and check that the model suits this patient.",
    ]
    half = {k: v for k, v in ROW.items() if k in ("age", "estrec", "pnodes", "tsize")}
    assert cautions("HALF", {**half, "age": 45}) == []


def test_a_model_fitted_on_its_own_table_reads_its_columns(tmp_path: Path, capsys) -> None:
    table = _gbsg2(tmp_path)
    table.to_csv(tmp_path / "gbsg2.csv", index=False)
    model = tmp_path / "model"
    train_model([tmp_path / "gbsg2.csv"], "coxph", {"penalizer": 0.1}, model, cv_repeats=0)
    row = {**ROW, "age": 45}  # the demo's age checks (18-100) apply: GBSG2's ages fit them
    case = _case(tmp_path / "case", row)
    scored = _scored(capsys, "score", "--case", str(case), "--model", str(model))
    assert scored["imputed"] == [] and "endpoint" not in scored  # no cohort recorded one
    loaded = load_scoring_model(model)
    expected = float(loaded.model.predict_risk(pd.DataFrame([row])[loaded.inputs])[0])
    assert scored["risk"] == pytest.approx(expected, rel=1e-9)


def test_the_percentile_says_among_whom_it_is(tmp_path: Path, capsys) -> None:
    """`score` printed 'percentile: 77.38359201773837': a share of whom, unsaid (the Risk page
    said it in its hover help alone). As text it is now rounded as the page rounds it and said
    to be among the training patients; the JSON keeps its key and says among whom beside it."""
    from survival_core.text import percentile_text

    _gbsg2(tmp_path).to_csv(tmp_path / "gbsg2.csv", index=False)
    model = tmp_path / "model"
    train_model([tmp_path / "gbsg2.csv"], "coxph", {"penalizer": 0.0}, model, cv_repeats=0)
    values = tmp_path / "patient.json"
    values.write_text(json.dumps({"case_id": "P1", **ROW, "age": 45}))
    scored = _scored(capsys, "score", "--values", str(values), "--model", str(model))
    percentile = load_scoring_model(model).card.percentile(scored["risk"])
    assert scored["percentile"] == percentile and 1 < percentile < 99
    assert scored["percentile_among"] == "the 686 training patients"
    assert scored["training_patients"] == 686  # for programs: the count as a number
    assert main(["score", "--values", str(values), "--model", str(model)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("percentile")] == [
        f"percentile among the 686 training patients: {percentile_text(percentile)} %"
    ]


def test_a_model_of_radiomics_and_a_clinical_table_without_schema_reads_its_columns(
    tmp_path: Path, capsys
) -> None:
    """GBSG2's own variables beside its outcomes, with radiomics and no schema.yaml beside the
    table: only the demo's variable names (age) were clinical, and every case was refused as
    unable to provide 'tgrade' (its clinical.json held it)."""
    from survival_core.features.presets import han2020
    from survival_core.features.table import write_feature_table

    table = _gbsg2(tmp_path)
    table.to_csv(tmp_path / "gbsg2.csv", index=False)
    rng = np.random.default_rng(1)
    mean = "gtv__1mm_original__firstorder__Mean"
    features = pd.DataFrame({mean: rng.normal(40, 10, len(table))}, index=table["case_id"])
    write_feature_table(features.rename_axis("case_id"), tmp_path / "gtv.parquet", han2020(), "CT")
    model = tmp_path / "model"
    tables = [tmp_path / "gbsg2.csv", tmp_path / "gtv.parquet"]
    train_model(tables, "coxph", {"penalizer": 0.1}, model, cv_repeats=0)
    loaded = load_scoring_model(model)
    assert {"tgrade", "pnodes", "age"} <= set(loaded.card.clinical_columns)
    assert mean in loaded.inputs and mean not in loaded.card.clinical_columns
    case = _case(tmp_path / "case", {**ROW, "age": 45})
    scored = _scored(capsys, "score", "--case", str(case), "--model", str(model))
    assert scored["imputed"] == [] and np.isfinite(scored["risk"])


def test_a_case_folder_of_an_imported_cohort_reads_its_row_and_site(tmp_path: Path) -> None:
    """`score --case COHORT/cases/<id>`: the import writes no clinical.json per case, so every
    value was imputed and the site unknown (a lung case cautioned, drawn in a soft-tissue
    window); the cohort's clinical.csv row and manifest site are the case's."""
    from survival_core.io.case_loader import load_case
    from survival_core.io.manifest import cohort_cases

    download = tmp_path / "download"
    rows = []
    for i, (age, sex, stage) in enumerate([(67, "M", "III"), (54, "F", "I")]):
        folder = _case(download / f"MRN-{i}", {})
        (folder / "clinical.json").unlink()
        image = sitk.ReadImage(str(folder / "image.nii.gz")) + 50 * i  # two patients' scans
        sitk.WriteImage(image, str(folder / "image.nii.gz"))
        rows.append(f"MRN-{i},{300 + 100 * i},1,{age},{sex},{stage}")
    (tmp_path / "clinical.csv").write_text(
        "patient_id,time,event,age,sex,stage\n" + "\n".join(rows)
    )
    cohort = tmp_path / "cohort"
    assert main(["cohort", "import", "--images", str(download), "--clinical",
                 str(tmp_path / "clinical.csv"), "--time-unit", "days", "--site", "lung",
                 "--out", str(cohort)]) == 0  # fmt: skip
    joined = pd.read_csv(cohort / "clinical.csv").set_index("case_id")
    cases = cohort_cases(cohort)
    assert len(cases) == 2 and sorted(joined["age"]) == [54, 67]
    for case_id, folder in cases:
        assert not (folder / "clinical.json").exists()
        case = load_case(folder)
        assert case.site == "lung" and case.case_id == case_id
        expected = joined.loc[case_id, ["age", "sex", "stage"]].to_dict()
        assert {k: case.clinical[k] for k in ("age", "sex", "stage")} == expected
    assert load_case(folder, site="liver").site == "liver"  # what the user says stays
    # a value edited out of the schema fails no case (its radiomics need none): it is said
    joined.loc[case_id, "stage"] = "IV"
    joined.reset_index().to_csv(cohort / "clinical.csv", index=False)
    case = load_case(folder)
    assert case.clinical == {} and any(
        "clinical values of this case were not read: stage" in w for w in case.warnings
    )


def test_radiomics_named_by_other_tools_are_image_features() -> None:
    """pyradiomics' names after the ROI's, as other tools write them, are never clinical values
    (a model needing them says the case cannot provide them, never imputes them)."""
    from survival_core.columns import is_image_feature

    for name in ("GTV_original_firstorder_Mean", "gtv_primary_wavelet-LLH_glszm_ZoneEntropy"):
        assert is_image_feature(name)
    for name in ("age", "treatment_duration", "smoking_status", "x_original_y"):
        assert not is_image_feature(name)


def test_survival_past_the_training_follow_up_is_not_reported(tmp_path: Path, capsys) -> None:
    """Real AIDS trial rows end at 364 days: 2- and 3-year survival are null, not the 1-year
    value carried flat."""
    X, y = datasets.load_aids()
    event, time = y.dtype.names
    table = X.assign(time=y[time], event=y[event].astype(int))
    table.insert(0, "case_id", [f"A{i:04d}" for i in range(len(table))])
    table.to_csv(tmp_path / "aids.csv", index=False)
    train_model([tmp_path / "aids.csv"], "coxph", {"penalizer": 0.1}, tmp_path / "m", cv_repeats=0)
    row = X.iloc[0].to_dict()
    case = _case(
        tmp_path / "case", {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    )
    scored = _scored(capsys, "score", "--case", str(case), "--model", str(tmp_path / "m"))
    assert scored["survival"]["12"] is None or 0 < scored["survival"]["12"] < 1
    assert scored["survival"]["24"] is None and scored["survival"]["36"] is None
    # as text the horizons say their unit (the JSON's keys are months; the times days)
    assert main(["score", "--case", str(case), "--model", str(tmp_path / "m")]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("survival:")]
    assert re.fullmatch(
        r"survival: 12 months (\d+ %|beyond the follow-up), 24 months beyond the follow-up, "
        r"36 months beyond the follow-up",
        line,
    )


@pytest.mark.parametrize("columns", [None, ["age"]], ids=["whas500", "age-only"])
def test_a_training_patient_is_never_out_of_the_demo_range(
    tmp_path: Path, capsys, columns: list[str] | None
) -> None:
    """Real WHAS500 rows hold ages up to 104: a model fitted on them scores its own 102-year-old
    patient (the demo's 18-100 check refused it), whether the table has other columns or only
    ones named as the demo's."""
    X, y = datasets.load_whas500()
    table = X if columns is None else X[columns]
    table = table.assign(time=y["lenfol"], event=y["fstat"].astype(int))
    table.insert(0, "case_id", [f"W{i:03d}" for i in range(len(table))])
    table.to_csv(tmp_path / "whas.csv", index=False)
    train_model([tmp_path / "whas.csv"], "coxph", {"penalizer": 0.1}, tmp_path / "m", cv_repeats=0)
    oldest = table.loc[table["age"] == 102].drop(columns=["case_id", "time", "event"]).iloc[0]
    values = tmp_path / "oldest.json"
    values.write_text(json.dumps({k: float(v) for k, v in oldest.items()}))
    scored = _scored(capsys, "score", "--values", str(values), "--model", str(tmp_path / "m"))
    loaded = load_scoring_model(tmp_path / "m")
    expected = float(loaded.model.predict_risk(oldest.to_frame().T.astype(float)[loaded.inputs])[0])
    assert scored["risk"] == pytest.approx(expected, rel=1e-9)


def test_a_tumour_diameter_in_cm_is_not_labelled_mm(tmp_path: Path) -> None:
    """A plain table's `tumor_diameter` in cm (1-8) passed the demo's 1-300 mm range: the
    nomogram and the report said mm. The training median tells the unit apart."""
    from sksurv.datasets import load_gbsg2

    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows.training import train_model

    X, y = load_gbsg2()
    for unit, scale in (("cm", 0.1), ("mm", 1.0)):
        table = pd.DataFrame(
            {
                "case_id": [f"P{k:03d}" for k in range(len(X))],
                "time": y["time"],
                "event": y["cens"].astype(int),
                "age": X["age"].to_numpy(),
                "tumor_diameter": np.maximum(X["tsize"].to_numpy(float) * scale, 1.0),
            }
        )
        table.to_csv(tmp_path / f"{unit}.csv", index=False)
        train_model([tmp_path / f"{unit}.csv"], "coxph", {}, tmp_path / unit)
        (diameter,) = [
            v
            for v in load_scoring_model(tmp_path / unit).schema.variables
            if v.name == "tumor_diameter"
        ]
        assert diameter.unit == ("mm" if unit == "mm" else "")


def test_a_no_value_code_of_the_training_table_is_imputed_and_said_so(
    tmp_path: Path, capsys
) -> None:
    """A model fitted on GBSG2 whose export wrote tsize 999 and age -99 for unknown: a patient's
    tsize of 999 was imputed (the median's risk) while the score said nothing was and cautioned
    999 as out of range; an age of -99 was refused as implausible."""
    table = _gbsg2(tmp_path)
    table.loc[:9, "tsize"], table.loc[10:24, "age"] = 999, -99
    table.to_csv(tmp_path / "coded.csv", index=False)
    model = tmp_path / "model"
    assert main(["fit", "--table", str(tmp_path / "coded.csv"), "--model", "coxph",
                 "--out", str(model)]) == 0  # fmt: skip
    patient = table.drop(columns=["case_id", "time", "event"]).iloc[30].to_dict()
    values = {}
    for name, given in (("coded", {"tsize": 999, "age": -99}), ("blank", {"tsize": None})):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({**patient, "case_id": name, **given, "age": given.get("age")}))
        capsys.readouterr()
        values[name] = _scored(capsys, "score", "--values", str(path), "--model", str(model))
    coded, blank = values["coded"], values["blank"]
    assert sorted(coded["imputed"]) == ["age", "tsize"] and sorted(blank["imputed"]) == sorted(
        coded["imputed"]
    )
    assert coded["risk"] == pytest.approx(blank["risk"], rel=1e-12)
    assert not any("tsize" in caution for caution in coded["cautions"])
    # the code under a key read as its variable ('Age (years)', 'TSIZE') is a code too: it was
    # refused as an implausible age there, imputed under 'age'
    spelt = {k: v for k, v in patient.items() if k not in ("age", "tsize")}
    path = tmp_path / "spelt.json"
    path.write_text(json.dumps({**spelt, "case_id": "spelt", "Age (years)": -99, "TSIZE": 999}))
    capsys.readouterr()
    other = _scored(capsys, "score", "--values", str(path), "--model", str(model))
    assert sorted(other["imputed"]) == ["age", "tsize"]
    assert other["risk"] == pytest.approx(coded["risk"], rel=1e-12)


def test_a_model_of_an_imported_cohort_says_its_endpoint(tmp_path: Path, capsys) -> None:
    """GBSG2's recurrence-free and (made-up) overall survival imported as two cohorts and a Cox
    model fitted on each: their cards and scores told the two apart by nothing. The card keeps
    the outcome its cohort recorded at import, and `score` says it."""
    from survival_core.models.card import ModelCard
    from tests.clinical_exports import gbsg2_two_endpoints

    sheet = gbsg2_two_endpoints(tmp_path)
    (values := tmp_path / "values.json").write_text(json.dumps({"case_id": "NEW", **ROW}))
    given = {"rfs": ("time", "cens"), "os": ("os_days", "os_status")}
    for name, (time, event) in given.items():
        cohort, model = tmp_path / name, tmp_path / f"model_{name}"
        imported = ["cohort", "import", "--clinical", str(sheet), "--out", str(cohort)]
        given_columns = ["--time-column", time, "--event-column", event, "--time-unit", "days"]
        assert main([*imported, *given_columns]) == 0
        assert main(["fit", "--cohort", str(cohort), "--model", "coxph", "--out", str(model)]) == 0
    capsys.readouterr()
    os_outcome = {"time_column": "os_days", "event_column": "os_status", "time_unit": "days"}
    os_outcome |= {"endpoint": "death", "deaths_counted": True, "name": "os"}
    assert ModelCard.load(tmp_path / "model_os").outcome == os_outcome
    scored = _scored(
        capsys, "score", "--values", str(values), "--model", str(tmp_path / "model_rfs")
    )
    assert scored["endpoint"] == {
        "time_column": "time", "event_column": "cens", "time_unit": "days", "endpoint": None,
        "deaths_counted": None,
    }  # fmt: skip
    assert main(["score", "--values", str(values), "--model", str(tmp_path / "model_os")]) == 0
    printed = capsys.readouterr().out
    assert "endpoint: 'os_days'/'os_status' (death)\n" in printed
    assert re.search(r"^overall survival: 12 months \d+ %, 24 months", printed, re.M)
    assert main(["score", "--values", str(values), "--model", str(tmp_path / "model_rfs")]) == 0
    assert re.search(r"^survival: 12 months \d+ %", capsys.readouterr().out, re.M)  # unnamed


@pytest.mark.parametrize(
    ("endpoint", "said", "survival", "short"),
    [
        ("rfs", "recurrence or progression", "survival free of recurrence or progression",
         "recurrence/progression-free survival"),
        ("or_death", "recurrence, progression or death",
         "survival free of recurrence, progression or death",
         "recurrence/progression/death-free survival"),
        ("efs", "event-free survival's event", "event-free survival", "event-free survival"),
    ],
)  # fmt: skip
def test_score_and_nomogram_say_the_deaths_an_endpoint_counted(
    tmp_path: Path, capsys, endpoint: str, said: str, survival: str, short: str
) -> None:
    """GBSG2's 299 recurrences and a made-up 38 deaths imported as an RFS whose header states
    '1=recurrence or death', or as an EFS ('efs_status (0=event-free, 1=event or death)'): the
    RFS model's score said 'survival free of recurrence or progression' while its card counted
    the deaths, the EFS model's 'overall survival' (death). `score` and the nomogram's axes say
    the endpoint with the deaths it counted; an RFS of recurrences alone reads as before."""
    from survival_core.nomogram import build_nomogram, nomogram_layout
    from tests.clinical_exports import GBSG2_ENDPOINTS, imported_gbsg2_model

    model = imported_gbsg2_model(tmp_path, endpoint)
    (values := tmp_path / "values.json").write_text(json.dumps({"case_id": "NEW", **ROW}))
    capsys.readouterr()
    assert main(["score", "--values", str(values), "--model", str(model)]) == 0
    printed = capsys.readouterr().out
    time, event = GBSG2_ENDPOINTS[endpoint]
    assert f"endpoint: {time!r}/{event!r} ({said})\n" in printed
    assert re.search(rf"^{re.escape(survival)}: 12 months \d+ %, 24 months", printed, re.M)
    nomo = build_nomogram(load_scoring_model(model))
    labels = [row.label for row in nomogram_layout(nomo).rows[-3:]]
    assert labels == [f"{k}-year {short}" for k in (1, 2, 3)]
