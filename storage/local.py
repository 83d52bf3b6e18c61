"""Files in a local folder: ``make run`` and single-machine deployments.

A file is written under ``.partial/`` and renamed into place after ``fsync``,
so a key names a whole file or nothing, also after a crash (the cleanup
command removes partial files a crash left)."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from . import CHUNK, Storage

PARTIAL = ".partial"


class FileStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.url = self.root.as_uri()
        (self.root / PARTIAL).mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        return self.root / self.check_key(key)

    def save(self, key: str, content: BinaryIO) -> int:
        target = self._path(key)
        tmp = self.root / PARTIAL / secrets.token_hex(16)
        size = 0
        try:
            with open(tmp, "xb", buffering=0) as out:
                while block := content.read(CHUNK):
                    out.write(block)
                    size += len(block)
                os.fsync(out.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self) -> Iterator[str]:
        for path in self.root.rglob("*"):
            if path.is_file() and PARTIAL not in path.relative_to(self.root).parts:
                yield path.relative_to(self.root).as_posix()

    def remove_partial(self, older_than_s: float) -> int:
        """Partial files a crash left behind (older than any upload can take)."""
        gone = 0
        limit = time.time() - older_than_s
        for path in (self.root / PARTIAL).iterdir():
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                gone += 1
        return gone


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
