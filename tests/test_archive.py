"""Safe zip extraction: good archives unpack, hostile ones are refused naming the member."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
import SimpleITK as sitk

from survival_core.errors import ArchiveError
from survival_core.io.archive import MAX_DEPTH, extract_zip, is_zip


def make_zip(
    members: dict[str, bytes] | list[tuple[str, bytes]],
    *,
    symlinks: tuple[str, ...] = (),
    modes: dict[str, int] | None = None,
) -> bytes:
    """A zip of ``members``; ``symlinks`` are marked as links, ``modes`` sets other file types."""
    buffer = io.BytesIO()
    items = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in items:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            if name in (modes or {}):
                info.external_attr = (modes[name] | 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def tar_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = b"inner"
        info = tarfile.TarInfo("inner.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("as_bytes", [True, False])
def test_extracts_nested_folders(tmp_path: Path, as_bytes: bool) -> None:
    data = make_zip({"case/ct/a.dcm": b"slice a", "case/clinical.json": b"{}", "case/empty/": b""})
    source: bytes | Path = data
    if not as_bytes:
        source = tmp_path / "upload.zip"
        source.write_bytes(data)
        assert is_zip(source)
    dest = tmp_path / "out"
    written = extract_zip(source, dest)
    assert sorted(p.relative_to(dest.resolve()).as_posix() for p in written) == [
        "case/clinical.json",
        "case/ct/a.dcm",
    ]
    assert (dest / "case/ct/a.dcm").read_bytes() == b"slice a"
    assert (dest / "case/empty").is_dir()


@pytest.mark.parametrize(
    ("members", "symlinks", "limits", "member", "reason"),
    [
        ({"../evil.txt": b"x"}, (), {}, "../evil.txt", "outside"),
        ({"ok/../../evil.txt": b"x"}, (), {}, "ok/../../evil.txt", "outside"),
        ({"/etc/evil": b"x"}, (), {}, "/etc/evil", "absolute"),
        ({"C:/evil.txt": b"x"}, (), {}, "C:/evil.txt", "absolute"),
        ({"link": b"/etc/passwd"}, ("link",), {}, "link", "symbolic link"),
        ({"inner.zip": b"anything"}, (), {}, "inner.zip", "itself an archive"),
        ({"disguised.dcm": make_zip({"a": b"b"})}, (), {}, "disguised.dcm", "itself a zip"),
        (
            {"bomb.bin": b"\0" * (3 * 1024**2)},
            (),
            {"max_compressible_bytes": 2**20},
            "bomb.bin",
            "zip bomb",
        ),
    ],
)
def test_refuses_hostile_member(tmp_path, members, symlinks, limits, member, reason) -> None:
    with pytest.raises(ArchiveError, match=reason) as err:
        extract_zip(make_zip(members, symlinks=symlinks), tmp_path / "out", **limits)
    assert repr(member) in str(err.value)
    assert not (tmp_path / "evil.txt").exists()


def test_checks_every_member_before_writing_any(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError):
        extract_zip(make_zip({"good.txt": b"x", "../evil.txt": b"x"}), tmp_path / "out")
    assert not (tmp_path / "out" / "good.txt").exists()


@pytest.mark.parametrize(
    ("limits", "reason"),
    [({"max_files": 3}, "holds 4 files; at most 3"), ({"max_total_bytes": 100}, "expand to")],
)
def test_limits(tmp_path: Path, limits: dict, reason: str) -> None:
    members = {f"f{i}.txt": b"y" * 40 for i in range(4)}
    with pytest.raises(ArchiveError, match=reason):
        extract_zip(make_zip(members), tmp_path / "out", **limits)
    extract_zip(make_zip(members), tmp_path / "ok")  # within the default limits


def test_small_compressible_member_is_not_a_bomb(tmp_path: Path) -> None:
    written = extract_zip(make_zip({"zeros.bin": b"\0" * 100_000}), tmp_path / "out")
    assert written[0].stat().st_size == 100_000


@pytest.mark.parametrize("source", [b"just text, not a zip", "file"])
def test_not_a_zip(tmp_path: Path, source) -> None:
    if source == "file":
        source = tmp_path / "notes.zip"
        source.write_text("hello")
    with pytest.raises(ArchiveError, match="not a readable .zip"):
        extract_zip(source, tmp_path / "out")


def test_corrupt_member_is_reported(tmp_path: Path) -> None:
    data = bytearray(make_zip({"a.txt": b"hello world" * 50}))
    start = data.index(b"a.txt") + len("a.txt")
    data[start + 2 : start + 6] = b"\xff\xff\xff\xff"  # damage the compressed stream
    with pytest.raises(ArchiveError, match="a.txt"):
        extract_zip(bytes(data), tmp_path / "out")


@pytest.mark.parametrize(
    ("members", "modes", "member", "reason"),
    [
        ({"dev/sda": b""}, {"dev/sda": stat.S_IFBLK}, "dev/sda", "device"),
        ({"tty": b""}, {"tty": stat.S_IFCHR}, "tty", "device"),
        ({"pipe": b""}, {"pipe": stat.S_IFIFO}, "pipe", "device"),
        ({"a\x1b[2J.dcm": b"x"}, {}, "a\x1b[2J.dcm", "control character"),
        ({"a\n.dcm": b"x"}, {}, "a\n.dcm", "control character"),
        ({"D:evil.txt": b"x"}, {}, "D:evil.txt", "absolute"),
        (
            {"/".join(["d"] * MAX_DEPTH) + "/f": b"x"},
            {},
            "/".join(["d"] * MAX_DEPTH) + "/f",
            "deep",
        ),
        ({"x" * 256: b"x"}, {}, "x" * 256, "longer than 255"),
        (
            {"/".join(["d" * 250] * 20) + "/a.dcm": b"x"},
            {},
            "/".join(["d" * 250] * 20) + "/a.dcm",
            "path longer than 1024",
        ),
        ({"inner.dcm": tar_bytes()}, {}, "inner.dcm", "tar archive"),
        ({"inner.bin": gzip.compress(tar_bytes())}, {}, "inner.bin", "gzip-compressed tar"),
        ({"inner.bin": b"7z\xbc\xaf\x27\x1c" + b"\0" * 40}, {}, "inner.bin", "7-Zip"),
        ({"inner.bin": b"Rar!\x1a\x07\x00" + b"\0" * 40}, {}, "inner.bin", "RAR"),
    ],
)
def test_refuses_unusual_members(tmp_path, members, modes, member, reason) -> None:
    with pytest.raises(ArchiveError, match=reason) as err:
        extract_zip(make_zip(members, modes=modes), tmp_path / "out")
    assert repr(member) in str(err.value)


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([("ct/a.dcm", b"1"), ("ct/a.dcm", b"2")], "same name"),
        ([("ct/A.dcm", b"1"), ("CT/a.dcm", b"2")], "same name"),
        ([("ct", b"1"), ("ct/a.dcm", b"2")], "both a file and a folder"),
        ([("ct/a.dcm", b"1"), ("CT", b"2")], "both a file and a folder"),
    ],
)
def test_refuses_clashing_names(tmp_path: Path, members, reason: str) -> None:
    with pytest.raises(ArchiveError, match=reason):
        extract_zip(make_zip(members), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_compressed_volume_inside_is_accepted(tmp_path: Path) -> None:
    """A gzip member that is not an archive (a .nii.gz volume) is extracted unchanged."""
    data = gzip.compress(b"\x5c\x01\x00\x00" + b"\0" * 340 + b"n+1\0")
    written = extract_zip(make_zip({"case/image.nii.gz": data}), tmp_path / "out")
    assert written[0].read_bytes() == data


def test_many_small_compressible_members_count_together(tmp_path: Path) -> None:
    """Members compressing a thousand-fold are bounded by what they expand to together: 70 of
    1 MiB, 924-fold each, expand a 150 KiB upload to 70 MiB (2,048 of them to 2 GiB of disk and
    twice that of memory); under a 64 MiB bound 70 are refused and 60 are not."""
    bound = {"max_compressible_bytes": 64 * 1024**2}
    members = {f"m{i}.bin": b"\0" * (1024**2 - 1) for i in range(70)}
    with pytest.raises(ArchiveError, match=r"70 member\(s\) .* expand to 70 MiB together"):
        extract_zip(make_zip(members), tmp_path / "out", **bound)
    assert not (tmp_path / "out").exists()
    fewer = {f"m{i}.bin": b"\0" * (1024**2 - 1) for i in range(60)}
    assert len(extract_zip(make_zip(fewer), tmp_path / "fewer", **bound)) == 60


def test_a_downloads_many_compressible_masks_are_no_zip_bomb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cohort download of 45 lung CTs with uncompressed '.nii' label maps (a thousand-fold
    each) passed an upload's 512 MiB bound for such members together, and the whole download
    was refused as a zip bomb, advising to download it again; a download on the server's disk
    is bounded by its free space. An upload keeps its bound, refused as too large, not damaged."""
    from survival_core.errors import ArchiveTooLarge
    from survival_core.io import archive
    from survival_core.io.archive import extract_nested

    # an upload's bound lowered so that 70 MiB of masks pass it (as 45 CTs' pass 512 MiB)
    monkeypatch.setitem(archive.extract_zip.__kwdefaults__, "max_compressible_bytes", 64 * 1024**2)
    members = {f"P{i:02d}/label.nii": b"\0" * (1024**2 - 1) for i in range(70)}
    source = tmp_path / "cohort.zip"
    source.write_bytes(make_zip(members))
    files, unopened = extract_nested(source, tmp_path / "out")
    assert len(files) == 70 and unopened == []
    with pytest.raises(ArchiveTooLarge, match="zip bomb"):
        extract_zip(source, tmp_path / "upload")


def test_an_uncompressed_nifti_mask_is_no_zip_bomb(shared_data: Path, tmp_path: Path) -> None:
    """A real GTV (pyradiomics' lung1, 512 x 512 x 48) saved as an uncompressed .nii, as dcm2niix
    and many tools write masks, compresses about a thousand-fold in a zip: it was refused as a
    zip bomb (limit 200-fold), while the same file uploaded loose or as .nii.gz was accepted."""
    label = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung1_label.nrrd"))
    sitk.WriteImage(label, str(tmp_path / "gtv.nii"), False)
    mask = (tmp_path / "gtv.nii").read_bytes()
    written = extract_zip(make_zip({"case/gtv.nii": mask}), tmp_path / "out")
    assert written[0].read_bytes() == mask


def test_backslash_member_names_are_folders(tmp_path: Path) -> None:
    """Some Windows tools write 'STS_001\\CT\\000000.dcm': the zip was refused whole as holding
    an absolute path. Its folders are kept; '..\\' still points outside and is refused."""
    written = extract_zip(make_zip({"STS_001\\CT\\000000.dcm": b"slice"}), tmp_path / "out")
    assert written == [(tmp_path / "out" / "STS_001" / "CT" / "000000.dcm").resolve()]
    with pytest.raises(ArchiveError, match="'../evil.txt' points outside"):
        extract_zip(make_zip({"..\\evil.txt": b"x"}), tmp_path / "evil")
    assert not (tmp_path / "evil.txt").exists()


def test_a_zip_in_a_zip_is_unpacked_under_its_name_less_zip(tmp_path: Path) -> None:
    """A batch zip of per-patient zips unpacked 'P001.zip' into a folder 'P001.zip': its case
    key never joined the clinical table's 'P001', and unpacking the batch by hand later changed
    every case id. An Office document, a zip too, stays a file."""
    from survival_core.io.archive import extract_nested
    from tests.dicom_fixtures import zip_bytes

    patient = zip_bytes(
        {"image.nii.gz": b"x" * 10, "notes.docx": zip_bytes({"word/a.xml": b"<w/>"})}
    )
    source = tmp_path / "batch.zip"
    source.write_bytes(zip_bytes({"P001.zip": patient, "P002.zip": patient, "P002/kept.txt": b"k"}))
    files, unopened = extract_nested(source, tmp_path / "out")
    found = sorted(p.relative_to(tmp_path / "out").as_posix() for p in files)
    assert unopened == []
    assert found == [
        "P001/image.nii.gz",
        "P001/notes.docx",
        "P002.zip/image.nii.gz",  # 'P002' is taken by a folder of the batch: the zip's name kept
        "P002.zip/notes.docx",
        "P002/kept.txt",
    ]


def test_an_archive_larger_than_the_disks_free_space_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a download's limits sized for cohorts, the disk is what bounds an archive: one
    expanding past its free space stopped half-way with the system's 'No space left'."""
    import shutil
    from collections import namedtuple

    from survival_core.errors import ArchiveTooLarge

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(2**40, 2**40 - 2**20, 2**20))
    with pytest.raises(ArchiveTooLarge, match=r"expand to 3 MiB, but 1 MiB are free on the disk"):
        extract_zip(make_zip({"ct.nii": b"\0" * 3 * 2**20}), tmp_path / "out")
    assert not (tmp_path / "out").exists()
