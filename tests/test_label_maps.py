"""Label-map masks (LiTS / Decathlon / HECKTOR layouts, 3D Slicer segmentations): one structure per
label, named by the file's segment names when it has them, mapped to roles, kept through upload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import MaskError, RTStructError
from survival_core.io.case_loader import list_structures, load_case
from survival_core.io.upload_case import describe_upload, load_upload
from survival_core.io.uploads import store_upload
from survival_core.io.volume import read_label_masks
from tests.case_builders import zipped as as_zip
from tests.dicom_fixtures import hu_volume
from tests.test_case_loader import masks_of, to_image

LABELS = "labelsTr/liver_7.nii.gz"


def label_map() -> np.ndarray:
    """1 = liver without the tumour, 2 = tumour (the LiTS and Decathlon convention)."""
    liver, gtv = masks_of()
    return (liver * 1 + gtv * 1).astype(np.uint8) * (gtv == 0) + gtv * 2


def write_decathlon_case(folder: Path) -> None:
    for sub in ("imagesTr", "labelsTr"):
        (folder / sub).mkdir(parents=True)
    sitk.WriteImage(
        to_image(hu_volume((8, 24, 24)).astype(np.int16)),
        str(folder / "imagesTr" / "liver_7.nii.gz"),
    )
    sitk.WriteImage(to_image(label_map()), str(folder / LABELS))


def write_slicer_segmentation(path: Path) -> None:
    image = to_image(label_map())
    for index, (name, value) in enumerate((("Liver", 1), ("GTV", 2))):
        image.SetMetaData(f"Segment{index}_Name", name)
        image.SetMetaData(f"Segment{index}_LabelValue", str(value))
        image.SetMetaData(f"Segment{index}_Layer", "0")
    sitk.WriteImage(image, str(path))


def test_decathlon_labels_are_structures_mapped_by_the_user(tmp_path: Path) -> None:
    write_decathlon_case(tmp_path / "case")
    assert list_structures(tmp_path / "case") == [f"{LABELS}:1", f"{LABELS}:2"]

    roles = {"gtv": f"{LABELS}:2", "organ": [f"{LABELS}:1", f"{LABELS}:2"]}  # whole liver
    case = load_case(tmp_path / "case", roles=roles)
    liver, gtv = masks_of()
    np.testing.assert_array_equal(case.mask_array("gtv"), gtv.astype(bool))
    np.testing.assert_array_equal(case.mask_array("organ"), liver.astype(bool))
    assert case.array().shape == (8, 24, 24)  # the image from imagesTr/, not the label map

    with pytest.raises(RTStructError, match=rf"No structure is recognised as the GTV.*{LABELS}:1"):
        load_case(tmp_path / "case", site="liver")
    with pytest.raises(RTStructError, match=rf"No structure named '{LABELS}:3'.* has '{LABELS}:1'"):
        load_case(tmp_path / "case", roles={"gtv": f"{LABELS}:3"})


def test_slicer_segment_names_fill_the_roles_through_an_upload(tmp_path: Path) -> None:
    sitk.WriteImage(to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nrrd"))
    write_slicer_segmentation(tmp_path / "Segmentation.seg.nrrd")
    files = [(p.name, p.read_bytes()) for p in sorted(tmp_path.glob("*.nrrd"))]

    contents = describe_upload(store_upload(files))  # de-identified: the segment names stay
    assert set(contents.structures) == {"image.nrrd", "GTV", "Liver"}
    assert contents.suggested_image() == "image.nrrd"
    assert contents.suggested_roles() == {"gtv": ["GTV"], "organ": ["Liver"]}
    case = load_upload(contents, contents.suggested_roles(), site="liver")
    liver, gtv = masks_of()
    np.testing.assert_array_equal(case.mask_array("gtv"), gtv.astype(bool))
    np.testing.assert_array_equal(case.mask_array("organ"), liver.astype(bool))  # tumour added


def write_layered_slicer_segmentation(
    path: Path, names: bool = True, slicer_4_10: bool = False
) -> None:
    """A segmentation as 3D Slicer writes overlapping segments: the whole liver (layer 0) and the
    tumour inside it (layer 1), one byte per layer and voxel (``kinds: list domain domain
    domain``), gzip-encoded, each segment's name, label value and layer in the header (Slicer
    4.10 and before: its name only, every segment a layer of its own)."""
    import gzip

    from tests.test_case_loader import ORIGIN, SPACING

    liver, gtv = masks_of()
    layers = np.stack([liver, gtv], axis=-1)  # z, y, x, layer: the layer varies fastest
    z, y, x = liver.shape
    header = [
        "NRRD0004",
        "type: unsigned char",
        "dimension: 4",
        "space: left-posterior-superior",
        f"sizes: 2 {x} {y} {z}",
        f"space directions: none ({SPACING[0]},0,0) (0,{SPACING[1]},0) (0,0,{SPACING[2]})",
        "kinds: list domain domain domain",
        "encoding: gzip",
        f"space origin: ({ORIGIN[0]},{ORIGIN[1]},{ORIGIN[2]})",
    ]
    if names:
        for index, (name, layer) in enumerate((("Liver", 0), ("GTV", 1))):
            header += [
                f"Segment{index}_ID:=Segment_{index + 1}",
                f"Segment{index}_Name:={name}",
            ]
            if not slicer_4_10:
                header += [f"Segment{index}_LabelValue:=1", f"Segment{index}_Layer:={layer}"]
    path.write_bytes(("\n".join(header) + "\n\n").encode() + gzip.compress(layers.tobytes()))


@pytest.mark.parametrize("slicer_4_10", [False, True])
def test_overlapping_slicer_segments_in_layers_fill_the_roles_through_an_upload(
    tmp_path: Path, slicer_4_10: bool
) -> None:
    """The tumour inside the whole liver, as Slicer stores it (two layers): both structures are
    read whole, named by the header, through upload de-identification; a Slicer 4.10 header
    (names, no label values nor layers) was read as unnamed labels ('...seg.nrrd:1', ':1.1')."""
    sitk.WriteImage(to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nrrd"))
    write_layered_slicer_segmentation(tmp_path / "Segmentation.seg.nrrd", slicer_4_10=slicer_4_10)
    files = [(p.name, p.read_bytes()) for p in sorted(tmp_path.glob("*.nrrd"))]
    contents = describe_upload(store_upload(files))
    assert set(contents.structures) == {"image.nrrd", "GTV", "Liver"}
    assert contents.suggested_roles() == {"gtv": ["GTV"], "organ": ["Liver"]}
    case = load_upload(contents, contents.suggested_roles(), site="liver")
    liver, gtv = masks_of()
    np.testing.assert_array_equal(case.mask_array("gtv"), gtv.astype(bool))
    np.testing.assert_array_equal(case.mask_array("organ"), liver.astype(bool))  # tumour inside


def test_layers_without_segment_names_are_file_layer_label(tmp_path: Path) -> None:
    sitk.WriteImage(to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nrrd"))
    write_layered_slicer_segmentation(tmp_path / "labels.seg.nrrd", names=False)
    assert list_structures(tmp_path) == ["labels.seg.nrrd:1", "labels.seg.nrrd:1.1"]
    case = load_case(tmp_path, roles={"gtv": "labels.seg.nrrd:1.1", "organ": "labels.seg.nrrd:1"})
    liver, gtv = masks_of()
    np.testing.assert_array_equal(case.mask_array("gtv"), gtv.astype(bool))
    np.testing.assert_array_equal(case.mask_array("organ"), liver.astype(bool))


def test_a_label_map_of_too_many_labels_is_said_so(tmp_path: Path) -> None:
    """A one-file map of every organ (TotalSegmentator's --ml: 117 labels) was dropped as 'an
    image, not a mask or label map': the note says what it is and what to give instead."""
    sitk.WriteImage(
        to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nii.gz")
    )
    sitk.WriteImage(to_image(label_map()), str(tmp_path / "tumor.nii.gz"))
    organs = (np.arange(8 * 24 * 24) % 118).reshape(8, 24, 24).astype(np.uint8)
    sitk.WriteImage(to_image(organs), str(tmp_path / "segmentations.nii.gz"))
    case = load_case(tmp_path, roles={"gtv": "tumor.nii.gz:2"})
    assert any(
        "segmentations.nii.gz holds 117 labels, more than the 64" in w
        and "TotalSegmentator" in w
        and "in the case folder's roles.json or an import's ROI map; the Case page lists" in w
        for w in case.warnings
    )
    scan = (np.arange(8 * 24 * 24) % 1500).reshape(8, 24, 24).astype(np.uint16)  # an MR's values
    sitk.WriteImage(to_image(scan), str(tmp_path / "segmentations.nii.gz"))
    case = load_case(tmp_path, roles={"gtv": "tumor.nii.gz:2"})
    assert (
        "segmentations.nii.gz holds an image, not a mask or label map: not read." in case.warnings
    )


def test_a_label_named_of_a_map_of_every_organ_is_read(shared_data: Path, tmp_path: Path) -> None:
    """TotalSegmentator's one-file output (--ml: 117 labels) beside pyradiomics' real lung1 CT,
    the tumour as label 10: a role naming 'segmentations.nii.gz:10' was refused as 'Is it an
    image?'; now that label alone is read, and a label it lacks, or the whole file, is refused
    saying what the file is and how to name a label."""
    source = shared_data / "pyradiomics"
    if not (source / "lung1_image.nrrd").is_file():
        pytest.skip("pyradiomics samples not in ../shared/data")
    image = sitk.ReadImage(str(source / "lung1_image.nrrd"))
    tumour = sitk.GetArrayFromImage(sitk.ReadImage(str(source / "lung1_label.nrrd"))) > 0
    organs = np.zeros(tumour.shape, np.uint8)
    for label in (k for k in range(1, 118) if k != 10):  # a slab per organ, away from the tumour
        organs[label % 48, 5 + label // 48 * 3 : 7 + label // 48 * 3, 2 * label : 2 * label + 2] = (
            label
        )
    organs[tumour] = 10
    segmentations = sitk.GetImageFromArray(organs)
    segmentations.CopyInformation(image)
    sitk.WriteImage(image, str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(segmentations, str(tmp_path / "segmentations.nii.gz"))

    case = load_case(tmp_path, roles={"gtv": "segmentations.nii.gz:10"})
    np.testing.assert_array_equal(case.mask_array("gtv"), tumour)
    assert list(case.structures) == ["segmentations.nii.gz:10"] and not case.warnings
    what = r"holds 117 different values \(1-117\), more than the 64 labels .* read with whole\."
    every = (
        r" A one-file map of every organ \(TotalSegmentator's --ml\): name the label "
        r".*\.nii\.gz:10'\), in the case folder's roles.json or an import's ROI map; the Case "
        r"page lists such a file whole, not its labels: there, give the organ's own mask file\."
    )  # where a label can be named: the Case page's role choice offers the file alone
    with pytest.raises(MaskError, match=what + " It holds no label 200." + every):
        load_case(tmp_path, roles={"gtv": "segmentations.nii.gz:200"})
    with pytest.raises(MaskError, match=what + every):
        load_case(tmp_path, roles={"gtv": "segmentations.nii.gz"})


def lung1(shared_data: Path) -> tuple[sitk.Image, np.ndarray]:
    """pyradiomics' real lung1 CT and its tumour's voxels (the test skips without them)."""
    source = shared_data / "pyradiomics"
    if not (source / "lung1_image.nrrd").is_file():
        pytest.skip("pyradiomics samples not in ../shared/data")
    tumour = sitk.GetArrayFromImage(sitk.ReadImage(str(source / "lung1_label.nrrd"))) > 0
    return sitk.ReadImage(str(source / "lung1_image.nrrd")), tumour


def on_grid(array: np.ndarray, image: sitk.Image) -> sitk.Image:
    """``array`` (z, y, x) as a volume on ``image``'s grid."""
    volume = sitk.GetImageFromArray(array)
    volume.CopyInformation(image)
    return volume


@pytest.mark.parametrize("typed", ["gtv.nrrd:2.", "gtv.nrrd:²", "gtv.nrrd:٢", "gtv.nrrd:.2"])
def test_a_role_naming_no_label_by_a_typo_is_refused_naming_it(
    shared_data: Path, tmp_path: Path, typed: str
) -> None:
    """lung1's GTV saved as label 2, a role naming it with a typo (a trailing dot, a superscript
    or Arabic-Indic digit): int() raised 'invalid literal' from deep in the loader; now the name
    is no label and is refused as any unknown name is, saying what the case has."""
    image, tumour = lung1(shared_data)
    sitk.WriteImage(image, str(tmp_path / "image.nrrd"))
    sitk.WriteImage(on_grid(tumour.astype(np.uint8) * 2, image), str(tmp_path / "gtv.nrrd"))
    case = load_case(tmp_path, roles={"gtv": ["gtv.nrrd:2"]})
    np.testing.assert_array_equal(case.mask_array("gtv"), tumour)
    with pytest.raises(
        RTStructError, match=rf"No structure named '{typed}' for the gtv; the case has 'gtv.nrrd:2'"
    ):
        load_case(tmp_path, roles={"gtv": [typed]})


def test_masks_in_a_sub_folder_beside_the_case_are_said_unread(tmp_path: Path) -> None:
    """TotalSegmentator's 'segmentations/' beside the image and the GTV: the liver in it was not
    read, and the case had no organ without a word."""
    sitk.WriteImage(
        to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nii.gz")
    )
    liver, gtv = masks_of()
    sitk.WriteImage(to_image(gtv.astype(np.uint8)), str(tmp_path / "tumor.nii.gz"))
    (tmp_path / "segmentations").mkdir()
    for organ in ("liver", "spleen"):
        sitk.WriteImage(
            to_image(liver.astype(np.uint8)), str(tmp_path / "segmentations" / f"{organ}.nii.gz")
        )
    case = load_case(tmp_path)
    assert "organ" not in case.masks
    assert any(
        w.startswith("segmentations/ holds 2 volume file(s), not read") for w in case.warnings
    )


def test_an_image_is_no_label_map(tmp_path: Path) -> None:
    ramp = np.arange(8 * 24 * 24, dtype=np.int16).reshape(8, 24, 24) % 300
    sitk.WriteImage(to_image(ramp), str(tmp_path / "other.nii.gz"))
    reference = to_image(ramp)
    with pytest.raises(MaskError, match="holds 299 different values.*Is it an image"):
        read_label_masks(tmp_path / "other.nii.gz", reference, name="mask other")


def test_a_slicer_segmentation_given_for_each_role_gives_its_named_segment(
    tmp_path: Path,
) -> None:
    """The same Slicer file (whole liver and tumour, overlapping in layers, or one layer) given
    as both the GTV and the organ mask of an explicit upload: each role takes the segment its
    name gives (before: refused, "2 values per voxel"), the organ including its tumour also
    where the segments could not overlap; a Decathlon label map, whose labels have no names, is
    refused listing them."""
    from survival_core.io.case_loader import load_case_files

    image = tmp_path / "image.nrrd"
    sitk.WriteImage(to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(image))
    liver, gtv = masks_of()
    for name, writer in (
        ("layers.seg.nrrd", write_layered_slicer_segmentation),
        ("flat.seg.nrrd", write_slicer_segmentation),
    ):
        writer(tmp_path / name)
        masks = {"gtv": tmp_path / name, "organ": tmp_path / name}
        case = load_case_files(image, masks, None, "UP-1", site="liver")
        np.testing.assert_array_equal(case.mask_array("gtv"), gtv.astype(bool))
        np.testing.assert_array_equal(case.mask_array("organ"), liver.astype(bool))
        # one layer: the Liver segment stops at the tumour, which is added to it, said so
        added = [w for w in case.warnings if "leaves out the tumour" in w]
        assert len(added) == (name == "flat.seg.nrrd")
    write_decathlon_case(tmp_path / "decathlon")
    with pytest.raises(MaskError, match=r"gtv mask liver_7.nii.gz: .*liver_7.nii.gz:1"):
        load_case_files(image, {"gtv": tmp_path / "decathlon" / LABELS}, None, "UP-2")


def test_only_an_organ_enclosing_the_tumour_gets_it_added() -> None:
    """A tumour carved out of the right lung (no shared voxel) is added to the lungs; a
    mediastinal node between the lungs (no shared voxel either, and inside their box) is not:
    its surroundings are not lung."""
    from survival_core.io.role_masks import assign_roles

    def image(array: np.ndarray) -> sitk.Image:
        return sitk.GetImageFromArray(array.astype(np.uint8))

    lungs = np.zeros((10, 30, 40), bool)
    lungs[1:9, 5:25, 3:15] = lungs[1:9, 5:25, 25:37] = True
    carved, node = np.zeros_like(lungs), np.zeros_like(lungs)
    carved[4:6, 12:16, 7:10] = True
    node[4:6, 12:16, 18:22] = True
    roles = {"organ": ["Lungs"], "gtv": ["GTV"]}
    lung = image(lungs & ~carved)
    enclosed = assign_roles({"Lungs": lung, "GTV": image(carved)}, roles, ("gtv",))
    assert sitk.GetArrayFromImage(enclosed.masks["organ"]).astype(bool).sum() == lungs.sum()
    assert any("leaves out the tumour" in w for w in enclosed.warnings)
    beside = assign_roles({"Lungs": image(lungs), "GTV": image(node)}, roles, ("gtv",))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(beside.masks["organ"]), lungs)
    assert not any("leaves out the tumour" in w for w in beside.warnings)


def test_a_one_segment_slicer_file_is_named_by_its_segment(tmp_path: Path) -> None:
    """A 3D Slicer file of one segment ('GTV' in its header) is that structure; roles naming
    the file still find it."""
    sitk.WriteImage(to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nrrd"))
    _, gtv = masks_of()
    segmentation = to_image(gtv.astype(np.uint8))
    for key, value in (("Name", "GTV"), ("LabelValue", "1"), ("Layer", "0")):
        segmentation.SetMetaData(f"Segment0_{key}", value)
    sitk.WriteImage(segmentation, str(tmp_path / "Segmentation.seg.nrrd"))
    assert list_structures(tmp_path) == ["GTV"]
    for roles in (None, {"gtv": "Segmentation.seg.nrrd"}):
        case = load_case(tmp_path, roles=roles)
        np.testing.assert_array_equal(case.mask_array("gtv"), gtv.astype(bool))


def write_two_gtv_segments(
    folder: Path, image: sitk.Image, first: np.ndarray, second: np.ndarray, layered: bool
) -> None:
    """``image`` and a 3D Slicer segmentation of two segments both named 'GTV': labels 1 and 2
    of one layer, or label 1 of two layers."""
    if layered:
        segmentation = sitk.Compose([on_grid(m.astype(np.uint8), image) for m in (first, second)])
    else:
        segmentation = on_grid((first * 1 + second * 2).astype(np.uint8), image)
    for index in (0, 1):
        segmentation.SetMetaData(f"Segment{index}_Name", "GTV")
        segmentation.SetMetaData(f"Segment{index}_LabelValue", str(1 if layered else index + 1))
        segmentation.SetMetaData(f"Segment{index}_Layer", str(index if layered else 0))
    sitk.WriteImage(image, str(folder / "image.nrrd"))
    sitk.WriteImage(segmentation, str(folder / "Segmentation.seg.nrrd"), True)


@pytest.mark.parametrize("layered", [False, True])
def test_slicer_segments_named_alike_are_united_and_said(
    shared_data: Path, tmp_path: Path, layered: bool
) -> None:
    """3D Slicer lets two segments share a name: pyradiomics' real lung1 tumour and a second
    lesion beside it, both 'GTV' (labels 1 and 2 of one layer, or label 1 of two layers). The
    first lesion was dropped without a word (the last name's mask overwrote it); now the GTV is
    both, and the case says why."""
    image, tumour = lung1(shared_data)
    second = np.roll(tumour, 80, axis=2)  # 45.6 mm to the patient's left
    write_two_gtv_segments(tmp_path, image, tumour, second, layered)

    assert list_structures(tmp_path) == ["GTV"]
    case = load_case(tmp_path)
    np.testing.assert_array_equal(case.mask_array("gtv"), tumour | second)
    labels = "label 1, label 1 of layer 1" if layered else "label 1, label 2"
    assert (
        f"Segmentation.seg.nrrd names 2 segments 'GTV' ({labels}): read as one structure, their "
        "union." in " ".join(case.warnings)
    )


@pytest.mark.parametrize("layered", [True, False])
def test_slicer_segments_named_alike_of_one_tumour_are_refused(
    shared_data: Path, tmp_path: Path, layered: bool
) -> None:
    """Two 'GTV' segments of lung1's tumour: the tumour and it grown by 2 voxels (another layer:
    they overlap), or the tumour and its 2-voxel rim (one layer). They were united, a GTV of 2,738
    voxels for the 837 drawn, with only the warning of lesions united; as two files the same
    masks were refused. Now the segments are refused too, naming them and why."""
    from scipy import ndimage

    image, tumour = lung1(shared_data)
    grown = ndimage.binary_dilation(tumour, iterations=2)
    write_two_gtv_segments(tmp_path, image, tumour, grown if layered else grown & ~tumour, layered)
    how = (
        "'label 1' and 'label 1 of layer 1' overlap"
        if layered
        else "'label 2' is drawn around 'label 1'"
    )
    segments = "label 1, label 1 of layer 1" if layered else "label 1, label 2"
    with pytest.raises(
        MaskError,
        match=rf"Segmentation.seg.nrrd names 2 segments 'GTV' \({segments}\): {how} .* one "
        r"tumour drawn twice, or a tumour and its rim.* Rename or delete one of them in 3D Slicer",
    ):
        load_case(tmp_path)


def test_a_float_mask_off_whole_numbers_by_rounding_is_read(tmp_path: Path) -> None:
    """A 0/1 mask stored as float32 after scaling: some voxels 0.99999994, not 1."""
    sitk.WriteImage(
        to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nii.gz")
    )
    _, gtv = masks_of()
    values = gtv.astype(np.float32)
    inside = np.flatnonzero(values)
    values.flat[inside[:5]] = np.float32(0.99999994)
    sitk.WriteImage(to_image(values), str(tmp_path / "gtv.nii.gz"))
    case = load_case(tmp_path)
    np.testing.assert_array_equal(case.mask_array("gtv"), gtv.astype(bool))
    values.flat[inside[:5]] = 0.5  # a probability map is no mask: refused with its value
    sitk.WriteImage(to_image(values), str(tmp_path / "gtv.nii.gz"))
    with pytest.raises(MaskError, match=r"values between 0 and 1 \(e\.g\. 0\.5\): a probab"):
        load_case(tmp_path, roles={"gtv": "gtv.nii.gz"})
    with pytest.raises(MaskError, match="a probability or partial-volume map, not a mask"):
        load_case(tmp_path)  # named as a mask: said so ('holds an image, not a mask' before)


def test_a_label_map_named_for_the_gtv_with_several_labels_asks_which(tmp_path: Path) -> None:
    """LiTS's map (1 liver, 2 tumour) saved as 'gtv.nii.gz': its two labels were united into a
    GTV five times the tumour, with only a note."""
    sitk.WriteImage(
        to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nii.gz")
    )
    sitk.WriteImage(to_image(label_map()), str(tmp_path / "gtv.nii.gz"))
    with pytest.raises(RTStructError, match=r"gtv.nii.gz holds 2 labels .*e\.g\. 'gtv.nii.gz:2'"):
        load_case(tmp_path)
    case = load_case(tmp_path, roles={"gtv": "gtv.nii.gz:2"})
    np.testing.assert_array_equal(case.mask_array("gtv"), masks_of()[1].astype(bool))


def test_asking_which_label_is_the_gtv_says_how_on_each_path(
    shared_data: Path, tmp_path: Path
) -> None:
    """pyradiomics' real lung1 CT with 'gtv.nii.gz' holding the tumour (2) and its lung around it
    (1): the refusal asked to 'say which label is the GTV', but score and extract have no option
    to say it. It names the Case page's role choice and the case folder's roles.json (whose
    example, written there, loads the tumour), and in an import the ROI map."""
    import json

    from scipy import ndimage

    from survival_core.cohort.importer import import_images

    source = shared_data / "pyradiomics"
    if not (source / "lung1_image.nrrd").is_file():
        pytest.skip("pyradiomics samples not in ../shared/data")
    label = sitk.ReadImage(str(source / "lung1_label.nrrd"))
    tumour = sitk.GetArrayFromImage(label) > 0
    around = ndimage.binary_dilation(tumour, iterations=4) & ~tumour
    labels = sitk.GetImageFromArray((around * 1 + tumour * 2).astype(np.uint8))
    labels.CopyInformation(label)
    case = tmp_path / "download" / "P1"
    case.mkdir(parents=True)
    (case / "image.nrrd").write_bytes((source / "lung1_image.nrrd").read_bytes())
    sitk.WriteImage(labels, str(case / "gtv.nii.gz"))

    with pytest.raises(RTStructError) as refusal:
        load_case(case)
    said = str(refusal.value)
    assert "on the Case page, by its role choice; for a case folder (score, extract), in a " in said
    example = said.rpartition("roles.json beside its files: ")[2].rstrip(".")
    assert json.loads(example) == {"gtv": ["gtv.nii.gz:2"]}
    result = import_images(tmp_path / "download", tmp_path / "cohort", workers=1)
    reason = result.outcomes[0].reason
    assert (
        "Say which label is the GTV (e.g. 'gtv.nii.gz:2'; several for their union) in the "
        in reason
    )
    assert "ROI map (--roi-map FILE" in reason and "roles.json" not in reason
    (case / "roles.json").write_text(example)
    np.testing.assert_array_equal(load_case(case).mask_array("gtv"), tumour)


@pytest.mark.parametrize("zipped", [False, True])
def test_an_upload_of_a_label_map_named_for_the_gtv_asks_which_label(
    tmp_path: Path, zipped: bool
) -> None:
    """The same LiTS map as 'tumor.nii.gz' uploaded beside its CT: both labels were suggested as
    the GTV and the roles read as clear (a zip then loads unasked), so the GTV was the liver and
    the tumour, without a word."""
    sitk.WriteImage(
        to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "image.nii.gz")
    )
    sitk.WriteImage(to_image(label_map()), str(tmp_path / "tumor.nii.gz"))
    files = [(n, (tmp_path / n).read_bytes()) for n in ("image.nii.gz", "tumor.nii.gz")]
    contents = describe_upload(store_upload(as_zip(files) if zipped else files))
    assert contents.suggested_roles() == {} and not contents.roles_clear()
    with pytest.raises(RTStructError, match=r"tumor.nii.gz holds 2 labels"):
        load_upload(contents, contents.suggested_roles())
    case = load_upload(contents, {"gtv": ["tumor.nii.gz:2"]})
    np.testing.assert_array_equal(case.mask_array("gtv"), masks_of()[1].astype(bool))


def test_a_decathlon_case_folder_with_its_dataset_json_loads(tmp_path: Path) -> None:
    """A Decathlon case as downloaded, 'imagesTr/' and 'labelsTr/' beside 'dataset.json': the
    JSON at the top sent the folder to the DICOM reader ("No DICOM files found")."""
    for folder, volume in (
        ("imagesTr", hu_volume((8, 24, 24)).astype(np.int16)),
        ("labelsTr", label_map()),
    ):
        (tmp_path / folder).mkdir()
        sitk.WriteImage(to_image(volume), str(tmp_path / folder / "liver_4.nii.gz"))
    (tmp_path / "dataset.json").write_text(
        '{"labels": {"0": "background", "1": "liver", "2": "cancer"}}'
    )
    (tmp_path / "README.md").write_text("Task03_Liver")
    case = load_case(tmp_path, roles={"gtv": "labelsTr/liver_4.nii.gz:2"})
    assert case.array().min() < 0  # the CT, not the labels
    np.testing.assert_array_equal(case.mask_array("gtv"), masks_of()[1].astype(bool))


def test_nnunet_channel_naming_in_a_patients_folder_finds_the_image(tmp_path: Path) -> None:
    """'P003_0000.nii.gz' (the image's first channel) beside 'P003.nii.gz' (its labels): "cannot
    tell which volume is the image" before."""
    sitk.WriteImage(
        to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(tmp_path / "P003_0000.nii.gz")
    )
    sitk.WriteImage(to_image(label_map()), str(tmp_path / "P003.nii.gz"))
    with pytest.raises(RTStructError, match=r"recognised as the GTV .*'P003.nii.gz:1', 'P003"):
        load_case(tmp_path)  # the image found; which label is the GTV is the user's to say
    case = load_case(tmp_path, roles={"gtv": "P003.nii.gz:2"})
    assert case.array().shape == (8, 24, 24) and case.array().min() < 0  # the CT, not labels
    np.testing.assert_array_equal(case.mask_array("gtv"), masks_of()[1].astype(bool))


def test_roi_map_names_a_layer_label_of_an_unnamed_slicer_segmentation(tmp_path: Path) -> None:
    """A ROI map naming 'labels.seg.nrrd:1.1' (layer 1, label 1 of a segmentation without
    segment names) matched nothing at cohort import, which read only 'file:label'; the
    patient failed without a tumour though the case loads it by that name."""
    from survival_core.cli.main import main
    from survival_core.io.manifest import read_manifest

    patient = tmp_path / "download" / "P1"
    patient.mkdir(parents=True)
    sitk.WriteImage(to_image(hu_volume((8, 24, 24)).astype(np.int16)), str(patient / "image.nrrd"))
    write_layered_slicer_segmentation(patient / "labels.seg.nrrd", names=False)
    roi_map = tmp_path / "roi.yaml"
    roi_map.write_text("default:\n  gtv: ['labels.seg.nrrd:1.1']\n  organ: ['labels.seg.nrrd:1']\n")
    out = tmp_path / "cohort"
    argv = ["cohort", "import", "--images", str(tmp_path / "download"), "--out", str(out)]
    assert main([*argv, "--roi-map", str(roi_map), "--site", "liver", "--workers", "1"]) == 0
    (case_id,) = read_manifest(out)["case_id"]
    case = load_case(out / "cases" / case_id)
    liver, gtv = masks_of()
    np.testing.assert_array_equal(case.mask_array("gtv"), gtv.astype(bool))
    np.testing.assert_array_equal(case.mask_array("organ"), liver.astype(bool))


@pytest.mark.parametrize(
    ("file", "named"), [("CHUM-001.nii.gz", True), ("gtv.nii.gz", True), ("gtv.nii.gz", False)]
)
def test_a_gtv_file_of_one_label_other_than_1_is_taken_with_a_note(
    shared_data: Path, tmp_path: Path, file: str, named: bool
) -> None:
    """lung1's tumour saved as label 2 alone (a HECKTOR patient's nodes without a primary), the
    file named whole as the GTV, by a role (a manifest's gtv_mask) or by its own name in a loose
    folder ('gtv.nii.gz', taken silently there): taken, with the note a loose folder's lone
    'label.nii.gz:2' has."""
    image, tumour = lung1(shared_data)
    roles = {"gtv": [file]} if named else None
    sitk.WriteImage(image, str(tmp_path / "image.nrrd"))
    sitk.WriteImage(on_grid(tumour.astype(np.uint8) * 2, image), str(tmp_path / file))
    case = load_case(tmp_path, roles=roles, image_name="image.nrrd")
    np.testing.assert_array_equal(case.mask_array("gtv"), tumour)
    assert (
        f"{file}:2 is the only label of {file}, named as the GTV, and not label 1 (in HECKTOR's "
        "label maps 2 is the lymph nodes): it is taken as the GTV (tumour). If it is not the "
        "tumour, say which structure is (on the Case page"
    ) in " ".join(case.warnings)
    said = load_case(tmp_path, roles={"gtv": [f"{file}:2"]}, image_name="image.nrrd")
    assert said.warnings == []  # the label named: nothing taken for want of a word
    sitk.WriteImage(on_grid(tumour.astype(np.uint8), image), str(tmp_path / file))
    assert load_case(tmp_path, roles=roles, image_name="image.nrrd").warnings == []


@pytest.mark.parametrize("file", ["m.nii.gz", "gtv.nii.gz"])
@pytest.mark.parametrize(("value", "said"), [(3, True), (1000, False), (65535, False)])
def test_a_gtv_files_one_value_above_a_label_maps_is_a_binary_mask(
    shared_data: Path, tmp_path: Path, value: int, said: bool, file: str
) -> None:
    """lung1's tumour saved as 0/1000 or 16-bit white 0/65535 and named whole as the GTV (by a
    role, or 'gtv.nii.gz' by its name): a binary mask written another way, taken with no note
    (the note on label 2's nodes fired on them); a lone label 3 is said, without the HECKTOR
    nodes' aside that is label 2's."""
    image, tumour = lung1(shared_data)
    roles = {"gtv": [file]} if file == "m.nii.gz" else None
    sitk.WriteImage(image, str(tmp_path / "image.nrrd"))
    sitk.WriteImage(on_grid(tumour.astype(np.uint16) * value, image), str(tmp_path / file))
    case = load_case(tmp_path, roles=roles, image_name="image.nrrd")
    np.testing.assert_array_equal(case.mask_array("gtv"), tumour)
    warned = " ".join(case.warnings)
    assert (f"{file}:3 is the only label of {file}" in warned) is said
    assert "HECKTOR" not in warned
