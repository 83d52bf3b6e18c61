"""HTTP providers: the schema comes from the integrator's own backend.

    http: {url: "https://api.example.com/users/{{userId}}/form", method: GET,
           headers: {Authorization: "Bearer {{userMetadata.authToken}}"}, timeout: 2.0, cacheTtl: 30}
    allowHosts: [api.example.com]

Placeholders take the **raw** identity (a token is what they are for). In the
URL each value is percent-encoded as one path segment or query value, so a
userId of ``../admin`` or ``a/b?c`` cannot change the path; in a header a value
with CR or LF is refused. Only ``allowHosts`` are reached, at the address that
was checked (no second DNS look-up), never a private, loopback or link-local
one unless that address itself is listed; redirects are not followed; answers
over 256 KiB or not JSON are refused; the timeout bounds the whole exchange.
Failures are 502 ``provider_unavailable`` (504 ``provider_timeout``) naming
the form; no log line carries the URL, a header or the upstream body.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from forms import templating
from forms.errors import ProviderTimeout, ProviderUnavailable
from forms.lru import LRU

log = logging.getLogger("prefill.providers.http")
MAX_ANSWER_BYTES = 256 * 1024
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def _raw_context(user: Any) -> dict[str, Any]:
    """The template roots from the raw identity: unlike a form's, secrets included."""
    return {"userId": user.user_id, "visitorId": user.visitor_id, "userMetadata": user.metadata,
            "sessionMetadata": user.session_metadata}


class _Refused(Exception):
    """The request may not be made (a header value with CR/LF, a host not allowed)."""


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
        url = templating.render(self.url, context, quote=lambda value: quote(value, safe=""))
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
        try:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _Refused("the URL is not http(s)")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            address = self._address(parts.hostname, port)
            conn = _pinned(parts.scheme, parts.hostname, address, port, self.timeout)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request(method, target, body=body, headers={"Host": parts.netloc, "Accept": "application/json",
                                                             "User-Agent": "Prefill-Provider/1", **headers})
            response = conn.getresponse()
            if response.status != 200:
                raise _Refused(f"upstream answered HTTP {response.status}")
            data = b""
            while len(data) <= MAX_ANSWER_BYTES:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = response.read1(65536)
                if not chunk:
                    break
                data += chunk
            conn.close()
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


def _answer_bytes(_key: str, value: tuple[float, Any]) -> int:
    return len(json.dumps(value[1])) * 8 + 512


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, with SNI and certificate checks for the host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _pinned(scheme: str, host: str, address: str, port: int, timeout: float) -> http.client.HTTPConnection:
    if scheme == "https":
        return _PinnedHTTPS(host, address, port, timeout)
    return http.client.HTTPConnection(address, port, timeout=timeout)
