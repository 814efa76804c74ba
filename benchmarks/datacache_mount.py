"""Reading a dataset of many small files through ``corral cache mount`` from slow storage.

Usage: python benchmarks/datacache_mount.py [--files 2000] [--file-kib 64] [--cache-share 0.5]
       [--bandwidth-mib 40] [--latency-ms 2] [--epochs 4] [--readers 4] [--policies nr,lru,...]

Generates ``--files`` random files (sizes log-normal around ``--file-kib``) in a temporary
directory, and serves them through a backing store throttled like a shared file system: one
link of ``--bandwidth-mib`` MiB/s that every read queues on, plus ``--latency-ms`` per request.
For each policy it mounts the cache (disk tier, ``--cache-share`` of the dataset) with FUSE in
a child process, and ``--readers`` processes, like data-loader workers, read the whole dataset
once per epoch in a fresh random order. Prints per epoch the hit ratio (from the mount's live
statistics) and samples/s. Needs FUSE (root, /dev/fuse, libfuse3).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from corral.datacache import DirectoryStore, open_cache
from corral.datacache.mount import fuse_unavailable, mount
from corral.datacache.report import STATS_FILE


class ThrottledStore(DirectoryStore):
    """A directory read as if over one shared link with a per-request latency."""

    def __init__(self, root: Path, bandwidth: float, latency: float) -> None:
        super().__init__(root)
        self.bandwidth, self.latency = bandwidth, latency
        self._lock = threading.Lock()
        self._link_free_at = 0.0

    def read(self, path: str) -> bytes:
        data = super().read(path)
        with self._lock:
            start = max(time.monotonic(), self._link_free_at)
            self._link_free_at = start + len(data) / self.bandwidth
            done = self._link_free_at + self.latency
        time.sleep(max(0.0, done - time.monotonic()))
        return data


def make_dataset(root: Path, files: int, kib: float, seed: int) -> int:
    rng = random.Random(seed)
    total = 0
    for i in range(files):
        size = max(1024, int(rng.lognormvariate(0, 0.5) * kib * 1024))
        path = root / f"class{i % 10}" / f"img{i:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        total += size
    return total


def serve(source: Path, mnt: Path, cache_dir: Path, size: int, policy: str,
          bandwidth: float, latency: float) -> None:
    store = ThrottledStore(source, bandwidth, latency)
    mount(open_cache(store, size, policy, "bench", cache_dir), mnt)


def read_shard(paths: list[str]) -> None:
    for path in paths:
        with open(path, "rb") as f:
            f.read()


def run_policy(policy: str, source: Path, work: Path, size: int, args: argparse.Namespace,
               files: list[str]) -> list[tuple[float, float, float]]:
    mnt, cache_dir = work / f"mnt-{policy}", work / f"cache-{policy}"
    mnt.mkdir()
    ctx = multiprocessing.get_context("fork")
    server = ctx.Process(target=serve, args=(source, mnt, cache_dir, size, policy,
                                             args.bandwidth_mib * 2**20, args.latency_ms / 1e3))
    server.start()
    while not os.path.ismount(mnt):
        time.sleep(0.05)
    rng = random.Random(args.seed)
    rows = []
    try:
        for _ in range(args.epochs):
            order = [str(mnt / f) for f in files]
            rng.shuffle(order)
            shards = [order[i::args.readers] for i in range(args.readers)]
            start = time.perf_counter()
            with ctx.Pool(args.readers) as pool:
                pool.map(read_shard, shards)
            elapsed = time.perf_counter() - start
            epochs = json.loads((mnt / STATS_FILE).read_text())["epochs"]
            rows.append((epochs[-1]["hit_ratio"], epochs[-1]["byte_hit_ratio"],
                         len(files) / elapsed))
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], check=False)
        server.join(30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--file-kib", type=float, default=64)
    parser.add_argument("--cache-share", type=float, default=0.5)
    parser.add_argument("--bandwidth-mib", type=float, default=40)
    parser.add_argument("--latency-ms", type=float, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--policies", default="nr,lru,fifo,random")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    why = fuse_unavailable()
    if why:
        raise SystemExit(f"needs FUSE: {why}")
    work = Path(tempfile.mkdtemp(prefix="corral-cache-bench-"))
    try:
        source = work / "source"
        total = make_dataset(source, args.files, args.file_kib, args.seed)
        files = sorted(str(p.relative_to(source)) for p in source.rglob("*.jpg"))
        size = int(total * args.cache_share)
        print(f"{args.files} files, {total / 2**20:.1f} MiB; cache {size / 2**20:.1f} MiB "
              f"({args.cache_share:.0%}); store {args.bandwidth_mib:g} MiB/s + "
              f"{args.latency_ms:g} ms/read; {args.readers} readers")
        print("| policy | epoch | hit ratio | byte hit ratio | samples/s |\n"
              "| --- | --- | --- | --- | --- |")
        for policy in args.policies.split(","):
            for epoch, (ratio, byte_ratio, rate) in enumerate(
                    run_policy(policy, source, work, size, args, files), 1):
                print(f"| {policy} | {epoch} | {ratio:.3f} | {byte_ratio:.3f} | {rate:,.0f} |",
                      flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
