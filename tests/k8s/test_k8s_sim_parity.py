"""One job stream, two backends, the same decisions.

Corral's promise is that the policy replayed on traces is the one deployed. This test feeds one
seeded stream of a few hundred jobs (gangs, fractional GPUs, priorities, queues with quotas and
borrowing, node selectors, a tainted node and jobs that tolerate it) to the simulator and, on a
virtual clock, to the live scheduler against the API emulator, and expects every job started
at the same instant on the same GPUs of the same nodes; the simulator's jobs carry node rules
(the model's), the live pods the same rules in their specs. The live side is stepped as the
simulator steps: at each instant the completions and arrivals the simulator saw are written to
the emulator, the watches are let catch up, and one cycle runs; the bindings it makes must
reach the emulator before the clock moves on.

Preemption is left out: an evicted pod is gone for good unless a controller makes it again,
where the simulator requeues the job, so the two backends are not meant to agree there.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from k8s_builders import emulated, node, pod, podgroup, queue

from corral.core import CycleResult, Scheduler, Start
from corral.core.cluster_state import ClusterState
from corral.k8s.client import KubeClient
from corral.k8s.loop import LiveScheduler, Options
from corral.k8s.pods import pod_key
from corral.k8s.testing.emulator import Emulator
from corral.model import MILLI, Job, Node, Queue, QueueTree
from corral.model.node_constraints import NO_CONSTRAINTS, NodeConstraints, Taint, Toleration
from corral.policies.loader import parse_policy
from corral.sim.simulator import Simulator

POLICY = """
name = "parity"
description = "Priority order, queue quotas with borrowing, packed gangs; no preemption"
blocking = false

[plugins]
queue_sort = "PriorityOrder"
admit = ["QuotaAdmit"]
filter = ["ResourceFit", "GpuTypeFilter"]
score = [{ name = "Locality", weight = 10 }, { name = "BestFit", weight = 1 }]
permit = ["StrictGang", "Locality"]

[plugin_args.Locality]
max_extra_nodes = 0
"""
ZONE = "topology.corral.dev/zone"
PRODUCT = "nvidia.com/gpu.product"
TAINT = Taint("dedicated", "training", "NoSchedule")
TOLERATE = (Toleration("dedicated", "Equal", "training", "NoSchedule"),)
QUEUES = {"team-a": (24, 8), "team-b": (16, 16)}
"""Queue -> (guaranteed GPUs, GPUs it may borrow)."""
EPOCH = 1_700_000_000
"""Virtual time 0 as a wall-clock instant (creation timestamps are RFC 3339 seconds)."""

Decision = tuple[float, str, tuple[tuple[str, int, tuple[int, ...], int], ...]]
"""(when, job name, ((node, tasks, GPUs, milli-GPU), ...)): one Start, backend-neutral."""


@dataclass(frozen=True)
class NodeSpec:
    name: str
    gpus: int
    product: str
    zone: str
    tainted: bool = False


@dataclass(frozen=True)
class JobSpec:
    """One job of the stream, as both backends are told it."""

    name: str
    submit: int
    duration: float
    tasks: int
    gpu_milli: int
    priority: int
    queue: str
    zone: str = ""
    product: str = ""
    tolerates: bool = False
    gang: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gang", self.tasks > 1)


NODES = tuple(
    [NodeSpec(f"a{i}", 8, "A100", "east" if i < 3 else "west", tainted=i == 5)
     for i in range(6)]
    + [NodeSpec(f"v{i}", 4, "V100", "east" if i < 2 else "west") for i in range(4)])


def stream(count: int, seed: int = 16) -> list[JobSpec]:
    """A seeded mix that keeps the cluster busy, so order, quotas and fit all matter."""
    rng = random.Random(seed)
    jobs, at = [], 0
    for i in range(count):
        at += rng.choice((1, 1, 2, 3, 5))
        kind = rng.random()
        if kind < 0.2:
            tasks, milli = 1, rng.choice((250, 500))
        elif kind < 0.45:
            tasks, milli = rng.choice((2, 3, 4)), MILLI * rng.choice((1, 2, 4))
        else:
            tasks, milli = 1, MILLI * rng.choice((1, 1, 2, 4, 8))
        rule = rng.random()
        zone = rng.choice(("east", "west")) if rule < 0.15 else ""
        product = "V100" if 0.15 <= rule < 0.25 and milli <= 4 * MILLI else ""
        jobs.append(JobSpec(f"j{i:04d}", at, float(rng.randint(5, 120)), tasks, milli,
                            rng.choice((0, 0, 10, 100)), rng.choice(tuple(QUEUES)), zone,
                            product, tolerates=rng.random() < 0.3))
    return jobs


# -- the simulator's side ------------------------------------------------------------------
def sim_nodes() -> list[Node]:
    return [Node(n.name, n.gpus, n.product, cpu_milli=64_000, memory_mib=512 * 1024,
                 labels={ZONE: n.zone, PRODUCT: n.product},
                 taints=(TAINT,) if n.tainted else ()) for n in NODES]


def sim_queues() -> QueueTree:
    return QueueTree([Queue(name, {"nvidia.com/gpu": quota * MILLI}, 1.0,
                            {"nvidia.com/gpu": borrow * MILLI})
                      for name, (quota, borrow) in QUEUES.items()])


def sim_job(spec: JobSpec) -> Job:
    selector = tuple(sorted({**({ZONE: spec.zone} if spec.zone else {}),
                             **({PRODUCT: spec.product} if spec.product else {})}.items()))
    rules = NodeConstraints(selector, None, TOLERATE if spec.tolerates else (),
                            gpu_share=spec.gpu_milli < MILLI)
    return Job(spec.name, float(EPOCH + spec.submit), spec.tasks, spec.gpu_milli,
               cpu_milli=1000, priority=spec.priority, queue=spec.queue, user="default",
               duration=spec.duration, gpu_types=(spec.product,) if spec.product else (),
               node_rules=() if rules == NO_CONSTRAINTS else (rules,))


def recording(scheduler: Scheduler, now_of: Callable[[float], float],
              name_of: Callable[[str], str]) -> list[Decision]:
    """Wrap *scheduler*'s cycle so every Start it decides is recorded, backend-neutrally."""
    decided: list[Decision] = []
    cycle = scheduler.cycle

    def recorded(state: ClusterState, now: float, **kwargs: Any) -> CycleResult:
        result = cycle(state, now, **kwargs)
        for d in result.decisions:
            if isinstance(d, Start):
                grants = tuple((state.nodes[g.node].name, g.tasks, g.gpus, g.milli)
                               for g in d.placement.grants)
                decided.append((now_of(now), name_of(d.job_id), grants))
        return result

    scheduler.cycle = recorded  # type: ignore[method-assign]
    return decided


def simulate(jobs: list[JobSpec], policy: str = POLICY
             ) -> tuple[list[Decision], dict[str, float]]:
    """The simulator's Starts, and when each job ended."""
    scheduler = Scheduler(parse_policy(policy, "parity policy"))
    decided = recording(scheduler, lambda t: t - EPOCH, str)
    sim = Simulator(scheduler, sim_nodes(), [sim_job(j) for j in jobs], queues=sim_queues())
    sim.run()
    assert not sim.rejected and not sim.unknown_queue and not sim.unfinished
    return decided, {r.job.id: r.end - EPOCH for r in sim.runs}


# -- the live side -------------------------------------------------------------------------
class SteppedScheduler(LiveScheduler):
    """Lists and watches as in production, but runs a cycle only when the test says so."""

    async def _schedule_forever(self) -> None:
        await asyncio.Event().wait()


def pods_of(spec: JobSpec) -> Iterator[dict[str, Any]]:
    created = datetime.fromtimestamp(EPOCH + spec.submit, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    selector = {**({ZONE: spec.zone} if spec.zone else {}),
                **({PRODUCT: spec.product} if spec.product else {})}
    for i in range(spec.tasks):
        if spec.gpu_milli < MILLI:
            obj = pod(f"{spec.name}-{i}", queue=spec.queue, priority=spec.priority,
                      limits={"corral.dev/gpu-share": "1"},
                      annotations={"corral.dev/gpu-fraction": str(spec.gpu_milli / MILLI)})
        else:
            obj = pod(f"{spec.name}-{i}", spec.gpu_milli // MILLI, queue=spec.queue,
                      priority=spec.priority, group=spec.name if spec.gang else None)
        obj["metadata"]["creationTimestamp"] = created
        if selector:
            obj["spec"]["nodeSelector"] = selector
        if spec.tolerates:
            obj["spec"]["tolerations"] = [t._asdict() for t in TOLERATE]
        yield obj


def finish(emulator: Emulator, spec: JobSpec) -> None:
    for i in range(spec.tasks):
        obj = emulator.get("pods", f"{spec.name}-{i}", "default")
        assert obj is not None
        obj["status"]["phase"] = "Succeeded"
        emulator.update(obj)


async def live(jobs: list[JobSpec], ends: dict[str, float], policy: str = POLICY
               ) -> list[Decision]:
    """The live scheduler's Starts for *jobs* ending at *ends* (virtual seconds)."""
    by_name = {j.name: j for j in jobs}
    instants: dict[float, tuple[list[JobSpec], list[JobSpec]]] = {}
    for spec in jobs:
        instants.setdefault(float(spec.submit), ([], []))[1].append(spec)
    for name, end in ends.items():
        instants.setdefault(end, ([], []))[0].append(by_name[name])
    now = [0.0]
    async with emulated() as emulator:
        for n in NODES:
            taints = [TAINT._asdict()] if n.tainted else []
            emulator.create(node(n.name, n.gpus, n.product, labels={ZONE: n.zone},
                                 spec={"taints": taints}))
        for name, (quota, borrow) in QUEUES.items():
            emulator.create(queue(name, quota, borrowing=borrow))
        client = KubeClient.for_url(emulator.url)
        scheduler = Scheduler(parse_policy(policy, "parity policy"))
        decided = recording(scheduler, lambda t: t - EPOCH, job_name)
        options = Options(leader_elect=False, grace_seconds=0, max_decisions_per_cycle=None)
        stepped = SteppedScheduler(client, scheduler, options, clock=lambda: EPOCH + now[0])
        task = asyncio.create_task(stepped.run())
        try:
            await asyncio.wait_for(stepped.ready.wait(), 10)
            cache = stepped.cache
            for t in sorted(instants):
                ended, arrived = instants[t]
                now[0] = t
                for spec in ended:
                    finish(emulator, spec)
                for spec in arrived:
                    if spec.gang:
                        emulator.create(podgroup(spec.name, spec.tasks))
                    for obj in pods_of(spec):
                        emulator.create(obj)
                gone = [pod_key("default", f"{s.name}-{i}") for s in ended
                        for i in range(s.tasks)]
                new = [pod_key("default", f"{s.name}-{i}") for s in arrived
                       for i in range(s.tasks)]
                await settled(lambda gone=gone, new=new, arrived=arrived: all(
                    (p := cache.pods.get(k)) is None or p.finished for k in gone)
                    and all(k in cache.pods for k in new) and gangs_seen(cache, arrived))
                await stepped.run_cycle()
                await stepped.settle()
                await settled(lambda: bindings_seen(emulator, cache))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.close()
    return decided


async def settled(condition: Callable[[], bool]) -> None:
    """Let the watches catch up until *condition* holds (polled briskly: the test waits for
    this some five hundred times)."""
    for _ in range(5000):
        if condition():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the scheduler's cache never caught up with the emulator")


def job_name(unit: str) -> str:
    """The stream's name of a live unit: a gang is named for its PodGroup, a lone pod is
    task 0 of its job."""
    last = unit.rsplit("/", 1)[-1]
    return last.removesuffix("-0") if unit.startswith("pod/") else last


def gangs_seen(cache: Any, arrived: list[JobSpec]) -> bool:
    return all(any(ref.name == s.name for ref in cache.gangs) for s in arrived if s.gang)


def bindings_seen(emulator: Emulator, cache: Any) -> bool:
    """The cache has seen every binding the emulator holds."""
    return all(cache.pods[f"default/{p['metadata']['name']}"].node == p["spec"]["nodeName"]
               for p in emulator.objects("pods") if p["spec"].get("nodeName"))


# -- the test ------------------------------------------------------------------------------
def test_the_simulator_and_the_live_scheduler_start_the_same_jobs_on_the_same_gpus() -> None:
    jobs = stream(200)
    expected, ends = simulate(jobs)
    assert len(expected) == len(jobs)
    assert sum(1 for j in jobs if j.gang) > 30 and sum(1 for j in jobs if j.zone) > 20
    assert any(grants[0][0] == "a5" for _, _, grants in expected), "the tainted node is used"
    waited = sum(1 for (t, name, _) in expected if t > next(
        j.submit for j in jobs if j.name == name))
    assert waited > len(jobs) // 4, "the stream must make jobs wait, or order is not tested"

    async def scenario() -> None:
        got = await live(jobs, ends)
        for want, have in zip(expected, got, strict=False):
            assert have == want, f"first difference: simulator {want}, live {have}"
        assert len(got) == len(expected)

    asyncio.run(asyncio.wait_for(scenario(), 300))  # a few hundred API round trips a job
