"""The nodes page live shows each GPU's utilisation and health as the node agents' Prometheus
endpoints report them; an agent that does not answer leaves its GPUs unmeasured."""

from __future__ import annotations

import socket

import pytest
from live_setup import gpu_row

from corral.agent.metrics import AgentCollector, Snapshot, serve
from corral.dashboard.agent_gpus import AgentGpus, parse
from corral.dashboard.live_cluster import LiveCluster
from corral.k8s.client import KubeClient
from corral.model import ConfigError
from k8s.k8s_builders import emulated, node, run


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_nodes_page_shows_the_agents_utilisation_and_unhealthy_gpus() -> None:
    collector = AgentCollector()
    collector.update(Snapshot(gpus=[gpu_row(0, "n0", 75), gpu_row(1, "n0", 0, healthy=False),
                                    gpu_row(0, "elsewhere", 10)]))
    agent = serve(collector, 0, "127.0.0.1")
    urls = [f"http://127.0.0.1:{agent.server_port}/metrics",
            f"http://127.0.0.1:{_closed_port()}/metrics"]  # an agent that is down

    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 4))
            emu.create(node("n1", 2))
            client = KubeClient.for_url(emu.url)
            try:
                rows = {row.name: row for row in
                        await LiveCluster(client, agents=AgentGpus(urls)).nodes()}
            finally:
                await client.close()
        assert rows["n0"].utilisation == [0.75, 0.0, None, None]
        assert rows["n0"].unhealthy == [1]
        assert rows["n1"].utilisation == [None, None] and rows["n1"].unhealthy == []
    try:
        run(scenario)
    finally:
        agent.shutdown()


def test_metrics_from_a_tenant_or_a_wrong_url_do_not_break_the_page() -> None:
    text = ('DCGM_FI_DEV_GPU_UTIL{gpu="x",Hostname="n0"} 50\n'
            'DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname=""} 50\n'
            'DCGM_FI_DEV_GPU_UTIL{gpu="1",Hostname="n0"} 250\n'
            'corral_gpu_healthy{gpu="2",Hostname="n0"} 1\n')
    [(name, gpus)] = parse(text).items()
    assert name == "n0" and gpus.utilisation == {1: 1.0} and gpus.unhealthy == set()
    with pytest.raises(ValueError):
        parse("this is not { prometheus")
    with pytest.raises(ConfigError, match="must start with http"):
        AgentGpus(["file:///etc/passwd"])
