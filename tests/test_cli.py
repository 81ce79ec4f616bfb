"""The command line: help lists the commands, --json prints one JSON object last, errors are clear."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from survival_core.cli import model_args
from survival_core.cli.main import Terminated, UsageError, build_parser, main
from tests.conftest import ROOT


def run_cli(*args: str, env_dir=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if env_dir is not None:
        env["RADSURV_DATA_DIR"] = str(env_dir)
    return subprocess.run(
        [sys.executable, "-m", "survival_core", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("demo-cohort", "prepare-demo", "extract", "cv", "fit", "score"):
        assert command in result.stdout


def test_building_the_parser_does_not_import_the_heavy_stack():
    """`--help` and a command's argument errors answer in about a second, not after importing
    torch, scikit-learn, pandas and pydicom (3.7 s before the cohort commands imported lazily)."""
    heavy = ("torch", "sklearn", "sksurv", "pandas", "pydicom", "radiomics", "lifelines")
    code = (
        "import sys; from survival_core.cli.main import build_parser; build_parser(); "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stderr


def _gone_reader(*args: str, env_dir) -> subprocess.CompletedProcess:
    """Run the CLI with its stdout a pipe whose reader has already gone (`... | true`)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "survival_core", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "RADSURV_DATA_DIR": str(env_dir)},
            timeout=600,
        )
    finally:
        os.close(write)


def test_a_reader_gone_or_a_closed_stdout_exits_quietly_with_sigpipes_status(tmp_path):
    """`score ... --json | true` exited 1 after all its work with a BrokenPipeError traceback,
    then a second one writing the error JSON to the same pipe; with stdout closed (`>&-`) it
    failed with an AttributeError. Now the work is done and the command exits 141, no traceback."""
    _gbsg2_table(tmp_path / "gbsg2.csv")
    fit = ["fit", "--table", str(tmp_path / "gbsg2.csv"), "--model", "coxph", "--json"]
    done = _gone_reader(*fit, "--out", str(tmp_path / "m"), env_dir=tmp_path)
    assert done.returncode == 141 and "Traceback" not in done.stderr, done.stderr
    assert "Exception ignored" not in done.stderr and (tmp_path / "m" / "model.json").is_file()
    score = ["score", "--case", str(tmp_path / "none"), "--model", str(tmp_path / "m"), "--json"]
    refused = _gone_reader(*score, env_dir=tmp_path)
    assert refused.returncode == 141 and "Traceback" not in refused.stderr, refused.stderr
    assert refused.stderr.strip().endswith(f"error: {tmp_path / 'none'} does not exist.")
    closed = subprocess.run(
        [sys.executable, "-m", "survival_core", *fit, "--out", str(tmp_path / "m2")],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "RADSURV_DATA_DIR": str(tmp_path)},
        preexec_fn=lambda: os.close(1),
        timeout=600,
    )
    assert closed.returncode == 141 and "Traceback" not in closed.stderr, closed.stderr
    assert (tmp_path / "m2" / "model.json").is_file()


def test_light_name_lists_match_the_registries():
    from survival_core.io.tables import TIME_UNITS
    from survival_core.models import MODELS
    from survival_core.models.reduction import REDUCTIONS

    assert tuple(MODELS) == model_args.MODEL_NAMES
    assert tuple(REDUCTIONS) == model_args.REDUCTION_NAMES
    assert tuple(TIME_UNITS) == model_args.TIME_UNIT_NAMES
    from survival_core.runs.config import MAX_SEED

    assert model_args.MAX_SEED == MAX_SEED


def test_a_seed_numpy_cannot_take_is_an_error_line(capsys):
    """``cv --seed 4294967296`` ended in numpy's traceback from the fold splitter."""
    for bad in ("4294967296", "-1", "1.5"):
        assert main(["cv", "--table", "x.csv", "--model", "coxph", "--seed", bad]) == 2
        assert "expected a whole number from 0 to 2147483647" in capsys.readouterr().err


def test_demo_cohort_json_is_the_last_line(tmp_path):
    result = run_cli(
        "demo-cohort",
        "--out",
        str(tmp_path / "c"),
        "--n",
        "3",
        "--seed",
        "1",
        "--workers",
        "1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["n"] == 3 and summary["n_dicom"] + summary["n_nifti"] == 3
    for name in ("manifest.csv", "clinical.csv", "truth.csv", "cohort.json"):
        assert (tmp_path / "c" / name).is_file()


def test_expected_errors_are_messages_not_tracebacks(tmp_path, capsys):
    code = main(["cv", "--table", str(tmp_path / "missing.csv"), "--model", "coxph", "--json"])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing.csv does not exist" in err and "Traceback" not in err


@pytest.mark.parametrize("bad", [["--param", "epochs"], ["--param", "nonsense=1"]])
def test_bad_parameters_fail_fast(tmp_path, bad, capsys):
    table = tmp_path / "t.csv"
    table.write_text(
        "case_id,time,event,x\n" + "".join(f"c{i},{10 + i},{i % 2},{i}\n" for i in range(20))
    )
    assert main(["cv", "--table", str(table), "--model", "coxph", *bad]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            ["--horizons", "abc"],
            "--horizons expects days > 0, comma-separated (12,24 for months), got 'abc'",
        ),
        (["--horizons", "365,-1"], "got '-1'"),
        (["--bootstrap", "0"], "--bootstrap expects a whole number >= 1, got 0"),
        (["--bootstrap", "-1"], "--bootstrap expects a whole number >= 1, got -1"),
    ],
)
def test_bad_cv_options_are_error_lines(tmp_path, bad, message, capsys):
    table = tmp_path / "t.csv"
    table.write_text(
        "case_id,time,event,x\n" + "".join(f"c{i},{10 + i},{i % 2},{i}\n" for i in range(20))
    )
    assert main(["cv", "--table", str(table), "--model", "coxph", *bad]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_horizons_are_given_in_the_tables_time_unit(tmp_path, capsys):
    """--time-unit months with --horizons 12,24 evaluated 12 and 24 days (the help said so), and
    fit's Youden cut at --horizon 24 learned at 24 days: both are months now, as the table's
    times are, and the results equal the same table in days at 365.25 and 730.5 days."""
    import numpy as np

    rng = np.random.default_rng(1)
    days = (30 + rng.exponential(600, 60).round(1)).tolist()
    rows = [
        (f"c{i}", t, int(rng.random() < 0.7), float(rng.normal() + t / 500))
        for i, t in enumerate(days)
    ]
    for unit, factor in (("days", 1.0), ("months", 365.25 / 12)):
        (tmp_path / f"{unit}.csv").write_text(
            "case_id,time,event,x\n"
            + "".join(f"{c},{t / factor!r},{e},{x!r}\n" for c, t, e, x in rows)
        )
    args = ["cv", "--model", "coxph", "--repeats", "1", "--folds", "3", "--bootstrap", "20"]
    results = []
    for unit, horizons in (("days", "365.25,730.5"), ("months", "12,24")):
        table = ["--table", str(tmp_path / f"{unit}.csv"), "--time-unit", unit]
        assert main([*args, *table, "--horizons", horizons, "--json"]) == 0
        results.append(_last_json(capsys)["td_auc"])
    assert list(results[1]) == ["365.25", "730.5"]
    assert results[1] == pytest.approx(results[0])

    cards = []
    for unit, horizon in (("days", "730.5"), ("months", "24")):
        out = tmp_path / f"m-{unit}"
        table = ["--table", str(tmp_path / f"{unit}.csv"), "--time-unit", unit]
        fit = ["fit", "--model", "coxph", *table, "--cut", "youden", "--horizon", horizon]
        assert main([*fit, "--out", str(out), "--json"]) == 0
        cards.append(json.loads((out / "card.json").read_text()))
    assert cards[1]["cut"]["horizon"] == pytest.approx(730.5)
    assert cards[1]["cut"]["threshold"] == pytest.approx(cards[0]["cut"]["threshold"])


@pytest.mark.parametrize("command", ["cv", "fit"])
def test_a_cohorts_clinical_csv_is_read_in_days_whatever_unit_its_sheet_wrote(
    tmp_path, capsys, command
):
    """GBSG2 imported from 'RFS (months)' (its clinical.csv in days) then read with --cohort
    --time-unit months, as cv's help invited for its horizons: the days were converted again,
    the card's curves running to 80,933 days (222 years) and cv's td-AUC evaluated past the
    follow-up. Another unit is refused naming the import's; in days the fit is GBSG2's own."""
    from survival_core.cohort.clinical_join import import_table
    from tests.clinical_exports import gbsg2

    import_table(cohort := tmp_path / "cohort", gbsg2(tmp_path).path)
    out = tmp_path / "model"
    args = [command, "--cohort", str(cohort), "--model", "coxph", "--json"]
    args += ["--out", str(out)] if command == "fit" else ["--repeats", "1", "--folds", "2"]
    assert main([*args, "--time-unit", "months"]) == 2
    assert _last_json(capsys)["error"] == (
        f"{cohort / 'clinical.csv'} is an imported cohort's clinical.csv: its import read the "
        "times of 'RFS (months)' in months and wrote them in days; read in months, every time "
        "would be 30.4 times as long. Read it in days (cv, fit: leave --time-unit out; Cohort "
        "page: Time unit days) and give times in days: --horizons, --horizon, --param edges= "
        "(1, 2 and 3 years: 365,730,1095)."
    )
    if command == "fit":
        assert main(args) == 0
        card = json.loads((out / "card.json").read_text())
        assert max(card["stratification"]["km"]["0"]["time"]) == pytest.approx(2659)


def test_discrete_edges_are_given_in_the_tables_time_unit(tmp_path, capsys):
    """GBSG2 in months with --param edges=[0,12,24,36,48]: the edges were read as days, so the
    grid held none of the 299 events and every patient's 3-year survival came out at 0.999
    (Kaplan-Meier 0.64); they are months now, as the table's times and the horizons are."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    table = X.assign(time=y["time"] / (365.25 / 12), event=y["cens"].astype(int))
    table.insert(0, "case_id", [f"P{i}" for i in range(len(table))])
    table.to_csv(tmp_path / "gbsg2_months.csv", index=False)
    out = tmp_path / "discrete"
    args = ["fit", "--table", str(tmp_path / "gbsg2_months.csv"), "--time-unit", "months"]
    args += ["--model", "discrete", "--param", "edges=[0,12,24,36,48]", "--param", "epochs=2"]
    assert main([*args, "--out", str(out), "--json"]) == 0
    saved = json.loads((out / "model.json").read_text())["params"]["edges"]
    assert saved == pytest.approx([0.0, 365.25, 730.5, 1095.75, 1461.0])


def test_parser_rejects_unknown_model():
    with pytest.raises(UsageError, match="invalid choice: 'nope'"):
        build_parser().parse_args(["cv", "--table", "x.csv", "--model", "nope"])


def test_cv_out_writes_strict_json_matching_what_it_prints(tmp_path, capsys, monkeypatch):
    import numpy as np

    from survival_core.workflows import crossval

    real = crossval.cross_validate

    def undefined_ibs(*args, **kwargs):  # a metric that is undefined on these folds
        result = real(*args, **kwargs)
        result.summary["ibs"] = np.float64("nan")
        return result

    monkeypatch.setattr(crossval, "cross_validate", undefined_ibs)
    rng = np.random.default_rng(0)
    rows = [(f"c{i}", 30 + rng.exponential(400 * (1 + (i % 3))), int(rng.random() < 0.7), i % 3)
            for i in range(40)]  # fmt: skip
    table = tmp_path / "t.csv"
    table.write_text(
        "case_id,time,event,x\n" + "".join(f"{c},{t:.1f},{e},{x}\n" for c, t, e, x in rows)
    )
    out = tmp_path / "cv"
    args = ["cv", "--table", str(table), "--model", "coxph", "--repeats", "1", "--folds", "3"]
    assert (
        main([*args, "--bootstrap", "50", "--horizons", "5000", "--out", str(out), "--json"]) == 0
    )
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    def refuse(constant: str) -> None:
        raise AssertionError(f"summary.json holds {constant}, which strict JSON does not allow")

    saved = json.loads((out / "summary.json").read_text(), parse_constant=refuse)
    assert saved["c_index"] == printed["c_index"] and saved["n"] == 40
    assert saved["ibs"] is None and printed["ibs"] is None
    # the notes said on stderr, and the folds' spread, are in the JSON too (a pipeline reading
    # the JSON alone missed that a horizon was left out)
    assert printed["notes"] == saved["preprocessing_notes"]
    assert any("5000 days left out" in note for note in printed["notes"])
    assert printed["fold_c_index_mean"] == saved["fold_c_index_mean"] is not None
    assert (out / "folds.csv").is_file() and (out / "oof.csv").is_file()
    folds = pd.read_csv(out / "folds.csv")  # counted from 1, as the progress log and report.html
    assert folds["repeat"].min() == 1 and folds["fold"].min() == 1
    # an earlier `auto` run's candidate table is not left beside this run's (it was)
    (out / "comparison.csv").write_text("candidate,c_index\ncoxph(penalizer=0.1),0.707\n")
    assert main([*args, "--out", str(out), "--json"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["folds.csv", "oof.csv", "summary.json"]


def test_cv_lists_the_test_rows_left_out_for_a_category_their_fold_never_trained_on(
    tmp_path, capsys
):
    """The AIDS trial (real) exported with its treatment groups named: one patient had
    d4T+3TC. Each fold testing them was trained without that group and scored them as the
    reference group, counted in the pooled c-index with a note alone; the JSON and left_out.csv
    now name them, their fold, column and value, and the metrics are over the others."""
    table = _aids_with_named_groups(tmp_path / "aids.csv")
    out = tmp_path / "cv"
    args = ["cv", "--table", str(tmp_path / "aids.csv"), "--model", "coxph"]
    args += ["--param", "penalizer=0.1", "--repeats", "1", "--folds", "3", "--bootstrap", "20"]
    assert main([*args, "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    listed = pd.read_csv(out / "left_out.csv", dtype=str)
    assert printed["left_out"] == listed.drop(columns="error").to_dict("records")
    assert {"case_id": "A1091", "column": "txgrp", "value": "d4T+3TC"}.items() <= next(
        row for row in printed["left_out"] if row["case_id"] == "A1091"
    ).items()
    assert set(listed["column"]) == {"txgrp"}
    assert set(listed["value"]) <= {"d4T+3TC", "d4T+3TC+IDV"}
    assert printed["n"] == len(table) - listed["case_id"].nunique()
    assert any(f"the pooled metrics are over the {printed['n']} patients" in note
               for note in printed["notes"])  # fmt: skip
    # a run leaving no row out leaves no earlier run's list beside its tables
    table.drop(columns="txgrp").to_csv(tmp_path / "aids.csv", index=False)
    assert main([*args, "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["left_out"] == []
    assert not (out / "left_out.csv").exists()


def _aids_with_named_groups(path: os.PathLike) -> pd.DataFrame:
    """The AIDS trial (real) written to ``path`` with its treatment groups named, as a
    spreadsheet would hold them: one patient alone had d4T+3TC."""
    from sksurv.datasets import load_aids

    X, y = load_aids()
    groups = {"1": "ZDV+3TC", "2": "ZDV+3TC+IDV", "3": "d4T+3TC", "4": "d4T+3TC+IDV"}
    table = X[["age", "cd4", "karnof"]].assign(txgrp=X["txgrp"].astype(str).map(groups))
    table.insert(0, "case_id", [f"A{k:04d}" for k in range(len(X))])
    table = table.assign(time=y["time"], event=y["censor"].astype(int))
    table.to_csv(path, index=False)
    return table


def test_fit_cv_repeats_lists_the_patients_its_folds_left_out(tmp_path, capsys):
    """`fit --cv-repeats` left test rows of an unseen category out of their folds with a note
    pointing to a left_out.csv that fit never writes: its --json now lists them (case, fold,
    column, value), as cv's does, and its text output names them on one line."""
    _aids_with_named_groups(tmp_path / "aids.csv")
    fit = ["fit", "--table", str(tmp_path / "aids.csv"), "--model", "coxph"]
    fit += ["--param", "penalizer=0.1", "--cv-repeats", "1", "--cv-folds", "3"]
    assert main([*fit, "--out", str(tmp_path / "m"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    a1091 = [row for row in printed["left_out"] if row["case_id"] == "A1091"]
    assert a1091 == [{"case_id": "A1091", "fold": "1.1", "column": "txgrp", "value": "d4T+3TC"}]
    assert any("fit --cv-repeats' --json" in note for note in printed["notes"])
    card = (tmp_path / "m" / "card.json").read_text()
    assert "A1091" not in card  # the card, shared with the model, names no patient
    assert main([*fit, "--out", str(tmp_path / "m")]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("left_out: ")]
    assert "A1091 (fold 1.1: txgrp 'd4T+3TC')" in line


@pytest.mark.parametrize(
    "command", ["demo-cohort", "prepare-demo", "score", "train", "ibsi", "cleanup", "serve"]
)
def test_the_readmes_command_row_names_every_option(command):
    """The README's command table left out `demo-cohort --risk-source {all,tumour}` and
    `serve --json`: a reader of the table did not know them. The rows that list a command's
    options list them all, each spelled as the parser takes it."""
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    parser = commands.choices[command]
    options = {o for a in parser._actions for o in a.option_strings if o not in ("-h", "--help")}
    readme = (ROOT / "README.md").read_text().splitlines()
    table = readme[readme.index("| command | what it does |") :]
    (row,) = [r for r in table[: table.index("")] if r.startswith(f"| `{command} ")]
    assert [o for o in sorted(options) if not re.search(rf"{o}(?![\w-])", row)] == []


def _commands(parser: argparse.ArgumentParser, name: str = "") -> Iterator[tuple[str, Any]]:
    """Every command of ``parser`` with its name, sub-commands (`users add`) and the program
    itself (named '') included."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                yield from _commands(subparser, f"{name} {sub}".strip())


def test_the_readme_names_every_option_of_every_command():
    """`--version`, `extract --no-cache`, `explain --top`, `cv`/`fit --features`, four `dsfr`
    options and `users add --name/--oidc/--password-stdin` were in no README line: a reader
    learnt them from --help alone. Each option of each command is now in the README's code."""
    readme = (ROOT / "README.md").read_text()
    missing = [
        f"{name} {option}".strip()
        for name, parser in _commands(build_parser())
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
        and not re.search(rf"`[^`]*{option}(?![\w-])[^`]*`", readme)
    ]  # fmt: skip
    assert missing == []


def test_cv_folds_in_worker_processes_give_the_serial_results(tmp_path):
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 3))
    time = rng.exponential(500 * np.exp(-x[:, 0])) + 1
    rows = "".join(
        f"c{i},{time[i]:.2f},{int(rng.random() < 0.7)},{x[i, 0]:.4f},{x[i, 1]:.4f},{x[i, 2]:.4f}\n"
        for i in range(60)
    )
    table = tmp_path / "t.csv"
    table.write_text("case_id,time,event,a,b,c\n" + rows)
    args = ["cv", "--table", str(table), "--model", "coxnet", "--param", "n_alphas=20"]
    args += ["--repeats", "2", "--folds", "3", "--bootstrap", "100", "--json"]
    serial = run_cli(*args, "--workers", "1")
    # cv reads tables only: its pool needs no data folder, and makes none (it made <data>/tmp)
    pooled = run_cli(*args, "--workers", "2", env_dir=tmp_path / "no-data")
    assert serial.returncode == 0 and pooled.returncode == 0, pooled.stderr[-2000:]
    assert not (tmp_path / "no-data").exists()
    first, second = (json.loads(r.stdout.strip().splitlines()[-1]) for r in (serial, pooled))
    first.pop("seconds"), second.pop("seconds")
    assert first == second and 0.5 < first["c_index"] < 1
    assert pooled.stderr.count("fold ") >= 6  # progress still reported per fold, in order


def test_a_folder_named_like_a_library_in_the_working_folder_is_not_imported(tmp_path):
    """`python -m` puts the working folder first on sys.path: run from a folder holding one named
    like a library (a download called `dl` shadowed the one gdcm probes for), the command still
    imports the library itself."""
    shadow = tmp_path / "pandas"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('the working folder was imported')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "survival_core", "cv", "--table", "x.csv", "--model", "coxph"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2 and "Table x.csv does not exist" in done.stderr, done.stderr


def test_a_feature_table_named_csv_is_an_argument_error(capsys, tmp_path):
    """``extract --out features.csv`` wrote Parquet bytes under a .csv name, after the work."""
    assert (
        main(["extract", "--cohort", str(tmp_path), "--preset", "wei2021", "--out", "f.csv"]) == 2
    )
    assert "'f.csv': the feature table is written as Parquet" in capsys.readouterr().err
    assert not (tmp_path / "f.csv").exists()


def test_a_refusal_under_json_ends_in_a_json_error_line(capsys, tmp_path):
    """--json promised one JSON object on the last line, but a refusal printed nothing there:
    a script reading it got an empty line."""
    import json

    assert main(["cv", "--table", str(tmp_path / "none.csv"), "--model", "coxph", "--json"]) == 2
    out = capsys.readouterr()
    last = json.loads(out.out.strip().splitlines()[-1])
    assert last["kind"] == "InputError" and "none.csv does not exist" in last["error"]
    assert "error: " in out.err


@pytest.mark.parametrize("model", ["coxnet", "deepsurv", "rsf"])
@pytest.mark.parametrize("seed", ["-1", "99999999999999999999"])
def test_a_seed_parameter_out_of_range_is_refused_as_the_seed_option_is(
    model, seed, tmp_path, capsys
):
    """``--param seed=`` outside 0 to 2**31 - 1 ended in numpy's or torch's traceback (coxnet,
    deepsurv) or scikit-learn's random_state wording (rsf), where ``--seed`` names its range."""
    table = tmp_path / "t.csv"
    table.write_text("case_id,time,event,x\n" + "".join(
        f"c{i},{100 + 37 * i},{i % 2},{i % 5}\n" for i in range(20)
    ))  # fmt: skip
    argv = ["cv", "--table", str(table), "--model", model, "--param", f"seed={seed}"]
    assert main([*argv, "--repeats", "1", "--folds", "2"]) == 2
    assert (
        f"Parameter seed of model '{model}': expected a whole number from 0 to 2147483647, got "
        f"{seed}." in capsys.readouterr().err
    )


def test_a_seed_for_a_model_without_one_is_named_as_such(tmp_path, capsys):
    """`--param seed=abc` on coxph ended in a TypeError traceback from the seed's range check,
    and `seed=-1` was told of the range where coxph has no seed at all."""
    _gbsg2_table(table := tmp_path / "g.csv")
    for seed in ("abc", "-1"):
        argv = ["cv", "--table", str(table), "--model", "coxph", "--param", f"seed={seed}"]
        assert main([*argv, "--repeats", "1", "--folds", "2"]) == 2
        assert "Model 'coxph' has no parameter(s) seed" in capsys.readouterr().err


def test_cv_json_notes_hold_the_tables_notes_too(tmp_path, capsys):
    """Patients a join left out were said on stderr only: `cv --json`'s notes held the folds'."""
    _gbsg2_table(table := tmp_path / "g.csv")
    features = pd.read_csv(table)[["case_id", "age"]].rename(columns={"age": "age_at_scan"})
    features.iloc[:600].to_csv(part := tmp_path / "f.csv", index=False)
    argv = ["cv", "--table", str(table), "--table", str(part), "--model", "coxph", "--json"]
    assert main([*argv, "--repeats", "1", "--folds", "2", "--bootstrap", "20"]) == 0
    notes = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["notes"]
    assert any(n.startswith("86 case(s) without a row in f.csv were left out: ") for n in notes)


def test_a_parameter_of_the_wrong_type_is_named_with_what_it_takes(capsys):
    """``--param penalizer=nan`` said "'<' not supported between instances of 'str' and 'int'"."""
    assert main(["fit", "--table", "x.csv", "--model", "coxph", "--param", "penalizer=nan",
                 "--out", "m"]) == 2  # fmt: skip
    assert "Parameter penalizer of model 'coxph': expected a number, got 'nan'" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["cv", "--table", "x.csv", "--model", "coxph", "--workers", "0"],
        ["fit", "--table", "x.csv", "--model", "coxph", "--out", "m", "--cv-repeats", "-1"],
        ["fit", "--table", "x.csv", "--model", "coxph", "--out", "m", "--cv-folds", "1"],
    ],
)
def test_counts_below_their_least_are_argument_errors(argv, capsys):
    assert main(argv) == 2 and "expected a whole number >= " in capsys.readouterr().err


def test_fit_cross_validates_with_the_folds_a_small_cohort_allows(tmp_path, capsys):
    """16 patients, 4 events: `fit --cv-repeats 1` was held to 5 folds and refused, with no
    option to give fewer (`cv --folds 3` worked on the same table)."""
    rows = [(f"c{i}", 100 + 37 * i, int(i % 4 == 0), (i * 7) % 11) for i in range(16)]
    table = tmp_path / "t.csv"
    table.write_text(
        "case_id,time,event,x\n" + "".join(f"{c},{t},{e},{x}\n" for c, t, e, x in rows)
    )
    fit = ["fit", "--table", str(table), "--model", "coxph", "--out", str(tmp_path / "m"), "--json"]
    assert main([*fit, "--cv-repeats", "1"]) == 2
    assert "5 folds need at least 5 events" in capsys.readouterr().err
    assert main([*fit, "--cv-repeats", "2", "--cv-folds", "3"]) == 0
    assert "cross-validating coxph: 2 x 3 folds" in capsys.readouterr().err
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["cv"]["c_index"] is not None


def _sksurv_table(folder, loader):
    """A scikit-survival dataset as the table ``fit`` reads: case_id, its columns, time, event."""
    X, y = loader()
    frame = X.copy()
    event, time = y.dtype.names
    frame.insert(0, "case_id", [f"P{i:04d}" for i in range(len(frame))])
    frame["time"], frame["event"] = y[time], y[event].astype(int)
    path = folder / f"{loader.__name__}.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.timeout(300)
def test_a_second_fit_into_a_folder_being_fitted_is_refused(tmp_path, capsys):
    """Two fits into one --out at once both exited 0 and one model was lost unsaid (the later
    folder replaced the earlier); the second is refused, naming the folder and the process, and
    the first's model is saved whole."""
    from sksurv.datasets import load_gbsg2, load_veterans_lung_cancer

    out = tmp_path / "same"
    first = subprocess.Popen(
        [sys.executable, "-m", "survival_core", "fit", "--table",
         str(_sksurv_table(tmp_path, load_gbsg2)), "--model", "rsf", "--param",
         "n_estimators=1000", "--out", str(out), "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        while not first.stderr.readline().startswith("fitting rsf"):  # the forest is growing
            assert first.poll() is None, "the first fit ended before fitting"
        second = ["fit", "--table", str(_sksurv_table(tmp_path, load_veterans_lung_cancer))]
        assert main([*second, "--model", "coxph", "--out", str(out), "--json"]) == 2
        refusal = _last_json(capsys)
        assert refusal["kind"] == "ConfigError"
        assert f"Another fit into {out} is running (pid {first.pid})" in refusal["error"]
        printed, errors = first.communicate(timeout=240)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, errors[-2000:]
    assert json.loads(printed.strip().splitlines()[-1])["model"] == "rsf"
    assert json.loads((out / "card.json").read_text())["model"] == "rsf"
    assert not list(tmp_path.glob(".*"))  # the lock went with the fit


def _last_json(capsys) -> dict:
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return json.loads(out.out.strip().splitlines()[-1])


def test_an_argument_refused_under_json_ends_in_a_json_error_line(capsys):
    """argparse's refusals (a model's name in capitals, a word for a number, a missing --out)
    printed usage and no JSON: a script reading the last line found nothing."""
    for argv in (
        ["cv", "--table", "x.csv", "--model", "coxPH"],
        ["cv", "--table", "x.csv", "--model", "coxph", "--repeats", "two"],
        ["fit", "--table", "x.csv", "--model", "coxph"],
    ):
        assert main([*argv, "--json"]) == 2
        assert _last_json(capsys)["kind"] == "UsageError"


def test_an_abbreviated_option_is_refused_not_taken_for_another(capsys):
    """argparse took `--js` for `--json` and `--rep` for `--repeats`: a refusal, which looks for
    `--json` itself, printed no JSON line after `--model nosuch --js`. Options are taken only as
    spelled in full, in every command."""
    assert main(["cv", "--table", "x.csv", "--model", "coxph", "--js"]) == 2
    refused = capsys.readouterr()
    assert "unrecognized arguments: --js" in refused.err and not refused.out
    assert main(["cv", "--table", "x.csv", "--model", "coxph", "--rep", "2", "--json"]) == 2
    assert "unrecognized arguments: --rep 2" in _last_json(capsys)["error"]
    assert main(["cohort", "import", "--clin", "x.csv", "--out", "c", "--json"]) == 2
    assert "unrecognized arguments: --clin x.csv" in _last_json(capsys)["error"]


def test_an_output_that_cannot_be_written_is_refused_before_the_work(tmp_path, capsys):
    """``fit --out FILE/m`` and ``explain --out FOLDER`` ended in a NotADirectoryError or
    IsADirectoryError traceback, a fit only after all its work."""
    table = tmp_path / "t.csv"
    table.write_text(
        "case_id,time,event,x\n" + "".join(f"c{i},{10 + i},{i % 2},{i}\n" for i in range(20))
    )
    fit = ["fit", "--table", str(table), "--model", "coxph", "--json", "--out"]
    assert main([*fit, str(table / "m")]) == 2
    assert "is a file, not a folder" in _last_json(capsys)["error"]
    assert main([*fit, str(table)]) == 2
    assert "is a file; give a folder" in _last_json(capsys)["error"]
    assert main(["cv", "--table", str(table), "--model", "coxph", "--json", "--out",
                 str(table / "cv")]) == 2  # fmt: skip
    assert _last_json(capsys)["kind"] == "InputError"
    assert main(["explain", "--values", str(table), "--model", str(tmp_path), "--json",
                 "--out", str(tmp_path)]) == 2  # fmt: skip
    assert "is a folder; give a file name" in _last_json(capsys)["error"]


@pytest.mark.parametrize(
    ("raised", "code", "kind"),
    [
        (NotADirectoryError(20, "Not a directory", "out/m"), 2, "NotADirectoryError"),
        (KeyboardInterrupt(), 130, "KeyboardInterrupt"),
        (Terminated("stopped by SIGTERM"), 143, "Terminated"),
    ],
)
def test_a_failing_disk_or_an_interruption_is_an_error_line(
    monkeypatch, capsys, raised, code, kind
):
    """An OSError (a full disk, no permission) or Ctrl-C ended in a traceback and no JSON."""
    from survival_core.cli import cleanup

    def fail(args):
        raise raised

    monkeypatch.setattr(cleanup, "run", fail)
    assert main(["cleanup", "--dry-run", "--json"]) == code
    last = _last_json(capsys)
    assert last["kind"] == kind
    assert code != 2 or last["error"] == "Not a directory: out/m"


def test_an_ibsi_data_folder_given_and_missing_is_an_error(tmp_path, capsys):
    """``ibsi --data`` with a typo reported 'skipped' and exit 0: a CI check passed doing nothing."""
    assert main(["ibsi", "--data", str(tmp_path / "typo"), "--json"]) == 2
    assert "IBSI data not found" in _last_json(capsys)["error"]


def test_empty_horizons_are_refused(tmp_path, capsys):
    """``cv --horizons ""`` ran with no td-AUC and no calibration, unsaid."""
    assert main(["cv", "--table", "x.csv", "--model", "coxph", "--horizons", "", "--json"]) == 2
    assert "--horizons expects at least one time > 0 in days" in _last_json(capsys)["error"]


def test_candidate_edges_are_given_in_the_tables_time_unit_as_the_models_own_are():
    from survival_core.cli.model_args import parse_params

    params = parse_params(
        ["edges=[0, 12]", "candidates=[{model: discrete, params: {edges: [0, 12, 24]}}]"],
        "months",
    )
    assert params["edges"] == pytest.approx([0.0, 365.25])
    assert params["candidates"][0]["params"]["edges"] == pytest.approx([0.0, 365.25, 730.5])


def _gbsg2_table(path) -> None:
    """GBSG2 as a clinical export: case_id, the covariates, time in days and event."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    table = X.assign(time=y["time"], event=y["cens"].astype(int))
    table.insert(0, "case_id", [f"GBS-{i:04d}" for i in range(len(table))])
    table.to_csv(path, index=False)


def test_a_tilde_in_a_path_option_is_the_home_folder(tmp_path, monkeypatch, capsys):
    """`fit --out '~/m'` and `cv --out=~/cvx` (a literal ~ from a Makefile or a quoted argument)
    wrote to a folder named ~ in the working folder, while the check before the work looked at
    the home folder; `--table '~/...'` was not found. Every path option is the home folder's."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    _gbsg2_table(home / "gbsg2.csv")
    model = ["--table", "~/gbsg2.csv", "--model", "coxph", "--json"]
    assert main(["fit", *model, "--out", "~/m"]) == 0
    assert _last_json(capsys)["n"] == 686 and (home / "m" / "model.json").is_file()
    cv = ["cv", *model, "--repeats", "1", "--folds", "3", "--bootstrap", "20", "--out=~/cvx"]
    assert main(cv) == 0 and (home / "cvx" / "summary.json").is_file()
    values = home / "p.json"
    values.write_text('{"age": 60, "tsize": 25, "pnodes": 3}')
    assert main(["score", "--model", "~/m", "--values", "~/p.json", "--json"]) == 0
    assert _last_json(capsys)["case_id"] == "p"
    assert not (work / "~").exists()
    parser = build_parser()
    for argv in (
        ["explain", "--values", "~/v.json", "--model", "~/m", "--out", "~/a.csv"],
        ["report", "--case", "~/c", "--model", "~/m", "--out", "~/r.pdf"],
        ["extract", "--cohort", "~/c", "--preset", "deep", "--network", "~/n", "--out", "~/f.pq"],
        ["cohort", "import", "--images", "~/d", "--out", "~/c", "--clinical", "~/c.csv",
         "--roi-map", "~/r.yaml"],
        ["cohort", "withdraw", "--cohort", "~/c", "X"],
        ["train", "--config", "~/run.yaml"], ["ibsi", "--data", "~/data"],
        ["demo-cohort", "--out", "~/d"], ["dsfr", "--cohort", "~/c", "--out", "~/o"],
    ):  # fmt: skip
        given = vars(parser.parse_args(argv))
        paths = [v for v in given.values() if isinstance(v, os.PathLike)]
        assert paths and all(str(p).startswith(str(home)) for p in paths), argv


def test_an_empty_path_option_is_an_argument_error(capsys):
    """`fit --out ""` (an unset Makefile variable) wrote the model into the working folder."""
    assert main(["fit", "--table", "x.csv", "--model", "coxph", "--out", "", "--json"]) == 2
    assert "expected a path, got an empty one" in _last_json(capsys)["error"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cv", "--protocol", "fixed_split", "--repeats", "5", "--folds", "3"],
         "--protocol fixed_split does not use --repeats and --folds (it reads --test-fraction)"),
        (["cv", "--protocol", "nested_cv", "--test-fraction", "0.3"],
         "--protocol nested_cv does not use --test-fraction (it reads --repeats, --folds)"),
        (["cv", "--protocol", "leave_one_out", "--folds", "3"],
         "--protocol leave_one_out does not use --folds (it reads neither)"),
        (["fit", "--out", "m", "--cv-folds", "3"], "--cv-folds 3 applies with --cv-repeats N"),
        (["fit", "--out", "m", "--cv-repeats", "0", "--cv-folds", "3"], "--cv-folds 3 applies"),
        (["fit", "--out", "m", "--cut", "median", "--horizon", "1000"],
         "--horizon is the Youden cut's; --cut median does not use it"),
    ],
)  # fmt: skip
def test_an_option_the_command_would_not_use_is_refused_before_the_work(argv, message, capsys):
    """`cv --protocol fixed_split --repeats 5 --folds 3` ran one 80/20 split, `--test-fraction`
    was ignored by nested CV, `fit --cv-folds 3` alone cross-validated nothing (cv_c_index null)
    and `fit --cut median --horizon 1000` ignored the horizon, all unsaid: each is refused before
    the table is read (x.csv does not exist)."""
    assert main([*argv, "--table", "x.csv", "--model", "coxph", "--json"]) == 2
    assert message in _last_json(capsys)["error"]


def test_the_protocols_defaults_and_own_options_still_run(tmp_path, capsys):
    _gbsg2_table(tmp_path / "gbsg2.csv")
    cv = ["cv", "--table", str(tmp_path / "gbsg2.csv"), "--model", "coxph", "--bootstrap", "20"]
    assert main([*cv, "--protocol", "fixed_split", "--test-fraction", "0.3", "--json"]) == 0
    assert _last_json(capsys)["protocol"] == "fixed_split"
    assert main([*cv, "--repeats", "1", "--folds", "3", "--json"]) == 0
    assert "686 patients, 8 columns, 3 folds" in capsys.readouterr().err


def test_a_youden_horizon_beyond_the_follow_up_is_refused_before_the_fit(tmp_path, capsys):
    """`fit --cut youden --horizon 99999` on GBSG2 (last follow-up 2659 days) was refused only
    after the cross-validation and the fit, by the evaluation's message naming no option."""
    _gbsg2_table(tmp_path / "gbsg2.csv")
    fit = ["fit", "--table", str(tmp_path / "gbsg2.csv"), "--model", "coxph", "--cut", "youden"]
    fit += ["--out", str(tmp_path / "m"), "--cv-repeats", "1", "--json", "--horizon"]
    assert main([*fit, "99999"]) == 2
    out = capsys.readouterr()
    assert "cross-validating" not in out.err and "fitting" not in out.err
    error = json.loads(out.out.strip().splitlines()[-1])["error"]
    assert error.startswith("--horizon: the Youden cut is learned at 99999 days, outside the ")
    assert "[8, 2659) days" in error and not (tmp_path / "m").exists()
    # in the unit it was given in (it was told in days only: 6087.5 days for 200 months)
    months = pd.read_csv(tmp_path / "gbsg2.csv").assign(time=lambda t: t["time"] / 30.4375)
    months.to_csv(tmp_path / "months.csv", index=False)
    in_months = ["fit", "--table", str(tmp_path / "months.csv"), *fit[3:], "200"]
    assert main([*in_months, "--time-unit", "months"]) == 2
    error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert error.startswith("--horizon: the Youden cut is learned at 200 months (6087.5 days), ")
    assert "[0.2628, 87.36) months" in error
    assert main([*fit, "1000"]) == 0
    assert json.loads((tmp_path / "m" / "card.json").read_text())["cut"]["horizon"] == 1000


def test_clinical_values_are_read_from_stdin_and_pipes_and_a_folder_is_named(
    tmp_path, monkeypatch, capsys
):
    """`score --values -`, `/dev/stdin` and a shell's `<(...)` (a pipe) were refused as 'No such
    file', and a folder given was 'No such file' too."""
    import io
    import threading

    _gbsg2_table(tmp_path / "gbsg2.csv")
    model = str(tmp_path / "m")
    assert (
        main(["fit", "--table", str(tmp_path / "gbsg2.csv"), "--model", "coxph", "--out", model])
        == 0
    )
    capsys.readouterr()
    values = b'{"case_id": "P7", "age": 60, "tsize": 25, "pnodes": 3}'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(values)))
    assert main(["score", "--model", model, "--values", "-", "--json"]) == 0
    from_stdin = _last_json(capsys)
    assert from_stdin["case_id"] == "P7"
    # twice: the second read found nothing, one patient scored and one 'not JSON'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(values)))
    for twice in (["-", "-"], ["-", "/dev/stdin"]):
        assert main(["score", "--model", model, "--values", *twice, "--json"]) == 2
        assert (
            "standard input ('-', /dev/stdin) 2 times; it can be read once"
            in (_last_json(capsys)["error"])
        )
    fifo = tmp_path / "values.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(values,))
    writer.start()
    assert main(["explain", "--model", model, "--values", str(fifo), "--json"]) == 0
    writer.join()
    assert _last_json(capsys)["risk"] == pytest.approx(from_stdin["risk"])
    assert main(["score", "--model", model, "--values", str(tmp_path), "--json"]) == 2
    assert f"{tmp_path} is a folder: give the JSON file" in _last_json(capsys)["error"]
    assert main(["score", "--model", model, "--values", str(tmp_path / "none.json"), "--json"]) == 2
    assert "No such file" in _last_json(capsys)["error"]


def test_cv_help_states_every_default():
    """`cv --help` did not say that it runs 10 x 5 folds and 1000 bootstrap resamples."""
    shown = " ".join(run_cli("cv", "--help").stdout.split())
    for default in ("repeats (default: 10)", "repeat (default: 5)", "(default: 1000)",
                    "(default: nested_cv)", "(default: days)", "(default: 0)", "(default: 0.2)",
                    "(default: none)"):  # fmt: skip
        assert default in shown


@pytest.mark.parametrize("given", ["0", "99999", "-1", "http"])
def test_a_port_outside_1_to_65535_is_an_argument_error(given, capsys):
    """`serve --check --port 99999` passed its pre-flight check, exit 0."""
    assert main(["serve", "--check", "--port", given, "--json"]) == 2
    assert "expected a port from 1 to 65535" in _last_json(capsys)["error"]


def test_scoring_creates_no_data_folder(tmp_path, monkeypatch, capsys):
    """`score` with a RADSURV_DATA_DIR that does not exist created it, and models/ under it."""
    _gbsg2_table(tmp_path / "gbsg2.csv")
    model = str(tmp_path / "m")
    fit = ["fit", "--table", str(tmp_path / "gbsg2.csv"), "--model", "coxph", "--out", model]
    assert main(fit) == 0
    values = tmp_path / "p.json"
    values.write_text('{"age": 60, "tsize": 25, "pnodes": 3}')
    missing = tmp_path / "no-data"
    monkeypatch.setenv("RADSURV_DATA_DIR", str(missing))
    capsys.readouterr()
    assert main(["score", "--values", str(values), "--json"]) == 2
    assert (
        f"The data folder {missing} ($RADSURV_DATA_DIR) does not exist"
        in (_last_json(capsys)["error"])
    )
    assert main(["score", "--values", str(values), "--model", model, "--json"]) == 0
    assert not missing.exists()


def test_param_values_are_read_as_a_run_configs_are() -> None:
    """`--param lr=1e-4` (the README's notation) was refused as text in quotes, `epochs=010`
    trained 8 epochs and `edges=[0,0365,0730]` cut at 245 and 472 days: PyYAML's YAML 1.1, where
    a run config reads YAML 1.2 (and a nested `cnn={lr: 1e-4}` already took it as a number)."""
    from survival_core.cli.model_args import parse_params

    params = parse_params(["lr=1e-4", "epochs=010", "edges=[0,0365,0730]", "cnn={lr: 1e-4}"])
    assert params == {
        "lr": 1e-4,
        "epochs": 10,
        "edges": [0.0, 365.0, 730.0],
        "cnn": {"lr": 1e-4},
    }
