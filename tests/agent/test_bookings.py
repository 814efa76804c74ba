"""What a fractional pod holds is fixed at Allocate: the tenant owns the pod and can edit its
annotations, and no edit (garbage included) changes what the agent books or enforces, before or
after a restart. A restarted agent books from what the kubelet allocated (PodResources or its
checkpoint) and its own bookings file; a share it cannot explain takes its GPU whole."""

from __future__ import annotations

import dataclasses
import json
import logging

import grpc
import pytest
from fake_kube import share_pod
from fake_pod_resources import FakePodResources
from recordings import GPU0, GPU1

from corral import kube_contract as contract
from corral.agent.bookings import BOOKINGS_FILE
from corral.agent.shares import GpuShare

SHARE, WHOLE = contract.SHARE_RESOURCE, contract.WHOLE_GPU_RESOURCE
MEMORY = 143771


@pytest.fixture
def pod_resources(short_dir):
    server = FakePodResources(short_dir / "pod-resources.sock")
    yield server
    server.stop()


def run_pod(kube, kubelet, name: str, gpu: int, milli: int, slot: str, created: float = 0.0,
            **annotations: str) -> str:
    """A fractional pod placed on GPU *gpu*, allocated share slot *slot* and running."""
    pod = kube.add(share_pod(name, gpu, milli, created=created, extra=annotations))
    kubelet.allocate(SHARE, [slot])
    kube.set_phase(pod.uid, "Running")
    return pod.uid


def edit(kube, uid: str, **changes: str | None) -> None:
    """The tenant edits (None: removes) annotations of its pod."""
    kube.annotate_pod(kube.pods[uid], {getattr(contract, k): v for k, v in changes.items()})


def booked(agent) -> list[tuple[str, GpuShare]]:
    return sorted((b.pod_uid, b.share) for b in agent.gpus.shares())


def assert_gpu0_full(kubelet, kube) -> None:
    """GPU 0 takes no further share (its 600 milli are held) and is not handed out whole."""
    kube.add(share_pod("newcomer", 0, 500, created=50))
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(SHARE, ["gpu0-5"])
    assert "would be shared 1100/1000" in refused.value.details()
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(WHOLE, [GPU0])
    assert "hosts fractional pods" in refused.value.details()


def test_an_edit_after_allocate_changes_nothing_and_the_pod_is_told(make_agent, kubelet, kube):
    agent = make_agent()
    uid = run_pod(kube, kubelet, "a", 0, 600, "gpu0-0")
    edit(kube, uid, GPU_INDEX="1", GPU_MILLI="100", GPU_MEMORY_MIB="143771")
    agent.tick()
    assert booked(agent) == [(uid, GpuShare(0, 600, MEMORY * 600 // 1000))]
    [(pod, reason, message)] = kube.events
    assert (pod, reason) == ("a", contract.EVENT_BOOKING_EDITED)
    assert f"{contract.GPU_MILLI} '600' -> '100'" in message
    assert f"{contract.GPU_INDEX} '0' -> '1'" in message
    assert f"{contract.GPU_MEMORY_MIB} absent -> '143771'" in message
    assert "GPU 0, 600 milli-GPU" in message
    agent.tick()
    assert len(kube.events) == 1  # told once per edit
    assert kubelet.allocate(WHOLE, [GPU1]).envs["NVIDIA_VISIBLE_DEVICES"] == GPU1
    assert_gpu0_full(kubelet, kube)
    edit(kube, uid, GPU_MILLI="999")
    agent.tick()
    assert [e[1] for e in kube.events].count(contract.EVENT_BOOKING_EDITED) == 2


@pytest.mark.parametrize("changes", [
    {"GPU_MILLI": "garbage"}, {"GPU_MILLI": "0"}, {"GPU_INDEX": ""}, {"GPU_INDEX": "7"},
    {"GPU_MEMORY_MIB": "-1"}, {"FRACTION": "lots"}, {"MEMORY": "1Ti"}, {"ASSIGNED_NODE": "b"},
    {"GPU_INDEX": None, "GPU_MILLI": None, "ASSIGNED_NODE": None, "ALLOCATED": None},
], ids=["milli-garbage", "milli-zero", "index-empty", "index-unknown", "memory-negative",
        "fraction-garbage", "memory-above-gpu", "other-node", "all-removed"])
def test_garbage_in_a_booked_pods_annotations_never_frees_its_share(make_agent, kubelet, kube,
                                                                    changes):
    agent = make_agent()
    uid = run_pod(kube, kubelet, "a", 0, 600, "gpu0-0")
    edit(kube, uid, **changes)
    agent.tick()
    assert booked(agent) == [(uid, GpuShare(0, 600, MEMORY * 600 // 1000))]
    kubelet.wait_devices(WHOLE, lambda d: d[GPU0] == "Unhealthy")
    assert [e[1] for e in kube.events] == [contract.EVENT_BOOKING_EDITED]
    assert_gpu0_full(kubelet, kube)


def test_a_restarted_agent_books_from_its_record_not_the_edited_annotations(
        make_agent, kubelet, kube, pod_resources):
    first = make_agent()
    uid = run_pod(kube, kubelet, "a", 0, 600, "gpu0-0")
    pod_resources.holdings = [("team-a", "a", "main", SHARE, ["gpu0-0"])]
    first.close()
    edit(kube, uid, GPU_INDEX="1", GPU_MILLI="garbage", ALLOCATED=None)
    second = make_agent()
    assert booked(second) == [(uid, GpuShare(0, 600, MEMORY * 600 // 1000))]
    assert second.gpus.unaccounted() == [] and second.mps.running(0)
    assert_gpu0_full(kubelet, kube)
    second.tick()
    assert contract.EVENT_BOOKING_EDITED in [e[1] for e in kube.events]


def test_a_share_no_booking_explains_takes_its_gpu_whole(make_agent, kubelet, kube,
                                                         pod_resources, short_dir, caplog):
    """The bookings file is lost; the kubelet lists pod a on share slot gpu0-0, and its
    annotations still say 100 milli. They are not believed: GPU 0 is taken whole, and the
    whole GPU is free again once the pod ends."""
    first = make_agent()
    uid = run_pod(kube, kubelet, "a", 0, 100, "gpu0-0")
    pod_resources.holdings = [("team-a", "a", "main", SHARE, ["gpu0-0"])]
    first.close()
    (short_dir / "state" / BOOKINGS_FILE).unlink()
    with caplog.at_level(logging.WARNING, logger="corral.agent.node_agent"):
        agent = make_agent()
    assert booked(agent) == []
    assert [(u.pod_uid, u.gpu_indices) for u in agent.gpus.unaccounted()] == [(uid, (0,))]
    assert "team-a/a holds a GPU share" in caplog.text and "gpu0-0" in caplog.text
    kube.add(share_pod("small", 0, 100, created=50))
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(SHARE, ["gpu0-1"])
    assert "taken whole" in refused.value.details()
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(WHOLE, [GPU0])
    assert "has no booking" in refused.value.details()
    kubelet.wait_devices(SHARE, lambda d: d["gpu0-0"] == "Unhealthy" and d["gpu1-0"] == "Healthy")
    kube.set_phase(uid, "Succeeded")
    kube.set_phase("uid-small", "Failed")
    agent.tick()
    assert agent.gpus.unaccounted() == []
    assert kubelet.allocate(WHOLE, [GPU0]).envs["NVIDIA_VISIBLE_DEVICES"] == GPU0


def test_an_unexplained_share_with_garbage_annotations_takes_every_gpu_it_may_be_on(
        make_agent, kubelet, kube, pod_resources):
    """Its slot names GPU 1, its (edited) annotation GPU 0: both are taken."""
    pod = share_pod("x", 0, "lots")
    kube.add(dataclasses.replace(pod, phase="Running"))
    pod_resources.holdings = [("team-a", "x", "main", SHARE, ["gpu1-4"])]
    agent = make_agent()
    assert [u.gpu_indices for u in agent.gpus.unaccounted()] == [(0, 1)]
    kubelet.wait_devices(WHOLE, lambda d: d[GPU0] == d[GPU1] == "Unhealthy")


def test_without_pod_resources_the_kubelet_checkpoint_names_the_share_holders(
        make_agent, kubelet, kube, short_dir):
    first = make_agent()
    booked_uid = run_pod(kube, kubelet, "a", 0, 300, "gpu0-0")
    lost = dataclasses.replace(share_pod("lost", 1, 200), phase="Running")
    kube.add(lost)
    entries = [{"PodUID": uid, "ContainerName": "main", "ResourceName": SHARE,
                "DeviceIDs": {"0": [slot]}, "AllocResp": ""}
               for uid, slot in ((booked_uid, "gpu0-0"), (lost.uid, "gpu1-0"))]
    (kubelet.dir / "kubelet_internal_checkpoint").write_text(json.dumps(
        {"Data": {"PodDeviceEntries": entries, "RegisteredDevices": {}}, "Checksum": 0}))
    first.close()
    agent = make_agent()
    assert booked(agent) == [(booked_uid, GpuShare(0, 300, MEMORY * 300 // 1000))]
    assert [(u.pod_uid, u.gpu_indices) for u in agent.gpus.unaccounted()] == [(lost.uid, (1,))]


def test_without_any_kubelet_record_a_running_share_pod_counts_as_holding(make_agent, kube):
    """No PodResources, no checkpoint, no booking: a running pod that asks for a share got
    one somewhere; its placement annotation says where, or else every GPU is taken."""
    kube.add(dataclasses.replace(share_pod("p", 1, 200), phase="Running"))
    kube.add(dataclasses.replace(share_pod("q", "garbage", 200, uid="uid-q"), phase="Running"))
    kube.add(share_pod("waiting", 0, 200))  # pending, not allocated: holds nothing
    agent = make_agent()
    assert sorted((u.pod_uid, u.gpu_indices) for u in agent.gpus.unaccounted()) == [
        ("uid-p", (1,)), ("uid-q", (0, 1))]


def test_an_unreadable_bookings_file_fails_safe(make_agent, kubelet, kube, pod_resources,
                                                short_dir):
    first = make_agent()
    uid = run_pod(kube, kubelet, "a", 1, 300, "gpu1-0")
    pod_resources.holdings = [("team-a", "a", "main", SHARE, ["gpu1-0"])]
    first.close()
    (short_dir / "state" / BOOKINGS_FILE).write_text("{not json")
    agent = make_agent()
    assert booked(agent) == []
    assert [(u.pod_uid, u.gpu_indices) for u in agent.gpus.unaccounted()] == [(uid, (1,))]


def test_a_booking_that_cannot_be_written_is_refused(make_agent, kubelet, kube, short_dir):
    (short_dir / "not-a-dir").write_text("")
    agent = make_agent(state_dir=short_dir / "not-a-dir")
    kube.add(share_pod("p", 0, 250))
    with pytest.raises(grpc.RpcError) as refused:
        kubelet.allocate(SHARE, ["gpu0-0"])
    assert "cannot record the booking" in refused.value.details()
    assert agent.gpus.shares() == []
    assert contract.ALLOCATED not in kube.pods["uid-p"].annotations
    assert kube.events[0][1] == contract.EVENT_SHARE_REFUSED


def test_the_bookings_file_holds_what_allocate_booked(make_agent, kubelet, kube, short_dir):
    agent = make_agent()
    uid = run_pod(kube, kubelet, "a", 1, 250, "gpu1-3", **{contract.FRACTION: "0.25"})
    data = json.loads((short_dir / "state" / BOOKINGS_FILE).read_text())
    [entry] = data["bookings"]
    assert data["node"] == "node-a"
    assert (entry["pod_uid"], entry["device_id"], entry["gpu_index"], entry["milli"],
            entry["memory_mib"]) == (uid, "gpu1-3", 1, 250, MEMORY // 4)
    assert entry["placement"][contract.FRACTION] == "0.25"
    kube.set_phase(uid, "Succeeded")
    agent.tick()
    assert json.loads((short_dir / "state" / BOOKINGS_FILE).read_text())["bookings"] == []
