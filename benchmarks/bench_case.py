"""One demo case end to end, stage by stage, and how fast the dashboard's pages render after it.

    .venv/bin/python benchmarks/bench_case.py [--case SYN-0001] [--json]  # last line: total_s, stages

Needs the prepared demo (``make run`` or ``python -m survival_core prepare-demo``) in the data
folder (``$RADSURV_DATA_DIR``). The demo case's DICOM series and RTSTRUCT are zipped in memory and
go through the Case page's upload path: stored by content, classified, read with the structure
roles; then scored with the default model (wei2021 radiomics included), its input attributions
computed (exact tabular IG), a Grad-CAM overlay made with the demo image model and the PDF report
built. Each stage is timed once, as a new upload is, on a warm server: another case goes through
first (imports, model loads, reported as the warm-up's total). Then every page of ``app.py`` is run
with the case loaded (Streamlit's AppTest, the server-side script run a page switch triggers):
the first run fills the caches, the reported time is the median of the next three.
``total_s`` is the case's time on a warm server: every stage but the two model loads (a server
loads each model once; they are reported apart). Targets: the case end to end <= 3 s (issue 16;
issue 7 asked <= 30 s), a page switch after processing <= 1 s, 2 CPU cores.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("case", "viewer", "risk", "nomogram", "report", "cohort", "training")


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*.dcm")):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def process_case(case_dir: Path) -> tuple[dict[str, float], object]:
    """Seconds per stage for one uploaded DICOM zip; returns them and the loaded case."""
    from survival_core.explain.case import explain_case
    from survival_core.features.cohort import FeatureCache
    from survival_core.features.settings import ExtractionSettings
    from survival_core.io.upload_case import describe_upload, load_upload
    from survival_core.io.uploads import store_upload
    from survival_core.models.scoring import load_scoring_model
    from survival_core.report.pdf import build_report
    from survival_core.workflows.demo import default_model_dir, image_model_dir
    from survival_core.workflows.scoring import score_case

    seconds: dict[str, float] = {}
    data = _zip(case_dir)

    def timed(stage, work):
        start = time.perf_counter()
        value = work()
        seconds[stage] = round(time.perf_counter() - start, 3)
        return value

    folder = timed("upload_store", lambda: store_upload([(f"{case_dir.name}.zip", data)]))
    contents = timed("upload_describe", lambda: describe_upload(folder))
    roles = contents.suggested_roles()
    case = timed("case_read", lambda: load_upload(contents, roles))
    model = timed("model_load", lambda: load_scoring_model(default_model_dir()))
    settings = ExtractionSettings.from_json(model.card.radiomics_settings)
    FeatureCache(settings).discard(case.content_digest())  # a new upload: nothing cached for it
    score = timed("score_with_radiomics", lambda: score_case(case, model))
    attribution = timed("attributions", lambda: explain_case(case, model, "ig", top=10))
    image_model = timed("image_model_load", lambda: load_scoring_model(image_model_dir()))
    timed("overlay_gradcam", lambda: explain_case(case, image_model, "gradcam"))
    timed("report_pdf", lambda: build_report(case, model, score, attribution))
    seconds["total"] = round(sum(v for k, v in seconds.items() if not k.endswith("_load")), 3)
    return seconds, case


def page_times(case) -> dict[str, float]:
    """Median seconds of a warm run of each page with ``case`` loaded in the session."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.session_state["current_case"] = case
    app.run()
    out = {}
    for page in PAGES:
        app.switch_page(f"pages/{page}.py").run()  # first visit: caches fill
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            app.switch_page(f"pages/{page}.py").run()
            runs.append(time.perf_counter() - start)
        if app.exception:
            raise RuntimeError(f"page {page} raised: {app.exception[0].message}")
        out[page] = round(statistics.median(runs), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="SYN-0001", help="a DICOM case of the demo cohort")
    parser.add_argument("--warm-up", default="SYN-0003", help="another one, processed first")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import torch

    from survival_core.paths import demo_cohort_dir
    from survival_core.workflows.demo import demo_ready

    torch.set_num_threads(args.threads)
    if not demo_ready():
        parser.error("the demo is not prepared: run `python -m survival_core prepare-demo` first")
    warm_up, _ = process_case(demo_cohort_dir() / "cases" / args.warm_up)  # imports, model loads
    stages, case = process_case(demo_cohort_dir() / "cases" / args.case)
    pages = page_times(case)
    report(
        {
            "case": args.case,
            "total_s": stages.pop("total"),
            "warm_up_total_s": warm_up["total"],
            "stages": stages,
            "page_switch_seconds": pages,
            "slowest_page_seconds": max(pages.values()),
        },
        args.json,
    )


if __name__ == "__main__":
    main()
