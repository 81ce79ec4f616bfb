"""The Case page renders without exceptions and shows a demo case with contours and clinical values."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from survival_core.cohort import demo
from survival_core.paths import demo_cohort_dir
from tests.conftest import ROOT

APP = ROOT / "app.py"


@pytest.fixture()
def demo_in_place(small_cohort, monkeypatch):
    """The small test cohort installed as the demo cohort (its size stands in for DEMO_N)."""
    import json

    target = demo_cohort_dir()
    if not target.exists():
        shutil.copytree(small_cohort, target)
    monkeypatch.setattr(demo, "DEMO_N", json.loads((target / "cohort.json").read_text())["n"])
    monkeypatch.setattr(demo, "DEMO_SEED", json.loads((target / "cohort.json").read_text())["seed"])
    return target


def test_case_page_shows_a_demo_case(demo_in_place):
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception
    case_select = next(s for s in app.selectbox if s.label == "Demo case")
    first = case_select.options[0].split(" ")[0]
    assert first.startswith("SYN-")
    assert [m.value for m in app.metric if m.label == "case id"] == [first]
    assert any(m.label == "gtv volume ml" and float(m.value) > 0 for m in app.metric)
    # pick another case: the page follows
    second = case_select.options[1].split(" ")[0]
    case_select.set_value(second).run()
    assert not app.exception
    assert [m.value for m in app.metric if m.label == "case id"] == [second]
    # the clinical table lists every schema variable
    table = app.dataframe[0].value
    assert "Albumin" in set(table["variable"]) and "g/L" in set(table["unit"])


def test_case_page_without_demo_offers_to_prepare(monkeypatch, tmp_path):
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception
    assert any("Prepare the demo cohort" in b.label for b in app.button)
