"""Where uploaded files live: one small interface, two backends.

As small as Django's ``Storage``: :meth:`Storage.save` a stream, :meth:`Storage.open`
one, :meth:`Storage.delete` one, and :meth:`Storage.exists` / :meth:`Storage.keys`
for cleanup and tests. ``UPLOAD_STORAGE_URL`` chooses the backend the way
``DATABASE_URL`` chooses a database: ``file:///srv/prefill/uploads`` (the
default is ``instance/uploads``) or ``s3://bucket/prefix`` (any S3-compatible
service through boto3; ``S3_ENDPOINT_URL`` for one that is not AWS).

Keys are Prefill's own random names, never a user's file name. Nothing here
is reachable from the web: a file is read only by the signed-link view
(``web.views.uploads``), which sets the headers that keep it from running on
Prefill's origin. That is also why there is no ``url()``: an S3 presigned URL
could not carry ``nosniff`` or the sandbox CSP, and the bucket may not be
reachable from outside at all.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

CHUNK = 64 * 1024  # bytes read or written at a time: no file is ever held whole
KEY_RE = re.compile(r"\A[a-z0-9_-]+(/[a-z0-9_-]+)*\Z")


class Storage(ABC):
    """A flat namespace of keys (``a/b/c``: lower-case letters, digits, ``_-``)."""

    url: str  # the setting it was made from, without credentials

    @abstractmethod
    def save(self, key: str, content: BinaryIO) -> int:
        """Store ``content`` read in chunks until EOF under ``key``; the byte count.
        Durable when it returns; an exception from ``content`` (a size limit)
        leaves nothing behind and propagates."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """The stored bytes as a stream to ``read(n)`` from; ``FileNotFoundError`` when absent."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; one that is already gone is no error."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def keys(self) -> Iterator[str]:
        """Every stored key (cleanup of files without a row, and tests)."""

    @staticmethod
    def check_key(key: str) -> str:
        if not KEY_RE.match(key) or len(key) > 200:
            raise ValueError(f"not a storage key: {key!r}")
        return key


def chunks(stream: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    """``stream`` read ``size`` bytes at a time (a download's body)."""
    try:
        while block := stream.read(size):
            yield block
    finally:
        stream.close()


def open_storage(url: str | None, instance_path: str, endpoint_url: str | None = None) -> Storage:
    """The backend ``url`` names; ``None`` or ``""``: a folder under the instance path."""
    if not url:
        from .local import FileStorage

        return FileStorage(Path(instance_path) / "uploads")
    parts = urlsplit(url)
    if parts.scheme == "file":
        from .local import FileStorage

        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"UPLOAD_STORAGE_URL: a file URL names a local folder (file:///path), not {url!r}")
        path = unquote(parts.path)
        return FileStorage(Path(path) if path else Path(instance_path) / "uploads")
    if parts.scheme == "s3":
        from .s3 import S3Storage

        if not parts.netloc:
            raise ValueError(f"UPLOAD_STORAGE_URL: an S3 URL names a bucket (s3://bucket/prefix), not {url!r}")
        return S3Storage(parts.netloc, parts.path.strip("/"), endpoint_url)
    raise ValueError(f"UPLOAD_STORAGE_URL: unknown scheme {parts.scheme!r}; use file:///path or s3://bucket/prefix")
