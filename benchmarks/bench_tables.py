"""Reading a model table as sites export it: RadSurv's reading against pandas' alone, side by side.

    .venv/bin/python benchmarks/bench_tables.py [--rows 3000] [--columns 200] [--json]

RadSurv decides what each comma and point of a delimited table means from the numbers themselves
(:func:`survival_core.io.delimited.number_marks`: '1,814' is 1814 or 1.814 by what the column's
and the file's other numbers prove). This times :func:`survival_core.io.tables.load_model_table`
on a generated radiomics-like table (``--rows`` x ``--columns`` numbers, case_id, time, event) as
three exports: comma-delimited with decimal points (no number text to decide: pandas' own
reading kept), semicolon-delimited with decimal commas, and a tab export whose times carry
thousands commas ('1,814'), each against ``pandas.read_csv`` of the same bytes with the right
separator and decimal mark given (which a site's file does not say), and checks the values read.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from survival_core.cli.output import progress, report
from survival_core.io.tables import load_model_table

#: Export name -> (separator, decimal mark, times written with thousands commas).
EXPORTS = {
    "comma, decimal points": (",", ".", False),
    "semicolon, decimal commas": (";", ",", False),
    "tab, thousands commas in times": ("\t", ".", True),
}


def table(rows: int, columns: int) -> pd.DataFrame:
    """Radiomics-like numbers with an outcome (times up to 4,000 days)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.normal(size=(rows, columns)).round(6),
        columns=[f"GTV_original_firstorder_f{k}" for k in range(columns)],
    )
    frame.insert(0, "case_id", [f"C{k:05d}" for k in range(rows)])
    frame["time"] = rng.integers(10, 4000, rows)
    frame["event"] = rng.integers(0, 2, rows)
    return frame


def write(frame: pd.DataFrame, path: Path, sep: str, decimal: str, grouped: bool) -> None:
    out = frame.copy()
    if grouped:
        out["time"] = out["time"].map(lambda days: f"{days:,}")
    out.to_csv(path, sep=sep, decimal=decimal, index=False)


def timed(read, repeats: int = 3) -> tuple[float, object]:
    """The fastest of ``repeats`` calls of ``read`` (seconds) and its result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = read()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--columns", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    frame = table(args.rows, args.columns)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, (sep, decimal, grouped) in EXPORTS.items():
            path = Path(folder) / "table.csv"
            write(frame, path, sep, decimal, grouped)
            thousands = "," if grouped else None
            plain, _ = timed(
                lambda: pd.read_csv(path, sep=sep, decimal=decimal, thousands=thousands)  # noqa: B023
            )
            ours, read = timed(lambda: load_model_table([path], time_unit="days"))  # noqa: B023
            same = np.allclose(read.X.to_numpy(float), frame.iloc[:, 1:-2].to_numpy(float))
            same &= bool((read.y["time"] == frame["time"].to_numpy(float)).all())
            results[name] = {
                "pandas_s": round(plain, 3),
                "radsurv_s": round(ours, 3),
                "ratio": round(ours / plain, 2),
                "values_as_written": same,
            }
            progress(f"{name}: pandas {plain:.2f} s, RadSurv {ours:.2f} s, values ok {same}")
    report({"rows": args.rows, "columns": args.columns, "exports": results}, args.json)


if __name__ == "__main__":
    main()
