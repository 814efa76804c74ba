"""The agent's device plugins against a fake kubelet speaking the real v1beta1 gRPC services on
unix sockets: registration, ListAndWatch, Allocate, GetPreferredAllocation."""

from __future__ import annotations

import grpc
import pytest
from fake_kube import share_pod
from recordings import GPU0, GPU1, NODE, recording

from corral import kube_contract as contract
from corral.agent.fake_nvml import FakeNvml
from corral.agent.kube import ContainerInfo, PodInfo
from corral.agent.mps import CONTAINER_PIPE_DIR

SHARE, WHOLE = contract.SHARE_RESOURCE, contract.WHOLE_GPU_RESOURCE


def all_healthy(devices: dict[str, str]) -> bool:
    return all(h == "Healthy" for h in devices.values())


def test_registers_both_resources_and_lists_their_devices(make_agent, kubelet):
    make_agent()
    assert set(kubelet.registered) == {WHOLE, SHARE}
    request = kubelet.registered[SHARE]
    assert request.version == "v1beta1" and request.options.get_preferred_allocation_available
    assert kubelet.wait_devices(WHOLE, all_healthy) == {GPU0: "Healthy", GPU1: "Healthy"}
    shares = kubelet.wait_devices(SHARE, all_healthy)
    assert len(shares) == 20 and "gpu0-0" in shares and "gpu1-9" in shares


def test_share_allocate_gives_mps_limits_and_withdraws_the_gpu_from_whole_use(
        make_agent, kubelet, kube, short_dir):
    make_agent()
    kube.add(share_pod("small", 1, 250, 20480, extra={contract.FRACTION: "0.25"}))
    grant = kubelet.allocate(SHARE, ["gpu0-3"])
    assert dict(grant.envs) == {
        "NVIDIA_VISIBLE_DEVICES": GPU1, "CUDA_MPS_PIPE_DIRECTORY": CONTAINER_PIPE_DIR,
        "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT": "0=20480M", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": "25"}
    mounts = {m.container_path: m.host_path for m in grant.mounts}
    assert mounts[CONTAINER_PIPE_DIR] == str(short_dir / "mps" / "1" / "pipe")
    assert kube.pods["uid-small"].annotations[contract.ALLOCATED] == "gpu0-3"
    # GPU 1 now hosts a share: never handed out whole.
    whole = kubelet.wait_devices(WHOLE, lambda d: d[GPU1] == "Unhealthy")
    assert whole[GPU0] == "Healthy"
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(WHOLE, [GPU1])
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "hosts fractional pods" in refused.value.details()


def test_share_memory_defaults_to_the_fraction_of_the_gpu(make_agent, kubelet, kube):
    make_agent()
    kube.add(share_pod("half", 0, 500))
    grant = kubelet.allocate(SHARE, ["gpu0-0"])
    assert grant.envs["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == f"0={143771 // 2}M"
    assert grant.envs["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "50"


@pytest.mark.parametrize(("pod", "reason"), [
    (share_pod("p", "zero", 250), "gpu-index='zero': not an integer"),
    (share_pod("p", 7, 250), "no such shareable GPU"),
    (share_pod("p", 0, 1000), "1..999 milli-GPU"),
    (share_pod("p", 0, 1500), "1..999 milli-GPU"),
    (share_pod("p", 0, 250, extra={contract.FRACTION: "1.5"}), "below 1"),
    (share_pod("p", 0, 250, extra={contract.FRACTION: "a quarter"}), "not a number"),
    (share_pod("p", 0, 250, extra={contract.FRACTION: "0.2505"}), "three decimals"),
    (share_pod("p", 0, 250, extra={contract.FRACTION: "0.5"}), "disagrees"),
    (share_pod("p", 0, 250, extra={contract.MEMORY: "200Gi"}), "more than the 143771 MiB"),
    (share_pod("p", 0, 250, extra={contract.MEMORY: "lots"}), "not a memory quantity"),
    (share_pod("p", 0, 250, 150000), "expected 1..143771 MiB"),
    (share_pod("p", 0, 250, -5), "expected 1..143771 MiB"),
], ids=["index-malformed", "index-unknown", "one-gpu", "above-one-gpu", "fraction-above-one",
        "fraction-malformed", "fraction-too-precise", "fraction-disagrees", "memory-above-gpu",
        "memory-malformed", "memory-mib-above-gpu", "memory-mib-negative"])
def test_bad_share_annotations_are_refused_with_an_event(make_agent, kubelet, kube, pod, reason):
    make_agent()
    kube.add(pod)
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(SHARE, ["gpu0-0"])
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason in refused.value.details()
    assert kube.events == [("p", contract.EVENT_SHARE_REFUSED, refused.value.details())]
    assert contract.ALLOCATED not in kube.pods[pod.uid].annotations


def test_an_unplaced_pod_gets_no_gpu(make_agent, kubelet, kube):
    make_agent()
    pod = share_pod("p", 0, 250)
    kube.add(PodInfo(**{**pod.__dict__, "annotations": {contract.FRACTION: "0.25"}}))
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(SHARE, ["gpu0-0"])
    assert "was not placed by Corral" in refused.value.details()


def test_shares_of_one_gpu_never_add_up_past_it(make_agent, kubelet, kube):
    make_agent()
    kube.add(share_pod("a", 0, 600, created=1))
    kubelet.allocate(SHARE, ["gpu0-0"])
    kube.add(share_pod("b", 0, 500, created=2))
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(SHARE, ["gpu0-1"])
    assert "would be shared 1100/1000" in refused.value.details()
    kube.set_phase("uid-b", "Failed")  # what the kubelet does with a pod it could not admit
    kube.add(share_pod("c", 0, 400, 143771 - 143771 * 600 // 1000 + 1, created=3))
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(SHARE, ["gpu0-1"])
    assert "shares would hold" in refused.value.details()


def test_a_gpu_held_whole_takes_no_share(make_agent, kubelet, kube):
    make_agent()
    kubelet.allocate(WHOLE, [GPU0])
    kubelet.wait_devices(SHARE, lambda d: d["gpu0-0"] == "Unhealthy" and d["gpu1-0"] == "Healthy")
    kube.add(share_pod("p", 0, 250))
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(SHARE, ["gpu0-0"])
    assert "held whole" in refused.value.details()


def test_the_oldest_waiting_pod_is_served_first_and_preferred_slots_name_its_gpu(
        make_agent, kubelet, kube):
    make_agent()
    kube.add(share_pod("later", 0, 250, created=20))
    kube.add(share_pod("first", 1, 250, created=10))
    kube.add(share_pod("elsewhere", 0, 250, node="node-b", created=1))
    available = ["gpu0-0", "gpu0-1", "gpu1-0", "gpu1-1"]
    assert kubelet.preferred(SHARE, available, 1) == ["gpu1-0"]
    assert kubelet.allocate(SHARE, ["gpu1-0"]).envs["NVIDIA_VISIBLE_DEVICES"] == GPU1
    assert kubelet.preferred(SHARE, available, 1) == ["gpu0-0"]
    assert kubelet.allocate(SHARE, ["gpu0-0"]).envs["NVIDIA_VISIBLE_DEVICES"] == GPU0
    assert set(kube.pods["uid-elsewhere"].annotations) & {contract.ALLOCATED} == set()


def test_whole_gpu_preferred_allocation_skips_shared_gpus(make_agent, kubelet, kube):
    make_agent()
    kube.add(share_pod("p", 0, 250))
    kubelet.allocate(SHARE, ["gpu0-0"])
    assert kubelet.preferred(WHOLE, [GPU0, GPU1], 1) == [GPU1]


def test_an_unhealthy_gpu_is_withdrawn_in_list_and_watch(make_agent, kubelet, kube):
    """The recording's third reading fails on GPU 1 and raises XID 13 (an application's fault)
    on GPU 0; the fourth raises XID 79 (fallen off the bus) on GPU 0."""
    agent = make_agent()
    kubelet.wait_devices(WHOLE, all_healthy)
    agent.tick()
    agent.tick()
    assert kubelet.wait_devices(WHOLE, all_healthy)
    agent.tick()
    whole = kubelet.wait_devices(WHOLE, lambda d: d[GPU1] == "Unhealthy")
    assert whole[GPU0] == "Healthy"
    shares = kubelet.wait_devices(SHARE, lambda d: d["gpu1-0"] == "Unhealthy")
    assert shares["gpu0-0"] == "Healthy"
    agent.tick()
    kubelet.wait_devices(WHOLE, lambda d: not any(h == "Healthy" for h in d.values()))
    assert kube.node_annotations[contract.NODE_GPU_HEALTH] == \
        '{"0": "XID 79", "1": "NVML: Unknown Error"}'
    kube.add(share_pod("p", 0, 250))
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(SHARE, ["gpu0-0"])
    assert "GPU 0 is unhealthy (XID 79)" in refused.value.details()


def test_restart_loses_no_allocation(make_agent, kubelet, kube, short_dir):
    """Shares come back from the agent's bookings file, whole GPUs from the kubelet's checkpoint."""
    first = make_agent()
    kube.add(share_pod("shared", 0, 600))
    kubelet.allocate(SHARE, ["gpu0-0"])
    kube.pods["uid-shared"] = PodInfo(**{**kube.pods["uid-shared"].__dict__, "phase": "Running"})
    kubelet.allocate(WHOLE, [GPU1])
    kube.add(PodInfo(uid="uid-whole", namespace="team-b", name="whole", node_name=NODE,
                     phase="Running", created=0.0,
                     containers=(ContainerInfo("main", limits={WHOLE: "1"}),)))
    (kubelet.dir / "kubelet_internal_checkpoint").write_text(
        '{"Data": {"PodDeviceEntries": [{"PodUID": "uid-whole", "ContainerName": "main", '
        f'"ResourceName": "{WHOLE}", "DeviceIDs": {{"0": ["{GPU1}"]}}, "AllocResp": ""}}], '
        '"RegisteredDevices": {}}, "Checksum": 0}')
    first.close()

    second = make_agent(clock=lambda: 1e12)  # long after the first agent's claims expired
    assert [h.pod_uid for h in second.gpus.shares()] == ["uid-shared"]
    assert [(c.device_id, c.pod_uid) for c in second.gpus.claims()] == [(GPU1, "uid-whole")]
    assert second.mps.running(0)
    whole = kubelet.wait_devices(WHOLE, lambda d: d[GPU0] == "Unhealthy")
    shares = kubelet.wait_devices(SHARE, lambda d: d["gpu1-0"] == "Unhealthy")
    assert shares["gpu0-0"] == "Healthy" and whole[GPU1] == "Healthy"
    kube.add(share_pod("late", 0, 500))
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(SHARE, ["gpu0-1"])
    assert "would be shared 1100/1000" in refused.value.details()


def test_finished_pods_free_their_share(make_agent, kubelet, kube):
    agent = make_agent()
    kube.add(share_pod("done", 0, 900))
    kubelet.allocate(SHARE, ["gpu0-0"])
    kube.set_phase("uid-done", "Succeeded")
    agent.tick()
    assert agent.gpus.shares() == []
    kubelet.wait_devices(WHOLE, all_healthy)


def test_mig_instances_are_advertised_instead_of_shares(make_agent, kubelet):
    data = recording()
    data["gpus"][1]["mig_instances"] = [
        {"uuid": "MIG-aaaa", "profile": "3g.71gb", "memory_mib": 71680},
        {"uuid": "MIG-bbbb", "profile": "1g.18gb", "memory_mib": 16384},
        {"uuid": "MIG-cccc", "profile": "1g.18gb", "memory_mib": 16384}]
    make_agent(nvml=FakeNvml(data))
    mig = contract.MIG_RESOURCE_PREFIX
    assert set(kubelet.registered) == {WHOLE, SHARE, mig + "1g.18gb", mig + "3g.71gb"}
    assert kubelet.wait_devices(mig + "1g.18gb", all_healthy) == {"MIG-bbbb": "Healthy",
                                                                  "MIG-cccc": "Healthy"}
    assert set(kubelet.wait_devices(WHOLE, all_healthy)) == {GPU0}
    assert {d[:5] for d in kubelet.wait_devices(SHARE, all_healthy)} == {"gpu0-"}
    grant = kubelet.allocate(mig + "1g.18gb", ["MIG-cccc"])
    assert grant.envs["NVIDIA_VISIBLE_DEVICES"] == "MIG-cccc"
