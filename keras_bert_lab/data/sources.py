"""Where datasets come from: a local data directory, or a checked download; safe extraction.

A loader asks `find_dataset` for a folder or file by name. It looks in the data directory
(argument, else the `KBL_DATA_DIR` environment variable) for the extracted item, then for the
publisher's archive there; with no data directory it downloads the archive into the Keras
cache (`$KERAS_HOME/datasets`, default `~/.keras/datasets`). Archives are extracted once,
atomically, refusing any member that could write outside the extraction folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections import Counter
from pathlib import Path, PurePosixPath

from keras_bert_lab.utils import atomic_directory, one_line

DATA_DIR_ENV = "KBL_DATA_DIR"
COMPLETE_MARKER = ".kbl-extraction-complete"

_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_ZIP_SUFFIXES = (".zip",)
_TAR_MEMBER_KINDS = {
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "fifo",
}
_ZIP_MEMBER_KINDS = {
    stat.S_IFLNK: "symlink",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
}


class DataError(ValueError):
    """A dataset could not be found, downloaded or read. The message is one line."""

    def __init__(self, message: str):
        super().__init__(one_line(message))


def decode_utf8(raw: bytes, counts: Counter[str]) -> str:
    """`raw` as UTF-8 text; bytes that are not UTF-8 become U+FFFD, and such a text is counted
    in `counts["decoded_with_replacement"]` (the loaders report it)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        counts["decoded_with_replacement"] += 1
        return raw.decode("utf-8", errors="replace")


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """The data directory to read from: `data_dir`, else `$KBL_DATA_DIR`, else None (download).

    Raises:
        DataError: the chosen directory does not exist or is not a directory.
    """
    origin = "data_dir"
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV) or None
        origin = DATA_DIR_ENV
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        problem = "is not a directory" if path.exists() else "does not exist"
        raise DataError(f"{origin}={path} {problem}")
    return path


def keras_datasets_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The Keras download cache: `<cache_dir or $KERAS_HOME or ~/.keras>/datasets`."""
    base = cache_dir or os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(base).expanduser() / "datasets"


def file_sha256(path: Path) -> str:
    """Hex sha256 digest of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(
    fname: str,
    origin: str,
    *,
    sha256: str | None,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Download `origin` as `fname` into the Keras cache unless a verified copy is there.

    Args:
        fname: file name inside the cache's `datasets/` folder.
        origin: URL to download from.
        sha256: expected hex digest, or None to skip verification (only for publishers
            that give no checksum).
        cache_dir: cache root replacing `$KERAS_HOME` / `~/.keras`.

    Returns:
        The path of the downloaded file.

    Raises:
        DataError: the download failed, or the file has the wrong checksum (it is removed).
    """
    import keras  # Imported here: it loads TensorFlow, which reading local files never needs.

    datasets_dir = keras_datasets_dir(cache_dir)
    try:
        datasets_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create download cache {datasets_dir}: {error}") from error
    target = datasets_dir / fname
    try:
        path = keras.utils.get_file(
            fname,
            origin,
            file_hash=sha256,
            hash_algorithm="sha256",
            cache_subdir="datasets",
            cache_dir=str(datasets_dir.parent),
        )
    # Keras re-raises URL and HTTP errors as bare Exception, hence the broad clause.
    except Exception as error:
        if isinstance(error, ValueError) and sha256 is not None and target.is_file():
            # A checksum mismatch: Keras leaves the bad file in the cache.
            actual = file_sha256(target)
            target.unlink()
            raise DataError(
                f"downloaded {fname} from {origin} has sha256 {actual}, expected {sha256}"
            ) from None
        raise DataError(f"could not download {fname} from {origin}: {error}") from error
    return Path(path)


def is_writable_dir(path: Path) -> bool:
    """Whether new files may be created in `path`.

    A folder whose mode bits deny all writes counts as read-only even for root (who could
    write anyway): such a folder, like a shared dataset store, is meant to be left alone.
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISDIR(mode) and bool(mode & 0o222) and os.access(path, os.W_OK)


def archive_stem(name: str) -> str:
    """`name` without its archive suffix: `aclImdb_v1.tar.gz` -> `aclImdb_v1`."""
    for suffix in _TAR_SUFFIXES + _ZIP_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    raise DataError(f"{name} is not a supported archive (expected one of .tar.gz .tgz .tar .zip)")


def extraction_dir(archive: Path, cache_dir: str | os.PathLike | None = None) -> Path:
    """Folder to extract `archive` into: beside it if writable, else in the Keras cache.

    The name holds the archive's size and modification time, so that a replaced archive is
    extracted afresh rather than served from a stale extraction.
    """
    info = archive.stat()
    name = f"{archive_stem(archive.name)}-{info.st_size}-{info.st_mtime_ns}"
    parent = archive.parent if is_writable_dir(archive.parent) else keras_datasets_dir(cache_dir)
    return parent / name


def _marker_text(archive: Path, members: int) -> str:
    """What the completion marker records: the archive's size and sha256 (so an extraction is
    trusted only for the very archive it came from) and the number of members written."""
    fields = {"size": archive.stat().st_size, "sha256": file_sha256(archive), "members": members}
    return json.dumps(fields, sort_keys=True) + "\n"


def _is_complete_extraction(archive: Path, target: Path) -> bool:
    """`target` holds a marker written by this version for this very archive."""
    try:
        fields = json.loads((target / COMPLETE_MARKER).read_text(encoding="utf-8"))
        return fields["size"] == archive.stat().st_size and fields["sha256"] == file_sha256(archive)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def extract_archive(archive: Path, target: Path) -> Path:
    """Extract a `.tar.gz`/`.tgz`/`.tar`/`.zip` archive into `target`, all or nothing.

    Every member is read to its end and the whole archive is checked (gzip and zip CRCs, no
    data after the tar end-of-archive marker: a damaged header would otherwise read as the end
    of the archive). Members go into a temporary sibling folder, renamed to `target` only
    once all of them are written and a completion marker (the archive's size, sha256 and member
    count) is added. A `target` whose marker matches the archive is reused as it is; one with
    an older or foreign marker is extracted afresh.

    Raises:
        DataError: the archive is corrupt or truncated, or has a member with an absolute
            path, a `..` component, or a type other than file or folder (links, devices,
            fifos). Nothing is left behind then.
    """
    if _is_complete_extraction(archive, target):
        return target
    if (target / COMPLETE_MARKER).is_file():
        shutil.rmtree(target)  # Our own extraction, from another archive or an older version.
    elif target.exists():
        raise DataError(
            f"{target} exists but is not a complete extraction of {archive}; remove it and retry"
        )
    archive_stem(archive.name)  # Refuses unsupported formats before anything is written.
    extract_members = _extract_zip if archive.name.endswith(_ZIP_SUFFIXES) else _extract_tar
    try:
        with atomic_directory(target) as partial:
            try:
                members = extract_members(archive, partial)
            except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
                raise DataError(f"could not extract {archive}: {error}") from error
            (partial / COMPLETE_MARKER).write_text(_marker_text(archive, members), encoding="utf-8")
    except OSError as error:
        if not _is_complete_extraction(archive, target):
            raise DataError(
                f"could not move extraction of {archive} to {target}: {error}"
            ) from error
        # Another process finished the same extraction first: use theirs.
    return target


def _check_member_name(archive: Path, name: str) -> None:
    path = PurePosixPath(name)
    if path.is_absolute():
        raise DataError(f"refusing to extract {archive}: member {name!r} has an absolute path")
    if ".." in path.parts:
        raise DataError(f"refusing to extract {archive}: member {name!r} has a '..' component")


def _extract_tar(archive: Path, destination: Path) -> None:
    def checked(member: tarfile.TarInfo, _destination: str) -> tarfile.TarInfo:
        _check_member_name(archive, member.name)
        if not (member.isfile() or member.isdir()):
            kind = _TAR_MEMBER_KINDS.get(member.type, "special file")
            raise DataError(f"refusing to extract {archive}: member {member.name!r} is a {kind}")
        # The checks above leave nothing for tarfile.data_filter to catch (no links, no
        # absolute or '..' names, a fresh destination) and its realpath calls take a third of
        # the time; like it, drop ownership and keep permissions sane.
        member.uid = member.gid = None
        member.uname = member.gname = None
        member.mode = None if member.isdir() else (member.mode & 0o755) | 0o600
        return member

    # Iterating the open archive streams it: one pass of decompression, member by member.
    with tarfile.open(archive, "r:*") as tar:
        tar.extractall(destination, filter=checked)
        members = len(tar.getmembers())
        _check_tar_end(archive, tar)
    return members


def _check_tar_end(archive: Path, tar: tarfile.TarFile) -> None:
    """Reads the archive from where `tarfile` stopped to its end: only zero blocks may follow
    (tarfile takes a damaged header for the end of the archive), and reaching the end makes
    gzip check its CRC and length."""
    tar.fileobj.seek(tar.offset)
    for block in iter(lambda: tar.fileobj.read(1 << 20), b""):
        if block.count(0) != len(block):
            raise DataError(
                f"could not extract {archive}: damaged member header after "
                f"{len(tar.getmembers())} members (data follows the end-of-archive marker)"
            )


def _extract_zip(archive: Path, destination: Path) -> None:
    with zipfile.ZipFile(archive) as zip_file:
        members = zip_file.infolist()
        for member in members:
            _check_member_name(archive, member.filename)
            file_type = stat.S_IFMT(member.external_attr >> 16)
            if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
                kind = _ZIP_MEMBER_KINDS.get(file_type, "special file")
                raise DataError(
                    f"refusing to extract {archive}: member {member.filename!r} is a {kind}"
                )
        # Reading each member to its end makes zipfile check its CRC-32.
        for member in members:
            zip_file.extract(member, destination)
    return len(members)


@dataclasses.dataclass(frozen=True)
class Release:
    """A dataset as its publisher releases it: the archive `archive_name` at `origin` (with
    its `sha256`, None where the publisher gives none), holding the folder or file `name`
    a loader reads."""

    name: str
    archive_name: str
    origin: str
    sha256: str | None


def find_dataset(
    data_dir: str | os.PathLike | None,
    release: Release,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[Path, str]:
    """Locate the folder or file `release.name` of a dataset.

    Looks in `data_dir` (`resolve_data_dir`: the argument, else `$KBL_DATA_DIR`) for `name`,
    then extracts its `archive_name` there (a user's copy, whose checksum is not checked);
    with no data directory, downloads `origin` (checked against `sha256`) and extracts it.
    Inside an archive, `name` may sit at the top or one folder down.

    Returns:
        The path of `name` and a human-readable description of where it came from.

    Raises:
        DataError: the data directory holds neither item, the download or extraction failed,
            or the archive lacks `name`.
    """
    data_dir = resolve_data_dir(data_dir)
    name, archive_name = release.name, release.archive_name
    if data_dir is None:
        archive = download(archive_name, release.origin, sha256=release.sha256, cache_dir=cache_dir)
        source = f"{release.origin} (downloaded to {archive})"
    else:
        if (data_dir / name).exists():
            return data_dir / name, str(data_dir / name)
        archive = data_dir / archive_name
        if not archive.is_file():
            raise DataError(f"data directory {data_dir} holds neither {name} nor {archive_name}")
        source = str(archive)
    extracted = extract_archive(archive, extraction_dir(archive, cache_dir))
    candidates = [extracted / name, *sorted(extracted.glob(f"*/{name}"))]
    found = next((path for path in candidates if path.exists()), None)
    if found is None:
        raise DataError(f"archive {archive} has no {name} at its top or one folder down")
    return found, source
