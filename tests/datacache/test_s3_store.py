"""The S3 path against moto's standalone S3-compatible server on loopback (real HTTP)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.datacache import open_cache, open_store
from corral.datacache.s3_store import S3Store

boto3 = pytest.importorskip("boto3", reason="the datacache extra (boto3) is not installed")
moto_server = pytest.importorskip("moto.server",
                                  reason="moto[server] (a dev dependency) is not installed")


@pytest.fixture
def endpoint(monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_s3_source_reads_through_the_cache(endpoint: str, tmp_path: Path) -> None:
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="data")
    content = {f"train/{i}.jpg": bytes([i]) * (100 + i) for i in range(10)}
    for key, data in content.items():
        client.put_object(Bucket="data", Key=f"imagenet/{key}", Body=data)
    client.put_object(Bucket="data", Key="other/x.jpg", Body=b"not ours")

    store = open_store("s3://data/imagenet", endpoint)
    assert isinstance(store, S3Store)
    files = {info.path: info for info in store.list()}
    assert set(files) == set(content)
    cache = open_cache(store, 10_000, "nr", "imagenet", tmp_path / "c")
    for _ in range(2):
        for path, info in files.items():
            assert cache.read(info) == content[path]
    assert [(e.epoch, e.hits) for e in cache.stats()] == [(1, 0), (2, 10)]

    client.delete_object(Bucket="data", Key="imagenet/train/3.jpg")
    fresh = open_cache(store, 10_000, "lru", "imagenet", tmp_path / "fresh")
    with pytest.raises(FileNotFoundError):
        fresh.read(files["train/3.jpg"])
    assert fresh.used() == 0
