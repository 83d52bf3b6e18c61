"""Files and requests for the upload tests: real PNGs, multipart bodies, a
stream that counts what the server read."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

UPLOAD_PROVIDERS = ["tests.providers_uploads"]


def png(size: int = 0) -> bytes:
    """A valid 1x1 PNG, padded with a text chunk to about ``size`` bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    tail = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
    pad = max(0, size - len(head) - len(tail) - 12)
    return head + (chunk(b"tEXt", b"c\x00" + b"x" * (pad - 2)) if pad > 2 else b"") + tail


def multipart(parts: list[tuple[str, Any]], boundary: str = "prefill-test-boundary") -> tuple[bytes, str]:
    """(body, content type): ``parts`` of (name, text) or (name, (bytes, filename, type))."""
    out = io.BytesIO()
    for name, value in parts:
        out.write(f"--{boundary}\r\n".encode())
        if isinstance(value, tuple):
            data, filename, ctype = value
            filename = filename.replace("\\", "\\\\").replace('"', '\\"')  # a quoted-string's escapes
            out.write(f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode())
            out.write(f"Content-Type: {ctype}\r\n\r\n".encode())
            out.write(data)
        else:
            out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode())
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


class Counting(io.BytesIO):
    """A request body that records how many bytes the server read of it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        block = super().read(size)
        self.read_bytes += len(block)
        return block

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        self.read_bytes += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        block = super().readline(size)
        self.read_bytes += len(block)
        return block


def upload(client: Any, form: str, field: str, data: bytes, filename: str, ctype: str = "application/octet-stream",
           headers: dict[str, str] | None = None) -> Any:
    body, content_type = multipart([("form", form), ("field", field), ("file", (data, filename, ctype))])
    return client.post("/api/uploads", data=body, content_type=content_type, headers=headers or {})
