"""One file received into storage, under its limits, as it arrives.

The bytes pass through :class:`Meter` on their way from the multipart parser
to the storage: it counts them (past the limit: refused at once, the rest
never read), keeps the first 64 KiB to type the content by (a wrong type is
refused as soon as those arrived), and feeds clamd when scanning is on.
Memory per upload: one 64 KiB chunk and the 64 KiB head. The whole file is
not hashed (a sixth of an upload's time): its fingerprint, the SHA-256 of its
head and size, only tells a double-posted page's files from others.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any, BinaryIO

from flask import current_app

from forms import files
from forms.errors import FileRefused, FileTooLarge, PrefillError, StorageUnavailable, UploadBudgetExceeded
from forms.files import FileLimits
from forms.messages import N_, Message
from storage.clamd import Clamd, Scan, ScanFailed
from store.attachments import BudgetExceeded
from store.sessions import SessionRow
from web.state import state

log = logging.getLogger("prefill.uploads")


def human_size(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + " " + unit
    return f"{n} bytes"


@dataclass(frozen=True)
class Received:
    id: str
    name: str
    size: int
    type: str
    fingerprint: str

    def meta(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "size": self.size, "type": self.type}


class _Refused(Exception):
    def __init__(self, error: PrefillError) -> None:
        super().__init__(error.message)
        self.error = error


class Meter:
    """A part's stream, read by the storage: counted, hashed, typed, scanned."""

    def __init__(self, part: BinaryIO, limit: int, over: PrefillError, check_type: Any, scan: Scan | None) -> None:
        self.part, self.limit, self.over, self.check_type, self.scan = part, limit, over, check_type, scan
        self.size = 0
        self.head = b""
        self.type: str | None = None

    def read(self, n: int = -1) -> bytes:
        block = self.part.read(n if n > 0 else 64 * 1024)
        self.size += len(block)
        if self.size > self.limit:
            raise _Refused(self.over)
        if self.type is None:
            self.head += block[: files.SNIFF_BYTES - len(self.head)]
            if not block or len(self.head) >= files.SNIFF_BYTES:
                self.type = files.detect(self.head)
                self.check_type(self.type)  # raises _Refused: the rest is never read
        if self.scan is not None and block:
            self.scan.feed(block)
        return block


def receive(part: Any, limits: FileLimits, row: SessionRow, user_id: str | None, form: str, field: str,
            error_field: str) -> Received:
    """Store ``part`` (a :class:`web.uploads.multipart.Part`) as an upload of
    session ``row`` for ``form``/``field``. Errors name ``error_field``:
    :class:`FileTooLarge` (413) past the size limit, :class:`FileRefused` (422)
    for a type or scan that fails, :class:`UploadBudgetExceeded` (429)."""
    cfg = current_app.config
    st = state()
    name = files.display_name(part.filename)
    try:
        ident, key, allowed = st.attachments.reserve(
            session_hash=row.token_hash, visitor_id=row.visitor_id, user_id=user_id, form=form, field=field,
            name=name, want=limits.max_size, budget=cfg["UPLOAD_SESSION_BYTES_PER_HOUR"],
            ttl_ms=int(cfg["UPLOAD_TTL"] * 1000))
    except BudgetExceeded as exc:
        raise UploadBudgetExceeded(exc.retry_after_s) from None
    if allowed < limits.max_size:
        over: PrefillError = UploadBudgetExceeded(3600, Message(N_(
            "This file is larger than what is left of this session's upload allowance for the hour "
            "(%(size)s)."), size=human_size(allowed)))
    else:
        over = FileTooLarge(fields={error_field: [Message(N_("The file is larger than %(size)s."),
                                                          size=human_size(limits.max_size))]})

    def check_type(detected: str) -> None:
        problem = files.type_problem(detected, part.content_type, name, limits.accept)
        if problem is not None:
            raise _Refused(FileRefused(fields={error_field: [problem]}))

    meter = Meter(part, allowed, over, check_type, None)
    try:
        meter.scan = _scan()
        try:
            size = st.storage.save(key, meter)
        except (_Refused, ScanFailed, PrefillError):
            raise
        except Exception:
            log.exception("upload %s: the storage failed", ident)
            raise _Refused(StorageUnavailable()) from None
        if meter.scan is not None:
            verdict = meter.scan.verdict()
            if not verdict.clean:
                log.warning("upload %s: clamd found %s; refused", ident, verdict.signature)
                st.storage.delete(key)
                raise _Refused(FileRefused(fields={error_field: [Message(N_(
                    "The file did not pass the virus scan."))]}))
    except ScanFailed as exc:
        log.warning("upload %s: not scanned (%s); refused", ident, exc)
        st.storage.delete(key)
        st.attachments.refused(ident, meter.size)
        raise FileRefused(fields={error_field: [Message(N_(
            "The file could not be checked for viruses just now; please try again later."))]}) from None
    except _Refused as refused:
        st.attachments.refused(ident, meter.size)
        raise refused.error from None
    except BaseException:
        st.attachments.refused(ident, meter.size)  # a client gone mid-upload, a malformed body
        raise
    finally:
        if meter.scan is not None:
            meter.scan.close()
    detected = meter.type or files.detect(meter.head)
    fingerprint = hashlib.sha256(meter.head + size.to_bytes(8, "big")).hexdigest()
    st.attachments.stored(ident, size=size, type_=detected, fingerprint=fingerprint)
    return Received(ident, name, size, detected, fingerprint)


def _scan() -> Scan | None:
    url = current_app.config["UPLOAD_SCAN_CLAMD"]
    if not url:
        return None
    return Clamd(url).stream()  # ScanFailed: refused by the caller, as unscannable
