"""HTTP providers: the schema comes from the integrator's own backend.

    http: {url: "https://api.example.com/users/{{userId}}/form", method: GET,
           headers: {Authorization: "Bearer {{userMetadata.authToken}}"}, timeout: 2.0, cacheTtl: 30}
    allowHosts: [api.example.com]

Placeholders take the **raw** identity (a token is what they are for). In the
URL each value is percent-encoded as one path segment or query value, so
``?`` or ``#`` in a value cannot change the URL; a value that would make a
whole path segment ``.``, ``..`` or empty, or put a ``/`` or ``\\`` into one, is
refused rather than encoded (servers decode ``%2E`` and ``%2F``, resolve dot
segments and merge ``//``); in a header a value with CR or LF is
refused. Only ``allowHosts`` are reached, at the address that was checked (no
second DNS look-up), never a private, loopback or link-local one unless that
address itself is listed; redirects are not followed; answers over 256 KiB or
not JSON are refused; the timeout is one deadline over connect, TLS, request,
headers and body: every socket operation gets only the time left.
Failures are 502 ``provider_unavailable`` (504 ``provider_timeout``) naming
the form; no log line carries the URL, a header or the upstream body.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import io
import ipaddress
import json
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from forms import templating
from forms.errors import ProviderTimeout, ProviderUnavailable
from forms.lru import LRU

log = logging.getLogger("prefill.providers.http")
MAX_ANSWER_BYTES = 256 * 1024
Resolver = Callable[[str, int], list[str]]
# scheme://authority, path, ?query#fragment of a URL template (placeholders hold no / ? #).
_URL_PARTS = re.compile(r"([^:/?#]+://[^/?#]*)?([^?#]*)(.*)", re.S)


def system_resolver(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def _raw_context(user: Any) -> dict[str, Any]:
    """The template roots from the raw identity: unlike a form's, secrets included."""
    return {"userId": user.user_id, "visitorId": user.visitor_id, "userMetadata": user.metadata,
            "sessionMetadata": user.session_metadata}


class _Refused(Exception):
    """The request may not be made (a dot segment, a header value with CR/LF, a host not allowed)."""


def _encode(value: str) -> str:
    return quote(value, safe="")


def _unsafe_segment(decoded: str) -> bool:
    """Empty, a dot segment, or a slash a server may decode (``%2F``) and split
    on, as nginx's ``proxy_pass`` does: ``a/../..`` would climb out of the path."""
    return decoded in ("", ".", "..") or "/" in decoded or "\\" in decoded


def _render_url(template: str, context: dict[str, Any]) -> str:
    """The URL with each value encoded in place. A path segment that a value
    makes ``.``, ``..`` or empty is refused: encoding cannot save it, as many
    servers decode ``%2E`` before they resolve dot segments or merge slashes."""
    origin, path, rest = _URL_PARTS.fullmatch(template).groups()  # type: ignore[union-attr]
    segments = []
    for part in path.split("/"):
        segment = templating.render(part, context, quote=_encode)
        if "{{" in part and _unsafe_segment(unquote(segment)):
            raise _Refused("a value would make a URL path segment empty, '.' or '..', or split it")
        segments.append(segment)
    return templating.render(origin or "", context, quote=_encode) + "/".join(segments) + \
        templating.render(rest, context, quote=_encode)


@dataclass
class HTTPProvider:
    form: str
    url: str
    allow_hosts: frozenset[str]
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 2.0
    cache_ttl: float = 0.0
    resolver: Resolver = system_resolver
    _cache: LRU[str, tuple[float, Any]] = field(default_factory=lambda: LRU(256, 4 << 20, _answer_bytes))

    def __call__(self, args: dict[str, str], user: Any) -> Any:
        try:
            request = self._build(args, user)
        except _Refused as exc:
            log.warning("form %r: request refused: %s", self.form, exc)
            raise ProviderUnavailable(self.form) from None
        if self.cache_ttl <= 0:
            return self._fetch(*request)
        method, url, headers, body = request
        # Keyed by the substituted request (a hash: the key holds no token in the clear).
        key = hashlib.sha256(json.dumps([method, url, headers], sort_keys=True).encode() + (body or b"")).hexdigest()
        found = self._cache.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        answer = self._fetch(*request)
        self._cache.put(key, (time.monotonic() + self.cache_ttl, answer))
        return answer

    # -- the request -------------------------------------------------------------
    def _build(self, args: dict[str, str], user: Any) -> tuple[str, str, dict[str, str], bytes | None]:
        context = _raw_context(user)
        url = _render_url(self.url, context)
        headers = {}
        for name, template in self.headers.items():
            value = templating.render(template, context)
            if "\r" in value or "\n" in value:
                raise _Refused(f"header {name!r} would carry a line break")
            headers[name] = value
        body = None
        if self.method == "GET" and args:
            url += ("&" if urlsplit(url).query else "?") + urlencode(sorted(args.items()))
        elif self.method == "POST":
            body = json.dumps(args).encode()
            headers["Content-Type"] = "application/json"
        return self.method, url, headers, body

    def _address(self, host: str, port: int) -> str:
        """The one address to connect to: allowed, and public unless listed itself."""
        if host.lower() not in self.allow_hosts:
            raise _Refused(f"host {host!r} is not in allowHosts")
        try:
            addresses = self.resolver(host, port)
        except OSError as exc:
            raise _Refused(f"host {host!r} does not resolve ({type(exc).__name__})") from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            listed = address in self.allow_hosts or (host.lower() == "localhost" and ip.is_loopback)
            if listed or not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
                              or ip.is_multicast or ip.is_unspecified):
                return address
        raise _Refused(f"host {host!r} resolves only to private or loopback addresses")

    def _fetch(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Any:
        deadline = time.monotonic() + self.timeout
        parts = urlsplit(url)
        conn: _PinnedConnection | None = None
        response: http.client.HTTPResponse | None = None
        try:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _Refused("the URL is not http(s)")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            address = self._address(parts.hostname, port)
            conn = _PinnedConnection(parts.scheme, parts.hostname, address, port, deadline)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request(method, target, body=body, headers={"Host": parts.netloc, "Accept": "application/json",
                                                             "User-Agent": "Prefill-Provider/1", **headers})
            response = conn.getresponse()
            if response.status != 200:
                raise _Refused(f"upstream answered HTTP {response.status}")
            data = b""
            while len(data) <= MAX_ANSWER_BYTES:
                chunk = response.read1(65536)
                if not chunk:
                    break
                data += chunk
            if len(data) > MAX_ANSWER_BYTES:
                raise _Refused("the answer is over 256 KiB")
            return json.loads(data)
        except TimeoutError:
            log.warning("form %r: no answer from %s within %g s", self.form, parts.hostname, self.timeout)
            raise ProviderTimeout(self.form) from None
        except _Refused as exc:
            log.warning("form %r: %s", self.form, exc)
            raise ProviderUnavailable(self.form) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            log.warning("form %r: request to %s failed: %s", self.form, parts.hostname, type(exc).__name__)
            raise ProviderUnavailable(self.form) from None
        finally:
            if response is not None:
                response.close()  # a response that ends the connection holds the socket until then
            if conn is not None:
                conn.close()


def _answer_bytes(_key: str, value: tuple[float, Any]) -> int:
    return len(json.dumps(value[1])) * 8 + 512


def _time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


class _DeadlineReads(io.RawIOBase):
    """A socket's reads, each allowed only the time left before the deadline: a
    socket timeout bounds one read, so a server sending a line every 0.5 s would
    otherwise never trip a 1 s timeout."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._raw, self._deadline = sock, sock.makefile("rb", buffering=0), deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(_time_left(self._deadline))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()  # the socket's own file: the last one closed frees the socket
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """A response read (status line, headers, body) through ``_DeadlineReads``."""

    def __init__(self, sock: socket.socket, *args: Any, deadline: float, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        plain, self.fp = self.fp, io.BufferedReader(_DeadlineReads(sock, deadline))
        plain.close()


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) to a checked address (HTTPS with SNI and certificate checks for the
    host name), every step within one deadline."""

    def __init__(self, scheme: str, host: str, address: str, port: int, deadline: float) -> None:
        super().__init__(host, port)
        self._address, self._deadline = address, deadline
        self._tls = ssl.create_default_context() if scheme == "https" else None
        self.response_class = functools.partial(_DeadlineResponse, deadline=deadline)  # type: ignore[assignment]

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), _time_left(self._deadline))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock.settimeout(_time_left(self._deadline))  # the handshake's own whole-operation bound
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(_time_left(self._deadline))  # sending the request (sendall: one bound for all)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
