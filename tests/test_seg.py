"""DICOM SEG: round trips through highdicom-written SEGs, placement by position (not frame order),
refusals, and every RT or SEG file pydicom ships."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_files
from pydicom.dataset import Dataset
from pydicom.pixels import pack_bits
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless, RLELossless

from survival_core.errors import DicomError, RadSurvError, SegError
from survival_core.io.dicom_series import SeriesInfo, read_series, scan_dicom
from survival_core.io.dicom_write import write_ct_series
from survival_core.io.seg import read_seg, seg_to_masks

SHAPE = (7, 20, 23)  # z, y, x: 20 x 23 = 460 pixels, so BINARY frames are not byte aligned
SPACING = (0.8, 0.9, 2.5)
DIRECTIONS = {
    "axial": (1, 0, 0, 0, 1, 0, 0, 0, 1),
    "axial flipped": (-1, 0, 0, 0, -1, 0, 0, 0, 1),
    "coronal": (1, 0, 0, 0, 0, 1, 0, -1, 0),
}
TYPES = {"GTV": codes.SCT.Neoplasm, "Liver": codes.SCT.Liver}


def source_masks() -> dict[str, np.ndarray]:
    """Two overlapping segments (z, y, x), 0/1."""
    gtv, liver = np.zeros(SHAPE, np.uint8), np.zeros(SHAPE, np.uint8)
    gtv[2:5, 6:11, 8:14] = 1
    gtv[3, 7, 20] = 1  # an isolated voxel near the edge
    liver[1:6, 3:17, 2:19] = 1
    liver[3, 10:12, 4:6] = 0  # a hole
    return {"GTV": gtv, "Liver": liver}


def write_ct(folder: Path, direction: tuple[float, ...] = DIRECTIONS["axial"], seed: str = "ct"):
    """A CT series on disk; returns its source data sets in slice order, the volume and its info."""
    image = sitk.GetImageFromArray(np.zeros(SHAPE, np.float32))
    image.SetSpacing(SPACING)
    image.SetOrigin((-12.0, 30.0, 100.0))
    image.SetDirection(direction)
    written = write_ct_series(
        image, folder, patient_id="SEG-TEST", patient_name="Test^Seg", uid_seed=seed
    )
    sources = [pydicom.dcmread(f) for f in written["files"]]
    volume, info = read_series(folder)
    return sources, volume, info


def write_seg(
    sources: list[Dataset],
    segments: dict[str, np.ndarray],
    path: Path,
    kind: str = "BINARY",
    transfer_syntax: str = ExplicitVRLittleEndian,
) -> Path:
    """A SEG written by highdicom from the source CT slices, one segment per array of
    ``segments``: 0/1 masks (BINARY, LABELMAP) or fractions from 0 to 1 (FRACTIONAL)."""
    names = list(segments)
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=name,
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=TYPES[name],
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number, name in enumerate(names, start=1)
    ]
    if kind == "LABELMAP":
        pixels = np.zeros(SHAPE, np.uint8)
        for number, name in enumerate(names, start=1):
            pixels[segments[name] > 0] = number
    else:
        pixels = np.stack([segments[n] for n in names], axis=-1)
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=pixels.astype(np.float32 if kind == "FRACTIONAL" else np.uint8),
        segmentation_type=kind,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=10,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="RadSurv tests",
        manufacturer_model_name="highdicom",
        software_versions=hd.__version__,
        device_serial_number="0",
        transfer_syntax_uid=transfer_syntax,
    )
    seg.save_as(path)
    return path


def edit(path: Path, change: Callable[[Dataset], None]) -> Path:
    ds = pydicom.dcmread(path)
    change(ds)
    ds.save_as(path)
    return path


def set_frames(ds: Dataset, frames: np.ndarray) -> None:
    """Replace the pixel data by ``frames`` (n, rows, columns), bit-packed for a BINARY SEG."""
    ds.NumberOfFrames = len(frames)
    ds.Rows, ds.Columns = frames.shape[1:]
    ds.PixelData = pack_bits(frames) if ds.BitsAllocated == 1 else frames.astype("u1").tobytes()


def frames_of(ds: Dataset) -> np.ndarray:
    return ds.pixel_array.reshape(int(ds.NumberOfFrames), ds.Rows, ds.Columns)


def masks_of(path: Path, volume: sitk.Image, info: SeriesInfo) -> dict[str, np.ndarray]:
    seg = read_seg(path)
    masks = seg_to_masks(seg, volume, info, seg.roi_names)
    for mask in masks.values():
        assert mask.GetPixelID() == sitk.sitkUInt8
        assert mask.GetSize() == volume.GetSize() and mask.GetOrigin() == volume.GetOrigin()
        assert mask.GetDirection() == volume.GetDirection()
    return {name: sitk.GetArrayFromImage(mask) for name, mask in masks.items()}


def assert_same(found: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert list(found) == list(expected)
    for name in expected:
        np.testing.assert_array_equal(found[name], expected[name], err_msg=name)


@pytest.fixture
def ct(tmp_path: Path):
    return write_ct(tmp_path / "ct")


@pytest.mark.parametrize("direction", list(DIRECTIONS))
def test_binary_round_trip(tmp_path: Path, direction: str) -> None:
    sources, volume, info = write_ct(tmp_path / "ct", DIRECTIONS[direction])
    path = write_seg(sources, source_masks(), tmp_path / "seg.dcm")
    seg = read_seg(path)
    assert seg.roi_names == ["GTV", "Liver"] and seg.segments == {"GTV": 1, "Liver": 2}
    assert seg.segmentation_type == "BINARY" and seg.warnings == []
    assert seg.references.series_uids == (info.series_uid,)
    assert seg.references.frame_of_reference_uids == (info.frame_of_reference_uid,)
    assert set(seg.references.sop_instance_uids) == set(info.sop_instance_uids)
    assert_same(masks_of(path, volume, info), source_masks())


def test_frames_placed_by_position_not_order(ct, tmp_path: Path) -> None:
    sources, volume, info = ct
    order = [6, 0, 3, 7, 1, 4, 2, 5]  # segments and slices interleaved

    def shuffle(ds: Dataset) -> None:
        assert int(ds.NumberOfFrames) == 8  # 3 GTV slices, 5 liver slices
        frames = frames_of(ds)
        items = ds.PerFrameFunctionalGroupsSequence
        ds.PerFrameFunctionalGroupsSequence = Sequence([items[i] for i in order])
        set_frames(ds, frames[order])

    path = edit(write_seg(sources, source_masks(), tmp_path / "seg.dcm"), shuffle)
    assert [f.segment for f in read_seg(path).frames] == [2, 1, 2, 2, 1, 2, 1, 2]
    assert_same(masks_of(path, volume, info), source_masks())


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, RLELossless, JPEGLSLossless])
def test_fractional_thresholded_at_half(ct, tmp_path: Path, syntax: str) -> None:
    sources, volume, info = ct
    masks = source_masks()
    fractions = {name: 0.9 * mask for name, mask in masks.items()}
    fractions["GTV"][1, 2:4, 2:4] = 0.3  # below half: outside
    fractions["GTV"][1, 5, 5] = 0.5  # half: inside
    path = write_seg(sources, fractions, tmp_path / "seg.dcm", "FRACTIONAL", syntax)
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == syntax
    assert read_seg(path).segmentation_type == "FRACTIONAL"
    expected = dict(masks)
    expected["GTV"] = masks["GTV"].copy()
    expected["GTV"][1, 5, 5] = 1
    assert_same(masks_of(path, volume, info), expected)


def test_labelmap_without_its_background(ct, tmp_path: Path) -> None:
    sources, volume, info = ct
    masks = source_masks()
    masks["Liver"][masks["GTV"] > 0] = 0  # a label map holds one label per voxel
    path = write_seg(sources, masks, tmp_path / "seg.dcm", "LABELMAP")
    assert read_seg(path).roi_names == ["GTV", "Liver"]
    assert_same(masks_of(path, volume, info), masks)


def test_swapped_rows_and_columns(ct, tmp_path: Path) -> None:
    """Frames stored transposed (rows along the image's x axis) land on the same voxels."""
    sources, volume, info = ct

    def transpose(ds: Dataset) -> None:
        shared = ds.SharedFunctionalGroupsSequence[0]
        iop = [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient]
        shared.PlaneOrientationSequence[0].ImageOrientationPatient = iop[3:] + iop[:3]
        measures = shared.PixelMeasuresSequence[0]
        measures.PixelSpacing = list(measures.PixelSpacing)[::-1]
        set_frames(ds, frames_of(ds).transpose(0, 2, 1))

    path = edit(write_seg(sources, source_masks(), tmp_path / "seg.dcm"), transpose)
    assert_same(masks_of(path, volume, info), source_masks())


def test_frames_without_position_follow_their_source_image(ct, tmp_path: Path) -> None:
    sources, volume, info = ct

    def drop_positions(ds: Dataset) -> None:
        for item in ds.PerFrameFunctionalGroupsSequence:
            del item.PlanePositionSequence

    path = edit(write_seg(sources, source_masks(), tmp_path / "seg.dcm"), drop_positions)
    assert all(f.position is None for f in read_seg(path).frames)
    assert_same(masks_of(path, volume, info), source_masks())

    def forge_source(ds: Dataset) -> None:
        source = ds.PerFrameFunctionalGroupsSequence[2].DerivationImageSequence[0]
        source.SourceImageSequence[0].ReferencedSOPInstanceUID = "1.2.3.4.5"

    edit(path, forge_source)
    with pytest.raises(
        SegError, match=r"frame 3 has no position and its source image 1\.2\.3\.4\.5 is not a slice"
    ):
        masks_of(path, volume, info)


def test_refuses_other_frame_of_reference(ct, tmp_path: Path) -> None:
    sources, volume, info = ct

    def other_frame(ds: Dataset) -> None:
        ds.FrameOfReferenceUID = "1.2.3.4"

    path = edit(write_seg(sources, source_masks(), tmp_path / "seg.dcm"), other_frame)
    with pytest.raises(SegError, match="a SEG on another frame of reference") as err:
        masks_of(path, volume, info)
    message = str(err.value)
    assert str(path) in message and "1.2.3.4" in message
    assert info.frame_of_reference_uid in message


def shift_frame(frame: int, dz: float, dx: float = 0.0) -> Callable[[Dataset], None]:
    def change(ds: Dataset) -> None:
        position = ds.PerFrameFunctionalGroupsSequence[frame].PlanePositionSequence[0]
        x, y, z = (float(v) for v in position.ImagePositionPatient)
        position.ImagePositionPatient = [x + dx, y, z + dz]

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            shift_frame(1, 0.5 * SPACING[2]),
            r"frame 2 at \[.*\] mm lies between slices .*\(slice index 3\.50\)",
        ),
        (shift_frame(1, 0.2 * SPACING[2]), r"frame 2 .* lies between slices"),
        (
            shift_frame(0, 10 * SPACING[2]),
            r"'GTV': .*frame 1 at .* reaches outside the image .*the image has 7 slices of 20 x 23",
        ),
        (
            lambda ds: setattr(
                ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0],
                "PixelSpacing",
                [1.8, 1.6],
            ),
            r"spacing 1\.8 x 1\.6 mm.* do not fall on the image's voxels \(spacing 0\.9 x 0\.8 mm\)",
        ),
        (  # it named two equal spacings, not the shift
            shift_frame(1, 0, 0.5 * SPACING[0]),
            r"frame 2 .*of the image's spacing \(0\.9 x 0\.8 mm\), lie 0\.50 x 0\.00 voxels "
            r"\(0\.4 x 0 mm, along the image's x and y\) off the image's voxels",
        ),
    ],
    ids=["half a slice", "a fifth of a slice", "outside", "other pixel spacing", "half a pixel"],
)
def test_refuses_frames_off_the_grid(ct, tmp_path: Path, change, expected: str) -> None:
    sources, volume, info = ct
    path = edit(write_seg(sources, source_masks(), tmp_path / "seg.dcm"), change)
    with pytest.raises(SegError, match=expected) as err:
        masks_of(path, volume, info)
    assert str(path) in str(err.value)


def test_tolerates_rounding_of_positions(ct, tmp_path: Path) -> None:
    sources, volume, info = ct
    path = edit(
        write_seg(sources, source_masks(), tmp_path / "seg.dcm"), shift_frame(1, 0.05 * SPACING[2])
    )
    assert_same(masks_of(path, volume, info), source_masks())


def test_empty_segments(ct, tmp_path: Path) -> None:
    sources, volume, info = ct
    masks = source_masks()
    masks["Liver"][:] = 0
    seg = read_seg(write_seg(sources, masks, tmp_path / "no-frames.dcm"))
    assert seg.warnings == ["Segment 'Liver' has no frame (never drawn): left out."]
    assert "GTV" in seg_to_masks(seg, volume, info, ["GTV"])
    with pytest.raises(SegError, match=r"Segment 'Liver' of .*no-frames\.dcm is empty"):
        seg_to_masks(seg, volume, info, ["Liver"])

    fractions = {name: 0.9 * mask for name, mask in source_masks().items()}
    fractions["Liver"] *= 0.4 / 0.9  # frames present, every pixel below half
    path = write_seg(sources, fractions, tmp_path / "faint.dcm", "FRACTIONAL")
    with pytest.raises(SegError, match=r"Segment 'Liver' of .*faint\.dcm is empty"):
        masks_of(path, volume, info)


def test_unknown_segment_name(ct, tmp_path: Path) -> None:
    sources, volume, info = ct
    seg = read_seg(write_seg(sources, source_masks(), tmp_path / "seg.dcm"))
    with pytest.raises(SegError, match="no segment named 'Spleen'; it has 'GTV', 'Liver'"):
        seg_to_masks(seg, volume, info, ["Spleen"])


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])


def more_frames(path: Path) -> None:
    edit(path, lambda ds: setattr(ds, "NumberOfFrames", int(ds.NumberOfFrames) + 2))


def no_segment_number(path: Path) -> None:
    edit(
        path,
        lambda ds: delattr(ds.PerFrameFunctionalGroupsSequence[0], "SegmentIdentificationSequence"),
    )


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (truncate, "truncated or damaged"),
        (lambda p: p.write_text("not DICOM"), "is not a DICOM file"),
        (
            lambda p: shutil.copy(next(p.parent.glob("ct/*.dcm")), p),
            r"is not a DICOM SEG \(modality CT, SOP class CT Image Storage\)",
        ),
        (more_frames, r"10 frame\(s\) but 8 per-frame descriptions"),
        (no_segment_number, "frame 1 names no segment"),
    ],
    ids=["truncated", "text", "a CT slice", "frames missing", "no segment number"],
)
def test_damaged_files_refused(ct, tmp_path: Path, damage, expected: str) -> None:
    sources, volume, info = ct
    path = write_seg(sources, source_masks(), tmp_path / "seg.dcm")
    damage(path)
    with pytest.raises(SegError, match=expected) as err:
        masks_of(path, volume, info)
    assert str(path) in str(err.value)


def test_scan_lists_seg_and_picks_its_series(tmp_path: Path) -> None:
    """Two CT series: the SEG says which one, where the CT preference alone would have to ask."""
    write_ct(tmp_path / "case" / "first", seed="first")
    sources, _, second = write_ct(tmp_path / "case" / "second", seed="second")
    path = write_seg(sources, source_masks(), tmp_path / "case" / "seg.dcm")
    inventory = scan_dicom(tmp_path / "case")
    (entry,) = inventory.segs
    assert entry.path == path and entry.roi_names == ("GTV", "Liver")
    assert entry.references.series_uids == (second.series_uid,)
    assert len(inventory.series) == 2 and inventory.skipped == []
    _, info = read_series(inventory)
    assert info.series_uid == second.series_uid


RT_MODALITIES = {"SEG", "RTSTRUCT", "RTDOSE", "RTPLAN"}


def pydicom_rt_files() -> dict[str, str]:
    """pydicom's test files whose modality is SEG or an RT object: path -> modality."""
    found = {}
    for name in get_testdata_files():
        try:
            modality = str(pydicom.dcmread(name, stop_before_pixels=True, force=True).Modality)
        except Exception:  # not DICOM, damaged on purpose, or without modality
            continue
        if modality.upper() in RT_MODALITIES:
            found[name] = modality.upper()
    return found


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_pydicom_rt_and_seg_files_load_or_refuse_by_name() -> None:
    """Each is listed (as a SEG or RTSTRUCT) or skipped, never taken for an image series; reading
    it as an image or as a SEG works or raises a RadSurvError naming the file."""
    files = pydicom_rt_files()
    names = {Path(f).name: modality for f, modality in files.items()}
    assert {"liver_1frame.dcm", "rtstruct.dcm", "rtdose.dcm", "rtplan.dcm"} <= set(names)
    outcomes: dict[str, str] = {}
    for file, modality in files.items():
        name = Path(file).name
        try:
            inventory = scan_dicom(file)
        except RadSurvError as err:
            assert name in str(err), err
            outcomes[name] = "scan refused"
            continue
        assert inventory.series == [], f"{name} was taken for an image series"
        assert len(inventory.segs) == (modality == "SEG"), name
        assert len(inventory.rtstructs) == (modality == "RTSTRUCT"), name
        with pytest.raises(DicomError) as err:
            read_series(inventory)
        assert name in str(err.value), err.value
        try:
            outcomes[name] = f"SEG {read_seg(file).roi_names}"
        except SegError as err:
            assert name in str(err), err
            outcomes[name] = "refused"
    # liver_1frame.dcm describes 3 frames but holds the pixels of one: damaged
    assert outcomes["liver_1frame.dcm"] == "refused"
    assert outcomes["rtstruct.dcm"] == outcomes["rtdose.dcm"] == "refused"  # not SEGs


def test_seg_upload_goes_through_the_case_page_path(ct, tmp_path: Path) -> None:
    """A CT + SEG zip as a user uploads it: de-identified on the way in (UIDs remapped in the SEG's
    references too), segments mapped to roles by name, masks equal to the drawn ones."""
    import io
    import zipfile

    from survival_core.io.upload_case import describe_upload, load_upload
    from survival_core.io.uploads import store_upload

    sources, _, _ = ct
    seg = write_seg(sources, source_masks(), tmp_path / "seg.dcm")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in [*sorted((tmp_path / "ct").iterdir()), seg]:
            archive.write(path, f"case/{path.parent.name}/{path.name}")
    contents = describe_upload(store_upload([("case.zip", buffer.getvalue())]))
    assert contents.suggested_roles() == {"gtv": ["GTV"], "organ": ["Liver"]}
    assert contents.roles_clear() and [s.modality for s in contents.series] == ["CT"]
    case = load_upload(contents, contents.suggested_roles())
    assert case.site == "liver" and set(case.structures) == {"GTV", "Liver"}
    expected = source_masks()
    np.testing.assert_array_equal(case.mask_array("gtv"), expected["GTV"].astype(bool))
    np.testing.assert_array_equal(case.mask_array("organ"), expected["Liver"].astype(bool))


def test_a_segment_never_drawn_is_left_out_beside_the_drawn_gtv(ct, tmp_path: Path) -> None:
    """A planning template's second GTV segment never drawn (no frame) beside the drawn one: the
    roles united the two and the case failed on the empty one, as an RTSTRUCT's never-drawn
    structure or an empty mask file no longer do; a role naming it is still refused."""
    from survival_core.io.case_loader import list_structures, load_case

    sources, _, _ = ct
    masks = source_masks()
    masks["GTV_2"] = np.zeros(SHAPE, np.uint8)
    TYPES.setdefault("GTV_2", codes.SCT.Neoplasm)
    write_seg(sources, masks, tmp_path / "ct" / "seg.dcm")
    case = load_case(tmp_path / "ct")
    np.testing.assert_array_equal(case.mask_array("gtv"), masks["GTV"].astype(bool))
    assert any("'GTV_2'" in w and "left out" in w for w in case.warnings), case.warnings
    with pytest.raises(RadSurvError, match="GTV_2"):
        load_case(tmp_path / "ct", roles={"gtv": ["GTV", "GTV_2"], "organ": "Liver"})
    assert list_structures(tmp_path / "ct") == ["GTV", "Liver"]  # what the Case page offers
