"""The sidebar's model choices: the app's default is the active model, else the demo's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import ui.models as models
from survival_core.text import markdown_message
from tests.test_explain_case import OUT_OF_RAM


def _whas_registered(tmp_path: Path, data: Path):
    """The data folder's run store with a model 'whas' v1 registered from a run, and the run's
    id."""
    from survival_core.runs.store import RunStore

    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "model.json").write_text("{}")
    (saved / "card.json").write_text(json.dumps({"model": "coxph"}))
    store = RunStore(data / "runs")
    with store.start_run("whas", {"name": "whas"}) as run:
        pass
    store.register_model(run.run_id, saved, "whas")
    return store, run.run_id


def _demo_and_registered(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    """A demo default model's folder, a registered version's folder and the registry's rows."""
    default = tmp_path / "demo-default"
    default.mkdir()
    (default / "card.json").write_text(json.dumps({"model": "coxnet"}))
    registered = tmp_path / "registry" / "whas" / "v1"
    rows = pd.DataFrame(
        [{"name": "whas", "version": 1, "model": "coxph", "c_index": 0.77, "folder": registered}]
    )
    return default, registered, rows


def _listing(
    monkeypatch: pytest.MonkeyPatch, default: Path, registered: Path, rows: pd.DataFrame
) -> SimpleNamespace:
    """A registry listing ``rows`` (every version's folder ``registered``), none active, beside
    the demo default model ``default``; the store, for a test to make one active."""
    import survival_core.workflows.demo as demo

    store = SimpleNamespace(
        active_model=lambda: None,
        list_models=lambda: rows,
        model_folder=lambda name, version: registered,
    )
    monkeypatch.setattr(models, "current_store", lambda: store)
    monkeypatch.setattr(demo, "default_model_dir", lambda: default)
    return store


def test_a_registered_version_not_made_active_is_not_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run registered without --activate came first and the sidebar took it: the Risk page
    scored the demo's liver case with a heart-attack cohort's model."""
    default, registered, rows = _demo_and_registered(tmp_path)
    store = _listing(monkeypatch, default, registered, rows)
    choices = models.model_choices()
    assert [c.folder for c in choices] == [default, registered]
    assert choices[0].label.startswith("demo default")
    active = SimpleNamespace(name="whas", version=1, folder=registered)
    store.active_model = lambda: active
    assert [c.folder for c in models.model_choices()] == [registered, default]


def test_a_versions_label_says_how_its_c_index_was_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The picker labelled an externally validated version '(coxph, c-index 0.658)', as a
    cross-validated one; a version registered before the protocol was kept says no more."""
    default, registered, rows = _demo_and_registered(tmp_path)
    rows = pd.concat([rows.assign(protocol="external"), rows.assign(version=2, protocol=None)])
    _listing(monkeypatch, default, registered, rows)
    labels = [c.label for c in models.model_choices()[1:]]
    assert labels == ["whas v1 (coxph, external c-index 0.770)", "whas v2 (coxph, c-index 0.770)"]


def _picker() -> None:
    """The sidebar's picker; a Promote pressed in this session when its state says so."""
    import streamlit as st

    from ui.models import follow_active, model_picker

    if st.session_state.pop("promote", False):
        follow_active()
    st.text(str(model_picker().folder))


def test_a_session_following_the_active_model_follows_it_one_that_picked_keeps_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tab that never touched the picker kept scoring with the model active when it opened
    after another was made active (Promote, or `train --activate`), the Training page naming the
    new one: it now follows, saying so once. A tab that picked a model keeps it, told of the new
    active model; Promote in a tab moves it to the model promoted. A chosen model that
    disappeared from the registry is named."""
    from streamlit.testing.v1 import AppTest

    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    listed = [
        models.ModelChoice("first v1 (active)", first, default=True),
        models.ModelChoice("second v1", second),
    ]
    monkeypatch.setattr(models, "model_choices", lambda: listed)
    following, picking = AppTest.from_function(_picker).run(), AppTest.from_function(_picker).run()
    picking.selectbox[0].set_value(str(second)).run()
    assert (following.text[0].value, picking.text[0].value) == (str(first), str(second))
    listed[:] = [
        models.ModelChoice("third v1 (active)", third, default=True),
        models.ModelChoice("first v1", first),
        models.ModelChoice("second v1", second),
    ]
    following.run()
    picking.run()
    assert following.text[0].value == str(third)
    assert (
        following.info[0].value
        == "The active model is now third v1 (active) (was first v1 (active))."
    )
    assert picking.text[0].value == str(second) and not picking.warning
    assert "this session keeps the model picked here" in picking.info[0].value
    following.run()
    picking.run()  # said once
    assert not following.info and not picking.info and picking.text[0].value == str(second)
    # Promote in the picking tab: the promoted model is the one its pages use from then on
    listed[:2] = [
        models.ModelChoice("first v1 (active)", first, default=True),
        models.ModelChoice("third v1", third),
    ]
    picking.session_state["promote"] = True
    picking.run()
    assert picking.text[0].value == str(first) and "now first v1" in picking.info[0].value
    picking.selectbox[0].set_value(str(third)).run()
    listed[:] = [models.ModelChoice("first v1 (active)", first, default=True)]
    picking.run()
    assert picking.text[0].value == str(first)
    assert "The model you chose (third v1) is no longer registered" in picking.warning[0].value


def test_without_an_active_model_a_session_keeps_its_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No active model and no demo model: a version merely registered, listed first, took over
    every session that had not picked one, announced as 'The active model is now ...'."""
    from streamlit.testing.v1 import AppTest

    gbsg, whas = tmp_path / "gbsg", tmp_path / "whas"
    listed = [models.ModelChoice("whas v1", whas)]
    monkeypatch.setattr(models, "model_choices", lambda: listed)
    following = AppTest.from_function(_picker).run()
    listed[:0] = [models.ModelChoice("gbsg v1", gbsg)]  # registered, not made active
    following.run()
    assert following.text[0].value == str(whas) and not following.info
    listed[:] = [models.ModelChoice("gbsg v1 (active)", gbsg, default=True), listed[1]]
    following.run()
    assert (
        following.text[0].value == str(gbsg) and "now gbsg v1 (active)" in following.info[0].value
    )


def test_every_pick_of_the_picker_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two picks in a row: the second was dropped (the unkeyed picker's identity held the index
    of the previous choice, so the run after a pick made a new widget), the picker snapped back
    and the pages kept scoring with the model picked before; a third pick worked."""
    from streamlit.testing.v1 import AppTest

    def sidebar() -> None:
        import streamlit as st

        from ui.models import chosen_model, model_picker

        model_picker()
        st.text(str(chosen_model().folder))

    listed = [models.ModelChoice(f"m{n} v1", tmp_path / f"m{n}") for n in range(3)]
    monkeypatch.setattr(models, "model_choices", lambda: listed)
    app = AppTest.from_function(sidebar).run()
    for choice in [listed[1], listed[0], listed[2], listed[1]]:
        app.selectbox[0].set_value(choice.key).run()
        assert (app.selectbox[0].value, app.text[0].value) == (choice.key, str(choice.folder))
        assert app.session_state[models.MODEL_CHOICE_LABEL] == choice.label


def test_an_unreadable_source_of_models_hides_only_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run store a full disk left half-made, or a demo card cut short by a copy, made the
    picker say 'Something went wrong' and offer no model at all, the active one and the demo's
    too: each source is now left out alone, said."""
    import survival_core.workflows.demo as demo

    default, registered, rows = _demo_and_registered(tmp_path)
    store = SimpleNamespace(
        active_model=lambda: SimpleNamespace(name="whas", version=1, folder=registered),
        list_models=lambda: rows,
        model_folder=lambda name, version: registered,
    )

    def broken_store():
        raise RuntimeError("table _alembic_tmp_params already exists")

    monkeypatch.setattr(demo, "default_model_dir", lambda: default)
    monkeypatch.setattr(models, "current_store", broken_store)
    problems: list[str] = []
    assert [c.folder for c in models.model_choices(problems)] == [default]
    assert problems == [
        "The run store cannot be read (RuntimeError; the details are in the server log): "
        "trained models are not listed: the pages use the demo default model."
    ]
    monkeypatch.setattr(models, "current_store", lambda: store)
    (default / "card.json").write_text('{"model": "cox')  # a copy cut short
    problems.clear()
    assert [c.folder for c in models.model_choices(problems)] == [registered]
    assert problems[0].startswith("The demo model's card cannot be read (")
    (default / "card.json").write_text("[]")  # JSON, not a card
    assert [c.folder for c in models.model_choices(problems)] == [registered]


def test_a_full_server_disk_is_said_not_an_unexpected_error() -> None:
    """An upload to a full disk showed 'Something went wrong (OSError)', where the CLI says 'No
    space left on device': the user could not tell a broken file from a full server."""
    from streamlit.testing.v1 import AppTest

    def page() -> None:
        from ui.state import show_error

        show_error(OSError(28, "No space left on device"))
        try:  # SQLite's, as MLflow's run store raises it
            raise OSError("database or disk is full")
        except OSError as err:
            try:
                raise RuntimeError("(sqlite3.OperationalError) a write failed") from err
            except RuntimeError as wrapped:
                show_error(wrapped)
        show_error(RuntimeError("a bug"))

    app = AppTest.from_function(page).run()
    for shown in app.error[:2]:
        assert shown.value.startswith("The server's disk is full: nothing was stored.")
    assert app.error[2].value.startswith("Something went wrong (RuntimeError)")


def test_running_out_of_memory_is_said_with_what_to_ask_for_less_of() -> None:
    """Torch's allocator failing in an image model's Integrated Gradients (in the case pool's
    worker) showed 'Something went wrong (RuntimeError)': the Risk page says what ran out and
    what to do, as the explain command does, and which memory (a GPU's, from its own error)."""
    from streamlit.testing.v1 import AppTest

    def page() -> None:
        import torch

        from tests.test_explain_case import ALLOCATOR_FAILED
        from ui.state import show_error

        show_error(RuntimeError(ALLOCATOR_FAILED))
        show_error(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB."))

    first, second = AppTest.from_function(page).run().error
    assert first.value == markdown_message(OUT_OF_RAM)
    assert second.value.startswith(
        "Out of memory: the GPU's memory ran out (a further 2.00 GiB was asked for)."
    )
    assert second.value.endswith("or run on a GPU with more memory.")


def test_an_error_quoting_the_users_files_shows_them_as_written() -> None:
    """An uploaded structure named 'GTV ![b](https://ev.il/b.png) [Login](https://ev.il/x)
    **$x$**' drew an outside image, a 'Login' link, bold and LaTeX inside the Case page's red
    error box; its lines, names such as 'dose_gy' and the commands it gives as code stay."""
    from streamlit.testing.v1 import AppTest

    def page() -> None:
        from survival_core.errors import MaskError
        from ui.state import show_error

        show_error(
            MaskError(
                "Structure 'GTV ![b](https://ev.il/b.png) [Login](https://ev.il/x) **$x$**' "
                "has no closed contour.\n- dose_gy: 500; run `python -m survival_core users add`"
            )
        )

    (shown,) = AppTest.from_function(page).run().error
    assert shown.value == (
        r"Structure 'GTV !\[b\](https://ev.il/b.png) \[Login\](https://ev.il/x) \*\*\$x\$\*\*' "
        "has no closed contour.  \n\\- dose_gy: 500; run `python -m survival_core users add`"
    )


def test_an_active_model_whose_files_are_gone_is_said_so_without_server_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An active model still registered whose files were moved away was said to be 'no longer
    in the model registry', and its version's warning showed the server's folders
    (/srv/.../runs/artifacts/..., 'the data folder /srv/...') to the app's users."""
    import survival_core.workflows.demo as demo

    data = tmp_path / "data"
    monkeypatch.setenv("RADSURV_DATA_DIR", str(data))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    default, _, _ = _demo_and_registered(tmp_path)
    store, _ = _whas_registered(tmp_path, data)
    store.set_active("whas", 1)
    for folder in ("registry", "artifacts"):  # moved aside on the server
        shutil.move(store.root / folder, tmp_path / folder)
    monkeypatch.setattr(models, "current_store", lambda: store)
    monkeypatch.setattr(demo, "default_model_dir", lambda: default)

    problems: list[str] = []
    assert [c.folder for c in models.model_choices(problems)] == [default]
    missing = "its files are missing on the server (moved or deleted; details in the server log)"
    assert problems == [
        f"The app's active model (model whas v1) is still registered, but {missing}: it is not "
        "used, the demo default model is used instead; make another model active (the Training "
        "page's Promote, `train --activate`).",
        f"whas v1 is not offered ({missing}).",
    ]


def test_with_the_run_store_unreadable_the_active_model_is_offered_from_its_local_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the tracking server down, the sidebar offered the demo default model alone, selected,
    while `score` scored with the active model's local copy: the pages and the CLI scored one
    patient with two models. Now the picker offers that copy as the active model, saying so;
    without a copy here it says the pages use the demo default model. One chosen in another
    registry, or whose pointer is unreadable, is said so, not to have no local copy here."""
    import survival_core.workflows.demo as demo
    from survival_core.runs.store import RunStore

    data, server = tmp_path / "data", tmp_path / "server.db"
    monkeypatch.setenv("RADSURV_DATA_DIR", str(data))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{server}")  # as a server's registry
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    default, _, _ = _demo_and_registered(tmp_path)
    store, run_id = _whas_registered(tmp_path, data)
    active = store.set_active("whas", 1)
    with server.open("r+b") as database:  # the store gone: it cannot be opened any more
        database.write(b"\0" * 100)
    monkeypatch.setattr(models, "current_store", lambda: RunStore(data / "runs"))
    monkeypatch.setattr(demo, "default_model_dir", lambda: default)

    problems: list[str] = []
    offered = [(c.label, c.folder, c.default) for c in models.model_choices(problems)]
    demo_default = ("demo default (coxnet on the demo cohort)", default)
    assert offered == [
        ("whas v1 (active, offline copy)", active.folder, True),
        (*demo_default, False),
    ]
    unread = f"The run store cannot be read (The run store sqlite:///{server} cannot be opened ("
    assert [p[: len(unread)] for p in problems] == [unread]
    assert problems[0].endswith(
        "): the active model whas v1 is used from its local copy; the other trained models are "
        "not listed."
    )
    shutil.rmtree(active.folder)  # no copy of it here: the demo's, said
    problems.clear()
    offered = [(c.label, c.folder, c.default) for c in models.model_choices(problems)]
    assert offered == [(*demo_default, True)]
    assert problems[0].endswith(
        "): trained models are not listed, nor the active model (no local copy of it here): the "
        "pages use the demo default model."
    )

    def down() -> None:
        raise RuntimeError("store down")

    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # the data folder's own store, down too
    (data / "runs" / "mlflow.db").touch()  # there (a missing one is said so, not opened)
    monkeypatch.setattr(models, "current_store", down)
    demo_only = (
        "The run store cannot be read (RuntimeError; the details are in the server log): trained "
        "models are not listed: the pages use the demo default model."
    )
    problems.clear()
    models.model_choices(problems)  # said to have no local copy: it was chosen elsewhere
    assert problems == [
        f"The app's active model is not offered: The active model whas v1 (run {run_id}) was "
        f"chosen in the model registry sqlite:///{server}, not in the one in use here, the data "
        "folder's own store, which cannot be read now: set MLFLOW_TRACKING_URI=sqlite:///"
        f"{server} to use it, or choose the active model again in this one (the Training page's "
        "Promote, `train --activate`).",
        demo_only,
    ]
    (data / "runs" / "active_model.json").write_text('{"name": "wh')  # cut short
    problems.clear()
    models.model_choices(problems)  # said unreadable, then to have no local copy
    assert problems[0].startswith("The app's active model cannot be read: ")
    assert problems[1:] == [demo_only]


def test_an_active_pointer_of_another_shape_is_said_and_every_page_still_draws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """active_model.json holding valid JSON of another shape ({"name": "whas"}) raised a
    KeyError from the model picker, with the store readable: no page was drawn. The sidebar
    says the pointer is unreadable and the page draws."""
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    from survival_core.runs.store import RunStore
    from tests.conftest import ROOT

    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    pointer = RunStore(tmp_path / "data" / "runs").root / "active_model.json"
    pointer.write_text('{"name": "whas"}')
    previous = config.get_option("server.address")
    config.set_option("server.address", "localhost")  # demo mode
    try:
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    finally:
        config.set_option("server.address", previous)
    assert not app.exception
    assert [t.value for t in app.title] == ["Case"]
    assert [w.value for w in app.sidebar.warning] == [
        "The app's active model cannot be read: runs/active_model.json is unreadable (no model "
        "version); choose the active model again. The demo default model is used instead; make "
        "another model active (the Training page's Promote, `train --activate`)."
    ]
