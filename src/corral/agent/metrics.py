"""The agent's Prometheus endpoint, with dcgm-exporter's metric names where one exists.

Per GPU, the names and labels dcgm-exporter uses (``DCGM_FI_DEV_GPU_UTIL{gpu, UUID, device,
modelName, Hostname, pod, namespace, container}``), so existing Grafana dashboards work; the
pod labels are set when one pod holds the GPU (whole), empty when it is shared or idle. Per
process and per pod, where dcgm-exporter has nothing, ``corral_*`` names with pod, namespace,
container, job and queue labels. Values are those of the agent's latest tick.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

GPU_LABELS = ("gpu", "UUID", "device", "modelName", "Hostname", "pod", "namespace", "container")
PROCESS_LABELS = ("gpu", "UUID", "pid", "pod", "namespace", "container", "job", "queue")
POD_LABELS = ("pod", "namespace", "job", "queue")

GPU_METRICS = (
    ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", "util_percent"),
    ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", "memory_used_mib"),
    ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", "memory_free_mib"),
    ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", "power_w"),
    ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", "temperature_c"),
    ("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", "sm_clock_mhz"),
    ("DCGM_FI_DEV_XID_ERRORS", "Value of the last XID error encountered.", "last_xid"),
    ("corral_gpu_healthy", "1 while the GPU is offered to pods, 0 once withdrawn.", "healthy"),
)


@dataclass(frozen=True)
class GpuRow:
    labels: tuple[str, ...]
    """Values for :data:`GPU_LABELS`."""
    util_percent: float
    memory_used_mib: float
    memory_free_mib: float
    power_w: float
    temperature_c: float
    sm_clock_mhz: float
    last_xid: float
    healthy: float


@dataclass(frozen=True)
class ProcessRow:
    labels: tuple[str, ...]
    """Values for :data:`PROCESS_LABELS`."""
    memory_used_mib: float
    sm_util_percent: float | None
    """None where NVML has no sample (an MPS client: its server carries the samples)."""


@dataclass(frozen=True)
class PodRow:
    labels: tuple[str, ...]
    """Values for :data:`POD_LABELS`."""
    memory_used_mib: float
    memory_requested_mib: float
    share_milli: float = 0.0
    """The fractional pod's share as booked at Allocate (0 for whole-GPU pods)."""


@dataclass(frozen=True)
class Snapshot:
    gpus: Sequence[GpuRow] = ()
    processes: Sequence[ProcessRow] = ()
    pods: Sequence[PodRow] = ()
    overuse_events: int = 0


class AgentCollector:
    """A Prometheus collector that reports the latest :class:`Snapshot`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot = Snapshot()

    def update(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snap = self._snapshot
        for name, doc, attr in GPU_METRICS:
            family = GaugeMetricFamily(name, doc, labels=GPU_LABELS)
            for row in snap.gpus:
                family.add_metric(row.labels, getattr(row, attr))
            yield family
        yield _family("corral_process_gpu_memory_used_mib",
                      "GPU memory a process uses (in MiB).", PROCESS_LABELS,
                      ((r.labels, r.memory_used_mib) for r in snap.processes))
        yield _family("corral_process_sm_utilization_percent",
                      "SM utilisation of a process over the last sample (in %).", PROCESS_LABELS,
                      ((r.labels, r.sm_util_percent) for r in snap.processes
                       if r.sm_util_percent is not None))
        yield _family("corral_pod_gpu_memory_used_mib",
                      "GPU memory a pod's processes use (in MiB).", POD_LABELS,
                      ((r.labels, r.memory_used_mib) for r in snap.pods))
        yield _family("corral_pod_gpu_share_milli",
                      "Milli-GPUs of compute a fractional pod was booked for at Allocate.",
                      POD_LABELS, ((r.labels, r.share_milli) for r in snap.pods
                                   if r.share_milli > 0))
        yield _family("corral_pod_gpu_memory_over_request_mib",
                      "GPU memory a pod uses beyond what it asked for, where nothing "
                      "hard-limits it (in MiB; 0 within its request).", POD_LABELS,
                      ((r.labels, max(0.0, r.memory_used_mib - r.memory_requested_mib))
                       for r in snap.pods if r.memory_requested_mib > 0))
        yield CounterMetricFamily("corral_gpu_memory_over_request_events",
                                  "Pods seen using more GPU memory than they asked for.",
                                  value=snap.overuse_events)


def serve(collector: AgentCollector, port: int, addr: str = "0.0.0.0") -> Any:
    """Serve ``/metrics`` on *addr*:*port* in a daemon thread; returns the HTTP server (its
    ``server_port`` is the port bound when *port* is 0)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return server


def _family(name: str, doc: str, labels: Sequence[str], rows: Any) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family
