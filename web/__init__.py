"""The HTTP side of Prefill, in five groups (the engine in ``forms/`` has no I/O):

- ``views/``: one blueprint module per surface (JSON API, ad-hoc forms, HTML
  forms, widget, admin, dev tools, demo, health, OpenAPI, theme).
- ``plumbing/``: what every request passes through: CORS, origins, security
  headers, body limits, rate limits, logs and request ids, error handlers, GC.
- ``render/``: turning resolved forms into pages and JSON: compiled HTML,
  theme, languages, versioned scripts.
- ``identity/``: who is asking: the request's session, proofs and their keys.
- ``schemas/``: the API's request bodies and answers (marshmallow; they feed
  ``/openapi.json``).
"""
