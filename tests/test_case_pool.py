"""The case pool: worker processes give exactly the in-process results, one task per case content
and values whoever asks (one read per upload, one report per case), queue positions in submission order, a dead pool replaced."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from survival_core.cli.main import main
from survival_core.explain.case import explain_case
from survival_core.features.case_cache import split_settings
from survival_core.features.cohort import FeatureCache
from survival_core.features.presets import get_preset
from survival_core.features.radiomics import extract_case
from survival_core.io.case_loader import load_case
from survival_core.io.manifest import cohort_cases
from survival_core.models.scoring import load_scoring_model
from survival_core.workflows import case_pool
from survival_core.workflows.case_pool import CasePool, band_task, explain_task, score_task
from survival_core.workflows.scoring import case_survival, score_case


@pytest.fixture(scope="module")
def model(small_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, float]:
    out = tmp_path_factory.mktemp("pool") / "model"
    args = ["fit", "--table", str(small_cohort / "clinical.csv"), "--model", "coxph"]
    features = ["--features", "^(albumin|bilirubin|ecog)$", "--param", "penalizer=1.0"]
    assert main([*args, *features, "--out", str(out), "--json"]) == 0
    return str(out), (out / "model.json").stat().st_mtime


@pytest.fixture(scope="module")
def case(small_cohort: Path):
    return load_case(cohort_cases(small_cohort)[0][1])


def test_worker_processes_give_the_in_process_results(case, model) -> None:
    folder, modified = model
    values = json.dumps(case.clinical, sort_keys=True, default=str)
    loaded = load_scoring_model(folder)
    pool = CasePool(workers=2)
    try:
        scored = pool.submit(score_task, case, values, folder, modified).result(timeout=300)
        band = pool.submit(band_task, case, values, folder, modified).result(timeout=300)
        explained = pool.submit(explain_task, case, values, folder, modified, "ig").result(300)
    finally:
        pool.shutdown()
    assert scored == score_case(case, loaded).as_dict()
    here = case_survival(case, loaded)
    np.testing.assert_array_equal(band.survival, here.survival)
    np.testing.assert_array_equal(band.time, here.time)
    np.testing.assert_array_equal(band.low, here.low)
    assert explained.attributions == explain_case(case, loaded, "ig", top=10).attributions


def test_one_task_per_case_id_content_and_values(case, model, monkeypatch) -> None:
    """Same case, values and model: one task. Another patient's upload of the same images (its
    own pseudonym) used to get the first one's result, case id included (the Report page then
    refused it as another case's score)."""
    folder, modified = model
    calls: list[str] = []
    monkeypatch.setattr(case_pool, "score_task", lambda c, *a: calls.append(c.case_id) or a)
    pool = CasePool(workers=0)
    values = json.dumps({"albumin": 40}, sort_keys=True)
    first = pool.submit(case_pool.score_task, case, values, folder, modified)
    assert pool.submit(case_pool.score_task, case, values, folder, modified) is first
    renamed = dataclasses.replace(case, case_id="another upload")  # same images, another patient
    assert pool.submit(case_pool.score_task, renamed, values, folder, modified) is not first
    other = pool.submit(case_pool.score_task, case, json.dumps({"albumin": 30}), folder, modified)
    assert other is not first and calls == [case.case_id, "another upload", case.case_id]


def test_results_holding_whole_cases_are_remembered_fewer(monkeypatch) -> None:
    """256 reads of uploads were remembered, each a whole case with its volumes: the server's
    memory grew with every patient read (+9 MB per small demo case; a clinical CT is hundreds
    of MB). Reads (and explanations' maps) are remembered 8, the small results still 256."""
    monkeypatch.setattr(case_pool, "read_upload_task", lambda *a: a)
    monkeypatch.setattr(case_pool, "report_task", lambda *a: a)
    pool = CasePool(workers=0)
    reads = [case_pool.read_upload(pool, f"/uploads/upload-{i}", ()) for i in range(12)]
    reports = [pool.remember(("report_task", i), case_pool.report_task, i) for i in range(12)]
    kept = list(pool._tasks)
    assert [k for k in kept if k[0] == "read_upload_task"] == [
        ("read_upload_task", f"/uploads/upload-{i}", ()) for i in range(4, 12)
    ]
    assert len([k for k in kept if k[0] == "report_task"]) == 12
    assert case_pool.read_upload(pool, "/uploads/upload-11", ()) is reads[-1]
    assert case_pool.read_upload(pool, "/uploads/upload-0", ()) is not reads[0]
    assert reports[0].result() == (0,)


def test_reads_and_reports_once_per_upload_and_case(case, model, monkeypatch) -> None:
    """Sessions uploading the same files share one read; the same case, values and model share
    one report, but another case id (shown on the report) or other values draw their own."""
    folder, modified = model
    calls: list[str] = []
    monkeypatch.setattr(case_pool, "read_upload_task", lambda *a: calls.append("read") or a)
    monkeypatch.setattr(case_pool, "report_task", lambda c, *a: calls.append(c.case_id) or a)
    pool = CasePool(workers=0)
    roles = (("gtv", ("GTV",)),)
    read = case_pool.read_upload(pool, "/uploads/upload-1", roles)
    assert case_pool.read_upload(pool, "/uploads/upload-1", roles) is read
    assert case_pool.read_upload(pool, "/uploads/upload-2", roles) is not read
    values = json.dumps({"albumin": 40}, sort_keys=True)
    drawn = case_pool.report(pool, case, values, folder, modified, {}, None)
    assert case_pool.report(pool, case, values, folder, modified, {"again": 1}, None) is drawn
    renamed = dataclasses.replace(case, case_id="another upload")
    assert case_pool.report(pool, renamed, values, folder, modified, {}, None) is not drawn
    assert case_pool.report(pool, case, "{}", folder, modified, {}, None) is not drawn
    assert calls == ["read", "read", case.case_id, "another upload", case.case_id]
    assert drawn.result()[-1] == datetime.now(UTC).date().isoformat()  # the day is the key's


def test_a_case_read_with_other_warnings_gets_its_own_results(case, model, monkeypatch) -> None:
    """The same images read with a structure set naming another patient (a warning more) were
    handed the first session's PDF, its "Check before use" without that warning; an MR
    weighting the score cautions about, its first reading's score."""
    folder, modified = model
    calls: list[list[str]] = []
    monkeypatch.setattr(case_pool, "report_task", lambda c, *a: calls.append(c.warnings) or a)
    monkeypatch.setattr(case_pool, "score_task", lambda c, *a: calls.append(c.sequence) or a)
    pool = CasePool(workers=0)
    values = json.dumps({"albumin": 40}, sort_keys=True)
    warned = dataclasses.replace(case, warnings=[*case.warnings, "RS.dcm names another patient"])
    drawn = case_pool.report(pool, case, values, folder, modified, {}, None)
    assert case_pool.report(pool, warned, values, folder, modified, {}, None) is not drawn
    unnamed = dataclasses.replace(warned, unnamed_warnings={"RS.dcm names another patient": "x"})
    assert case_pool.report(pool, unnamed, values, folder, modified, {}, None) is not drawn
    scored = pool.submit(case_pool.score_task, case, values, folder, modified)
    weighted = dataclasses.replace(case, sequence="T2")
    assert pool.submit(case_pool.score_task, weighted, values, folder, modified) is not scored
    assert calls == [case.warnings, warned.warnings, warned.warnings, None, "T2"]


def test_radiomics_in_parts_are_the_cases_radiomics(case) -> None:
    """wei2021's four discretisations in two worker processes: together exactly one extraction's
    features, stored where the score task looks; settings whose parts would repeat costly work
    (filters, N4) stay whole."""
    settings = get_preset("wei2021")
    parts = split_settings(settings, 2)
    assert [p.discretisations for p in parts] == [
        settings.discretisations[0::2],
        settings.discretisations[1::2],
    ]
    assert len(split_settings(get_preset("full", log_sigmas_mm=(1.0,)), 2)) == 1
    assert len(split_settings(get_preset("han2020", modality="MR"), 2)) == 1
    cache = FeatureCache(settings)
    cache.discard(case.content_digest())
    pool = CasePool(workers=2)
    try:
        case_pool.radiomics(pool, case, settings)
    finally:
        pool.shutdown()
    stored, here = cache.get(case.content_digest()), extract_case(case, settings)
    assert stored.keys() == here.keys()
    assert all(stored[k] == here[k] or (np.isnan(stored[k]) and np.isnan(here[k])) for k in here)


def test_sessions_storing_one_case_at_once_do_not_collide(case) -> None:
    """Eight sessions opening the same case store its radiomics at the same moment (a tumor
    board): each put succeeds and the cache holds one whole file."""
    cache = FeatureCache(get_preset("wei2021"))
    features = {f"f{i}": float(i) for i in range(200)}
    for _ in range(10):
        start = threading.Barrier(8)

        def store(start: threading.Barrier = start) -> None:
            start.wait()
            cache.put("same-digest", case.case_id, features)

        with ThreadPoolExecutor(8) as threads:
            [future.result() for future in [threads.submit(store) for _ in range(8)]]
        assert cache.get("same-digest") == features
    assert [p.name for p in cache.folder.iterdir() if "same-digest" in p.name] == [
        "same-digest.json"
    ]


def test_queue_positions_follow_submission_order(case, model) -> None:
    folder, modified = model
    pool = CasePool(workers=0)
    release = threading.Event()
    pool._executor = ThreadPoolExecutor(1)  # one busy worker, the rest wait in order
    futures = [
        pool.submit(lambda *_: release.wait(30), case, f"{k}", folder, modified) for k in range(4)
    ]
    try:
        assert [pool.ahead(f) for f in futures[1:]] == [0, 1, 2]
    finally:
        release.set()
    assert all(f.result(timeout=30) for f in futures)
    assert [pool.ahead(f) for f in futures] == [0, 0, 0, 0]


def test_a_broken_pool_is_replaced(case, model) -> None:
    folder, modified = model
    pool = CasePool(workers=1)
    try:
        broken = pool._executor
        for process in list(broken._processes.values()):
            process.kill()  # as the kernel's OOM killer would
        deadline = time.monotonic() + 60
        while not broken._broken and time.monotonic() < deadline:
            time.sleep(0.1)
        values = json.dumps(case.clinical, sort_keys=True, default=str)
        scored = pool.submit(score_task, case, values, folder, modified).result(timeout=300)
        assert pool._executor is not broken
    finally:
        pool.shutdown()
    assert scored["case_id"] == case.case_id


def test_an_upload_read_in_a_worker_is_the_case_read_here(small_cohort: Path, tmp_path: Path):
    import SimpleITK as sitk

    from survival_core.io.upload_case import describe_upload, load_upload
    from survival_core.io.uploads import store_upload
    from survival_core.workflows.case_pool import read_upload_task
    from tests.browser_app import dicom_cases, dicom_zip

    archive = dicom_zip(dicom_cases(small_cohort)[0], tmp_path, patient_id="POOL-READ")
    folder = store_upload([(archive.name, archive.read_bytes())])
    contents = describe_upload(folder)
    roles = tuple((role, tuple(names)) for role, names in contents.suggested_roles().items())
    here = load_upload(contents, {role: list(names) for role, names in roles})
    pool = CasePool(workers=1)
    try:
        there = pool.run(read_upload_task, str(folder), roles).result(timeout=300)
    finally:
        pool.shutdown()
    assert (there.case_id, there.clinical, there.site, there.modality) == (
        here.case_id, here.clinical, here.site, here.modality
    )  # fmt: skip
    assert there.content_digest() == here.content_digest()  # voxels, masks and grids
    for name, volume in here.structures.items():
        assert (
            sitk.GetArrayViewFromImage(there.structures[name]) == sitk.GetArrayViewFromImage(volume)
        ).all()


def test_an_upload_stored_in_a_worker_is_stored_once_as_here(small_cohort: Path, tmp_path: Path):
    """The Case page stores and classifies an upload in the pool: the same folder and contents as
    in the server's thread, one task for sessions uploading the same files, and stored again
    when the folder was deleted since (upload retention)."""
    import shutil

    from survival_core.io.upload_case import describe_upload, forget_uploads
    from survival_core.io.uploads import CLINICAL_KEEP, store_upload
    from tests.browser_app import dicom_cases, dicom_zip

    archive = dicom_zip(dicom_cases(small_cohort)[0], tmp_path, patient_id="POOL-STORE")
    files = [(archive.name, archive.read_bytes())]
    here = describe_upload(store_upload(files))
    forget_uploads()
    shutil.rmtree(here.folder)  # the worker stores it anew
    pool = CasePool(workers=1)
    try:
        first = case_pool.store(pool, files, CLINICAL_KEEP)
        assert case_pool.store(pool, list(files), CLINICAL_KEEP) is first  # another session
        folder, there = first.result(timeout=300)
        assert Path(folder) == here.folder and folder_files(Path(folder)) == folder_files(
            here.folder
        )
        assert (there.kind, there.structures) == (here.kind, here.structures)
        assert [series_key(s) for s in there.series] == [series_key(s) for s in here.series]
        assert there.suggested_roles() == here.suggested_roles()
        other = case_pool.store(pool, files, CLINICAL_KEEP | {"extra"})
        assert other is not first  # other kept columns: another task
        stored = folder_files(Path(folder))
        shutil.rmtree(folder)  # upload retention deleted it
        again = case_pool.store(pool, files, CLINICAL_KEEP)
        assert again is not first and again.result(timeout=300)[0] == folder
        assert folder_files(Path(folder)) == stored
        assert case_pool.store(pool, files, CLINICAL_KEEP) is again
    finally:
        pool.shutdown()


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def series_key(series) -> tuple:
    """A listed series without where its archive was unpacked to be read (a temporary folder)."""
    return dataclasses.replace(
        series, referenced_by=tuple(Path(p).name for p in series.referenced_by)
    )
