"""NodeRules: node selectors, required node affinity and taints, honoured by the core in every
policy, so the simulator replays jobs that carry them as the live scheduler places them."""

from __future__ import annotations

import pytest

from builders import job, scheduler
from corral.core import Start
from corral.model import Node
from corral.model.node_constraints import NodeConstraints, Requirement, Taint, Term, Toleration
from corral.plugins.names import NODE_RULES
from corral.sim.simulator import Simulator

TAINT = Taint("dedicated", "infer", "NoSchedule")
TOLERATE = Toleration("dedicated", "Equal", "infer", "NoSchedule")


def cluster() -> list[Node]:
    """n0: zone a, tainted; n1: zone a; n2: zone b. All 8 GPUs, n0 first so packing tries it."""
    return [Node("n0", 8, labels={"zone": "a"}, taints=(TAINT,)),
            Node("n1", 8, labels={"zone": "a"}), Node("n2", 8, labels={"zone": "b"})]


def placed_on(policy: str, *jobs) -> dict[str, set[str]]:
    sched = scheduler(policy)
    state = sched.new_state(cluster())
    for j in jobs:
        state.submit(j)
    result = sched.cycle(state, 0.0)
    return {d.job_id: {state.nodes[g.node].name for g in d.placement.grants}
            for d in result.decisions if isinstance(d, Start)}


@pytest.mark.parametrize("policy", ["fifo", "greedy", "corral", "fgd", "priority-preempt"])
def test_every_policy_keeps_jobs_off_nodes_whose_taints_they_do_not_tolerate(policy: str) -> None:
    """Nine single-GPU tasks on 24 GPUs: packing would use the tainted node first."""
    plain = [job(f"j{i}", tasks=3) for i in range(3)]
    placed = placed_on(policy, *plain)
    assert len(placed) == 3 and all("n0" not in nodes for nodes in placed.values())
    tolerant = job("t", tasks=8, node_rules=(NodeConstraints(tolerations=(TOLERATE,)),))
    assert placed_on(policy, tolerant)["t"] == {"n0"}


def test_selectors_and_required_affinity_pick_nodes_by_label() -> None:
    to_b = job("b", node_rules=(NodeConstraints(selector=(("zone", "b"),)),))
    not_a = Term((Requirement("zone", "NotIn", ("a",)),), ())
    by_affinity = job("x", node_rules=(NodeConstraints(terms=(not_a,)),))
    nowhere = job("z", node_rules=(NodeConstraints(selector=(("zone", "c"),)),))
    placed = placed_on("greedy", to_b, by_affinity, nowhere)
    assert placed == {"b": {"n2"}, "x": {"n2"}}


def test_a_gang_whose_members_differ_goes_only_where_every_members_rules_allow() -> None:
    """Members' rules differ: a node must suit all of them (here n0 and n1 do, n2 does not)."""
    in_a = NodeConstraints(selector=(("zone", "a"),), tolerations=(TOLERATE,))
    tolerant = NodeConstraints(tolerations=(TOLERATE,))
    gang = job("g", tasks=2, gpus=8, node_rules=(in_a, tolerant))
    assert placed_on("greedy", gang) == {"g": {"n0", "n1"}}
    intolerant = NodeConstraints(selector=(("zone", "a"),))
    assert placed_on("greedy", job("h", tasks=2, gpus=8, node_rules=(in_a, intolerant))) == {}


def test_the_policy_loader_adds_the_filter_once_to_every_policy() -> None:
    profile = scheduler("fifo").profile
    assert [f.name for f in profile.filters].count(NODE_RULES) == 1


def test_the_simulator_replays_jobs_with_node_rules() -> None:
    jobs = [job(f"j{i}", float(i), gpus=8, duration=10.0,
                node_rules=(NodeConstraints(selector=(("zone", "b"),)),)) for i in range(3)]
    sim = Simulator(scheduler("fifo"), cluster(), jobs)
    sim.run()
    starts = sorted(run.first_start for run in sim.runs)
    assert starts == [0.0, 10.0, 20.0]  # one at a time on n2, though n0 and n1 are idle
    assert {run.placement.grants[0].node for run in sim.runs} == {2}
