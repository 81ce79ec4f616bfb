"""The ``dsfr`` command on the small synthetic cohort (tiny network, two epochs)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from survival_core.cli import dsfr
from survival_core.errors import ConfigError, InputError
from survival_core.features.dsfr import read_dsfr_table
from survival_core.features.segmentation import SegmentationModel
from survival_core.io.case_loader import load_case
from survival_core.io.tables import load_model_table
from survival_core.models import load_model
from survival_core.models.card import ModelCard
from survival_core.models.scoring import load_scoring_model
from survival_core.workflows.scoring import score_case, score_values

SUMMARY_KEYS = {
    "dice_mean",
    "auc_dsfr",
    "auc_clinical",
    "auc_combined",
    "delong_p_combined_vs_clinical",
    "cox_c_index",
    "n_dev",
    "n_test",
    "seconds",
}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="radsurv")
    dsfr.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_dsfr_command_writes_every_output(small_cohort, capsys):
    out = Path(os.environ["RADSURV_DATA_DIR"]) / "runs" / "dsfr"
    args = _parse(
        ["dsfr", "--cohort", str(small_cohort), "--out", str(out), "--epochs", "2",
         "--slice-size", "32", "--slices", "8", "--test-fraction", "0.34", "--json"]
    )  # fmt: skip
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary) >= SUMMARY_KEYS
    assert summary["n_dev"] + summary["n_test"] == 6 and summary["n_test"] >= 1
    assert 0.0 <= summary["dice_mean"] <= 1.0

    table, info = read_dsfr_table(out / "dsfr.parquet")
    assert len(table.features) == 6 and info["unet"]["slice_size"] == 32
    model = SegmentationModel.load(out / "unet", device="cpu")
    assert len(model.history["train"]) == 2
    joined = load_model_table([small_cohort / "clinical.csv", out / "dsfr.parquet"])
    assert len(joined.y) == 6 and "dsfr_000" in joined.X.columns

    study = json.loads((out / "classification.json").read_text())
    assert set(study["dice"]["per_case"]) == set(study["held_out"])
    assert sorted(study["development"] + study["held_out"]) == sorted(table.features.index)
    assert study["n_excluded_censored"] == summary["n_excluded_censored"]
    cox = load_model(out / "cox_model")
    assert "dsfr_signature" in cox.features_used_
    assert ModelCard.load(out / "cox_model").n == summary["n_dev"]

    # the Cox model reads the study's own columns (dsfr_signature, afp_ge_400): scoring a case
    # was refused for a DSFR network it lacked, with the advice to train it by `train`
    said = (
        r"Model cox_model cannot score a case: it was written by `dsfr` for its study report, "
        r"and its inputs dsfr_signature .* are columns the study derives, which no new case has\. "
        r"Train a model with features.dsfr \(`train --config`\) to score cases\.$"
    )
    loaded = load_scoring_model(out / "cox_model")
    with pytest.raises(InputError, match=said):
        score_case(load_case(small_cohort / "cases" / study["held_out"][0]), loaded)
    values = {"hbv": 1, "afp": 500, "albi_score": -2.0, "dsfr_signature": 0.3}
    with pytest.raises(InputError, match=said):
        score_values(values, loaded, "X")


@pytest.mark.parametrize(
    ("extra", "error", "match"),
    [
        (["--test-fraction", "1.5"], ConfigError, "between 0 and 1"),
        (["--slice-size", "30"], ConfigError, "multiple of 8"),
    ],
)
def test_dsfr_command_rejects_bad_options(small_cohort, tmp_path, extra, error, match):
    args = _parse(["dsfr", "--cohort", str(small_cohort), "--out", str(tmp_path), *extra])
    with pytest.raises(error, match=match):
        args.func(args)


def test_dsfr_command_needs_a_cohort_folder(tmp_path):
    args = _parse(["dsfr", "--cohort", str(tmp_path), "--out", str(tmp_path / "out")])
    with pytest.raises(InputError, match="cohort folder"):
        args.func(args)
