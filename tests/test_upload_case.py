"""Uploads as the Case page receives them: a DICOM zip, loose NIfTI files, a clinical CSV."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile

import numpy as np
import pytest
import SimpleITK as sitk
from sksurv.datasets import load_veterans_lung_cancer

from survival_core.errors import InputError, MaskError
from survival_core.io.case_loader import load_case
from survival_core.io.clinical_schema import (
    CATEGORY,
    NUMBER,
    CohortSchema,
    SchemaVariable,
    infer_schema,
)
from survival_core.io.manifest import read_manifest
from survival_core.io.upload_case import describe_upload, load_upload
from survival_core.io.uploads import (
    CLINICAL_KEEP,
    UPLOAD_ROW,
    as_uploaded,
    store_upload,
    upload_notes,
    uploaded_volume_names,
)
from survival_core.paths import data_subdir


def _zip(folder) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent).as_posix())
    return buffer.getvalue()


def _first(small_cohort, fmt):
    manifest = read_manifest(small_cohort)
    return small_cohort / "cases" / manifest[manifest["format"] == fmt]["case_id"].iloc[0]


def test_dicom_zip_upload_matches_the_case_folder(small_cohort):
    folder = _first(small_cohort, "dicom")
    contents = describe_upload(store_upload([("case.zip", _zip(folder))]))
    assert contents.kind == "archive"
    assert {"Liver", "GTV"} <= set(contents.structures)
    assert contents.suggested_roles() == {"organ": ["Liver"], "gtv": ["GTV"]}
    case = load_upload(contents, contents.suggested_roles())
    reference = load_case(folder)
    assert case.case_id == reference.case_id
    np.testing.assert_array_equal(case.array(), reference.array())
    np.testing.assert_array_equal(case.mask_array("gtv"), reference.mask_array("gtv"))
    assert case.clinical == reference.clinical


def test_loose_nifti_files_with_a_clinical_csv(small_cohort):
    """The CSV's one row is the volumes' own, under the upload's name: its ID is not stored."""
    folder = _first(small_cohort, "nifti")
    files = [
        ("ct.nii.gz", (folder / "image.nii.gz").read_bytes()),
        ("tumour.nii.gz", (folder / "gtv.nii.gz").read_bytes()),
        ("Liver_seg.nii.gz", (folder / "liver.nii.gz").read_bytes()),
        ("clinical.csv", f"case_id,age,albumin\n{folder.name},61,41.5\n".encode()),
    ]
    contents = describe_upload(store_upload(files))
    assert contents.kind == "volumes" and contents.suggested_image() == "ct.nii.gz"
    roles = {"gtv": "tumour.nii.gz", "organ": "Liver_seg.nii.gz"}
    assert contents.clinical_case_ids() == [UPLOAD_ROW]
    case = load_upload(contents, roles, image_name="ct.nii.gz")
    assert case.case_id == contents.folder.name
    assert case.mask_volume_ml("gtv") == pytest.approx(load_case(folder).mask_volume_ml("gtv"))
    assert case.clinical["age"] == 61 and case.clinical["albumin"] == 41.5
    assert case.clinical["bilirubin"] is None  # missing stays missing
    with pytest.raises(InputError, match="no row"):
        load_upload(contents, roles, image_name="ct.nii.gz", case_id="nobody")


def test_an_empty_mask_upload_is_offered_for_no_role_and_left_out(small_cohort, tmp_path):
    """Volumes with an all-zero 'GTV_2.nii.gz' (a planning template's GTV never drawn): the Case
    page offered it for the GTV, and the suggested roles failed the case ('... is empty'). It is
    no structure to choose; the case loads without it, saying so."""
    folder = _first(small_cohort, "nifti")
    gtv = sitk.ReadImage(str(folder / "gtv.nii.gz"))
    empty = sitk.Image(gtv.GetSize(), sitk.sitkUInt8)
    empty.CopyInformation(gtv)
    sitk.WriteImage(empty, str(tmp_path / "GTV_2.nii.gz"))
    files = [
        (name, path.read_bytes())
        for name, path in (
            ("ct.nii.gz", folder / "image.nii.gz"),
            ("gtv.nii.gz", folder / "gtv.nii.gz"),
            ("GTV_2.nii.gz", tmp_path / "GTV_2.nii.gz"),
        )
    ]
    contents = describe_upload(store_upload(files))
    assert contents.structure_names() == ["gtv.nii.gz"]
    assert contents.suggested_roles() == {"gtv": ["gtv.nii.gz"]}
    case = load_upload(contents, contents.suggested_roles())
    assert case.mask_volume_ml("gtv") == pytest.approx(load_case(folder).mask_volume_ml("gtv"))
    assert any(w.startswith("GTV_2.nii.gz marks no voxel") for w in case.warnings)
    with pytest.raises(MaskError, match="GTV_2.nii.gz.*is empty"):
        load_upload(contents, {"gtv": ["gtv.nii.gz", "GTV_2.nii.gz"]})


def test_a_clinical_csv_of_several_patients_gives_the_images_own_row(small_cohort):
    """The row is the DICOM images' own, wherever it stands in the CSV; never the first by
    default. A CSV of other patients' rows only, one row or several, is not stored (it was kept
    whole, and one row of another id named the case): the case says so and has no values."""
    folder = _first(small_cohort, "dicom")
    own = load_case(folder).case_id
    images = ("case.zip", _zip(folder))

    def upload(csv: str):
        contents = describe_upload(store_upload([images, ("clinical.csv", csv.encode())]))
        return contents, load_upload(contents, contents.suggested_roles())

    _, case = upload(f"case_id,age,albumin\nP2,80,25\n{own},61,41.5\n")
    assert case.case_id == own and case.clinical["age"] == 61 and case.clinical["albumin"] == 41.5
    for others in ("case_id,age\nP2,80\nP3,70\n", "case_id,age\nLUNG1-007,80\n"):
        contents, case = upload(others)
        assert contents.clinical_csv is None and case.case_id == own
        assert case.clinical == load_case(folder).clinical  # its own clinical.json's alone
        assert any("1 clinical file(s) of none of the images' patients" in w for w in case.warnings)


def test_a_clinical_csv_keyed_by_the_hospital_id_keeps_only_the_patients_row(
    small_cohort, tmp_path
):
    """A CSV keyed by the MRN the images carry (not marked de-identified): the MRN and every
    other patient's row were stored, and the case, named after its row, was logged by the MRN.
    Now the images' own row is kept under their pseudonym, and matched without asking."""
    import shutil

    import pydicom

    folder = tmp_path / "case"
    shutil.copytree(_first(small_cohort, "dicom"), folder)
    for path in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        ds.PatientID, ds.PatientIdentityRemoved = "MRN99887766", "NO"
        ds.save_as(path)
    rows = "case_id,age,albumin\nMRN11112222,80,25\nMRN99887766,61,41.5\n=cmd|' /C calc'!A0,1,1\n"
    stored = store_upload([("case.zip", _zip(folder)), ("clinical.csv", rows.encode())])
    contents = describe_upload(stored)
    case = load_upload(contents, contents.suggested_roles())
    assert case.case_id.startswith("RS-") and contents.clinical_case_ids() == [case.case_id]
    assert (stored / "clinical.csv").read_text() == f"case_id,age,albumin\n{case.case_id},61,41.5\n"
    assert case.clinical["age"] == 61 and case.clinical["albumin"] == 41.5


@pytest.mark.parametrize(
    "csv",
    [
        "case_id;age;albumin\n{own};61;41,5\n",  # a European Excel export
        "sep=;\ncase_id;age;albumin\n{own};61;41,5\n",  # with Excel's delimiter line
        "case_id\tage\talbumin\n{own}\t61\t41.5\n",
        "case_id   age  albumin\n{own}  61    41.5\n",  # columns lined up with spaces
    ],
)
def test_clinical_csvs_of_other_delimiters_upload(small_cohort, csv):
    folder = _first(small_cohort, "dicom")
    own = load_case(folder).case_id
    data = csv.format(own=own).encode("cp1252")
    contents = describe_upload(store_upload([("case.zip", _zip(folder)), ("clinical.csv", data)]))
    case = load_upload(contents, contents.suggested_roles())
    assert case.clinical["age"] == 61 and case.clinical["albumin"] == 41.5


def _sarcoma_with(shared_data, clinical: str, name: str = "clinical.csv", schema=None):
    """The sarcoma CT of STS_001 (its DICOM zipped) uploaded with ``clinical`` as ``name``,
    loaded as the Case page loads it (a refused value named, not raised), under a model of
    ``schema`` (its variables kept and given, as the page keeps and gives those of the models
    offered) or of the HCC variables."""
    from tests.dicom_fixtures import zip_bytes

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    members = {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*.dcm")}
    files = [("ct.zip", zip_bytes(members)), (name, clinical.encode())]
    variables = frozenset(schema.variables if schema else ())
    keep = CLINICAL_KEEP | {v.name for v in variables}
    contents = describe_upload(store_upload(files, keep, variables))
    return load_upload(contents, contents.suggested_roles(), correctable=True, schema=schema)


def _breast_with(shared_data, clinical: str):
    """pyradiomics' breast1 image and label NRRDs uploaded with ``clinical`` as clinical.csv,
    loaded as the Case page loads it (a refused value named, not raised)."""
    paths = [shared_data / "pyradiomics" / f"breast1_{part}.nrrd" for part in ("image", "label")]
    if not all(p.is_file() for p in paths):
        pytest.skip("pyradiomics' breast1 sample is not in ../shared/data")
    files = [*((p.name, p.read_bytes()) for p in paths), ("clinical.csv", clinical.encode())]
    contents = describe_upload(store_upload(files))
    return load_upload(contents, contents.suggested_roles(), correctable=True)


def test_an_uploaded_csvs_numbers_are_read_as_the_whole_file_reads_them(shared_data):
    """The file's only decimal comma ('25,5', '72,5') was in a column no model reads: stored
    without it, the kept '4.429' and '1.170' were refused as ambiguous, 'no other number in the
    file says which', while the file said it. Read as the whole file reads them: the points
    group thousands."""
    case = _breast_with(shared_data, "case_id;bmi;afp\nSYN-0001;25,5;4.429\n")
    assert case.clinical["afp"] == 4429 and not case.clinical_refused
    case = _breast_with(shared_data, "case_id;weight_kg;inr;bilirubin\nSYN-0001;72,5;1.170;42\n")
    assert case.clinical["bilirubin"] == 42 and case.clinical["inr"] is None
    assert case.clinical_refused["inr"] == (
        "The clinical CSV: INR (inr): 1170 is outside the plausible range 0.7-6. "
        "Check the value and its unit."
    )


def test_an_uploaded_csvs_undecided_number_is_read_as_the_same_value_typed(shared_data):
    """One patient's INR '1,170' was read as 1.17 typed or given to `score --values` (0.7-6
    holds no 1170), but refused in a one-row clinical CSV whose other numbers say nothing of
    its comma. Read by its variable's range there too; refused, naming it, where the range holds
    both readings (an AFP of 1.2 or 1200 ng/mL)."""
    case = _breast_with(shared_data, "case_id;inr;albumin\nSYN-0001;1,170;31\n")
    assert case.clinical["inr"] == 1.17 and case.clinical["albumin"] == 31
    assert not case.clinical_refused
    case = _breast_with(shared_data, "case_id;afp;albumin\nSYN-0001;1,200;31\n")
    assert case.clinical["afp"] is None and case.clinical["albumin"] == 31
    assert case.clinical_refused["afp"] == (
        "The clinical CSV: Alpha-fetoprotein (afp): '1,200' is ambiguous: 1200 with a "
        "thousands separator, or a decimal comma? Write 1.2 or 1200: the number without a "
        "thousands separator and with a decimal point."
    )


@pytest.mark.parametrize(
    "clinical",
    [
        # the file's point-decimal '72.5' is a weight no model reads
        "case_id;name;weight;albumin;afp;inr\n"
        "STS_000;Doe^Jane;80;38,0;1.200;1,10\n"
        "STS_001;Roe^Rich;72.5;41,5;1.200;1,170\n",
        # the file's point-decimal '38.5' is another patient's
        "case_id;albumin;afp;inr\nSTS_000;38.5;1.200;1\nSTS_001;41,5;1.200;1,170\n",
    ],
)
def test_an_uploaded_csvs_undecided_number_stays_undecided_in_its_stored_rows(
    shared_data, clinical
):
    """The whole file has decimal points and commas, so nothing in it says whether AFP '1.200'
    is 1.2 or 1200 ng/mL (both plausible). Stored with the sarcoma CT's own row and the
    variables' columns alone, the decimal commas left ('41,5') read it as 1200 without a word;
    it is refused by name, as read from the whole file."""
    case = _sarcoma_with(shared_data, clinical)
    assert (case.clinical["albumin"], case.clinical["inr"]) == (41.5, 1.17)
    assert case.clinical["afp"] is None
    assert case.clinical_refused == {
        "afp": "The clinical CSV: Alpha-fetoprotein (afp): '1.200' is ambiguous: 1200 with a "
        "thousands separator, or a decimal point? Write 1.2 or 1200: the number without a "
        "thousands separator and with a decimal point."
    }


def _veterans_schema() -> CohortSchema:
    """The schema ``fit --table`` drafts from the veterans' lung cancer trial (Celltype,
    Karnofsky_score, Prior_therapy, ...: names in mixed case)."""
    X, _ = load_veterans_lung_cancer()
    return infer_schema(X.astype({c: str for c in X.select_dtypes("category")}))


def test_an_uploads_clinical_keys_are_stored_as_the_models_schema_reads_them(shared_data):
    """Under a veterans model, an uploaded clinical.json's 'Cell type' (its variable Celltype)
    and 'karnofsky' (nearly Karnofsky_score), and a clinical CSV's 'Karnofsky_score',
    'Prior_therapy' and 'Treatment', were left out when stored (only keys reading as a
    variable's name in lower case were kept): their variables were imputed, only 'not read:
    'Cell type'' said. Stored as the schema reads them; a key of no variable is still not stored
    (its value may be anything). A key nearly naming one ('karnofsky': 60) is refused: left out,
    Karnofsky_score was imputed with a note alone, while one patient's scoring refuses it."""
    schema = _veterans_schema()
    given = json.dumps({"Cell type": "squamous", "Karnofsky score": 60, "Name": "Doe^Jane"})
    case = _sarcoma_with(shared_data, given, "clinical.json", schema)
    assert (case.clinical["Celltype"], case.clinical["Karnofsky_score"]) == ("squamous", 60)
    assert [w for w in case.warnings if "naming no model's variable" in w] == [
        "Not stored from the upload: 1 clinical value(s) under a key or column naming no "
        "model's variable, not read: 'Name'."
    ]
    near = json.dumps({"Cell type": "squamous", "karnofsky": 60})
    with pytest.raises(InputError, match=r"clinical.json: 'karnofsky' .* nearly names "):
        _sarcoma_with(shared_data, near, "clinical.json", schema)
    csv = "case_id,Karnofsky_score,Prior_therapy,Treatment\nSTS_001,60,yes,test\n"
    case = _sarcoma_with(shared_data, csv, schema=schema)
    read = {k: case.clinical[k] for k in ("Karnofsky_score", "Prior_therapy", "Treatment")}
    assert read == {"Karnofsky_score": 60, "Prior_therapy": "yes", "Treatment": "test"}


def test_an_uploads_key_followed_by_its_variables_unit_bare_is_stored(shared_data):
    """'AFP ng/mL' was left out when stored (AFP imputed) and 'Bilirubin umol/L' refused as a
    near miss of bilirubin, while 'AFP (ng/mL)' was stored: a key naming its variable and then
    the variable's own unit, bracketed or not, is stored and read ('µmol/L' as 'umol/L'), in a
    clinical.json and a CSV alike. Another unit so written is refused as stated (mg/dL)."""
    given = json.dumps({"AFP ng/mL": 23.5, "Bilirubin umol/L": 21, "Platelets 10^9/L": 150})
    case = _sarcoma_with(shared_data, given, "clinical.json")
    read = {k: case.clinical[k] for k in ("afp", "bilirubin", "platelets")}
    assert read == {"afp": 23.5, "bilirubin": 21, "platelets": 150}
    assert not case.clinical_refused
    assert not [w for w in case.warnings if "naming no model's variable" in w]
    case = _sarcoma_with(shared_data, "case_id,Total bilirubin µmol/L,AFP ng/mL\nSTS_001,21,9\n")
    assert (case.clinical["bilirubin"], case.clinical["afp"]) == (21, 9)
    with pytest.raises(InputError, match=r"gives? bilirubin in mg/dL, but the model reads it in"):
        _sarcoma_with(shared_data, "case_id,Bilirubin mg/dL\nSTS_001,1.2\n")


@pytest.mark.parametrize(
    ("clinical", "name"),
    [
        ('{"age": 60, "Bilirubin umol/L": 20}', "clinical.json"),
        ("case_id,age,Total bilirubin µmol/L\nSTS_001,60,20\n", "clinical.csv"),
    ],
)
def test_an_uploads_key_followed_by_another_unit_bare_is_refused_as_that_unit(
    shared_data, clinical, name
):
    """Under a model of bilirubin in mg/dL, an upload's 'Bilirubin umol/L' of 20 was refused as
    a near miss advising the value under 'bilirubin', where 20 is read as 20 mg/dL (0.1-35), 17
    times the patient's. It is read in the unit it states, as 'Bilirubin (umol/L)' is, and
    refused saying to convert it."""
    from tests.small_cohorts import bilirubin_mg_dl_schema

    said = (
        r"gives? bilirubin in .mol/L, but the model reads it in mg/dL: convert the value to mg/dL"
    )
    with pytest.raises(InputError, match=said):
        _sarcoma_with(shared_data, clinical, name, bilirubin_mg_dl_schema())


@pytest.mark.parametrize("text", ["-", "haemolysed"])
def test_an_uploads_text_under_a_key_of_another_unit_is_read_as_under_its_own_key(
    shared_data, text
):
    """An upload's 'Bilirubin (umol/L)': '-' or 'pending' under a model of mg/dL was refused
    advising to convert the value to mg/dL (a CSV's column whatever its row held, 'NA' too):
    there is nothing to convert. The text is read as under 'bilirubin' (refused as no number,
    named for the form), a number under that header still refused as in umol/L."""
    from tests.small_cohorts import bilirubin_mg_dl_schema

    schema = bilirubin_mg_dl_schema()
    read = schema["bilirubin"].title
    said = {
        "-": f"{read}: '-' may mean no value or a value: write the value in mg/dL, or leave it "
        "empty (or NA) where it is not known.",
        "haemolysed": f"{read}: 'haemolysed' is not a number.",
    }[text]
    for clinical, name, source in (
        (json.dumps({"age": 60, "Bilirubin (umol/L)": text}), "clinical.json", "clinical.json"),
        (
            f"case_id,age,Bilirubin (umol/L)\nSTS_001,60,{text}\n",
            "clinical.csv",
            "The clinical CSV",
        ),
    ):
        case = _sarcoma_with(shared_data, clinical, name, schema)
        assert (case.clinical["age"], case.clinical["bilirubin"]) == (60, None)
        assert case.clinical_refused == {"bilirubin": f"{source}: {said}"}
    case = _sarcoma_with(
        shared_data, "case_id,age,Bilirubin (umol/L)\nSTS_001,60,NA\n", schema=schema
    )
    assert (case.clinical["bilirubin"], case.clinical_refused) == (None, {})
    with pytest.raises(
        InputError,
        match=r"^The clinical CSV gives bilirubin in umol/L, .* convert the value to mg/dL",
    ):
        _sarcoma_with(shared_data, "case_id,age,Bilirubin (umol/L)\nSTS_001,60,20\n", schema=schema)


def test_an_uploads_key_of_another_unit_or_a_near_miss_saying_no_value_is_missing(shared_data):
    """An upload's 'Bilirubin umol/L': NA under a model of mg/dL and veterans' 'karnofsky':
    not done were refused (a unit to convert, a near miss whose value would be lost) where
    under the variable's own key the value is missing: nothing is lost. The variable is read
    as missing (imputed when scored), the near miss noted."""
    from tests.small_cohorts import bilirubin_mg_dl_schema

    for clinical, name in (
        ('{"age": 60, "Bilirubin umol/L": "NA"}', "clinical.json"),
        ("case_id,age,Bilirubin umol/L\nSTS_001,60,unknown\n", "clinical.csv"),
    ):
        case = _sarcoma_with(shared_data, clinical, name, bilirubin_mg_dl_schema())
        assert (case.clinical["age"], case.clinical["bilirubin"]) == (60, None)
        assert not case.clinical_refused
    given = json.dumps({"Cell type": "squamous", "karnofsky": "not done"})
    case = _sarcoma_with(shared_data, given, "clinical.json", _veterans_schema())
    assert (case.clinical["Celltype"], case.clinical["Karnofsky_score"]) == ("squamous", None)
    assert [w for w in case.warnings if "naming no model's variable" in w] == [
        "Not stored from the upload: 1 clinical value(s) under a key or column naming no "
        "model's variable, not read: 'karnofsky' (nearly Karnofsky_score: give it under that "
        "name)."
    ]


def test_an_uploads_identifying_columns_are_never_stored_under_a_variable(shared_data):
    """A model's variables 'patient_age' and 'residence' (a cohort imported with 'Patient age'):
    an upload's 'Patient name' (nearly patient_age), 'Residence address' (holding residence)
    and 'Age (DOB)' (read as age, its bracket a unit) were stored with the patient's name,
    address and birth date, the first two since the upload began keeping near misses. Only
    columns reading as a variable and naming no patient are stored."""
    from survival_core.paths import data_subdir

    schema = CohortSchema(
        [
            SchemaVariable("patient_age", NUMBER),
            SchemaVariable("residence", CATEGORY, categories=("urban", "rural")),
        ]
    )
    clinical = (
        "case_id,Patient name,Residence address,Age (DOB),Patient age\n"
        'STS_001,SMITH^JANE,"12 Elm Road, Leeds",1961-03-14,62\n'
    )
    case = _sarcoma_with(shared_data, clinical, schema=schema)
    assert case.clinical["patient_age"] == 62 and case.clinical["residence"] is None
    stored = b"".join(p.read_bytes() for p in data_subdir("cases").rglob("*.csv"))
    assert b"Patient age" in stored
    assert not any(value in stored for value in (b"SMITH", b"Elm Road", b"1961-03-14"))


def _stored_uploads() -> set[str]:
    """The upload folders under the data folder, a half-written one's included."""
    return {p.name for p in data_subdir("cases").glob("upload-*")}


def test_an_uploads_near_miss_of_a_missing_variable_is_refused_storing_nothing(shared_data):
    """A clinical CSV's 'karnofsky' of 60 under a veterans model was left out when stored (a key
    naming no variable may identify) and Karnofsky_score imputed with a note alone, while
    `score --values` refuses the same key. The upload is refused naming the file, the key and
    the variable, and nothing of it, its CT included, is stored."""
    before = _stored_uploads()
    clinical = "case_id,Celltype,karnofsky\nSTS_001,squamous,60\n"
    with pytest.raises(InputError) as refused:
        _sarcoma_with(shared_data, clinical, schema=_veterans_schema())
    assert str(refused.value) == (
        "clinical.csv: 'karnofsky' is none of the models' variables but nearly names "
        "'Karnofsky_score', which the file gives under no other key: a key naming no variable "
        "is not stored (its value may identify the patient), so its value would be lost and "
        "Karnofsky_score imputed. Give it under that name, or remove it."
    )
    assert _stored_uploads() == before


def test_an_uploads_near_miss_beside_its_variable_is_left_out_not_refused(shared_data):
    """'karnofsky' beside 'Karnofsky score' (an export giving the score twice): the variable is
    given under its own name and nothing is lost, so the near miss is only left out and named."""
    given = json.dumps({"Karnofsky score": 60, "karnofsky": 60})
    case = _sarcoma_with(shared_data, given, "clinical.json", _veterans_schema())
    assert case.clinical["Karnofsky_score"] == 60
    assert [w for w in case.warnings if "naming no model's variable" in w] == [
        "Not stored from the upload: 1 clinical value(s) under a key or column naming no "
        "model's variable, not read: 'karnofsky' (nearly Karnofsky_score: give it under that "
        "name)."
    ]


def test_an_uploads_patients_name_nearly_naming_patient_age_is_neither_refused_nor_stored(
    shared_data,
):
    """'Patient name' and 'Patient age group' nearly name a variable patient_age, left missing:
    the first names the patient (never stored, never refused), the second holds 'elderly', which
    can be no age. Neither is refused as a near miss, nor stored, nor said to nearly name it."""
    schema = CohortSchema([SchemaVariable("patient_age", NUMBER)])
    given = json.dumps({"Patient name": "Doe^Jane", "Patient age group": "elderly"})
    case = _sarcoma_with(shared_data, given, "clinical.json", schema)
    assert case.clinical["patient_age"] is None
    assert [w for w in case.warnings if "naming no model's variable" in w] == [
        "Not stored from the upload: 1 clinical value(s) under a key or column naming no "
        f"model's variable, not read: {key!r}."
        for key in ("Patient name", "Patient age group")
    ]
    stored = b"".join(p.read_bytes() for p in data_subdir("cases").rglob("*.json"))
    assert b"Doe" not in stored and b"elderly" not in stored


def test_an_uploaded_csv_row_whose_last_cell_is_left_off_is_read(shared_data):
    """A row one cell shorter than its header, as some tools write an empty last value: the
    file was read as one column, 'case_id;age;albumin;afp', said to name no model's variable,
    and every value was dropped. It is read in its semicolons, the AFP not given."""
    case = _breast_with(shared_data, "case_id;age;albumin;afp\nSYN-0001;61;41,5\n")
    assert (case.clinical["age"], case.clinical["albumin"]) == (61, 41.5)
    assert case.clinical["afp"] is None and not case.clinical_refused
    assert not [w for w in case.warnings if "naming no model's variable" in w]


@pytest.mark.parametrize(
    "clinical",
    [
        "\ncase_id;age;albumin\nSTS_000;50;40\nSTS_001;61;41,5\n",
        'case_id,"Albumin\n(g/L)",age\nSTS_000,40,50\nSTS_001,41.5,61\n',
    ],
    ids=["blank_first_line", "header_line_break"],
)
def test_an_uploaded_csvs_header_is_its_first_record_not_its_first_line(shared_data, clinical):
    """The sarcoma CT with a clinical CSV whose export put a blank line before its header, or
    whose header cell holds a line break (Excel's Alt+Enter: 'Albumin' over '(g/L)'): refused,
    'row 2 has 3 cells, but the header has 0 columns' (or 2, the header cut at the break), as
    pandas read both. The header is the first record that is not blank."""
    case = _sarcoma_with(shared_data, clinical)
    assert (case.clinical["age"], case.clinical["albumin"]) == (61, 41.5)
    assert not case.clinical_refused


@pytest.mark.parametrize("space", [" ", "\u00a0", "\u202f"], ids=["space", "nbsp", "narrow"])
def test_an_uploaded_csvs_thousands_grouped_by_spaces_are_read(shared_data, space):
    """A French or Swiss Excel's '1 234,5' (a space, a no-break or a narrow no-break one
    grouping thousands) was refused as not a number, while '1.234,5' was read. Read where its
    groups are of three digits; '12 34,5' groups nothing and is refused as before."""
    case = _breast_with(shared_data, f"case_id;afp;albumin\nSYN-0001;1{space}234,5;38\n")
    assert (case.clinical["afp"], case.clinical["albumin"]) == (1234.5, 38)
    assert not case.clinical_refused
    odd = f"12{space}34,5"
    case = _breast_with(shared_data, f"case_id;afp;albumin\nSYN-0001;{odd};38\n")
    assert case.clinical["afp"] is None and case.clinical_refused == {
        "afp": f"The clinical CSV: Alpha-fetoprotein (afp): {odd!r} is not a number."
    }


@pytest.mark.parametrize("sep", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_an_uploaded_csv_row_wider_than_its_header_is_refused_unless_its_extra_cell_is_empty(
    shared_data, sep
):
    """A data row one cell wider than its header: a semicolon's or a tab's file was stored as
    one column, unreadable ('No columns to parse from file', pandas' words), a comma's stored
    without its extra cell, unsaid. A filled extra cell is refused at upload, naming the file,
    the row and the counts; an empty one (a delimiter ending the data rows only) is no value."""
    header = sep.join(["case_id", "age", "albumin"])
    case = _breast_with(shared_data, f"{header}\nSYN-0001{sep}61{sep}38{sep}\n")
    assert (case.clinical["age"], case.clinical["albumin"]) == (61, 38)
    assert not case.clinical_refused
    with pytest.raises(InputError) as refused:
        _breast_with(shared_data, f"{header}\nSYN-0001{sep}61{sep}38{sep}extra\n")
    assert str(refused.value).startswith(
        "clinical.csv: row 2 has 4 cells, but the header has 3 columns: its values would be "
        "read under the wrong columns."
    )


@pytest.mark.parametrize(
    ("clinical", "expected"),
    [
        ('case_id,afp,albumin\nSYN-0001,"1,200",31\n', {"afp": 1200.0, "albumin": 31.0}),
        (
            "case_id;afp;albumin;inr\nSYN-0001;1.200;41,5;1,170\n",
            {"afp": 1200.0, "albumin": 41.5, "inr": 1.17},
        ),
    ],
)
def test_an_upload_stored_before_its_numbers_were_in_normal_form_is_stored_anew(
    shared_data, monkeypatch, clinical, expected
):
    """breast1 (pyradiomics) and its one-row CSV, stored before numbers were stored in normal
    form: the copy kept them as uploaded ('1,200' of a comma-delimited file is 1200), its cut
    read deciding them. Reused by the reader deciding none, its AFP was refused as ambiguous;
    the upload lands in a new folder once, read as its whole file reads it."""
    import hashlib

    from survival_core.io import uploads
    from survival_core.io.upload_case import forget_uploads

    volumes = shared_data / "pyradiomics"
    files = [(n, (volumes / n).read_bytes()) for n in ("breast1_image.nrrd", "breast1_label.nrrd")]
    files.append(("clinical.csv", clinical.encode()))

    def token_before(name, uploaded, cleaned, deid):  # the folder name the store gave before
        if name.lower().endswith((".csv", ".json")):
            return deid.content_token(uploads._as_valued(uploaded))
        return hashlib.sha256(cleaned).digest()

    with monkeypatch.context() as before:
        before.setattr(uploads, "_token", token_before)
        old = store_upload(files)
    stored_before = clinical.replace("SYN-0001", UPLOAD_ROW)  # its numbers as uploaded
    (old / "clinical.csv").write_text(stored_before)
    forget_uploads()  # another process, after the change
    contents = describe_upload(store_upload(files))
    case = load_upload(contents, contents.suggested_roles(), correctable=True)
    assert {name: case.clinical[name] for name in expected} == expected
    assert not case.clinical_refused
    assert contents.folder != old and (old / "clinical.csv").read_text() == stored_before


def _patient_named(folder) -> list[tuple[str, bytes]]:
    """A NIfTI case's files named as an export names them: after the patient."""
    return [
        ("Zyxwv_Qwerty_CT.nii.gz", (folder / "image.nii.gz").read_bytes()),
        ("Zyxwv_Qwerty_GTV.nii.gz", (folder / "gtv.nii.gz").read_bytes()),
        ("Zyxwv_Qwerty_Liver.nii.gz", (folder / "liver.nii.gz").read_bytes()),
    ]


def test_patient_named_volumes_are_stored_neutrally_and_still_matched(small_cohort):
    folder = _first(small_cohort, "nifti")
    contents = describe_upload(store_upload(_patient_named(folder)))
    assert sorted(contents.volumes) == ["CT.nii.gz", "GTV.nii.gz", "Liver.nii.gz"]
    assert contents.suggested_image() == "CT.nii.gz"
    assert contents.suggested_roles() == {"gtv": ["GTV.nii.gz"], "organ": ["Liver.nii.gz"]}
    case = load_upload(contents, contents.suggested_roles())
    reference = load_case(folder)
    assert case.case_id == contents.folder.name and case.site == "liver"
    np.testing.assert_array_equal(case.mask_array("gtv"), reference.mask_array("gtv"))
    np.testing.assert_array_equal(case.mask_array("organ"), reference.mask_array("organ"))


def test_neutrally_stored_volumes_are_shown_under_their_uploaded_names(small_cohort):
    """The Case page offered and named 'volume-1.nii.gz' for a file the user knows as
    'Zyxwv_0412.nii.gz': the stored names are mapped back in memory, exactly."""
    folder = _first(small_cohort, "nifti")
    image, gtv, liver = (content for _, content in _patient_named(folder))
    files = [
        ("Zyxwv 0412 (arterial).nii.gz", image),
        ("Zyxwv_0412.nii.gz", image),
        ("Zyxwv_Qwerty_GTV.nii.gz", gtv),
        ("GTV-2.nii.gz", gtv),
        ("Zyxwv_Qwerty_Liver.nii.gz", liver),
    ]
    contents = describe_upload(store_upload(files))
    known_as = uploaded_volume_names(name for name, _ in files)
    assert known_as == {
        "arterial.nii.gz": "Zyxwv 0412 (arterial).nii.gz",
        "volume-1.nii.gz": "Zyxwv_0412.nii.gz",
        "GTV.nii.gz": "Zyxwv_Qwerty_GTV.nii.gz",
        "Liver.nii.gz": "Zyxwv_Qwerty_Liver.nii.gz",
    }  # GTV-2.nii.gz kept its name
    assert set(known_as) | {"GTV-2.nii.gz"} == set(contents.volumes)
    with pytest.raises(MaskError) as info:
        load_upload(contents, {"gtv": ("volume-1.nii.gz",)}, image_name="arterial.nii.gz")
    shown = as_uploaded(str(info.value), known_as)
    assert "volume-1.nii.gz (uploaded as Zyxwv_0412.nii.gz)" in shown
    assert as_uploaded("GTV.nii.gz and GTV-2.nii.gz.", known_as) == (
        "GTV.nii.gz (uploaded as Zyxwv_Qwerty_GTV.nii.gz) and GTV-2.nii.gz."
    )
    assert as_uploaded("Liver.nii.gz:2", known_as) == (
        "Liver.nii.gz:2 (uploaded as Zyxwv_Qwerty_Liver.nii.gz)"
    )


def test_an_upload_stored_under_its_uploaded_names_still_loads(small_cohort):
    """Folders written before uploads were renamed keep the uploaded names, and load as before."""
    folder = _first(small_cohort, "nifti")
    old = data_subdir("cases") / "upload-0ld0ld0ld0ld0ld0"
    old.mkdir()
    for name, content in _patient_named(folder):
        (old / name).write_bytes(content)
    contents = describe_upload(old)
    assert contents.suggested_image() == "Zyxwv_Qwerty_CT.nii.gz"
    roles = contents.suggested_roles()
    assert roles == {"gtv": ["Zyxwv_Qwerty_GTV.nii.gz"], "organ": ["Zyxwv_Qwerty_Liver.nii.gz"]}
    case = load_upload(contents, roles)
    np.testing.assert_array_equal(case.mask_array("gtv"), load_case(folder).mask_array("gtv"))


def test_a_zip_of_patient_named_volumes_is_named_by_the_upload(small_cohort, tmp_path):
    folder = _first(small_cohort, "nifti")
    export = tmp_path / "Zyxwv_Qwerty"
    export.mkdir()
    for name, content in _patient_named(folder):
        (export / name).write_bytes(content)
    contents = describe_upload(store_upload([("Zyxwv_Qwerty.zip", _zip(export))]))
    assert contents.kind == "archive"
    assert contents.suggested_roles() == {"gtv": ["GTV.nii.gz"], "organ": ["Liver.nii.gz"]}
    case = load_upload(contents, contents.suggested_roles())
    assert case.case_id == contents.folder.name  # not the archive's or its folder's name
    assert case.mask_volume_ml("gtv") == pytest.approx(load_case(folder).mask_volume_ml("gtv"))


def test_image_cannot_also_be_a_mask(small_cohort):
    folder = _first(small_cohort, "nifti")
    files = [
        ("image.nii.gz", (folder / "image.nii.gz").read_bytes()),
        ("gtv.nii.gz", (folder / "gtv.nii.gz").read_bytes()),
    ]
    contents = describe_upload(store_upload(files))
    with pytest.raises(InputError, match="both the image and a mask"):
        load_upload(contents, {"gtv": "image.nii.gz"}, image_name="image.nii.gz")


def test_empty_and_multi_zip_uploads_are_refused(tmp_path):
    with pytest.raises(InputError):
        store_upload([])
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    folder = store_upload([("a.zip", empty.getvalue()), ("b.zip", empty.getvalue() + b" ")])
    with pytest.raises(InputError, match="one zip at a time"):
        describe_upload(folder)


def test_a_deleted_upload_is_named_not_a_missing_file_error(tmp_path):
    with pytest.raises(InputError, match="gone no longer exists.*upload the files again"):
        describe_upload(tmp_path / "gone")


@pytest.mark.parametrize(
    ("image", "mask", "voxels"),
    [
        ("pyradiomics/lung1_image.nrrd", "pyradiomics/lung1_label.nrrd", 837),
        ("pyradiomics/brain1_image.nrrd", "pyradiomics/brain1_label.nrrd", 4137),
        (
            "ibsi1/digital_phantom/nifti/image/phantom.nii.gz",
            "ibsi1/digital_phantom/nifti/mask/mask.nii.gz",
            74,
        ),
    ],
)
def test_real_image_and_mask_files_are_suggested_the_right_way_round(
    shared_data, image, mask, voxels
):
    """pyradiomics' samples and the IBSI phantom as a user drops them: the image is the image
    (never 'mask.nii.gz', never 'lung1_image' as a lung organ), the one mask the GTV."""
    paths = [shared_data / image, shared_data / mask]
    if not all(p.is_file() for p in paths):
        pytest.skip("sample files not in ../shared/data")
    contents = describe_upload(store_upload([(p.name, p.read_bytes()) for p in paths]))
    stored_mask = next(v for v in contents.volumes if v != contents.suggested_image())
    assert contents.suggested_roles() == {"gtv": [stored_mask]}
    modality = "MR" if "brain" in image else None
    case = load_upload(contents, contents.suggested_roles(), modality=modality)
    assert int(case.mask_array("gtv").sum()) == voxels


def test_a_data_folder_under_a_hidden_folder_reads_image_and_mask_folders(
    shared_data, tmp_path, monkeypatch
):
    """RADSURV_DATA_DIR=~/.radsurv: a case's image/ and mask/ folders were skipped as hidden (the
    dot of a folder above the case counted), so the IBSI phantom zipped as it ships, and the same
    folder loaded from there, was read as DICOM: 'No DICOM files found'."""
    phantom = shared_data / "ibsi1" / "digital_phantom" / "nifti"
    if not phantom.is_dir():
        pytest.skip("the IBSI phantom is not in ../shared/data")
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / ".radsurv"))
    contents = describe_upload(store_upload([("phantom.zip", _zip(phantom))]))
    case = load_upload(contents, {"gtv": ["mask/mask.nii.gz"]})
    assert int(case.mask_array("gtv").sum()) == 74
    hidden = shutil.copytree(phantom, tmp_path / ".cases" / "phantom")
    assert int(load_case(hidden, roles={"gtv": "mask/mask.nii.gz"}).mask_array("gtv").sum()) == 74


@pytest.mark.parametrize("case_key", ["P003", "lung_003"])
def test_an_nnunet_image_channel_and_its_label_map_keep_their_pairing(
    shared_data, tmp_path, case_key
):
    """nnU-Net's 'P003_0000.nii.gz' (the image's first channel) and 'P003.nii.gz' (its label
    map) dropped together were stored as 'volume-2' and 'volume-1', and the label map was
    suggested as the image: the stored names keep the channel, so the image is the image."""
    image, mask = (shared_data / "pyradiomics" / f"lung1_{n}.nrrd" for n in ("image", "label"))
    if not image.is_file() or not mask.is_file():
        pytest.skip("sample files not in ../shared/data")
    files = []
    for source, name in ((image, f"{case_key}_0000.nii.gz"), (mask, f"{case_key}.nii.gz")):
        sitk.WriteImage(sitk.ReadImage(str(source)), str(tmp_path / name))
        files.append((name, (tmp_path / name).read_bytes()))
    contents = describe_upload(store_upload(files))
    label_map = next(v for v in contents.volumes if not v.endswith("_0000.nii.gz"))
    assert contents.suggested_image() == label_map.replace(".nii.gz", "_0000.nii.gz")
    case = load_upload(contents, {"gtv": [label_map]})
    assert case.image.GetPixelID() != sitk.sitkUInt8
    assert int(case.mask_array("gtv").sum()) == 837


def test_two_patients_in_one_upload_are_not_prefilled(shared_data):
    """The real sarcoma CT and the IBSI CT phantom in one zip: two patients, so no GTV is
    pre-filled (both patients' would be) and nothing loads unasked; one patient's GTV loads."""
    sarcoma, phantom = (
        shared_data / "sts_sarcoma" / "STS_001" / "CT",
        shared_data / "ibsi1" / "ct_radiomics_phantom",
    )
    if not sarcoma.is_dir() or not phantom.is_dir():
        pytest.skip("real DICOM not in ../shared/data")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder, prefix in ((sarcoma, "a"), (phantom, "b")):
            for path in sorted(folder.rglob("*.dcm")):
                archive.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    contents = describe_upload(store_upload([("two.zip", buffer.getvalue())]))
    assert len(contents.patients()) == 2
    assert contents.suggested_roles() == {} and not contents.roles_clear()
    sarcoma_series = next(
        s for s in contents.series if "GTV_Mass_CT" in str(s.referenced_by) or s.slices == 59
    )
    case = load_upload(contents, {"gtv": ["GTV_Mass_CT"]}, series_uid=sarcoma_series.series_uid)
    assert case.mask_volume_ml("gtv") == pytest.approx(365.3, abs=0.5)
    assert any("another patient's files" in w for w in case.warnings)


def test_a_clinical_json_of_any_name_is_read(small_cohort):
    """'lung2_clinical.json' was stored as 'file-1.json' and never read: the case's values were
    imputed without a word."""
    folder = _first(small_cohort, "nifti")
    files = [
        ("ct.nii.gz", (folder / "image.nii.gz").read_bytes()),
        ("tumour.nii.gz", (folder / "gtv.nii.gz").read_bytes()),
        ("patient_clinical.json", b'{"albumin": 50, "bilirubin": 8, "ecog": 0}'),
    ]
    contents = describe_upload(store_upload(files))
    case = load_upload(contents, {"gtv": "tumour.nii.gz"}, image_name="ct.nii.gz")
    assert (case.clinical["albumin"], case.clinical["bilirubin"], case.clinical["ecog"]) == (
        50,
        8,
        0,
    )


def test_two_zips_of_one_patient_are_refused_by_what_they_are(small_cohort):
    """A patient's CT zip and MR zip: both were stored under the patient's pseudonym and refused
    as 'Two uploaded files are both named RS-....zip', a name the user never gave."""
    folder = _first(small_cohort, "dicom")
    data = _zip(folder)
    stored = store_upload([("ct.zip", data), ("mr.zip", data + b"")])
    with pytest.raises(InputError, match="one zip at a time"):
        describe_upload(stored)


def test_clinical_csv_headers_with_units_are_read_and_checked(small_cohort):
    """'Albumin (g/L)' was not recognised (dropped when the upload was stored): albumin was
    imputed while the user had given it. Now a header's unit is read and checked against the
    variable's."""
    folder = _first(small_cohort, "dicom")
    own = load_case(folder).case_id

    def upload(csv: str):
        data = ("\ufeff" + csv.format(own=own)).encode("utf-8")
        files = [("case.zip", _zip(folder)), ("clinical.csv", data)]
        contents = describe_upload(store_upload(files))
        return load_upload(contents, contents.suggested_roles())

    case = upload("Case ID;Albumin (g/L);Bilirubin (µmol/L)\n{own};35,2;17\n")
    assert case.clinical["albumin"] == 35.2 and case.clinical["bilirubin"] == 17
    # a column kept by no model is said by its header (a misspelt variable was imputed unsaid)
    text = f"Case ID;Albumin (g/L);Tumour size\n{own};35,2;58\n".encode()
    stored = store_upload([("case.zip", _zip(folder)), ("clinical.csv", text)])
    (note,) = [n for n in upload_notes(stored) if "'Tumour size'" in n]
    assert "naming no model's variable" in note and "58" not in note
    # outcomes are no misspelt variables: left out unsaid
    text = f"Case ID;Albumin (g/L);Time (days);event\n{own};35,2;400;1\n".encode()
    stored = store_upload([("case.zip", _zip(folder)), ("clinical.csv", text)])
    assert not [n for n in upload_notes(stored) if "naming no model's variable" in n]
    with pytest.raises(
        InputError, match=r"^The clinical CSV gives bilirubin in mg/dL, but the model reads it in"
    ):
        upload("Case ID;Albumin (g/L);Bilirubin (mg/dL)\n{own};35,2;1.0\n")


def test_clinical_json_keys_are_read_as_a_clinical_csvs_headers(small_cohort):
    """An uploaded clinical.json lost every key not written in lower case ('Age', 'AFP', 'ECOG',
    'INR'): stored without them, the values were imputed without a word (a risk of -0.64 for a
    case scored 3.89 from its folder). Keys are matched as a CSV's headers are; a key naming no
    variable is said on the page; a key given twice is refused."""
    folder = _first(small_cohort, "dicom")
    given = json.loads((folder / "clinical.json").read_text())
    written = {"ECOG" if k == "ecog" else f" {k.upper()} " if len(k) <= 3 else k.title(): v
               for k, v in given.items()}  # fmt: skip
    written["Albumin (g/L)"] = written.pop("Albumin")

    def upload(text: str):
        files = [("case.zip", _zip(folder)), ("clinical.json", text.encode())]
        contents = describe_upload(store_upload(files))
        return load_upload(contents, contents.suggested_roles())

    case = upload(json.dumps({**written, "Tumour size": 58}))
    assert case.clinical == load_case(folder).clinical
    assert any("'Tumour size'" in w for w in case.warnings)
    with pytest.raises(InputError, match=r"'AFP' is given twice \(12 and 4429.1\)"):
        upload('{"AFP": 12, "AFP": 4429.1}')
    with pytest.raises(InputError, match=r"the case id is given under 'Case ID' and 'case_id'"):
        upload('{"Case ID": "A1", "case_id": "B2", "afp": 12}')


@pytest.mark.parametrize("name", ["case.zip", "image.nii.gz", "clinical.csv"])
def test_an_empty_file_is_named_as_empty(name):
    """A 0-byte upload (a failed save or transfer) was described as 'holds text, not the zip
    archive its name says'."""
    with pytest.raises(InputError, match=rf"^{name} is empty \(0 bytes\)"):
        describe_upload(store_upload([(name, b"")]))


def test_messages_name_the_upload_not_the_servers_folder(tmp_path, monkeypatch):
    from survival_core.paths import data_dir
    from ui.state import without_server_paths

    upload = data_dir().resolve() / "cases" / "upload-0123abcd"
    assert without_server_paths(f"No DICOM files found in {upload}.") == (
        "No DICOM files found in the upload."  # was 'in The upload'
    )
    assert without_server_paths(f"{upload} holds no image.") == "The upload holds no image."
    assert without_server_paths(f"{upload}/case.zip: bad") == "case.zip: bad"


def test_a_plan_beside_the_sarcoma_ct_is_left_out_and_the_case_says_so(shared_data):
    """The real sarcoma CT and RTSTRUCT with pydicom's real RT plan, its label the patient's
    name: the plan was stored; now the case loads without it and says what was left out."""
    import pydicom
    from pydicom.data import get_testdata_file

    from tests.dicom_fixtures import zip_bytes

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    plan_file = get_testdata_file("rtplan.dcm")
    if not source.is_dir() or plan_file is None:
        pytest.skip("the sarcoma CT or pydicom's RT plan is not installed")
    plan = pydicom.dcmread(plan_file)
    plan.RTPlanLabel, plan.RTPlanName = "ZYXWV", "ZYXWV QWERTY plan"
    buffer = io.BytesIO()
    plan.save_as(buffer)
    members = {
        f"ct/{p.relative_to(source).as_posix()}": p.read_bytes() for p in source.rglob("*.dcm")
    }
    members["plan/plan.dcm"] = buffer.getvalue()
    contents = describe_upload(store_upload([("case.zip", zip_bytes(members))]))
    with zipfile.ZipFile(contents.source) as archive:
        assert not [m for m in archive.namelist() if b"ZYXWV" in archive.read(m)]
    case = load_upload(contents, contents.suggested_roles())
    assert case.mask_array("gtv").any()
    assert (
        "Not stored from the upload: 1 DICOM RTPLAN object(s), which no case is read from."
        in case.warnings
    )


#: What an upload says of a copy of one of its DICOM files, read once.
_COPY_READ_ONCE = (
    "Not stored from the upload: 1 file(s) repeating another uploaded file (the same "
    "SOPInstanceUID and data, pixels included: a copy, as a PACS export or a DICOMDIR beside its "
    "files may hold), read once."
)


def test_a_copy_of_a_slice_is_read_once_loose_or_zipped_and_one_that_differs_is_refused(
    shared_data,
):
    """The real sarcoma CT with slice 30 exported again as explicit VR (the same SOPInstanceUID
    and data set), as a folder read reads it once: uploaded loose, both were refused as 'one
    file'; zipped, refused as 'different content' (a byte-identical copy dropped without a
    word). It is read once, said on the case; one that differs (another SeriesDescription) is
    refused naming both, zipped too, where de-identification had made them alike."""
    import pydicom

    from tests.dicom_fixtures import zip_bytes

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    files = {p.name: p.read_bytes() for p in sorted(source.rglob("*.dcm"))}
    ds = pydicom.dcmread(source / "image" / "000030.dcm")
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    again = io.BytesIO()
    ds.save_as(again, enforce_file_format=True)
    copied = {**files, "export_30.dcm": again.getvalue()}
    for upload in (list(copied.items()), [("ct.zip", zip_bytes(copied))]):
        contents = describe_upload(store_upload(upload))
        case = load_upload(contents, contents.suggested_roles())
        assert case.image.GetSize() == (198, 202, 59)
        assert _COPY_READ_ONCE in case.warnings
    ds.SeriesDescription = "edited"
    edited = io.BytesIO()
    ds.save_as(edited, enforce_file_format=True)
    differing = {"000030.dcm": files["000030.dcm"], "export_30.dcm": edited.getvalue()}
    with pytest.raises(InputError, match="The uploaded files 000030.dcm and export_30.dcm are one"):
        store_upload(list(differing.items()))
    with pytest.raises(InputError, match="The zip's files 000030.dcm and export_30.dcm are one"):
        store_upload([("ct.zip", zip_bytes(differing))])


def _sarcoma_plan(shared_data, tmp_path, rois: dict[str, str]) -> bytes:
    """The real sarcoma CT with an RTSTRUCT of its real GTV and other structures, named as a
    planning system names them (``rois``: name -> 'gtv', 'node' (a ball far from the GTV),
    'slab' (the slices above the tumour), 'box' (a box holding the tumour), 'rim' (a ring 4
    voxels wide around the GTV, the GTV its hole) or 'edit' (the GTV grown by 3 voxels in
    plane, an edited copy)), zipped."""
    from scipy import ndimage

    from survival_core.io.dicom_write import write_ct_series, write_rtstruct
    from tests.dicom_fixtures import zip_bytes

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    real = load_case(source)
    gtv = sitk.GetArrayFromImage(real.masks["gtv"]).astype(np.uint8)
    z = np.flatnonzero(gtv.any(axis=(1, 2)))
    shapes = {"gtv": gtv, "node": np.zeros_like(gtv), "slab": np.zeros_like(gtv)}
    shapes["node"][z[0] : z[0] + 3, 10:20, 10:20] = 1
    shapes["slab"][z[-1] + 3 :, 40:-40, 40:-40] = 1
    shapes["box"] = np.zeros_like(gtv)
    shapes["box"][max(z[0] - 2, 0) : z[-1] + 3, 20:-20, 20:-20] = 1
    in_plane = np.ones((1, 3, 3), bool)
    grown = ndimage.binary_dilation(gtv.astype(bool), in_plane, iterations=4)
    shapes["rim"] = (grown & ~gtv.astype(bool)).astype(np.uint8)
    shapes["edit"] = ndimage.binary_dilation(gtv.astype(bool), in_plane, 3).astype(np.uint8)

    def image(array: np.ndarray) -> sitk.Image:
        mask = sitk.GetImageFromArray(array)
        mask.CopyInformation(real.image)
        return mask

    info = write_ct_series(real.image, tmp_path / "ct", patient_id="PLAN01", uid_seed="plan")
    write_rtstruct(
        {name: image(shapes[shape]) for name, shape in rois.items()},
        info,
        tmp_path / "rs" / "RS.dcm",
        uid_seed="plan",
    )
    return zip_bytes(
        {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*.dcm")}
    )


def test_a_prefilled_organ_is_checked_as_one_found_by_name(shared_data, tmp_path):
    """A head-and-neck plan (GTVp, GTVn, the brain as an organ at risk, a parotid): the Case page
    passed its pre-filled roles as chosen, so the brain hosted the tumour (site brain) without a
    word, where the loader sets an organ not surrounding the GTV aside; nor was the GTVs' union
    said. A role the user changes is still taken as chosen."""
    plan = {"GTVp": "gtv", "GTVn": "node", "Brain": "slab", "Parotid_L": "node"}
    contents = describe_upload(
        store_upload([("plan.zip", _sarcoma_plan(shared_data, tmp_path, plan))])
    )
    site = contents.suggested_site()
    prefilled = {"gtv": ("GTVp", "GTVn"), "organ": ("Brain",)}
    assert {r: tuple(v) for r, v in contents.suggested_roles(site).items()} == prefilled
    roles = contents.roles_to_load(prefilled, site)
    assert roles == {}  # both as the names give them: found again, with the loader's checks
    case = load_upload(contents, roles)
    assert "organ" not in case.masks and case.site is None
    assert any("'Brain' looks like the brain but" in w for w in case.warnings)
    assert "The GTV is the union of 'GTVp', 'GTVn'." in case.warnings
    chosen = contents.roles_to_load({"gtv": ("GTVp",), "organ": ()}, site)
    assert chosen == {"gtv": ("GTVp",), "organ": ()}


def test_versions_of_one_gtv_are_never_united(shared_data, tmp_path):
    """A replanned GTV beside the first ('GTV', 'GTV_replan'; the CBCT's, another time point's)
    was united with it: a tumour larger than either. Nothing is pre-filled; the loader refuses
    the union by name; the GTV the user picks loads alone."""
    from survival_core.errors import RTStructError

    plan = {"GTV": "gtv", "GTV_replan": "node", "Liver": "box"}
    contents = describe_upload(
        store_upload([("plan.zip", _sarcoma_plan(shared_data, tmp_path, plan))])
    )
    assert "gtv" not in contents.suggested_roles() and not contents.roles_clear()
    with pytest.raises(RTStructError, match="'GTV', 'GTV_replan' look like drawings of one tumour"):
        load_upload(contents, {})
    case = load_upload(contents, {"gtv": ["GTV"]})
    gtv = sitk.GetArrayFromImage(case.masks["gtv"])
    assert np.array_equal(gtv, sitk.GetArrayFromImage(case.structures["GTV"]))


@pytest.mark.parametrize(
    ("plan", "refusal"),
    [
        ({"GTV": "gtv", "Tumour_zone": "rim"}, "'Tumour_zone' is drawn around 'GTV' (a ring"),
        ({"GTV": "gtv", "GTV_A": "edit"}, "'GTV' and 'GTV_A' overlap (most of the smaller"),
    ],
)
def test_a_gtv_and_its_rim_or_another_drawing_are_never_united(
    shared_data, tmp_path, plan, refusal
):
    """The sarcoma's GTV beside a ring around it, or an edited copy, under names no list knows:
    the rim (617 mL with the 365 mL GTV) or the copy was united into the GTV. Their geometry
    says one tumour: the load refuses naming both; the GTV the user picks loads alone, and
    lesions drawn apart are still united (test_a_prefilled_organ_is_checked_as_one_found_by_name)."""
    from survival_core.errors import RTStructError

    contents = describe_upload(
        store_upload([("plan.zip", _sarcoma_plan(shared_data, tmp_path, plan))])
    )
    with pytest.raises(RTStructError, match=re.escape(refusal)) as err:
        load_upload(contents, {})
    assert "Say which structure is the GTV" in str(err.value)
    case = load_upload(contents, {"gtv": ["GTV"]})
    assert np.array_equal(
        *(sitk.GetArrayFromImage(m) for m in (case.masks["gtv"], case.structures["GTV"]))
    )


def test_a_gtvs_rim_or_halo_is_never_a_role(shared_data, tmp_path):
    """'GTV_Rim' (a ring around the GTV) was united into it; a rim, halo or peritumoral ring of
    the GTV is no tumour: the GTV alone is taken, nothing said of a union."""
    plan = {"GTV": "gtv", "GTV_Rim": "rim", "GTV_Halo": "rim", "Tumor_peri": "rim"}
    contents = describe_upload(
        store_upload([("plan.zip", _sarcoma_plan(shared_data, tmp_path, plan))])
    )
    assert contents.suggested_roles() == {"gtv": ["GTV"]}
    case = load_upload(contents, {})
    assert np.array_equal(
        *(sitk.GetArrayFromImage(m) for m in (case.masks["gtv"], case.structures["GTV"]))
    )
    assert not any("union" in w for w in case.warnings)


def test_an_upload_of_two_structure_sets_asks_for_one(shared_data, tmp_path):
    """The page pre-filled structures of two sets (a load reads one) and loaded at once: it now
    lists each set by label and structures, pre-fills nothing and loads what is chosen from one."""
    from tests.dicom_fixtures import zip_bytes
    from tests.test_case_loader import _sarcoma_with_two_structure_sets

    folder = _sarcoma_with_two_structure_sets(shared_data, tmp_path, by_series=True)
    members = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.iterdir()}
    contents = describe_upload(store_upload([("case.zip", zip_bytes(members))]))
    assert len(contents.structure_sets) == 2
    assert any(s.endswith("with 'GTV_Mass_CT'") for s in contents.structure_sets)
    assert contents.suggested_roles() == {} and not contents.roles_clear()
    case = load_upload(contents, {"gtv": ["GTV_Mass_CT"]})
    assert list(case.structures) == ["GTV_Mass_CT"]


def test_two_reconstructions_are_told_apart_by_their_kernel(shared_data, tmp_path):
    """The sarcoma CT reconstructed twice (kernels B70f and B30f): once de-identified (their
    descriptions removed) the choice read '(CT series 2, 59 slices of 3.27 mm); (CT series 3, 59
    slices of 3.27 mm)'. Each series is offered and refused with its kernel."""
    import pydicom
    from pydicom.uid import generate_uid

    from tests.dicom_fixtures import zip_bytes

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    members, soft = {}, generate_uid()
    for path in sorted((source / "image").glob("*.dcm")):
        for kernel, folder in (("B70f", "lung"), ("B30f", "soft")):
            ds = pydicom.dcmread(path)
            ds.ConvolutionKernel, ds.SeriesDescription = kernel, f"{folder} {kernel}"
            if kernel == "B30f":
                ds.SeriesInstanceUID, ds.SOPInstanceUID, ds.SeriesNumber = soft, generate_uid(), 3
            buffer = io.BytesIO()
            ds.save_as(buffer)
            members[f"{folder}/{path.name}"] = buffer.getvalue()
    members["RS.dcm"] = (source / "mask" / "RS.dcm").read_bytes()
    contents = describe_upload(store_upload([("case.zip", zip_bytes(members))]))
    assert sorted(s.kernel for s in contents.series) == ["B30f", "B70f"]
    assert not any(s.description for s in contents.series)  # removed by de-identification
    with pytest.raises(InputError, match=r"series 3, 59 slices of 3\.27 mm, kernel B30f\)"):
        load_upload(contents, {})


@pytest.mark.parametrize(
    ("clinical", "written"),
    [
        ("\ufeff患者编号,年龄,性别(男/女)\nSTS_001,63,女\n", "'患者编号', '年龄', '性别(男/女)'"),
        ("患者编号,年龄,性别(男/女)\nSTS_001,63,女\n", "'患者编号', '年龄', '性别(男/女)'"),
        ("病人ID,年龄\nSTS_001,63\n", "'病人ID', '年龄'"),
        ("Kennung,Alter\nSTS_001,63\n", "'Kennung', 'Alter'"),
    ],
    ids=["chinese-bom", "chinese", "chinese-id", "german"],
)
def test_an_uploaded_csv_naming_no_id_and_no_variable_is_refused_saying_so(
    shared_data, clinical, written
):
    """The real sarcoma CT with a one-row CSV whose headers name neither the patient ID nor a
    model's variable: its stored copy was empty, and loading the case failed with pandas' 'No
    columns to parse from file'. Refused at upload, naming its columns and the variables."""
    from tests.dicom_fixtures import zip_bytes

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    members = {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*.dcm")}
    files = [("ct.zip", zip_bytes(members)), ("clinical.csv", clinical.encode())]
    with pytest.raises(InputError) as refused:
        store_upload(files, frozenset({"case_id", "age", "albumin"}))
    assert str(refused.value) == (
        f"clinical.csv: no patient ID column among its columns as written ({written}), and none "
        "naming the model's variables (age, albumin), so nothing of it can be read. Head the ID "
        "column 'case_id' (or 'Patient ID', 'MRN') and the values' columns by the variables' "
        "names, or upload the images without it."
    )


def test_the_mr_gtv_chosen_beside_the_ct_reads_the_mr(shared_data, tmp_path):
    """The real sarcoma CT and T1 MR uploaded together, each with its RTSTRUCT (both re-exported:
    neither names its image's series or slices; one frame of reference): the MR's GTV chosen
    read the CT under it (mean 28.5 HU, the MR's 325.8). The MR set names MR Image Storage
    slices, so the MR is read; a set naming no kind of image leaves CT or MR open, the CT
    being the CT set's: refused naming both."""
    study = shared_data / "sts_sarcoma" / "STS_001"
    if not study.is_dir():
        pytest.skip("the sarcoma study is not installed")
    mr = load_case(study / "MR_T1")
    shutil.copytree(study / "CT", tmp_path / "study" / "ct")
    shutil.copytree(study / "MR_T1", tmp_path / "study" / "mr")
    contents = describe_upload(store_upload([("study.zip", _zip(tmp_path / "study"))]))
    case = load_upload(contents, {"gtv": ["GTV_Mass_MR_T1"]})
    assert case.modality == "MR"
    gtv = case.mask_array("gtv")
    assert case.array()[gtv].mean() == pytest.approx(mr.array()[mr.mask_array("gtv")].mean())
    assert case.array()[gtv].mean() == pytest.approx(325.8, abs=0.1)
    _naming_no_slice(tmp_path / "study" / "mr" / "mask" / "RS.dcm")
    with pytest.raises(InputError) as refused:
        load_case(tmp_path / "study", roles={"gtv": ["GTV_Mass_MR_T1"]})
    said = str(refused.value)
    assert "kind of image (SOP class) of none of them" in said and "(--series)" in said
    assert "(CT series 2, " in said and "(MR series 5436027, " in said
    assert (
        "while RTSTRUCT 'RTstruct' of 2009-10-17 with 'GTV_Mass_CT' was drawn on the CT read "
        in said
    )


def _naming_no_slice(rs) -> None:
    """Strip the RTSTRUCT ``rs`` of its slice and series references (ContourImageSequence,
    RTReferencedStudySequence), as exporters write a set naming only its frame of reference."""
    import pydicom

    ds = pydicom.dcmread(rs)
    for roi in ds.ROIContourSequence:
        for contour in roi.ContourSequence:
            del contour.ContourImageSequence
    del ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence
    ds.save_as(rs)


def test_a_pet_ct_set_naming_no_slice_reads_the_ct_with_roles_as_without(shared_data, tmp_path):
    """The real sarcoma CT with a PET of its frame of reference (a PET/CT), its RTSTRUCT naming
    no slice or series: read the CT without roles, it was refused with them (as the Case page
    always loads), asking for --series. The CT is read both ways, as the page pre-selects; the
    MR's set so stripped beside the CT's set stays refused, an upload naming the page's box."""
    import pydicom
    from pydicom.uid import generate_uid

    from tests.test_pet_suv import PET_STORAGE

    study = shared_data / "sts_sarcoma" / "STS_001"
    if not study.is_dir():
        pytest.skip("the sarcoma study is not installed")
    shutil.copytree(study / "CT", tmp_path / "petct" / "ct")
    (tmp_path / "petct" / "pt").mkdir()
    pet_uid = generate_uid()
    for path in sorted((study / "CT" / "image").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber, ds.Units = "PT", pet_uid, 7, "BQML"
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = PET_STORAGE
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(tmp_path / "petct" / "pt" / path.name)
    _naming_no_slice(tmp_path / "petct" / "ct" / "mask" / "RS.dcm")
    contents = describe_upload(store_upload([("petct.zip", _zip(tmp_path / "petct"))]))
    assert sorted((s.modality, s.default) for s in contents.series) == [("CT", True), ("PT", False)]
    for roles in ({}, {"gtv": ["GTV_Mass_CT"]}):
        case = load_upload(contents, roles)
        assert case.modality == "CT"
        assert case.array()[case.mask_array("gtv")].mean() == pytest.approx(28.5, abs=0.1)
    shutil.copytree(study / "CT", tmp_path / "ctmr" / "ct")
    shutil.copytree(study / "MR_T1", tmp_path / "ctmr" / "mr")
    _naming_no_slice(tmp_path / "ctmr" / "mr" / "mask" / "RS.dcm")
    contents = describe_upload(store_upload([("ctmr.zip", _zip(tmp_path / "ctmr"))]))
    assert not any(s.default for s in contents.series)  # the page asks for the series
    with pytest.raises(InputError) as refused:
        load_upload(contents, {"gtv": ["GTV_Mass_MR_T1"]})
    said = str(refused.value)
    assert "kind of image (SOP class) of none of them" in said and "--series" not in said
    assert (
        "so which one its contours were drawn on is unknown; say which one to use (the Case "
        "page's 'Image series' box): " in said
    )


def test_a_latin1_structure_name_the_file_does_not_declare_is_read_as_latin1(shared_data, tmp_path):
    """The real sarcoma CT's RTSTRUCT with its GTV named 'Tumör' in Latin-1 bytes, the file
    declaring no character set but the exporter's UTF-8 in its items: read 'Tum\\ufffdr', the
    tumour was not recognised, the advice named 'Tum\\ufffdr' and a roles.json naming 'Tumör'
    was refused. Read as Latin-1 with a note that it was guessed, in a case folder and through
    an upload (de-identified on the way in), found by name or by the roles."""
    import pydicom

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    folder = tmp_path / "ct"
    shutil.copytree(source, folder)
    rs = folder / "mask" / "RS.dcm"
    ds = pydicom.dcmread(rs)
    del ds.SpecificCharacterSet
    ds.StructureSetROISequence[0][0x30060026].value = "Tumör".encode("latin-1")
    ds.save_as(rs)
    guessed = (
        "The name of ROI number 1 is not text of the character set the structure set declares "
        "(ISO_IR 192); read as Latin-1 (Windows-1252), a guess, as 'Tumör'."
    )
    case = load_case(folder)
    assert list(case.structures) == ["Tumör"] and case.mask_volume_ml("gtv") == pytest.approx(
        365.3, abs=0.1
    )
    assert any(w.startswith(guessed) for w in case.warnings)
    (folder / "roles.json").write_text(json.dumps({"gtv": ["Tumör"]}), encoding="utf-8")
    assert load_case(folder).mask_volume_ml("gtv") == pytest.approx(365.3, abs=0.1)
    (folder / "roles.json").unlink()
    contents = describe_upload(store_upload([("ct.zip", _zip(folder))]))
    assert contents.structures == ["Tumör"]
    case = load_upload(contents, {"gtv": ["Tumör"]})
    assert case.mask_volume_ml("gtv") == pytest.approx(365.3, abs=0.1)
