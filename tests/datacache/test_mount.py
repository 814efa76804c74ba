"""`corral cache mount` in a real FUSE mount (CI runs as root with /dev/fuse)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corral.datacache.mount import fuse_unavailable
from corral.datacache.report import STATS_FILE

_WHY = fuse_unavailable() or ("" if shutil.which("fusermount3") or shutil.which("fusermount")
                              else "no fusermount3 (install the fuse3 package)")
pytestmark = pytest.mark.skipif(bool(_WHY), reason=f"FUSE unavailable here: {_WHY}")


def _unmount(path: Path) -> None:
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    subprocess.run([tool, "-u", str(path)], check=False, capture_output=True)


def test_mount_serves_the_source_read_only_with_live_stats(dataset, tmp_path: Path) -> None:
    root, content = dataset
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "corral", "cache", "mount", str(root), str(mnt), "--cache-dir",
         str(tmp_path / "c"), "--size", "10000", "--policy", "nr", "--dataset", "imgs"],
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not os.path.ismount(mnt):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mount did not come up: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
        assert sorted(os.listdir(mnt)) == [STATS_FILE, "train", "val"]
        for _ in range(2):
            for path, data in sorted(content.items()):
                assert (mnt / path).read_bytes() == data
        with pytest.raises(OSError):
            (mnt / "val" / "new.jpg").write_bytes(b"x")
        report = json.loads((mnt / STATS_FILE).read_text())
        assert [(e["epoch"], e["hits"], e["misses"]) for e in report["epochs"]] == \
            [(1, 0, 30), (2, 10, 20)]
        assert report["datasets"]["imgs"]["cached_share"] == pytest.approx(1 / 3)
        cli = subprocess.run([sys.executable, "-m", "corral", "cache", "stats", str(mnt),
                              "--annotation"], capture_output=True, text=True, check=True)
        assert json.loads(cli.stdout) == {"imgs": pytest.approx(1 / 3, abs=1e-4)}
    finally:
        _unmount(mnt)
        proc.wait(30)
    assert proc.returncode == 0


def _alive(mnt: Path) -> bool:
    try:
        os.stat(mnt)
    except OSError:
        return False
    return True


def test_remounting_over_a_killed_mount_is_one_error_line(dataset, tmp_path: Path) -> None:
    root, _ = dataset
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    command = [sys.executable, "-m", "corral", "cache", "mount", str(root), str(mnt),
               "--tier", "memory", "--size", "10000"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not os.path.ismount(mnt):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mount did not come up: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        deadline = time.monotonic() + 10
        while _alive(mnt) and time.monotonic() < deadline:
            time.sleep(0.1)  # the kernel aborts the connection once the daemon is gone
        with pytest.raises(OSError, match="not connected"):
            os.stat(mnt)
        for again in (command, [sys.executable, "-m", "corral", "cache", "stats", str(mnt)]):
            done = subprocess.run(again, capture_output=True, text=True, timeout=60)
            assert done.returncode == 2, done.stderr
            lines = done.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
            assert f"fusermount3 -u {mnt}" in lines[0]
    finally:
        _unmount(mnt)
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    os.stat(mnt)  # cleared as the message says
