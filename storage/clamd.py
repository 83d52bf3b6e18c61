"""ClamAV's daemon over TCP, ``INSTREAM``: a file is scanned as it is stored.

``UPLOAD_SCAN_CLAMD=tcp://host:3310``. The protocol (clamd(8)): send
``zINSTREAM\\0``, then the data as chunks each prefixed by its length (4 bytes,
big-endian), then a zero length; clamd answers ``stream: OK``, ``stream:
<signature> FOUND`` or ``... ERROR`` (a stream over its StreamMaxLength, say).
A scan that cannot finish (clamd down, slow, or an error) is *unscannable*:
the file is refused, never let through unscanned.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit


class ScanFailed(Exception):
    """clamd could not be reached or gave no verdict."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str | None = None  # what was found


class Clamd:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "tcp" or not parts.hostname or not parts.port:
            raise ValueError(f"UPLOAD_SCAN_CLAMD must be tcp://host:port, not {url!r}")
        self.address = (parts.hostname, parts.port)
        self.timeout = timeout

    def stream(self) -> Scan:
        try:
            sock = socket.create_connection(self.address, timeout=self.timeout)
            sock.sendall(b"zINSTREAM\0")
        except OSError as exc:
            raise ScanFailed(f"clamd at {self.address[0]}:{self.address[1]}: {exc}") from None
        return Scan(sock)


class Scan:
    """One file's scan: :meth:`feed` its chunks, then :meth:`verdict`."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def feed(self, block: bytes) -> None:
        if not block:
            return
        try:
            self.sock.sendall(struct.pack(">I", len(block)) + block)
        except OSError as exc:  # clamd closes the stream past its size limit: read why
            raise ScanFailed(self._reply_or(str(exc))) from None

    def verdict(self) -> Verdict:
        try:
            self.sock.sendall(struct.pack(">I", 0))
            reply = self._reply()
        except OSError as exc:
            raise ScanFailed(str(exc)) from None
        finally:
            self.close()
        if reply.endswith("FOUND"):
            return Verdict(False, reply.split(":", 1)[-1].removesuffix("FOUND").strip())
        if reply.endswith(": OK") or reply == "OK":
            return Verdict(True)
        raise ScanFailed(reply or "no answer")

    def _reply(self) -> str:
        data = b""
        while not data.endswith(b"\0") and len(data) < 4096:
            block = self.sock.recv(4096)
            if not block:
                break
            data += block
        return data.rstrip(b"\0").decode("utf-8", "replace").strip()

    def _reply_or(self, fallback: str) -> str:
        try:
            return self._reply() or fallback
        except OSError:
            return fallback
        finally:
            self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
