"""Case page: pick a demo case or upload one; see its slices with contours and clinical values."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from survival_core.case import ROLES
from survival_core.cohort.demo import demo_ready, prepare_demo
from survival_core.cohort.manifest import read_manifest
from survival_core.io.upload_case import describe_upload
from survival_core.io.uploads import store_upload
from survival_core.paths import demo_cohort_dir
from ui.auth import permitted, record, require
from ui.models import chosen_model
from ui.radiomics import radiomics_panel
from ui.risk import risk_summary
from ui.state import (
    current_case,
    load_case_folder,
    load_upload_folder,
    set_current_case,
    show_error,
)
from ui.widgets import clinical_panel, slice_viewer

ROLE_LABELS = {"liver": "Liver (whole organ, tumors included)", "gtv": "GTV (all tumors)"}

st.title("Case")
require("view")
source = st.segmented_control("Source", ["Demo case", "Upload"], default="Demo case")


def pick_demo() -> None:
    folder = demo_cohort_dir()
    if not demo_ready(folder):
        st.info("The demo cohort is not prepared yet (`make run` prepares it before serving).")
        if st.button("Prepare the demo cohort now"):
            with st.status("Generating the demo cohort...", expanded=True) as status:
                prepare_demo(progress=st.write)
                status.update(label="Demo cohort ready", state="complete")
            st.rerun()
        return
    manifest = read_manifest(folder)
    labels = {row.case_id: f"{row.case_id} ({row.format})" for row in manifest.itertuples()}
    case_id = st.selectbox("Demo case", list(labels), format_func=labels.get)
    if case_id:
        set_current_case(load_case_folder(str(folder / "cases" / case_id), case_id))


def pick_upload() -> None:
    require("upload_case")
    files = st.file_uploader(
        "A DICOM zip (CT series + RTSTRUCT), or NIfTI/NRRD image and mask files; optionally a "
        "clinical.json or a clinical CSV with a case_id column",
        accept_multiple_files=True,
        type=["zip", "dcm", "nii", "gz", "nrrd", "nhdr", "mha", "mhd", "json", "csv"],
    )
    if not files:
        return
    folder = store_upload([(f.name, f.getvalue()) for f in files])
    contents = describe_upload(folder)
    suggested = contents.suggested_roles()
    image_name = case_id = None
    with st.form(f"roles-{folder.name}"):
        st.caption("Map the uploaded structures to roles (pre-filled where the names are clear).")
        if contents.kind == "volumes":
            volumes = contents.volumes
            default = contents.suggested_image()
            image_name = st.selectbox(
                "Image volume", volumes, index=volumes.index(default) if default in volumes else 0
            )
        listed = contents.clinical_case_ids()
        case_id = st.selectbox("Case id in the clinical CSV", listed) if len(listed) > 1 else None
        roles = {}
        for role in ROLES:
            options = contents.structures
            choice = st.selectbox(
                ROLE_LABELS[role],
                options,
                index=options.index(suggested[role]) if role in suggested else None,
                key=f"role-{folder.name}-{role}",
            )
            if choice:
                roles[role] = choice
        submitted = st.form_submit_button("Load case", type="primary")
    if submitted or (len(suggested) == len(ROLES) and contents.kind != "volumes"):
        with st.spinner("Reading the case..."):
            key = tuple(sorted(roles.items()))
            case = load_upload_folder(str(Path(folder)), key, image_name, case_id)
        record("upload_case", case.case_id, once=True, files=len(files))
        set_current_case(case)


try:
    if source == "Demo case":
        pick_demo()
    else:
        pick_upload()
except Exception as error:  # noqa: BLE001 - every failure is shown, none as a traceback
    show_error(error)

case = current_case()
if case is None:
    st.stop()

summary = case.summary()
st.subheader(f"{summary.pop('case_id')} · {summary.pop('modality')}")
st.caption(f"Matrix {summary.pop('matrix')} voxels, spacing {summary.pop('spacing_mm')} mm")
columns = st.columns(len(summary))
for column, (name, value) in zip(columns, summary.items(), strict=True):
    column.metric(name.replace("_ml", " (mL)").replace("_", " "), value)

for warning in case.warnings:
    st.warning(warning, icon=":material/warning:")

viewer_tab, clinical_tab, risk_tab, radiomics_tab = st.tabs(
    ["Slices and contours", "Clinical values", "Risk", "Radiomics"]
)
with viewer_tab:
    slice_viewer(case, key="case-viewer")
with clinical_tab:
    clinical_panel(case)
with risk_tab:
    if permitted("score_case"):
        risk_summary(case, chosen_model())
    else:
        st.info("Scoring a case needs the clinician role or above.")
with radiomics_tab:
    radiomics_panel(case)
