"""An S3-compatible object store (AWS S3, MinIO, Ceph RGW) as a backing store, through boto3.

The endpoint and credentials come from boto3's usual places (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``~/.aws``), or the endpoint from *endpoint_url*. Needs the optional
extra: ``pip install 'corral[datacache]'``.

An open object is read by ranged GETs (``Range: bytes=A-B``), so serving a large object never
holds more of it than the range asked for; copying it into the cache streams one GET.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from corral.datacache.open_files import read_all
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

    def open(self, path: str) -> S3Object:
        key = self.prefix + path
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)  # a missing key fails here
        except Exception as exc:
            raise _os_error(exc, f"s3://{self.bucket}/{key}") from None
        return S3Object(self._client, self.bucket, key)

    def read(self, path: str) -> bytes:
        return read_all(self.open(path))


class S3Object:
    """One object, read by ranged GETs."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._client = client
        self.where = f"s3://{bucket}/{key}"
        self._object = {"Bucket": bucket, "Key": key}

    def read_at(self, offset: int, size: int) -> bytes:
        if size <= 0:
            return b""
        try:
            return self._client.get_object(
                **self._object, Range=f"bytes={offset}-{offset + size - 1}")["Body"].read()
        except Exception as exc:
            if _code(exc) == "InvalidRange":
                return b""  # the range starts past the end of the object
            raise _os_error(exc, self.where) from None

    def chunks(self, size: int) -> Iterator[bytes]:
        try:
            body = self._client.get_object(**self._object)["Body"]
            try:
                yield from body.iter_chunks(size)
            finally:
                body.close()
        except Exception as exc:
            raise _os_error(exc, self.where) from None

    def close(self) -> None:
        """Nothing held between requests."""


def _code(exc: Exception) -> str:
    """The S3 error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""


def _os_error(exc: Exception, where: str) -> Exception:
    """The OSError a failed request on *where* is to its reader (FileNotFoundError when the
    key is gone); anything but a boto error is returned as it is."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        code = _code(exc)
        if code in ("NoSuchKey", "404", "NotFound"):
            return FileNotFoundError(where)
        return OSError(f"{where}: {code or exc}")
    if isinstance(exc, BotoCoreError):
        return OSError(f"{where}: {exc}")
    return exc
