"""A small server that speaks clamd's INSTREAM protocol (ClamAV's signature
database cannot be downloaded here, so no real clamd can run): it "finds" the
EICAR test string, and can be told to answer an error or hang up."""

from __future__ import annotations

import socket
import struct
import threading

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class FakeClamd:
    def __init__(self, mode: str = "scan", max_stream: int = 25 << 20) -> None:
        self.mode, self.max_stream = mode, max_stream
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.scanned: list[int] = []  # bytes received per stream
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            block = conn.recv(n - len(data))
            if not block:
                raise ConnectionError
            data += block
        return data

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                if self._read(conn, 10) != b"zINSTREAM\0":
                    conn.sendall(b"UNKNOWN COMMAND\0")
                    return
                if self.mode == "hangup":
                    return
                data = b""
                while True:
                    (size,) = struct.unpack(">I", self._read(conn, 4))
                    if size == 0:
                        break
                    data += self._read(conn, size)
                    if len(data) > self.max_stream:
                        conn.sendall(b"INSTREAM size limit exceeded. ERROR\0")
                        return
                self.scanned.append(len(data))
                if self.mode == "error":
                    conn.sendall(b"stream: Can't allocate memory ERROR\0")
                elif EICAR in data:
                    conn.sendall(b"stream: Eicar-Test-Signature FOUND\0")
                else:
                    conn.sendall(b"stream: OK\0")
            except (ConnectionError, OSError):
                return

    def close(self) -> None:
        self.sock.close()
