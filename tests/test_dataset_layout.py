"""Public datasets' folder layouts (Decathlon, nnU-Net, HECKTOR, KiTS, pyradiomics' samples):
cases found by file name, imported and loaded like per-patient folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.cli.main import main
from survival_core.cohort.importer import check_roi_map, import_images
from survival_core.cohort.inventory import inventory_tree
from survival_core.errors import ConfigError, GeometryError, InputError
from survival_core.io.case_loader import load_case
from survival_core.io.dataset_layout import (
    DatasetFile,
    dataset_cases,
    names_image,
    short_case_names,
    split_name,
)
from survival_core.io.manifest import read_manifest
from survival_core.io.upload_case import describe_upload
from survival_core.io.uploads import store_upload


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("CHUM-001__CT", ("CHUM-001", "CT", "")),
        ("CHGJ007_gtvt", ("CHGJ007", "gtvt", "")),
        ("lung1_label", ("lung1", "label", "")),
        ("BraTS20_Training_001_t1ce", ("BraTS20_Training_001", "t1ce", "")),
        ("case_0001", ("case", "", "0001")),
        ("liver_0", ("liver_0", "", "")),
        ("imaging", ("", "imaging", "")),
        ("GTV_1", ("GTV_1", "", "")),
    ],
)
def test_a_file_name_splits_into_case_role_and_channel(
    stem: str, expected: tuple[str, str, str]
) -> None:
    assert split_name(stem) == expected


def test_role_words_before_an_id_are_read_in_a_dataset() -> None:
    """LiTS names its files role first: 'volume-12', 'segmentation-12'."""
    assert split_name("segmentation-12", leading=True) == ("12", "segmentation", "")
    assert split_name("image_007_ct", leading=True) == ("007", "image_ct", "")
    assert split_name("GTV_1", leading=True) == ("GTV_1", "", "")  # a structure is no role word
    assert split_name("volume-12") == ("volume-12", "", "")  # outside a dataset: one name


def test_the_image_of_a_modality_is_named_so() -> None:
    assert names_image("CHUM-001__CT") and not names_image("CHUM-001__PT")
    assert names_image("CHUM-001__PT", "PT") and not names_image("CHUM-001__CT", "PT")
    assert names_image("image", "MR") and names_image("lung1_image") and names_image("ct")
    assert not names_image("CHUM-001") and not names_image("lung1_label")
    assert not names_image("gtv_ct") and not names_image("liver_CT")  # masks drawn on the CT


def test_cases_of_each_layout() -> None:
    hecktor = [
        "imagesTr/CHUM-001__CT.nii.gz",
        "imagesTr/CHUM-001__PT.nii.gz",
        "labelsTr/CHUM-001.nii.gz",
        "imagesTr/CHUP-002__CT.nii.gz",
        "imagesTr/CHUP-002__PT.nii.gz",
        "labelsTr/CHUP-002.nii.gz",
    ]
    found = dataset_cases(hecktor)
    assert found["imagesTr/CHUM-001__PT.nii.gz"] == DatasetFile("CHUM-001", "PT.nii.gz")
    assert found["labelsTr/CHUP-002.nii.gz"] == DatasetFile("CHUP-002", "label.nii.gz")
    decathlon = dataset_cases(
        ["imagesTr/liver_0.nii.gz", "labelsTr/liver_0.nii.gz", "imagesTs/liver_5.nii.gz"]
    )
    assert decathlon == {
        "imagesTr/liver_0.nii.gz": DatasetFile("liver_0", "image.nii.gz"),
        "labelsTr/liver_0.nii.gz": DatasetFile("liver_0", "label.nii.gz"),
    }  # the unlabelled test image is no case
    nnunet = dataset_cases(
        ["imagesTr/hn_007_0000.nrrd", "imagesTr/hn_007_0001.nrrd", "labelsTr/hn_007.nrrd"]
    )
    assert [f.name for f in nnunet.values()] == ["image.nrrd", "channel_0001.nrrd", "label.nrrd"]
    kits = dataset_cases(
        [f"data/case_0000{i}/{n}.nii.gz" for i in (0, 1) for n in ("imaging", "segmentation")]
    )
    assert {f.case for f in kits.values()} == {"data/case_00000", "data/case_00001"}
    assert short_case_names(f.case for f in kits.values()) == {
        "data/case_00000": "case_00000",
        "data/case_00001": "case_00001",
    }
    centres = dataset_cases(["A/p1_ct.nrrd", "A/p1_gtv.nrrd", "B/p1_ct.nrrd", "B/p1_gtv.nrrd"])
    assert {f.case for f in centres.values()} == {"A/p1", "B/p1"}  # same key, two centres
    # one patient's folder (files named by role) is one case, no dataset of several
    patient = ["P1/image.nii.gz", "P1/gtv.nii.gz", "P1/lung.nii.gz"]
    assert {f.case for f in dataset_cases(patient).values()} == {"P1"}
    assert dataset_cases(patient, min_cases=2) == {}
    assert dataset_cases(["P1/ct_image.nrrd", "P1/ct_mask.nrrd"], min_cases=2) == {}


def _volume(array: np.ndarray, path: Path, coarse: bool = False) -> None:
    """Write ``array`` on the CT's grid (1 x 1 x 2 mm), or ``coarse``ly on a PET's grid over the
    same extent (2 x 2 x 4 mm, its voxel centres shifted by half a CT voxel)."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((2.0, 2.0, 4.0) if coarse else (1.0, 1.0, 2.0))
    image.SetOrigin((-9.5, 5.5, 31.0) if coarse else (-10.0, 5.0, 30.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), True)


def _hecktor_case(folder: Path, patient: str, seed: int) -> dict[str, np.ndarray]:
    """A HECKTOR 2022 case: CT in HU, PT in SUV on its own coarser grid, label map on the CT's
    grid: 1 = primary GTV (0.512 ml, whole PET voxels), 2 = nodal GTV."""
    rng = np.random.default_rng(seed)
    ct = rng.normal(40, 20, (12, 32, 32)).astype(np.int16)
    pt = rng.gamma(2.0, 0.8, (6, 16, 16)).astype(np.float32)
    label = np.zeros((12, 32, 32), np.uint8)
    label[4:8, 8 + 2 * seed : 16 + 2 * seed, 10:18] = 1
    label[5:7, 22:26, 20:26] = 2
    _volume(ct, folder / "imagesTr" / f"{patient}__CT.nii.gz")
    _volume(pt, folder / "imagesTr" / f"{patient}__PT.nii.gz", coarse=True)
    _volume(label, folder / "labelsTr" / f"{patient}.nii.gz")
    return {"ct": ct, "pt": pt, "label": label}


def test_hecktor_dataset_imports_per_patient_and_joins_its_clinical_table(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """HECKTOR's layout (imagesTr/<id>__CT, __PT, labelsTr/<id>): one case per patient, the CT
    as the image (the PT with --modality PT), the ROI map naming the primary GTV alike for all
    (label.nii.gz:1), and the challenge's clinical table joined on its PatientID column."""
    import pandas as pd

    download = tmp_path / "hecktor"
    truth = {p: _hecktor_case(download, p, k) for k, p in enumerate(("CHUM-001", "MDA-017"))}
    _volume(np.zeros((12, 32, 32), np.int16), download / "imagesTs" / "HGJ-090__CT.nii.gz")
    with inventory_tree(download, workers=1) as inventory:
        assert sorted(inventory.patients) == ["folder:CHUM-001", "folder:MDA-017"]
        assert inventory.skipped == [
            "imagesTs/HGJ-090__CT.nii.gz: a volume file of no case (no image and mask named alike)"
        ]
    roi_map = tmp_path / "roi.yaml"
    roi_map.write_text("default:\n  gtv: ['label.nii.gz:1']\n")
    sheet = tmp_path / "hecktor2022_clinical_info_training.csv"
    sheet.write_text("PatientID,Age,Gender,RFS,Relapse\nCHUM-001,62,M,1200,0\nMDA-017,55,F,430,1\n")
    argv = ["cohort", "import", "--images", str(download), "--out", str(tmp_path / "ct")]
    argv += ["--roi-map", str(roi_map), "--clinical", str(sheet), "--workers", "1", "--json"]
    argv += ["--time-unit", "days"]  # RFS and Relapse found by name
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["imported"], summary["failed"], summary["clinical_rows"]) == (2, 0, 2)
    report = pd.read_csv(tmp_path / "ct" / "import_report.csv")
    assert report["reason"].isna().all()  # the PT beside the CT is its companion, no warning
    manifest = read_manifest(tmp_path / "ct").set_index("case_id")
    clinical = pd.read_csv(tmp_path / "ct" / "clinical.csv", index_col="case_id")
    assert sorted(clinical["time"]) == [430, 1200] and set(clinical.index) == set(manifest.index)
    by_relapse = {1200: "CHUM-001", 430: "MDA-017"}
    for case_id, row in manifest.iterrows():
        expected = truth[by_relapse[clinical.loc[case_id, "time"]]]
        case = load_case(Path(row.image).parent)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(case.image), expected["ct"])
        gtv = sitk.GetArrayFromImage(case.masks["gtv"]).astype(bool)
        np.testing.assert_array_equal(gtv, expected["label"] == 1)  # the primary only
        assert row.modality == "CT"
    # the PET, with the label drawn on the CT's grid resampled onto the PET's, said so
    result = import_images(
        download,
        tmp_path / "pt",
        roi_map=check_roi_map({"default": {"gtv": ["label.nii.gz:1"]}}),
        modality="PT",
        workers=1,
    )
    assert result.counts()["imported"] == 2, [o.reason for o in result.outcomes]
    assert all("resampled" in o.reason for o in result.outcomes)  # the report says so
    for _, row in read_manifest(tmp_path / "pt").iterrows():
        case = load_case(Path(row.image).parent, modality="PT")
        pt = sitk.GetArrayFromImage(case.image)
        assert row.modality == "PT" and pt.shape == (6, 16, 16) and pt.min() > 0
        assert case.image.GetSpacing() == (2.0, 2.0, 4.0)
        assert case.mask_volume_ml("gtv") == pytest.approx(0.512)  # the primary, exactly
    with pytest.raises(ConfigError, match="Modality of volume files"):
        import_images(download, tmp_path / "us", modality="US")


def test_a_hecktor_case_uploaded_alone_reads_its_ct(tmp_path: Path) -> None:
    """One HECKTOR case's three files in one folder (as a Case-page upload): the CT is the image
    (named so), the PT its companion image (for PET/CT models), the label map gives the GTVs."""
    truth = _hecktor_case(tmp_path / "staging", "CHUM-001", 0)
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    for path in (tmp_path / "staging").rglob("*.nii.gz"):
        shutil.copy(path, case_dir / path.name)
    case = load_case(case_dir, roles={"gtv": ["CHUM-001.nii.gz:1"]})
    np.testing.assert_array_equal(sitk.GetArrayFromImage(case.image), truth["ct"])
    assert not case.warnings and list(case.companions) == ["PT"]
    np.testing.assert_array_equal(sitk.GetArrayFromImage(case.companions["PT"]), truth["pt"])
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(case.masks["gtv"]).astype(bool), truth["label"] == 1
    )
    pet = load_case(case_dir, roles={"gtv": ["CHUM-001.nii.gz:1"]}, modality="PT")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(pet.image), truth["pt"])
    assert pet.mask_volume_ml("gtv") == pytest.approx(0.512)
    assert any("drawn on another grid" in w and "resampled" in w for w in pet.warnings)
    from survival_core.io.case_loader import load_case_files

    _volume((truth["label"] == 1).astype(np.uint8), tmp_path / "gtv.nii.gz")  # on the CT grid
    files = load_case_files(case_dir / "CHUM-001__PT.nii.gz", {"gtv": tmp_path / "gtv.nii.gz"},
                            None, "UP-1", modality="PT")  # fmt: skip
    assert files.mask_volume_ml("gtv") == pytest.approx(0.512)
    assert any("resampled" in w for w in files.warnings)
    other = tmp_path / "other-grid"  # a CT's mask on another grid: never resampled
    other.mkdir()
    shutil.copy(case_dir / "CHUM-001__PT.nii.gz", other / "image.nii.gz")
    shutil.copy(case_dir / "CHUM-001.nii.gz", other / "CHUM-001.nii.gz")
    with pytest.raises(GeometryError, match="not on the voxel grid"):
        load_case(other, roles={"gtv": ["CHUM-001.nii.gz:1"]})


def _real_samples(shared_data: Path) -> dict[str, Path]:
    folder = shared_data / "pyradiomics"
    cases = {c: folder / f"{c}_image.nrrd" for c in ("lung1", "lung2", "brain1")}
    if not all(p.is_file() for p in cases.values()):
        pytest.skip("pyradiomics samples not in ../shared/data")
    return cases


@pytest.mark.parametrize("layout", ["flat", "decathlon", "lits", "monai"])
def test_real_samples_import_as_a_dataset(shared_data: Path, tmp_path: Path, layout: str) -> None:
    """pyradiomics' real lung CTs and brain MR, as they ship (<case>_image.nrrd beside
    <case>_label.nrrd in one folder), re-laid as a Decathlon (imagesTr/<case>.nrrd,
    labelsTr/<case>.nrrd: the same name twice), as LiTS (volume-<n>.nrrd beside
    segmentation-<n>.nrrd, the role first) and as a MONAI Label datastore (<case>.nrrd beside
    labels/final/<case>.nrrd): three cases, each GTV voxel for voxel its label, each case's
    images told (hashed); before, loose files were skipped, the Decathlon folders were two
    'patients', LiTS's files no patient, and MONAI's labels one patient, their images none."""
    download = tmp_path / "download"
    for number, (case, image) in enumerate(_real_samples(shared_data).items()):
        label = image.with_name(f"{case}_label.nrrd")
        if layout == "flat":
            targets = (download / image.name, download / label.name)
        elif layout == "lits":
            targets = (download / f"volume-{number}.nrrd", download / f"segmentation-{number}.nrrd")
        elif layout == "monai":
            targets = (download / f"{case}.nrrd", download / "labels" / "final" / f"{case}.nrrd")
        else:
            targets = (
                download / "imagesTr" / f"{case}.nrrd",
                download / "labelsTr" / f"{case}.nrrd",
            )
        for source, target in zip((image, label), targets, strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    roi_map = check_roi_map(
        {"default": {"gtv": ["segmentation.nrrd" if layout == "lits" else "label.nrrd"]}}
    )
    result = import_images(download, tmp_path / "cohort", roi_map=roi_map, workers=1)
    assert result.counts()["imported"] == 3, [o.reason for o in result.outcomes]
    voxels = sorted(
        int(sitk.GetArrayFromImage(load_case(Path(row.image).parent).masks["gtv"]).sum())
        for _, row in read_manifest(tmp_path / "cohort").iterrows()
    )
    expected = sorted(
        int((sitk.GetArrayFromImage(sitk.ReadImage(str(p.with_name(f"{c}_label.nrrd")))) > 0).sum())
        for c, p in _real_samples(shared_data).items()
    )
    assert voxels == expected and min(voxels) > 0
    for case in (tmp_path / "cohort" / "cases").iterdir():
        assert json.loads((case / ".import.json").read_text())["images"], case


def _real_hecktor(shared_data: Path, download: Path) -> dict[str, np.ndarray]:
    """pyradiomics' real lung CTs laid out as HECKTOR 2022: CHUM-001's map holds its tumour as
    label 1 (a primary, no nodes), CHUM-002's as label 2 only (nodes, no primary: HECKTOR has
    such patients); by patient, each tumour's voxels."""
    tumours = {}
    for patient, (case, label) in {"CHUM-001": ("lung1", 1), "CHUM-002": ("lung2", 2)}.items():
        image = _real_samples(shared_data)[case]
        mask = sitk.ReadImage(str(image.with_name(f"{case}_label.nrrd")))
        tumours[patient] = sitk.GetArrayFromImage(mask) > 0
        labels = sitk.GetImageFromArray(tumours[patient].astype(np.uint8) * label)
        labels.CopyInformation(mask)
        (download / "imagesTr").mkdir(parents=True, exist_ok=True)
        (download / "labelsTr").mkdir(exist_ok=True)
        sitk.WriteImage(
            sitk.ReadImage(str(image)), str(download / "imagesTr" / f"{patient}__CT.nii.gz")
        )
        sitk.WriteImage(labels, str(download / "labelsTr" / f"{patient}.nii.gz"))
    return tumours


def test_a_label_a_patients_map_lacks_is_never_its_other_label(
    shared_data: Path, tmp_path: Path
) -> None:
    """A ROI map's 'label.nii.gz:1' (HECKTOR's primary GTV) took the nodes of a patient whose
    map holds label 2 alone, without a word, and 'label.nii.gz:2' was refused on that patient:
    a file of one label was named after the file, its label value lost. Now label 1 is refused
    there naming the label the map holds, label 2 is the nodes, and a map listing both leaves the
    role to the label each patient holds, with a warning."""
    import pandas as pd

    tumours = _real_hecktor(shared_data, tmp_path / "hecktor")
    roi_map = check_roi_map({"default": {"gtv": ["label.nii.gz:1"]}})
    result = import_images(tmp_path / "hecktor", tmp_path / "primary", roi_map=roi_map, workers=1)
    assert result.counts()["imported"] == 1 and result.counts()["failed"] == 1
    report = pd.read_csv(tmp_path / "primary" / "import_report.csv")
    assert report["reason"].dropna().tolist() == [
        "No structure named 'label.nii.gz:1' for the gtv; the case has 'label.nii.gz:2'."
    ]
    case = load_case(Path(read_manifest(tmp_path / "primary")["image"].iloc[0]).parent)
    np.testing.assert_array_equal(case.mask_array("gtv"), tumours["CHUM-001"])

    folders = {p: tmp_path / p for p in tumours}
    for patient, folder in folders.items():
        folder.mkdir()
        shutil.copy(
            tmp_path / "hecktor" / "imagesTr" / f"{patient}__CT.nii.gz", folder / "CT.nii.gz"
        )
        shutil.copy(
            tmp_path / "hecktor" / "labelsTr" / f"{patient}.nii.gz", folder / "label.nii.gz"
        )
    nodes = load_case(folders["CHUM-002"], roles={"gtv": ["label.nii.gz:2"]})
    np.testing.assert_array_equal(nodes.mask_array("gtv"), tumours["CHUM-002"])
    assert list(nodes.structures) == ["label.nii.gz:2"]
    upload = [folders["CHUM-002"] / n for n in ("CT.nii.gz", "label.nii.gz")]
    contents = describe_upload(store_upload([(f.name, f.read_bytes()) for f in upload]))
    assert contents.suggested_roles() == {"gtv": ["label.nii.gz:2"]}  # the Case page shows 2
    for patient, (held, lacked) in {"CHUM-001": ("", ":2"), "CHUM-002": (":2", ":1")}.items():
        both = load_case(folders[patient], roles={"gtv": ["label.nii.gz:1", "label.nii.gz:2"]})
        np.testing.assert_array_equal(both.mask_array("gtv"), tumours[patient])
        assert f"holds no 'label.nii.gz{lacked}', listed for the gtv: it is " + repr(
            f"label.nii.gz{held}"
        ) in " ".join(both.warnings)


def test_cases_stay_apart_and_one_patients_files_together(tmp_path: Path) -> None:
    """Two centres' Decathlon folders with the same case names stay four cases; a patient
    folder holding two time points ('pre_ct', 'post_ct': no ID) stays one patient."""
    label = np.zeros((4, 8, 8), np.uint8)
    label[1:3, 2:5, 2:5] = 1
    for centre in ("centreA", "centreB"):
        for case in ("p001", "p002"):
            _volume(np.ones((4, 8, 8), np.int16), tmp_path / centre / "imagesTr" / f"{case}.nrrd")
            _volume(label, tmp_path / centre / "labelsTr" / f"{case}.nrrd")
    for name in ("pre_ct", "pre_gtv", "post_ct", "post_gtv"):
        _volume(label, tmp_path / "MRN-123" / f"{name}.nrrd")
    with inventory_tree(tmp_path, workers=1) as inventory:
        assert sorted(inventory.patients) == [
            "folder:MRN-123",
            "folder:centreA/p001",
            "folder:centreA/p002",
            "folder:centreB/p001",
            "folder:centreB/p002",
        ]
        assert len(inventory.patients["folder:MRN-123"].volumes) == 4
        files = inventory.patients["folder:centreB/p002"].volumes
        assert sorted((r.shown, r.case_name) for r in files) == [
            ("centreB/imagesTr/p002.nrrd", "image.nrrd"),
            ("centreB/labelsTr/p002.nrrd", "label.nrrd"),
        ]


def test_brats_cases_import_their_t1ce_and_tumour_core(tmp_path: Path) -> None:
    """BraTS: a folder per case, files named <case>_t1, _t1ce, _t2, _flair, _seg (labels 1
    necrosis, 2 oedema, 4 enhancing). ``--modality MR --image t1ce`` reads the contrast T1; one
    ROI map entry ('seg.nii.gz:1', 'seg.nii.gz:4', by the role words after the case key) makes
    every patient's GTV its tumour core; a wrong --image is refused naming the case's files."""
    rng = np.random.default_rng(3)
    truth = {}
    for k, case in enumerate(("BraTS20_Training_001", "BraTS20_Training_002")):
        seg = np.zeros((10, 24, 24), np.uint8)
        seg[2:8, 4:20, 4:20] = 2
        seg[3:7, 8 + k : 14 + k, 8:14] = 4
        seg[4:6, 10:12, 10:12] = 1
        arrays = {s: rng.normal(300, 50, seg.shape).astype(np.float32) for s in ("t1", "t1ce")}
        arrays |= {s: rng.normal(300, 50, seg.shape).astype(np.float32) for s in ("t2", "flair")}
        for name, array in (*arrays.items(), ("seg", seg)):
            _volume(array, tmp_path / "brats" / case / f"{case}_{name}.nii.gz")
        truth[case] = (arrays["t1ce"], np.isin(seg, (1, 4)))
    roi_map = check_roi_map({"default": {"gtv": ["seg.nii.gz:1", "seg.nii.gz:4"]}})
    common = {"roi_map": roi_map, "modality": "MR", "workers": 1}
    result = import_images(tmp_path / "brats", tmp_path / "cohort", image="t1ce", **common)
    assert result.counts()["imported"] == 2, [o.reason for o in result.outcomes]
    cases = [
        load_case(Path(row.image).parent, modality="MR")
        for _, row in read_manifest(tmp_path / "cohort").iterrows()
    ]
    for t1ce, core in truth.values():
        assert any(
            np.array_equal(sitk.GetArrayFromImage(c.image), t1ce)
            and np.array_equal(sitk.GetArrayFromImage(c.masks["gtv"]).astype(bool), core)
            for c in cases
        )
    wrong = import_images(tmp_path / "brats", tmp_path / "wrong", image="t1gd", **common)
    assert {o.status for o in wrong.outcomes} == {"failed"}
    assert "no volume is named 't1gd'" in wrong.outcomes[0].reason
    assert "_t1ce.nii.gz" in wrong.outcomes[0].reason


def test_a_brats_download_imported_without_modality_is_mr_as_score_reads_it(
    shared_data: Path, tmp_path: Path
) -> None:
    """pyradiomics' real brain MRs as BraTS patient folders ('BraTS_001_t1ce.nrrd' beside
    'BraTS_001_seg.nrrd'): imported without --modality they were CT in the manifest and their
    features, while `score` read the same patient folder as MR by its image's name and a model
    of the cohort refused it. The import reads them by the same rule: MR, contrast T1."""
    download = tmp_path / "download"
    for number, sample in enumerate(("brain1", "brain2"), 1):
        folder = download / f"BraTS_{number:03d}"
        folder.mkdir(parents=True)
        for kind, role in (("image", "t1ce"), ("label", "seg")):
            source = shared_data / "pyradiomics" / f"{sample}_{kind}.nrrd"
            shutil.copy(source, folder / f"BraTS_{number:03d}_{role}.nrrd")
    result = import_images(download, tmp_path / "cohort", workers=1)
    assert result.counts()["imported"] == 2, [o.reason for o in result.outcomes]
    assert result.modalities == {"MR": 2}
    assert set(read_manifest(tmp_path / "cohort")["modality"]) == {"MR"}
    for case in (tmp_path / "cohort" / "cases").iterdir():
        # its image.nii.gz names no modality: the manifest's is read (scored alone, it was CT)
        assert (load_case(case).modality, load_case(case).sequence) == ("MR", "T1C")
    patient = load_case(download / "BraTS_001")
    assert (patient.modality, patient.sequence, patient.modality_word) == ("MR", "T1C", "t1ce")


def test_a_cohort_of_as_many_cases_of_two_modalities_is_not_extracted_as_either(
    shared_data: Path, tmp_path: Path
) -> None:
    """Two patients' brain MRs named 't1ce' and two lung CTs named 'image' (pyradiomics' real
    samples): `extract` took the tie as CT, refused the MR cases and told them to import as CT.
    A tie is refused asking for --modality; otherwise the most cases' modality is extracted."""
    from survival_core.features.cohort import cohort_modality

    download = tmp_path / "download"
    samples = (("brain1", "t1ce"), ("brain2", "t1ce"), ("lung1", "image"), ("lung2", "image"))
    for number, (sample, role) in enumerate(samples, 1):
        folder = download / f"P{number:03d}"
        folder.mkdir(parents=True)
        for kind, name in (("image", role), ("label", "seg")):
            source = shared_data / "pyradiomics" / f"{sample}_{kind}.nrrd"
            shutil.copy(source, folder / f"P{number:03d}_{name}.nrrd")
    result = import_images(download, tmp_path / "cohort", workers=1)
    assert result.modalities == {"MR": 2, "CT": 2}
    with pytest.raises(InputError, match=r"several modalities \((2 CT, 2 MR|2 MR, 2 CT)\)"):
        cohort_modality(tmp_path / "cohort")
    shutil.copytree(download / "P002", download / "P005")  # a third MR (the same images)
    for path in (download / "P005").iterdir():
        path.rename(path.with_name(path.name.replace("P002", "P005")))
    assert import_images(download, tmp_path / "cohort", workers=1).modalities == {"MR": 3, "CT": 2}
    assert cohort_modality(tmp_path / "cohort") == "MR"


def test_brats_2023_names_import_each_sequence(tmp_path: Path) -> None:
    """BraTS 2023: '<case>-t1n', '-t1c', '-t2w', '-t2f' and '-seg' (3 = enhancing). Each
    sequence is a file of the case (before, t1n and t2f were not recognised and so left out),
    ``--image t2f`` reads the FLAIR, the whole tumour (labels 1-3) is made of the labels a
    patient's map holds (here no necrosis, with a warning; none of them: refused), and an upload
    keeps the four names apart (not t1, t1-2)."""
    from survival_core.io.uploads import neutral_names

    rng = np.random.default_rng(5)
    sequences = ("t1n", "t1c", "t2w", "t2f")
    truth = {}
    for k in range(2):
        case = f"BraTS-GLI-0000{k}-000"
        seg = np.zeros((8, 20, 20), np.uint8)
        seg[2:6, 4:16, 4:16], seg[3:5, 6 + k : 12 + k, 6:12] = 2, 3
        arrays = {q: rng.normal(300, 50, seg.shape).astype(np.float32) for q in sequences}
        for name, array in (*arrays.items(), ("seg", seg)):
            _volume(array, tmp_path / "brats" / case / f"{case}-{name}.nii.gz")
        truth[case] = (arrays["t2f"], seg > 0)
    roi_map = check_roi_map({"default": {"gtv": [f"seg.nii.gz:{v}" for v in (1, 2, 3)]}})
    result = import_images(
        tmp_path / "brats", tmp_path / "cohort", roi_map=roi_map, modality="MR", image="t2f",
        workers=1,
    )  # fmt: skip
    assert result.counts()["imported"] == 2, [o.reason for o in result.outcomes]
    for outcome in result.outcomes:  # no necrosis drawn: the GTV is the labels held, said
        assert "seg.nii.gz:1', listed for the gtv" in outcome.reason
    only_necrosis = check_roi_map({"default": {"gtv": ["seg.nii.gz:1"]}})
    refused = import_images(
        tmp_path / "brats", tmp_path / "none", roi_map=only_necrosis, modality="MR", workers=1
    )
    assert {o.status for o in refused.outcomes} == {"failed"}
    for _, row in read_manifest(tmp_path / "cohort").iterrows():
        case = load_case(Path(row.image).parent, modality="MR")
        assert case.sequence == "FLAIR"  # kept beside 'image.nii.gz', which no longer says it
        assert any(
            np.array_equal(sitk.GetArrayFromImage(case.image), flair)
            and np.array_equal(case.mask_array("gtv"), whole)
            for flair, whole in truth.values()
        )
    stored = neutral_names([f"BraTS-GLI-00000-000-{q}.nii.gz" for q in sequences])
    assert sorted(stored.values()) == sorted(f"{q}.nii.gz" for q in sequences)


def test_an_upload_suggests_the_image_and_modality_its_names_give(tmp_path: Path) -> None:
    """A HECKTOR case uploaded with both images suggests its CT; with its PET alone, the PET as
    a PT image (the Case page pre-selects both). De-identification drops the ID from the names."""
    from survival_core.io.dataset_layout import named_modality
    from survival_core.io.upload_case import describe_upload
    from survival_core.io.uploads import store_upload

    assert [named_modality(s) for s in ("CHUM-001__PT", "BraTS20_001_t1ce", "CT", "CHUM-001")] == [
        "PT",
        "MR",
        "CT",
        None,
    ]
    _hecktor_case(tmp_path, "CHUM-001", 0)
    files = {p.name: p.read_bytes() for p in tmp_path.rglob("*.nii.gz")}
    both = describe_upload(store_upload(list(files.items())))
    assert (both.suggested_image(), both.suggested_modality()) == ("CT.nii.gz", "CT")
    del files["CHUM-001__CT.nii.gz"]
    pet = describe_upload(store_upload(list(files.items())))
    assert (pet.suggested_image(), pet.suggested_modality()) == ("PT.nii.gz", "PT")


def test_masks_named_after_the_ct_they_were_drawn_on_stay_masks(tmp_path: Path) -> None:
    """'gtv_ct.nii.gz' beside 'image.nii.gz' is the GTV drawn on the CT, not a second CT."""
    label = np.zeros((6, 16, 16), np.uint8)
    label[2:4, 5:9, 5:9] = 1
    _volume(np.full((6, 16, 16), 40, np.int16) - 1000 * (label == 0), tmp_path / "image.nii.gz")
    _volume(label, tmp_path / "gtv_ct.nii.gz")
    case = load_case(tmp_path)
    assert sitk.GetArrayFromImage(case.masks["gtv"]).sum() == label.sum()


def test_a_whole_dataset_loaded_as_one_case_is_refused_naming_its_cases(tmp_path: Path) -> None:
    """Two HECKTOR patients' files given as one case: never one patient's image with another's
    label; the message names the cases and the cohort import."""
    for k, patient in enumerate(("CHUM-001", "MDA-017")):
        _hecktor_case(tmp_path, patient, k)
    with pytest.raises(InputError, match=r"2 cases of a dataset \(CHUM-001, MDA-017\).*cohort"):
        load_case(tmp_path, roles={"gtv": ["labelsTr/CHUM-001.nii.gz:1"]})


def test_four_digit_ids_that_images_and_labels_share_are_the_case() -> None:
    """'imagesTr/lung_0001' + 'labelsTr/lung_0001': the 4 digits are the ID (labels carry no
    channel), not an nnU-Net channel that would make every file one case 'lung'; nnU-Net's own
    'case_0001_0000' still reads as case_0001's first channel."""
    found = dataset_cases(
        [f"{folder}/lung_000{k}.nii.gz" for k in (1, 2) for folder in ("imagesTr", "labelsTr")]
    )
    assert found["imagesTr/lung_0001.nii.gz"] == DatasetFile("lung_0001", "image.nii.gz")
    assert found["labelsTr/lung_0002.nii.gz"] == DatasetFile("lung_0002", "label.nii.gz")
    nnunet = dataset_cases(
        [
            "imagesTr/case_0001_0000.nii.gz",
            "imagesTr/case_0001_0001.nii.gz",
            "labelsTr/case_0001.nii.gz",
        ]
    )
    assert nnunet["imagesTr/case_0001_0001.nii.gz"] == DatasetFile(
        "case_0001", "channel_0001.nii.gz"
    )
    assert nnunet["labelsTr/case_0001.nii.gz"] == DatasetFile("case_0001", "label.nii.gz")
