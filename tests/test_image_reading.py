"""A model remembers how the images of its features were read (the card's ``image_reading``, from
its radiomics tables' stamp): a case is always read the current way, so a model of an earlier
reading is cautioned at scoring, and the demo's models are trained again. Before, the demo model
trained before NIfTI-1 geometry was read as decimals scored a NIfTI case up to 0.008 log-hazard
away from its DICOM copy without a word.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sksurv import datasets

from survival_core.cli.main import main
from survival_core.features.presets import han2020
from survival_core.features.settings import reading_stamp
from survival_core.features.table import read_reading, write_feature_table, write_table
from survival_core.io.tables import READING_KEY
from survival_core.models.card import ModelCard
from survival_core.workflows import demo
from survival_core.workflows.training import train_model

MEAN = "gtv__1mm_original__firstorder__Mean"


def _tables(tmp_path: Path) -> list[Path]:
    """GBSG2 (real outcomes and clinical variables) beside a radiomics table of the tumour's
    mean intensity."""
    X, y = datasets.load_gbsg2()
    clinical = X[["age", "pnodes"]].copy()
    clinical.insert(0, "case_id", [f"G{i:04d}" for i in range(len(X))])
    clinical["time"], clinical["event"] = y["time"], y["cens"].astype(int)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    rng = np.random.default_rng(1)
    mean = pd.DataFrame({MEAN: rng.normal(-400, 150, len(X))}, index=clinical["case_id"])
    write_feature_table(mean.rename_axis("case_id"), tmp_path / "gtv.parquet", han2020(), "CT")
    return [tmp_path / "clinical.csv", tmp_path / "gtv.parquet"]


def _unstamped(path: Path) -> None:
    """``path`` as an earlier version wrote it: its footer without the reading."""
    footer = dict(pq.read_schema(path).metadata)
    del footer[READING_KEY]
    write_table(pd.read_parquet(path), path, footer)


def _lung_case(shared_data: Path, folder: Path) -> Path:
    """pyradiomics' real lung CT and its tumour contour as a case with clinical values."""
    folder.mkdir()
    shutil.copy(shared_data / "pyradiomics" / "lung1_image.nrrd", folder / "image.nrrd")
    shutil.copy(shared_data / "pyradiomics" / "lung1_label.nrrd", folder / "gtv.nrrd")
    (folder / "clinical.json").write_text(json.dumps({"age": 61, "pnodes": 2}))
    return folder


def _cautions(capsys, case: Path, model: Path) -> list[str]:
    assert main(["score", "--case", str(case), "--model", str(model), "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["cautions"]


def test_a_model_of_an_earlier_reading_is_cautioned(tmp_path, shared_data, capsys) -> None:
    tables = _tables(tmp_path)
    assert read_reading(tables[1]) == reading_stamp()
    case = _lung_case(shared_data, tmp_path / "case")
    now, earlier = tmp_path / "now", tmp_path / "earlier"
    train_model(tables, "coxph", {"penalizer": 0.1}, now)
    assert ModelCard.load(now).image_reading == reading_stamp()
    assert not [c for c in _cautions(capsys, case, now) if "read another way" in c]

    _unstamped(tables[1])
    assert read_reading(tables[1]) is None
    train_model(tables, "coxph", {"penalizer": 0.1}, earlier)
    assert ModelCard.load(earlier).image_reading is None
    said = [c for c in _cautions(capsys, case, earlier) if "does not record how" in c]
    assert len(said) == 1 and "Train the model again" in said[0]


def test_a_cohort_tables_name_tells_its_reading(tmp_path, shared_data, capsys) -> None:
    """A table a training run extracted before the reading was kept in tables' metadata names it
    ('-g<stamp>'): a model of today's reading was cautioned as not recorded; one of another
    stamp is cautioned as read another way."""
    tables = _tables(tmp_path)
    _unstamped(tables[1])
    case = _lung_case(shared_data, tmp_path / "case")
    for stamp, said in ((reading_stamp(), None), ("abc000", "read another way")):
        named = tmp_path / f"cohort-han2020-0123456789ab-g{stamp}.parquet"
        shutil.copy(tables[1], named)
        model = tmp_path / stamp
        train_model([tables[0], named], "coxph", {"penalizer": 0.1}, model)
        assert ModelCard.load(model).image_reading == stamp
        card = json.loads((model / "card.json").read_text())
        (model / "card.json").write_text(json.dumps({**card, "image_reading": None}))
        cautions = [c for c in _cautions(capsys, case, model) if "Train the model again" in c]
        assert [said in c for c in cautions] == ([] if said is None else [True])


def test_tables_read_in_several_ways_make_no_reading(tmp_path) -> None:
    tables = _tables(tmp_path)
    other = tmp_path / "other.parquet"
    table = pd.read_parquet(tables[1]).rename(columns={MEAN: MEAN.replace("gtv", "body")})
    write_feature_table(table, other, han2020(), "CT")
    footer = dict(pq.read_schema(other).metadata) | {READING_KEY: b"0ld000"}
    write_table(pd.read_parquet(other), other, footer)
    train_model([*tables, other], "coxph", {"penalizer": 0.1}, tmp_path / "model")
    assert ModelCard.load(tmp_path / "model").image_reading is None


def test_a_clinical_model_is_not_cautioned_for_its_reading(tmp_path, shared_data, capsys) -> None:
    """A model reading no image: how images are read does not reach its risk."""
    tables = _tables(tmp_path)
    model = tmp_path / "model"
    train_model(tables[:1], "coxph", {"penalizer": 0.1}, model)
    card = json.loads((model / "card.json").read_text())
    del card["image_reading"]  # as a card of an earlier version
    (model / "card.json").write_text(json.dumps(card))
    case = _lung_case(shared_data, tmp_path / "case")
    assert not [c for c in _cautions(capsys, case, model) if "read another way" in c]


def test_the_demo_model_of_an_earlier_reading_is_trained_again(
    demo_in_place, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data folder kept across an upgrade: `make run` (prepare-demo) trains the demo models
    again when their features were read another way, or the default model's card names no
    outcome, and keeps them when not. A demo cohort generated before RadSurv 0.2.2 has no
    outcome record, and its model said plain 'survival' and 'events': the cohort gets the
    generator's record, overall survival."""
    from survival_core.io.outcome_source import OUTCOME_FILE, load_outcome_source
    from survival_core.synthetic.generate import OUTCOME

    (demo_in_place / OUTCOME_FILE).unlink()  # as generated before the record
    assert demo._prepare_cohort(print) is False  # not generated again, but recorded
    assert load_outcome_source(demo_in_place).words().survival == "overall survival"
    tables = _tables(tmp_path)
    OUTCOME.save(tmp_path)  # the tables' cohort records its outcome, as the demo's does
    folder = demo.default_model_dir()
    train_model(tables, "coxph", {"penalizer": 0.1}, folder)
    trained: list[Path] = []
    monkeypatch.setattr(demo, "_train_into", lambda folder, *_, **__: trained.append(folder))
    assert demo._prepare_model(print, refresh=False) is False
    card = json.loads((folder / "card.json").read_text())
    for stale in ({"image_reading": None}, {"outcome": None}):
        (folder / "card.json").write_text(json.dumps(card | stale))
        assert demo._prepare_model(print, refresh=False) is True
    assert trained == [folder, folder]
