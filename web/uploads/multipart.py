"""A ``multipart/form-data`` body read as a stream, one part at a time.

Werkzeug's sans-I/O ``MultipartDecoder`` does the parsing; this pulls the
request stream through it in 64 KiB chunks and hands each part out as a
file-like :class:`Part` (``read(n)``), so a file goes to storage as it
arrives and nothing is ever held whole. The parser's own buffer is bounded
(``max_buffer``): headers, preamble and epilogue cannot grow it without end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from flask import request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import BadRequest
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData, Preamble

from forms.errors import UnsupportedMediaType
from storage import CHUNK


def is_multipart() -> bool:
    return request.mimetype == "multipart/form-data"


def request_body(bound: int) -> MultipartBody:
    """The request's body as a multipart stream of at most ``bound`` bytes (a
    longer ``Content-Length`` is refused before a byte is read; a chunked body
    is cut off with a 413 where it passes ``bound``)."""
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    if mimetype != "multipart/form-data" or not options.get("boundary"):
        raise UnsupportedMediaType("Send the file as multipart/form-data.")
    request.max_content_length = bound
    return MultipartBody(request.stream, options["boundary"])


class Part:
    """One part: ``name``, ``filename`` (None for a plain field), ``headers``."""

    def __init__(self, body: MultipartBody, name: str, filename: str | None, headers: Headers) -> None:
        self.body, self.name, self.filename, self.headers = body, name, filename, headers
        self.content_type = headers.get("Content-Type", "")
        self._buffer = b""
        self._done = False

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all the rest for ``n < 0``: only for small fields).
        A whole event's data is handed on as it is, without a copy."""
        if n > 0 and not self._buffer and not self._done:
            event = self.body.next_event()
            if not isinstance(event, Data):
                raise BadRequest("The multipart body is malformed.")
            self._done = not event.more_data
            if len(event.data) <= n:
                return event.data if event.data or self._done else self.read(n)
            self._buffer = event.data
        while not self._done and (n < 0 or len(self._buffer) < n):
            event = self.body.next_event()
            if not isinstance(event, Data):
                raise BadRequest("The multipart body is malformed.")
            self._buffer += event.data
            self._done = not event.more_data
        if n < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def text(self, limit: int) -> str:
        """A plain field's value, at most ``limit`` bytes of UTF-8 (400 otherwise)."""
        data = b""
        while block := self.read(CHUNK):
            data += block
            if len(data) > limit:
                raise BadRequest(f"The form field {self.name!r} is too long.")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"The form field {self.name!r} is not UTF-8.") from None

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class MultipartBody:
    def __init__(self, stream: BinaryIO, boundary: str, max_buffer: int = 1 << 20, max_parts: int = 1000) -> None:
        self.stream = stream
        self.decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=max_buffer,
                                        max_parts=max_parts)
        self.read_bytes = 0  # how much of the body was read: what an early refusal saved

    def next_event(self) -> object:
        while True:
            try:
                event = self.decoder.next_event()
            except ValueError:
                raise BadRequest("The multipart body is malformed.") from None
            if not isinstance(event, NeedData):
                return event
            block = self.stream.read(CHUNK)
            self.read_bytes += len(block)
            self.decoder.receive_data(block or None)

    def parts(self) -> Iterator[Part]:
        """Each part in order; what a consumer leaves unread is skipped."""
        while True:
            event = self.next_event()
            if isinstance(event, (Field, File)):
                part = Part(self, event.name, event.filename if isinstance(event, File) else None, event.headers)
                yield part
                part.drain()
            elif isinstance(event, Epilogue):
                return
            elif not isinstance(event, (Preamble, Data)):
                raise BadRequest("The multipart body is malformed.")
