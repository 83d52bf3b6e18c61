"""The hand-written upload view the upload benchmark compares Prefill with:
Flask streaming ``request.stream`` to a file in 64 KiB chunks (``UPLOAD_DIR``)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, jsonify, request

app = Flask(__name__)
DIR = Path(os.environ.get("UPLOAD_DIR", "/tmp/upload-baseline"))
DIR.mkdir(parents=True, exist_ok=True)


@app.post("/upload")
def upload():
    path = DIR / secrets.token_hex(16)
    size = 0
    with open(path, "wb") as out:
        while block := request.stream.read(64 * 1024):
            out.write(block)
            size += len(block)
    return jsonify({"id": path.name, "size": size}), 201
