"""Tests for keras_bert_lab.data.sources: data dir resolution, downloads, safe extraction."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import tarfile
from pathlib import Path

import pytest

from keras_bert_lab.data import sources
from keras_bert_lab.data.sources import (
    COMPLETE_MARKER,
    DataError,
    download,
    extract_archive,
    extraction_dir,
    resolve_data_dir,
)

pytestmark = pytest.mark.usefixtures("isolated_env")


def assert_one_line(error: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_resolve_data_dir_prefers_argument_over_environment(tmp_path, monkeypatch):
    (tmp_path / "from_env").mkdir()
    (tmp_path / "from_arg").mkdir()
    monkeypatch.setenv("KBL_DATA_DIR", str(tmp_path / "from_env"))
    assert resolve_data_dir(tmp_path / "from_arg") == tmp_path / "from_arg"
    assert resolve_data_dir(None) == tmp_path / "from_env"


def test_resolve_data_dir_without_argument_or_environment_means_download():
    assert resolve_data_dir(None) is None


def test_resolve_data_dir_missing_directory_is_one_line_error(tmp_path, monkeypatch):
    with pytest.raises(DataError) as error:
        resolve_data_dir(tmp_path / "nowhere")
    assert_one_line(error, "data_dir=", "nowhere", "does not exist")
    monkeypatch.setenv("KBL_DATA_DIR", str(tmp_path / "gone"))
    with pytest.raises(DataError) as error:
        resolve_data_dir(None)
    assert_one_line(error, "KBL_DATA_DIR=", "gone", "does not exist")


def test_resolve_data_dir_file_is_not_a_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is not a directory"):
        resolve_data_dir(tmp_path / "file")


def test_extract_tar_gz_writes_members_and_marker(tmp_path, make_tar_gz):
    members = [("top", tarfile.DIRTYPE, b""), ("top/x.txt", tarfile.REGTYPE, b"hi")]
    archive = make_tar_gz(tmp_path / "a.tar.gz", members)
    target = extract_archive(archive, tmp_path / "out" / "a")
    assert (target / "top" / "x.txt").read_bytes() == b"hi"
    assert (target / COMPLETE_MARKER).is_file()
    assert sorted(os.listdir(tmp_path / "out")) == ["a"]


def test_complete_extraction_is_reused_only_for_the_same_archive(tmp_path, make_tar_gz):
    archive = make_tar_gz(tmp_path / "a.tar.gz", [("x.txt", tarfile.REGTYPE, b"hi")])
    target = extract_archive(archive, tmp_path / "a")
    before = (target / "x.txt").stat()
    assert extract_archive(archive, target) == target
    after = (target / "x.txt").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    archive.write_bytes(b"no longer an archive")
    with pytest.raises(DataError, match="could not extract"):
        extract_archive(archive, target)
    assert not target.exists()


def test_incomplete_folder_at_target_is_refused_not_overwritten(tmp_path, make_tar_gz):
    archive = make_tar_gz(tmp_path / "a.tar.gz", [("x.txt", tarfile.REGTYPE, b"hi")])
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="not a complete extraction"):
        extract_archive(archive, tmp_path / "a")
    assert os.listdir(tmp_path / "a") == ["mine.txt"]


@pytest.mark.parametrize(
    "members, refused",
    [
        ([("ok.txt", tarfile.REGTYPE, b"x"), ("../evil", tarfile.REGTYPE, b"x")], "'..' component"),
        ([("a/../../evil", tarfile.REGTYPE, b"x")], "'..' component"),
        ([("ln", tarfile.SYMTYPE, "{outside}"), ("ln/evil", tarfile.REGTYPE, b"x")], "symlink"),
        ([("ln", tarfile.SYMTYPE, "../../outside"), ("ln/evil", tarfile.REGTYPE, b"x")], "symlink"),
        ([("ok.txt", tarfile.REGTYPE, b"x"), ("hard", tarfile.LNKTYPE, "ok.txt")], "hard link"),
        ([("pipe", tarfile.FIFOTYPE, "")], "fifo"),
        ([("dev", tarfile.CHRTYPE, "")], "character device"),
    ],
)
def test_unsafe_tar_member_is_refused_and_nothing_is_left(tmp_path, make_tar_gz, members, refused):
    outside = tmp_path / "outside"
    outside.mkdir()
    members = [
        (name, kind, payload.format(outside=outside) if isinstance(payload, str) else payload)
        for name, kind, payload in members
    ]
    archive = make_tar_gz(tmp_path / "archives" / "bad.tar.gz", members)
    extract_root = tmp_path / "extract_root"
    with pytest.raises(DataError) as error:
        extract_archive(archive, extract_root / "bad")
    assert_one_line(error, str(archive), refused)
    assert os.listdir(extract_root) == []
    assert os.listdir(outside) == []
    assert sorted(os.listdir(tmp_path)) == ["archives", "extract_root", "outside"]


def test_absolute_tar_member_is_refused_and_not_written(tmp_path, make_tar_gz):
    victim = tmp_path / "victim.txt"
    archive = make_tar_gz(tmp_path / "bad.tar.gz", [(str(victim), tarfile.REGTYPE, b"x")])
    with pytest.raises(DataError) as error:
        extract_archive(archive, tmp_path / "out" / "bad")
    assert_one_line(error, "absolute path", str(victim))
    assert not victim.exists()
    assert os.listdir(tmp_path / "out") == []


@pytest.mark.parametrize(
    "name, mode, refused",
    [
        ("../evil", stat.S_IFREG | 0o644, "'..' component"),
        ("/tmp/kbl-absolute-evil", stat.S_IFREG | 0o644, "absolute path"),
        ("link", stat.S_IFLNK | 0o777, "symlink"),
        ("pipe", stat.S_IFIFO | 0o644, "fifo"),
    ],
)
def test_unsafe_zip_member_is_refused_before_anything_is_written(
    tmp_path, make_zip, name, mode, refused
):
    members = [("ok.txt", b"x", stat.S_IFREG | 0o644), (name, b"x", mode)]
    archive = make_zip(tmp_path / "bad.zip", members)
    with pytest.raises(DataError) as error:
        extract_archive(archive, tmp_path / "out" / "bad")
    assert_one_line(error, str(archive), refused)
    assert os.listdir(tmp_path / "out") == []
    assert not (tmp_path / "evil").exists()
    assert not Path("/tmp/kbl-absolute-evil").exists()


def test_zip_without_unix_modes_extracts(tmp_path, make_zip):
    archive = make_zip(tmp_path / "a.zip", [("folder/fra.txt", b"Go.\tVa !\n", 0)])
    target = extract_archive(archive, tmp_path / "a")
    assert (target / "folder" / "fra.txt").read_bytes() == b"Go.\tVa !\n"


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_truncated_archive_is_an_error_and_leaves_nothing(tmp_path, make_tar_gz, make_zip, suffix):
    payload = os.urandom(200_000)  # Incompressible, so that the cut falls inside the data.
    good = tmp_path / f"good{suffix}"
    if suffix == ".zip":
        make_zip(good, [("data.bin", payload, stat.S_IFREG | 0o644)])
    else:
        make_tar_gz(good, [("data.bin", tarfile.REGTYPE, payload)])
    truncated = tmp_path / "data" / f"cut{suffix}"
    truncated.parent.mkdir()
    truncated.write_bytes(good.read_bytes()[:120_000])
    with pytest.raises(DataError) as error:
        extract_archive(truncated, tmp_path / "out" / "cut")
    assert_one_line(error, "could not extract", str(truncated))
    assert os.listdir(tmp_path / "out") == []

    truncated.write_bytes(good.read_bytes())
    target = extract_archive(truncated, tmp_path / "out" / "cut")
    assert (target / "data.bin").read_bytes() == payload


def test_unsupported_archive_format_is_refused(tmp_path):
    archive = tmp_path / "data.rar"
    archive.write_bytes(b"x")
    with pytest.raises(DataError, match="not a supported archive"):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_extraction_goes_beside_a_writable_archive(tmp_path, make_tar_gz):
    archive = make_tar_gz(tmp_path / "data" / "a.tar.gz", [("x.txt", tarfile.REGTYPE, b"hi")])
    info = archive.stat()
    assert extraction_dir(archive) == archive.parent / f"a-{info.st_size}-{info.st_mtime_ns}"


def test_extraction_of_read_only_archive_goes_to_cache(tmp_path, make_tar_gz, isolated_env):
    archive = make_tar_gz(tmp_path / "data" / "a.tar.gz", [("x.txt", tarfile.REGTYPE, b"hi")])
    (tmp_path / "data").chmod(0o555)
    try:
        target = extraction_dir(archive)
        assert target.parent == isolated_env / "datasets"
        extract_archive(archive, target)
        assert os.listdir(tmp_path / "data") == ["a.tar.gz"]
        assert extraction_dir(archive, tmp_path / "other").parent == tmp_path / "other" / "datasets"
    finally:
        (tmp_path / "data").chmod(0o755)


def _free_port_url(path: str) -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"


def test_download_checks_sha256_and_caches(tmp_path, serve_folder):
    served = tmp_path / "served"
    served.mkdir()
    (served / "file.bin").write_bytes(b"payload")
    url = f"{serve_folder(served)}/file.bin"
    digest = hashlib.sha256(b"payload").hexdigest()
    path = download("file.bin", url, sha256=digest, cache_dir=tmp_path / "cache")
    assert path == tmp_path / "cache" / "datasets" / "file.bin"
    assert path.read_bytes() == b"payload"


def test_download_with_wrong_sha256_is_refused_and_removed(tmp_path, serve_folder):
    served = tmp_path / "served"
    served.mkdir()
    (served / "file.bin").write_bytes(b"tampered")
    url = f"{serve_folder(served)}/file.bin"
    expected = "0" * 64
    with pytest.raises(DataError) as error:
        download("file.bin", url, sha256=expected, cache_dir=tmp_path / "cache")
    actual = hashlib.sha256(b"tampered").hexdigest()
    expected_message = f"downloaded file.bin from {url} has sha256 {actual}, expected {expected}"
    assert str(error.value) == expected_message
    assert not (tmp_path / "cache" / "datasets" / "file.bin").exists()


def test_unreachable_download_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    url = _free_port_url("file.bin")
    with pytest.raises(DataError) as error:
        download("file.bin", url, sha256=None, cache_dir=tmp_path / "cache")
    assert_one_line(error, "could not download file.bin", url)
    assert not (tmp_path / "cache" / "datasets" / "file.bin").exists()


def test_find_dataset_reports_missing_items(tmp_path):
    with pytest.raises(DataError) as error:
        sources.find_dataset(tmp_path, sources.Release("fra.txt", "fra-eng.zip", "unused", None))
    assert_one_line(error, str(tmp_path), "neither fra.txt nor fra-eng.zip")


def _tar_bytes(members):
    import io

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, payload in members:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return bytearray(buffer.getvalue())


def test_damaged_member_header_is_an_error_and_leaves_nothing(tmp_path):
    """tarfile reads a damaged header after the first as the end of the archive: the members
    before it would make a complete-looking but partial dataset."""
    import gzip

    data = _tar_bytes([(f"top/{index}.txt", b"review %d" % index) for index in range(6)])
    third_header = 2 * 1024  # Each member: a 512-byte header and one 512-byte data block.
    data[third_header : third_header + 100] = b"\xff" * 100
    archive = tmp_path / "data" / "damaged.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(DataError) as error:
        extract_archive(archive, tmp_path / "out" / "damaged")
    assert_one_line(error, "could not extract", str(archive), "after 2 members")
    assert os.listdir(tmp_path / "out") == []


def test_damaged_gzip_data_is_an_error_and_leaves_nothing(tmp_path):
    import gzip

    payload = os.urandom(100_000)
    compressed = bytearray(gzip.compress(bytes(_tar_bytes([("data.bin", payload)]))))
    compressed[-4] ^= 0xFF  # The length field of the gzip trailer, checked at the very end.
    archive = tmp_path / "data" / "bad-crc.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(bytes(compressed))
    with pytest.raises(DataError) as error:
        extract_archive(archive, tmp_path / "out" / "bad-crc")
    assert_one_line(error, "could not extract", str(archive))
    assert os.listdir(tmp_path / "out") == []


def test_marker_of_an_older_version_or_another_archive_is_not_trusted(tmp_path, make_tar_gz):
    archive = make_tar_gz(tmp_path / "a.tar.gz", [("top/x.txt", tarfile.REGTYPE, b"hi")])
    target = tmp_path / "out" / "a"
    (target / "top").mkdir(parents=True)
    (target / "top" / "partial.txt").write_text("left by a faulty extraction")
    (target / COMPLETE_MARKER).write_text(f"{archive}\n")  # The marker's former format.
    extract_archive(archive, target)
    assert sorted(os.listdir(target / "top")) == ["x.txt"]
    marker = (target / COMPLETE_MARKER).read_text()
    assert hashlib.sha256(archive.read_bytes()).hexdigest() in marker
    assert '"members": 1' in marker

    make_tar_gz(archive, [("top/y.txt", tarfile.REGTYPE, b"other")])
    extract_archive(archive, target)
    assert sorted(os.listdir(target / "top")) == ["y.txt"]
