"""The node agent: device plugins, MPS daemons, health, metrics, pod annotations and profiles.

:meth:`NodeAgent.start` rebuilds the books from what the kubelet allocated (PodResources, or
its checkpoint) and the agent's own bookings file (so a restart loses no allocation, and no
pod's annotations decide what it holds), reserves the node for Corral where asked to, then
serves and registers one device plugin per resource. :meth:`NodeAgent.tick`, every few seconds,
is the agent's whole cycle, in numbered steps.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from corral import kube_contract as contract
from corral.agent.allocations import NodeGpus, Unaccounted
from corral.agent.bookings import BOOKINGS_FILE, Booking, BookingFile
from corral.agent.cgroups import container_of
from corral.agent.checkpoint import CHECKPOINT_FILE, devices_by_pod, held_devices, read_checkpoint
from corral.agent.health import withdraws
from corral.agent.kube import KubeApi, KubeError, PodInfo, TrialKubeApi
from corral.agent.metrics import AgentCollector, GpuRow, PodRow, ProcessRow, Snapshot, serve
from corral.agent.mps import MpsDaemons, MpsError
from corral.agent.nvml import GpuSample, NodeReading, Nvml
from corral.agent.plugin_server import PluginServer
from corral.agent.pod_resources import (
    DEFAULT_SOCKET,
    devices_by_pod_from,
    held_devices_from,
    list_pod_devices,
)
from corral.agent.profiles import ProfileBook
from corral.agent.reservation import reserve_node
from corral.agent.resources import (
    SLOTS_PER_GPU,
    GpuShares,
    MigInstances,
    Resource,
    WholeGpus,
    slot_gpu,
)
from corral.agent.shares import ShareRefused, quantity_mib
from corral.agent.trial_controller import TrialController
from corral.history import HistoryStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentConfig:
    """Where the agent finds the kubelet and MPS, and how it reports (CLI flags)."""

    node: str
    plugin_dir: Path = Path("/var/lib/kubelet/device-plugins")
    mps_root: Path = Path("/run/corral/mps")
    mps_control: str = "nvidia-cuda-mps-control"
    metrics_addr: str = "0.0.0.0"
    metrics_port: int = 9400
    interval_s: float = 5.0
    history_url: str | None = None
    proc_root: Path = Path("/proc")
    slots_per_gpu: int = SLOTS_PER_GPU
    annotate_step_mib: float = 256.0
    """A pod's memory annotation is patched when its use moved by this much (API traffic)."""
    pod_resources_socket: Path = DEFAULT_SOCKET
    """The kubelet's PodResources API: the first source of who holds which whole device."""
    trials: bool = False
    """Serve the TrialRuns that target this node (the kube API must offer the trial calls)."""
    state_dir: Path = Path("/var/lib/corral/agent")
    """A host directory only the agent writes: its bookings file (the shares it booked)."""
    reserve_node: bool = False
    """Taint the node ``corral.dev/reserved=corral:NoSchedule`` at start if it is not (never
    removed): the stock kube-scheduler then keeps its pods off (see :mod:`.reservation`)."""


@dataclass(frozen=True)
class PodUse:
    """What a pod's processes used in one tick."""

    pod: PodInfo
    container: str
    memory_mib: float
    achieved_gpus: float | None
    """GPUs' worth of SMs busy; None when NVML could not tell (see :meth:`_pod_uses`)."""


class NodeAgent:
    """The agent of one node (see the module docstring)."""

    def __init__(self, config: AgentConfig, nvml: Nvml, kube: KubeApi,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._nvml = nvml
        self._kube = kube
        self._clock = clock
        self.gpus = NodeGpus(nvml.gpus(), BookingFile(config.state_dir / BOOKINGS_FILE,
                                                      config.node))
        plain = {i: g.uuid for i, g in self.gpus.gpus.items() if not g.mig_enabled}
        self.mps = MpsDaemons(config.mps_root, plain, config.mps_control)
        resources: list[Resource] = []
        if plain:
            resources += [WholeGpus(self.gpus, clock),
                          GpuShares(self.gpus, kube, self.mps, config.node, config.slots_per_gpu,
                                    clock)]
        profiles = sorted({m.profile for g in self.gpus.gpus.values() for m in g.mig_instances})
        resources += [MigInstances(self.gpus, profile, clock) for profile in profiles]
        self.servers = [PluginServer(r, self.gpus, config.plugin_dir) for r in resources]
        self.collector = AgentCollector()
        self.profiles = ProfileBook()
        self.metrics_server: Any = None
        self.mps_restarts: list[tuple[int, list[str]]] = []
        """(GPU, affected pods) for every MPS daemon the agent restarted."""
        self._last_xid: dict[int, int] = {}
        self._annotated: dict[str, float] = {}
        self._over_request: set[str] = set()
        self._over_request_events = 0
        self._edits_told: dict[str, dict[str, str]] = {}
        """Pod uid -> its placement annotations when it was last told its edit was ignored."""
        self._unaccounted_logged: set[str] = set()
        self.reserved = False
        """Whether the node is known to carry the reservation taint (``reserve_node``)."""
        self._history = HistoryStore(config.history_url) if config.history_url else None
        gpu_names = [g.name for _, g in sorted(self.gpus.gpus.items())]
        self.trials = TrialController(cast(TrialKubeApi, kube), config.node, gpu_names,
                                      self._history, self.profiles.utilisation, clock) \
            if config.trials else None

    # -- life cycle -------------------------------------------------------------------------
    def start(self, serve_metrics: bool = True) -> None:
        if self.config.reserve_node:
            self._reserve()
        listed_at = self._clock()
        self.reconcile(self._kube.pods_on_node(self.config.node), listed_at)
        # Shares survived the restart (booked, or unaccounted for): their daemons must run.
        for index in sorted({h.share.gpu_index for h in self.gpus.shares()}
                            | {i for u in self.gpus.unaccounted() for i in u.gpu_indices}):
            self.mps.ensure(index)
        for server in self.servers:
            server.start()
        if serve_metrics:
            self.metrics_server = serve(self.collector, self.config.metrics_port,
                                        self.config.metrics_addr)

    def run(self, stop: threading.Event) -> None:
        """Start, then tick every ``interval_s`` until *stop* is set; errors of one tick are
        logged and the next tick tries again."""
        self.start()
        try:
            while not stop.wait(self.config.interval_s):
                try:
                    self.tick()
                except (KubeError, MpsError, OSError) as exc:
                    log.error("tick failed: %s", exc)
        finally:
            self.close()

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
            self.metrics_server.server_close()
        self.mps.stop_all()
        if self._history is not None:
            self._history.close()

    # -- the cycle --------------------------------------------------------------------------
    def tick(self) -> None:
        # 1. Read the GPUs; withdraw those that failed to read or raised a fatal XID.
        reading = self._nvml.read()
        self._update_health(reading)
        # 2. Match the books to the pods that still run; tell pods their edits are ignored.
        listed_at = self._clock()
        pods = self._kube.pods_on_node(self.config.node)
        by_uid = {p.uid: p for p in pods}
        self.reconcile(pods, listed_at)
        self._tell_edits(by_uid)
        # 3. Restart dead MPS daemons and tell their pods.
        self._restart_mps()
        # 4. Attribute GPU processes to pods; annotate, warn, profile.
        owners = self._attribute(reading, by_uid)
        uses = self._pod_uses(reading, owners)
        for use in uses.values():
            self._report_use(use)
        # 5. Profiles of pods that ended go to the history; their annotations go away.
        self._finish(by_uid)
        # 6. Metrics for the next scrape.
        self.collector.update(self._snapshot(reading, owners, uses))
        # 7. Serve and register again where the kubelet restarted.
        for server in self.servers:
            if server.lost():
                log.warning("kubelet restarted: registering %s again", server.resource.name)
                server.start()
        # 8. Trial runs: one step of the oldest TrialRun on this node.
        if self.trials is not None:
            self.trials.tick()
        # 9. A reservation that failed at start is tried again.
        if self.config.reserve_node and not self.reserved:
            self._reserve()

    def reconcile(self, pods: list[PodInfo], listed_at: float) -> None:
        """Match the books to *pods* (the node's pods, listed at *listed_at*) and to what the
        kubelet allocated: its PodResources API, or its checkpoint file where that API does not
        answer, says who holds the whole devices and the share devices.

        Bookings stay as made at Allocate until their pod ends; the pods' annotations are not
        read. A live pod the kubelet lists with a share device but no booking takes every GPU
        it may be on (the slot's, and its annotation's) whole until it ends. Without either
        source, a running pod asking for a share, or marked allocated, counts as such a pod.
        """
        whole = [s.resource.name for s in self.servers
                 if s.resource.name != contract.SHARE_RESOURCE]
        live = {p.uid: p for p in pods if not p.finished}
        holdings = list_pod_devices(self.config.pod_resources_socket)
        checkpoint_file = self.config.plugin_dir / CHECKPOINT_FILE
        if holdings is not None:
            held = held_devices_from(holdings, whole, pods)
            share_devices = devices_by_pod_from(holdings, contract.SHARE_RESOURCE, pods)
            source = "the kubelet's PodResources"
        else:
            checkpoint = read_checkpoint(checkpoint_file)
            held = held_devices(checkpoint, whole, set(live))
            if checkpoint_file.exists():
                share_devices = devices_by_pod(checkpoint, contract.SHARE_RESOURCE, set(live))
                source = "the kubelet's checkpoint"
            else:
                share_devices = {
                    p.uid: tuple(filter(None, [p.annotations.get(contract.ALLOCATED, "")]))
                    for p in live.values() if p.asks_for(contract.SHARE_RESOURCE)
                    and (p.phase == "Running" or contract.ALLOCATED in p.annotations)}
                source = "the pod (running, or marked allocated; the kubelet did not answer)"
        holders = [self._share_holder(live[uid], devices, source)
                   for uid, devices in share_devices.items()]
        self.gpus.reconcile(set(live), listed_at, holders, held, self._clock())
        for lost in self.gpus.unaccounted():
            if lost.pod_uid not in self._unaccounted_logged:
                self._unaccounted_logged.add(lost.pod_uid)
                log.warning("pod %s/%s holds a GPU share (%s) but has no booking: GPUs %s taken "
                            "whole until it ends", lost.namespace, lost.name, lost.evidence,
                            ", ".join(map(str, lost.gpu_indices)))
        self._unaccounted_logged &= {u.pod_uid for u in self.gpus.unaccounted()}

    def _share_holder(self, pod: PodInfo, devices: tuple[str, ...], source: str) -> Unaccounted:
        """*pod*, said by *source* to hold share *devices*, as it counts without a booking:
        on the GPUs its slots name and the GPU its annotation names (more, never less); on
        every shareable GPU if none of these names one."""
        shareable = sorted(i for i, g in self.gpus.gpus.items() if not g.mig_enabled)
        named = {slot_gpu(d) for d in devices}
        with contextlib.suppress(ValueError):
            named.add(int(pod.annotations.get(contract.GPU_INDEX, "").strip()))
        indices = tuple(i for i in shareable if i in named) or tuple(shareable)
        return Unaccounted(pod.uid, pod.namespace, pod.name, indices,
                           f"{source}: {', '.join(devices) or 'no device id'}")

    def _reserve(self) -> None:
        try:
            reserve_node(self._kube, self.config.node)
        except KubeError as exc:
            log.error("cannot reserve node %s for Corral (tried again next tick): %s",
                      self.config.node, exc)
            return
        self.reserved = True

    # -- steps ------------------------------------------------------------------------------
    def _tell_edits(self, pods: dict[str, PodInfo]) -> None:
        """A Warning Event on each booked pod whose placement annotations were edited since
        Allocate (once per distinct edit): the edit changes nothing the agent enforces."""
        for booking in self.gpus.shares():
            pod = pods.get(booking.pod_uid)
            if pod is None or pod.finished:
                continue
            edits = booking.edits(pod.annotations)
            if not edits:
                self._edits_told.pop(pod.uid, None)
                continue
            now = {k: pod.annotations[k] for k in edits if k in pod.annotations}
            if self._edits_told.get(pod.uid) == now:
                continue
            with contextlib.suppress(KubeError):  # told next tick instead
                self._kube.pod_event(pod, contract.EVENT_BOOKING_EDITED, _edit_message(
                    booking, edits))
                self._edits_told[pod.uid] = now

    def _update_health(self, reading: NodeReading) -> None:
        changed = False
        for sample in reading.gpus:
            if sample.error:
                changed |= self.gpus.mark_unhealthy(sample.index, sample.error)
        for index, xid in reading.xids:
            self._last_xid[index] = xid
            if withdraws(xid):
                changed |= self.gpus.mark_unhealthy(index, f"XID {xid}")
        if changed:
            unhealthy = self.gpus.unhealthy()
            log.warning("GPUs withdrawn: %s", unhealthy)
            self._kube.annotate_node(self.config.node, {contract.NODE_GPU_HEALTH: json.dumps(
                {str(i): why for i, why in sorted(unhealthy.items())})})

    def _restart_mps(self) -> None:
        for index in self.mps.check():
            affected = self.gpus.shares_on(index)
            names = [f"{h.namespace}/{h.name}" for h in affected]
            self.mps_restarts.append((index, names))
            log.warning("MPS daemon of GPU %d died and was restarted; affected pods: %s",
                        index, ", ".join(names) or "none")
            pods = {p.uid: p for p in self._kube.pods_on_node(self.config.node)}
            for holder in affected:
                if holder.pod_uid in pods:
                    self._kube.pod_event(
                        pods[holder.pod_uid], contract.EVENT_MPS_RESTARTED,
                        f"the MPS control daemon of GPU {index} died and was restarted; this "
                        "pod's CUDA processes lost their MPS server and may have failed")

    def _attribute(self, reading: NodeReading,
                   pods: dict[str, PodInfo]) -> dict[int, tuple[PodInfo, str]]:
        """Process id -> (pod, container name), for the GPU processes that run in pods."""
        owners = {}
        for proc in reading.processes:
            found = self._pod_of(proc.pid, pods)
            if found is not None:
                owners[proc.pid] = found
        return owners

    def _pod_uses(self, reading: NodeReading,
                  owners: dict[int, tuple[PodInfo, str]]) -> dict[str, PodUse]:
        """Each pod's GPU memory and busy SMs in this reading.

        NVML samples SM utilisation per process, but an MPS client has none: the MPS server
        (not a pod's process) carries the samples of all its clients (seen on an H200, driver
        580). A pod with an unsampled process is then credited, where it is its GPU's only
        tenant, the GPU's utilisation (the time a kernel ran) times what it holds of that GPU
        (its share: MPS caps its SMs there); where it shares the GPU, nothing known (None).
        """
        memory: dict[str, float] = defaultdict(float)
        achieved: dict[str, float] = defaultdict(float)
        found: dict[str, tuple[PodInfo, str]] = {}
        unsampled: dict[str, set[int]] = defaultdict(set)
        tenants: dict[int, set[str]] = defaultdict(set)
        for proc in reading.processes:
            if proc.pid not in owners:
                continue
            pod, container = owners[proc.pid]
            found[pod.uid] = (pod, container)
            tenants[proc.gpu_index].add(pod.uid)
            memory[pod.uid] += proc.memory_used_mib
            if proc.sm_util_percent is None:
                unsampled[pod.uid].add(proc.gpu_index)
            else:
                achieved[pod.uid] += proc.sm_util_percent / 100
        gpu_util = {g.index: g.util_percent / 100 for g in reading.gpus if not g.error}
        uses = {}
        for uid, (pod, container) in found.items():
            busy: float | None = achieved[uid]
            for index in unsampled.get(uid, ()):
                if busy is None or tenants[index] != {uid} or index not in gpu_util:
                    busy = None
                else:
                    busy += gpu_util[index] * self._part_held(uid, index)
            uses[uid] = PodUse(pod, container, memory[uid], busy)
        return uses

    def _part_held(self, pod_uid: str, index: int) -> float:
        """What the pod holds of GPU *index*: its booked share there, else the whole GPU."""
        holder = self.gpus.booking(pod_uid)
        return holder.share.milli / 1000 \
            if holder is not None and holder.share.gpu_index == index else 1.0

    def _pod_of(self, pid: int, pods: dict[str, PodInfo]) -> tuple[PodInfo, str] | None:
        ref = container_of(pid, self.config.proc_root)
        if ref is None or ref.pod_uid not in pods:
            return None
        pod = pods[ref.pod_uid]
        name = next((c.name for c in pod.containers if c.container_id == ref.container_id), "")
        return pod, name

    def _report_use(self, use: PodUse) -> None:
        pod = use.pod
        last = self._annotated.get(pod.uid)
        if not pod.finished and (last is None
                                 or abs(use.memory_mib - last) >= self.config.annotate_step_mib):
            self._kube.annotate_pod(pod, {contract.MEMORY_USED_MIB: str(round(use.memory_mib))})
            self._annotated[pod.uid] = use.memory_mib
        requested = self._requested_mib(pod)
        if requested and use.memory_mib > requested and pod.uid not in self._over_request:
            self._over_request.add(pod.uid)
            self._over_request_events += 1
            self._kube.pod_event(pod, contract.EVENT_MEMORY_OVER_REQUEST,
                                 f"uses {use.memory_mib:.0f} MiB of GPU memory, more than the "
                                 f"{requested:.0f} MiB it asked for")
        held, gpu_type = self._held(pod)
        if held:
            self.profiles.observe(pod, held, gpu_type, use.achieved_gpus, use.memory_mib)

    def _finish(self, pods: dict[str, PodInfo]) -> None:
        rows = self.profiles.ended(pods, self._clock())
        if self._history is not None:
            for row in rows:
                self._history.record_profile(row)
        for uid in [u for u in self._edits_told if u not in pods or pods[u].finished]:
            del self._edits_told[uid]
        for uid in [u for u in self._annotated if u not in pods or pods[u].finished]:
            del self._annotated[uid]
            self._over_request.discard(uid)
            if uid in pods:
                self._kube.annotate_pod(pods[uid], {contract.MEMORY_USED_MIB: None})

    # -- what pods hold ---------------------------------------------------------------------
    def _held(self, pod: PodInfo) -> tuple[float, str]:
        """GPUs' worth the pod holds on this node (as booked), and their type."""
        holder = self.gpus.booking(pod.uid)
        if holder is not None:
            gpu = self.gpus.gpus[holder.share.gpu_index]
            return holder.share.milli / 1000, gpu.name
        indices = [self.gpus.gpu_of(c.device_id) for c in self.gpus.claims()
                   if c.pod_uid == pod.uid]
        names = {self.gpus.gpus[i].name for i in indices if i is not None}
        return float(len(indices)), ",".join(sorted(names))

    def _requested_mib(self, pod: PodInfo) -> float:
        """A fractional pod's booked memory; a whole-GPU pod's ``corral.dev/gpu-memory`` (its
        own request, which limits nothing and only sets its over-request warning)."""
        holder = self.gpus.booking(pod.uid)
        if holder is not None:
            return float(holder.share.memory_mib)
        try:
            return float(quantity_mib(pod.annotations[contract.MEMORY], contract.MEMORY)) \
                if contract.MEMORY in pod.annotations else 0.0
        except ShareRefused:
            return 0.0

    def _booked_milli(self, pod_uid: str) -> int:
        holder = self.gpus.booking(pod_uid)
        return holder.share.milli if holder is not None else 0

    def _whole_holders(self) -> dict[int, str]:
        """GPU index -> pod uid, for GPUs held whole by one known pod."""
        held = {}
        for claim in self.gpus.claims():
            index = self.gpus.gpu_of(claim.device_id)
            if claim.pod_uid and index is not None and claim.device_id == \
                    self.gpus.gpus[index].uuid:
                held[index] = claim.pod_uid
        return held

    # -- metrics ----------------------------------------------------------------------------
    def _snapshot(self, reading: NodeReading, owners: dict[int, tuple[PodInfo, str]],
                  uses: dict[str, PodUse]) -> Snapshot:
        unhealthy = self.gpus.unhealthy()
        holders = self._whole_holders()
        host = self.config.node
        gpu_rows = []
        for sample in reading.gpus:
            gpu = self.gpus.gpus.get(sample.index)
            if gpu is None:
                continue
            use = next((u for u in uses.values() if u.pod.uid == holders.get(sample.index)), None)
            pod_labels = (use.pod.name, use.pod.namespace, use.container) if use else ("", "", "")
            gpu_rows.append(_gpu_row(sample, (str(gpu.index), gpu.uuid, f"nvidia{gpu.index}",
                                              gpu.name, host, *pod_labels),
                                     self._last_xid.get(gpu.index, 0), gpu.index not in unhealthy))
        process_rows = []
        for proc in reading.processes:
            gpu = self.gpus.gpus.get(proc.gpu_index)
            pod, container = owners.get(proc.pid, (None, ""))
            process_rows.append(ProcessRow(
                labels=(str(proc.gpu_index), gpu.uuid if gpu else "", str(proc.pid),
                        pod.name if pod else "", pod.namespace if pod else "", container,
                        pod.job if pod else "", pod.queue if pod else ""),
                memory_used_mib=proc.memory_used_mib, sm_util_percent=proc.sm_util_percent))
        pod_rows = [PodRow(labels=(u.pod.name, u.pod.namespace, u.pod.job, u.pod.queue),
                           memory_used_mib=u.memory_mib,
                           memory_requested_mib=self._requested_mib(u.pod),
                           share_milli=float(self._booked_milli(u.pod.uid)))
                    for u in uses.values()]
        return Snapshot(gpu_rows, process_rows, pod_rows, self._over_request_events)


def _gpu_row(sample: GpuSample, labels: tuple[str, ...], last_xid: int, healthy: bool) -> GpuRow:
    return GpuRow(labels=labels, util_percent=sample.util_percent,
                  memory_used_mib=sample.memory_used_mib,
                  memory_free_mib=max(0.0, sample.memory_total_mib - sample.memory_used_mib),
                  power_w=sample.power_w, temperature_c=sample.temperature_c,
                  sm_clock_mhz=sample.sm_clock_mhz, last_xid=float(last_xid),
                  healthy=1.0 if healthy else 0.0)


def _edit_message(booking: Booking, edits: dict[str, tuple[str | None, str | None]]) -> str:
    changes = "; ".join(f"{key} {'absent' if old is None else repr(old)} -> "
                        f"{'removed' if new is None else repr(new)}"
                        for key, (old, new) in sorted(edits.items()))
    share = booking.share
    return (f"edited after the kubelet allocated this pod, and ignored: {changes}. It keeps the "
            f"share booked at Allocate: GPU {share.gpu_index}, {share.milli} milli-GPU, "
            f"{share.memory_mib} MiB")
