"""Cohort page, import part: the import form (a download folder on the server and/or a clinical
spreadsheet), the import jobs, and one imported cohort's reports and clinical schema, editable.

Imports run as background jobs (:func:`survival_core.runs.jobs.start_import_job`), so a large
download does not hold the page; the report tables say, per failed patient, why, and the ROI map
can name its structures by the case id the report shows before the import is run again (a rerun
imports only what is new, changed or failed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
import yaml

from survival_core.cohort.imported import cohort_folder, import_status, imported_cohorts
from survival_core.errors import ConfigError, InputError
from survival_core.io.clinical_schema import KINDS, SCHEMA_FIELDS, SCHEMA_FILE, CohortSchema
from survival_core.io.headers import parse_header
from survival_core.io.outcome_source import load_outcome_source
from survival_core.io.structures import SITES, VOLUME_MODALITIES
from survival_core.runs.jobs import Job, jobs_dir, load_job, start_import_job, upload_file_name
from survival_core.text import markdown_message
from ui.auth import record
from ui.jobs import jobs_panel
from ui.state import show_error

ROI_MAP_KEY = "import-roi-map"
FIX_ERROR = "import-fix-error"
#: How many imports this session started: the upload box's key ends with it, so that a started
#: import leaves the box empty (a spreadsheet left in it went into the next import).
UPLOADS = "import-uploads"
#: What the last import started said, shown once after the page is drawn again.
STARTED = "import-started"
#: The cohort folder and job of the import this session started, until its report shows.
SHOWN, SHOWN_JOB = "import-shown", "import-shown-job"
ROI_MAP_EXAMPLE = """default:            # every patient
  gtv: [GTV_primary]
patients:           # one patient, by PatientID or by the case id of the report
  3f9c2a71b0d4:
    gtv: [Tumour 2]
    organ: []       # no organ for this patient
"""
TIME_UNITS = ("", "days", "weeks", "months", "years")
#: Said when an import starts into a cohort folder that exists: it adds to it, replacing nothing.
EXISTS = (
    "Cohort {} exists: this import adds to it. Its patients stay (those not in the download are "
    "listed as absent), and so do the clinical rows of patients the spreadsheet has no row for."
)


def parse_roi_map(text: str) -> dict[str, Any] | None:
    """The ROI map typed on the page (YAML), None when empty; ConfigError when not YAML."""
    from survival_core.cohort.importer import load_roi_map_yaml

    if not text.strip():
        return None
    try:
        return load_roi_map_yaml(text)  # patient keys as typed: '0010' is no octal 8
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"ROI map: not valid YAML{where}.") from err


def add_patient_roles(text: str, patient: str, role: str, names: list[str]) -> str:
    """The ROI map ``text`` with ``patient``'s ``role`` set to ``names`` (other entries kept)."""
    roi_map = parse_roi_map(text) or {}
    if not isinstance(roi_map, dict):
        raise ConfigError("ROI map must be a mapping with 'default' and/or 'patients'.")
    patients = roi_map.setdefault("patients", {}) or {}
    roi_map["patients"] = patients
    patients.setdefault(patient, {})[role] = names
    return yaml.safe_dump(roi_map, sort_keys=False)


def schema_frame(schema: CohortSchema) -> pd.DataFrame:
    """One row per variable, categories as comma-separated text (for the editor)."""
    rows = [
        {
            "name": v.name,
            "kind": v.kind,
            "label": v.label,
            "unit": v.unit,
            "low": v.low,
            "high": v.high,
            "categories": ", ".join(v.categories),
            "ordered": v.ordered,
            "help": v.help,
        }
        for v in schema.variables
    ]
    return pd.DataFrame(rows, columns=list(SCHEMA_FIELDS))


def _cell(value: Any) -> Any:
    """An edited cell as plain data (None for an empty or NaN cell)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value.item() if hasattr(value, "item") else value


def schema_from_frame(frame: pd.DataFrame) -> CohortSchema:
    """The schema the edited table describes; InputError naming the variable and field at
    fault."""
    rows = []
    for edited in frame.to_dict("records"):
        row = {k: _cell(edited.get(k)) for k in SCHEMA_FIELDS}
        row["categories"] = [
            c.strip() for c in str(row["categories"] or "").split(",") if c.strip()
        ]
        row["ordered"] = bool(row["ordered"])
        rows.append({k: v for k, v in row.items() if v not in (None, [])})
    return CohortSchema.from_dict({"variables": rows}, source="The edited schema")


# -- the form --------------------------------------------------------------------------------
def import_form() -> None:
    """Name the cohort, the download and/or the spreadsheet, the site and the ROI map; start the
    import in the background."""
    with st.form("cohort-import"):
        name = st.text_input(
            "Cohort name", key="import-name", help="its folder under the app's data folder"
        )
        images = st.text_input(
            "Download folder on this server",
            key="import-images",
            help="one folder (or .zip) per patient; studies and series nested inside, RTSTRUCT "
            "or SEG in their own series folders, or NIfTI/NRRD volumes with masks",
        )
        left, right = st.columns(2)
        clinical = left.text_input(
            "Clinical spreadsheet on this server (CSV, XLSX or JSON)", key="import-clinical"
        )
        upload = right.file_uploader(
            "...or upload it",
            type=["csv", "tsv", "txt", "xlsx", "json"],
            key=f"import-clinical-upload-{st.session_state.get(UPLOADS, 0)}",
        )
        left, middle, right = st.columns(3)
        site = left.selectbox(
            "Cancer site",
            [None, *SITES],
            format_func=lambda s: "any (names decide)" if s is None else s.replace("_", " "),
            key="import-site",
        )
        modality = middle.selectbox(
            "Modality of the images",
            [None, *VOLUME_MODALITIES],
            format_func=lambda m: (
                "as the files say (volumes: by name, else CT)" if m is None else m
            ),
            key="import-modality",
            help="volume files carry none (DICOM says its own); where a case has several images "
            "(HECKTOR's __CT and __PT, a DICOM PET/CT study with contours drawn on the CT) the "
            "one of this modality is read; PT volumes must hold SUVbw",
        )
        image = right.text_input(
            "Image volume, where names do not say",
            key="import-image",
            placeholder="t1ce",
            help="its name in each case without extension (BraTS: t1ce among t1, t2, flair)",
        )
        with st.expander("Spreadsheet columns (default: recognised from the headers)"):
            columns = st.columns(4)
            options = {
                "id_column": columns[0].text_input("Patient ID column", key="import-id"),
                "time_column": columns[1].text_input(
                    "Survival time column",
                    key="import-time",
                    help="The time column, or the date the time counts from (of several start "
                    "dates: diagnosis, surgery).",
                ),
                "event_column": columns[2].text_input("Event column", key="import-event"),
                "time_unit": columns[3].selectbox(
                    "Time unit", TIME_UNITS, format_func=lambda u: u or "from the header",
                    key="import-unit",
                ),
            }  # fmt: skip
        options |= {"site": site, "modality": modality, "image": image.strip()}
        roi_text = st.text_area(
            "ROI map (YAML; optional)",
            key=ROI_MAP_KEY,
            placeholder=ROI_MAP_EXAMPLE,
            height=150,
            help="names the GTV/organ structures where their names alone do not",
        )
        submitted = st.form_submit_button("Start the import", icon=":material/upload:")
    if submitted:
        try:
            _start(name, images, clinical, upload, roi_text, options)
        except (ConfigError, InputError) as error:
            show_error(error)
        else:  # drawn again: the upload box emptied
            st.rerun()
    for kind, text in st.session_state.pop(STARTED, []):  # it quotes the spreadsheet's name
        getattr(st, kind)(markdown_message(text))


def _start(
    name: str, images: str, clinical: str, upload: Any, roi_text: str, options: dict[str, Any]
) -> None:
    """Check the form and start the import; what it says is kept for the page drawn again."""
    out = cohort_folder(name)
    images_dir = Path(images.strip()).expanduser() if images.strip() else None
    table = Path(clinical.strip()).expanduser() if clinical.strip() else None
    if images_dir is None and table is None and upload is None:
        raise InputError("Give the download folder and/or the clinical spreadsheet.")
    if table is not None and upload is not None:
        raise InputError(
            f"Give the clinical spreadsheet's path on this server or upload it, not both: the "
            f"path names {table.name}, the upload box holds {upload.name}. Empty the one not "
            "meant (the upload box's x), then start the import again."
        )
    if images_dir is not None and not images_dir.is_dir():
        raise InputError(f"{images_dir} is not a folder on this server.")
    if table is not None and not table.is_file():
        raise InputError(f"{table} is not a file on this server.")
    existed = out.exists()  # before the job writes it
    sheet = table.name if table else upload_file_name(upload.name) if upload else None
    with_sheet = f" with the spreadsheet {sheet}" if sheet else " without a spreadsheet"
    # an unreadable outcome.json refuses the import here, before any job starts
    change = _outcome_change(out, options) if existed and sheet else ""
    job = start_import_job(
        images_dir,
        out,
        clinical=table,
        clinical_upload=(upload.name, upload.getvalue()) if upload is not None else None,
        roi_map=parse_roi_map(roi_text),
        options=options,
        label=f"import into {out.name}" + (f" ({sheet})" if sheet else ""),
    )
    record("import_start", out.name)
    state = st.session_state
    state[SHOWN], state[SHOWN_JOB] = str(out), job.job_id
    state[UPLOADS] = state.get(UPLOADS, 0) + 1
    state[STARTED] = [("success", f"Import into {out.name} started{with_sheet} ({job.job_id}).")]
    if existed:
        state[STARTED].append(("warning", EXISTS.format(out.name) + change))


def _outcome_change(out: Path, options: dict[str, Any]) -> str:
    """What the EXISTS warning adds where the time or event column given is not the one the
    cohort's ``outcome.json`` records (names compared ignoring case and punctuation): another
    outcome, said when the import starts, not only once the job rewrote ``clinical.csv``."""
    recorded = load_outcome_source(out)
    if recorded is None:
        return ""
    pairs = [
        (options.get(f"{role}_column") or "", getattr(recorded, f"{role}_column"))
        for role in ("time", "event")
    ]
    if all(not given or parse_header(given).name == parse_header(had).name for given, had in pairs):
        return ""
    given = "/".join(repr(g.strip()) if g.strip() else "(by its header)" for g, _ in pairs)
    return (
        f" Its outcome is {recorded.said()}, this import's {given}: another outcome is refused "
        "where the cohort's earlier rows would stay beside it, and replaces every time and event "
        "where the spreadsheet holds every patient (models trained on the cohort before learnt "
        "the earlier one)."
    )


# -- one cohort's import ---------------------------------------------------------------------
def import_jobs() -> None:
    """The import jobs: live progress and cancel, then the ended ones with their counts (absent:
    patients of an earlier import into the cohort that its download lacks, kept)."""

    def counts(job: Any) -> str:
        result = job.result() or {}
        keys = [k for k in ("imported", "unchanged", "failed") if k in result]
        keys += ["absent"] if result.get("absent") else []  # earlier patients kept, not in it
        return ", ".join(f"{result[k]} {k}" for k in keys)

    jobs_panel("import", columns={"patients": counts})


def cohort_reports() -> None:
    """Pick an imported cohort; show its patients (failed first, with reasons), the clinical
    join's report, and its schema for editing."""
    cohorts = imported_cohorts()
    paths = [str(c) for c in cohorts]
    _started_import(paths)
    if not cohorts:
        st.info("No imported cohort yet.")
        return
    folder = Path(
        st.selectbox(
            "Imported cohort", paths, format_func=lambda p: Path(p).name, key="import-cohort"
        )
    )
    st.caption(f"Folder: `{folder}` (give it as the cohort of a training run).")
    status = import_status(folder)
    if not status.patients.empty:
        counts = status.counts()
        # absent and withdrawn: only when any
        shown = {s: n for s, n in counts.items() if n or s not in ("absent", "withdrawn")}
        st.markdown(" · ".join(f"**{n}** {s}" for s, n in shown.items()))
        _patients_table(status.patients)
    if not status.clinical.empty:
        st.markdown("**Clinical spreadsheet**: what was coerced, dropped or left unmatched")
        for warning in status.warnings():
            st.warning(markdown_message(warning), icon=":material/warning:")
        st.dataframe(
            status.clinical, hide_index=True, width="stretch", key="import-clinical-report"
        )
    schema_editor(folder)


def _started_import(paths: list[str]) -> None:
    """Where the import this session started stands: its folder written (``paths``), the
    picker shows it, once; ended without one (a refused spreadsheet), why, once; else that it
    runs (the picker still holds the cohort shown before)."""
    state = st.session_state
    shown = state.get(SHOWN)
    if shown is None:
        return
    job = _job(state.get(SHOWN_JOB))
    name = Path(shown).name
    if shown in paths:
        state["import-cohort"] = shown
    elif job is not None and job.status != "running":
        error = job.error()
        ended = f"failed: {error}" if error else f"ended ({job.status}) without writing its folder."
        show_error(InputError(f"The import into {name} {ended}"))
    else:
        st.info(
            f"The import into {name} has started; its report shows here once its folder is "
            "written.",
            icon=":material/hourglass_top:",
        )
        return
    state.pop(SHOWN)
    state.pop(SHOWN_JOB, None)


def _job(job_id: str | None) -> Job | None:
    """The job of ``job_id``, None without one or when its record is gone."""
    try:
        return load_job(jobs_dir() / job_id) if job_id else None
    except InputError:
        return None


def _patients_table(patients: pd.DataFrame) -> None:
    statuses = list(dict.fromkeys(patients["status"]))
    chosen = st.multiselect("Show", statuses, default=statuses, key="import-statuses")
    st.dataframe(
        patients[patients["status"].isin(chosen)],
        hide_index=True,
        width="stretch",
        column_config={"reason": st.column_config.TextColumn(width="large")},
        key="import-report",
    )
    failed = patients.loc[patients["status"] == "failed", "patient"].tolist()
    if failed:
        _fix_from_report(failed)


def _fix_from_report(failed: list[str]) -> None:
    """Name a failed patient's structures in the ROI map, by the case id the report shows."""
    with st.expander("Name a failed patient's structures (then import again)"):
        left, middle, right = st.columns([2, 1, 2])
        left.selectbox("Patient (case id)", failed, key="fix-patient")
        middle.selectbox("Role", ["gtv", "organ"], key="fix-role")
        right.text_input("Structure name(s), comma-separated", key="fix-names")
        st.button("Add to the ROI map", key="fix-add", on_click=_add_to_roi_map)
        if FIX_ERROR in st.session_state:
            show_error(st.session_state.pop(FIX_ERROR))


def _add_to_roi_map() -> None:
    """The fixer's button callback: runs before the page is drawn, so it may set the form's
    ROI map text."""
    state = st.session_state
    listed = [n.strip() for n in state.get("fix-names", "").split(",") if n.strip()]
    try:
        text = add_patient_roles(
            state.get(ROI_MAP_KEY, ""), state["fix-patient"], state["fix-role"], listed
        )
    except ConfigError as error:
        state[FIX_ERROR] = error
    else:
        state[ROI_MAP_KEY] = text


def schema_editor(folder: Path) -> None:
    """The cohort's ``schema.yaml`` as an editable table; saved when it checks."""
    path = folder / SCHEMA_FILE
    if not path.is_file():
        return
    st.markdown(
        "**Clinical schema**: the variables' kind, unit, label and plausible range or "
        "categories (drafted from the spreadsheet; a model trained on the cohort carries it)"
    )
    try:
        schema = CohortSchema.load(path)
    except InputError as error:
        show_error(error)
        return
    edited = st.data_editor(
        schema_frame(schema),
        hide_index=True,
        width="stretch",
        disabled=["name"],
        column_config={
            "kind": st.column_config.SelectboxColumn(options=list(KINDS), required=True),
            "low": st.column_config.NumberColumn(format="%g"),
            "high": st.column_config.NumberColumn(format="%g"),
            "categories": st.column_config.TextColumn(help="comma-separated, for a category"),
            "ordered": st.column_config.CheckboxColumn(
                help="the categories, in the order listed, are a scale (stage, grade)"
            ),
        },
        key=f"schema-{folder.name}",
    )
    if st.button("Save the schema", key=f"schema-save-{folder.name}", icon=":material/save:"):
        try:
            schema_from_frame(edited).save(path)
        except InputError as error:
            show_error(error)
        else:
            record("schema_edit", folder.name)
            st.success("Schema saved.")
