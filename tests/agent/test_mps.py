"""MPS control daemons, managed with a fake nvidia-cuda-mps-control (tests/agent/fake-...)."""

from __future__ import annotations

import os
import signal
import time

import grpc
import pytest
from fake_kube import share_pod
from recordings import FAKE_MPS_CONTROL, GPU0, GPU1

from corral import kube_contract as contract
from corral.agent.mps import MpsDaemons, MpsError, client_env
from corral.agent.shares import GpuShare


def starts(daemons: MpsDaemons, index: int) -> list[str]:
    log = daemons.log_dir(index) / "starts.log"
    return log.read_text().splitlines() if log.exists() else []


def test_one_daemon_per_gpu_sees_only_its_gpu(short_dir):
    daemons = MpsDaemons(short_dir / "mps", {0: GPU0, 1: GPU1}, str(FAKE_MPS_CONTROL))
    try:
        daemons.ensure(1)
        daemons.ensure(1)  # running already: not started twice
        assert daemons.running(1) and not daemons.running(0)
        [line] = starts(daemons, 1)
        assert line.endswith(GPU1)
        assert (daemons.pipe_dir(1) / "control").exists()
    finally:
        daemons.stop_all()
    assert not daemons.running(1)
    assert not (daemons.pipe_dir(1) / "control").exists()  # it quit on MPS's `quit`


def test_a_dead_daemon_is_restarted_and_its_pods_told(make_agent, kubelet, kube):
    agent = make_agent()
    kube.add(share_pod("a", 0, 300, created=1))
    kubelet.allocate(contract.SHARE_RESOURCE, ["gpu0-0"])
    kube.add(share_pod("b", 0, 300, created=2))
    kubelet.allocate(contract.SHARE_RESOURCE, ["gpu0-1"])
    kube.add(share_pod("other-gpu", 1, 300, created=3))
    kubelet.allocate(contract.SHARE_RESOURCE, ["gpu1-0"])
    [pid, _gpu] = starts(agent.mps, 0)[0].split()
    os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 5
    while agent.mps.running(0) and time.monotonic() < deadline:
        time.sleep(0.02)
    agent.tick()
    assert agent.mps.running(0) and len(starts(agent.mps, 0)) == 2
    assert agent.mps_restarts == [(0, ["team-a/a", "team-a/b"])]
    told = [(name, reason) for name, reason, _ in kube.events]
    assert told == [("a", contract.EVENT_MPS_RESTARTED), ("b", contract.EVENT_MPS_RESTARTED)]


def test_no_daemon_no_share(make_agent, kubelet, kube, short_dir):
    """A share that MPS cannot enforce is refused, never handed out unlimited."""
    broken = short_dir / "broken-mps-control"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    agent = make_agent(mps_control=str(broken))
    kube.add(share_pod("p", 0, 250))
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(contract.SHARE_RESOURCE, ["gpu0-0"])
    assert "exited with status 3" in refused.value.details()
    assert agent.gpus.shares() == []
    assert contract.ALLOCATED not in kube.pods["uid-p"].annotations
    with pytest.raises(MpsError, match="cannot start"):
        MpsDaemons(short_dir / "m2", {0: GPU0}, str(short_dir / "missing")).ensure(0)


def test_client_env_limits_memory_and_threads():
    env = client_env(GpuShare(gpu_index=3, milli=1, memory_mib=512), "GPU-x")
    assert env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "1"  # rounded up, never 0 (= no limit)
    assert env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=512M"
    assert env["NVIDIA_VISIBLE_DEVICES"] == "GPU-x"
