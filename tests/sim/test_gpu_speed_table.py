"""The simulator's GPU speed table reaches the policy, and the gavel policy uses it: faster
placements, never on a GPU type a job excludes."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import job, scheduler
from corral.core import Scheduler
from corral.model import Job, Node
from corral.policies import builtin_policy_names, load_policy, parse_policy
from corral.sim.config import SimConfig, load_sim_config
from corral.sim.metrics import job_table
from corral.sim.simulator import Simulator

TYPES = ("K80", "P100", "V100")


def typed_nodes(*spec: tuple[str, int]) -> list[Node]:
    return [Node(f"n{i}", gpus, gpu_type, 64_000, 512_000)
            for i, (gpu_type, gpus) in enumerate(spec)]


def test_the_simulator_hands_the_policy_its_speed_table():
    cluster = typed_nodes(("K80", 8), ("V100", 8), ("T4", 4))
    config = SimConfig(gpu_speed={"V100": 1.5, "K80": 0.5})
    sim = Simulator(scheduler("gavel"), cluster, [], config)
    assert sim.state.node_speed.tolist() == [0.5, 1.5, 1.0]
    assert dict(zip(sim.state.gpu_types, sim.state.type_speed.tolist(), strict=True)) == \
        {"K80": 0.5, "T4": 1.0, "V100": 1.5}
    relative = SimConfig(gpu_speed={"V100": 3.0, "K80": 0.5}, reference_gpu_type="V100")
    sim = Simulator(scheduler("gavel"), cluster, [], relative)
    assert sim.state.node_speed.tolist() == [0.5, 1.0, 1.0]


def without_heterogeneity_score(policy: str) -> Scheduler:
    text = resources.files("corral.policies").joinpath(f"{policy}.toml").read_text("utf-8")
    text = text.replace('{ name = "HeterogeneityAware", weight = 2 }, ', "")
    profile = parse_policy(text, "test")
    assert all(type(p).__name__ != "HeterogeneityAware" for p, _ in profile.scores)
    return Scheduler(profile)


def avg_jct(sched: Scheduler, cluster: list[Node], jobs: list[Job], config: SimConfig) -> float:
    sim = Simulator(sched, cluster, jobs, config)
    sim.run()
    return float(job_table(sim.runs, sim.state.nodes).jct.mean())


def test_gavel_beats_the_same_policy_without_the_score_on_a_heterogeneous_cluster():
    # Six 1-GPU jobs on a 4-GPU K80 node listed before a 4-GPU V100 node (3x faster). Without
    # the score, best fit packs the first node: four jobs on K80 (600 s each), two on V100
    # (200 s). With it, four run on V100 and two on K80.
    cluster = typed_nodes(("K80", 4), ("V100", 4))
    jobs = [job(f"j{i}", float(i), duration=300) for i in range(6)]
    config = SimConfig(gpu_speed={"V100": 1.5, "K80": 0.5})
    plain = avg_jct(without_heterogeneity_score("gavel"), cluster, jobs, config)
    gavel = avg_jct(scheduler("gavel"), cluster, jobs, config)
    assert plain == pytest.approx((4 * 600 + 2 * 200) / 6)  # no job waits
    assert gavel == pytest.approx((4 * 200 + 2 * 600) / 6)


@st.composite
def typed_workloads(draw):
    specs = draw(st.lists(st.tuples(st.sampled_from(TYPES), st.sampled_from([1, 2, 4, 8])),
                          min_size=2, max_size=6))
    cluster = typed_nodes(*specs)
    types = st.lists(st.sampled_from(TYPES), max_size=2, unique=True).map(tuple)
    jobs, t = [], 0.0
    for i in range(draw(st.integers(1, 20))):
        t += draw(st.integers(0, 60))
        gpus = draw(st.sampled_from([0.5, 1, 2]))
        jobs.append(job(f"j{i}", t, tasks=1 if gpus < 1 else draw(st.integers(1, 3)), gpus=gpus,
                        gpu_types=draw(types), preferred_gpu_types=draw(types),
                        duration=float(draw(st.integers(1, 5000)))))
    speeds = dict(zip(TYPES, draw(st.lists(st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]),
                                           min_size=3, max_size=3)), strict=True))
    return cluster, jobs, speeds


class TypeCheckedSimulator(Simulator):
    """Fails the moment a job starts on a node of a GPU type it excludes."""

    def _start(self, run, placement, now):
        for grant in placement.grants:
            gpu_type = self.state.nodes[grant.node].gpu_type
            assert not run.job.gpu_types or gpu_type in run.job.gpu_types, \
                f"{run.job.id} (types {run.job.gpu_types}) placed on {gpu_type}"
        super()._start(run, placement, now)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_workloads())
def test_gavel_never_places_a_job_on_a_type_it_excludes(workload):
    cluster, jobs, speeds = workload
    sim = TypeCheckedSimulator(scheduler("gavel"), cluster, jobs,
                               SimConfig(gpu_speed=speeds, preemption_overhead_s=5))
    sim.run()
    rejected = {j.id for j in sim.rejected}
    assert sorted(r.job.id for r in sim.runs if r.end >= 0) == \
        sorted(j.id for j in jobs if j.id not in rejected)


def test_gavel_is_a_builtin_policy_with_the_score():
    assert "gavel" in builtin_policy_names()
    profile = load_policy("gavel")
    assert [type(p).__name__ for p, _ in profile.scores] == \
        ["Locality", "HeterogeneityAware", "BestFit"]
    assert type(profile.queue_sort).__name__ == "LasOrder" and profile.post_filters


def test_the_documented_examples_load():
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    assert load_policy(examples / "fifo-heterogeneity.toml").blocking
    config = load_sim_config(examples / "gavel-speeds.toml")
    assert [config.speed_of(t) for t in ("V100", "P100", "K80")] == [1.5, 1.0, 0.5]
