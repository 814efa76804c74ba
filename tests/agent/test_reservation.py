"""``--reserve-node``: the agent taints its node ``corral.dev/reserved=corral:NoSchedule`` at
start if it is not, conditionally on the node's version (another writer is never overwritten),
and never takes the taint off; the chart turns it on, tolerates it, and allows only that."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import yaml
from fake_kube import FakeKubeApi

from corral import kube_contract as contract
from corral.agent.kube import KubeError
from corral.agent.reservation import MAX_TRIES, TAINT, reserve_node

CHART = Path(__file__).resolve().parents[2] / "deploy" / "agent" / "chart"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
RESERVED = {"key": contract.RESERVED_TAINT, "value": "corral", "effect": "NoSchedule"}


def test_the_agent_reserves_its_node_at_start_and_leaves_it_reserved(make_agent, kube):
    kube.taint_node(GPU_TAINT)
    agent = make_agent(reserve_node=True)
    assert agent.reserved
    assert kube.taints == [GPU_TAINT, RESERVED]
    agent.close()
    assert kube.taints == [GPU_TAINT, RESERVED]  # not removed on exit
    writes = kube.taint_writes
    make_agent(reserve_node=True)  # a restart finds it there: nothing written
    assert kube.taint_writes == writes == 1


def test_without_the_option_the_node_is_left_alone(make_agent, kube):
    make_agent().tick()
    assert kube.taints == [] and kube.taint_writes == 0


def test_a_taint_of_that_key_put_there_by_a_person_is_kept_as_it_is(kube):
    kube.taint_node({**RESERVED, "value": "team-x"})
    assert not reserve_node(kube, "node-a")
    assert kube.taints == [{**RESERVED, "value": "team-x"}] and kube.taint_writes == 0


class RacingKube(FakeKubeApi):
    """Another writer adds a taint between each of the agent's reads and its write."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    def node_taints(self, node: str) -> tuple[list[dict[str, str]], str]:
        seen = super().node_taints(node)
        if self.races:
            self.races -= 1
            self.taint_node({"key": f"other-{self.races}", "effect": "NoSchedule"})
        return seen


def test_a_concurrent_taint_write_is_never_overwritten():
    kube = RacingKube(races=2)
    assert reserve_node(kube, "node-a")
    assert kube.taints == [{"key": "other-1", "effect": "NoSchedule"},
                           {"key": "other-0", "effect": "NoSchedule"}, TAINT]


def test_a_node_that_keeps_changing_is_an_error():
    with pytest.raises(KubeError, match="changed under every one"):
        reserve_node(RacingKube(races=MAX_TRIES), "node-a")


def test_a_refused_reservation_does_not_stop_the_agent_and_is_tried_again(make_agent, kube,
                                                                          caplog):
    kube.refuse_taints = True
    with caplog.at_level(logging.ERROR, logger="corral.agent.node_agent"):
        agent = make_agent(reserve_node=True)
    assert not agent.reserved and "cannot reserve node node-a" in caplog.text
    assert agent.servers and all(not s.lost() for s in agent.servers)  # plugins serve anyway
    kube.refuse_taints = False
    agent.tick()
    assert agent.reserved and kube.taints == [RESERVED]


def test_the_chart_reserves_nodes_and_its_agent_tolerates_the_taint():
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert values["reserveNode"] is True
    daemonset = (CHART / "templates" / "daemonset.yaml").read_text(encoding="utf-8")
    assert re.search(r"if \.Values\.reserveNode \}\}\s*- --reserve-node", daemonset)
    tolerations = daemonset.split("tolerations:", 1)[1].split("containers:", 1)[0]
    assert f"key: {contract.RESERVED_TAINT}" in tolerations and "NoSchedule" in tolerations
    policy = (CHART / "templates" / "node-restriction.yaml").read_text(encoding="utf-8")
    assert contract.RESERVED_TAINT in policy and "taints" in policy
