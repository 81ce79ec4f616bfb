"""The per-cohort clinical schema: validation of one patient's values, schema.yaml, drafting a
schema from a cleaned table, and the demo (HCC) schema in the same form."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sksurv.datasets import load_gbsg2

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.errors import ClinicalValueError, InputError
from survival_core.io.clinical import SCHEMA
from survival_core.io.clinical_schema import (
    CATEGORY,
    INTEGER,
    NUMBER,
    YES_NO,
    CohortSchema,
    SchemaVariable,
    hcc_schema,
    infer_schema,
    validate_clinical,
)
from survival_core.models.tabular import TablePreprocessor
from tests import clinical_exports
from tests.clinical_exports import lifelines_csv

HEAD_NECK = CohortSchema(
    (
        SchemaVariable("age", INTEGER, "Age", "years", 18, 100),
        SchemaVariable("dose", NUMBER, "Dose", "Gy", 0, None),
        SchemaVariable("t_stage", CATEGORY, "T stage", categories=("T1", "T2", "T3", "T4")),
        SchemaVariable("hpv", YES_NO, "HPV"),
    )
)


def test_validate_converts_and_reports_missing() -> None:
    checked = HEAD_NECK.validate(
        {"case_id": "P1", "time": 10, "age": "64", "dose": "60,5", "t_stage": " t2 ", "hpv": "NA",
         "smoker": "yes"}
    )  # fmt: skip
    assert checked.values == {"age": 64, "dose": 60.5, "t_stage": "T2", "hpv": None}
    assert checked.missing == ["hpv"]
    assert checked.unknown == ["smoker"]
    assert HEAD_NECK.validate({"hpv": 1.0, "age": None}).values["hpv"] is True
    with pytest.raises(ClinicalValueError, match="smoker"):
        HEAD_NECK.validate({"smoker": "yes"}, strict_unknown=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("60,5", 60.5), ("0,125", 0.125), ("1,200.5", 1200.5), ("1,200", None), ("12,500,000", None)],
)
def test_a_comma_is_read_only_where_it_cannot_be_a_thousands_separator(text, expected) -> None:
    """'1,200' is 1200 with a thousands separator or 1.2 with a decimal comma: refused, never
    guessed (it was read as 1.2, moving a GBSG2 patient from the low to the high risk group)."""
    dose = SchemaVariable("dose", NUMBER, "Dose", "Gy", 0, None)
    if expected is None:
        with pytest.raises(ClinicalValueError, match=f"'{text}' is ambiguous.*thousands separator"):
            dose.coerce(text)
    else:
        assert dose.coerce(text) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"age": 17}, r"Age \(age\): 17 years is outside the plausible range 18-100 years"),
        ({"age": 64.5}, "must be a whole number"),
        ({"dose": -2}, r"Dose \(dose\): -2 Gy is outside the plausible range at least 0 Gy"),
        ({"dose": "sixty"}, "'sixty' is not a number"),
        ({"dose": True}, "is yes/no, not a number"),
        ({"t_stage": "T5"}, r"T stage \(t_stage\): 'T5' is not one of T1, T2, T3, T4"),
        ({"hpv": "maybe"}, r"HPV \(hpv\): 'maybe' is not yes/no"),
    ],
)
def test_validate_refuses_bad_values(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ClinicalValueError, match=message):
        HEAD_NECK.validate(values)


def test_yaml_round_trip(tmp_path: Path) -> None:
    path = HEAD_NECK.save(tmp_path / "schema.yaml")
    document = yaml.safe_load(path.read_text())
    assert document["variables"][1] == {
        "name": "dose", "kind": "number", "label": "Dose", "unit": "Gy", "low": 0,
    }  # fmt: skip
    assert CohortSchema.load(path) == HEAD_NECK
    assert CohortSchema.load(hcc_schema().save(tmp_path / "hcc.yaml")) == hcc_schema()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("variables: [{name: x, kind: float}]", "kind 'float' is not one of number, integer"),
        ("variables: [{name: x, kind: category, categories: 'A, B'}]", "must be a list"),
        ("variables: [{name: x, kind: category}]", "lists no categories"),
        ("variables: [{name: x, kind: number, low: 5, high: 1}]", "low 5 is above high 1"),
        ("variables: [{name: x, kind: number, low: five}]", "low of 'x' must be a number"),
        ("variables: [{name: x, kind: yes/no, colour: red}]", "unknown field"),
        ("variables: [{name: x, kind: yes/no}, {name: x, kind: number}]", "names x more than once"),
        ("variables: [{name: time, kind: number}]", "cannot have a variable named time"),
        ("variables: [{kind: number}]", "needs a name and a kind"),
        ("- just a list", "must be a mapping with a 'variables' list"),
        ("variables: [unclosed", "could not be read"),
    ],
)
def test_load_names_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        CohortSchema.load(path)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        CohortSchema.load(tmp_path / "schema.yaml")


def test_infer_schema_kinds_categories_and_ranges() -> None:
    table = pd.DataFrame(
        {
            "time": [1.0, 2.0, 3.0, 4.0],
            "event": [1, 0, 1, 0],
            "age": pd.array([21, 80, None, 50], dtype="Int64"),
            "inr": [0.82, 1.31, 1.05, None],
            "delta": [-3.0, 4.0, 0.0, 1.0],
            "dose": [70.0, 70.0, 70.0, 70.0],
            "hpv": pd.array([True, False, None, True], dtype="boolean"),
            "t_stage": ["T10", "T2", None, "T1"],
        }
    )
    schema = infer_schema(table, units={"age": "years"}, labels={"t_stage": "T stage"})
    assert schema.names == ["age", "inr", "delta", "dose", "hpv", "t_stage"]
    age, inr, delta, dose = (schema[n] for n in ("age", "inr", "delta", "dose"))
    # 21-80 widened by half its span (29.5), never below 0, rounded outwards: an 88-year-old
    # patient was refused by a drafted 15-86
    assert (age.kind, age.unit, age.low, age.high) == (INTEGER, "years", 0, 110)
    assert isinstance(age.low, int)
    # 0.82-1.31 widened by 0.245, rounded outwards to 0.01
    assert (inr.kind, inr.low, inr.high) == (NUMBER, 0.57, 1.56)
    # negative data may get a negative bound; the margin is 3.5
    assert (delta.low, delta.high) == (-7.0, 8.0)
    # a constant is widened by half of itself
    assert (dose.low, dose.high) == (35.0, 105.0)
    assert schema["hpv"].kind == YES_NO
    assert schema["t_stage"].categories == ("T1", "T2", "T10")
    assert schema["t_stage"].label == "T stage"
    for row in table.to_dict("records"):
        schema.validate(row, strict_unknown=True)


def test_a_centre_coded_as_numbers_is_drafted_as_a_category(tmp_path: Path) -> None:
    """A 'hospital' of 1/2/3 was drafted as an integer: a Cox model stepped the risk per
    hospital number and scored a new hospital 4 by extrapolation (as text A/B/C, an unseen 'D'
    is refused). A length of stay in hospital stays a number."""
    rows = ["id,os_days,dead,hospital,Study site,Days in hospital"]
    rows += [
        f"P{i},{100 + i},{i % 2},{i % 3 + 1},{'' if i == 4 else float(i % 2 + 1)},{i + 3}"
        for i in range(12)
    ]
    (path := tmp_path / "centres.csv").write_text("\n".join(rows) + "\n")
    schema = read_clinical_spreadsheet(path).schema
    assert (schema["hospital"].kind, schema["hospital"].categories) == (CATEGORY, ("1", "2", "3"))
    assert (schema["study_site"].kind, schema["study_site"].categories) == (CATEGORY, ("1", "2"))
    assert schema["days_in_hospital"].kind == INTEGER
    stay = {"study_site": 1.0, "days_in_hospital": 5}
    assert schema.validate({"hospital": 2, **stay}).missing == []
    with pytest.raises(ClinicalValueError, match="4 is not one of 1, 2, 3"):
        schema.validate({"hospital": 4, **stay})


def test_r_lung_institution_id_is_imported_and_drafted_as_a_centre(tmp_path: Path) -> None:
    """R's survival::lung (lifelines' lung.csv) under 'institution_id': the import dropped it
    as an identifier ('id'); under 'inst' it was drafted as an integer 1-33."""
    lung = pd.read_csv(lifelines_csv("lung.csv"))
    lung.insert(0, "case_id", [f"L{i:03d}" for i in range(len(lung))])
    for header in ("institution_id", "inst"):
        path = tmp_path / f"{header}.csv"
        lung.rename(columns={"inst": header}).to_csv(path, index=False)
        variable = read_clinical_spreadsheet(path, time_unit="days").schema[header]
        assert variable.kind == CATEGORY and len(variable.categories) == 18
        assert variable.categories[:3] == ("1", "2", "3")


def test_a_race_code_under_race_id_is_a_category_not_an_identifier(tmp_path: Path) -> None:
    """The AIDS trial's race codes 1-5 under I-SPY1's header 'race_id' were dropped as an
    identifier ('an identifier or free text (by its name)'): they are drafted as a category and
    one-hot for the model; a patient number under the same header stays an identifier."""
    export = clinical_exports.aids(tmp_path)
    sheet = pd.read_csv(export.path).rename(columns={"raceth": "race_id"})
    sheet.to_csv(export.path, index=False)
    result = read_clinical_spreadsheet(export.path, **export.options)
    assert result.schema["race_id"].categories == ("1", "2", "3", "4", "5")
    prep = TablePreprocessor().fit(result.variables)
    codes = ["race_id=2", "race_id=3", "race_id=4", "race_id=5"]
    assert [n for n in prep.feature_names_out_ if n.startswith("race_id")] == codes
    sheet["race_id"] = range(1001, 1001 + len(sheet))
    sheet.to_csv(export.path, index=False)
    result = read_clinical_spreadsheet(export.path, **export.options)
    assert "race_id" not in result.variables.columns
    assert [c.action for c in result.report if c.column == "race_id"] == [
        "dropped: an identifier or free text (by its name)"
    ]


def test_a_scale_holding_only_0_and_1_is_drafted_as_integer(tmp_path: Path) -> None:
    """An ECOG, grade or count column of a cohort that happens to hold only 0 and 1 is an integer
    variable (ECOG and Karnofsky over their whole scale), not yes/no; other 0/1 columns and
    "high grade" stay yes/no."""
    path = tmp_path / "export.csv"
    path.write_text(
        "id,os_days,event,ECOG,WHO PS,Karnofsky score,grade,Number of lesions,high grade,HPV\n"
        "a,10,1,0,1,0,1,0,1,1\n"
        "b,20,0,1,0,1,0,1,0,0\n"
        "c,30,1,1,,1,1,0,1,1\n"
    )
    result = read_clinical_spreadsheet(path)
    schema = result.schema
    drafted = {v.name: (v.kind, v.low, v.high) for v in schema.variables}
    assert drafted == {
        "ecog": (INTEGER, 0, 4),
        "who_ps": (INTEGER, 0, 4),
        "karnofsky_score": (INTEGER, 0, 100),
        "grade": (INTEGER, 0, 2),
        "number_of_lesions": (INTEGER, 0, 2),
        "high_grade": (YES_NO, None, None),
        "hpv": (YES_NO, None, None),
    }
    assert list(result.table["ecog"]) == [0, 1, 1]
    for row in result.table.to_dict("records"):
        schema.validate(row, strict_unknown=True)
    assert schema.validate({"ecog": 3, "karnofsky_score": 70}).values["ecog"] == 3
    # drafted from a table, an ECOG seen 0-2 keeps the scale's levels 3 and 4
    ecog = infer_schema(pd.DataFrame({"ecog": pd.array([0, 2, 1], dtype="Int64")}))["ecog"]
    assert (ecog.low, ecog.high) == (0, 4)


#: A demo case's clinical.json (as the cohort generator writes it, ALBI derived).
DEMO_VALUES = validate_clinical(
    {
        "age": 63.5,
        "sex": "M",
        "ecog": 1,
        "albumin": 38.0,
        "bilirubin": 15.0,
        "afp": 25.0,
        "platelets": 150.0,
        "inr": 1.1,
        "child_pugh": "A",
        "bclc": "B",
        "cirrhosis": True,
        "hbv": False,
        "mvi": True,
        "tumor_number": 2,
        "tumor_diameter": 45.0,
        "mrecist": "PR",
    }  # fmt: skip
).values


def test_hcc_schema_mirrors_the_hard_coded_one() -> None:
    schema = hcc_schema()
    assert schema.names == [v.name for v in SCHEMA]
    assert schema["age"] == SchemaVariable("age", NUMBER, "Age", "years", 18, 100)
    assert schema["bclc"].categories == ("0", "A", "B", "C", "D")
    assert schema["cirrhosis"].kind == YES_NO and schema["ecog"].kind == INTEGER
    assert schema.validate(DEMO_VALUES).values == DEMO_VALUES


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("age", 17), ("age", 100), ("age", "abc"), ("sex", "f"), ("sex", "X"), ("ecog", 2.5),
        ("ecog", "3"), ("ecog", True), ("bclc", 0), ("bclc", 0.0), ("child_pugh", "d"),
        ("cirrhosis", "yes"), ("cirrhosis", "maybe"), ("cirrhosis", 2), ("inr", 0.5),
        ("tumor_number", 0), ("tumor_diameter", "12.5"), ("albumin", 5), ("mvi", None),
        ("afp", float("inf")),
    ],
)  # fmt: skip
def test_hcc_schema_decides_like_validate_clinical(name: str, value: Any) -> None:
    values = {**DEMO_VALUES, name: value}
    try:
        expected = validate_clinical(values)
    except ClinicalValueError:
        with pytest.raises(ClinicalValueError, match=name):
            hcc_schema().validate(values)
        return
    checked = hcc_schema().validate(values)
    assert checked.values == expected.values
    assert checked.missing == expected.missing


def test_a_yes_no_value_the_import_reads_is_scored_too() -> None:
    """The import read 'oui' in a French export, then scoring a new patient refused it; Dutch
    'nee' and Portuguese 'sim' and 'não' as well."""
    hpv = SchemaVariable("hpv", "yes/no", "HPV positive")
    assert [hpv.coerce(v) for v in ("oui", "Non", "ja", "nein", "sí", "nee", "Sim", "não")] == [
        True, False, True, False, True, False, True, False,
    ]  # fmt: skip


def test_the_demo_schema_works_albi_out_as_the_case_form_does() -> None:
    """`score --values` (the model's HCC schema) imputed ALBI from the cohort where the Case page
    worked it out: risk 16.41 for the page's 18.47, and a stale ALBI contradicting the labs was
    scored without a word."""
    from dataclasses import replace

    from survival_core.errors import ClinicalValueError

    schema = hcc_schema()
    checked = schema.validate({"albumin": 15.0, "bilirubin": 300.0})
    assert checked.values["albi_score"] == pytest.approx(
        0.66 * math.log10(300) - 0.085 * 15, abs=1e-4
    )
    assert checked.values["albi_grade"] == 3
    assert "albi_score" not in checked.missing and "albi_grade" not in checked.missing
    with pytest.raises(ClinicalValueError, match=r"ALBI score -1.90 contradicts albumin 15 g/L"):
        schema.validate({"albumin": 15.0, "bilirubin": 300.0, "albi_score": -1.9})
    alone = schema.validate({"albumin": 15.0})
    assert alone.values["albi_score"] is None and alone.missing[-2:] == ["albi_score", "albi_grade"]
    # another cohort's albumin in g/dL is no ALBI input
    other = CohortSchema(
        tuple(replace(v, unit="g/dL") if v.name == "albumin" else v for v in schema.variables)
    )
    assert other.validate({"albumin": 35.0, "bilirubin": 20.0}).values["albi_score"] is None


def _gbsg2_schema() -> CohortSchema:
    """GBSG2's schema as drafted from its table (whole numbers as integers, horTh no/yes)."""
    X, _ = load_gbsg2()
    whole = {c: int for c in ("age", "estrec", "pnodes", "progrec", "tsize")}
    return infer_schema(X.astype({c: str for c in X.select_dtypes("category")}).astype(whole))


GBSG2_PATIENT = {"age": 70, "estrec": 66, "horTh": "no", "menostat": "Post", "pnodes": 3,
                 "progrec": 48, "tgrade": "II", "tsize": 21}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "typed", "expected"),
    [("cirrhosis", "none", False), ("cirrhosis", "None", False), ("hbv", "+", True),
     ("hbv", " + ", True)],
)  # fmt: skip
def test_none_and_signs_typed_for_a_yes_no_say_no_and_yes(name, typed, expected) -> None:
    """'none' typed for a yes/no was read as no value and imputed (a cirrhosis 'none' became
    the training mode, present), while '+' was refused: they are no and yes. A '-' (negative,
    or not done, as hospital tables write it: a cohort import reads it as no value) is refused,
    asking for no or an empty value, never read as no unsaid."""
    checked = validate_clinical({name: typed})
    assert checked.values[name] is expected and name not in checked.missing
    with pytest.raises(
        ClinicalValueError, match=r"\(hbv\): '-' may mean no value.*write no \(or yes\)"
    ):
        validate_clinical({"hbv": "-"})


@pytest.mark.parametrize("typed", ["none", "-"])
def test_none_typed_for_a_number_or_an_unlisted_level_is_refused_saying_what_to_write(
    typed: str,
) -> None:
    """GBSG2's positive nodes 'none' became the training median (3): refused, saying to write
    0 (a '-' its value) or leave it empty; so is 'none' for a category that lists no such level."""
    schema = _gbsg2_schema()
    meant = "0 if it means none, else the number" if typed == "none" else "the value"
    with pytest.raises(ClinicalValueError, match=rf"pnodes: '{typed}' may mean .*write {meant},"):
        schema.validate({**GBSG2_PATIENT, "pnodes": typed})
    with pytest.raises(ClinicalValueError, match=r"tgrade: .*write one of I, II, III"):
        schema.validate({**GBSG2_PATIENT, "tgrade": typed})
    for blank in ("", "NA", "unknown", "?", None):  # no value, as before: imputed and said so
        assert schema.validate({**GBSG2_PATIENT, "pnodes": blank}).missing == ["pnodes"]


@pytest.mark.parametrize("typed", ["-", "none"])
def test_a_dash_for_an_age_or_a_lab_value_never_advises_zero(typed: str) -> None:
    """A '-' under an age or a lab value is not recorded: its refusal advised 'write 0', made-up
    data. It asks for the value in its unit or an empty one; so does 'none' there."""
    with pytest.raises(ClinicalValueError) as age:
        HEAD_NECK.validate({"age": typed})
    assert str(age.value) == (
        f"Age (age): {typed!r} may mean no value or a value: write the value in years, or leave "
        "it empty (or NA) where it is not known."
    )
    albumin = hcc_schema()["albumin"]
    with pytest.raises(ClinicalValueError, match=r"write the value in g/L, or leave it empty"):
        albumin.read(typed)
    with pytest.raises(ClinicalValueError, match=r"pnodes: '-' .*write the value, or"):
        _gbsg2_schema().validate({**GBSG2_PATIENT, "pnodes": "-"})


@pytest.mark.parametrize(
    "written", ["pending", "Pending", "awaiting", "n/d", "N/D", "unk.", "not assessed",
                "not known", "not recorded", "not available"],
)  # fmt: skip
def test_a_result_not_back_or_not_taken_is_missing_like_na(written: str) -> None:
    """'pending', 'n/d', 'unk.' under an age or a lab value were refused as no number, while
    'NA' and 'unknown' were read as missing: they are missing too (imputed and said so)."""
    schema = _gbsg2_schema()
    for name in ("age", "progrec"):
        checked = schema.validate({**GBSG2_PATIENT, name: written})
        assert checked.missing == [name] and checked.values[name] is None
    assert hcc_schema()["albumin"].read(written) is None


def test_none_is_a_category_level_where_the_schema_lists_it() -> None:
    therapy = SchemaVariable("horth", CATEGORY, categories=("none", "tamoxifen"))
    assert CohortSchema((therapy,)).validate({"horTh": "None"}).values == {"horth": "none"}


@pytest.mark.parametrize(
    ("text", "refused"),
    [("1.200", "1.2 or 1200"), ("12.500", "12.5 or 12500"), ("-1.200", "-1.2 or -1200"),
     ("0.125", ""), ("1.25", ""), ("1234.500", ""), ("48.0", "")],
)  # fmt: skip
def test_a_lone_dot_before_three_digits_is_refused_as_ambiguous(text: str, refused: str) -> None:
    """'1.200' progesterone receptors was read as 1.2 while '1,200' was refused as ambiguous:
    a dot before three digits may group thousands as well as mark decimals."""
    progrec = SchemaVariable("progrec", NUMBER, "Progesterone receptor", "fmol/l", None, None)
    if refused:
        with pytest.raises(ClinicalValueError, match=rf"'{text}' is ambiguous.*Write {refused}"):
            progrec.coerce(text)
    else:
        assert progrec.coerce(text) == float(text)
    assert progrec.coerce(1.2) == 1.2  # a JSON number is what it says


def test_a_separator_is_read_where_the_plausible_range_holds_one_reading_only() -> None:
    """An ALBI score of '-2.600' (written to 3 decimals by convention, -4 to 0) and an INR of
    '1.100' were refused as ambiguous, though -2600 and 1100 are no such values; where both
    readings are plausible (an AFP of '1.200' ng/mL) or neither, it still is."""
    assert validate_clinical({"albi_score": "-2.600"}).values["albi_score"] == -2.6
    assert validate_clinical({"inr": "1.100"}).values["inr"] == 1.1
    for raw in ({"afp": "1.200"}, {"afp": "1,200"}, {"age": "1.200"}):
        with pytest.raises(ClinicalValueError, match="is ambiguous"):
            validate_clinical(raw)


def test_a_unit_written_otherwise_for_the_same_quantity_is_the_variables() -> None:
    """'AFP (µg/L)' was refused, told to convert to ng/mL, which it equals; g/dL is still
    refused for albumin in g/L (10 times off)."""
    assert validate_clinical({"AFP (µg/L)": 5, "Albumin (mg/mL)": 35}).values["afp"] == 5
    assert validate_clinical({"Platelets (x10^9/L)": 92}).values["platelets"] == 92
    with pytest.raises(ClinicalValueError, match="albumin in g/dL, but the model reads it in g/L"):
        validate_clinical({"Albumin (g/dL)": 3.5})


@pytest.mark.parametrize(
    ("text", "advice"),
    [("1_000", "without '_'"), ("2_1", "without '_'"), ("21 mm", "number alone, in mm"),
     ("3.5 cm", "number alone, in mm"), ("<5", r"limit itself \(5, in mm\)"),
     (">400", r"limit itself \(400, in mm\)"), ("66 %", "number alone"),
     ("20-30", "one number, in mm, not a range")],
)  # fmt: skip
def test_a_text_that_is_no_number_is_refused_saying_what_to_write(text: str, advice: str) -> None:
    """Python's float() read '1_000' as 1000 and '2_1' as 21; '21 mm' and '<5' were refused
    without saying what to write."""
    tsize = SchemaVariable("tsize", NUMBER, "Tumour size", "mm", 0, None)
    with pytest.raises(ClinicalValueError, match=rf"'{text}' is not a number: .*{advice}"):
        tsize.coerce(text)


def test_a_variable_given_twice_is_refused_naming_both_values() -> None:
    """'Tsize': 21 beside 'TSIZE': 80 kept the last and called the other not a variable; a
    key given twice in a JSON file is refused as it is read (test_case_loader)."""
    with pytest.raises(
        ClinicalValueError,
        match=r"tsize is given twice \('tsize': 21 and 'TSIZE': 80\)",
    ):
        _gbsg2_schema().validate({**GBSG2_PATIENT, "tsize": 21, "TSIZE": 80})


def test_keys_are_read_as_a_clinical_csv_reads_its_headers() -> None:
    """A key in another case, with spaces or its unit is its variable, as in a clinical CSV; a
    unit other than the variable's is refused."""
    checked = validate_clinical({"Age": 62, " AFP ": 4429.1, "Albumin (g/L)": 31, "ECOG": 1})
    assert checked.values["age"] == 62 and checked.values["afp"] == 4429.1
    assert checked.values["albumin"] == 31 and checked.values["ecog"] == 1 and not checked.unknown
    with pytest.raises(ClinicalValueError, match="bilirubin in mg/dL, but the model reads it"):
        validate_clinical({"Bilirubin (mg/dL)": 2.5})


def test_a_key_read_as_two_variables_is_refused_naming_both() -> None:
    """'Tumor size (mm)' reads as tumor_size_mm and as tumor_size: one of them was taken
    silently (it fell among the keys naming no variable)."""
    schema = CohortSchema(
        (SchemaVariable("tumor_size_mm", NUMBER), SchemaVariable("tumor_size", NUMBER))
    )
    with pytest.raises(ClinicalValueError, match="reads as tumor_size or tumor_size_mm"):
        schema.validate({"Tumor size (mm)": 21})
    assert schema.validate({"tumor_size": 21}).values["tumor_size"] == 21


@pytest.mark.parametrize("units", [{"age": "years", "sysbp": "mmHg"}, {}])
def test_a_unit_after_a_space_an_underscore_or_in_brackets_is_read_alike(
    tmp_path: Path, units: dict[str, str]
) -> None:
    """WHAS500's age and sysbp under 'age yrs', 'sysbp mmHg' or 'sysbp_mmHg': near misses of
    the model's variable (the advice, the value under 'sysbp', dropped the unit), while 'sysbp
    (mmHg)' was read. One rule: read with its unit, refused where the model records none."""
    export = clinical_exports.whas500(tmp_path)
    drafted = read_clinical_spreadsheet(export.path, time_unit="days").schema
    schema = CohortSchema(
        tuple(replace(v, unit=units.get(v.name, v.unit)) for v in drafted.variables)
    )
    patient = export.X.iloc[0]
    for age_key, sysbp_key in [
        ("Age (years)", "sysbp (mmHg)"),
        ("age years", "sysbp mmHg"),
        ("age yrs", "sysbp_mmHg"),
        ("Age_in_years", "Sysbp mm Hg"),
    ]:
        given = {age_key: patient["age"], sysbp_key: patient["sysbp"]}
        if units:
            checked = schema.validate(given)
            assert (checked.values["age"], checked.values["sysbp"]) == (
                patient["age"],
                patient["sysbp"],
            )
            assert checked.unknown == []
        else:
            with pytest.raises(ClinicalValueError, match=r"give age in .*records no unit"):
                schema.validate(given)
            with pytest.raises(ClinicalValueError, match=r"give sysbp in .*records no unit"):
                schema.validate({sysbp_key: patient["sysbp"]})
    with pytest.raises(ClinicalValueError, match=r"tsize in cm"):  # unitless name: refused still
        _gbsg2_schema().validate({**{k: v for k, v in GBSG2_PATIENT.items() if k != "tsize"},
                                  "tsize cm": 2})  # fmt: skip
