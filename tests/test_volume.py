"""NIfTI/NRRD/MetaImage volumes and masks: real files from others, geometry checks, clear refusals."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import GeometryError, InputError, MaskError
from survival_core.io.volume import check_same_geometry, read_mask, read_volume, volume_stem

GEOMETRY = {
    "spacing": (0.75, 0.8, 2.5),
    "origin": (-30.0, 12.5, -80.0),
    "direction": (0, 1, 0, -1, 0, 0, 0, 0, 1),
}


def make_image(array: np.ndarray, **geometry) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(geometry.get("spacing", GEOMETRY["spacing"]))
    image.SetOrigin(geometry.get("origin", GEOMETRY["origin"]))
    image.SetDirection(geometry.get("direction", GEOMETRY["direction"]))
    return image


def save(image: sitk.Image, path: Path) -> Path:
    sitk.WriteImage(image, str(path))
    return path


@pytest.fixture
def reference() -> sitk.Image:
    array = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6) - 50
    return make_image(array)


def shared_file(shared_data: Path, relative: str) -> Path:
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"{relative} not in ../shared/data")
    return path


@pytest.mark.parametrize("name", ["v.nii", "v.nii.gz", "v.nrrd", "v.nhdr", "v.mha", "v.mhd"])
def test_formats_round_trip(tmp_path: Path, reference: sitk.Image, name: str) -> None:
    image = read_volume(save(reference, tmp_path / name))
    assert image.GetPixelID() == sitk.sitkFloat32
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(reference))
    np.testing.assert_allclose(image.GetSpacing(), GEOMETRY["spacing"], rtol=1e-6)
    np.testing.assert_allclose(image.GetOrigin(), GEOMETRY["origin"], atol=1e-4)
    np.testing.assert_allclose(image.GetDirection(), GEOMETRY["direction"], atol=1e-6)
    assert volume_stem(tmp_path / name) == "v"


def test_2d_becomes_one_slice(tmp_path: Path) -> None:
    image = sitk.GetImageFromArray(np.arange(12, dtype=np.float32).reshape(3, 4))
    image.SetSpacing((0.5, 0.6))
    volume = read_volume(save(image, tmp_path / "slice.nrrd"))
    assert volume.GetSize() == (4, 3, 1) and volume.GetSpacing()[:2] == (0.5, 0.6)


@pytest.mark.parametrize(("n_volumes", "ok"), [(1, True), (3, False)])
def test_4d(tmp_path: Path, n_volumes: int, ok: bool) -> None:
    volumes = [sitk.GetImageFromArray(np.zeros((2, 3, 4), np.int16))] * n_volumes
    path = save(sitk.JoinSeries(volumes), tmp_path / "t.nii.gz")
    if ok:
        assert read_volume(path).GetSize() == (4, 3, 2)
    else:
        with pytest.raises(InputError, match="t.nii.gz is a 4D series of 3 volumes"):
            read_volume(path)


def test_vector_image_refused(tmp_path: Path) -> None:
    path = save(
        sitk.GetImageFromArray(np.zeros((2, 3, 4, 3), np.uint8), isVector=True),
        tmp_path / "rgb.nrrd",
    )
    with pytest.raises(InputError, match="rgb.nrrd has 3 values per voxel"):
        read_volume(path)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "garbage.nii.gz",
            b"\x1f\x8b\x08\x00garbage that is not gzip",
            "garbage.nii.gz is not a NIfTI, NRRD",
        ),
        ("notes.nrrd", b"plain text notes", "notes.nrrd is not a NIfTI, NRRD"),
        ("missing.nii", None, "missing.nii does not exist"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes | None, expected: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=expected):
        read_volume(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cut.nii", "cut.nii is truncated: it holds 400 bytes where its header announces 832"),
        ("cut.nii.gz", "cut.nii.gz is damaged or truncated"),
        ("cut.nrrd", "cut.nrrd cannot be read as a NRRD volume"),
        ("cut.mha", "cut.mha cannot be read as a MetaImage volume"),
    ],
)
def test_truncated_files_refused(
    tmp_path: Path, reference: sitk.Image, name: str, expected: str
) -> None:
    """The NIfTI reader would fill the missing voxels with zeros; the check must catch it."""
    good = save(sitk.Cast(reference, sitk.sitkFloat32), tmp_path / name.replace("cut", "good"))
    data = good.read_bytes()
    (tmp_path / name).write_bytes(data[:400] if name == "cut.nii" else data[: len(data) - 60])
    with pytest.raises(InputError, match=expected):
        read_volume(tmp_path / name)


def test_misnamed_file_refused(tmp_path: Path, reference: sitk.Image) -> None:
    good = save(reference, tmp_path / "good.nii")
    misnamed = tmp_path / "image.nrrd"
    misnamed.write_bytes(good.read_bytes())
    with pytest.raises(
        InputError, match=r"image.nrrd contains a NIfTI volume .*\.nii or \.nii\.gz; rename"
    ):
        read_volume(misnamed)


def test_pyradiomics_brain_image_and_label(shared_data: Path) -> None:
    image = read_volume(shared_file(shared_data, "pyradiomics/brain1_image.nrrd"))
    assert image.GetSize() == (256, 256, 25)
    assert image.GetSpacing()[2] == pytest.approx(6.5)
    mask = read_mask(shared_data / "pyradiomics/brain1_label.nrrd", image, name="tumour")
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert int(sitk.GetArrayFromImage(mask).sum()) == 4137
    assert set(np.unique(sitk.GetArrayFromImage(mask))) == {0, 1}


def test_prostate_label_map_needs_a_label(shared_data: Path) -> None:
    image = read_volume(shared_file(shared_data, "pyradiomics/prostate_phantom_subvolume.nrrd"))
    labels = shared_data / "pyradiomics/prostate_phantom_subvolume-label.nrrd"
    with pytest.raises(MaskError, match="label map with labels 1, 7, 8, 9; say which label"):
        read_mask(labels, image, name="gtv")
    raw = sitk.GetArrayFromImage(sitk.ReadImage(str(labels)))
    mask = read_mask(labels, image, label=7, name="gtv")
    assert int(sitk.GetArrayFromImage(mask).sum()) == int((raw == 7).sum()) > 0
    with pytest.raises(MaskError, match="no voxel with label 4; labels present: \\[1, 7, 8, 9\\]"):
        read_mask(labels, image, label=4, name="gtv")


def test_ibsi_digital_phantom(shared_data: Path) -> None:
    image = read_volume(
        shared_file(shared_data, "ibsi1/digital_phantom/nifti/image/phantom.nii.gz")
    )
    assert image.GetSize() == (5, 4, 4) and image.GetSpacing() == (2.0, 2.0, 2.0)
    mask = read_mask(
        shared_data / "ibsi1/digital_phantom/nifti/mask/mask.nii.gz", image, name="phantom mask"
    )
    assert int(sitk.GetArrayFromImage(mask).sum()) == 74


def test_empty_and_non_binary_masks(tmp_path: Path, reference: sitk.Image) -> None:
    empty = save(make_image(np.zeros((4, 5, 6), np.uint8)), tmp_path / "gtv.nii.gz")
    with pytest.raises(MaskError, match=r"gtv mask \(.*gtv.nii.gz\) is empty"):
        read_mask(empty, reference, name="gtv mask")
    soft = save(make_image(np.full((4, 5, 6), 0.25, np.float32)), tmp_path / "prob.nii.gz")
    with pytest.raises(MaskError, match=r"values between 0 and 1 \(e\.g\. 0\.25\): a probab"):
        read_mask(soft, reference, name="gtv mask")
    other = save(make_image(np.full((4, 5, 6), 2.5, np.float32)), tmp_path / "other.nii.gz")
    with pytest.raises(MaskError, match="non-integer values"):
        read_mask(other, reference, name="gtv mask")
    ignore = np.zeros((4, 5, 6), np.int16) - 1
    ignore[1:3, 1:3, 1:3] = 1  # an 'ignore' background of -1 was a structure of its own
    signed = save(make_image(ignore), tmp_path / "signed.nii.gz")
    with pytest.raises(MaskError, match=r"holds negative values \(e\.g\. -1\)"):
        read_mask(signed, reference, name="gtv mask")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"shape": (4, 5, 7), "origin": (-30.0, 12.5, -80.5)}, "size"),
        ({"spacing": (0.75, 0.8, 3.0)}, "spacing"),
        ({"origin": (-30.0, 12.5, -79.0)}, "origin"),
        ({"direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)}, "direction"),
    ],
)
def test_geometry_mismatch_names_both_grids(
    tmp_path: Path, reference: sitk.Image, change: dict, problem: str
) -> None:
    geometry = {k: v for k, v in change.items() if k != "shape"}
    mask = make_image(np.ones(change.get("shape", (4, 5, 6)), np.uint8), **geometry)
    path = save(mask, tmp_path / "liver.nii.gz")
    with pytest.raises(GeometryError, match=f"different {problem}") as err:
        read_mask(path, reference, name="liver mask")
    message = str(err.value)
    assert "liver mask (liver.nii.gz)" in message and "the image" in message
    assert "size 6x5x4" in message and f"size {'x'.join(map(str, mask.GetSize()))}" in message
    assert str(reference.GetOrigin()[2]) in message or "-80" in message


def _blob(reference: sitk.Image) -> sitk.Image:
    """A label map on ``reference``'s grid: labels 1 and 2 in a few voxels, away from the edges."""
    array = np.zeros((4, 5, 6), np.uint8)
    array[1:3, 1:4, 2:5] = 1
    array[2, 3, 3] = 2
    blob = sitk.GetImageFromArray(array)
    blob.CopyInformation(reference)
    return blob


@pytest.mark.parametrize(
    "reshape",
    [
        lambda m: m[2:5, 1:4, 1:3],  # cropped to the structure (x, y, z index order)
        lambda m: sitk.ConstantPad(m, (2, 0, 1), (0, 3, 1)),  # padded beyond the image
        lambda m: sitk.Flip(m, (True, False, True)),  # axes stored in the other direction
        lambda m: sitk.PermuteAxes(m, (2, 0, 1)),  # axes stored in another order
        lambda m: sitk.Flip(sitk.PermuteAxes(m[2:5, 1:4, 1:3], (1, 2, 0)), (False, True, False)),
    ],
    ids=["cropped", "padded", "flipped", "permuted", "cropped-permuted-flipped"],
)
def test_a_mask_on_the_image_voxels_is_placed_voxel_for_voxel(
    tmp_path: Path, reference: sitk.Image, reshape
) -> None:
    """Masks whose voxels are the image's, on a grid cropped, padded, flipped or permuted (as
    3D Slicer and other tools save them) land exactly where they were drawn; each label apart."""
    blob = _blob(reference)
    stored = reshape(blob)
    assert stored.GetSize() != blob.GetSize() or stored.GetDirection() != blob.GetDirection()
    path = save(stored, tmp_path / "gtv.nrrd")
    expected = sitk.GetArrayFromImage(blob)
    for label in (1, 2):
        mask = read_mask(path, reference, label=label, name="gtv")
        assert mask.GetSize() == reference.GetSize()
        np.testing.assert_array_equal(sitk.GetArrayFromImage(mask), expected == label)


def test_a_mask_reaching_outside_the_image_or_off_its_voxels_is_refused(
    tmp_path: Path, reference: sitk.Image
) -> None:
    padded = sitk.ConstantPad(_blob(reference), (0, 0, 0), (0, 0, 2), constant=1)
    with pytest.raises(GeometryError, match="60 of its non-zero voxels are outside the image"):
        read_mask(save(padded, tmp_path / "over.nrrd"), reference, label=1, name="gtv")
    half_voxel = _blob(reference)[1:4, :, :]
    half_voxel.SetOrigin(np.add(half_voxel.GetOrigin(), (0.0, 0.4, 0.0)))  # 0.4 mm of 0.75
    with pytest.raises(GeometryError, match="different size, origin"):
        read_mask(save(half_voxel, tmp_path / "off.nrrd"), reference, label=1, name="gtv")
    for extra, accepted in ((100, True), (700, False)):  # spacing 0.09 % off: drifts with size
        long = sitk.ConstantPad(_blob(reference), (0, 0, 0), (extra, 0, 0))
        long.SetSpacing((0.75 * (1 + 9e-4), 0.8, 2.5))
        path = save(long, tmp_path / f"long{extra}.nrrd")
        if accepted:
            placed = read_mask(path, reference, label=1, name="gtv")
            expected = sitk.GetArrayFromImage(_blob(reference)) == 1
            np.testing.assert_array_equal(sitk.GetArrayFromImage(placed), expected)
        else:
            with pytest.raises(GeometryError, match="long700.nrrd.* is not on the voxel grid"):
                read_mask(path, reference, label=1, name="gtv")
    finer = sitk.Resample(
        _blob(reference),
        [12, 10, 4],
        sitk.Transform(),
        sitk.sitkNearestNeighbor,
        reference.GetOrigin(),
        (0.375, 0.4, 2.5),
        reference.GetDirection(),
    )
    with pytest.raises(GeometryError, match="different size, spacing"):
        read_mask(save(finer, tmp_path / "fine.nrrd"), reference, label=1, name="gtv")


def test_tiny_geometry_differences_accepted_and_snapped(
    tmp_path: Path, reference: sitk.Image
) -> None:
    mask = make_image(
        np.ones((4, 5, 6), np.uint8),
        spacing=(0.75 * (1 + 5e-4), 0.8, 2.5),
        origin=(-30.0 + 0.02, 12.5, -80.0),
        direction=(0, 1, 1e-4, -1, 0, 0, 0, 0, 1),
    )
    snapped = read_mask(save(mask, tmp_path / "gtv.nrrd"), reference, name="gtv")
    assert (snapped.GetSpacing(), snapped.GetOrigin(), snapped.GetDirection()) == (
        reference.GetSpacing(),
        reference.GetOrigin(),
        reference.GetDirection(),
    )
    with pytest.raises(GeometryError):
        check_same_geometry(
            reference,
            make_image(np.ones((4, 5, 6), np.uint8), origin=(-30.0 + 0.1, 12.5, -80.0)),
            "image",
            "mask",
        )


def test_labels_resampled_onto_a_coarser_grid_keep_their_volumes() -> None:
    """A PET's GTV drawn on its CT: two balls (labels 1 and 2, 14 and 7 mm radius) on a 0.98 x
    0.98 x 3 mm grid resampled onto a 4.07 mm PET grid (no whole-voxel relation): each keeps its
    volume within 10 % (nearest-neighbour sampling of the centres would not promise it) and a
    notice is given; a label lying outside the PET is refused."""
    import warnings

    import SimpleITK as sitk

    from survival_core.errors import GeometryError
    from survival_core.io.volume import MaskResampled, resample_labels

    spacing = np.array([0.98, 0.98, 3.0])
    shape = (40, 120, 120)  # z, y, x
    z, y, x = np.indices(shape)
    points = np.stack([x, y, z], axis=-1) * spacing
    label = np.zeros(shape, np.uint8)
    for value, centre, radius in ((1, (40.0, 50.0, 60.0), 14.0), (2, (85.0, 70.0, 50.0), 7.0)):
        label[np.linalg.norm(points - centre, axis=-1) <= radius] = value
    mask = sitk.GetImageFromArray(label)
    mask.SetSpacing(tuple(spacing))
    pet = sitk.Image(32, 32, 32, sitk.sitkFloat32)
    pet.SetSpacing((4.07, 4.07, 4.07))
    pet.SetOrigin((-7.3, -5.1, -9.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MaskResampled)
        resampled = sitk.GetArrayFromImage(resample_labels(pet, mask, "the PET", "gtv"))
    assert [w.category for w in caught] == [MaskResampled]
    for value, radius in ((1, 14.0), (2, 7.0)):
        volume = (resampled == value).sum() * 4.07**3
        assert volume == pytest.approx(4 / 3 * np.pi * radius**3, rel=0.10)
    far = sitk.Image(pet)
    far.SetOrigin((500.0, 500.0, 500.0))
    with pytest.raises(GeometryError, match="mostly outside the image"):
        resample_labels(far, mask, "the PET", "gtv")


def test_a_gzip_nifti_named_nii_is_named_as_such(tmp_path: Path) -> None:
    sitk.WriteImage(sitk.Image(4, 4, 4, sitk.sitkInt16), str(tmp_path / "ct.nii.gz"))
    (tmp_path / "ct.nii.gz").rename(tmp_path / "ct.nii")
    with pytest.raises(
        InputError, match=r"gzip-compressed NIfTI volume named \.nii; rename it to \.nii\.gz"
    ):
        read_volume(tmp_path / "ct.nii")


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz", ".nrrd"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk", [1 << 22, 1001])
def test_voxels_without_a_value_stay_nan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, dtype: type, chunk: int
) -> None:
    """SimpleITK reads a NIfTI's NaN and inf as 0 (0 HU inside a tumour) where NRRD keeps them:
    every format now gives NaN, wherever the file's read chunks cut a voxel's bytes."""
    monkeypatch.setattr("survival_core.io.volume._CHUNK_BYTES", chunk)
    values = np.linspace(-1000, 1000, 12 * 20 * 50).astype(dtype).reshape(12, 20, 50)
    holes = [tuple(v) for v in np.argwhere(np.ones(values.shape, bool))[::97]]  # some cut by chunks
    for z, y, x in holes:
        values[z, y, x] = np.nan
    values[3, 3, 3] = np.inf
    read = sitk.GetArrayFromImage(read_volume(save(make_image(values), tmp_path / f"v{suffix}")))
    missing = ~np.isfinite(read)
    assert sorted(map(tuple, np.argwhere(missing))) == sorted([*holes, (3, 3, 3)])
    np.testing.assert_allclose(read[~missing], values[~missing].astype(np.float32))


def test_a_nifti_stored_with_a_flipped_axis_places_its_volume_once(tmp_path: Path) -> None:
    """qfac = -1 (pixdim[0], FSL's and many dcm2niix files) was read as +1 from ITK's metadata:
    'qform and sform disagree, up to 120 mm apart' on a valid header."""
    from survival_core.io.volume import nifti_placement_warning

    flipped = make_image(np.zeros((30, 50, 40), np.int16), direction=(1, 0, 0, 0, -1, 0, 0, 0, 1))
    assert nifti_placement_warning(save(flipped, tmp_path / "las.nii.gz")) is None
    oblique = sitk.Euler3DTransform((0, 0, 0), np.pi / 3, 0.3, 2.0).GetMatrix()
    tilted = make_image(np.zeros((30, 50, 40), np.int16), direction=oblique)
    assert nifti_placement_warning(save(tilted, tmp_path / "oblique.nii")) is None


@pytest.mark.parametrize("stored", ["LIP", "LIA", "PIR", "RAS"])
def test_a_coronal_or_sagittal_nifti_places_its_volume_once(tmp_path: Path, stored: str) -> None:
    """A coronal volume's quaternion has a = 0, which float32 rounding of b, c, d made 2e-4:
    'places the volume twice, up to 0.10 mm apart' on every clean coronal NIfTI."""
    from survival_core.io.volume import nifti_placement_warning

    direction = sitk.DICOMOrientImageFilter.GetDirectionCosinesFromOrientation(stored)
    image = make_image(np.zeros((24, 60, 80), np.uint8), spacing=(0.7, 0.7, 5.0))
    image.SetDirection(direction)
    image.SetOrigin((-30.0, 20.0, -400.0))
    assert nifti_placement_warning(save(image, tmp_path / "v.nii.gz")) is None


def _sheared(path: Path, *, offset: float = 0.0, qform: bool = True) -> Path:
    """``path`` (an uncompressed NIfTI) with its sform's x row sheared by 1e-3 and moved by
    ``offset`` mm, as a registration tool writes; without ``qform``, its qform unset."""
    import struct

    with open(path, "r+b") as header:
        header.seek(280)  # srow_x: 4 float32
        row = list(struct.unpack("<4f", header.read(16)))
        row[row.index(0.0)] = 1e-3 * max(map(abs, row[:3]))  # a zero of the rotation
        row[3] += offset
        header.seek(280)
        header.write(struct.pack("<4f", *row))
        if not qform:
            header.seek(252)  # qform_code: int16
            header.write(struct.pack("<h", 0))
    return path


def test_a_sheared_sform_says_the_qform_placed_the_volume(tmp_path: Path, reference) -> None:
    """ITK reads the qform when the sform is sheared: the warning said 'the sform was used', the
    volume lying 20 mm from where nibabel and 3D Slicer put it."""
    from survival_core.io.volume import nifti_placement_warning

    path = _sheared(save(reference, tmp_path / "v.nii"), offset=20.0)
    warning = nifti_placement_warning(path)
    assert warning is not None and "up to 20.0" in warning
    assert "so the qform was used, as ITK reads it; nibabel and 3D Slicer place" in warning
    assert read_volume(path).GetOrigin() == pytest.approx(reference.GetOrigin(), abs=1e-4)


def test_a_sheared_affine_alone_is_refused_in_plain_words(tmp_path: Path, reference) -> None:
    path = _sheared(save(reference, tmp_path / "v.nii"), qform=False)
    with pytest.raises(InputError, match="axes that are not perpendicular.*Resample it"):
        read_volume(path)


def test_a_large_masks_labels_are_found_in_little_memory() -> None:
    """A 600 x 600 x 900 mask (0.3 GB) took 2.6 GB more to find its labels: numpy counted its
    uint8 voxels as int64 all at once. They are counted in chunks: a few MB whatever the size."""
    import tracemalloc

    from survival_core.io.volume import distinct_values

    mask = np.zeros((160, 512, 512), dtype=np.uint8)  # 42 M voxels: 335 MB counted at once
    mask[80:90, 200:230, 200:230], mask[-1, -1, -1] = 1, 7
    tracemalloc.start()
    try:
        found = distinct_values(mask)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found.tolist() == [0, 1, 7]
    assert peak < 64e6


def test_labels_move_onto_another_grid_in_memory_of_their_box() -> None:
    """Moving a 24 mm GTV from a 512 x 512 x 900 CT onto its PET took 6.4 GB and 21 s: each
    label's indicator was built over the whole CT grid. It is built over the labels' box, to the
    same mask (a sphere on 1 mm voxels onto a 4 mm grid: 8 CT voxels per PET voxel)."""
    import tracemalloc
    import warnings

    from survival_core.io.volume import MaskResampled, resample_labels

    z, y, x = np.ogrid[:120, :160, :160]
    ball = ((z - 60) ** 2 + (y - 80) ** 2 + (x - 80) ** 2 <= 12**2).astype(np.uint8)
    mask = sitk.GetImageFromArray(ball)
    pet = sitk.Image(40, 40, 30, sitk.sitkFloat32)
    pet.SetSpacing((4.0, 4.0, 4.0))
    pet.SetOrigin((0.0, 0.0, 0.0))
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MaskResampled)
            moved = sitk.GetArrayFromImage(resample_labels(pet, mask, "the PET", "the GTV"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6e6  # the CT grid's indicator alone: 9 MB
    # 4 mm voxels whose 8 CT voxels are mostly inside: the ball's volume, to a voxel's worth
    assert abs(int(moved.sum()) * 64 - int(ball.sum())) < 64 * 40


@pytest.mark.parametrize(("kind", "refused"), [("double", True), ("short", False)])
def test_a_volume_too_large_uncompressed_is_refused_from_its_header(tmp_path, kind, refused):
    """A gzip NRRD of a few MB announcing 512 x 512 x 1100 doubles (2.1 GiB) passed the voxel
    limit and was decompressed (4.9 GB of memory for 1024 slices); refused from its header now.
    The same grid as 16-bit integers (a CT as stored) is within the limit (its missing data is
    what fails to read here)."""
    path = tmp_path / "CT.nrrd"
    path.write_bytes(
        f"NRRD0004\ntype: {kind}\ndimension: 3\nspace: left-posterior-superior\n"
        "sizes: 512 512 1100\nendian: little\nencoding: gzip\n"
        "space directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\n\n".encode()
    )
    with pytest.raises(InputError) as err:
        read_volume(path)
    said = "2,306,867,200 bytes uncompressed, over the 2,147,483,648 (2 GiB) accepted"
    assert (said in str(err.value)) is refused


def _unplaced(path: Path) -> Path:
    """``path`` (an uncompressed NIfTI) with qform_code and sform_code 0: a header placing the
    volume nowhere, as tools writing raw arrays (and Analyze converters) leave it."""
    import struct

    with open(path, "r+b") as header:
        header.seek(252)  # qform_code, sform_code: int16
        header.write(struct.pack("<2h", 0, 0))
    return path


def test_a_nifti_placed_nowhere_is_said(shared_data: Path, tmp_path: Path) -> None:
    """pyradiomics' real lung1 CT and GTV as NIfTI whose headers place nothing: both read at
    origin 0 without a word, and the GTV alone so was refused showing origin (0, 0, 0) without
    saying its header holds no placement."""
    import re

    from survival_core.io.case_loader import load_case

    source = shared_data / "pyradiomics"
    if not (source / "lung1_image.nrrd").is_file():
        pytest.skip("pyradiomics samples not in ../shared/data")
    image = sitk.ReadImage(str(source / "lung1_image.nrrd"))
    label = sitk.ReadImage(str(source / "lung1_label.nrrd"))
    nowhere = "its header does not place the volume (qform_code and sform_code 0)"
    for case, unplaced in {"both": ("image.nii", "gtv.nii"), "mask": ("gtv.nii",)}.items():
        (tmp_path / case).mkdir()
        for name, volume in (("image.nii", image), ("gtv.nii", label)):
            sitk.WriteImage(volume, str(tmp_path / case / name))
            if name in unplaced:
                _unplaced(tmp_path / case / name)
    said = load_case(tmp_path / "both").warnings
    assert sorted(w.partition(":")[0] for w in said if nowhere in w) == ["gtv.nii", "image.nii"]
    refused = rf"origin \(0, 0, 0\) mm(.|\n)*gtv.nii: {re.escape(nowhere)}"
    with pytest.raises(GeometryError, match=refused):
        load_case(tmp_path / "mask")


def _nifti2(path: Path, values: np.ndarray) -> None:
    """``values`` (z, y, x int16) as a NIfTI-2 file (540-byte header, as nibabel's Nifti2Image
    writes it), gzip-compressed when ``path`` ends with .gz."""
    header = bytearray(544)
    struct.pack_into("<i8s2h", header, 0, 540, b"n+2\0\r\n\x1a\n", 4, 16)  # int16
    struct.pack_into("<8q", header, 16, 3, *values.shape[::-1], 1, 1, 1, 1)
    struct.pack_into("<8d", header, 104, 1.0, 0.8, 0.8, 2.5, 1, 1, 1, 1)
    struct.pack_into("<qd", header, 168, 544, 1.0)  # vox_offset, scl_slope
    struct.pack_into("<2i", header, 344, 1, 0)  # qform_code: scanner
    data = bytes(header) + values.astype("<i2").tobytes()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


@pytest.mark.parametrize("name", ["image.nii.gz", "image.nii"])
def test_a_nifti2_file_is_refused_naming_it_and_the_fix(tmp_path: Path, name: str) -> None:
    """SimpleITK cannot read NIfTI-2: the refusal said only 'Unable to determine ImageIO reader'.
    It names NIfTI-2 and how to save the file as NIfTI-1, for an image and for a mask."""
    values = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    _nifti2(tmp_path / name, values)
    with pytest.raises(InputError, match=r"is a NIfTI-2 file .*Save it as NIfTI-1"):
        read_volume(tmp_path / name)
    image = sitk.GetImageFromArray(values)
    with pytest.raises(InputError, match=r"gtv\.nii\.gz is a NIfTI-2 file"):
        _nifti2(tmp_path / "gtv.nii.gz", (values > 50).astype(np.int16))
        read_mask(tmp_path / "gtv.nii.gz", image, name="gtv")


def test_a_nifti_header_number_float32_holds_exactly_is_kept() -> None:
    """NIfTI-1's float32 spacing and origin are read as the decimals they were rounded from, but
    a number float32 holds exactly stays: -249.51171875 (a 500 mm field of view's DICOM origin
    in 1/256 mm steps) read -249.51172."""
    from survival_core.io.volume import _header_decimal

    for exact in (-249.51171875, 0.9765625, -123.45703125, 2.5):
        assert _header_decimal(exact) == exact
    for decimal in (0.976562, 3.27, 0.7):
        assert _header_decimal(float(np.float32(decimal))) == decimal
