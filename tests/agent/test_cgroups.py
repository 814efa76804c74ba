"""Process -> container -> pod from fabricated /proc/PID/cgroup files."""

from __future__ import annotations

import pytest

from corral.agent.cgroups import ContainerRef, container_of, parse_cgroup

UID = "6a1e2f1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
CID = "0f3c" + "ab" * 30


@pytest.mark.parametrize("text", [
    f"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
    f"{UID.replace('-', '_')}.slice/cri-containerd-{CID}.scope\n",
    f"12:memory:/kubepods/burstable/pod{UID}/{CID}\n11:cpu:/kubepods/burstable/pod{UID}/{CID}\n",
    f"0::/kubepods.slice/kubepods-pod{UID.replace('-', '_')}.slice/crio-{CID}.scope\n",
    f"1:name=systemd:/kubepods/besteffort/pod{UID}/{CID}\n0::/\n",
], ids=["systemd-v2-containerd", "cgroupfs-v1", "systemd-guaranteed-crio", "mixed-v1-v2"])
def test_pod_and_container_from_cgroup_paths(text):
    assert parse_cgroup(text) == ContainerRef(pod_uid=UID, container_id=CID)


@pytest.mark.parametrize("text", [
    "0::/user.slice/user-0.slice/session-1.scope\n",
    f"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID}.slice\n",
    "",
], ids=["not-in-a-pod", "pod-without-container", "empty"])
def test_processes_outside_containers_map_to_nothing(text):
    assert parse_cgroup(text) is None


def test_container_of_reads_the_proc_tree(tmp_path):
    (tmp_path / "4001").mkdir()
    (tmp_path / "4001" / "cgroup").write_text(f"0::/kubepods/pod{UID}/{CID}\n")
    assert container_of(4001, tmp_path) == ContainerRef(UID, CID)
    assert container_of(4002, tmp_path) is None  # gone
