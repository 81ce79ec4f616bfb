"""The IBSI conformance summary: the ``ibsi`` command without data, and the README tables."""

from __future__ import annotations

import json
from pathlib import Path

from survival_core.cli.main import main
from survival_core.features.conformance import markdown


def test_ibsi_command_skips_plainly_without_the_data(tmp_path: Path, capsys) -> None:
    assert main(["ibsi", "--json", "--data", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    last = json.loads(captured.out.strip().splitlines()[-1])
    assert last["skipped"].startswith("IBSI data not found") and str(tmp_path) in last["skipped"]
    assert "skipped" in captured.err


def _counts(compared: int, matched: int, documented: int = 0) -> dict:
    return {
        "compared": compared,
        "matched": matched,
        "documented_deviations": documented,
        "unexplained": compared - matched - documented,
        "no_counterpart": 3,
    }


def test_markdown_tables_show_counts_deviations_and_filters() -> None:
    report = {
        "configs": {
            "A": {
                **_counts(4, 3, 1),
                "families": {"GLCM": _counts(3, 3), "intensity statistics": _counts(1, 0, 1)},
                "diagnostics": {"compared": 60, "matched": 60},
            },
            "C": {
                **_counts(4, 2),
                "families": {"GLCM": _counts(3, 2), "intensity statistics": _counts(1, 0)},
                "diagnostics": {"compared": 60, "matched": 59},
                "matched_on_default_grid": 1,
            },
        },
        "nifti": {"A": _counts(4, 3, 1), "C": _counts(4, 2)},
        "deviations": [
            {
                "config": "A",
                "tag": "stat_kurt",
                "reference": 5.96,
                "tolerance": 0.24,
                "ours": 8.96,
                "converted": 5.96,
                "reason": "excess kurtosis",
            }
        ],
        "ibsi2": {
            "relative_tolerance": 1e-3,
            "cases": [
                {
                    "case": "2A (recursive LoG)",
                    "phantom": "impulse",
                    "filter": "LoG, sigma 3 mm, 3D",
                    "boundary": "zero",
                    "status": "documented deviation",
                    "max_difference": 8.2,
                    "relative_difference": 1.28,
                    "relative_difference_converted": 0.0144,
                }
            ],
            "not_offered_cases": {"3A1": "Laws kernels"},
        },
    }
    text = markdown(report)
    assert "| GLCM | 3/3 | 2/3 (1 unexplained) |" in text
    assert "| intensity statistics | 0/1 (1 documented) | 0/1 (1 unexplained) |" in text
    assert "| image and mask diagnostics | 60/60 | 59/60 |" in text
    assert "| matched on RadSurv's default grid | (native grid) | 1/4 |" in text
    assert "| A | `stat_kurt` | 5.96 ± 0.24 | 8.96 | 5.96 | excess kurtosis |" in text
    assert (
        "| 2A (recursive LoG) | impulse | LoG, sigma 3 mm, 3D | zero | 8.2 | 1.3 | "
        "documented deviation (converted: 1.44% of peak) |"
    ) in text
    assert "| 3A1 | Laws kernels |" in text
