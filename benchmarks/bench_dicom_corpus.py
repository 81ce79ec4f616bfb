"""pydicom's real-world test files through RadSurv's DICOM entry points: each file loads or is
refused with a clear message; none crashes or hangs.

    .venv/bin/python benchmarks/bench_dicom_corpus.py [--limit 20] [--json]

Runs every file pydicom ships in its package folder (``tests/dicom_corpus.py`` lists them from the
installed package; nothing is downloaded) through: the series reader (``read_series``), its pixel
decoding on its own (``decode_pixels``: compressed files without slice geometry are refused by the
reader before a pixel is decoded), the Case page's upload path as a single file and as a zip of it
(stored de-identified into a temporary data folder, classified, then read as ``load_upload`` reads
a case), the RTSTRUCT and SEG readers, and the upload classifier (``check_file_type``). Each call
runs in a worker process with a ``--limit`` seconds time limit.

Prints, per entry point, the files tried, loaded, refused with a message, crashed and hung (both
must be 0); per transfer syntax of the files with pixel data, how many decode; the installed
decoder packages; and the counts as a markdown table. With ``--json`` the last line is one JSON
object that also gives every file's outcome per entry point.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import progress, report  # noqa: E402
from tests.dicom_corpus import (  # noqa: E402
    PER_FILE_SECONDS,
    STATUSES,
    by_syntax,
    corpus_files,
    corpus_root,
    counts,
    pixel_syntax,
    run_corpus,
)

#: Packages pydicom decodes compressed pixel data with, when installed.
DECODER_PACKAGES = (
    "pillow",
    "pyjpegls",
    "pylibjpeg",
    "pylibjpeg-libjpeg",
    "pylibjpeg-openjpeg",
    "pylibjpeg-rle",
    "python-gdcm",
)


def installed(package: str) -> str | None:
    """The installed version of ``package``, None when it is not installed."""
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def markdown(entry_points: dict[str, dict[str, int]], syntaxes: dict[str, dict[str, int]]) -> str:
    """The counts as two markdown tables (entry points, transfer syntaxes)."""
    lines = [
        "| entry point | " + " | ".join(["tried", *STATUSES]) + " |",
        "| --- |" + " ---: |" * (len(STATUSES) + 1),
        *(
            f"| {entry} | {c['tried']} | " + " | ".join(str(c[s]) for s in STATUSES) + " |"
            for entry, c in entry_points.items()
        ),
        "",
        "| transfer syntax (files with pixel data) | files | decoded | refused | loaded as a series |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {name} | {c['files']} | {c['decoded']} | {c['refused']} | {c['series_loaded']} |"
            for name, c in syntaxes.items()
        ),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=PER_FILE_SECONDS, help="seconds per call")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="radsurv-bench-corpus-") as data:
        os.environ["RADSURV_DATA_DIR"] = data  # uploads are stored here, never in ./data
        files = corpus_files()
        root = corpus_root()
        syntax_of = {p.relative_to(root).as_posix(): pixel_syntax(p) for p in files}
        started = time.perf_counter()
        outcomes = run_corpus(files, limit_s=args.limit)
        seconds = time.perf_counter() - started

    decoded = by_syntax(outcomes, syntax_of, "pixels")
    as_series = by_syntax(outcomes, syntax_of, "series")
    syntaxes = {
        name: {
            "files": sum(c.values()),
            "decoded": c["loaded"],
            "refused": c["refused"],
            "series_loaded": as_series[name]["loaded"],
        }
        for name, c in decoded.items()
    }
    entry_points = counts(outcomes)
    per_file: dict[str, dict] = {}
    for o in outcomes:
        uid = syntax_of[o.file]
        record = per_file.setdefault(o.file, {"syntax": f"{uid.name} ({uid})" if uid else None})
        record[o.entry] = {"status": o.status, "message": o.message, "seconds": round(o.seconds, 3)}
    for o in outcomes:
        if o.status in ("crashed", "hung"):
            progress(f"{o.status.upper()} {o.entry} {o.file}: {o.message}")

    result = {
        "files": len(files),
        "entry_points": entry_points,
        "crashed": sum(c["crashed"] for c in entry_points.values()),
        "hung": sum(c["hung"] for c in entry_points.values()),
        "syntaxes_loaded": [n for n, c in syntaxes.items() if c["decoded"]],
        "syntaxes_refused": [n for n, c in syntaxes.items() if not c["decoded"]],
        "syntaxes": syntaxes,
        "decoders": {p: installed(p) for p in DECODER_PACKAGES},
        "limit_s": args.limit,
        "seconds": round(seconds, 1),
    }
    if args.json:
        report({**result, "per_file": per_file}, True)
    else:
        report(result, False)
        sys.stdout.write("\n" + markdown(entry_points, syntaxes) + "\n")
    return 1 if result["crashed"] or result["hung"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
