"""Long fuzz runs: the fuzz tests' own fuzzers on many more inputs, drawn from a seed.

    .venv/bin/python benchmarks/bench_fuzz.py [--n 10000] [--seed S] [--only dicom,...]
                                              [--limit 2] [--json] [--replay INDEX]

The fuzzers are those of ``tests/test_fuzz_*.py`` (the DICOM series reader, the RTSTRUCT
converter, the NIfTI reader, the clinical CSV and form parsers), run by ``tests/fuzzing.py`` with
the same inputs and checks: ``make test`` gives each 1,000 derandomised inputs, this gives each
``--n`` inputs drawn from ``--seed`` (random unless given, and printed), so every run with a new
seed explores new inputs. ``--only`` takes names or their beginnings (``clinical`` is both
clinical fuzzers).

Prints per fuzzer: inputs, loaded, refused with a message (and by error class), crashed (any
other exception, an error without a message, or the fuzzer's process died) and hung (over
``--limit`` seconds): both must be 0; seconds and inputs/s; and the first crash reproducers: the
seed, number and index of the input, the error, where it was raised and the input. Then the
counts as a markdown table; with ``--json`` the last line is one JSON object. Exits 1 on any
crash or hang.

Each fuzzer runs in a fresh process: hypothesis also draws constants it finds in the project's
loaded modules, so a fuzzer's inputs depend on what was imported before and during its run, and
must not depend on which fuzzers ran before it. A seed's inputs depend on ``--n`` too (hypothesis
plans its run by it): ``--replay INDEX`` with the same ``--seed`` and ``--n`` and one fuzzer in
``--only`` runs that fuzzer again and prints input INDEX with its traceback.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import progress, report  # noqa: E402
from tests import test_fuzz_clinical, test_fuzz_dicom, test_fuzz_rtstruct, test_fuzz_volume  # noqa: E402
from tests.fuzzing import CRASHED, HUNG, PER_INPUT_SECONDS, Fuzzer, fuzz, outcome  # noqa: E402

FUZZERS = {
    "dicom": test_fuzz_dicom.FUZZER,
    "rtstruct": test_fuzz_rtstruct.FUZZER,
    "volume": test_fuzz_volume.FUZZER,
    "clinical_csv": test_fuzz_clinical.CSV_FUZZER,
    "clinical_form": test_fuzz_clinical.FORM_FUZZER,
}
#: Crash reproducers kept per fuzzer.
REPRODUCERS = 5
COLUMNS = ("inputs", "loaded", "refused", "crashed", "hung", "seconds", "inputs_per_s")


def _reproducer(
    seed: int, n: int, index: int, kind: str, error: BaseException, example: dict
) -> dict:
    """What it takes to meet a crash again (``--replay``) and to fix it."""
    frames = traceback.extract_tb(error.__traceback__)
    return {
        "seed": seed,
        "n": n,
        "index": index,
        "outcome": kind,
        "error": f"{type(error).__name__}: {error}"[:300],
        "raised_at": f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}"
        if frames
        else None,
        "input": repr(example)[:600],
    }


def run_fuzzer(
    key: str, n: int, seed: int, limit: float, show: int | None = None
) -> dict[str, Any]:
    """``n`` inputs of fuzzer ``key`` from ``seed``: the outcome counts, time and crash
    reproducers; input ``show`` (an index) is printed with its traceback."""
    fuzzer = FUZZERS[key]
    counts: Counter = Counter()
    reproducers: list[dict] = []

    def feed(run, **example) -> None:
        def record(action) -> None:
            index = sum(counts.values())
            kind, error = outcome(action, limit)
            if index == show:
                shown = "".join(traceback.format_exception(error)) if error else ""
                progress(f"{fuzzer.name}, seed {seed}, n {n}, input {index}: {example!r}")
                progress(f"outcome {kind}\n{shown}")
            if kind in (CRASHED, HUNG) and len(reproducers) < REPRODUCERS:
                reproducers.append(_reproducer(seed, n, index, kind, error, example))
            counts[kind] += 1
            if (index + 1) % 1000 == 0:
                progress(f"{fuzzer.name}: {index + 1} inputs")

        fuzzer.feed(record, **example)

    started = time.perf_counter()
    fuzz(Fuzzer(fuzzer.name, fuzzer.inputs, feed), lambda action: None, n, seed)
    seconds = time.perf_counter() - started
    inputs = sum(counts.values())
    refused = {k: v for k, v in counts.items() if k not in ("success", CRASHED, HUNG)}
    return {
        "inputs": inputs,
        "loaded": counts["success"],
        "refused": sum(refused.values()),
        "refused_by_error": dict(sorted(refused.items())),
        "crashed": counts[CRASHED],
        "hung": counts[HUNG],
        "seconds": round(seconds, 1),
        "inputs_per_s": round(inputs / seconds, 1),
        "reproducers": reproducers,
    }


def run_alone(key: str, n: int, seed: int, limit: float, show: int | None) -> dict[str, Any]:
    """:func:`run_fuzzer` in a fresh interpreter; a process that dies (a crash in C code) counts
    as a crash."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        try:
            return pool.submit(run_fuzzer, key, n, seed, limit, show).result()
        except BrokenProcessPool as err:
            died = dict.fromkeys(COLUMNS, None)
            return {**died, "crashed": 1, "hung": 0, "died": str(err), "reproducers": []}


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """The counts as a markdown table, one row per fuzzer."""
    header = ("fuzzer", "inputs", "loaded", "refused", "crashed", "hung", "s", "inputs/s")
    return "\n".join(
        [
            "| " + " | ".join(header) + " |",
            "| --- |" + " ---: |" * (len(header) - 1),
            *(
                f"| {FUZZERS[key].name} | " + " | ".join(str(r[c]) for c in COLUMNS) + " |"
                for key, r in results.items()
            ),
        ]
    )


def _chosen(only: str | None) -> list[str]:
    """The fuzzers ``--only`` names (all without it); an unknown name ends the run."""
    if not only:
        return list(FUZZERS)
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if not any(k.startswith(w) for k in FUZZERS)]
    if unknown:
        raise SystemExit(
            f"unknown fuzzer(s) {', '.join(unknown)}; the fuzzers: {', '.join(FUZZERS)}"
        )
    return [k for k in FUZZERS if any(k.startswith(w) for w in wanted)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="inputs per fuzzer")
    parser.add_argument("--seed", type=int, default=None, help="random unless given")
    parser.add_argument("--only", default=None, help=f"comma-separated: {', '.join(FUZZERS)}")
    parser.add_argument("--limit", type=float, default=PER_INPUT_SECONDS, help="seconds per input")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--replay", type=int, default=None, help="an input's index, shown")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    chosen = _chosen(args.only)
    if args.replay is not None and (len(chosen) != 1 or args.seed is None):
        raise SystemExit("--replay needs the --seed, the --n and one fuzzer in --only")
    progress(f"seed {seed}, {args.n} inputs each: {', '.join(chosen)}")

    with tempfile.TemporaryDirectory(prefix="radsurv-bench-fuzz-") as data:
        os.environ["RADSURV_DATA_DIR"] = data  # anything written goes here, never to ./data
        results = {key: run_alone(key, args.n, seed, args.limit, args.replay) for key in chosen}

    for key, result in results.items():
        if "died" in result:
            progress(f"DIED {key}: {result['died']}")
        for crash in result["reproducers"]:
            progress(
                f"{crash['outcome'].upper()} {key}: {crash['error']} at {crash['raised_at']}; "
                f"again: --only {key} --seed {seed} --n {args.n} --replay {crash['index']}"
            )
    summary = {
        "seed": seed,
        "n": args.n,
        "limit_s": args.limit,
        "crashed": sum(r["crashed"] for r in results.values()),
        "hung": sum(r["hung"] for r in results.values()),
        "fuzzers": results,
    }
    if args.json:
        report(summary, True)
    else:
        report({k: v for k, v in summary.items() if k != "fuzzers"}, False)
        sys.stdout.write("\n" + markdown(results) + "\n")
    return 1 if summary["crashed"] or summary["hung"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
