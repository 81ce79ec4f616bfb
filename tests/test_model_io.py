"""Saving and loading models: identical predictions, plain JSON + weights, nothing unpickled."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from sksurv.datasets import load_gbsg2
from sksurv.util import Surv

from survival_core.errors import InputError
from survival_core.models import IMAGE_MODELS, MODELS, CoxPH, DeepSurv, load_model, make_model

#: image models: tests/test_image_models.py; auto and ensemble: tests/test_model_choice.py
TABULAR = sorted(set(MODELS) - set(IMAGE_MODELS) - {"auto", "ensemble"})

FAST = {
    "coxnet": {"n_alphas": 20},
    "lasso_cox": {"n_alphas": 20},
    "rsf": {"n_estimators": 15},
    "deepsurv": {"epochs": 5, "device": "cpu"},
    "vaesurv": {"epochs": 5, "device": "cpu"},
    "discrete": {"epochs": 5, "device": "cpu"},
}
TIMES = [0.0, 365.0, 730.0, 1500.0, 3000.0]


class Payload:
    """Unpickling this object writes a marker file: proof that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pickle was executed"))


@pytest.fixture(scope="module")
def data() -> tuple:
    X, y = load_gbsg2()
    y = Surv.from_arrays(y["cens"], y["time"])
    return X.iloc[:300], y[:300], X.iloc[300:360]


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory: pytest.TempPathFactory) -> dict:
    X, y, X_new = data
    out = {}
    for name in TABULAR:
        model = make_model(name, **FAST.get(name, {})).fit(X, y)
        folder = model.save(tmp_path_factory.mktemp(name) / "model")
        out[name] = (model, folder)
    return out


@pytest.mark.parametrize("name", TABULAR)
def test_round_trip_gives_identical_predictions(name: str, saved: dict, data: tuple) -> None:
    model, folder = saved[name]
    X_new = data[2]
    loaded = load_model(folder)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict_risk(X_new), model.predict_risk(X_new))
    np.testing.assert_array_equal(
        loaded.predict_survival(X_new, TIMES), model.predict_survival(X_new, TIMES)
    )


@pytest.mark.parametrize("name", TABULAR)
def test_folder_holds_json_and_plain_weights_only(name: str, saved: dict, data: tuple) -> None:
    model, folder = saved[name]
    files = sorted(p.name for p in Path(folder).iterdir())
    expected = {
        "deepsurv": "weights.pt",
        "vaesurv": "weights.pt",
        "discrete": "weights.pt",
        "rsf": "forest.npz",
        "gbsa": "boosting.npz",
    }
    assert files == sorted(["model.json", *([expected[name]] if name in expected else [])])
    document = json.loads((Path(folder) / "model.json").read_text())
    assert document["model"] == name
    assert [c["name"] for c in document["feature_schema"]] == list(data[0].columns)
    assert {c["dtype"] for c in document["feature_schema"]} >= {"float64", "category"}
    assert document["preprocessing"]["columns"][0]["imputation"] == "median"
    assert (document["baseline"] is None) == (name in ("rsf", "discrete"))


def test_pickle_in_weights_file_is_refused(saved: dict, tmp_path: Path) -> None:
    _, folder = saved["deepsurv"]
    copy = tmp_path / "model"
    copy.mkdir()
    (copy / "model.json").write_text((Path(folder) / "model.json").read_text())
    marker = tmp_path / "executed.txt"
    torch.save({"weight": Payload(marker)}, copy / "weights.pt")
    with pytest.raises(InputError, match="weights.pt"):
        DeepSurv.load(copy)
    assert not marker.exists()


def test_a_table_given_as_weights_is_named_as_text_not_as_code(tmp_path: Path) -> None:
    """A CSV given for `extract --network` was refused as holding "Python objects or code
    (ase_id), which could run when read": its leading 'c' reads as pickle's GLOBAL opcode."""
    from survival_core.models.weights_file import load_tensors

    table = tmp_path / "net.csv"
    table.write_text("case_id,time,event\nc1,100,1\n")
    with pytest.raises(InputError, match=r"net.csv is not a PyTorch weights file \(it holds "
                       r"text, beginning 'case_id,time,event'\)") as refused:  # fmt: skip
        load_tensors(table, "cpu")
    assert "code" not in str(refused.value)
    # Excel's "CSV UTF-8" (a BOM) with a German header: text too, not "another format"
    (tmp_path / "excel.csv").write_bytes("\ufeffcase_id,Größe\nc1,3\n".encode())
    with pytest.raises(InputError, match=r"it holds text, beginning 'case_id,Größe'"):
        load_tensors(tmp_path / "excel.csv", "cpu")
    np.savez(tmp_path / "arrays.npz", weight=np.zeros(3))  # a zip, as torch.save's files are
    with pytest.raises(InputError, match=r"arrays.npz is a zip archive but no file of torch.save"):
        load_tensors(tmp_path / "arrays.npz", "cpu")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty.pt is not a PyTorch weights file \(it is emp"):
        load_tensors(tmp_path / "empty.pt", "cpu")


def test_weights_of_another_network_are_named_in_short(saved: dict, tmp_path: Path) -> None:
    """A model folder's weights.pt of another network dumped torch's whole list of missing and
    unexpected keys (kB of text); a truncated one gave '[Errno 22] Invalid argument' alone."""
    _, folder = saved["deepsurv"]
    copy = tmp_path / "model"
    copy.mkdir()
    (copy / "model.json").write_text((Path(folder) / "model.json").read_text())
    other = {f"encoder.{i}.weight": torch.zeros(2, 2) for i in range(40)}
    torch.save(other, copy / "weights.pt")
    with pytest.raises(InputError, match=r"does not match the saved architecture \(missing") as e:
        DeepSurv.load(copy)
    assert "and 35 more" in str(e.value) and len(str(e.value)) < 700
    (copy / "weights.pt").write_bytes((Path(folder) / "weights.pt").read_bytes()[:500])
    with pytest.raises(InputError, match="cannot be read as a PyTorch weights file"):
        DeepSurv.load(copy)


def test_object_arrays_in_forest_file_are_refused(saved: dict, tmp_path: Path) -> None:
    _, folder = saved["rsf"]
    copy = tmp_path / "model"
    copy.mkdir()
    (copy / "model.json").write_text((Path(folder) / "model.json").read_text())
    with np.load(Path(folder) / "forest.npz") as stored:
        arrays = dict(stored)
    arrays["threshold"] = np.array([Payload(tmp_path / "executed.txt")], dtype=object)
    np.savez(copy / "forest.npz", **arrays)
    with pytest.raises(InputError, match="forest.npz"):
        load_model(copy)
    assert not (tmp_path / "executed.txt").exists()


def test_stray_pickle_files_are_never_read(saved: dict, data: tuple, tmp_path: Path) -> None:
    model, folder = saved["coxph"]
    marker = tmp_path / "executed.txt"
    for stray in ("model.pkl", "model.joblib", "estimator.pickle"):
        (Path(folder) / stray).write_bytes(pickle.dumps(Payload(marker)))
    loaded = load_model(folder)
    assert not marker.exists()
    np.testing.assert_array_equal(loaded.predict_risk(data[2]), model.predict_risk(data[2]))


def test_bad_folders_raise_input_errors(saved: dict, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(InputError, match="not a readable"):
        load_model(tmp_path)
    document = json.loads((Path(saved["rsf"][1]) / "model.json").read_text())
    (tmp_path / "model.json").write_text(json.dumps(document))
    with pytest.raises(InputError, match="forest arrays|missing"):
        load_model(tmp_path)
    with pytest.raises(InputError, match="unexpected type"):
        CoxPH.load(saved["rsf"][1])
    document["model"] = "mystery"
    (tmp_path / "model.json").write_text(json.dumps(document))
    with pytest.raises(InputError, match="mystery"):
        load_model(tmp_path)


def test_reduction_chain_is_fitted_inside_and_saved_with_the_model(tmp_path):
    """A model with feature reduction keeps only selected columns, before and after save/load."""
    import numpy as np
    import pandas as pd
    from sksurv.util import Surv

    from survival_core.models import load_model, make_model
    from survival_core.models.reduction import default_chain

    rng = np.random.default_rng(0)
    n = 200
    signal = rng.normal(size=n)
    time = rng.exponential(365 * np.exp(-signal))
    event = rng.random(n) < 0.7
    frame = pd.DataFrame(
        {"signal": signal, "constant": 1.0, **{f"noise{i}": rng.normal(size=n) for i in range(5)}}
    )
    frame["copy"] = frame["signal"] * 2 + rng.normal(scale=1e-3, size=n)
    model = make_model("coxph").with_reduction(default_chain(cindex_threshold=0.6))
    model.fit(frame, Surv.from_arrays(event, time))
    used = model.features_used_
    assert "constant" not in used and len({"signal", "copy"} & set(used)) == 1
    assert not any(name.startswith("noise") for name in used)
    loaded = load_model(model.save(tmp_path / "m"))
    assert loaded.features_used_ == used
    np.testing.assert_array_equal(loaded.predict_risk(frame), model.predict_risk(frame))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a CPU-only machine")
def test_a_model_trained_on_a_gpu_scores_on_a_cpu_only_machine(
    saved: dict, data: tuple, tmp_path: Path
) -> None:
    import shutil

    model, folder = saved["deepsurv"]
    copy = shutil.copytree(folder, tmp_path / "gpu-trained")
    document = json.loads((copy / "model.json").read_text())
    document["params"]["device"] = "cuda"  # as a run with `device: cuda` saves it
    (copy / "model.json").write_text(json.dumps(document))
    loaded = load_model(copy)
    assert loaded.device == "cuda" and loaded.device_.type == "cpu"
    np.testing.assert_array_equal(loaded.predict_risk(data[2]), model.predict_risk(data[2]))


def test_a_discrete_model_of_the_earlier_risk_is_refused_not_rescaled(
    saved: dict, data: tuple, tmp_path: Path
) -> None:
    """Its risk was 1 - S(last edge) (its card's cut and percentiles on that scale); read with
    today's risk, days of life lost, every patient would fall in the high-risk group."""
    model, folder = saved["discrete"]
    assert load_model(folder).predict_risk(data[2]) == pytest.approx(model.predict_risk(data[2]))
    earlier = tmp_path / "model"
    earlier.mkdir()
    document = json.loads((Path(folder) / "model.json").read_text())
    del document["state"]["risk"]
    (earlier / "model.json").write_text(json.dumps(document))
    (earlier / "weights.pt").write_bytes((Path(folder) / "weights.pt").read_bytes())
    with pytest.raises(InputError, match="saved by an earlier RadSurv.*Train it again"):
        load_model(earlier)
