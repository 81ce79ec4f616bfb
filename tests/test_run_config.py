"""Run configs: dotted-path errors, defaults, hashing, paths, the shipped study configs."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
from pathlib import Path
from typing import Any

import pytest

from survival_core.errors import ConfigError, InputError
from survival_core.features.dsfr import feature_columns
from survival_core.io.clinical import BY_NAME
from survival_core.models import MODELS
from survival_core.runs.config import (
    MAX_SEED,
    FrozenDict,
    RunConfig,
    load_config,
    parse_config,
)
from survival_core.runs.store import MAX_NAME_LENGTH

CONFIGS = Path(__file__).resolve().parents[1] / "assets" / "configs"
BASE: dict[str, Any] = {"name": "t", "cohort": "demo", "model": {"name": "coxph"}}
DELETE = object()


def config_with(**changes: Any) -> dict[str, Any]:
    """BASE with dotted keys (``model__params__lr`` -> model.params.lr) set, or deleted."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            del node[last]
        else:
            node[last] = copy.deepcopy(value)
    return data


DEEPSURV = {"name": "deepsurv"}
#: The start of scikit-learn's rule (the string options follow, in no fixed order).
RSF_MAX_FEATURES = "an int in the range [1, inf), a float in the range (0.0, 1.0]"
RSF_MAX_SAMPLES = "None, a float in the range (0.0, inf) or an int in the range [1, inf)"
BAD = [
    # top level
    (config_with(seeds=1), "seeds: unknown key; allowed: name, description, cohort"),
    (config_with(name=DELETE), "name: required"),
    (config_with(name="my run"), "name: use letters, digits"),
    (config_with(name=".."), "name: use letters"),
    (config_with(description=5), "description: expected text, got 5"),
    (config_with(cohort=3), "cohort: expected non-empty text"),
    (config_with(cohort=""), "cohort: expected non-empty text"),
    (config_with(model="coxph"), "model: expected a mapping"),
    (config_with(reduction="pca"), "reduction: expected one of none, han2020, cox_pvalue, lasso"),
    (config_with(bootstrap=-1), "bootstrap: expected a whole number >= 1, got -1"),
    (config_with(bootstrap=0), "bootstrap: expected a whole number >= 1, got 0"),
    (config_with(bootstrap=True), "bootstrap: expected a whole number >= 1, got true"),
    (config_with(seed=1.0), "seed: expected a whole number from 0 to 2147483647, got 1.0"),
    (config_with(seed=-1), "seed: expected a whole number from 0 to 2147483647, got -1"),
    # numpy's "Seed must be between 0 and 2**32 - 1" traceback in the folds, before
    (config_with(seed=2**32), "seed: expected a whole number from 0 to 2147483647, got 4294"),
    (config_with(seed=2**31), "seed: expected a whole number from 0 to 2147483647, got 2147"),
    # an OSError "File name too long" traceback making the run's folders, before
    (config_with(name="r" * 300), "name: at most 200 characters (the run's folders are named"),
    (config_with(device="gpu"), "device: expected one of auto, cpu, cuda or cuda:N"),
    (config_with(horizons=[]), "horizons: expected a non-empty list of days"),
    (config_with(horizons=365), "horizons: expected a non-empty list"),
    (config_with(horizons=[365, "a"]), "horizons[1]: expected a number > 0"),
    (config_with(horizons=[730, 365]), "horizons[1]: expected increasing days; 365 follows 730"),
    # features
    (
        config_with(features__radiomic=["wei2021"]),
        "features.radiomic: unknown key; allowed: clinical, radiomics, companions, deep, dsfr, select",
    ),
    (config_with(features__clinical="yes"), "features.clinical: expected true or false"),
    (config_with(features__radiomics="wei2021"), "features.radiomics: expected a list of presets"),
    (
        config_with(features__radiomics=["wei2021", "wei2022"]),
        "features.radiomics[1]: expected one of wei2021, han2020, full, got 'wei2022'",
    ),
    (
        config_with(features__radiomics=["han2020", "han2020"]),
        "features.radiomics[1]: preset 'han2020' is listed twice",
    ),
    (config_with(features__deep={"layer": "fc"}), "features.deep.network: required"),
    (config_with(features__deep={"network": ""}), "features.deep.network: expected non-empty"),
    (config_with(features__dsfr={"slice_size": 60}), "features.dsfr.slice_size: Slice size 60"),
    (
        config_with(features__dsfr={"epochs": 0}),
        "features.dsfr.epochs: expected a whole number >= 1",
    ),
    (config_with(features__dsfr={"epoch": 3}), "features.dsfr.epoch: unknown key; allowed: epochs"),
    (config_with(features__select="(["), "features.select: not a valid regular expression"),
    (config_with(features__clinical=False), "features: no feature source: model 'coxph'"),
    # model
    (config_with(model={}), "model.name: required"),
    (config_with(model__name="coxnett"), "model.name: expected one of coxph, coxnet, lasso_cox"),
    (config_with(model__params=[1]), "model.params: expected a mapping"),
    (
        config_with(model__params={"lr": 0.1}),
        "model.params.lr: not a parameter of model 'coxph'; allowed: penalizer, l1_ratio",
    ),
    (
        config_with(model__params={"penalizer": "abc"}),
        "model.params.penalizer: expected a number, got 'abc'",
    ),
    (
        config_with(model__params={"penalizer": "1e-4"}),
        "model.params.penalizer: expected a number, got '1e-4' (a number in quotes is text",
    ),
    (
        config_with(protocol__folds="3"),
        "protocol.folds: expected a whole number >= 2, got '3' (a number in quotes is text: "
        "write it without the quotes)",
    ),
    (
        config_with(model=DEEPSURV, model__params={"epochs": True}),
        "model.params.epochs: expected a whole number, got true",
    ),
    (
        config_with(model=DEEPSURV, model__params={"epochs": 2.5}),
        "model.params.epochs: expected a whole number",
    ),
    (
        config_with(model=DEEPSURV, model__params={"hidden": [32, "x"]}),
        "model.params.hidden: expected a list of whole numbers",
    ),
    (
        config_with(model=DEEPSURV, model__params={"batch_size": "all"}),
        "model.params.batch_size: expected a whole number or null",
    ),
    (
        config_with(model=DEEPSURV, model__params={"seed": 3}),
        "model.params.seed: set by the run: use the top-level 'seed'",
    ),
    (
        config_with(model=DEEPSURV, model__params={"device": "cpu"}),
        "model.params.device: set by the run",
    ),
    (config_with(model=DEEPSURV, model__params={"lr": -1}), "model.params: lr must be > 0"),
    (
        config_with(model=DEEPSURV, model__params={"dropout": 1.5}),
        "model.params: dropout must be in [0, 1), got 1.5",
    ),
    (
        config_with(model=DEEPSURV, model__params={"hidden": [16, 0]}),
        "model.params: hidden layer widths must be >= 1, got [16, 0]",
    ),
    (
        config_with(model={"name": "fusion", "params": {"clinical": {"foo": 1}}}),
        "model.params: The fusion branch 'clinical' has no parameter(s) foo",
    ),
    # scikit-survival's own rules, checked with the config (the started run failed at its fit)
    *(
        (
            config_with(model={"name": "rsf", "params": {key: value}}),
            f"model.params: Random survival forest settings rejected: The '{key}' parameter "
            f"of RandomSurvivalForest must be {allowed}",
        )
        for key, value, allowed in (
            ("max_features", "foo", RSF_MAX_FEATURES),
            ("max_features", 2.0, RSF_MAX_FEATURES),
            ("max_depth", 0, "an int in the range [1, inf) or None. Got 0 instead."),
            ("max_samples", 0, f"{RSF_MAX_SAMPLES}. Got 0 instead."),
        )
    ),
    (
        config_with(model={"name": "gbsa", "params": {"max_features": "foo"}}),
        "model.params: Gradient boosting settings rejected: The 'max_features' parameter",
    ),
    # search
    (config_with(model=DEEPSURV, model__search={"trials": 3}), "model.search.space: required"),
    (
        config_with(model=DEEPSURV, model__search={"space": {}}),
        "model.search.space: expected at least one",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"foo": {"choice": [1]}}}),
        "model.search.space.foo: not a parameter of model 'deepsurv'; allowed: hidden, dropout",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"lr": {"uniform": [0.1, 0.01]}}}),
        "model.search.space.lr.uniform: low must be < high",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"lr": {"loguniform": [0, 0.1]}}}),
        "model.search.space.lr.loguniform: a log-uniform range needs low > 0",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"lr": {"uniform": [0.1]}}}),
        "model.search.space.lr.uniform: expected [low, high]",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"epochs": {"int": [50, 20]}}}),
        "model.search.space.epochs.int: low must be <= high",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"epochs": {"int": [1.5, 3]}}}),
        "model.search.space.epochs.int[0]: expected a whole number",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"epochs": {"uniform": [10, 20]}}}),
        "model.search.space.epochs.uniform: 'uniform' draws numbers with decimals but the "
        "parameter takes a whole number",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"lr": {"choice": []}}}),
        "model.search.space.lr.choice: expected a non-empty list",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"lr": {"choice": [0.1, "x"]}}}),
        "model.search.space.lr.choice[1]: expected a number, got 'x'",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"lr": {"normal": [0, 1]}}}),
        "model.search.space.lr.normal: unknown key; allowed: choice, uniform, loguniform, int",
    ),
    (
        config_with(
            model=DEEPSURV, model__search={"space": {"lr": {"uniform": [0.1, 0.2], "choice": [1]}}}
        ),
        "model.search.space.lr: give exactly one of choice, uniform, loguniform, int",
    ),
    (
        config_with(
            model=DEEPSURV,
            model__params={"lr": 0.1},
            model__search={"space": {"lr": {"choice": [0.1, 0.01]}}},
        ),
        "model.search.space.lr: also set in model.params",
    ),
    (
        config_with(model=DEEPSURV, model__search={"space": {"seed": {"int": [0, 9]}}}),
        "model.search.space.seed: set by the run",
    ),
    # the model's own checks on a range's ends, as on a fixed value (its trials failed at run
    # time: most of veterans' l1_ratio uniform [0.5, 3.0] on 'must be between 0 and 1')
    (
        config_with(
            model={"name": "coxph", "search": {"space": {"l1_ratio": {"uniform": [0.5, 3.0]}}}}
        ),
        "model.search.space.l1_ratio.uniform: 3.0 is refused by coxph: l1_ratio must be between "
        "0 and 1",
    ),
    (
        config_with(
            model={"name": "rsf", "search": {"space": {"min_samples_leaf": {"int": [0, 5]}}}}
        ),
        "model.search.space.min_samples_leaf.int: 0 is refused by rsf",
    ),
    (
        config_with(
            model=DEEPSURV, model__search={"space": {"lr": {"choice": [0.1]}}, "trials": 0}
        ),
        "model.search.trials: expected a whole number >= 1",
    ),
    (
        config_with(
            model=DEEPSURV, model__search={"space": {"lr": {"choice": [0.1]}}, "metric": "ibs"}
        ),
        "model.search.metric: expected one of c_index, got 'ibs'",
    ),
    # protocol
    (
        config_with(protocol__name="kfold"),
        "protocol.name: expected one of nested_cv, leave_one_out, fixed_split, external",
    ),
    (config_with(protocol__repeats=0), "protocol.repeats: expected a whole number >= 1"),
    (config_with(protocol__folds=1), "protocol.folds: expected a whole number >= 2"),
    (
        config_with(protocol={"name": "fixed_split", "test_fraction": 1.0}),
        "protocol.test_fraction: expected a number between 0 and 1 (exclusive), got 1.0",
    ),
    (
        config_with(protocol={"name": "fixed_split", "test_fraction": 0}),
        "protocol.test_fraction: expected a number between 0 and 1",
    ),
    (
        config_with(protocol={"name": "nested_cv", "test_fraction": 0.2}),
        "protocol.test_fraction: not used by protocol 'nested_cv' (only by fixed_split)",
    ),
    (
        config_with(protocol={"name": "leave_one_out", "folds": 5}),
        "protocol.folds: not used by protocol 'leave_one_out' (only by nested_cv)",
    ),
    (
        config_with(protocol={"name": "external"}),
        "protocol.external_cohort: required by protocol 'external'",
    ),
    (
        config_with(protocol={"name": "external", "external_cohort": "demo"}),
        "protocol.external_cohort: is the training cohort itself",
    ),
    (
        config_with(features={"select": "^(hbv|afp)$", "require": ["hbv", "ggt"]}),
        "features.require: names ggt, which select ('^(hbv|afp)$') leaves out",
    ),
    (config_with(features__require="mvi"), "features.require: expected a list of column names"),
    # risk groups, engine
    (config_with(risk_groups__cut="tertile"), "risk_groups.cut: expected one of median, youden"),
    (
        config_with(risk_groups={"cut": "youden", "horizon": None}),
        "risk_groups.horizon: the youden cut needs a horizon",
    ),
    (config_with(risk_groups__horizon=-5), "risk_groups.horizon: expected a number > 0, got -5"),
    (config_with(engine__kind="dask"), "engine.kind: expected one of local, ray, got 'dask'"),
    (
        config_with(engine={"kind": "local", "address": "ray://h:10001"}),
        "engine.address: only used with engine.kind: ray",
    ),
    (config_with(engine__workers=0), "engine.workers: expected a whole number >= 1"),
]


@pytest.mark.parametrize(("data", "fragment"), BAD, ids=[f for _, f in BAD])
def test_bad_config_names_the_dotted_key(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="study.yaml")
    message = str(info.value)
    path = fragment.split(":", 1)[0]
    assert message.startswith(f"{path}: "), message
    assert fragment in message
    assert message.endswith("(in study.yaml)")


def test_every_mistake_of_a_config_is_named_at_once() -> None:
    """A config with several mistakes named only the first, so fixing it took one run each."""
    data = config_with(
        modle="coxph",
        model__name="coxnett",
        protocol__repeats=0,
        protocol__folds=1,
        protocol__test_fraction=0.3,  # another protocol's key stopped the section's checks
        risk_groups__cut="medain",
    )
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="study.yaml")
    lines = str(info.value).splitlines()
    assert lines[0] == "The run config has 6 problems (in study.yaml):"
    assert lines[1].startswith("- protocol.test_fraction: not used by protocol 'nested_cv'")
    assert lines[2].startswith("- modle: unknown key; allowed: name, ")  # a misspelt key first
    assert lines[3:] == [
        f"- model.name: expected one of {', '.join(MODELS)}, got 'coxnett'",
        "- protocol.repeats: expected a whole number >= 1, got 0",
        "- protocol.folds: expected a whole number >= 2, got 1",
        "- risk_groups.cut: expected one of median, youden, got 'medain'",
    ]


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match=r"^config: expected a mapping"):
        parse_config([1, 2])


def test_defaults_are_filled() -> None:
    config = parse_config(BASE)
    assert config.to_dict() == {
        "name": "t",
        "description": "",
        "cohort": "demo",
        "features": {
            "clinical": True,
            "radiomics": [],
            "deep": None,
            "dsfr": None,
            "select": None,
        },
        "model": {"name": "coxph", "params": {}, "search": None},
        "reduction": "none",
        "protocol": {"name": "nested_cv", "repeats": 10, "folds": 5},
        "risk_groups": {"cut": "median", "horizon": 730.0},
        "horizons": [365.0, 730.0, 1095.0],
        "bootstrap": 1000,
        "seed": 0,
        "device": "auto",
        "engine": {"kind": "local", "address": None, "workers": None},
    }
    dsfr = parse_config(config_with(features__dsfr={}))
    assert (dsfr.features.dsfr.epochs, dsfr.features.dsfr.slice_size) == (30, 128)
    search = parse_config(
        config_with(model=DEEPSURV, model__search={"space": {"lr": {"choice": [0.1]}}})
    )
    assert (search.model.search.trials, search.model.search.metric) == (20, "c_index")


def full_config(tmp_path: Path) -> dict[str, Any]:
    """A config using every optional part."""
    return {
        "name": "full-1.0",
        "description": "everything",
        "cohort": str(tmp_path / "cohort"),
        "features": {
            "clinical": True,
            "radiomics": ["wei2021", "full"],
            "deep": {"network": "net.pt", "layer": "fc"},
            "dsfr": {"epochs": 2, "slice_size": 32},
            "select": "^(age|gtv_)",
        },
        "model": {
            "name": "deepsurv",
            "params": {"hidden": [16, 8], "lr": 1, "batchnorm": True},
            "search": {
                "space": {
                    "dropout": {"uniform": [0.0, 0.5]},
                    "weight_decay": {"loguniform": [1.0e-5, 1.0e-3]},
                    "epochs": {"int": [10, 40]},
                    "batch_size": {"choice": [None, 32]},
                },
                "trials": 5,
            },
        },
        "reduction": "han2020",
        "protocol": {"name": "external", "external_cohort": "../ext"},
        "risk_groups": {"cut": "youden", "horizon": 1095},
        "horizons": [180, 365.5],
        "bootstrap": 1,
        "seed": 7,
        "device": "cuda:1",
        "engine": {"kind": "ray", "address": "ray://head:10001", "workers": 4},
    }


def test_round_trip_and_plain_values(tmp_path: Path) -> None:
    config = parse_config(full_config(tmp_path), base_dir=tmp_path)
    plain = config.to_dict()
    assert parse_config(plain) == config
    assert parse_config(plain).hash() == config.hash()
    # plain JSON types only: tuples became lists, paths text
    assert plain["model"]["params"] == {"hidden": [16, 8], "lr": 1.0, "batchnorm": True}
    assert plain["model"]["search"]["space"]["epochs"] == {"int": [10, 40]}
    assert plain["features"]["deep"] == {"network": str(tmp_path / "net.pt"), "layer": "fc"}
    assert plain["protocol"] == {
        "name": "external",
        "external_cohort": str(tmp_path.parent / "ext"),
    }
    # a whole number given for a float parameter is stored as a float
    assert isinstance(config.model.params["lr"], float)
    assert config.model.params["hidden"] == (16, 8)


def test_config_is_frozen_and_picklable(tmp_path: Path) -> None:
    config = parse_config(full_config(tmp_path), base_dir=tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.model.params["lr"] = 0.5  # type: ignore[index]
    assert isinstance(config.model.params, FrozenDict)
    copied = pickle.loads(pickle.dumps(config))
    assert copied == config and hash(copied) == hash(config)


def test_model_params_add_the_run_seed_and_device() -> None:
    deepsurv = parse_config({**config_with(model=DEEPSURV, model__params={"lr": 0.01}), "seed": 3})
    assert deepsurv.model_params() == {"lr": 0.01, "seed": 3, "device": "auto"}
    coxph = parse_config(config_with(model__params={"penalizer": 0.1}))
    assert coxph.model_params() == {"penalizer": 0.1}  # Cox PH takes neither


def test_hash_is_stable() -> None:
    config = parse_config(BASE)
    assert re.fullmatch(r"[0-9a-f]{64}", config.hash())
    reordered = {"model": {"name": "coxph"}, "cohort": "demo", "name": "t"}
    spelled_out = {**BASE, "horizons": [365, 730, 1095], "risk_groups": {"horizon": 730}}
    assert parse_config(reordered).hash() == config.hash()
    assert parse_config(spelled_out).hash() == config.hash()
    # where the work runs and the description do not change what is computed
    elsewhere = {**BASE, "description": "x", "engine": {"kind": "ray", "workers": 2}}
    assert parse_config(elsewhere).hash() == config.hash()


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 1},
        {"model": {"name": "coxph", "params": {"penalizer": 0.02}}},
        {"protocol": {"repeats": 9}},
        {"horizons": [365, 730]},
        {"features": {"clinical": True, "radiomics": ["wei2021"]}},
        {"cohort": "/data/other"},
        {"device": "cpu"},
        {"bootstrap": 999},
    ],
)
def test_hash_is_sensitive(change: dict[str, Any]) -> None:
    assert parse_config({**BASE, **change}).hash() != parse_config(BASE).hash()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config_file = write(
        tmp_path / "studies" / "a" / "run.yaml",
        "name: a\ncohort: ../cohorts/mine\nmodel: {name: coxph}\n"
        "features: {deep: {network: nets/cnn}}\n"
        "protocol: {name: external, external_cohort: ./demo}\n",
    )
    resnet = write(
        tmp_path / "studies" / "b.yaml",
        "name: b\ncohort: demo\nmodel: {name: resnet_fusion, params: {pretrained: w/r18.pth}}\n",
    )
    assert load_config(resnet).model.params["pretrained"] == str(tmp_path / "studies/w/r18.pth")
    config = load_config(config_file)
    assert config.cohort == tmp_path / "studies" / "cohorts" / "mine"
    assert config.features.deep.network == tmp_path / "studies" / "a" / "nets" / "cnn"
    # "./demo" is a folder; the bare keyword "demo" is the bundled cohort
    assert config.protocol.external_cohort == tmp_path / "studies" / "a" / "demo"
    assert parse_config(config_with(cohort="demo")).cohort == "demo"
    absolute = str(tmp_path / "elsewhere")
    assert parse_config(config_with(cohort=absolute), base_dir="/nowhere").cohort == Path(absolute)
    # parse_config without base_dir: the working directory
    assert parse_config(config_with(cohort="c")).cohort == tmp_path / "c"


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", "name: x\ncohort: demo\nmodel: {name: coxph\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not valid YAML at line 4")


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "twice.yaml", "name: x\ncohort: demo\nmodel: {name: coxph}\nseed: 1\nseed: 2\n"
    )
    with pytest.raises(ConfigError, match=r"line 5, column 1: key 'seed' is given twice"):
        load_config(path)


def test_numbers_and_dates_read_as_a_person_writes_them(tmp_path: Path) -> None:
    """YAML 1.1 read 'folds: 010' as octal 8 (the run had 8 folds and another c-index), 'seed:
    1:30' as 90, refused a JSON config's 1e-05, and crashed on a cohort folder named by a date."""
    (tmp_path / "2021-05-01").mkdir()
    (tmp_path / "2021-05-01" / "clinical.csv").write_text("case_id,time,event\n")
    text = (
        "name: x\ncohort: 2021-05-01\nmodel: {name: coxph, params: {penalizer: 1e-05}}\n"
        "protocol: {name: nested_cv, repeats: 1, folds: 010}\nseed: 010\n"
        "risk_groups: {cut: youden, horizon: 0730}\n"
    )
    config = load_config(write(tmp_path / "config.yaml", text))
    assert (config.protocol.folds, config.seed, config.risk_groups.horizon) == (10, 10, 730)
    assert config.model.params["penalizer"] == 1e-05
    assert Path(config.cohort).name == "2021-05-01"
    with pytest.raises(ConfigError, match="seed: expected"):
        load_config(write(tmp_path / "clock.yaml", text.replace("seed: 010", "seed: 1:30")))


def test_an_image_models_window_is_checked_with_the_config() -> None:
    """'window: lver' failed only once a run had started, blaming the first patient ('Case
    SYN-0001: Unknown CT window'), and left a FAILED run."""
    with pytest.raises(ConfigError, match="model.params: Unknown CT window 'lver'"):
        parse_config(config_with(model={"name": "cnn3d", "params": {"window": "lver"}}))


def test_a_fusion_branchs_parameters_are_named_when_wrong() -> None:
    """'clinical: {dropout: high}' gave "Invalid fusion branch parameter: '<' not supported
    between instances of 'str' and 'int'", naming neither branch nor parameter."""
    fusion = {"name": "fusion", "params": {"clinical": {"dropout": "high"}}}
    with pytest.raises(ConfigError, match="branch 'clinical' .* dropout='high'"):
        parse_config(config_with(model=fusion))
    fusion["params"] = {"cnn": {"lrr": 1}}
    with pytest.raises(ConfigError, match="branch 'cnn' has no parameter.s. lrr"):
        parse_config(config_with(model=fusion))


def test_a_cohort_path_written_with_a_variable_says_it_is_not_expanded() -> None:
    """'cohort: $HOME/x' was said to have 'neither manifest.csv nor clinical.csv'."""
    from survival_core.runs.runner import resolve_cohort

    with pytest.raises(InputError, match=r"does not exist \(a config's path is taken as written"):
        resolve_cohort("$HOME/x", print)


def test_longest_name_and_largest_seed_are_accepted() -> None:
    config = parse_config(config_with(name="r" * MAX_NAME_LENGTH, seed=MAX_SEED))
    assert (len(config.name), config.seed) == (200, 2**31 - 1)


MERGED = """\
name: merged
cohort: demo
model:
  <<: {name: rsf, params: {n_estimators: 20}}
  name: deepsurv
  params: {epochs: 5}
  search:
    space:
      lr: &range {loguniform: [1.0e-4, 1.0e-2]}
      weight_decay: {<<: *range}
protocol:
  <<: [{name: nested_cv, repeats: 2}, {folds: 3}]
"""


def test_merge_keys_are_read_like_safe_load(tmp_path: Path) -> None:
    """``<<: *anchor`` merges a mapping in (keys written beside it override it), as
    ``yaml.safe_load`` does; before, such a file was 'not valid YAML'."""
    config = load_config(write(tmp_path / "merged.yaml", MERGED))
    plain = {
        "name": "merged",
        "cohort": "demo",
        "model": {
            "name": "deepsurv",
            "params": {"epochs": 5},
            "search": {
                "space": {
                    "lr": {"loguniform": [1.0e-4, 1.0e-2]},
                    "weight_decay": {"loguniform": [1.0e-4, 1.0e-2]},
                }
            },
        },
        "protocol": {"name": "nested_cv", "repeats": 2, "folds": 3},
    }
    assert config.to_dict() == parse_config(plain, base_dir=tmp_path).to_dict()
    # an anchor outside the config's keys is still an unknown key
    text = "base: &base {name: coxph}\nname: x\ncohort: demo\nmodel: {<<: *base}\n"
    with pytest.raises(ConfigError, match="^base: unknown key"):
        load_config(write(tmp_path / "anchor.yaml", text))


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("model:\n  <<: {name: rsf, name: coxph}\n", "line 4, column 19: key 'name'"),
        (
            "model:\n  <<: {name: rsf}\n  name: coxph\n  name: coxph\n",
            "line 6, column 3: key 'name'",
        ),
        ("model:\n  <<: {name: rsf}\n  <<: {name: coxph}\n", "line 5, column 3: key '<<'"),
    ],
)
def test_duplicate_keys_are_refused_with_merge_keys(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path / "twice.yaml", "name: x\ncohort: demo\n" + text)
    with pytest.raises(ConfigError, match=re.escape(f"{where} is given twice")):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        (
            "name: x\ncohort: demo\nmodel: {name: coxph, params: {penalizer: abc}}\n",
            "model.params.penalizer: expected a number",
        ),
    ],
)
def test_load_config_messages(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path / "c.yaml", text)
    with pytest.raises(ConfigError, match=re.escape(fragment)) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


# -- the shipped study configs ------------------------------------------------------------------
STUDIES = ["wei2021", "sun2023", "han2020", "wang2022"]


@pytest.fixture(scope="module")
def studies() -> dict[str, RunConfig]:
    return {name: load_config(CONFIGS / f"{name}.yaml") for name in STUDIES}


@pytest.mark.parametrize("name", STUDIES)
def test_study_config_parses_and_round_trips(studies: dict[str, RunConfig], name: str) -> None:
    config = studies[name]
    assert config.name == name and config.cohort == "demo"
    assert parse_config(config.to_dict()) == config
    assert name in (CONFIGS / "README.md").read_text()


def test_study_protocols(studies: dict[str, RunConfig]) -> None:
    wei, sun, han, wang = (studies[n] for n in STUDIES)
    assert (wei.model.name, wei.protocol.name, wei.features.radiomics) == (
        "fusion", "nested_cv", ("wei2021",),
    )  # fmt: skip
    assert wei.model.params["lr_pretrained"] == 1e-4 and wei.model.params["lr"] == 1e-2
    assert (sun.model.name, sun.model.params["depth"]) == ("resnet_fusion", 18)
    assert (sun.protocol.name, sun.protocol.test_fraction) == ("fixed_split", 0.2)
    assert (sun.risk_groups.cut, sun.risk_groups.horizon) == ("youden", 1095.0)
    assert (han.model.name, han.model.params["l1_ratio"], han.reduction) == (
        "coxnet", 0.1, "han2020",
    )  # fmt: skip
    assert (han.protocol.name, han.risk_groups.cut) == ("leave_one_out", "median")
    assert (wang.model.name, wang.protocol.name) == ("coxph", "external")
    assert wang.protocol.external_cohort == "demo-external"  # the demo's external cohort
    assert wang.features.dsfr is not None


def test_study_selects_pick_the_papers_columns(studies: dict[str, RunConfig]) -> None:
    def picked(config: RunConfig, columns: list[str]) -> list[str]:
        return [c for c in columns if re.search(config.features.select, c)]

    clinical = sorted(BY_NAME)
    assert picked(studies["sun2023"], clinical) == ["albi_grade", "bclc", "mrecist", "mvi"]
    dsfr = feature_columns(3)
    assert picked(studies["wang2022"], clinical + dsfr) == ["afp", "albi_score", "hbv", *dsfr]


#: Hashes of the shipped study configs, measured before the config moved to pydantic. Stored runs
#: are tagged with these: a change here orphans every run trained from a study config (sun2023's
#: and wang2022's changed on purpose when they gained ``features.require``).
STUDY_HASHES = {
    "wei2021": "55e4acfb4ac64e9eb9d51af79635b8ee072c8e30a3a03a71a6503ffc762e5088",
    "sun2023": "0eb81c0d46597bb44116a56bfb5a95da9b072ff4cf7f2a8ca9d41a0444458522",
    "han2020": "9640217655d522f55a09dbd505bc25db1e18ab43d6ce8625e44c2cd91ef58a96",
    "wang2022": "4e1cbf6bc2aa9f6e3e7364a54a2cf4cbcd00a8c87231c66e31059669e3ec3791",
}


@pytest.mark.parametrize("name", STUDIES)
def test_study_hashes_are_unchanged(studies: dict[str, RunConfig], name: str) -> None:
    assert studies[name].hash() == STUDY_HASHES[name]
