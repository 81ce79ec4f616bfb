"""The Report page: asks for a case without one; builds the PDF of the current case on a click."""

from __future__ import annotations

from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.test_report import pdf_facts

PAGE = str(ROOT / "pages" / "report.py")


def _download_buttons(app: AppTest) -> list:
    return app.get("download_button")


def test_without_a_case_the_page_asks_for_one():
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not app.exception
    assert "Pick a case on the Case page" in app.info[0].value
    assert not app.button and not _download_buttons(app)


def _record_downloads(monkeypatch) -> list[tuple[str | None, bytes]]:
    """(file name, bytes) of every file the page hands to Streamlit's media storage."""
    files = []
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, data, mimetype, kind, filename=None):
        files.append((filename, data))
        return original(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return files


def test_build_report_offers_the_pdf_of_the_current_case(demo_in_place, monkeypatch):
    from survival_core.io.case_loader import load_case
    from survival_core.workflows.demo import default_model_dir
    from survival_core.workflows.training import train_model

    train_model(
        [demo_in_place / "clinical.csv"],
        "coxph",
        {"penalizer": 1.0},
        default_model_dir(),
        features="^(albumin|bilirubin|ecog)$",
    )
    case = load_case(demo_in_place / "cases" / "SYN-0003")
    downloads = _record_downloads(monkeypatch)
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["current_case"] = case
    app.run()
    assert not app.exception
    assert not _download_buttons(app)
    app.button[0].click().run()
    assert not app.exception and not app.error
    (button,) = _download_buttons(app)
    assert button.proto.label == "Download the PDF"
    assert "SYN-0003" in "".join(m.value for m in app.markdown)
    assert button.proto.url.endswith(".pdf")
    ((name, pdf),) = downloads
    assert name == "SYN-0003-radsurv-report.pdf"
    pages, _, text = pdf_facts(pdf)
    assert pages == 1 and "Case SYN-0003" in text
    # named as the report command names it, not by the sidebar's label
    assert f"Model: coxph ({default_model_dir().name})" in text and "demo default" not in text
    # the same files read again with other contours (same id, source and values): not offered
    import dataclasses

    case = app.session_state["current_case"]
    app.session_state["current_case"] = dataclasses.replace(case, masks={"gtv": case.masks["gtv"]})
    app.run()
    assert not _download_buttons(app)
    # another case: the stale PDF is not offered
    app.session_state["current_case"] = load_case(demo_in_place / "cases" / "SYN-0004")
    app.run()
    assert not _download_buttons(app)
