"""One demo case end to end, stage by stage, and how fast the dashboard's pages render after it.

    .venv/bin/python benchmarks/bench_case.py [--case SYN-0001] [--workers 2] [--json]
    # last line: total_s, stages, in_process_total_s, ...

Needs the prepared demo (``make run`` or ``python -m survival_core prepare-demo``) in the data
folder (``$RADSURV_DATA_DIR``). The demo case's DICOM series and RTSTRUCT are zipped in memory and
go the server's way, all in the case pool of ``--workers`` processes (as ``serve`` runs it):
de-identified, stored by content and classified, read with the structure roles, its wei2021
radiomics computed in parts side by side, scored with the default model, its input attributions
computed (exact tabular IG), a Grad-CAM overlay made with the demo image model and the PDF report
drawn. Each stage is timed once, as a new upload is, on a warm server: another case goes through
first, two at once (imports, model loads in every worker: ``warm_up_total_s``, the slower). The
same is then measured with everything in this one process (``--workers 0``:
``in_process_total_s``, nothing in parallel), side by side in the same run. Then every page of
``app.py`` is run with the case loaded (Streamlit's AppTest, the server-side script run a page
switch triggers): the first run fills the caches, the reported time is the median of the next
three. Targets: the case end to end <= 3 s
(issue 16; issue 7 asked <= 30 s), a page switch after processing <= 1 s, 2 CPU cores.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
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


def process_case(case_dir: Path, pool) -> tuple[dict[str, float], object]:
    """Seconds per stage for one uploaded DICOM zip, the server's way, in the case ``pool``:
    stored and classified, read, radiomics (in parts, one per worker), score, attributions,
    Grad-CAM and PDF; returns them and the case."""
    import json

    from survival_core.features.case_row import radiomics_settings
    from survival_core.features.cohort import FeatureCache
    from survival_core.io.uploads import CLINICAL_KEEP
    from survival_core.models.scoring import load_scoring_model
    from survival_core.workflows import case_pool
    from survival_core.workflows.demo import default_model_dir, image_model_dir

    seconds: dict[str, float] = {}
    data = _zip(case_dir)

    def timed(stage, work):
        start = time.perf_counter()
        value = work()
        seconds[stage] = round(time.perf_counter() - start, 3)
        return value

    files = [(f"{case_dir.name}.zip", data)]
    folder, contents = timed("upload", lambda: case_pool.store(pool, files, CLINICAL_KEEP).result())
    roles = tuple((r, tuple(names)) for r, names in contents.suggested_roles().items())
    case = timed("case_read", lambda: case_pool.read_upload(pool, str(folder), roles).result())
    model, image = str(default_model_dir()), str(image_model_dir())
    stamp = {f: (Path(f) / "card.json").stat().st_mtime for f in (model, image)}
    settings = radiomics_settings(load_scoring_model(model))  # the server holds it loaded
    FeatureCache(settings).discard(case.content_digest())  # a new upload: nothing cached for it
    values = json.dumps(case.clinical, sort_keys=True, default=str)
    timed("radiomics", lambda: case_pool.radiomics(pool, case, settings))
    args = (values, model, stamp[model])
    score = timed("score", lambda: pool.submit(case_pool.score_task, case, *args).result())
    attribution = timed(
        "attributions", lambda: pool.submit(case_pool.explain_task, case, *args, "ig").result()
    )
    timed(
        "overlay_gradcam",
        lambda: pool.submit(
            case_pool.explain_task, case, values, image, stamp[image], "gradcam"
        ).result(),
    )
    timed(
        "report_pdf",
        lambda: case_pool.report(pool, case, *args, score, attribution).result(),
    )
    seconds["total"] = round(sum(seconds.values()), 3)
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
    parser.add_argument(
        "--warm-up", nargs=2, default=["SYN-0002", "SYN-0003"], help="two others, processed first"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="case-pool worker processes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import torch

    from survival_core.paths import demo_cohort_dir
    from survival_core.workflows.demo import demo_ready

    torch.set_num_threads(args.threads)
    if not demo_ready():
        parser.error("the demo is not prepared: run `python -m survival_core prepare-demo` first")
    from survival_core.io.upload_case import forget_uploads
    from survival_core.workflows.case_pool import CasePool

    cases = demo_cohort_dir() / "cases"
    runs = {}
    for workers in (args.workers, 0):  # the server's pool, then all in one process
        forget_uploads()  # each path stores and classifies its uploads anew
        pool = CasePool(workers=workers)
        try:
            # two cases at once first, so that every worker imports and loads each model
            with ThreadPoolExecutor(2) as threads:
                warm = [threads.submit(process_case, cases / c, pool) for c in args.warm_up]
                warm_up = max((w.result()[0] for w in warm), key=lambda w: w["total"])
            runs[workers] = (warm_up, *process_case(cases / args.case, pool))
        finally:
            pool.shutdown()
    warm_up, stages, case = runs[args.workers]
    in_process = runs[0][1]
    pages = page_times(case)
    report(
        {
            "case": args.case,
            "workers": args.workers,
            "total_s": stages.pop("total"),
            "warm_up_total_s": warm_up["total"],
            "stages": stages,
            "in_process_total_s": in_process.pop("total"),
            "in_process_stages": in_process,
            "page_switch_seconds": pages,
            "slowest_page_seconds": max(pages.values()),
        },
        args.json,
    )


if __name__ == "__main__":
    main()
