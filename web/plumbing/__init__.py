"""What every request passes through, whatever its surface: CORS, origins,
headers, body and rate limits, logs and request ids, error handlers, GC."""
