"""The IBSI conformance summary: the ``ibsi`` command without data, and the README tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from survival_core.cli.main import main
from survival_core.features.conformance import markdown


def test_ibsi_command_skips_plainly_without_the_data(tmp_path: Path, monkeypatch, capsys) -> None:
    from survival_core.features import conformance

    monkeypatch.setattr(conformance, "SHARED_DATA", tmp_path)
    assert main(["ibsi", "--json"]) == 0
    captured = capsys.readouterr()
    last = json.loads(captured.out.strip().splitlines()[-1])
    assert last["skipped"].startswith("IBSI data not found") and str(tmp_path) in last["skipped"]
    assert "skipped" in captured.err


def test_a_data_folder_given_without_ibsi_data_is_an_error(tmp_path: Path, capsys) -> None:
    """``ibsi --data`` of an existing folder of other data (the pyradiomics samples) reported
    'skipped' with exit 0: a CI check passed doing nothing."""
    other = Path(__file__).resolve().parents[2] / "shared" / "data" / "pyradiomics"
    for folder in (tmp_path, other):
        assert main(["ibsi", "--data", str(folder), "--json"]) == 2
        error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
        assert error.startswith(f"--data {folder} holds no IBSI data: IBSI data not found: ")
        assert "ibsi_1_chest_config_a.csv" in error


def test_json_and_markdown_together_are_an_argument_error(capsys) -> None:
    """``ibsi --json --markdown`` was taken: the markdown won and the last line was no JSON."""
    assert main(["ibsi", "--json", "--markdown"]) == 2
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["kind"] == "UsageError" and "not allowed with argument" in last["error"]


@pytest.mark.parametrize("shown", [["--json"], ["--markdown"], []])
def test_an_unexplained_deviation_fails_the_command(shown, monkeypatch, capsys) -> None:
    """The exit status was 0 whatever the comparison found: a CI job passed with unexplained
    deviations. Now 1, with the count in the report (and 0 when every value matched)."""
    from survival_core.features import conformance

    monkeypatch.setattr(conformance, "missing_data", lambda _: None)
    for unexplained, code in ((0, 0), (1, 1)):
        report = _report(_counts(4, 3 - unexplained, 1))
        monkeypatch.setattr(conformance, "ibsi_report", lambda *_, r=report: r)
        assert main(["ibsi", *shown]) == code
        captured = capsys.readouterr()
        assert ("IBSI conformance failed: 1 comparison(s) unexplained" in captured.err) == bool(
            unexplained
        )
        if shown == ["--json"]:
            assert json.loads(captured.out.strip().splitlines()[-1])["failed"] == unexplained


def _counts(compared: int, matched: int, documented: int = 0) -> dict:
    return {
        "compared": compared,
        "matched": matched,
        "documented_deviations": documented,
        "unexplained": compared - matched - documented,
        "no_counterpart": 3,
    }


def _report(counts: dict) -> dict:
    """A conformance report of one configuration with ``counts``, and nothing else failing."""
    config = {**counts, "families": {"GLCM": counts}, "diagnostics": {"compared": 6, "matched": 6}}
    ibsi2 = {**_counts(2, 2), "relative_tolerance": 1e-3, "cases": [], "not_offered_cases": {}}
    return {"configs": {"A": config}, "nifti": {"A": _counts(4, 3, 1)}, "deviations": [],
            "ibsi2": ibsi2}  # fmt: skip


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
