"""Case page: pick a demo case or upload one; see its slices with contours and clinical values.

Patient safety: the page shows a case only while it is this session's current case, and a new
upload clears the current case at once: until its structures are confirmed and it has loaded, or
when it fails, no patient is shown (nor named current in the sidebar), never the previous one beside
the new file or its error.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from survival_core.case import ROLES, Case
from survival_core.errors import RadSurvError
from survival_core.features.pet_uptake import gtv_uptake
from survival_core.io.dicom_series import SeriesSummary, series_naming
from survival_core.io.manifest import read_manifest
from survival_core.io.structures import SITES, VOLUME_MODALITIES
from survival_core.io.uploads import (
    CLINICAL_KEEP,
    as_uploaded,
    uploaded_dicom_names,
    uploaded_volume_names,
)
from survival_core.paths import demo_cohort_dir
from survival_core.runs.retention import mark_used
from survival_core.text import markdown_literal
from survival_core.viewer.figures import site_label
from survival_core.workflows.demo import demo_ready, prepare_demo
from ui.auth import permitted, record, require
from ui.models import chosen_model, chosen_schema, offered_variables
from ui.radiomics import radiomics_panel
from ui.risk import risk_summary
from ui.state import (
    case_key,
    clear_current_case,
    clinical_refusal,
    corrected,
    current_case,
    current_origin,
    discard_edits,
    load_case_folder,
    load_upload_folder,
    refused_message,
    set_current_case,
    show_error,
    stored_upload,
    without_server_paths,
)
from ui.widgets import clinical_panel, slice_viewer

ROLE_LABELS = {
    "organ": "Organ hosting the tumour (optional): liver, lung, brain…",
    "gtv": "GTV (all lesions united)",
}
ROLE_HELP = {
    "organ": "Leave empty when no organ is contoured (e.g. a sarcoma). Several structures are "
    "united (Lung-Left + Lung-Right).",
    "gtv": "Required. Several structures are united into one GTV (GTV-1 + GTV-2).",
}
#: How the GTV's PET uptake figures are labelled (PERCIST SUVpeak; MTV = the contour's volume).
UPTAKE_LABELS = {
    "suv_max": "SUVmax",
    "suv_peak": "SUVpeak (1 cm³)",
    "suv_mean": "SUVmean",
    "mtv_ml": "MTV (mL)",
    "tlg": "TLG (SUV·mL)",
}
SOURCES = ("Demo case", "Upload")
#: The source last chosen on this page (a widget's own state is dropped while another page shows).
LAST_SOURCE = "case-source-last"
#: The tabs of a shown case, and the key of the one selected (kept across reruns).
CASE_TABS = ("Slices and contours", "Clinical values", "Risk", "Radiomics")
CASE_TAB = "case-tab"
#: The upload's DICOM file names as uploaded: (its folder's name, stored -> uploaded).
DICOM_NAMES = "case-upload-dicom-names"

st.title("Case")
require("view")
origin = current_origin() or ""
# coming back to the page starts from the current case's source and demo case, so the current
# case is never swapped for another behind the user's back; after that the choices are the user's
# (a failed upload leaves no current case: coming back stays on Upload, never loading a demo
# patient in its place)
if "case-source" not in st.session_state:
    st.session_state["case-source"] = (
        "Upload"
        if origin.startswith("upload:")
        else "Demo case"
        if origin.startswith("demo:")
        else st.session_state.get(LAST_SOURCE, "Demo case")
    )
if "case-demo" not in st.session_state and origin.startswith("demo:"):
    st.session_state["case-demo"] = origin.removeprefix("demo:")
source = st.segmented_control("Source", SOURCES, key="case-source")
st.session_state[LAST_SOURCE] = source


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
    if st.session_state.get("case-demo") not in labels:
        st.session_state.pop("case-demo", None)
    case_id = st.selectbox("Demo case", list(labels), format_func=labels.get, key="case-demo")
    if case_id:
        case = load_case_folder(str(folder / "cases" / case_id), case_id)
        set_current_case(case, f"demo:{case_id}")


def _series_label(series: SeriesSummary) -> str:
    """One image series as offered: modality, number, description, size, slice thickness,
    reconstruction kernel, what references it (phases of one study differed in nothing shown
    once de-identified)."""
    number, thickness = series_naming(series.number, series.thickness)
    parts = [series.modality or "?", number]
    if series.description:
        parts.append(f"'{series.description}'")
    if series.stack:
        parts.append(series.stack)
    parts += [f"{series.size} voxels", thickness]
    if series.kernel:  # reconstructions of one scan differ in nothing else once de-identified
        parts.append(f"kernel {series.kernel}")
    if series.referenced_by:
        parts.append("contoured")
    if series.scout:
        parts.append("scout")
    if series.patient:
        parts.append(f"patient {series.patient[:8]}")
    return ", ".join(p for p in parts if p)


def _default_series(listed: list[SeriesSummary]) -> int | None:
    """The series the loader takes without a choice (the one the structures reference); None
    when it would ask (the structure set names none of them: the first, a delayed phase, was
    pre-selected)."""
    return next((n for n, series in enumerate(listed) if series.default), None)


def _dicom_names(folder: Path, files: list[UploadedFile]) -> dict[str, str]:
    """:func:`uploaded_dicom_names` of the upload stored in ``folder``, read once per upload and
    kept in this session's memory only (every rerun re-read the zip)."""
    kept = st.session_state.get(DICOM_NAMES)
    if kept is None or kept[0] != folder.name:
        kept = (folder.name, uploaded_dicom_names((f.name, f.getvalue()) for f in files))
        st.session_state[DICOM_NAMES] = kept
    return kept[1]


def pick_upload() -> dict[str, str]:
    """The upload's form and case; returns its stored file names -> the names uploaded
    (in memory only), to name them so in the case's warnings."""
    require("upload_case")
    files = st.file_uploader(
        "A DICOM zip (CT or MR series + RTSTRUCT), or NIfTI/NRRD image and mask files; optionally "
        "a clinical.json or a clinical CSV with a case_id column",
        accept_multiple_files=True,
        type=["zip", "dcm", "nii", "gz", "nrrd", "nhdr", "mha", "mhd", "json", "csv"],
    )
    if not files:
        return {}
    model = chosen_model()
    schema = chosen_schema(model)
    # clinical files keep case_id and the variables of the HCC schema and of every model offered
    # (switching models must neither store the upload again nor lose its other values)
    offered = offered_variables()
    keep = CLINICAL_KEEP | {v.name for v in offered}
    uploaded = tuple(f.file_id for f in files)
    if st.session_state.get("upload-files") != uploaded:
        clear_current_case()  # a new upload: no patient is current while it is read
        st.session_state["upload-files"] = uploaded
    folder, contents = stored_upload([(f.name, f.getvalue()) for f in files], keep, offered)
    # volumes are stored neutrally named, DICOM files after their remapped SOP instance UID
    known_as = uploaded_volume_names(f.name for f in files) | _dicom_names(folder, files)
    mark_used(folder)  # stored before, this upload is in use again: retention counts from now
    origin = f"upload:{folder.name}"
    if current_origin() != origin:
        clear_current_case()  # a new upload: the previous patient is no longer current
    if not contents.structure_names():
        clear_current_case()
        st.error(
            "The upload holds no structures: no RTSTRUCT, SEG or mask file drawn on the image. "
            "Add the structure set (or mask volume) with the GTV to the upload.",
            icon=":material/error:",
        )
        return known_as
    for refusal in contents.too_large():  # said before the roles are chosen, not on loading
        st.warning(refusal, icon=":material/warning:")
    patients = contents.patients()
    if len(patients) > 1:
        st.warning(
            f"The upload holds files of {len(patients)} patients: choose one patient's image "
            "series and its structures (the other patient's files are not read), or upload one "
            "patient per case.",
            icon=":material/warning:",
        )
    if len(contents.structure_sets) > 1:
        st.info(
            f"The upload holds {len(contents.structure_sets)} structure sets: "
            + "; ".join(map(markdown_literal, contents.structure_sets))
            + ". A case is read from one: choose the structures of one set.",
            icon=":material/info:",
        )
    suggested_site = contents.suggested_site()
    suggested = contents.suggested_roles(suggested_site)
    listed_series = contents.series
    image_name = case_id = series_uid = site = modality = None
    with st.form(f"roles-{folder.name}"):
        st.caption("Say which structures are which (pre-filled where the names are clear).")
        if contents.kind == "volumes":
            volumes = contents.volumes
            default = contents.suggested_image()
            image_name = st.selectbox(
                "Image volume",
                volumes,
                index=volumes.index(default) if default in volumes else 0,
                format_func=lambda name: as_uploaded(name, known_as),
            )
            modality = st.selectbox(
                "Modality of the volume", VOLUME_MODALITIES, key=f"modality-{folder.name}",
                index=VOLUME_MODALITIES.index(contents.suggested_modality()),
                help="Volume files do not say; CT windows (HU) are offered for CT only, and a "
                "PT volume must already be in SUVbw (DICOM PET is converted on reading).",
            )  # fmt: skip
        elif len(listed_series) > 1:
            default_series = _default_series(listed_series)
            chosen = st.selectbox(
                "Image series",
                range(len(listed_series)),
                index=default_series,
                format_func=lambda n: _series_label(listed_series[n]),
                key=f"series-{folder.name}",
                placeholder="Choose: the structures name none of them",
                help="Pre-selected: the series the structures were drawn on. Left so, the series "
                "the chosen structures were drawn on is read (the MR's GTV: the MR).",
            )
            # left as pre-selected (chosen before the roles were): the loader picks by the roles
            if chosen is not None and chosen != default_series:
                series_uid = listed_series[chosen].series_uid
        site = st.selectbox(
            "Cancer site",
            SITES,
            index=SITES.index(suggested_site) if suggested_site in SITES else None,
            format_func=site_label,
            placeholder="From the organ's name",
            key=f"site-{folder.name}",
        )
        listed = contents.clinical_case_ids()
        case_id = (
            st.selectbox(
                "Case id in the clinical CSV",
                listed,
                index=None,
                placeholder="The images' own (their PatientID)",
                key=f"csv-case-{folder.name}",
            )
            if len(listed) > 1
            else None
        )
        roles: dict[str, tuple[str, ...]] = {}
        # the image volume is no mask ("Select all" took it and the load failed)
        options = [n for n in contents.structures if image_name is None or n != image_name]
        for role in ROLES:
            chosen_names = st.multiselect(
                ROLE_LABELS.get(role, role),
                options,
                default=[n for n in suggested.get(role, []) if n in options],
                placeholder="None" if role != "gtv" else "Choose the GTV structure(s)",
                help=ROLE_HELP.get(role),
                format_func=lambda name: as_uploaded(name, known_as),
                key=f"role-{folder.name}-{role}",
            )
            roles[role] = tuple(chosen_names)
        submitted = st.form_submit_button("Load case", type="primary")
    unambiguous = (
        contents.roles_clear()
        and contents.kind != "volumes"
        and len(listed_series) <= 1
        and len(listed) <= 1  # several patients' rows: the user confirms which
    )
    if not (submitted or unambiguous):
        if current_origin() != origin:
            st.info("Check the structures and press **Load case**.", icon=":material/info:")
        return known_as
    if not roles.get("gtv"):
        clear_current_case()
        st.error("Choose the GTV structure(s): the GTV is required.", icon=":material/error:")
        return known_as
    with st.spinner("Reading the case..."):
        # an empty role is passed as such: "no organ", not "find the organ by name"; one left
        # as pre-filled is found by name again, with the loader's checks
        key = tuple(sorted(contents.roles_to_load(roles, suggested_site).items()))
        model_folder = str(model.folder) if schema is not None else None
        read = (
            str(Path(folder)),
            key,
            image_name,
            case_id,
            series_uid,
            site,
            modality,
            model_folder,
        )
        try:
            case = load_upload_folder(*read)
        except RadSurvError as error:  # named as the user uploaded the files
            raise type(error)(as_uploaded(str(error), known_as)) from error
    record("upload_case", case.case_id, once=True, files=len(files))
    set_current_case(case, origin, read)
    return known_as


def show_case(case: Case, known_as: dict[str, str]) -> None:
    """The current case: facts, warnings (its files named as uploaded: ``known_as``), slices,
    clinical values, risk and radiomics."""
    summary = case.summary()
    site = site_label(case.site)
    heading = f"{markdown_literal(summary.pop('case_id'))} · {summary.pop('modality')}"
    heading += (f" · {site}" if site else "") + (f" · {case.series}" if case.series else "")
    st.subheader(heading)  # the series: which phase of a study
    st.caption(f"Matrix {summary.pop('matrix')} voxels, spacing {summary.pop('spacing_mm')} mm")
    if case.companions:
        others = " and ".join(sorted(case.companions))
        st.caption(
            f"With the patient's {others} beside it: models on several images' radiomics read "
            + ("them" if len(case.companions) > 1 else "it")
            + ("; the SUV figures come from the PT." if "PT" in case.companions else ".")
        )
    if summary:
        columns = st.columns(len(summary))
        for column, (name, value) in zip(columns, summary.items(), strict=True):
            column.metric(_metric_label(name, case.site), value)
    uptake = gtv_uptake(case)  # of a GTV partly outside the PET: the share out is in warnings
    figures = [(name, uptake[name]) for name in UPTAKE_LABELS if uptake and name in uptake]
    if figures:
        for column, (name, value) in zip(st.columns(len(figures)), figures, strict=True):
            column.metric(
                UPTAKE_LABELS[name], f"{value:.2f}" if name != "mtv_ml" else f"{value:.1f}"
            )

    for (
        warning
    ) in case.warnings:  # an upload's files named as uploaded, not where the server keeps them
        shown = as_uploaded(without_server_paths(warning), known_as)
        st.warning(markdown_literal(shown), icon=":material/warning:")
    refused = clinical_refusal(case)
    if refused is not None:  # said once; the form to correct it is under Clinical values
        shown = refused_message(case, refused, "under Clinical values below")
        st.error(markdown_literal(without_server_paths(shown)), icon=":material/error:")

    corrections_notice(case)
    # keyed and tracked: a rerun (saving clinical values, a notice above appearing) keeps the
    # tab the user chose instead of going back to the first
    viewer_tab, clinical_tab, risk_tab, radiomics_tab = st.tabs(
        CASE_TABS, key=CASE_TAB, default=CASE_TABS[0], on_change="rerun"
    )
    with viewer_tab:
        slice_viewer(case, key="case-viewer")
    with clinical_tab:
        clinical_panel(case, chosen_model())
    with risk_tab:
        if refused is not None:
            st.info("Not scored under this model until its clinical values are corrected (above).")
        elif permitted("score_case"):
            risk_summary(case, chosen_model())
        else:
            st.info("Scoring a case needs the clinician role or above.")
    with radiomics_tab:
        radiomics_panel(case)


def corrections_notice(case: Case) -> None:
    """Say which of the case's clinical values this session's saved corrections replace (they
    are scored; opening another case and coming back keeps them), with a button that discards
    them: the case's own values apply again."""
    names = corrected(case)
    if not names:
        return
    said, button = st.columns([5, 1], vertical_alignment="center")
    said.info(
        f"Your corrections saved in this session replace {markdown_literal(case.case_id)}'s "
        f"values of {', '.join(names)}: they are what is shown and scored.",
        icon=":material/edit_note:",
    )
    key = case_key(case)
    if button.button("Discard corrections", key=f"discard-{key}"):
        discard_edits(case)
        for name in [k for k in st.session_state if str(k).startswith(f"clinical-{key}-")]:
            del st.session_state[name]  # the form shows the case's own values again
        st.rerun()


def _metric_label(name: str, site: str | None) -> str:
    """'gtv_volume_ml' -> 'gtv volume (mL)'; the organ's named by the site ('lung volume (mL)')."""
    if name.startswith("organ_") and site:
        name = site + name[len("organ") :]
    return name.replace("_ml", " (mL)").replace("_", " ")


known_as: dict[str, str] = {}
try:
    if source == "Demo case":
        pick_demo()
    else:
        known_as = pick_upload()
except Exception as error:  # noqa: BLE001 - every failure is shown, none as a traceback
    clear_current_case()  # never the previous patient under this error
    show_error(error)

case = current_case()
if case is not None:
    show_case(case, known_as)
