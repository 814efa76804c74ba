"""An S3-compatible object store (AWS S3, MinIO, Ceph RGW) as a backing store, through boto3.

The endpoint and credentials come from boto3's usual places (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``~/.aws``), or the endpoint from *endpoint_url*. Needs the optional
extra: ``pip install 'corral[datacache]'``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from corral.datacache.stores import FileInfo
from corral.model import ConfigError


class S3Store:
    """Objects under ``s3://bucket/prefix``; paths are keys relative to the prefix."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 client: Any = None) -> None:
        if client is None:
            try:
                import boto3
            except ImportError:
                raise ConfigError("an s3:// source needs boto3: pip install "
                                  "'corral[datacache]'") from None
            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = client

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> S3Store:
        """Parse ``s3://bucket[/prefix]``."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ConfigError(f"bad S3 source {url!r}: write s3://bucket/prefix")
        return cls(bucket, prefix, endpoint_url)

    def list(self) -> Iterator[FileInfo]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for obj in page.get("Contents", ()):
                if not obj["Key"].endswith("/"):
                    yield FileInfo(obj["Key"][len(self.prefix):], obj["Size"],
                                   obj["ETag"].strip('"'))

    def read(self, path: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._client.get_object(Bucket=self.bucket, Key=self.prefix + path)[
                "Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"s3://{self.bucket}/{self.prefix}{path}") from None
            raise OSError(f"s3://{self.bucket}/{self.prefix}{path}: {code or exc}") from None
        except BotoCoreError as exc:
            raise OSError(f"s3://{self.bucket}/{self.prefix}{path}: {exc}") from None
