"""The agent's tick on replayed NVML readings: processes mapped to pods through fabricated
cgroup files, the Prometheus endpoint scraped over HTTP, pod annotations and Events, and job
profiles written to the history store when a pod ends."""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from pathlib import Path

import pytest
from fake_kube import share_pod
from prometheus_client.parser import text_string_to_metric_families

from corral import kube_contract as contract
from corral.agent.fake_nvml import FakeNvml, recording
from corral.history import HistoryStore

UID_A = "aaaaaaaa-0000-4000-8000-00000000000a"
UID_B = "bbbbbbbb-0000-4000-8000-00000000000b"
CID_A, CID_B = "a" * 64, "b" * 64


def scrape(agent) -> dict[tuple[str, tuple], float]:
    port = agent.metrics_server.server_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(metrics, name: str, **labels: str) -> float:
    found = [v for (n, ls), v in metrics.items()
             if n == name and labels.items() <= dict(ls).items()]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def run_share_pods(kube, kubelet, short_dir, pids: tuple[int, int], shares: tuple[
        tuple[int, int], tuple[int, int]]) -> None:
    """Pods a and b on GPU 0 at *shares* ((milli, MiB) each), allocated and running, their
    containers running processes *pids* (fabricated cgroup files)."""
    for slot, (name, uid, cid), (milli, mib), pid in zip(
            range(2), (("a", UID_A, CID_A), ("b", UID_B, CID_B)), shares, pids, strict=True):
        kube.add(share_pod(name, 0, milli, mib, uid=uid, container_id=cid, created=100.0))
        kubelet.allocate(contract.SHARE_RESOURCE, [f"gpu0-{slot}"])
        kube.pods[uid] = dataclasses.replace(kube.pods[uid], phase="Running", started=110.0)
        (short_dir / "proc" / str(pid)).mkdir(parents=True)
        (short_dir / "proc" / str(pid) / "cgroup").write_text(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
            f"{uid.replace('-', '_')}.slice/cri-containerd-{cid}.scope\n")


@pytest.fixture
def running_pods(make_agent, kubelet, kube, short_dir):
    """Two fractional pods on GPU 0 (pids 4001 and 4002 of the recording), allocated and
    running, and an agent that writes to a history store."""
    agent = make_agent(history_url=f"sqlite:///{short_dir / 'history.db'}")
    run_share_pods(kube, kubelet, short_dir, (4001, 4002), ((250, 20480), (500, 40960)))
    return agent


def test_metrics_carry_dcgm_names_and_pod_labels(running_pods, kube):
    agent = running_pods
    agent.tick()
    metrics = scrape(agent)
    gpu0 = {"gpu": "0", "UUID": "GPU-00000000-0000-0000-0000-000000000000",
            "modelName": "NVIDIA H200", "Hostname": "node-a"}
    assert value(metrics, "DCGM_FI_DEV_GPU_UTIL", **gpu0) == 62
    assert value(metrics, "DCGM_FI_DEV_FB_USED", **gpu0) == 30720
    assert value(metrics, "DCGM_FI_DEV_FB_FREE", **gpu0) == 143771 - 30720
    assert value(metrics, "DCGM_FI_DEV_POWER_USAGE", **gpu0) == 410.5
    assert value(metrics, "DCGM_FI_DEV_GPU_TEMP", **gpu0) == 51
    assert value(metrics, "DCGM_FI_DEV_SM_CLOCK", **gpu0) == 1980
    assert value(metrics, "corral_gpu_healthy", gpu="1") == 1
    pod_a = {"pod": "a", "namespace": "team-a", "container": "main", "job": "job-a",
             "queue": "research"}
    assert value(metrics, "corral_process_gpu_memory_used_mib", pid="4001", **pod_a) == 20480
    assert value(metrics, "corral_process_sm_utilization_percent", pid="4002", pod="b") == 38
    assert kube.pods[UID_A].annotations[contract.MEMORY_USED_MIB] == "20480"
    assert kube.pods[UID_B].annotations[contract.MEMORY_USED_MIB] == "10240"
    assert kube.events == []


def test_memory_beyond_the_request_raises_an_event_and_a_metric(running_pods, kube):
    agent = running_pods
    agent.tick()
    agent.tick()  # pid 4001 (pod a, 20480 MiB asked) now uses 30720 MiB
    assert kube.events == [("a", contract.EVENT_MEMORY_OVER_REQUEST,
                            "uses 30720 MiB of GPU memory, more than the 20480 MiB it asked for")]
    metrics = scrape(agent)
    assert value(metrics, "corral_pod_gpu_memory_over_request_mib", pod="a") == 10240
    assert value(metrics, "corral_pod_gpu_memory_over_request_mib", pod="b") == 0
    assert value(metrics, "corral_gpu_memory_over_request_events_total") == 1
    assert kube.pods[UID_A].annotations[contract.MEMORY_USED_MIB] == "30720"
    agent.tick()
    assert len(kube.events) == 1  # once per pod


def test_an_ended_pod_leaves_its_profile_in_the_history(running_pods, kube, short_dir):
    agent = running_pods
    agent.tick()
    agent.tick()
    kube.set_phase(UID_A, "Succeeded")
    agent.tick()
    assert contract.MEMORY_USED_MIB not in kube.pods[UID_A].annotations
    assert contract.MEMORY_USED_MIB in kube.pods[UID_B].annotations
    with HistoryStore(f"sqlite:///{short_dir / 'history.db'}") as store:
        [row] = store.attempts()
    # pid 4001's SM use while the pod ran: 24 and 22 % of the GPU, on a 0.25 share (the third
    # reading came after the pod ended, when it held nothing).
    assert row["job_id"] == "team-a/job-a" and row["source"] == "kubernetes"
    assert row["queue"] == "research" and row["outcome"] == "completed"
    assert row["gpu_milli"] == 250 and row["gpu_type"] == "NVIDIA H200"
    assert (row["submit"], row["start"]) == (100.0, 110.0)
    assert row["gpu_share_achieved"] == pytest.approx(0.23)
    assert row["gpu_util"] == pytest.approx(0.92)
    assert row["gpu_util_peak"] == pytest.approx(0.96)
    assert row["gpu_mem_peak_mib"] == 30720
    assert row["profiled_pods"] == 1


def test_a_real_h200_recording_of_two_mps_clients_is_attributed_without_guessing(
        make_agent, kubelet, kube, short_dir):
    # NVML on an H200 (driver 580) while benchmarks/gpu_sharing_check.py ran two GEMM clients
    # under MPS at shares 0.25 (pid 594) and 0.75 (pid 595); pid 549 is the MPS server. NVML
    # gave the clients memory but no SM sample: the server carried them all.
    nvml = FakeNvml.from_file(Path(__file__).parent / "data" / "h200_mps_gemm_pair.json")
    agent = make_agent(nvml=nvml, history_url=f"sqlite:///{short_dir / 'history.db'}")
    run_share_pods(kube, kubelet, short_dir, (594, 595), ((250, 8192), (750, 16384)))
    for _ in range(26):  # the whole recording
        agent.tick()
    metrics = scrape(agent)
    assert value(metrics, "corral_process_gpu_memory_used_mib", pid="594", pod="a") == 628
    assert value(metrics, "corral_process_sm_utilization_percent", pid="549") == 99
    assert not [k for k in metrics if k[0] == "corral_process_sm_utilization_percent"
                and ("pid", "594") in k[1]]  # no sample: absent, not 0
    kube.set_phase(UID_A, "Succeeded")
    kube.set_phase(UID_B, "Succeeded")
    agent.tick()
    with HistoryStore(f"sqlite:///{short_dir / 'history.db'}") as store:
        rows = {r["name"]: r for r in store.attempts()}
    assert (rows["job-a"]["gpu_mem_peak_mib"], rows["job-b"]["gpu_mem_peak_mib"]) == (628, 874)
    # Pod a was the GPU's only tenant in 3 readings (GPU busy 36%, 99%, 99% of the time), each
    # crediting it the GPU's utilisation times its 0.25 share; pod b never was.
    assert rows["job-a"]["gpu_util"] == pytest.approx((0.36 + 0.99 + 0.99) / 3)
    assert rows["job-a"]["gpu_share_achieved"] == pytest.approx(0.25 * (0.36 + 0.99 + 0.99) / 3)
    assert rows["job-b"]["gpu_util"] is None and rows["job-b"]["gpu_share_achieved"] is None


def test_readings_written_as_a_recording_replay_as_they_were():
    original = FakeNvml.from_file(Path(__file__).parent / "data" / "h200_mps_gemm_pair.json")
    readings = [original.read() for _ in range(26)]
    replay = FakeNvml(json.loads(json.dumps(
        recording(original.driver_version(), original.gpus(), readings))))
    assert replay.gpus() == original.gpus() and replay.driver_version() == "580.159.04"
    assert [replay.read() for _ in range(26)] == readings


def test_metrics_events_and_profiles_use_the_booked_share_not_the_annotations(running_pods,
                                                                              kube, short_dir):
    """Pod a was booked at 250 milli and 20480 MiB; its owner then raises both annotations
    (to values GPU 0 could even hold). What the agent reports stays what it booked."""
    agent = running_pods
    kube.annotate_pod(kube.pods[UID_A], {contract.GPU_MILLI: "500",
                                         contract.GPU_MEMORY_MIB: "61440"})
    agent.tick()
    agent.tick()  # pid 4001 (pod a) now uses 30720 MiB: over the booked 20480 MiB
    metrics = scrape(agent)
    assert value(metrics, "corral_pod_gpu_share_milli", pod="a") == 250
    assert value(metrics, "corral_pod_gpu_share_milli", pod="b") == 500
    assert value(metrics, "corral_pod_gpu_memory_over_request_mib", pod="a") == 10240
    assert ("a", contract.EVENT_MEMORY_OVER_REQUEST,
            "uses 30720 MiB of GPU memory, more than the 20480 MiB it asked for") in kube.events
    kube.set_phase(UID_A, "Succeeded")
    agent.tick()
    with HistoryStore(f"sqlite:///{short_dir / 'history.db'}") as store:
        [row] = store.attempts()
    assert row["gpu_milli"] == 250
    assert row["gpu_util"] == pytest.approx(0.92)  # of the booked 0.25, as without the edit
