"""Files in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2) through boto3.

Credentials come the way boto3 always finds them (``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, a profile, an instance role); ``S3_ENDPOINT_URL``
names a service that is not AWS (then path-style addressing, which MinIO and
R2 take). A PUT needs its length up front, so an upload is streamed to a
temporary file on local disk in chunks (memory stays bounded) and then sent
to the bucket from that file."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import CHUNK, Storage

MISSING = ("404", "NoSuchKey", "NotFound")


class S3Storage(Storage):
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.url = f"s3://{bucket}/{prefix}"
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                        s3={"addressing_style": "path"} if endpoint_url else None)
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, config=config)

    def _key(self, key: str) -> str:
        return self.prefix + self.check_key(key)

    def save(self, key: str, content: BinaryIO) -> int:
        target = self._key(key)
        with tempfile.TemporaryFile() as spool:
            size = 0
            while block := content.read(CHUNK):
                spool.write(block)
                size += len(block)
            spool.seek(0)
            self.client.put_object(Bucket=self.bucket, Key=target, Body=spool, ContentLength=size,
                                   ContentType="application/octet-stream")
        return size

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                raise FileNotFoundError(key) from None
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                return False
            raise
        return True

    def keys(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", ()):
                yield item["Key"][len(self.prefix):]
