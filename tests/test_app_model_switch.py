"""Switching models with a case loaded (AppTest, the real sarcoma CT with a GBSG2 patient's
clinical.json): a saved correction is the case's value under every model, checked by each one's
schema; a value a model refuses keeps the case, named once with the form to correct it, and every
page says so (never "no case")."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test

from tests.conftest import ROOT

#: One GBSG2 patient's values, an age of 85 (a wide model takes it; a narrow one, 20-80, not).
PATIENT = {
    "age": 85.0,
    "estrec": 20.0,
    "horth": False,
    "menostat": "Post",
    "pnodes": 1.0,
    "progrec": 30.0,
    "tgrade": "I",
    "tsize": 15.0,
}


def _gbsg2_model(folder: Path, age: tuple[float, float]) -> Path:
    """A Cox model of sksurv's GBSG2 trained with an own schema whose plausible ages are ``age``."""
    from sksurv.datasets import load_gbsg2

    from survival_core.io.clinical_schema import CohortSchema
    from survival_core.workflows.training import train_model

    X, y = load_gbsg2()
    table = X.rename(columns={"horTh": "horth"}).astype({"horth": str})
    table["horth"] = table["horth"] == "yes"
    table.insert(0, "case_id", [f"G{i:03d}" for i in range(len(table))])
    table.insert(1, "time", y["time"])
    table.insert(2, "event", y["cens"].astype(int))
    folder.mkdir(parents=True)
    table.to_csv(folder / "clinical.csv", index=False)
    number = {"kind": "number", "low": 0.0, "high": 5000.0}
    variables = [
        {"name": "age", "kind": "number", "unit": "years", "low": age[0], "high": age[1]},
        *({"name": n, **number} for n in ("estrec", "pnodes", "progrec", "tsize")),
        {"name": "horth", "kind": "yes/no"},
        {"name": "menostat", "kind": "category", "categories": ["Post", "Pre"]},
        {"name": "tgrade", "kind": "category", "categories": ["I", "II", "III"]},
    ]
    CohortSchema.from_dict({"variables": variables}).save(folder / "schema.yaml")
    train_model([folder / "clinical.csv"], "coxph", {"penalizer": 0.01}, folder / "model")
    return folder / "model"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gbsg2")
    return {
        "wide": _gbsg2_model(root / "wide", (0, 110)),
        "narrow": _gbsg2_model(root / "narrow", (20, 80)),
    }


@pytest.fixture()
def app(models: dict[str, Path], shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app with the two models offered (wide first) and the case uploaded on the Case page."""
    from ui import models as ui_models

    class NavigationPages(PagesManager):  # AppTest's switch_page in an st.navigation app
        def __init__(self, *args, **kwargs):
            PagesManager.uses_pages_directory = False
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(app_test, "PagesManager", NavigationPages)
    listed = [ui_models.ModelChoice(f"gbsg {n}", folder) for n, folder in models.items()]
    monkeypatch.setattr(ui_models, "model_choices", lambda problems=None: listed)
    buffer = io.BytesIO()
    ct = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(p for p in ct.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(ct).as_posix())
        archive.writestr("clinical.json", json.dumps(PATIENT))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    app.segmented_control[0].set_value("Upload").run()
    app.file_uploader[0].set_value(("sts.zip", buffer.getvalue(), "application/zip")).run()
    assert not app.exception and not app.error
    return app


def _pick(app: AppTest, model: Path) -> AppTest:
    return app.sidebar.selectbox[0].set_value(str(model)).run()


def _save_age(app: AppTest, age: float) -> AppTest:
    field = next(n for n in app.text_input if n.key.endswith("-age"))
    field.input(f"{age:g}")
    return next(b for b in app.button if b.label == "Validate and save").click().run()


def _shown_age(app: AppTest) -> str:
    table: pd.DataFrame = app.table[0].value
    return table.loc[table["variable"] == "age", "value"].item()


def _risk(app: AppTest) -> str:
    return next(m.value for m in app.metric if m.label == "Risk score")


def _sidebar_case(app: AppTest) -> str:
    return next(c.value for c in app.sidebar.caption if "case" in c.value.lower())


def test_a_saved_correction_is_the_cases_value_under_every_model(app, models) -> None:
    """Age 85 corrected to 70 under the wide model: the narrow model (20-80) refused the file's
    85, cleared the case and its correction; back under the wide model the case scored 85."""
    _save_age(app, 70.0)
    corrected = _risk(app)
    _pick(app, models["narrow"])
    assert not app.exception and not app.error
    assert _shown_age(app) == "70.0" and _risk(app)
    _pick(app, models["wide"])
    assert not app.error and _shown_age(app) == "70.0" and _risk(app) == corrected


def test_a_value_a_model_refuses_keeps_the_case_named_once_with_its_form(app, models) -> None:
    """The file's age 85 under the narrow model: named once (not three times), the case and
    its form kept, the other pages saying why and where to fix it (they said 'No case loaded'
    while the sidebar named it), the Viewer showing the images; corrected, it is scored."""
    _pick(app, models["narrow"])
    assert not app.exception
    (refused,) = app.error
    assert "age: 85.0 years is outside the plausible range 20-80" in refused.value
    assert "'Edit clinical values'" in refused.value and not any(
        "Risk" in m.label for m in app.metric
    )
    assert "refused by this model" in _sidebar_case(app)
    for page in ("risk", "report", "nomogram"):
        app.switch_page(f"pages/{page}.py").run()
        assert not app.exception and not app.metric
        (shown,) = app.error
        assert "Case STS_001 is loaded, but gbsg narrow refuses" in shown.value
    app.switch_page("pages/viewer.py").run()
    assert not app.exception and not app.error and not app.info
    assert app.subheader[0].value.startswith("STS_001")
    app.switch_page("pages/case.py").run()
    _save_age(app, 70.0)
    assert not app.error and _shown_age(app) == "70.0" and _risk(app)
    assert "refused" not in _sidebar_case(app)


def test_an_edit_another_models_form_took_is_checked_by_this_ones(app, models) -> None:
    """Age 105 saved under the wide model's form (0-110) was scored under the narrow one
    (20-80), whose own form refuses it."""
    _save_age(app, 105.0)
    assert not app.error and _risk(app)
    _pick(app, models["narrow"])
    (refused,) = app.error
    assert "105" in refused.value and "20-80" in refused.value
    app.switch_page("pages/risk.py").run()
    assert not app.metric and "gbsg narrow refuses" in app.error[0].value
