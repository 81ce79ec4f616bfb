"""Import of a generated nested download of 200 patients, 5 % broken: every good patient in, every
broken one reported with its reason; a rerun touches nothing; SIGKILL + rerun = uninterrupted.

    .venv/bin/python benchmarks/bench_import_tree.py [--patients 200] [--broken 0.05]
        [--cases 6] [--seed 5] [--workers 2] [--generated DIR] [--json]

Generates ``--cases`` lung cases (or reuses the cohort in ``--generated``) and clones them into a
TCIA-like tree of ``--patients`` patients (:func:`survival_core.synthetic.download_tree.
write_download`, cropped around the GTV): a ``--broken`` share of them fail in the ways real
downloads do (no RTSTRUCT, unnamed GTV, truncated slice, two organs), 1 % more come zipped and
must import. Then, timed, with ``--workers`` processes:

1. an uninterrupted import (checked: every good patient imported, every broken one in
   ``import_report.csv`` with its expected reason);
2. a rerun (checked: no file of the cohort changed, by time stamp or bytes);
3. ``python -m survival_core cohort import`` killed (SIGKILL to its process group) once half the
   good patients are in, then rerun (checked: the cohort folder equals the uninterrupted one,
   byte for byte, the per-run ``import_report.csv`` aside).

Everything runs under a temporary RADSURV_DATA_DIR (its own de-identification key). Prints the
seconds and counts; with ``--json`` one JSON object as the last line. Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from survival_core.cli.output import progress, report  # noqa: E402
from survival_core.cohort.importer import case_ids_for, import_images  # noqa: E402
from survival_core.io.deid import Deidentifier  # noqa: E402
from survival_core.io.manifest import read_manifest  # noqa: E402
from survival_core.synthetic.download_tree import PROBLEMS, DownloadTree, write_download  # noqa: E402
from survival_core.synthetic.generate import generate_cohort  # noqa: E402

#: The problems that make an import fail, given in turn to the broken patients.
FAILING = [name for name, reason in PROBLEMS.items() if reason]
#: A progress line of ``cohort import``: "12/200 RS-... imported".
_PROGRESS = re.compile(r"^\d+/\d+ \S+ (imported|failed|unchanged)")


def build_tree(args: argparse.Namespace, work: Path) -> DownloadTree:
    """The generated cases (reused when ``--generated`` holds them) cloned into the tree."""
    generated = args.generated or work / "generated"
    if not (generated / "cohort.json").is_file():
        started = time.perf_counter()
        generate_cohort(generated, args.cases, seed=args.seed, workers=args.workers, site="lung")
        progress(f"bench-import-tree: {args.cases} cases generated ({_since(started)} s)")
    ids = list(read_manifest(generated).case_id)
    n_broken = round(args.patients * args.broken)
    problems = [*islice(cycle(FAILING), n_broken), *["zipped"] * max(1, args.patients // 100)]
    cases = list(islice(cycle(ids), args.patients))
    started = time.perf_counter()
    tree = write_download(generated, work / "download", cases=cases, problems=problems)
    progress(f"bench-import-tree: tree of {args.patients} patients written ({_since(started)} s)")
    return tree


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 1)


def check_import(tree: DownloadTree, out: Path) -> dict[str, int]:
    """How many good patients were imported and broken ones reported with their reason."""
    ids = case_ids_for(out, tree.patient_ids)
    with open(out / "import_report.csv", encoding="utf-8", newline="") as handle:
        report_rows = {row["patient"]: row for row in csv.DictReader(handle)}
    pseudonym = Deidentifier().pseudonym
    reported = 0
    for patient_id, expected in tree.failing.items():
        row = report_rows.get(pseudonym(patient_id), {})
        reported += row.get("status") == "failed" and expected in row.get("reason", "")
    return {
        "good_imported": sum(ids[p] is not None for p in tree.importable),
        "broken_reported_with_reason": reported,
    }


def fingerprint(out: Path) -> dict[str, tuple[int, str]]:
    """Relative path -> (mtime in ns, SHA-256) of every file but the per-run report."""
    files = (p for p in sorted(out.rglob("*")) if p.is_file() and p.name != "import_report.csv")
    return {p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, _sha256(p)) for p in files}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _differing(a: dict[str, Any], b: dict[str, Any]) -> int:
    return sum(a.get(k) != b.get(k) for k in a.keys() | b.keys())


def kill_halfway(tree: DownloadTree, out: Path, workers: int) -> tuple[float, int]:
    """Run the CLI import and SIGKILL it, workers included, once half the good patients are in;
    (seconds, progress lines read before the kill). The whole process group is killed: workers
    outlive a SIGKILL of their parent alone and would go on writing during the rerun."""
    command = [sys.executable, "-m", "survival_core", "cohort", "import"]
    command += ["--images", str(tree.images), "--out", str(out), "--workers", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    lines = imported = 0
    for line in process.stderr:
        lines += bool(_PROGRESS.match(line))
        imported += line.rstrip().endswith(" imported")
        if imported >= len(tree.importable) // 2:
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    if process.returncode != -signal.SIGKILL:
        raise RuntimeError(f"the import ended ({process.returncode}) before it could be killed")
    return time.perf_counter() - started, lines


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Build the tree, then the three timed imports and their checks."""
    started = time.perf_counter()
    tree = build_tree(args, work)
    result: dict[str, Any] = {
        "tree_s": _since(started),
        "patients": len(tree.patients),
        "dicom_patients": sum(p.fmt == "dicom" for p in tree.patients),
        "broken": len(tree.failing),
        "zipped": sum(p.problem == "zipped" for p in tree.patients),
        "tree_mb": round(sum(p.stat().st_size for p in tree.images.rglob("*")) / 1e6, 1),
        "workers": args.workers,
    }
    out = work / "cohort"
    started = time.perf_counter()
    first = import_images(tree.images, out, workers=args.workers)
    result |= {"import_s": _since(started), "files": first.n_files, **first.counts()}
    result |= check_import(tree, out)
    progress(f"bench-import-tree: imported in {result['import_s']} s")

    before = fingerprint(out)
    started = time.perf_counter()
    again = import_images(tree.images, out, workers=args.workers)
    result |= {"rerun_s": _since(started), "rerun_unchanged": again.counts()["unchanged"]}
    result["rerun_touched_files"] = _differing(before, fingerprint(out))
    progress(f"bench-import-tree: rerun in {result['rerun_s']} s")

    killed = work / "killed"
    seconds, lines = kill_halfway(tree, killed, args.workers)
    started = time.perf_counter()
    resumed = import_images(tree.images, killed, workers=args.workers)
    result |= {
        "killed_after_s": round(seconds, 1),
        "progress_lines_before_kill": lines,
        "resume_s": _since(started),
        "cases_kept_from_killed_run": resumed.counts()["unchanged"],
        "killed_plus_resume_s": round(seconds + time.perf_counter() - started, 1),
    }
    hashes = {path: digest for path, (_, digest) in fingerprint(out).items()}
    resumed_hashes = {path: digest for path, (_, digest) in fingerprint(killed).items()}
    result["resumed_differing_files"] = _differing(hashes, resumed_hashes)
    result["staging_left"] = (killed / ".staging").exists()
    result["ok"] = (
        result["good_imported"] == len(tree.importable) == result["imported"]
        and result["broken_reported_with_reason"] == result["broken"] == result["failed"]
        and result["rerun_touched_files"] == 0
        and result["rerun_unchanged"] == len(tree.importable)
        and result["resumed_differing_files"] == 0
        and not result["staging_left"]
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--broken", type=float, default=0.05, help="share of failing patients")
    parser.add_argument("--cases", type=int, default=6, help="generated cases to clone")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--generated", type=Path, default=None, help="write (or reuse) cases here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="radsurv-bench-import-tree-") as tmp:
        work = Path(tmp)
        os.environ["RADSURV_DATA_DIR"] = str(work / "data")  # a key of its own, for the CLI too
        result = run(args, work)
    report(result, args.json)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
