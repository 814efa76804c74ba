"""Restart recovery from the kubelet's PodResources API (an in-process fake speaking the real
v1 gRPC service on a unix socket), with the checkpoint file as the fallback."""

from __future__ import annotations

import pytest
from fake_pod_resources import FakePodResources
from recordings import GPU0, GPU1, NODE

from corral import kube_contract as contract
from corral.agent.kube import ContainerInfo, PodInfo
from corral.agent.pod_resources import held_devices_from, list_pod_devices

WHOLE = contract.WHOLE_GPU_RESOURCE


@pytest.fixture
def pod_resources(short_dir):
    server = FakePodResources(short_dir / "pod-resources.sock")
    yield server
    server.stop()


def whole_pod(name: str, phase: str = "Running") -> PodInfo:
    return PodInfo(uid=f"uid-{name}", namespace="team-b", name=name, node_name=NODE,
                   phase=phase, created=0.0,
                   containers=(ContainerInfo("main", limits={WHOLE: "1"}),))


def checkpoint_naming(kubelet, uid: str, device: str) -> None:
    import json

    entry = {"PodUID": uid, "ContainerName": "main", "ResourceName": WHOLE,
             "DeviceIDs": {"0": [device]}, "AllocResp": ""}
    (kubelet.dir / "kubelet_internal_checkpoint").write_text(json.dumps(
        {"Data": {"PodDeviceEntries": [entry], "RegisteredDevices": {}}, "Checksum": 0}))


def test_the_client_lists_every_containers_devices(pod_resources):
    pod_resources.holdings = [("team-b", "a", "main", WHOLE, [GPU0]),
                              ("team-b", "a", "side", "example.com/nic", ["nic-1"]),
                              ("team-c", "b", "main", WHOLE, [GPU1])]
    holdings = list_pod_devices(pod_resources.socket)
    assert [(h.namespace, h.pod, h.container, h.resource, h.device_ids) for h in holdings] == [
        ("team-b", "a", "main", WHOLE, (GPU0,)), ("team-b", "a", "side", "example.com/nic",
                                                  ("nic-1",)),
        ("team-c", "b", "main", WHOLE, (GPU1,))]
    pods = [whole_pod("a"), PodInfo(uid="uid-b", namespace="team-c", name="b", node_name=NODE,
                                    phase="Succeeded", created=0.0)]
    assert held_devices_from(holdings, [WHOLE], pods) == {GPU0: "uid-a"}  # b has finished


def test_no_socket_means_no_answer(short_dir):
    assert list_pod_devices(short_dir / "absent.sock") is None
    (short_dir / "not-a-server.sock").touch()
    assert list_pod_devices(short_dir / "not-a-server.sock", timeout=0.5) is None


def test_a_restarted_agent_rebuilds_whole_gpus_from_pod_resources(make_agent, kubelet, kube,
                                                                  pod_resources):
    """No checkpoint file at all: PodResources alone says who holds GPU 1."""
    kube.add(whole_pod("whole"))
    pod_resources.holdings = [("team-b", "whole", "main", WHOLE, [GPU1])]
    agent = make_agent(clock=lambda: 1e12)
    assert [(c.device_id, c.pod_uid) for c in agent.gpus.claims()] == [(GPU1, "uid-whole")]
    assert pod_resources.calls >= 1
    kubelet.wait_devices(WHOLE, lambda d: d[GPU0] == "Unhealthy" or d[GPU1] == "Healthy")


def test_pod_resources_wins_over_a_stale_checkpoint(make_agent, kubelet, kube, pod_resources):
    kube.add(whole_pod("whole"))
    checkpoint_naming(kubelet, "uid-whole", GPU0)  # stale: the kubelet now says GPU 1
    pod_resources.holdings = [("team-b", "whole", "main", WHOLE, [GPU1])]
    agent = make_agent(clock=lambda: 1e12)
    assert [(c.device_id, c.pod_uid) for c in agent.gpus.claims()] == [(GPU1, "uid-whole")]


def test_without_pod_resources_the_checkpoint_is_the_fallback(make_agent, kubelet, kube):
    kube.add(whole_pod("whole"))
    checkpoint_naming(kubelet, "uid-whole", GPU0)
    agent = make_agent(clock=lambda: 1e12)
    assert [(c.device_id, c.pod_uid) for c in agent.gpus.claims()] == [(GPU0, "uid-whole")]


def test_a_pod_that_ended_gives_its_gpu_back(make_agent, kube, pod_resources):
    kube.add(whole_pod("whole"))
    pod_resources.holdings = [("team-b", "whole", "main", WHOLE, [GPU1])]
    agent = make_agent(clock=lambda: 1e12)
    kube.set_phase("uid-whole", "Succeeded")
    agent.tick()
    assert agent.gpus.claims() == []
