"""Tiny datasets with the publishers' layouts, archive builders and a local HTTP server.

The IMDB fixture tree (`imdb_data_dir`) holds, under `aclImdb/`:
- train/pos: 20 plain reviews, `20_10.txt` with `<br />`, `<BR>` and `<br/>` tags,
  `21_9.txt` in Latin-1 (not UTF-8) and `22_8.txt` empty once tags are removed: 22 kept.
- train/neg: 20 plain reviews, `20_2.txt` empty and `notes.txt` (a bad name): 20 kept.
- test/pos and test/neg: 5 reviews each; train/unsup: 6 reviews; README and imdb.vocab.
So 60 review files are read, 1 is decoded with replacement, 2 are empty, 1 name is bad.
"""

from __future__ import annotations

import functools
import http.server
import io
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

IMDB_LONG_BREAKS = "Great acting.<br /><br />Loved it<BR>and<br/>more."
IMDB_LATIN1 = "Café scene".encode("latin-1")

FRA_LINES = [
    "Go.\tVa !",
    "Hi.\tSalut !",
    "Hello!\tSalut !\tCC-BY 2.0 (France) Attribution: tatoeba.org #373330 (CK)",
    "Run!\tCours !",
    "Run!\tCourez !",
    "Just one column",
    "Too\tmany\tcolumns\there",
    "\tMissing English",
    "Missing French\t   ",
    "",
]


def _write(path: Path, content: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def build_imdb_tree(root: Path) -> Path:
    """Write the fixture `aclImdb/` tree under `root`; return `root`."""
    imdb = root / "aclImdb"
    for i in range(20):
        _write(imdb / f"train/pos/{i}_{7 + i % 4}.txt", f"train pos review {i}: a fine film.")
        _write(imdb / f"train/neg/{i}_{1 + i % 4}.txt", f"train neg review {i}: a dull film.")
    _write(imdb / "train/pos/20_10.txt", IMDB_LONG_BREAKS)
    _write(imdb / "train/pos/21_9.txt", IMDB_LATIN1)
    _write(imdb / "train/pos/22_8.txt", "<br /> <br/>  ")
    _write(imdb / "train/neg/20_2.txt", "")
    _write(imdb / "train/neg/notes.txt", "not a review")
    for i in range(5):
        _write(imdb / f"test/pos/{i}_8.txt", f"test pos review {i}")
        _write(imdb / f"test/neg/{i}_2.txt", f"test neg review {i}")
    for i in range(6):
        _write(imdb / f"train/unsup/{i}_0.txt", f"unlabelled review {i}")
    _write(imdb / "README", "Large Movie Review Dataset v1.0")
    _write(imdb / "imdb.vocab", "the\nand\n")
    return root


def tar_gz_of(folder: Path, archive: Path) -> Path:
    """Write `archive` holding `folder` under its own name, like the publisher's tarball."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return archive


def tar_gz_with(archive: Path, members: list[tuple[str, bytes, bytes | str]]) -> Path:
    """Write `archive` holding `members`: name, tar type, and content (files) or link target."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = 0o644
            if isinstance(payload, str):
                info.linkname = payload
                tar.addfile(info)
            else:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return archive


def zip_with(archive: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """Write `archive` holding `members`: name, content and Unix mode (type bits included)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zip_file:
        for name, content, mode in members:
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # Unix, so that the mode bits are read.
            info.external_attr = mode << 16
            zip_file.writestr(info, content)
    return archive


@pytest.fixture
def make_tar_gz() -> Callable[..., Path]:
    """`make_tar_gz(archive, [(name, tar_type, content_or_link_target), ...])`."""
    return tar_gz_with


@pytest.fixture
def make_zip() -> Callable[..., Path]:
    """`make_zip(archive, [(name, content, unix_mode), ...])`."""
    return zip_with


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No `KBL_DATA_DIR`, and a Keras cache in tmp_path; returns the cache root."""
    monkeypatch.delenv("KBL_DATA_DIR", raising=False)
    keras_home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return keras_home


@pytest.fixture
def imdb_data_dir(tmp_path: Path) -> Path:
    """A data directory holding the extracted fixture `aclImdb/` tree."""
    return build_imdb_tree(tmp_path / "imdb_extracted")


@pytest.fixture
def imdb_archive_dir(tmp_path: Path) -> Path:
    """A data directory holding only `aclImdb_v1.tar.gz` of the fixture tree."""
    tree = build_imdb_tree(tmp_path / "imdb_tree")
    tar_gz_of(tree / "aclImdb", tmp_path / "imdb_archive" / "aclImdb_v1.tar.gz")
    return tmp_path / "imdb_archive"


@pytest.fixture
def fra_data_dir(tmp_path: Path) -> Path:
    """A data directory holding `fra.txt` made of FRA_LINES."""
    _write(tmp_path / "fra_dir" / "fra.txt", "\n".join(FRA_LINES) + "\n")
    return tmp_path / "fra_dir"


@pytest.fixture
def serve_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    """Serve a folder over HTTP on 127.0.0.1 (a free port): `serve_folder(path)` -> base URL."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    servers: list[tuple[http.server.HTTPServer, threading.Thread]] = []

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    def serve(folder: Path) -> str:
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
