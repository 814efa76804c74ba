"""The S3 path against moto's standalone S3-compatible server on loopback (real HTTP)."""

from __future__ import annotations

import logging
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from corral.datacache import open_cache, open_store
from corral.datacache.mount import CacheFs
from corral.datacache.report import STATS_FILE
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


ODD_KEYS = {
    "imagenet//lead.jpg": b"empty first part",
    "imagenet/a//b.jpg": b"empty middle part",
    "imagenet/a/../up.jpg": b"dot-dot",
    "imagenet/./here.jpg": b"dot",
    "imagenet/file": b"a file that is also a folder",
    "imagenet/file/inner.jpg": b"inner",
    "imagenet/" + "n" * 300: b"name too long",
}
SHOWN = {
    "imagenet/" + STATS_FILE: b'{"not": "the statistics"}',
    "imagenet/a/ok.jpg": b"fine",
}


def test_keys_that_are_no_paths_are_left_out_and_listings_hold(endpoint: str, tmp_path: Path,
                                                               caplog) -> None:
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="odd")
    for key, data in {**ODD_KEYS, **SHOWN}.items():
        client.put_object(Bucket="odd", Key=key, Body=data)
    cache = open_cache(open_store("s3://odd/imagenet", endpoint), 10_000, "nr", "imagenet",
                       tmp_path / "c")
    with caplog.at_level(logging.WARNING):
        fs = CacheFs(cache)
    seen: dict[str, bytes] = {}
    folders = ["/"]
    while folders:
        folder = folders.pop()
        names = fs.readdir(folder, None)
        assert names[:2] == [".", ".."]
        assert len(set(names[2:])) == len(names[2:])
        assert all(name and name not in (".", "..") and "/" not in name for name in names[2:])
        for name in names[2:]:
            path = folder.rstrip("/") + "/" + name
            attrs = fs.getattr(path)
            if attrs["st_mode"] & stat.S_IFDIR:
                folders.append(path)
                continue
            fi = SimpleNamespace(flags=os.O_RDONLY, fh=0, direct_io=0)
            fs.open(path, fi)
            try:
                seen[path] = fs.read(path, 1 << 16, 0, fi)
            finally:
                fs.release(path, fi)
    assert seen == {"/" + STATS_FILE: SHOWN["imagenet/" + STATS_FILE],
                    "/a/ok.jpg": b"fine", "/file/inner.jpg": b"inner"}
    assert fs.unshown == 6  # every odd key but file/inner.jpg, whose parent "file" gives way
    assert any("6 files of the source cannot be shown" in r.message for r in caplog.records)


def test_an_s3_object_is_read_by_range(endpoint: str, tmp_path: Path) -> None:
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="ranged")
    data = bytes(range(256)) * 40
    client.put_object(Bucket="ranged", Key="d/big.bin", Body=data)
    store = open_store("s3://ranged/d", endpoint)
    cache = open_cache(store, 100, "nr", "d", tmp_path / "c")  # too small: read through
    (info,) = store.list()
    file = cache.open(info)
    try:
        assert file.read_at(0, 10) == data[:10]
        assert file.read_at(10_000, 1_000) == data[10_000:]
        assert file.read_at(len(data), 10) == b""
    finally:
        file.close()
    assert cache.read(info) == data
