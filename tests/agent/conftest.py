"""Fixtures for the node agent: a short temporary directory (unix socket paths are limited to
about 100 characters), a fake kubelet in it, a fake NVML, a fake API server, and agents."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_kube import FakeKubeApi
from fake_kubelet import FakeKubelet
from recordings import FAKE_MPS_CONTROL, NODE, recording

from corral.agent.fake_nvml import FakeNvml
from corral.agent.node_agent import AgentConfig, NodeAgent


@pytest.fixture
def short_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cg-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def kubelet(short_dir: Path) -> Iterator[FakeKubelet]:
    plugin_dir = short_dir / "dp"
    plugin_dir.mkdir()
    fake = FakeKubelet(plugin_dir)
    yield fake
    fake.stop()


@pytest.fixture
def kube() -> FakeKubeApi:
    return FakeKubeApi()


@pytest.fixture
def make_agent(short_dir: Path, kubelet: FakeKubelet,
               kube: FakeKubeApi) -> Iterator[Callable[..., NodeAgent]]:
    """Builds (and later closes) agents on the fake kubelet's directory; keyword arguments
    override :class:`AgentConfig` fields, ``nvml`` the fake NVML, ``clock`` the time."""
    agents: list[NodeAgent] = []

    def make(nvml: FakeNvml | None = None, start: bool = True,
             clock: Callable[[], float] = time.time, **config: object) -> NodeAgent:
        base = AgentConfig(node=NODE, plugin_dir=kubelet.dir, mps_root=short_dir / "mps",
                           mps_control=str(FAKE_MPS_CONTROL), metrics_addr="127.0.0.1",
                           metrics_port=0, interval_s=0.1, proc_root=short_dir / "proc",
                           annotate_step_mib=1.0,
                           pod_resources_socket=short_dir / "pod-resources.sock",
                           state_dir=short_dir / "state")
        agent = NodeAgent(dataclasses.replace(base, **config), nvml or FakeNvml(recording()),
                          kube, clock)
        agents.append(agent)
        if start:
            agent.start()
        return agent

    yield make
    for agent in agents:
        agent.close()
