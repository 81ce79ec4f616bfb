"""fit then score: a case scored from its files gets exactly the risk its table row gets."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from survival_core.cli.main import main
from survival_core.errors import InputError
from survival_core.features.cohort import extract_cohort, write_cohort_features
from survival_core.features.presets import wei2021
from survival_core.io.case_loader import load_case
from survival_core.io.tables import load_model_table
from survival_core.models.scoring import load_scoring_model
from survival_core.workflows.scoring import score_case


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from survival_core.synthetic.generate import generate_cohort

    out = tmp_path_factory.mktemp("scoring") / "cohort"
    generate_cohort(out, n=16, seed=5, workers=1)
    settings = wei2021().with_rois(("gtv",))
    result = extract_cohort(out, settings, workers=1, use_cache=False)
    write_cohort_features(result, out / "gtv.parquet", settings, "CT")
    return out


@pytest.fixture(scope="module")
def model_dir(cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    code = main(
        [
            "fit",
            "--table",
            str(cohort / "clinical.csv"),
            "--table",
            str(cohort / "gtv.parquet"),
            "--features",
            "^(albumin|bilirubin|ecog|sex|gtv__lloydmax16__glszm__.*)$",
            "--model",
            "coxph",
            "--param",
            "penalizer=0.5",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    return out


def test_score_from_case_files_equals_table_prediction(cohort, model_dir):
    loaded = load_scoring_model(model_dir)
    table = load_model_table([cohort / "clinical.csv", cohort / "gtv.parquet"])
    expected = loaded.model.predict_risk(table.X)
    for case_id, risk in zip(table.case_ids[:4], expected, strict=False):
        score = score_case(load_case(cohort / "cases" / case_id), loaded)
        assert score.risk == pytest.approx(risk, abs=1e-9)
        assert 0 <= score.percentile <= 100 and score.risk_group in ("low", "high")
        survival = list(score.survival.values())
        assert list(score.survival) == ["12", "24", "36"] and survival == sorted(
            survival, reverse=True
        )


def test_card_places_patients_in_the_training_distribution(model_dir):
    card = load_scoring_model(model_dir).card
    ranked = np.array(card.training_risk)
    assert card.percentile(ranked.max()) == 100.0 and card.percentile(ranked.min() - 1) == 0.0
    assert card.risk_group(ranked.max()) == "high" and card.risk_group(ranked.min()) == "low"
    # each training patient, its risk off by float rounding as when scored alone, keeps its rank
    at_or_below = [100.0 * np.mean(ranked <= r) for r in ranked]
    assert [card.percentile(r * (1 - 1e-15) - 1e-16) for r in ranked] == at_or_below
    assert set(card.stratification["km"]) == {"0", "1"} and card.radiomics_settings is not None


def test_score_command_json(cohort, model_dir, capsys):
    case = cohort / "cases" / "SYN-0003"
    assert main(["score", "--case", str(case), "--model", str(model_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["case_id"] == "SYN-0003" and set(result) >= {
        "risk",
        "percentile",
        "risk_group",
        "survival",
    }


def test_score_command_scores_several_cases_and_names_a_broken_one(
    cohort, model_dir, tmp_path, capsys
):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "image.nii.gz").write_bytes(b"not an image")
    cases = [cohort / "cases" / "SYN-0003", broken, cohort / "cases" / "SYN-0001"]
    argv = ["score", "--case", *map(str, cases), "--model", str(model_dir), "--json"]
    assert main(argv) == 2  # one case failed; the others are still scored
    out = capsys.readouterr()
    result = json.loads(out.out.strip().splitlines()[-1])
    assert (result["n_scored"], result["n_failed"]) == (2, 1)
    assert [(c["source"], c["case_id"]) for c in result["cases"]] == [
        (str(cases[0]), "SYN-0003"),
        (str(cases[2]), "SYN-0001"),
    ]
    assert result["failed"][0]["source"] == str(broken) and result["failed"][0]["error"]
    assert str(broken) in out.err
    # each case's score is the one it gets on its own
    loaded = load_scoring_model(model_dir)
    for row, case in zip(result["cases"], (cases[0], cases[2]), strict=True):
        assert row["risk"] == pytest.approx(score_case(load_case(case), loaded).risk, abs=1e-12)
    # '--case A --case B', as a script writes it: the second option replaced the first
    argv = ["score", "--case", str(cases[0]), "--case", str(cases[2]), "--model", str(model_dir)]
    assert main([*argv, "--json"]) == 0
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["cases"]
    assert [c["case_id"] for c in scored] == ["SYN-0003", "SYN-0001"]


def test_a_batch_in_text_keeps_each_cases_cautions_and_names_shared_case_ids(
    cohort, model_dir, tmp_path, capsys
):
    """Without --json a batch printed each case's id, risk and group alone (on stderr): its
    cautions and warnings (a wrong-patient warning among them) were lost in `> results.txt`;
    two patients under one case id from two folders were not told apart."""
    import shutil

    values = json.loads((cohort / "cases" / "SYN-0003" / "clinical.json").read_text())
    odd = tmp_path / "siteB" / "SYN-0003"
    shutil.copytree(cohort / "cases" / "SYN-0003", odd)
    own = {k: v for k, v in values.items() if not k.startswith("albi")}  # derived again
    (odd / "clinical.json").write_text(json.dumps({**own, "albumin": 18.0}))
    cases = [cohort / "cases" / "SYN-0003", odd]
    argv = ["score", "--case", *map(str, cases), "--model", str(model_dir)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    alone = score_case(load_case(odd), load_scoring_model(model_dir))
    assert alone.cautions and all(c in out for c in alone.cautions)
    assert out.count("case_id: SYN-0003") == 2 and "n_scored: 2" in out
    assert f"case id SYN-0003 is that of 2 sources ({cases[0]}, {odd})" in out

    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["warnings"] == [
        f"case id SYN-0003 is that of 2 sources ({cases[0]}, {odd}): tell their results apart "
        "by source, not by case id."
    ]


def test_missing_clinical_value_is_imputed_and_reported(cohort, model_dir):
    case = load_case(cohort / "cases" / "SYN-0002")
    case.clinical["albumin"] = None
    score = score_case(case, load_scoring_model(model_dir))
    assert score.imputed == ["albumin"]


def test_a_card_without_its_radiomics_settings_is_blamed_not_the_case(cohort, model_dir, tmp_path):
    """A card lacking radiomics_settings (older, or edited by hand) under a radiomics model was
    said as the case's fault: 'needs N input(s) this case cannot provide'."""
    folder = shutil.copytree(model_dir, tmp_path / "m")
    card = json.loads((folder / "card.json").read_text())
    del card["radiomics_settings"]
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError) as refused:
        score_case(load_case(cohort / "cases" / "SYN-0001"), load_scoring_model(folder))
    said = str(refused.value)
    assert (
        said.startswith("Model m reads ")
        and "radiomics feature(s) (gtv__lloydmax16__glszm__" in said
    )
    assert f"its card {folder / 'card.json'} lacks the radiomics settings" in said
    assert "no case can be scored by it" in said and "cannot provide" not in said


def test_a_model_of_ct_radiomics_refuses_an_mr_case(cohort, model_dir):
    import dataclasses

    loaded = load_scoring_model(model_dir)
    assert loaded.card.radiomics_modality == "CT"  # from the feature table's metadata
    case = dataclasses.replace(load_case(cohort / "cases" / "SYN-0003"), modality="MR")
    with pytest.raises(
        InputError, match="learned its wei2021 features from CT images; case .* is MR"
    ) as refused:
        score_case(case, loaded)
    # the hint to say a volume case's modality is for cases read as CT, not for this MR one
    assert "--modality" not in str(refused.value)


@pytest.mark.parametrize(("series", "hinted"), [("", True), ("series 4, 2.5 mm slices", False)])
def test_a_model_of_mr_radiomics_refuses_a_ct_case_hinting_modality_for_volumes_only(
    cohort, model_dir, series, hinted
):
    """A CT case under an MR model: a case of volume files (no series) was read as CT for want
    of a modality, so it is told about `--modality MR`; a DICOM case states its own modality,
    which `--modality` does not change: the hint misled there."""
    import dataclasses

    loaded = load_scoring_model(model_dir)
    loaded = dataclasses.replace(
        loaded, card=dataclasses.replace(loaded.card, radiomics_modality="MR")
    )
    case = dataclasses.replace(load_case(cohort / "cases" / "SYN-0003"), series=series)
    with pytest.raises(InputError, match="features from MR images; case .* is CT") as refused:
        score_case(case, loaded)
    assert ("`--modality MR`" in str(refused.value)) == hinted


def test_a_case_read_as_mr_by_its_name_is_told_how_to_read_it_as_ct(
    cohort, model_dir, tmp_path, capsys
):
    """A patient folder whose only image is named 'SYN-0003_t1ce.nii.gz' is read as MR by its
    name; a model of CT radiomics (a cohort of such files imported as CT, when the import read
    every volume as CT) refused it with 'Use a model trained on MR' alone. The refusal says
    the name made it MR and that `--modality CT` reads it as CT, which scores it as its own
    cohort case."""
    folder = shutil.copytree(cohort / "cases" / "SYN-0003", tmp_path / "SYN-0003")
    (folder / "image.nii.gz").rename(folder / "SYN-0003_t1ce.nii.gz")
    argv = ["score", "--case", str(folder), "--model", str(model_dir), "--json"]
    assert main(argv) == 2
    refused = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert "learned its wei2021 features from CT images; case SYN-0003 is MR" in refused
    assert (
        "case SYN-0003 was read as MR from its file name 't1ce'; `--modality CT` on the "
        "command line, or the Case page's modality, reads it as CT"
    ) in refused
    assert main([*argv, "--modality", "CT"]) == 0
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    own = score_case(load_case(cohort / "cases" / "SYN-0003"), load_scoring_model(model_dir))
    assert scored["risk"] == pytest.approx(own.risk, abs=1e-9)


def test_score_json_of_a_pet_case_gives_its_uptake(cohort, tmp_path, capsys):
    """A clinical-only model scores a PET case; the command adds the GTV's SUV figures."""
    import shutil

    from tests.test_pet_suv import write_pet_case

    model = tmp_path / "clinical"
    fit = ["fit", "--table", str(cohort / "clinical.csv"), "--features", "^(albumin|ecog|sex)$"]
    assert main([*fit, "--model", "coxph", "--out", str(model), "--json"]) == 0
    case = write_pet_case(tmp_path / "pet")
    shutil.copy(cohort / "cases" / "SYN-0001" / "clinical.json", case / "clinical.json")
    capsys.readouterr()
    assert main(["score", "--case", str(case), "--model", str(model), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0 <= result["percentile"] <= 100 and result["risk_group"] in ("low", "high")
    assert result["uptake"]["suv_max"] == pytest.approx(8.0, rel=1e-3)
    assert set(result["uptake"]) == {"suv_max", "suv_peak", "suv_mean", "mtv_ml", "tlg"}


def test_a_cases_digest_follows_its_images_not_its_identity(cohort):
    import dataclasses

    import SimpleITK as sitk

    case = load_case(cohort / "cases" / "SYN-0003")
    same = dataclasses.replace(case, case_id="someone else", clinical={"albumin": 1.0})
    assert same.content_digest() == case.content_digest()
    voxels = sitk.GetArrayFromImage(case.image)
    voxels[0, 0, 0] += 1
    changed_image = sitk.GetImageFromArray(voxels)
    changed_image.CopyInformation(case.image)
    assert dataclasses.replace(case, image=changed_image).content_digest() != case.content_digest()
    moved = sitk.Image(case.masks["gtv"])
    moved.SetOrigin([o + 1.0 for o in moved.GetOrigin()])
    masks = {**case.masks, "gtv": moved}
    assert dataclasses.replace(case, masks=masks).content_digest() != case.content_digest()


def test_a_case_is_extracted_once_for_score_band_and_attributions_across_sessions(
    cohort, model_dir, tmp_path, monkeypatch
):
    """The Risk page's score, survival band and attributions, in four sessions at once, share one
    radiomics extraction of the case's content; results equal the uncached computation."""
    import dataclasses
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from survival_core.explain.case import explain_case
    from survival_core.features import case_cache
    from survival_core.features.case_row import case_features
    from survival_core.workflows.scoring import case_survival

    loaded = load_scoring_model(model_dir)
    case = load_case(cohort / "cases" / "SYN-0004")
    expected = case_features(case, loaded)[0]  # before the cache below: the shared data folder
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path))
    calls, real = [], case_cache.extract_case
    counting = threading.Lock()

    def counted(*args, **kwargs):
        with counting:
            calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(case_cache, "extract_case", counted)

    def session(k: int) -> float:
        mine = dataclasses.replace(case, case_id=f"upload-{k}")  # each session loaded it anew
        risk = score_case(mine, loaded).risk
        case_survival(mine, loaded)
        explain_case(mine, loaded, "ig")
        return risk

    with ThreadPoolExecutor(4) as pool:
        risks = list(pool.map(session, range(4)))
    assert len(calls) == 1
    assert risks == [float(loaded.model.predict_risk(expected)[0])] * 4
    assert list((tmp_path / "cache" / "features").rglob("*.json"))  # kept for other processes


def test_a_case_is_scored_where_its_features_cannot_be_cached(
    cohort, model_dir, tmp_path, monkeypatch
):
    """A full data disk failed the score ('No space left on device') once its features were
    computed: only their cache could not be written. A settings.json a full disk left empty is
    written again."""
    from survival_core.features.cohort import FeatureCache

    loaded = load_scoring_model(model_dir)
    case = load_case(cohort / "cases" / "SYN-0004")
    expected = score_case(case, loaded).risk
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path))

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(FeatureCache, "put", full_disk)
        assert score_case(case, loaded).risk == expected
        patched.setattr(FeatureCache, "__init__", full_disk)
        assert score_case(case, loaded).risk == expected
    (settings := next((tmp_path / "cache" / "features").glob("*/settings.json"))).write_bytes(b"")
    assert score_case(case, loaded).risk == expected
    assert json.loads(settings.read_text())


def test_a_case_unlike_the_training_cohort_is_scored_with_cautions(cohort, model_dir, shared_data):
    """The real sarcoma CT of a thigh under a liver model: its risk and texture lie outside every
    training case's, which the score says (it used to give percentile 100 and a survival without
    a word); the training cases themselves get none."""
    loaded = load_scoring_model(model_dir)
    sarcoma = score_case(load_case(shared_data / "sts_sarcoma" / "STS_001" / "CT"), loaded)
    assert sarcoma.cautions and all("training" in c for c in sarcoma.cautions)
    assert any("far outside its training range" in c for c in sarcoma.cautions)
    assert sarcoma.as_dict()["cautions"] == sarcoma.cautions
    for case_id in ("SYN-0001", "SYN-0002", "SYN-0003"):
        assert score_case(load_case(cohort / "cases" / case_id), loaded).cautions == []


def test_a_model_using_gtv_features_alone_scores_a_case_without_organ(
    model_dir, shared_data, tmp_path
):
    """A model whose table was extracted on gtv and organ_minus_gtv but which kept GTV features
    alone asked the real sarcoma CT (GTV only) for an organ mask; only the used ROIs count."""
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    card = json.loads((folder / "card.json").read_text())
    card["radiomics_settings"] = wei2021().to_json()  # gtv and organ_minus_gtv
    (folder / "card.json").write_text(json.dumps(card))
    sarcoma = load_case(shared_data / "sts_sarcoma" / "STS_001" / "CT")
    assert "organ" not in sarcoma.masks
    wide, narrow = load_scoring_model(folder), load_scoring_model(model_dir)
    assert score_case(sarcoma, wide).risk == score_case(sarcoma, narrow).risk


def test_a_model_is_named_beside_its_generic_folder(cohort, model_dir, tmp_path, capsys):
    """A training run saves its model as ``<run id>/model`` and the registry's local copies are
    ``<name>/v<N>``: reports and the score JSON said 'model' or 'v2'; now the parent is named."""
    import shutil

    case = str(cohort / "cases" / "SYN-0003")
    copies = [
        ("a1b2c3/model", "a1b2c3/model"),
        ("registry/liver/v2", "liver/v2"),
        ("registry/liver/v3-0123456789abcdef", "liver/v3"),
    ]
    for copy, name in copies:
        folder = shutil.copytree(model_dir, tmp_path / copy)
        assert load_scoring_model(folder).name == name
        assert main(["score", "--case", case, case, "--model", str(folder), "--json"]) == 0
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert result["model"] == name and result["cases"][0]["model"] == name
    assert load_scoring_model(model_dir).name == "m"


def test_a_model_on_organ_features_scores_its_own_cases(cohort, tmp_path, shared_data):
    """The organ ROI's columns carry the site's name (liver_minus_gtv__...): scoring kept only
    the ROIs whose generic name starts a column, so a model on organ features asked for none of
    them and refused every case, its own training cases included."""
    settings = wei2021()
    result = extract_cohort(cohort, settings, workers=1, use_cache=False)
    write_cohort_features(result, tmp_path / "both.parquet", settings, "CT")
    argv = [
        "fit",
        "--table",
        str(cohort / "clinical.csv"),
        "--table",
        str(tmp_path / "both.parquet"),
    ]
    organ = "^(albumin|liver_minus_gtv__lloydmax16__glszm__.*|gtv__lloydmax16__glcm__Correlation)$"
    out = tmp_path / "organ-model"
    argv += ["--features", organ, "--model", "coxph", "--param", "penalizer=0.5", "--out", str(out)]
    assert main(argv) == 0
    loaded = load_scoring_model(out)
    assert any(c.startswith("liver_minus_gtv__") for c in loaded.inputs)
    table = load_model_table([cohort / "clinical.csv", tmp_path / "both.parquet"])
    expected = loaded.model.predict_risk(table.X.loc[:, loaded.inputs])
    for case_id, risk in list(zip(table.case_ids, expected, strict=True))[:2]:
        assert score_case(load_case(cohort / "cases" / case_id), loaded).risk == pytest.approx(
            risk, abs=1e-9
        )
    # the real sarcoma CT has no liver: the refusal says why, not only the missing columns
    sarcoma = load_case(shared_data / "sts_sarcoma" / "STS_001" / "CT")
    with pytest.raises(
        InputError,
        match=r"cannot provide: .*reads radiomics of the liver .*"
        r"has no liver contour: score it with a model of its own site",
    ):
        score_case(sarcoma, loaded)
    # LiTS's one label map (1 liver, 2 tumour), the organ mapped by its labels: no site was given,
    # and the refusal said this case had no liver contour; it says to give the site
    original = load_case(cohort / "cases" / table.case_ids[0])
    folder = tmp_path / "lits"
    folder.mkdir()
    sitk.WriteImage(original.image, str(folder / "image.nii.gz"))
    shutil.copy(cohort / "cases" / table.case_ids[0] / "clinical.json", folder)
    labels = original.mask_array("organ").astype(np.uint8)
    labels[original.mask_array("gtv")] = 2
    label_map = sitk.GetImageFromArray(labels)
    label_map.CopyInformation(original.image)
    sitk.WriteImage(label_map, str(folder / "segmentation.nii.gz"))
    roles = {
        "gtv": "segmentation.nii.gz:2",
        "organ": ["segmentation.nii.gz:1", "segmentation.nii.gz:2"],
    }
    with pytest.raises(
        InputError, match=r"given under a name that names no organ .*site \(liver\)"
    ):
        score_case(load_case(folder, roles=roles), loaded)
    risk = score_case(load_case(folder, roles=roles, site="liver"), loaded).risk
    assert risk == pytest.approx(expected[0], abs=1e-6)


def _fitted_coxph(folder, table: pd.DataFrame, name: str):
    """``table`` written as ``name``.csv in ``folder`` and a Cox model fitted on it by the CLI,
    without a schema; the model's folder."""
    table.to_csv(folder / f"{name}.csv", index=False)
    argv = ["fit", "--table", str(folder / f"{name}.csv"), "--model", "coxph"]
    assert main([*argv, "--out", str(folder / "m"), "--json"]) == 0
    return folder / "m"


@pytest.fixture(scope="module")
def gbsg2_model(tmp_path_factory):
    """A clinical-only Cox model on GBSG2 (real breast-cancer patients), fitted by the CLI."""
    from sksurv.datasets import load_gbsg2

    folder = tmp_path_factory.mktemp("gbsg2")
    X, y = load_gbsg2()
    table = X.assign(time=y["time"], event=y["cens"].astype(int))
    table.insert(0, "case_id", [f"P{i:04d}" for i in range(len(table))])
    return _fitted_coxph(folder, table, "gbsg2"), table


def test_clinical_values_alone_are_scored_under_a_model_that_reads_no_image(
    gbsg2_model, tmp_path, capsys
):
    model_dir, table = gbsg2_model
    patients = table.drop(columns=["time", "event"]).iloc[[3, 250]]
    files = []
    for row in patients.to_dict("records"):
        files.append(tmp_path / f"{row['case_id']}.json")
        files[-1].write_text(json.dumps(row, default=str))
    misspelt = {k: v for k, v in patients.iloc[0].items() if k not in ("case_id", "pnodes")}
    files.append(tmp_path / "typo.json")  # 'pnode' for 'pnodes', no case_id: named by the file
    files[-1].write_text(json.dumps({**misspelt, "pnode": 30}, default=str))
    files.append(tmp_path / "other.json")  # a key nearly naming no variable: named, imputed
    files[-1].write_text(json.dumps({**misspelt, "lymph": 30}, default=str))
    argv = ["score", "--values", *map(str, files), "--model", str(model_dir), "--json"]
    assert main(argv) == 2
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    as_read = load_model_table([model_dir.parent / "gbsg2.csv"]).X  # horTh yes/no as True/False
    expected = load_scoring_model(model_dir).model.predict_risk(as_read.loc[["P0003", "P0250"]])
    scored = result["cases"]
    assert [c["case_id"] for c in scored] == ["P0003", "P0250", "other"]
    assert [c["risk"] for c in scored[:2]] == pytest.approx(list(expected), abs=1e-12)
    assert scored[0]["imputed"] == [] and scored[0]["cautions"] == []
    assert scored[2]["imputed"] == ["pnodes"]  # imputed, and the ignored key is named
    assert scored[2]["cautions"][0].startswith("Not variables of model m, ignored: lymph (")
    # 'pnode' for pnodes, missing: refused naming both, never pnodes imputed
    (typo,) = result["failed"]
    assert typo["source"].endswith("typo.json")
    assert "'pnode' is none of the model's variables, while pnodes" in typo["error"]


def test_clinical_values_alone_are_explained_and_a_case_of_values_only_says_how(
    gbsg2_model, tmp_path, capsys
):
    """A table-only cohort's patient could be scored but not explained (explain had no --values),
    and a case folder holding only clinical.json was refused as 'No DICOM files found'."""
    model_dir, table = gbsg2_model
    row = table.drop(columns=["time", "event"]).iloc[250].to_dict()
    values = tmp_path / "values.json"
    values.write_text(json.dumps(row, default=str))
    argv = ["explain", "--values", str(values), "--model", str(model_dir), "--top", "20"]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    as_read = load_model_table([model_dir.parent / "gbsg2.csv"]).X  # horTh yes/no as True/False
    risk = load_scoring_model(model_dir).model.predict_risk(as_read.loc[["P0250"]])
    assert result["case_id"] == "P0250" and result["risk"] == pytest.approx(risk[0], abs=1e-12)
    assert abs(result["completeness_delta"]) < 1e-6  # the attributions add up to the risk
    assert {a["name"] for a in result["top_features"]} == set(row) - {"case_id"}
    # as score --values: a misspelt key named, values with every input missing refused
    values.write_text(json.dumps({**row, "pnode": 3}, default=str))
    assert main(["explain", "--values", str(values), "--model", str(model_dir), "--json"]) == 0
    cautions = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["cautions"]
    assert cautions[0].startswith("Not variables of model m, ignored: pnode (")
    values.write_text(json.dumps({"case_id": "P9"}))
    assert main(["explain", "--values", str(values), "--model", str(model_dir)]) != 0
    assert "None of model m's inputs came with case P9" in capsys.readouterr().err
    case = tmp_path / "case"
    case.mkdir()
    (case / "clinical.json").write_text(values.read_text())
    assert main(["explain", "--case", str(case), "--model", str(model_dir)]) != 0
    error = capsys.readouterr().err
    assert "holds no image, only clinical.json" in error and "explain --values FILE" in error
    (case / "clinical.json").unlink()  # an empty folder is not one of clinical values
    assert main(["explain", "--case", str(case), "--model", str(model_dir)]) != 0
    assert "only clinical.json" not in capsys.readouterr().err


def test_explain_carries_the_scores_model_and_cautions(gbsg2_model, tmp_path, capsys):
    """A GBSG2 patient whose tumour size was given in cm instead of mm (30 read as 300 mm): `score`
    cautioned the value beyond the training range, `explain` reported the same risk without a
    caution and without the model's name."""
    model_dir, table = gbsg2_model
    row = table.drop(columns=["time", "event"]).iloc[3].to_dict()
    values = tmp_path / "values.json"
    values.write_text(json.dumps({**row, "tsize": 300}, default=str))
    given = ["--values", str(values), "--model", str(model_dir), "--json"]
    assert main(["score", *given]) == 0
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["explain", *given]) == 0
    explained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert any("tsize" in c for c in scored["cautions"])
    assert explained["cautions"] == scored["cautions"]
    assert explained["model"] == scored["model"] == "m"
    assert explained["risk"] == pytest.approx(scored["risk"], abs=1e-12)


def test_a_true_false_column_reads_yes_no_as_the_case_form_does(gbsg2_model, tmp_path, capsys):
    """A table's True/False column became a category of 'False' and 'True': 'yes', 'No', 1 and
    0 were refused by the score and the nomogram."""
    _, table = gbsg2_model
    table = table.assign(horTh=table["horTh"] == "yes")
    table.to_csv(tmp_path / "bool.csv", index=False)
    argv = ["fit", "--table", str(tmp_path / "bool.csv"), "--model", "coxph"]
    assert main([*argv, "--out", str(tmp_path / "m"), "--json"]) == 0
    row = table.drop(columns=["time", "event"]).iloc[3].to_dict()
    risks = []
    for spelling in (bool(row["horTh"]), "yes" if row["horTh"] else "No", int(row["horTh"])):
        values = tmp_path / "values.json"
        values.write_text(json.dumps({**row, "horTh": spelling}, default=str))
        assert (
            main(["score", "--values", str(values), "--model", str(tmp_path / "m"), "--json"]) == 0
        )
        risks.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["risk"])
    assert risks[0] == risks[1] == risks[2]


def test_clinical_values_alone_are_refused_by_a_model_that_reads_images(
    model_dir, gbsg2_model, tmp_path, capsys
):
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"albumin": 38, "bilirubin": 15, "ecog": 1, "sex": "F"}))
    argv = ["score", "--values", str(values), "--model", str(model_dir)]
    assert main(argv) != 0
    error = capsys.readouterr().err
    assert re.search(r"reads \d+ image feature\(s\) \(gtv__lloydmax16__glszm__", error)
    assert "give the case folder or zip with its images" in error
    missing = ["score", "--values", str(tmp_path / "none.json"), "--model", str(gbsg2_model[0])]
    assert main(missing) != 0 and "No such file" in capsys.readouterr().err


def test_a_clinical_json_key_the_model_does_not_know_is_a_warning_of_the_score(
    cohort, model_dir, tmp_path, capsys
):
    case = tmp_path / "case"
    shutil.copytree(cohort / "cases" / "SYN-0003", case)
    values = json.loads((case / "clinical.json").read_text())
    values["albumen"] = values.pop("albumin")  # misspelt: albumin is imputed
    (case / "clinical.json").write_text(json.dumps(values))
    assert main(["score", "--case", str(case), "--model", str(model_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "albumin" in result["imputed"]
    # the training cohort's variables, not the model's: a CNN reads none of them
    ignored = "not variables of the model's training cohort, ignored: albumen (that cohort's"
    assert any(ignored in w for w in result["warnings"])


def test_a_patient_without_any_of_a_clinical_models_values_is_refused(gbsg2_model, tmp_path):
    """A case uploaded without clinical values under a clinical model: every input imputed gave
    the training cohort's typical patient's score (risk, percentile, group) as this patient's."""
    from survival_core.workflows.scoring import score_values

    loaded = load_scoring_model(gbsg2_model[0])
    with pytest.raises(InputError, match=r"None of model m's inputs came with case P9.*8 variable"):
        score_values({"histology": "ductal"}, loaded, "P9")
    # a key nearly naming a variable is refused naming it first ('grade', tgrade's)
    with pytest.raises(InputError, match=r"'grade' is none of the model's variables, while tgrade"):
        score_values({"grade": "II"}, loaded, "P9")
    one = score_values({"age": 60}, loaded, "P9")  # one value given: scored, the rest imputed
    assert len(one.imputed) == 7


def test_values_of_variables_a_reduction_dropped_count_as_none(gbsg2_model, tmp_path):
    """GBSG2's Cox model on the 4 variables han2020 keeps: a patient giving only the 4 it dropped
    got the training cohort's typical patient's score, and 'imputed' named variables the score
    does not depend on (the Risk page warned of them)."""
    from survival_core.workflows.scoring import score_values

    table = gbsg2_model[1]
    table.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    argv = ["fit", "--table", str(path), "--model", "coxph", "--reduction", "han2020"]
    assert main([*argv, "--out", str(tmp_path / "m"), "--json"]) == 0
    loaded = load_scoring_model(tmp_path / "m")
    used = loaded.used_inputs
    assert 0 < len(used) < len(loaded.inputs)
    dropped = {name: table.iloc[5][name] for name in loaded.inputs if name not in used}
    with pytest.raises(InputError, match=rf"None of model m's inputs .*{len(used)} variable"):
        score_values(dropped, loaded, "P5")
    given = {name: table.iloc[5][name] for name in used}
    assert score_values(given, loaded, "P5").imputed == []
    assert score_values({**given, used[0]: None}, loaded, "P5").imputed == [used[0]]
    # a LASSO-Cox's variables of coefficient 0 (no reduction step) change nothing either
    argv = ["fit", "--table", str(path), "--model", "lasso_cox"]
    assert main([*argv, "--out", str(tmp_path / "l"), "--json"]) == 0
    lasso = load_scoring_model(tmp_path / "l")
    zeroed = [name for name in lasso.inputs if name not in lasso.used_inputs]
    assert zeroed and lasso.used_inputs
    with pytest.raises(InputError, match="None of model l's inputs"):
        score_values({name: table.iloc[5][name] for name in zeroed}, lasso, "P5")


def test_values_written_with_a_bom_are_read_and_keys_not_read_are_named(gbsg2_model, tmp_path):
    """A values file saved by Windows Notepad (a byte-order mark) was 'not valid JSON'; values
    nested under a 'clinical' key were refused as all missing without naming the key."""
    from survival_core.io.case_loader import read_json_object
    from survival_core.workflows.scoring import score_values

    path = tmp_path / "values.json"
    path.write_text(json.dumps({"age": 60, "tsize": 25}), encoding="utf-8-sig")
    assert read_json_object(path, InputError, "values") == {"age": 60, "tsize": 25}
    loaded = load_scoring_model(gbsg2_model[0])
    with pytest.raises(InputError, match=r"all missing.*ignored: clinical \(its variables: age"):
        score_values({"clinical": {"age": 60}}, loaded, "P9")


def test_a_clinical_value_well_past_the_training_patients_is_a_caution(gbsg2_model):
    """GBSG2 (real): a tumour half its training range beyond the largest was scored without a
    word (only values a full range width beyond were flagged)."""
    from survival_core.workflows.scoring import score_values

    model_dir, table = gbsg2_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[3].to_dict()
    assert score_values(patient, loaded, "P0003").cautions == []
    (spec,) = (c for c in loaded.model.preprocessor_.columns_ if c["name"] == "tsize")
    low, high = spec["range"]
    large = score_values({**patient, "tsize": high + (high - low) / 2}, loaded, "P0003")
    assert any(
        c.startswith("tsize = ") and "lies outside its training range" in c for c in large.cautions
    )


def test_a_caution_writes_its_values_in_plain_digits(gbsg2_model):
    """GBSG2: an estrogen receptor of 12340 fmol/mg (a decimal point lost in an export) was
    cautioned as 'estrec = 1.234e+04 lies outside ...', read as 1.234 at a glance."""
    from survival_core.workflows.scoring import score_values

    model_dir, table = gbsg2_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[3].to_dict()
    cautions = score_values({**patient, "estrec": 5432.1}, loaded, "P3").cautions
    (caution,) = (c for c in cautions if c.startswith("estrec = "))
    assert caution.startswith("estrec = 5432.1 lies outside its training range 0 to ")
    assert not any("e+" in c or "e-0" in c for c in cautions)


def test_a_variable_the_lasso_zeroed_is_not_cautioned(gbsg2_model):
    """A LASSO-Cox on GBSG2 zeroes estrec (the nomogram lists it unused): an estrec of 5000,
    which changes no risk, was still cautioned as outside its training range. Only an input the
    risk depends on is."""
    from survival_core.workflows.scoring import score_values
    from survival_core.workflows.training import train_model

    model_dir, table = gbsg2_model
    train_model([model_dir.parent / "gbsg2.csv"], "lasso_cox", {}, model_dir.parent / "lasso")
    lasso = load_scoring_model(model_dir.parent / "lasso")
    assert "estrec" in lasso.inputs and "estrec" not in lasso.used_inputs
    used = next(n for n in ("tsize", "pnodes", "progrec") if n in lasso.used_inputs)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[3].to_dict()
    assert score_values({**patient, "estrec": 5000.0}, lasso, "P3").cautions == []
    outside = score_values({**patient, used: 3 * float(table[used].max())}, lasso, "P3")
    assert any(c.startswith(f"{used} = ") for c in outside.cautions)


def test_a_clinical_value_in_another_unit_is_a_caution_naming_the_unit(gbsg2_model, cohort):
    """A tumour size in cm (3.0) under a model of mm (8-80), a bilirubin in mg/dL (2.5) under one
    of umol/L, a negative size: within a quarter range width of the training range, scored as
    they were without a word (the risk group moved from high to low)."""
    from survival_core.workflows.scoring import score_values
    from survival_core.workflows.training import train_model

    model_dir, table = gbsg2_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[3].to_dict()
    (caution,) = score_values({**patient, "tsize": 3.0}, loaded, "P3").cautions
    assert caution.startswith("tsize = 3 lies outside its training range")
    assert caution.endswith(": check its unit.")
    assert score_values({**patient, "tsize": 9.0}, loaded, "P3").cautions == []

    clinical = pd.read_csv(cohort / "clinical.csv")
    clinical[["case_id", "time", "event", "age", "bilirubin"]].to_csv(
        cohort.parent / "bili.csv", index=False
    )
    train_model([cohort.parent / "bili.csv"], "coxph", {}, cohort.parent / "bili")
    bili = load_scoring_model(cohort.parent / "bili")
    low = float(clinical["bilirubin"].quantile(0.01))
    cautions = score_values({"age": 60, "bilirubin": low / 3}, bili, "P1").cautions
    (caution,) = (c for c in cautions if c.startswith("bilirubin = "))
    assert caution.endswith("check that it is in umol/L, the model's unit.")
    cautions = score_values({"age": 60, "bilirubin": low * 0.9}, bili, "P1").cautions
    assert not any(c.startswith("bilirubin = ") for c in cautions)
    # a low value of a variable spanning orders of magnitude is no other unit (an AFP of 0.8
    # under 2-20,000 ng/mL), nor a low albumin of 25 g/L under 30-50
    from survival_core.models.training_range import another_unit

    assert not another_unit(0.8, 2.0, 20000.0) and not another_unit(25.0, 30.0, 50.0)
    assert another_unit(0.1, 2.0, 20000.0) and another_unit(2.5, 8.86, 43.35)


def test_a_case_without_clinical_values_under_an_image_and_clinical_model_is_cautioned(
    cohort, model_dir
):
    """A fusion or radiomics + clinical model scored a case with every clinical value imputed
    without a word: its percentile moved from 50 to 12.5 on the training typical values."""
    import dataclasses

    loaded = load_scoring_model(model_dir)
    case = load_case(cohort / "cases" / "SYN-0003")
    assert not any(c.startswith("None of model") for c in score_case(case, loaded).cautions)
    bare = score_case(dataclasses.replace(case, clinical={}), loaded)
    assert bare.cautions[0].startswith(f"None of model {loaded.name}'s ")
    assert "typical clinical values, not this patient's" in bare.cautions[0]


def test_a_model_without_the_network_of_its_deep_features_says_so(cohort, tmp_path):
    """`fit` on a deep-feature table saves no network: every case was refused as 'needs 8
    input(s) this case cannot provide: deep_embedding_0...', its CT and GTV at hand."""
    import pandas as pd

    from survival_core.features.case_row import case_features
    from survival_core.workflows.training import train_model

    table = pd.read_csv(cohort / "clinical.csv")
    table["deep_embedding_0"] = np.random.default_rng(0).normal(size=len(table))
    table[["case_id", "time", "event", "age", "deep_embedding_0"]].to_csv(
        tmp_path / "t.csv", index=False
    )
    train_model([tmp_path / "t.csv"], "coxph", {}, tmp_path / "m")
    case = load_case(cohort / "cases" / "SYN-0003")
    with pytest.raises(InputError, match=r"deep_embedding_0\. They are deep-feature columns, and"):
        case_features(case, load_scoring_model(tmp_path / "m"))


def test_the_sites_come_from_the_cohort_the_images_are_read_from(cohort, tmp_path):
    """A table copied out of the cohort folder (fit --table elsewhere --cohort COHORT): the card
    kept no site, and a lung case under the liver model was scored without the caution."""
    import shutil

    from survival_core.models.card import ModelCard
    from survival_core.workflows.training import train_model

    table = shutil.copy(cohort / "clinical.csv", tmp_path / "clinical.csv")
    train_model([table], "coxph", {}, tmp_path / "m", cohort=cohort)
    assert ModelCard.load(tmp_path / "m").sites == ["liver"]


def test_a_case_of_another_site_than_the_training_cases_is_cautioned(cohort, model_dir):
    """A GTV-only model trained on liver cases scored a lung case without a word about it: the
    card now keeps the training cases' sites (their manifest's)."""
    import dataclasses

    loaded = load_scoring_model(model_dir)
    assert loaded.card.sites == ["liver"]
    case = load_case(cohort / "cases" / "SYN-0003")
    assert score_case(case, loaded).cautions == []
    lung = score_case(dataclasses.replace(case, site="lung"), loaded)
    assert lung.cautions[0].startswith(
        "The model was trained on liver cases; this is a lung case, unlike any it learned from"
    )
    # a GTV alone says no site (pyradiomics' brain1, the sarcoma T1): it was scored unflagged
    unknown = score_case(dataclasses.replace(case, site=None), loaded)
    assert unknown.cautions[0].startswith(
        "The model was trained on liver cases; this case's site is not known (no organ is "
    )
    assert "state it (the Case page's cancer site, score --site)" in unknown.cautions[0]
    # a sarcoma model's cases carry no organ and no site themselves: no caution for that
    loaded.card.sites = ["sarcoma"]
    assert score_case(dataclasses.replace(case, site=None), loaded).cautions == []


def test_a_gtv_alone_is_scored_at_the_site_the_user_states(cohort, model_dir, tmp_path, capsys):
    """A lung cohort's GTV-only case was cautioned as of unknown site under its own lung model,
    and `score` had no way to say the site: `--site` states it."""
    rows = pd.read_csv(cohort / "manifest.csv").query("format == 'nifti'")
    case = tmp_path / "case"
    shutil.copytree(cohort / "cases" / rows["case_id"].iloc[0], case)
    (organ,) = case.glob("liver.*")
    organ.unlink()  # the GTV alone: no organ tells the site

    def site_cautions(*extra: str) -> list[str]:
        argv = ["score", "--case", str(case), "--model", str(model_dir), "--json", *extra]
        assert main(argv) == 0
        scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        return [c for c in scored["cautions"] if c.startswith("The model was trained on")]

    (unknown,) = site_cautions()
    assert "site is not known" in unknown and "score --site" in unknown
    assert site_cautions("--site", "liver") == []
    (lung,) = site_cautions("--site", "lung")
    assert "this is a lung case, unlike any it learned from" in lung


def test_a_training_patients_risk_is_not_an_extrapolation() -> None:
    """The demo's highest-risk patient, scored again, came out one float step above the stored
    training maximum (3.88912511894094 against 3.8891251189409393) and was told the model
    extrapolates from it; a risk truly beyond still is."""
    from types import SimpleNamespace

    import pandas as pd

    from survival_core.workflows.scoring import extrapolation

    card = SimpleNamespace(training_risk=[-3.04, 0.5, 3.8891251189409393], clinical_columns=[])
    loaded = SimpleNamespace(card=card, model=SimpleNamespace(), used_inputs=[])
    assert extrapolation(pd.DataFrame([{}]), 3.88912511894094, loaded) == []
    assert "above the highest" in extrapolation(pd.DataFrame([{}]), 3.9, loaded)[0]
    # a risk just beyond the end prints apart from it: 'The risk 3.89 lies above ... to 3.89)'
    (said,) = extrapolation(pd.DataFrame([{}]), 3.88914, loaded)
    assert "The risk 3.88914 lies above" in said and "to 3.88913)" in said
    assert extrapolation(pd.DataFrame([{}]), 3.8891251189409393 + 4e-9, loaded) == []
    # a penalised Cox model's narrow range: its caution kept, printed in digits that tell
    card.training_risk = [-0.0363, 0.0012, 0.0371]
    (said,) = extrapolation(pd.DataFrame([{}]), 0.0391, loaded)
    assert "The risk 0.039 lies above" in said and "(-0.036 to 0.037)" in said


def test_a_level_the_model_never_saw_is_refused_not_scored_as_the_reference(cohort, tmp_path):
    """A Child-Pugh C under a model trained on A and B patients alone was encoded as all zeros,
    the reference level: scored exactly as a Child-Pugh A, with no caution (the nomogram of the
    same model refused it). A level written otherwise ('a') is still read."""
    from survival_core.errors import ClinicalValueError
    from survival_core.workflows.scoring import score_values
    from survival_core.workflows.training import train_model

    table = pd.read_csv(cohort / "clinical.csv")
    table["child_pugh"] = np.where(table["albumin"] > table["albumin"].median(), "A", "B")
    columns = ["case_id", "time", "event", "age", "albumin", "child_pugh"]
    table[columns].to_csv(tmp_path / "t.csv", index=False)
    train_model([tmp_path / "t.csv"], "coxph", {}, tmp_path / "m")
    loaded = load_scoring_model(tmp_path / "m")
    patient = {"age": 61, "albumin": 38.0}
    reference = score_values({**patient, "child_pugh": "A"}, loaded, "P1").risk
    assert score_values({**patient, "child_pugh": "a"}, loaded, "P1").risk == reference
    assert score_values({**patient, "child_pugh": "B"}, loaded, "P1").risk != reference
    with pytest.raises(
        ClinicalValueError, match=r"Child-Pugh.*'C' is none of the levels.*\(A, B\)"
    ):
        score_values({**patient, "child_pugh": "C"}, loaded, "P1")
    case = load_case(cohort / "cases" / "SYN-0003")
    case.clinical.update(age=61, albumin=38.0, child_pugh="C")
    with pytest.raises(ClinicalValueError, match="would score it as 'A'"):
        score_case(case, loaded)


def test_a_card_of_another_fit_beside_a_model_is_refused_naming_both_files(
    gbsg2_model, tmp_path, capsys
):
    """A card of another coxph fit copied beside a model was taken: the risk came from one fit,
    its percentile, group and curves from the other. A card written before the tie still loads."""
    model_dir, table = gbsg2_model
    younger = table[table["age"] < 55]  # another fit of the same kind, on other patients
    younger.to_csv(tmp_path / "younger.csv", index=False)
    argv = ["fit", "--table", str(tmp_path / "younger.csv"), "--model", "coxph"]
    assert main([*argv, "--out", str(tmp_path / "other"), "--json"]) == 0
    mixed = shutil.copytree(model_dir, tmp_path / "mixed")
    shutil.copy(tmp_path / "other" / "card.json", mixed / "card.json")
    with pytest.raises(InputError) as refused:
        load_scoring_model(mixed)
    said = str(refused.value)
    assert f"{mixed / 'card.json'} was written for another fit than {mixed / 'model.json'}" in said
    (values := tmp_path / "p.json").write_text(table.iloc[3].to_json())
    capsys.readouterr()
    assert main(["score", "--values", str(values), "--model", str(mixed), "--json"]) == 2
    assert "was written for another fit" in capsys.readouterr().out.splitlines()[-1]

    older = shutil.copytree(model_dir, tmp_path / "older")
    card = json.loads((older / "card.json").read_text())
    assert card.pop("model_sha256") is not None
    (older / "card.json").write_text(json.dumps(card))
    assert load_scoring_model(older).card.n == len(table)


def test_a_card_of_a_newer_radsurv_says_so(gbsg2_model, tmp_path, caplog):
    """A newer RadSurv's card with a field this one lacks was refused as "ModelCard.__init__()
    got an unexpected keyword argument 'calibration'"; one without new fields scored silently."""
    from survival_core import __version__
    from survival_core.workflows.scoring import score_values

    model_dir, _table = gbsg2_model
    newer = shutil.copytree(model_dir, tmp_path / "newer")
    card = json.loads((newer / "card.json").read_text())
    (newer / "card.json").write_text(json.dumps({**card, "radsurv_version": "9.0.0"}))
    with caplog.at_level("WARNING"):
        loaded = load_scoring_model(newer)
    assert loaded.card.radsurv_version == "9.0.0"
    said = f"made by RadSurv 9.0.0, newer than this one ({__version__})"
    assert said in caplog.text
    scored = score_values({"age": 60, "pnodes": 3}, loaded, "P9")  # on the page and paper too
    assert [c for c in scored.cautions if said in c]
    calibrated = {**card, "radsurv_version": "9.0.0", "calibration": {"slope": 0.9}}
    (newer / "card.json").write_text(json.dumps(calibrated))
    with pytest.raises(InputError) as refused:
        load_scoring_model(newer)
    assert str(refused.value) == (
        f"{newer / 'card.json'} was written by RadSurv 9.0.0 (this is {__version__}) and holds "
        "what this version does not know (calibration): update RadSurv to 9.0.0 or later to "
        "use this model."
    )


def test_a_card_without_a_recorded_outcome_reads_in_the_radsurv_before_the_field(
    gbsg2_model, monkeypatch
):
    """Every card held "outcome", null for a model of a table no import recorded, and RadSurv
    0.2.1 (without the field) refused each: "card.json was written by RadSurv 0.2.1 (this is
    0.2.1) and holds what this version does not know (outcome): fit the model again with this
    RadSurv". The field is left out where None, and the version that added it is a later one,
    so a card recording an outcome asks 0.2.1 to update RadSurv. So is a model's source cohort
    (kept by training runs alone)."""
    from dataclasses import fields

    from packaging.version import Version

    import survival_core.models.card as card_module
    from survival_core import __version__

    model_dir, _table = gbsg2_model
    path = model_dir / "card.json"
    card = json.loads(path.read_text())
    assert "outcome" not in card and "sources" not in card and "trained_patients" not in card
    assert card["radsurv_version"] == __version__ and Version(__version__) > Version("0.2.1")
    known_before = {f.name for f in fields(card_module.ModelCard)} - {"outcome", "sources"}
    monkeypatch.setattr(card_module, "__version__", "0.2.1")  # the RadSurv before the field
    card_module._check_known(path, card, known_before)  # reads
    recorded = {**card, "outcome": {"time_column": "os_days", "event_column": "os_status"}}
    with pytest.raises(InputError) as refused:
        card_module._check_known(path, recorded, known_before)
    assert str(refused.value) == (
        f"{path} was written by RadSurv {__version__} (this is 0.2.1) and holds what this "
        f"version does not know (outcome): update RadSurv to {__version__} or later to use "
        "this model."
    )
    assert load_scoring_model(model_dir).card.outcome is None  # and this RadSurv reads it


@pytest.fixture(scope="module")
def whas500_model(tmp_path_factory):
    """A clinical-only Cox model on WHAS500 (real heart-attack patients: gender, chf, sho... are
    0/1 columns), fitted by the CLI without a schema, as a table of numbers."""
    from sksurv.datasets import load_whas500

    folder = tmp_path_factory.mktemp("whas500")
    X, y = load_whas500()
    table = X.astype(float).assign(time=y["lenfol"], event=y["fstat"].astype(int))
    table.insert(0, "case_id", [f"W{i:04d}" for i in range(len(table))])
    return _fitted_coxph(folder, table, "whas500"), table


def test_a_0_1_column_reads_yes_no_and_refuses_a_1_2_coding(whas500_model):
    """WHAS500's chf and gender are 0/1 numbers: 'yes', 'TRUE' and JSON true were refused as 'not
    a number', and a gender of 2 (a sheet coding it 1/2) was scored by extrapolating the 0/1
    slope, with a range caution alone."""
    from survival_core.errors import ClinicalValueError
    from survival_core.workflows.scoring import score_values

    model_dir, table = whas500_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[0].to_dict()
    heart_failure = score_values({**patient, "chf": 1}, loaded, "W1").risk
    without = score_values({**patient, "chf": 0}, loaded, "W1").risk
    assert heart_failure != pytest.approx(without)
    for spelling in ("yes", "Y", "TRUE", True, "ja", "1.0"):
        assert score_values({**patient, "chf": spelling}, loaded, "W1").risk == heart_failure
    for spelling in ("no", "nein", False, "0"):
        assert score_values({**patient, "chf": spelling}, loaded, "W1").risk == without
    for other in (2, -1):
        with pytest.raises(
            ClinicalValueError,
            match=rf"gender: {other} is not 0 or 1: the model learned gender as a 0/1 code .*"
            r"Does the sheet code it 1/2\?",
        ):
            score_values({**patient, "gender": other}, loaded, "W1")
    with pytest.raises(ClinicalValueError, match="gender: 'F' is not a number"):  # not 'false'
        score_values({**patient, "gender": "F"}, loaded, "W1")


def test_a_no_yes_category_reads_yes_no_spellings_and_a_refused_value_is_not_imputed(
    gbsg2_model, tmp_path
):
    """GBSG2's horTh is a category of 'no' and 'yes': 'Y', 1, 'TRUE' and 'ja' were refused, and an
    uploaded CSV's TRUE (pandas reads a boolean) was refused by upload_clinical, then scored by
    score_values as the imputed 'no' (0.265 for the patient's -0.073)."""
    from survival_core.errors import ClinicalValueError
    from survival_core.io.upload_case import UploadContents, upload_clinical
    from survival_core.workflows.scoring import score_values

    model_dir, table = gbsg2_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[3].to_dict()
    yes = score_values({**patient, "horTh": "yes"}, loaded, "P3").risk
    no = score_values({**patient, "horTh": "no"}, loaded, "P3").risk
    assert yes != pytest.approx(no)
    for spelling in ("Y", "1", 1, "TRUE", True, "ja"):
        assert score_values({**patient, "horTh": spelling}, loaded, "P3").risk == yes
    for spelling in ("N", "0", 0, "FALSE", False, "nein"):
        assert score_values({**patient, "horTh": spelling}, loaded, "P3").risk == no

    def uploaded(therapy: str, other: str) -> tuple[dict, dict[str, str]]:
        rows = pd.DataFrame([{**patient, "horTh": therapy}, {**patient, "horTh": other}])
        rows.insert(0, "case_id", ["P3", "P4"])
        rows.to_csv(csv := tmp_path / "clinical.csv", index=False)
        contents = UploadContents(tmp_path, "volumes", tmp_path, clinical_csv=csv)
        refused: dict[str, str] = {}
        return upload_clinical(contents, "P3", [], loaded.schema, refused), refused

    values, refused = uploaded("TRUE", "FALSE")
    assert refused == {} and score_values(values, loaded, "P3", refused).risk == yes
    values, refused = uploaded("maybe", "no")
    assert list(refused) == ["horTh"] and values["horTh"] is None
    with pytest.raises(
        ClinicalValueError, match=r"Case P3 is not scored: 1 of its clinical values were refused"
    ):
        score_values(values, loaded, "P3", refused)


def test_a_unit_given_for_a_variable_whose_model_records_none_is_refused(gbsg2_model, tmp_path):
    """GBSG2's tsize is in mm, fitted without a schema: 'tsize (cm)': 9.5, a key or an uploaded
    CSV's header, was scored as 9.5 mm (risk -0.193, low group; 95 mm gives 0.467, high)."""
    from survival_core.errors import ClinicalValueError
    from survival_core.io.upload_case import UploadContents, upload_clinical
    from survival_core.workflows.scoring import score_values

    model_dir, table = gbsg2_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id", "tsize"]).iloc[3].to_dict()
    refusal = (
        r"gives? tsize in cm, but the model records no unit for tsize: give the value as its "
        r"training table wrote it, without a unit \(under 'tsize'\)\. Training values: 8 "
        r"to 80 \(1st-99th percentile\)"
    )
    with pytest.raises(ClinicalValueError, match=refusal):
        score_values({**patient, "tsize (cm)": 9.5}, loaded, "P3")
    pd.DataFrame([{"case_id": "P3", **patient, "tsize (cm)": 9.5}]).to_csv(
        csv := tmp_path / "clinical.csv", index=False
    )
    contents = UploadContents(tmp_path, "volumes", tmp_path, clinical_csv=csv)
    with pytest.raises(ClinicalValueError, match=refusal):
        upload_clinical(contents, "P3", [], loaded.schema, {})
    # a legend of the values is no unit: a yes/no category's '(yes/no)'
    given = {k: v for k, v in patient.items() if k != "horTh"} | {"tsize": 25}
    given["horTh (yes/no)"] = patient["horTh"]
    assert score_values(given, loaded, "P3").imputed == []


@pytest.mark.parametrize("key", ["tsize cm", "tsize_cm", "Tsize mm"])
def test_a_unit_written_after_a_variable_whose_model_records_none_is_refused(
    gbsg2_model, tmp_path, key
):
    """GBSG2's tsize, fitted in mm without a schema: 'tsize cm': 9.5 was refused as a near miss
    advising to give the value under 'tsize', where 9.5 is scored as 9.5 mm. The unit the key
    states is read, as in 'tsize (cm)', and refused naming it and that the model records none,
    in a key and an uploaded CSV's header alike; 'tsize cm': NA is missing."""
    from survival_core.errors import ClinicalValueError
    from survival_core.io.upload_case import UploadContents, upload_clinical
    from survival_core.workflows.scoring import score_values

    model_dir, table = gbsg2_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id", "tsize"]).iloc[3].to_dict()
    unit = key.split()[-1] if " " in key else "cm"
    refusal = (
        rf"gives? tsize in {unit}, but the model records no unit for tsize: give the value as its "
        r"training table wrote it, without a unit \(under 'tsize'\)"
    )
    with pytest.raises(ClinicalValueError, match=refusal):
        score_values({**patient, key: 9.5}, loaded, "P3")
    pd.DataFrame([{"case_id": "P3", **patient, key: 9.5}]).to_csv(
        csv := tmp_path / "clinical.csv", index=False
    )
    contents = UploadContents(tmp_path, "volumes", tmp_path, clinical_csv=csv)
    with pytest.raises(ClinicalValueError, match=refusal):
        upload_clinical(contents, "P3", [], loaded.schema, {})
    assert score_values({**patient, key: "NA"}, loaded, "P3").imputed == ["tsize"]


@pytest.fixture(scope="module")
def unit_named_pair_model(tmp_path_factory):
    """A clinical-only Cox model on 150 GBSG2 patients (real) whose receptor counts are named
    dose and dose_gy, as a model of a dose and its dose in Gy names them, fitted by the CLI
    without a schema (neither records a unit); its table."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    table = X[["age", "progrec", "estrec"]].rename(columns={"progrec": "dose", "estrec": "dose_gy"})
    table = table.assign(time=y["time"], event=y["cens"].astype(int)).iloc[:150]
    table.insert(0, "case_id", [f"P{i:04d}" for i in range(len(table))])
    return _fitted_coxph(tmp_path_factory.mktemp("pairs"), table, "pairs"), table


@pytest.mark.parametrize("key", ["Dose_Gy", "dose gy", "DOSE_GY", " Dose Gy "])
def test_a_key_naming_a_variable_is_it_not_another_followed_by_a_unit(unit_named_pair_model, key):
    """Beside dose and dose_gy, 'Dose_Gy': 2.1 was refused as reading as dose (in Gy) or dose_gy:
    it names dose_gy, case and spaces aside, and is scored so; 'dose cGy', naming no variable, is
    still dose in cGy, refused as a unit the model records none of."""
    from survival_core.errors import ClinicalValueError
    from survival_core.workflows.scoring import score_values

    model_dir, table = unit_named_pair_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[3].to_dict()
    own = score_values(patient, loaded, "P3")
    value = patient.pop("dose_gy")
    scored = score_values({**patient, key: value}, loaded, "P3")
    assert (scored.risk, scored.imputed) == (own.risk, [])
    with pytest.raises(ClinicalValueError, match="give dose in cGy, but the model records no unit"):
        score_values({"age": 60, "dose_gy": value, "dose cGy": 50}, loaded, "P3")


def test_a_key_saying_its_number_has_no_unit_is_read(gbsg2_model, veterans_model):
    """'INR (ratio)' (the HCC form's INR, of no unit), GBSG2's 'pnodes (count)' and veterans'
    'Karnofsky_score (points)' were refused as giving a unit the model records none of
    ('gives inr in ratio, but the model records no unit'): these words say it has none."""
    from survival_core.io.clinical_schema import validate_clinical
    from survival_core.workflows.scoring import score_values

    assert validate_clinical({"INR (ratio)": 1.05}).values["inr"] == 1.05
    for (model_dir, table), name, key in (
        (gbsg2_model, "pnodes", "pnodes (count)"),
        (veterans_model, "Karnofsky_score", "Karnofsky_score (points)"),
    ):
        loaded = load_scoring_model(model_dir)
        patient = table.drop(columns=["time", "event", "case_id"]).iloc[0].to_dict()
        given = {k: v for k, v in patient.items() if k != name} | {key: patient[name]}
        scored = score_values(given, loaded, "P0")
        assert scored.risk == score_values(patient, loaded, "P0").risk and scored.imputed == []


@pytest.fixture(scope="module")
def veterans_model(tmp_path_factory):
    """A clinical-only Cox model on the veterans' lung cancer trial (real patients), fitted by
    the CLI without a schema: its variables are its columns, 'Age_in_years', 'Celltype'..."""
    from sksurv.datasets import load_veterans_lung_cancer

    folder = tmp_path_factory.mktemp("veterans")
    X, y = load_veterans_lung_cancer()
    table = X.assign(time=y["Survival_in_days"], event=y["Status"].astype(int))
    table.insert(0, "case_id", [f"V{i:04d}" for i in range(len(table))])
    return _fitted_coxph(folder, table, "veterans"), table


def test_a_value_keyed_by_its_variables_label_is_read_and_a_near_miss_refused(veterans_model):
    """Veterans' 'Cell type' (its variable Celltype), 'Age (years)' (Age_in_years) and the HCC
    labels the Case page's form shows ('Child-Pugh class', 'Total bilirubin') were ignored and
    their variables imputed (Cell type adeno: 0.023 for 0.328); 'Total bilirubin (mg/dL)'
    escaped the unit's refusal; 'karnofsky' was ignored, Karnofsky_score imputed."""
    from survival_core.errors import ClinicalValueError
    from survival_core.io.clinical_schema import validate_clinical
    from survival_core.workflows.scoring import score_values

    model_dir, table = veterans_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[0].to_dict()
    risk = score_values(patient, loaded, "V0").risk
    labelled = {k: v for k, v in patient.items() if k not in ("Celltype", "Age_in_years")}
    labelled |= {"Cell type": patient["Celltype"], "Age (years)": patient["Age_in_years"]}
    scored = score_values(labelled, loaded, "V0")
    assert scored.risk == risk and scored.imputed == [] and scored.cautions == []
    given_age = {k: v for k, v in labelled.items() if k != "Age (years)"}
    with pytest.raises(ClinicalValueError, match="give Age_in_years in months, but the model"):
        score_values({**given_age, "Age (months)": 700}, loaded, "V0")
    given = {k: v for k, v in patient.items() if k != "Karnofsky_score"}
    with pytest.raises(
        ClinicalValueError,
        match=r"'karnofsky' is none of the model's variables, while Karnofsky_score, which it "
        r"nearly names, is missing and would be imputed: give the value under 'Karnofsky_score'",
    ):
        score_values({**given, "karnofsky": 60}, loaded, "V0")

    checked = validate_clinical({"Child-Pugh class": "B", "Total bilirubin": 42.8})
    assert checked.values["child_pugh"] == "B" and checked.values["bilirubin"] == 42.8
    assert not checked.unknown
    with pytest.raises(ClinicalValueError, match="give bilirubin in mg/dL, but the model reads"):
        validate_clinical({"Total bilirubin (mg/dL)": 2.5})


def test_a_key_about_a_missing_variable_or_of_another_value_is_no_near_miss(
    veterans_model, gbsg2_model, whas500_model
):
    """Keys beside a missing variable that name something else blocked the score as near misses
    of it: veterans' 'diagnosis': 'NSCLC' (a text for Months_from_Diagnosis, a number, and half
    its name) and 'treatment_plan' (Treatment), GBSG2's 'tsize_date', WHAS500's 'hrt' (hr: any
    3 letters holding a 2-letter name were 'alike'). They are ignored, named in the cautions,
    the variable imputed, as before; a real near miss ('Karnofsky', 'pnode') stays refused."""
    from survival_core.errors import ClinicalValueError
    from survival_core.workflows.scoring import score_values

    cases = (
        (veterans_model, "Months_from_Diagnosis", {"diagnosis": "NSCLC"}),
        (veterans_model, "Treatment", {"treatment_plan": "chemo"}),
        (gbsg2_model, "tsize", {"tsize_date": "2020-01-01"}),
        (whas500_model, "hr", {"hrt": 1}),
    )
    for (model_dir, table), missing, other in cases:
        loaded = load_scoring_model(model_dir)
        patient = table.drop(columns=["time", "event", "case_id", missing]).iloc[0].to_dict()
        scored = score_values({**patient, **other}, loaded, "P0")
        assert scored.imputed == [missing]
        ignored = f"Not variables of model m, ignored: {[*other][0]} ("
        assert any(c.startswith(ignored) for c in scored.cautions)
    model_dir, table = gbsg2_model
    patient = table.drop(columns=["time", "event", "case_id", "pnodes"]).iloc[0].to_dict()
    with pytest.raises(ClinicalValueError, match="'pnode' is none of the model's variables"):
        score_values({**patient, "pnode": 3}, load_scoring_model(model_dir), "P0")


def test_a_key_stating_the_unit_its_variables_name_states_is_read(veterans_model):
    """Veterans' 'Age_in_years (years)' was refused as none of the model's variables, while
    Age_in_years, 'which it nearly names', was missing: its name was compared with the variable's
    unit-stripped form (age) alone. Another unit stays refused."""
    from survival_core.errors import ClinicalValueError
    from survival_core.workflows.scoring import score_values

    model_dir, table = veterans_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[0].to_dict()
    given = {k: v for k, v in patient.items() if k != "Age_in_years"}
    scored = score_values({**given, "Age_in_years (years)": patient["Age_in_years"]}, loaded, "V0")
    assert scored.risk == score_values(patient, loaded, "V0").risk and scored.imputed == []
    with pytest.raises(
        ClinicalValueError, match="give Age_in_years in months, but the model reads it in years"
    ):
        score_values({**given, "Age_in_years (months)": 700}, loaded, "V0")


@pytest.fixture(scope="module")
def hcc_lab_model(tmp_path_factory):
    """A clinical-only Cox model on 200 simulated HCC patients' albumin, bilirubin, AFP and
    platelets (the HCC schema's variables, each with its unit), fitted by the CLI."""
    from survival_core.synthetic.simulate import simulate_cohort

    columns = ["case_id", "albumin", "bilirubin", "afp", "platelets", "time", "event"]
    table = simulate_cohort(200, seed=3)[columns]
    return _fitted_coxph(tmp_path_factory.mktemp("hcc_labs"), table, "hcc_labs"), table


def test_a_key_followed_by_its_variables_unit_bare_is_read(hcc_lab_model):
    """'AFP ng/mL', 'Bilirubin µmol/L', 'Albumin g/L', 'Platelets 10^9/L' (a unit written
    without brackets) were none of the model's variables: 'Bilirubin µmol/L' refused as nearly
    naming bilirubin, the others' values ignored and imputed, where 'AFP (ng/mL)' was read. Read
    as their variables, the risk as under their names; another unit so written
    ('Bilirubin mg/dL') is refused as stated: in mg/dL, not the model's unit."""
    from survival_core.errors import ClinicalValueError
    from survival_core.workflows.scoring import score_values

    model_dir, table = hcc_lab_model
    loaded = load_scoring_model(model_dir)
    patient = table.iloc[0]
    named = {k: patient[k] for k in ("albumin", "bilirubin", "afp", "platelets")}
    keys = ["Albumin g/L", "Bilirubin µmol/L", "AFP ng/mL", "Platelets 10^9/L"]
    scored = score_values(dict(zip(keys, named.values(), strict=True)), loaded, "P0")
    assert scored.risk == score_values(named, loaded, "P0").risk
    assert (scored.imputed, scored.cautions) == ([], [])
    wrong = {k: v for k, v in named.items() if k != "bilirubin"} | {"Bilirubin mg/dL": 1.2}
    with pytest.raises(ClinicalValueError, match="give bilirubin in mg/dL, but the model reads"):
        score_values(wrong, loaded, "P0")


@pytest.mark.parametrize(
    "unit", ["10^3/µL", "10^3/uL", "10*9/L", "10⁹/L", "G/L", "/nL", "K/uL", "K/µL"]
)
def test_a_cell_count_in_10_3_per_ul_is_read_as_in_10_9_per_l(hcc_lab_model, unit):
    """'Platelets (10^3/µL)' = 250 (a US laboratory's), 'G/L' (a French one's), '/nL' and 'K/uL'
    under a model of platelets in 10^9/L were refused as another unit, to convert (or, bare,
    not read and imputed): they are 10^9/L. Read unchanged, the risk as under 'Platelets
    (10^9/L)'; grams per litre ('g/L') and 10^6/L are still refused, and 'Albumin (G/L)' is
    albumin in g/L."""
    from survival_core.errors import ClinicalValueError
    from survival_core.workflows.scoring import score_values

    model_dir, table = hcc_lab_model
    loaded = load_scoring_model(model_dir)
    labs = {k: table.iloc[0][k] for k in ("albumin", "bilirubin", "afp")}
    own = score_values({**labs, "Platelets (10^9/L)": 250}, loaded, "P0")
    for key in (f"Platelets ({unit})", f"Platelets {unit}"):
        scored = score_values({**labs, key: 250}, loaded, "P0")
        assert (scored.risk, scored.imputed) == (own.risk, [])
    for other in ("g/L", "10^6/L", "/uL"):
        with pytest.raises(ClinicalValueError, match=f"platelets in {re.escape(other)}, but the"):
            score_values({**labs, f"Platelets ({other})": 250}, loaded, "P0")
    albumin = {**labs, "platelets": 250, "Albumin (G/L)": labs["albumin"]}
    del albumin["albumin"]
    assert score_values(albumin, loaded, "P0").risk == own.risk


@pytest.fixture(scope="module")
def bilirubin_mg_dl_model(tmp_path_factory):
    """A clinical-only Cox model on 200 simulated HCC patients' age and bilirubin, the latter in
    mg/dL (:func:`~tests.small_cohorts.bilirubin_mg_dl_schema` beside the table), fitted by the
    CLI."""
    from survival_core.synthetic.simulate import simulate_cohort
    from tests.small_cohorts import bilirubin_mg_dl_schema

    folder = tmp_path_factory.mktemp("bili_mg_dl")
    table = simulate_cohort(200, seed=3)[["case_id", "age", "bilirubin", "time", "event"]]
    table["bilirubin"] = (table["bilirubin"] / 17.1).round(2)
    bilirubin_mg_dl_schema().save(folder / "schema.yaml")
    return _fitted_coxph(folder, table, "bili")


@pytest.mark.parametrize(
    "key", ["Bilirubin umol/L", "Total bilirubin µmol/l", "Bilirubin (umol/L)"]
)
def test_a_key_followed_by_another_unit_bare_is_refused_as_that_unit(bilirubin_mg_dl_model, key):
    """'Bilirubin umol/L' = 20 under a model of bilirubin in mg/dL was refused as a near miss,
    advising the value under 'bilirubin', where 20 (0.1-35 mg/dL) was scored as 20 mg/dL, 17
    times the patient's; 'Bilirubin (umol/L)' was refused as in umol/L. A unit of what the
    variable's unit measures, bare after its name, is read as stated, as the bracketed one is."""
    from survival_core.errors import ClinicalValueError
    from survival_core.workflows.scoring import score_values

    loaded = load_scoring_model(bilirubin_mg_dl_model)
    said = (
        r"The clinical values give bilirubin in (umol|µmol)/[lL], but the model reads it in "
        r"mg/dL: convert the value to mg/dL"
    )
    with pytest.raises(ClinicalValueError, match=said):
        score_values({"age": 60, key: 20}, loaded, "P0")
    own = score_values({"age": 60, "Bilirubin mg/dL": 1.2}, loaded, "P0")
    assert own.risk == score_values({"age": 60, "bilirubin": 1.2}, loaded, "P0").risk
    with pytest.raises(ClinicalValueError, match="'Bilirubin direct' is none of the model's"):
        score_values({"age": 60, "Bilirubin direct": 0.3}, loaded, "P0")


@pytest.mark.parametrize("no_value", ["NA", "unknown", "not done", ""])
def test_a_key_of_another_unit_or_a_near_miss_saying_no_value_is_a_missing_value(
    bilirubin_mg_dl_model, veterans_model, no_value
):
    """'Bilirubin umol/L': NA under a model of mg/dL, 'Bilirubin direct': unknown, veterans'
    'karnofsky': not done were refused (a unit to convert, a near miss to give under its
    variable's name) where under the variable's own key the value is missing: no value, nothing
    to convert or lose. Read as missing, imputed and said, the risk as under the right key."""
    from survival_core.workflows.scoring import score_values

    loaded = load_scoring_model(bilirubin_mg_dl_model)
    missing = score_values({"age": 60, "bilirubin": no_value}, loaded, "P0")
    assert missing.imputed == ["bilirubin"]
    for key in ("Bilirubin umol/L", "Bilirubin (umol/L)", "Bilirubin direct"):
        scored = score_values({"age": 60, key: no_value}, loaded, "P0")
        assert (scored.risk, scored.imputed) == (missing.risk, ["bilirubin"])
    model_dir, table = veterans_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id", "Karnofsky_score"]).iloc[0]
    scored = score_values({**patient.to_dict(), "karnofsky": no_value}, loaded, "V0")
    assert scored.imputed == ["Karnofsky_score"]
    assert scored.risk == score_values(patient.to_dict(), loaded, "V0").risk


@pytest.mark.parametrize("text", ["-", "haemolysed"])
@pytest.mark.parametrize("key", ["Bilirubin (umol/L)", "Bilirubin umol/L"])
def test_a_text_under_a_key_of_another_unit_is_read_as_under_its_own_key(
    bilirubin_mg_dl_model, key, text
):
    """'Bilirubin (umol/L)': 'pending' (or '-') under a model of bilirubin in mg/dL was refused
    advising to convert the value to mg/dL: there is nothing to convert. It is refused as under
    'bilirubin', naming the value ('pending' is not a number; '-' may mean no value)."""
    from survival_core.errors import ClinicalValueError
    from survival_core.workflows.scoring import score_values

    loaded = load_scoring_model(bilirubin_mg_dl_model)
    with pytest.raises(ClinicalValueError) as own:
        score_values({"age": 60, "bilirubin": text}, loaded, "P0")
    assert "convert" not in str(own.value)
    assert f"Total bilirubin (bilirubin): {text!r} " in str(own.value)
    with pytest.raises(ClinicalValueError) as stated:
        score_values({"age": 60, key: text}, loaded, "P0")
    assert str(stated.value) == str(own.value)


def test_an_impossible_value_of_a_variable_without_a_plausible_range_is_refused(
    gbsg2_model, veterans_model
):
    """Models fitted without a schema give their numbers no plausible range: GBSG2's tsize of -25
    and veterans' Karnofsky score of 600 (under 20-90: risk -17) were scored with a range caution
    alone."""
    from survival_core.errors import ClinicalValueError
    from survival_core.nomogram.cox import build_nomogram
    from survival_core.workflows.scoring import score_values

    model_dir, table = gbsg2_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[3].to_dict()
    below = (
        r"tsize = -25 is below zero, while every training value was 0 or more: its training "
        r"range is 8 to 80 \(1st-99th percentile\)\. Check the value and its unit"
    )
    with pytest.raises(ClinicalValueError, match=below):
        score_values({**patient, "tsize": -25}, loaded, "P3")
    with pytest.raises(ClinicalValueError, match=below):  # the nomogram's points alike
        build_nomogram(loaded).points({**patient, "tsize": -25})
    assert score_values({**patient, "tsize": 300}, loaded, "P3").cautions  # beyond: cautioned

    model_dir, table = veterans_model
    loaded = load_scoring_model(model_dir)
    patient = table.drop(columns=["time", "event", "case_id"]).iloc[0].to_dict()
    with pytest.raises(
        ClinicalValueError,
        match=r"Karnofsky_score = 600 is more than 5 times the largest training value \(99\): "
        r"its training range is 20 to 90 \(1st-99th percentile\)",
    ):
        score_values({**patient, "Karnofsky_score": 600}, loaded, "V0")


def test_a_cases_yes_is_read_as_the_model_trained_it(gbsg2_model):
    """GBSG2 (real) fitted from its table reads horTh yes/no as True/False: a case carrying the
    sheet's own 'yes' was refused as a level the model never saw (the Risk, Report and Nomogram
    pages score a case this way), while the same values alone were scored."""
    import dataclasses

    from survival_core.workflows.scoring import score_values
    from tests.case_builders import make_case

    model_dir, table = gbsg2_model
    loaded = load_scoring_model(model_dir)
    row = table.drop(columns=["case_id", "time", "event"]).iloc[3].to_dict()
    assert row["horTh"] == "yes"
    case = dataclasses.replace(make_case(), case_id="P0003", clinical=row)
    scored = score_case(case, loaded)
    as_read = load_model_table([model_dir.parent / "gbsg2.csv"]).X.loc[["P0003"]]
    assert scored.risk == pytest.approx(loaded.model.predict_risk(as_read)[0], abs=1e-12)
    assert scored.risk == pytest.approx(score_values(row, loaded, "P0003").risk, abs=1e-12)
    assert scored.imputed == []


def test_a_real_patients_lab_value_far_beyond_a_small_training_cohort_is_cautioned(tmp_path):
    """flchain's creatinine and light chains have long tails: under a model of 100 of its
    patients (largest creatinine 1.6, lambda 5.26) six real patients of the same cohort
    (creatinine 8.6-10.8, lambda 26.6) were refused as 'more than 5 times the largest training
    value', a rule for a bounded scale's (a Karnofsky score of 600 stays refused, above)."""
    from sksurv.datasets import load_flchain

    from survival_core.workflows.scoring import score_values

    X, y = load_flchain()
    table = X.drop(columns="chapter").assign(time=y["futime"], event=y["death"].astype(int))
    table.insert(0, "case_id", [f"F{i:04d}" for i in range(len(table))])
    trained = table.sample(100, random_state=12)
    trained.to_csv(tmp_path / "flchain.csv", index=False)
    argv = ["fit", "--table", str(tmp_path / "flchain.csv"), "--model", "coxph"]
    assert main([*argv, "--out", str(tmp_path / "m"), "--json"]) == 0
    loaded = load_scoring_model(tmp_path / "m")
    others = table.drop(trained.index).set_index("case_id").drop(columns=["time", "event"])
    labs = ["kappa", "lambda", "creatinine"]
    beyond = others[labs] > 5 * trained[labs].max()
    assert beyond.any(axis=1).sum() == 6
    for case_id, patient in others[beyond.any(axis=1)].iterrows():
        scored = score_values(patient.dropna().to_dict(), loaded, case_id)
        assert scored.risk_group == "high"
        for lab in beyond.columns[beyond.loc[case_id]]:
            said = f"{lab} = {patient[lab]:g} lies outside its training range"
            assert any(c.startswith(said) for c in scored.cautions), (said, scored.cautions)
    cautions = score_values(others.loc["F5574"].to_dict(), loaded, "F5574").cautions
    assert (
        "lambda = 26.6 lies outside its training range 0.46768 to 4.9927 (1st-99th "
        "percentile): check its unit."
    ) in cautions
