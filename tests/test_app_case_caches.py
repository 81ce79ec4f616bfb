"""The server-wide caches of a case's radiomics (Viewer's radiomics panel, Nomogram inputs) are
keyed by the case's content: the same upload with another GTV mapped is another case."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _panel() -> None:
    """The radiomics panel on a synthetic case whose GTV is halved when ``half`` is set."""
    import dataclasses

    import SimpleITK as sitk
    import streamlit as st

    from tests.case_builders import make_case
    from ui.radiomics import radiomics_panel

    case = make_case((40, 40, 12), case_id="UPLOAD-1")
    if st.session_state.get("half"):
        gtv = sitk.GetArrayFromImage(case.masks["gtv"])
        gtv[: gtv.shape[0] // 2] = 0
        half = sitk.GetImageFromArray(gtv)
        half.CopyInformation(case.masks["gtv"])
        case = dataclasses.replace(case, masks={**case.masks, "gtv": half})
    radiomics_panel(case)


def _volume(app: AppTest) -> float:
    table = app.dataframe[0].value
    row = table[(table["roi"] == "gtv") & (table["feature"] == "VoxelVolume")]
    return float(row["value"].iloc[0])


def test_radiomics_panel_follows_the_gtv_of_the_same_upload():
    app = AppTest.from_function(_panel, default_timeout=120)
    app.run()
    app.selectbox(key="radiomics-preset").set_value("full")
    app.button(key="radiomics-run").click().run()
    assert not app.exception, app.exception
    whole = _volume(app)
    app.session_state["half"] = True
    app.run()
    assert not app.exception, app.exception
    assert _volume(app) < 0.75 * whole  # it showed the first contour's features


def _current() -> None:
    """An uploaded case made current under model A (read with A's folder), an edit saved, and
    the case shown as :func:`ui.state.current_case` gives it under the chosen model."""
    import streamlit as st

    import ui.state as state

    if "started" not in st.session_state:
        st.session_state["started"] = True
        read = ("folder", (), None, None, None, None, None, "A")
        state.set_current_case(state.load_upload_folder(*read), "upload:folder", read)
        state.save_edits(state.current_case(), {"age": 70})
    case = state.current_case()
    if case is not None:
        st.write(f"read for {case.clinical['read_for']}, age {state.clinical_values(case)['age']}")


def test_an_uploaded_case_is_read_again_for_another_models_variables(monkeypatch):
    """Switching to a model of other variables kept the first model's values alone (the others
    imputed: risk 0.16 for -0.06), and switching back lost the saved edits."""
    import dataclasses
    from pathlib import Path
    from types import SimpleNamespace

    import ui.models as models
    import ui.state as state
    from survival_core.errors import ClinicalValueError
    from tests.case_builders import make_case

    reads, chosen = [], {"folder": "A"}

    def load(*read):
        reads.append(read[-1])
        if read[-1] == "C":  # a read that fails (the app's reads name a refused value apart)
            raise ClinicalValueError("Age (age): 88 years is outside the plausible range 21-80.")
        return dataclasses.replace(make_case(case_id="UP-1"), clinical={"read_for": read[-1]})

    monkeypatch.setattr(state, "load_upload_folder", load)
    monkeypatch.setattr(
        models,
        "chosen_model",
        lambda: SimpleNamespace(folder=Path(chosen["folder"]), label=f"model {chosen['folder']}"),
    )
    # own-cohort models, whose checks take the edit
    schema = SimpleNamespace(validate=lambda values: values)
    monkeypatch.setattr(models, "chosen_schema", lambda choice: schema)
    app = AppTest.from_function(_current, default_timeout=60)
    app.run()
    assert app.markdown[0].value == "read for A, age 70"
    chosen["folder"] = "B"
    app.run()
    assert app.markdown[0].value == "read for B, age 70"  # B's values, the edit kept
    app.run()
    assert reads == ["A", "B"]  # read once per model
    chosen["folder"] = "C"  # the case cannot be read for it: said, no traceback, no case shown
    app.run()
    assert not app.exception and not app.markdown
    assert app.error[0].value.startswith("Case UP-1 under model C: Age (age): 88 years")
    chosen["folder"] = "A"
    app.run()
    assert app.markdown[0].value == "read for A, age 70"


def _reloaded() -> None:
    """One upload made current, an edit saved, then made current again as read with the
    ``row`` of its clinical table the session state names."""
    import dataclasses

    import pandas as pd
    import streamlit as st

    import ui.state as state
    from tests.case_builders import make_case

    rows = {
        "PT001": {"age": 62, "albumin": 31.0, "afp": None},
        "PT002": {"age": 73, "albumin": 35.1, "afp": float("nan"), "hbv": pd.NA},
    }
    case = dataclasses.replace(make_case(case_id="UP-1"), clinical=rows[st.session_state["row"]])
    if "started" not in st.session_state:
        st.session_state["started"] = True
        state.set_current_case(case, "upload:folder")
        state.save_edits(case, {**case.clinical, "ecog": 3})
    else:
        state.set_current_case(case, "upload:folder")
    values = state.clinical_values(state.current_case())
    st.write(f"age {values['age']}, ecog {values.get('ecog')}")


def test_the_upload_read_again_with_another_patients_row_drops_the_edits():
    """An upload read with the wrong row of its clinical CSV, one value edited, then read again
    with the right row: the saved edits held every value of the wrong row, so the risk was
    scored on the other patient. Read again with the same row, the edit stays."""
    app = AppTest.from_function(_reloaded, default_timeout=60)
    app.session_state["row"] = "PT002"
    app.run()
    assert app.markdown[0].value == "age 73, ecog 3"
    app.run()  # the same row again (missing values alike): the edit is kept
    assert app.markdown[0].value == "age 73, ecog 3"
    app.session_state["row"] = "PT001"
    app.run()
    assert not app.exception and app.markdown[0].value == "age 62, ecog None"


def _opened() -> None:
    """The case the session state's ``open`` names made current (A and B of one upload folder's
    kind; A under another upload's origin too), A's edit saved on the first run."""
    import dataclasses

    import streamlit as st

    import ui.state as state
    from tests.case_builders import make_case

    case_id, origin = st.session_state["open"]
    case = dataclasses.replace(make_case(case_id=case_id), clinical={"age": 62, "albumin": 31.0})
    state.set_current_case(case, origin)
    if "started" not in st.session_state:
        st.session_state["started"] = True
        state.save_edits(case, {**case.clinical, "albumin": 48.0})
    st.write(f"albumin {state.clinical_values(state.current_case())['albumin']}")


def test_the_edits_of_a_case_are_its_own_and_outlast_opening_another():
    """Edits were one slot, dropped whenever another case was opened: coming back to A scored
    its values as read, unsaid. Each case keeps its own; another upload under A's id has none."""
    app = AppTest.from_function(_opened, default_timeout=60)
    app.session_state["open"] = ("UP-A", "upload:upload-a")
    app.run()
    assert app.markdown[0].value == "albumin 48.0"
    for opened, albumin in [
        (("UP-B", "upload:upload-b"), 31.0),
        (("UP-A", "upload:upload-a"), 48.0),
        (("UP-A", "upload:upload-other"), 31.0),  # another upload of the same id: not A's
    ]:
        app.session_state["open"] = opened
        app.run()
        assert not app.exception and app.markdown[0].value == f"albumin {albumin}"


def _read_with_roles() -> None:
    """An upload read with the roles its session state says, its albumin corrected once."""
    import dataclasses

    import streamlit as st

    from tests.case_builders import make_case
    from ui import state

    base = dataclasses.replace(make_case(case_id="RS-1A2B"), clinical={"age": 62, "albumin": 31.0})
    masks = base.masks if st.session_state["organ"] else {"gtv": base.masks["gtv"]}
    case = dataclasses.replace(base, masks=masks)
    state.set_current_case(case, "upload:upload-0123456789abcdef")
    if not st.session_state.get("saved"):
        st.session_state["saved"] = True
        state.save_edits(case, {**case.clinical, "albumin": 48.0})
    now = state.current_case()
    st.text(f"{state.clinical_values(now)['albumin']} {state.corrected(now)}")


def test_an_uploads_corrections_outlast_reading_it_with_other_roles():
    """Read again with its organ mask left out of the roles, an upload's corrected albumin of 48
    read 31 again without a word: its corrections were kept by the masks' content too."""
    app = AppTest.from_function(_read_with_roles, default_timeout=60)
    for organ in (True, False, True):
        app.session_state["organ"] = organ
        app.run()
        assert not app.exception
        assert app.text[0].value.startswith("48.0 ["), (organ, app.text[0].value)
