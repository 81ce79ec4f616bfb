"""The sidebar's model choices: the app's default is the active model, else the demo's."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import ui.models as models


def test_a_registered_version_not_made_active_is_not_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run registered without --activate came first and the sidebar took it: the Risk page
    scored the demo's liver case with a heart-attack cohort's model."""
    import survival_core.workflows.demo as demo

    default = tmp_path / "demo-default"
    default.mkdir()
    (default / "card.json").write_text(json.dumps({"model": "coxnet"}))
    registered = tmp_path / "registry" / "whas" / "v1"
    rows = pd.DataFrame(
        [{"name": "whas", "version": 1, "model": "coxph", "c_index": 0.77, "folder": registered}]
    )
    store = SimpleNamespace(
        active_model=lambda: None,
        list_models=lambda: rows,
        model_folder=lambda name, version: registered,
    )
    monkeypatch.setattr(models, "current_store", lambda: store)
    monkeypatch.setattr(demo, "default_model_dir", lambda: default)
    choices = models.model_choices()
    assert [c.folder for c in choices] == [default, registered]
    assert choices[0].label.startswith("demo default")
    active = SimpleNamespace(name="whas", version=1, folder=registered)
    store.active_model = lambda: active
    assert [c.folder for c in models.model_choices()] == [registered, default]
