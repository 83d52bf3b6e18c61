"""Prefill: the app factory and the ``make run`` entry point.

Configuration comes from environment variables with safe defaults; a ``config``
mapping passed to :func:`create_app` wins over both (tests use it).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.sessions import SessionInterface

ROOT = Path(__file__).resolve().parent
log = logging.getLogger("prefill")


def _bool(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


# name -> (parser, default)
SETTINGS: dict[str, tuple[Any, Any]] = {
    "DATABASE_URL": (str, None),
    "SECRET_KEY": (str, None),
    "IDENTITY_SECRET": (str, None),
    "IDENTITY_SECRETS": (str, None),  # "kid=secret,kid=secret": HS256 keys by kid (rotation)
    "IDENTITY_PUBLIC_KEYS": (str, None),  # a PEM or JWKS file of public keys: RS256, ES256, EdDSA
    "IDENTITY_TOKEN_AUDIENCE": (str, None),
    # With a key: "required" (the default) refuses an identify without a proof; "optional" takes it as a claim.
    "IDENTITY_VERIFICATION": (str, None),
    "SESSION_TTL_DAYS": (float, 30.0),
    "SESSION_COOKIE_SECURE": (_bool, False),
    "MAX_BODY_BYTES": (int, 1024 * 1024),
    "FRAME_ANCESTORS": (str, "'self'"),
    "WIDGET_ORIGINS": (_list, []),  # sites whose pages may use widget.js (CORS) and frame the panel
    "ADHOC_FORMS": (_bool, False),
    # The forms' look: an accent colour (#rrggbb), a corner radius (px or rem), the brand shown on full pages.
    "THEME_ACCENT": (str, "#1f4fd1"),
    "THEME_RADIUS": (str, "6px"),
    "BRAND_NAME": (str, None),
    "BRAND_LOGO_URL": (str, None),  # client-defined forms (widget.js showForm({fields}))
    "TRUSTED_PROXIES": (int, 0),
    "SENSITIVE_KEYS_EXTRA": (_list, []),
    "SENSITIVE_KEYS_ALLOW": (_list, []),
    "PREFILL_PROVIDER_MODULES": (_list, []),
    "PREFILL_DEMO": (_bool, False),
    "PREFILL_DEV": (_bool, False),  # author tools in the browser: /dev/preview (never in production)
    "PREFILL_BUILTIN_FORMS": (_bool, False),  # the demo forms without the demo
    "PREFILL_CONFIG": (str, None),  # a YAML or JSON file of declared forms
    "ADMIN_API_KEY": (str, None),
    "WEBHOOK_URL": (str, None),
    "WEBHOOK_SECRET": (str, None),
    "WEBHOOK_RETRY_BASE_S": (float, 2.0),
    "WEBHOOK_MAX_ATTEMPTS": (int, 8),
    "WEBHOOK_TIMEOUT_S": (float, 10.0),
    "AUTO_MIGRATE": (_bool, True),
    "DB_DEADLINE_S": (float, 2.0),  # database time per request, all calls together (store.deadline); 0: unbounded
    "LOG_FORMAT": (str, "text"),  # or "json": one object per line, with the request id
    "LOG_LEVEL": (str, "INFO"),
    # Flask-Limiter's own names: RATELIMIT_ENABLED, RATELIMIT_STORAGE_URI.
    "RATELIMIT_ENABLED": (_bool, True),
    "RATELIMIT_STORAGE_URI": (str, "memory://"),
    "RATELIMIT_KEY_PREFIX": (str, "prefill"),  # the Redis key prefix: one per deployment sharing a Redis
    # Per session (a request without one: per address); "_ADDRESS", the per-address ceiling, is 10x unless set.
    "RATELIMIT_IDENTITY": (str, "30/minute;300/hour"),
    "RATELIMIT_IDENTITY_ADDRESS": (str, None),
    "RATELIMIT_SUBMIT": (str, "10/minute;100/hour"),
    "RATELIMIT_SUBMIT_ADDRESS": (str, None),
    "RATELIMIT_ADHOC": (str, "30/minute;300/hour"),  # ad-hoc resolutions: /api/forms/resolve, the panel's render
    "RATELIMIT_ADHOC_ADDRESS": (str, None),
    "RATELIMIT_ADMIN_FAILURES": (str, "10/minute;100/hour"),  # wrong admin keys, per address
    "ENGINE_CACHE_SIZE": (int, 4096),  # entries per cache, at most
    "ENGINE_CACHE_MB": (float, 12.0),  # bytes, all caches of one worker together
    "GC_FREEZE_EVERY": (int, 1000),  # requests between freezes of long-lived objects (web.plumbing.collector); 0: off
    # Uploads (file fields): the operator's caps on every form, lifetimes in seconds, where files live.
    "UPLOAD_MAX_BYTES": (int, 10 * 1024 * 1024),  # per file
    "UPLOAD_MAX_FILES": (int, 5),  # per file field
    "UPLOAD_SESSION_BYTES_PER_HOUR": (int, 100 * 1024 * 1024),  # what one session may upload in an hour
    "UPLOAD_TTL": (float, 24 * 3600.0),  # an upload no submission claimed is removed after this (cleanup)
    "ATTACHMENT_LINK_TTL": (float, 3600.0),  # a signed file link lives this long; at most 7 days
    "UPLOAD_STORAGE_URL": (str, None),  # file:///path (default: instance/uploads) or s3://bucket/prefix
    "S3_ENDPOINT_URL": (str, None),  # an S3-compatible service that is not AWS (MinIO, R2)
    "UPLOAD_SCAN_CLAMD": (str, None),  # tcp://host:3310: every file goes through clamd's INSTREAM
    "RATELIMIT_UPLOAD": (str, "30/minute;300/hour"),  # POST /api/uploads, per address and per session
}


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    overrides = dict(overrides or {})
    for name, (parse, default) in SETTINGS.items():
        if name in overrides:
            raw = overrides.pop(name)
            value = parse(raw) if isinstance(raw, str) and parse is not str else raw
        elif os.environ.get(name, "") != "":
            value = parse(os.environ[name])
        else:
            value = default
        app.config[name] = value
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'prefill.sqlite3'}"
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path) / "secret_key")
    app.config["IDENTITY_VERIFICATION"] = _verification_mode(app.config)
    if app.config["WEBHOOK_URL"] and not app.config["WEBHOOK_SECRET"]:
        raise RuntimeError("WEBHOOK_URL is set but WEBHOOK_SECRET is not: deliveries must be signed.")
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]  # an upload route sets its own bound
    if not 0 < app.config["ATTACHMENT_LINK_TTL"] <= 7 * 86400:
        raise RuntimeError("ATTACHMENT_LINK_TTL must be more than 0 and at most 604800 seconds (7 days).")
    for name in ("UPLOAD_MAX_BYTES", "UPLOAD_MAX_FILES", "UPLOAD_SESSION_BYTES_PER_HOUR", "UPLOAD_TTL"):
        if app.config[name] <= 0:
            raise RuntimeError(f"{name} must be more than 0.")


VERIFICATION_MODES = ("required", "optional")


def _verification_mode(cfg: Mapping[str, Any]) -> str | None:
    """``IDENTITY_VERIFICATION`` checked: "required" or "optional" with a key
    configured ("required" when unset), None without one. Anything else stops
    start-up: a typo must not quietly decide whether proofs are needed."""
    raw = cfg["IDENTITY_VERIFICATION"]
    mode = str(raw).strip().lower() if raw is not None else ""
    keyed = any(cfg.get(k) for k in ("IDENTITY_SECRET", "IDENTITY_SECRETS", "IDENTITY_PUBLIC_KEYS"))
    if mode and mode not in VERIFICATION_MODES:
        raise RuntimeError(f"IDENTITY_VERIFICATION is {raw!r}: it must be 'required' or 'optional'.")
    if mode and not keyed:
        raise RuntimeError(f"IDENTITY_VERIFICATION={mode} needs a key to check proofs with: set IDENTITY_SECRET, "
                           "IDENTITY_SECRETS or IDENTITY_PUBLIC_KEYS (without one, every identity is a claim).")
    return (mode or "required") if keyed else None


def _instance_secret(key_file: Path) -> str:
    """The instance's own secret, created once: workers starting together agree.

    The key is written to a private temporary file and hard-linked into place,
    which fails if another process won; everyone then reads the winner's key.
    """
    if not key_file.exists():
        tmp = key_file.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return key_file.read_text().strip()


class NoCookieSessions(SessionInterface):
    """Prefill keeps no state in Flask's signed cookie; skip its per-request cost."""

    def open_session(self, app: Flask, request: Any) -> None:
        return None

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a Prefill app: registry, engine and stores belong to this app."""
    from forms import Engine, SensitiveKeys
    from forms.lru import LRU
    from forms.spec import FileCaps
    from schema_providers import BUILTIN_MODULES, Registry
    from storage import open_storage
    from store import deadline
    from store.attachments import AttachmentStore
    from store.checkpoints import checkpoints
    from store.db import make_engine, make_read_engine, migrate
    from store.sessions import SessionStore
    from store.submissions import SubmissionStore
    from web.identity.keys import IdentityKeys
    from web.identity.session import set_session_cookie
    from web.plumbing.bodysize import ChunkedBodyLimit
    from web.plumbing.collector import init_collector
    from web.plumbing.cors import cors_headers, preflight_or_refuse
    from web.plumbing.errors import register_error_handlers
    from web.plumbing.headers import security_headers
    from web.plumbing.hooks import fuse_hooks
    from web.plumbing.limits import init_limits
    from web.plumbing.logs import configure_logging, init_logging
    from web.render.assets import init_static
    from web.render.compiled import parts_bytes
    from web.render.i18n import init_i18n
    from web.render.pages import fragment_bytes, page_bytes
    from web.render.theme import theme_context
    from web.state import PrefillState
    from web.views import adhoc, admin, api, demo, devtools, health, html, openapi, theme, uploads, widget

    app = Flask(__name__, instance_path=str(ROOT / "instance"), template_folder="templates",
                static_folder="static")
    load_config(app, config)
    cfg = app.config
    configure_logging(cfg)  # first: loading the providers below may log
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.session_interface = NoCookieSessions()  # identity lives in the database, not in flask.session
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, cfg["MAX_BODY_BYTES"])  # type: ignore[method-assign]
    if cfg["TRUSTED_PROXIES"]:  # behind a load balancer: the client's address, scheme and host
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = cfg["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    registry = Registry()
    for module in cfg["PREFILL_PROVIDER_MODULES"]:
        registry.load_module(module)
    if cfg["PREFILL_CONFIG"]:
        from schema_providers.config import load_config_file

        load_config_file(registry, cfg["PREFILL_CONFIG"])
    if cfg["PREFILL_DEMO"] or cfg["PREFILL_BUILTIN_FORMS"]:  # production serves only its own forms
        for module in BUILTIN_MODULES:
            registry.load_module(module, fallback=True)
    sensitive = SensitiveKeys(cfg["SENSITIVE_KEYS_EXTRA"], cfg["SENSITIVE_KEYS_ALLOW"])
    db = make_engine(cfg["DATABASE_URL"])
    wal = checkpoints(db)  # SQLite: a thread of each worker copies the log back, not a request
    if cfg["AUTO_MIGRATE"]:
        migrate(db)
    # The cache budget: half to the engine (schemas, resolved forms), the rest to
    # rendered fields and pages, and to identities.
    budget, entries = int(cfg["ENGINE_CACHE_MB"] * (1 << 20)), cfg["ENGINE_CACHE_SIZE"]
    read_db = make_read_engine(cfg["DATABASE_URL"], db)  # PostgreSQL: an autocommit pool for one-statement work
    app.extensions["prefill"] = PrefillState(
        registry=registry,
        engine=Engine(registry, sensitive, entries, budget // 2,
                      file_caps=FileCaps(cfg["UPLOAD_MAX_BYTES"], cfg["UPLOAD_MAX_FILES"])),
        sensitive=sensitive,
        db=db,
        sessions=SessionStore(db, cfg["SESSION_TTL_DAYS"], read_db, secret=cfg["SECRET_KEY"], cache_bytes=budget // 8),
        checkpoints=wal,
        submissions=SubmissionStore(db, sensitive, webhooks=bool(cfg["WEBHOOK_URL"]), autocommit=read_db),
        fragments=LRU(entries * 8, budget // 8, fragment_bytes),
        compiled=LRU(entries, budget // 16, parts_bytes),
        pages=LRU(entries, budget // 4, page_bytes),
        keys=IdentityKeys.from_config(cfg),
        storage=open_storage(cfg["UPLOAD_STORAGE_URL"], app.instance_path, cfg["S3_ENDPOINT_URL"]),
        attachments=AttachmentStore(db),
    )

    init_logging(app)  # first: every answer, a refusal too, carries its request id
    app.before_request(preflight_or_refuse)  # then: a foreign origin gets nothing else
    if cfg["DB_DEADLINE_S"] > 0 and db.dialect.name != "sqlite":  # it bounds PostgreSQL's waits (store.pgconn)
        app.before_request(lambda: deadline.start(cfg["DB_DEADLINE_S"]))
        app.teardown_request(lambda _exc: deadline.clear())
    for bp in (api.bp, adhoc.bp, html.bp, widget.bp, theme.bp, admin.bp, health.bp, openapi.bp, uploads.bp):
        app.register_blueprint(bp)
    app.context_processor(theme_context)
    init_static(app)  # static/ gzipped, linked and cached by version
    init_i18n(app)
    if cfg["PREFILL_DEMO"]:
        app.register_blueprint(demo.bp)
    if cfg["PREFILL_DEV"]:
        app.register_blueprint(devtools.bp)
    app.extensions["prefill"].limiter = init_limits(app)
    register_error_handlers(app)
    app.after_request(set_session_cookie)
    app.after_request(cors_headers)
    app.after_request(security_headers(app))

    from cli import register_cli

    register_cli(app)
    init_collector(app)  # last but one: it freezes what creating the app made
    fuse_hooks(app)
    return app


def main() -> None:
    """``make run``: serve on HOST:PORT, with the webhook worker in a thread."""
    app = create_app()
    if app.config["WEBHOOK_URL"]:
        import threading

        from webhooks.worker import Worker

        threading.Thread(target=Worker.from_app(app).run_forever, name="webhook-worker", daemon=True).start()
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    log.info("Prefill on http://%s:%s (database %s)", host, port, app.config["DATABASE_URL"].split("@")[-1])
    app.run(host=host, port=port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()

