"""The storage interface, on both backends: a folder, and S3 (moto's server on loopback)."""

from __future__ import annotations

import io

import pytest

from storage import CHUNK, chunks, open_storage


@pytest.fixture
def storage(storage_config, tmp_path):
    return open_storage(storage_config["UPLOAD_STORAGE_URL"], str(tmp_path), storage_config.get("S3_ENDPOINT_URL"))


class Limited(io.RawIOBase):
    """A stream that fails after ``n`` bytes, as a too-large upload does."""

    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            raise OverflowError("limit")
        take = min(size if size > 0 else CHUNK, self.left)
        self.left -= take
        return b"x" * take


def test_save_open_delete(storage):
    data = bytes(range(256)) * 1000  # several chunks
    assert storage.save("ab/cd/upl_1", io.BytesIO(data)) == len(data)
    assert storage.exists("ab/cd/upl_1")
    assert b"".join(chunks(storage.open("ab/cd/upl_1"))) == data
    assert list(storage.keys()) == ["ab/cd/upl_1"]
    storage.delete("ab/cd/upl_1")
    storage.delete("ab/cd/upl_1")  # gone already: no error
    assert not storage.exists("ab/cd/upl_1")
    with pytest.raises(FileNotFoundError):
        storage.open("ab/cd/upl_1")


def test_a_failed_stream_leaves_nothing(storage):
    with pytest.raises(OverflowError):
        storage.save("ab/cd/upl_2", Limited(3 * CHUNK + 5))
    assert not storage.exists("ab/cd/upl_2")
    assert list(storage.keys()) == []


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../b", "A/B", "a//b", "a/b/", "", "a b", "x" * 201])
def test_keys_are_never_paths(storage, key):
    with pytest.raises(ValueError):
        storage.save(key, io.BytesIO(b"x"))


@pytest.mark.parametrize(("url", "problem"), [
    ("ftp://x/y", "unknown scheme"), ("s3:///prefix", "names a bucket"), ("file://host/path", "local folder"),
])
def test_bad_storage_urls_say_why(url, problem, tmp_path):
    with pytest.raises(ValueError, match=problem):
        open_storage(url, str(tmp_path))


def test_default_is_a_folder_under_the_instance(tmp_path):
    assert open_storage(None, str(tmp_path)).root == (tmp_path / "uploads").resolve()
