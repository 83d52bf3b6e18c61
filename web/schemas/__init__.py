"""The JSON API's request bodies and answers as marshmallow schemas (they also feed /openapi.json)."""
