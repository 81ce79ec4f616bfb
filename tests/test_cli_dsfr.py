"""The ``dsfr`` command on the small synthetic cohort (tiny network, two epochs)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from survival_core.cli import dsfr
from survival_core.cli.main import main
from survival_core.errors import ConfigError, InputError
from survival_core.features.dsfr import cohort_dsfr_table, read_dsfr_table
from survival_core.features.extractors import bundle, case_columns
from survival_core.features.segmentation import SegmentationModel
from survival_core.io.case_loader import load_case
from survival_core.io.locks import folder_lock
from survival_core.io.tables import load_model_table
from survival_core.models import load_model
from survival_core.models.card import ModelCard
from survival_core.models.scoring import load_scoring_model
from survival_core.workflows.dsfr_study import check_study_out, run_pipeline, train_dsfr
from survival_core.workflows.scoring import score_case, score_values
from tests import clinical_exports
from tests.real_cohorts import lung_cohort

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

#: Every entry a dsfr run with its study writes into its folder.
RUN_ENTRIES = [
    "classification.json", "cox_model", "dsfr.failures.csv", "dsfr.parquet",
    "segmentation.json", "unet",
]  # fmt: skip


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
    assert summary["study_skipped"] is None and summary["n_failed"] == 0
    assert json.loads((out / "segmentation.json").read_text())["held_out"] == study["held_out"]
    # the run's files record its folder's paths, not its staging folder's, deleted after it
    assert study["cox"]["out"] == str(out / "cox_model")
    assert all(".tmp-" not in path.read_text() for path in out.rglob("*.json"))

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


@pytest.fixture(scope="module")
def lung_cts(shared_data, tmp_path_factory):
    """Real CTs (pyradiomics' lung1, lung2 and their mirror images) with time, event and age
    alone, and lung1 with a one-voxel GTV, thinner than a voxel of the network grid."""
    label = sitk.GetArrayFromImage(
        sitk.ReadImage(str(shared_data / "pyradiomics" / "lung1_label.nrrd"))
    )
    one_voxel = np.zeros(label.shape, np.uint8)
    one_voxel[tuple(int(np.median(axis)) for axis in np.nonzero(label))] = 1
    outcomes = {
        "lung1": (200, 1),
        "lung1_mirror": (300, 1),
        "lung1_one_voxel": (400, 1),
        "lung2": (900, 0),
        "lung2_mirror": (1200, 1),
    }
    cohort = tmp_path_factory.mktemp("lungs") / "cohort"
    return lung_cohort(shared_data, cohort, outcomes, {"lung1_one_voxel": ("lung1", one_voxel)})


@pytest.fixture(scope="module")
def lung_run(lung_cts, tmp_path_factory):
    """The ``dsfr`` pipeline on :func:`lung_cts`: its summary, output folder and progress lines."""
    out, lines = tmp_path_factory.mktemp("lung-dsfr") / "out", []
    summary = run_pipeline(
        lung_cts, out, epochs=1, slice_size=32, n_slices=8, progress=lines.append
    )
    return summary, out, lines


def test_a_gtv_thinner_than_a_grid_voxel_leaves_its_case_out_named(lung_run, lung_cts, tmp_path):
    """lung1 with a one-voxel GTV stopped the whole run, and the error came after the previous
    case's progress line, naming it. The case is left out, named in dsfr.failures.csv, and the
    others go on; with fewer than 4 cases left the run is refused, naming the case, before any
    file is written (train_dsfr too, which a run's features.dsfr calls on its own folder)."""
    summary, out, lines = lung_run
    said = "The 'gtv' mask disappears when resized to (32, 32, 8) voxels"
    assert f"[3/5] lung1_one_voxel left out: {said}" in "\n".join(lines)
    failures = pd.read_csv(out / "dsfr.failures.csv")
    assert failures["case_id"].tolist() == ["lung1_one_voxel"]
    assert failures["error"].iloc[0].startswith(said)
    assert summary["n_failed"] == 1 and summary["n_dev"] + summary["n_test"] == 4
    table, _ = read_dsfr_table(out / "dsfr.parquet")
    assert sorted(table.features.index) == ["lung1", "lung1_mirror", "lung2", "lung2_mirror"]
    segmentation = json.loads((out / "segmentation.json").read_text())
    assert list(segmentation["failed"]) == ["lung1_one_voxel"]

    fewer = shutil.copytree(lung_cts, tmp_path / "fewer")
    manifest = pd.read_csv(fewer / "manifest.csv")
    manifest[manifest["case_id"] != "lung2_mirror"].to_csv(fewer / "manifest.csv", index=False)
    refused = (
        r"DSFR needs at least 4 cases on the network grid; only 3 of the 4 cases of .*fewer are "
        r"\(1 left out; first, lung1_one_voxel: The 'gtv' mask disappears"
    )
    tiny = {"epochs": 1, "slice_size": 32, "n_slices": 8}
    with pytest.raises(InputError, match=refused):
        run_pipeline(fewer, tmp_path / "out", **tiny)
    assert not (tmp_path / "out").exists()  # nothing of a refused run, not even its failures
    # a run's features.dsfr writes into the run's own folder, no staging folder to drop
    with pytest.raises(InputError, match=refused):
        train_dsfr(fewer, tmp_path / "run" / "dsfr", **tiny)
    assert not (tmp_path / "run").exists()


@pytest.fixture()
def one_voxel_liver_case(small_cohort, tmp_path):
    """The small cohort with SYN-0001's GTV cut to its middle voxel (0.95 x 0.95 x 3.75 mm)
    inside its whole liver: the liver crops the network input, and the GTV alone vanishes on the
    32 x 32 x 8 grid."""
    cohort = shutil.copytree(small_cohort, tmp_path / "cohort")
    path = cohort / "cases" / "SYN-0001" / "gtv.nii.gz"
    gtv = sitk.ReadImage(str(path))
    label = sitk.GetArrayFromImage(gtv)
    one_voxel = np.zeros_like(label)
    one_voxel[tuple(int(np.median(axis)) for axis in np.nonzero(label))] = 1
    small = sitk.GetImageFromArray(one_voxel)
    small.CopyInformation(gtv)
    sitk.WriteImage(small, str(path))
    return cohort


def test_a_gtv_vanishing_inside_the_liver_leaves_its_case_out_named(one_voxel_liver_case, tmp_path):
    """A case with a liver whose one-voxel GTV vanished on the network grid was kept: the U-Net
    trained on it as a tumour patient without tumour slices, or it scored Dice 0 in the held-out
    mean, and dsfr.failures.csv did not name it. It is left out and named, as a case without a
    liver is."""
    out = tmp_path / "out"
    train_dsfr(one_voxel_liver_case, out, epochs=1, slice_size=32, n_slices=8, device="cpu")
    failures = pd.read_csv(out / "dsfr.failures.csv")
    assert failures["case_id"].tolist() == ["SYN-0001"]
    said = failures["error"].iloc[0]
    assert said.startswith("The 'gtv' mask disappears when resized to (32, 32, 8) voxels (")
    assert said.endswith(" mm); it is thinner than one output voxel.")
    segmentation = json.loads((out / "segmentation.json").read_text())
    assert "SYN-0001" not in segmentation["development"] + segmentation["held_out"]
    assert sorted(segmentation["development"] + segmentation["held_out"]) == [
        "SYN-0002", "SYN-0003", "SYN-0004", "SYN-0005", "SYN-0006"
    ]  # fmt: skip
    assert list(segmentation["failed"]) == ["SYN-0001"]
    assert "SYN-0001" not in read_dsfr_table(out / "dsfr.parquet")[0].features.index


def test_a_case_to_score_keeps_a_gtv_vanishing_on_the_grid(
    one_voxel_liver_case, small_cohort, tmp_path
):
    """Scoring with a model bundling a DSFR U-Net refused a case whose GTV vanished on the
    network grid ('The 'gtv' mask disappears ...'), as did an external cohort's DSFR table: its
    features never read the GTV (the predicted region and the liver). Only training leaves such
    a case out; a case to score gets the features its full GTV gives."""
    out = tmp_path / "out"
    train_dsfr(small_cohort, out, epochs=1, slice_size=32, n_slices=8, device="cpu")
    model = tmp_path / "model"
    bundle(model, dsfr_unet=out / "unet")
    wanted = ["dsfr_000", "dsfr_001"]
    full = read_dsfr_table(out / "dsfr.parquet")[0].features.loc["SYN-0001", wanted]
    one_voxel = load_case(one_voxel_liver_case / "cases" / "SYN-0001")
    assert case_columns(one_voxel, model, wanted) == pytest.approx(full.to_dict(), abs=1e-6)

    unet = SegmentationModel.load(out / "unet", device="cpu")
    external = cohort_dsfr_table(one_voxel_liver_case, unet, tmp_path / "ext" / "dsfr.parquet")
    assert pd.read_csv(tmp_path / "ext" / "dsfr.failures.csv").empty
    table = read_dsfr_table(external)[0].features
    assert table.loc["SYN-0001", wanted].to_numpy() == pytest.approx(full.to_numpy(), abs=1e-6)


def test_without_the_study_columns_the_unet_and_features_are_written(lung_run):
    """A cohort without hbv, afp and albi_score (real lung CTs with time, event and age) was
    refused before the U-Net trained. The study is skipped, said before the U-Net trains and in
    the summary; the U-Net, dsfr.parquet and segmentation.json are written."""
    summary, out, lines = lung_run
    skipped = (
        "The clinical table lacks afp, albi_score, hbv, needed for the early-recurrence study's "
        "clinical model (Wang 2022's covariates)"
    )
    assert summary["study_skipped"] == skipped
    assert lines[0] == f"{skipped}: the study is skipped; the U-Net and dsfr.parquet are written"
    assert not {"auc_dsfr", "cox_c_index"} & set(summary)
    assert (out / "unet" / "unet.json").is_file() and (out / "segmentation.json").is_file()
    assert len(read_dsfr_table(out / "dsfr.parquet")[0].features) == 4
    assert not (out / "classification.json").exists() and not (out / "cox_model").exists()


def test_a_rerun_replaces_the_earlier_run_whole(small_cohort, tmp_path):
    """A study, then a run without hbv/afp/albi_score into the same folder: the second rewrote
    the U-Net, dsfr.parquet and segmentation.json but kept the first's classification.json and
    cox_model/ (another cohort, another split). The folder is written whole, as `fit` writes its
    own; a folder of other files is refused before any case is read, as is a second run into a
    folder while one runs."""
    out, tiny = tmp_path / "out", {"epochs": 1, "slice_size": 32, "n_slices": 8}
    run_pipeline(small_cohort, out, test_fraction=0.34, seed=6, **tiny)
    assert sorted(os.listdir(out)) == RUN_ENTRIES  # all a folder may hold to be replaced
    unstudied = shutil.copytree(small_cohort, tmp_path / "unstudied")
    clinical = pd.read_csv(unstudied / "clinical.csv")
    clinical.drop(columns=["hbv", "afp", "albi_score"]).to_csv(
        unstudied / "clinical.csv", index=False
    )
    summary = run_pipeline(unstudied, out, **tiny)
    assert summary["study_skipped"] and summary["out"] == str(out)
    written = ["dsfr.failures.csv", "dsfr.parquet", "segmentation.json", "unet"]
    assert sorted(os.listdir(out)) == written
    assert sorted(os.listdir(tmp_path)) == ["out", "unstudied"]  # no staging folder left

    other, lines = tmp_path / "other", []
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=f"^{re.escape(_not_a_run(other, 'notes.txt'))}$"):
        run_pipeline(small_cohort, other, progress=lines.append, **tiny)
    assert os.listdir(other) == ["notes.txt"] and lines == []

    args = _parse(["dsfr", "--cohort", str(small_cohort), "--out", str(out)])
    running = f"^Another dsfr into {re.escape(str(out.resolve()))} is running"
    with (
        folder_lock(out.resolve(), "dsfr.lock", "dsfr", beside=True),
        pytest.raises(ConfigError, match=running),
    ):
        args.func(args)
    assert sorted(os.listdir(out)) == written


def _not_a_run(folder: Path, others: str) -> str:
    """What a dsfr into ``folder`` holding ``others`` (no run's entries) is told."""
    return (
        f"{folder} holds {others}, which no dsfr run writes; the run is written as a whole "
        "folder, replacing what a folder holds. Give a new or empty folder, or a dsfr run's "
        "folder to replace."
    )


def test_a_runs_folder_holding_a_users_files_is_refused_naming_them(small_cohort, tmp_path, capsys):
    """A folder holding a dsfr run's files (an earlier release's results: its U-Net, tables,
    study) and the user's notes.txt and figures/ was taken for a run's folder and replaced
    whole, deleting both without a word; a failures table beside thesis.docx too. Refused
    before any case is read, naming the user's entries, every file kept."""
    out = tmp_path / "results"
    (out / "figures").mkdir(parents=True)
    for name in RUN_ENTRIES:
        (out / name).write_text("an earlier run's")
    (out / "notes.txt").write_text("mine")
    (out / "figures" / "fig1.png").write_bytes(b"png")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert main(["dsfr", "--cohort", str(small_cohort), "--out", str(out)]) == 2
    refused = _not_a_run(out, "figures, notes.txt")
    assert capsys.readouterr().err.strip() == f"error: {refused}"
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before

    thesis = tmp_path / "userfolder"
    thesis.mkdir()
    (thesis / "thesis.docx").write_text("years of work")
    (thesis / "dsfr.failures.csv").write_text("case_id,error\n")
    with pytest.raises(InputError, match=f"^{re.escape(_not_a_run(thesis, 'thesis.docx'))}$"):
        check_study_out(thesis)


def test_a_users_file_inside_a_runs_subfolder_is_refused_naming_it(small_cohort, tmp_path, capsys):
    """A run's folder whose unet/ held the user's mynotes.txt (and cox_model/ their figures/)
    was taken for a run's, only the names directly inside it being checked, and replaced whole:
    both deleted. Refused before any case is read, naming each path, every file kept; the same
    folder without them is a run's, to replace."""
    out = tmp_path / "results"
    written = {
        "unet": ["unet.json", "weights.pt"],
        "cox_model": ["card.json", "model.json", "study_only.txt", "training_table.csv"],
    }
    for folder, names in written.items():
        (out / folder).mkdir(parents=True)
        for name in names:
            (out / folder / name).write_text("an earlier run's")
    for name in ("classification.json", "dsfr.failures.csv", "dsfr.parquet", "segmentation.json"):
        (out / name).write_text("an earlier run's")
    check_study_out(out)  # a run's own folder
    (out / "unet" / "mynotes.txt").write_text("mine")
    (out / "cox_model" / "figures").mkdir()
    (out / "cox_model" / "figures" / "fig1.png").write_bytes(b"png")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert main(["dsfr", "--cohort", str(small_cohort), "--out", str(out)]) == 2
    refused = _not_a_run(out, "cox_model/figures, unet/mynotes.txt")
    assert capsys.readouterr().err.strip() == f"error: {refused}"
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


@pytest.mark.parametrize(
    ("extra", "error", "match"),
    [
        (["--test-fraction", "1.5"], ConfigError, "between 0 and 1; got 1.5"),
        (["--test-fraction", "0"], ConfigError, "between 0 and 1; got 0.0"),
        (["--device", "cuda:99"], ConfigError, "Device 'cuda:99' requested but "),
        (["--slice-size", "30"], ConfigError, "multiple of 8"),
    ],
)
def test_dsfr_command_rejects_bad_options(small_cohort, tmp_path, capsys, extra, error, match):
    """A bad --device or --test-fraction was refused only after every case was put on the
    network grid, leaving a dsfr.failures.csv behind: now before any case is read or file is
    written."""
    out = tmp_path / "out"
    args = _parse(["dsfr", "--cohort", str(small_cohort), "--out", str(out), *extra])
    with pytest.raises(error, match=match):
        args.func(args)
    assert not out.exists() and "on the network grid" not in capsys.readouterr().err


def test_a_seed_numpy_or_torch_cannot_take_is_an_error_line(small_cohort, tmp_path, capsys):
    """``dsfr --seed -1`` (numpy) and ``--seed 18446744073709551616`` (torch) ended in a
    traceback after every case was put on the network grid, leaving dsfr.failures.csv alone.
    Refused as ``cv`` and ``fit`` refuse it, before any case is read."""
    for bad in ("-1", "18446744073709551616"):
        out = tmp_path / bad
        argv = ["dsfr", "--cohort", str(small_cohort), "--out", str(out), "--seed", bad]
        assert main(argv) == 2
        assert "argument --seed: expected a whole number from 0 to 2147483647" in (
            capsys.readouterr().err
        )
        assert not out.exists()


def test_a_table_only_cohort_is_refused_up_front(tmp_path, capsys):
    """A table-only cohort (the veterans' trial through ``cohort import --clinical``) was told
    the study is skipped, its U-Net and dsfr.parquet written, then refused as 'not a cohort
    folder'. One refusal, saying it has no images and how to add them."""
    sheet = clinical_exports.veterans(tmp_path).path
    cohort, out = tmp_path / "veterans", tmp_path / "out"
    assert main(["cohort", "import", "--clinical", str(sheet), "--out", str(cohort)]) == 0
    capsys.readouterr()
    assert main(["dsfr", "--cohort", str(cohort), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"error: Cohort folder {cohort} is table-only (clinical.csv without a manifest.csv of "
        "images); DSFR segments the tumour on the images: import the images into the cohort "
        "(cohort import --images)."
    )
    assert not out.exists()


def test_dsfr_command_needs_a_cohort_folder(tmp_path):
    args = _parse(["dsfr", "--cohort", str(tmp_path), "--out", str(tmp_path / "out")])
    with pytest.raises(InputError, match="cohort folder"):
        args.func(args)
