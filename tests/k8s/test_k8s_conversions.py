"""API objects -> model: quantities, pods, nodes, gangs and Queue objects, good and malformed."""

from __future__ import annotations

import pytest
from k8s_builders import node, pod, podgroup, queue

from corral.k8s import conventions as names
from corral.k8s.gangs import GangRef, gang_from_api, gang_of_pod
from corral.k8s.nodes import node_from_api
from corral.k8s.pods import pod_from_api
from corral.k8s.quantity import cpu_milli, memory_mib, parse_quantity
from corral.k8s.queue_crd import queue_from_api, queue_tree
from corral.model import InvalidSpec


@pytest.mark.parametrize(("text", "milli"), [("500m", 500), ("2", 2000), ("0.1", 100),
                                             ("1e3", 1_000_000), ("1.5", 1500)],
                         ids=["milli", "whole", "decimal", "exponent", "fraction"])
def test_cpu_quantities(text: str, milli: int) -> None:
    assert cpu_milli(text) == milli


@pytest.mark.parametrize(("text", "mib"), [("1Gi", 1024), ("512Mi", 512), ("1G", 954),
                                           ("1", 1)], ids=["Gi", "Mi", "G-rounds-up", "bytes"])
def test_memory_quantities(text: str, mib: int) -> None:
    assert memory_mib(text) == mib


@pytest.mark.parametrize("text", ["ten", "1.2.3", "5Zi", "-1", "1 Gi", ""])
def test_malformed_quantities_name_the_value(text: str) -> None:
    with pytest.raises(InvalidSpec, match=r"quantity|negative"):
        parse_quantity(text)


def test_pod_request_sums_containers_and_takes_the_largest_init_container() -> None:
    obj = pod("p", 2, cpu="1")
    obj["spec"]["containers"].append({"name": "side", "resources": {"requests": {
        "cpu": "500m", "memory": "1Gi"}}})
    obj["spec"]["initContainers"] = [{"name": "init", "resources": {"requests": {
        "cpu": "4", "memory": "100Mi"}}}]
    record = pod_from_api(obj)
    assert (record.request.gpu_milli, record.request.cpu_milli, record.request.memory_mib) == \
        (2000, 4000, 1024)


def test_fractional_pod_reads_the_agent_contract_annotations() -> None:
    obj = pod("frac", limits={names.SHARE_RESOURCE: "1"},
              annotations={names.FRACTION: "0.25", names.MEMORY: "10Gi"})
    record = pod_from_api(obj)
    assert (record.request.gpu_milli, record.request.gpu_memory_mib, record.error) == \
        (250, 10240, "")


@pytest.mark.parametrize(("limits", "annotations", "problem"), [
    ({"nvidia.com/gpu": "one"}, {}, "nvidia.com/gpu"),
    ({names.SHARE_RESOURCE: "1"}, {}, names.FRACTION),
    ({names.SHARE_RESOURCE: "1"}, {names.FRACTION: "1.5"}, "between 0 and 1"),
    ({names.SHARE_RESOURCE: "1", "nvidia.com/gpu": "1"}, {names.FRACTION: "0.5"}, "both"),
], ids=["bad-quantity", "no-fraction", "fraction-too-big", "both-resources"])
def test_bad_pod_requests_become_an_error_naming_the_field(
        limits: dict[str, str], annotations: dict[str, str], problem: str) -> None:
    record = pod_from_api(pod("bad", limits=limits, annotations=annotations))
    assert problem in record.error and "default/bad" in record.error


def test_pod_queue_label_prefers_corrals_own() -> None:
    record = pod_from_api(pod("q", queue="kueue-q", labels={"corral.dev/queue": "mine"}))
    assert record.queue == "mine"


def test_node_reads_gpus_and_gpu_feature_discovery_labels() -> None:
    info = node_from_api(node("n1", 4, "H100", gpu_memory_mib=81559))
    assert (info.node.gpus, info.node.gpu_type, info.gpu_memory_mib, info.schedulable) == \
        (4, "H100", 81559, True)


def test_a_cordoned_node_is_unusable_and_says_why() -> None:
    info = node_from_api(node("n1", spec={"unschedulable": True}))
    assert not info.schedulable and info.why_not == "cordoned"


def test_a_tainted_node_keeps_its_hard_taints_less_the_gpu_one_for_pods_to_tolerate() -> None:
    obj = node("n1", spec={"taints": [
        {"key": "nvidia.com/gpu", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "infer", "effect": "NoSchedule"},
        {"key": "evict", "effect": "NoExecute"},
        {"key": "soft", "effect": "PreferNoSchedule"}]})
    info = node_from_api(obj)
    assert info.schedulable
    assert [(t.key, t.value, t.effect) for t in info.node.taints] == \
        [("dedicated", "infer", "NoSchedule"), ("evict", "", "NoExecute")]
    assert len(node_from_api(obj, tolerated=()).node.taints) == 3


def test_not_ready_node_is_unusable() -> None:
    obj = node("n1")
    obj["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "KubeletDown"}]
    assert "KubeletDown" in node_from_api(obj).why_not


def test_node_reads_cached_datasets_and_ignores_a_malformed_annotation() -> None:
    obj = node("n1")
    obj["metadata"]["annotations"] = {names.CACHED_DATASETS: '{"imagenet": 0.5, "x": 7}'}
    assert dict(node_from_api(obj).node.datasets) == {"imagenet": 0.5}
    obj["metadata"]["annotations"] = {names.CACHED_DATASETS: "{not json"}
    assert dict(node_from_api(obj).node.datasets) == {}


def test_malformed_node_resources_name_the_node() -> None:
    obj = node("n9")
    obj["status"]["allocatable"]["nvidia.com/gpu"] = "lots"
    with pytest.raises(InvalidSpec, match="node n9"):
        node_from_api(obj)


@pytest.mark.parametrize(("extra", "kind"), [
    ({"labels": {"scheduling.x-k8s.io/pod-group": "g"}}, "scheduler-plugins"),
    ({"annotations": {"scheduling.k8s.io/group-name": "g"}}, "volcano"),
    ({"spec": {"schedulingGroup": {"podGroupName": "g"}}}, "upstream"),
], ids=["scheduler-plugins", "volcano", "upstream"])
def test_each_gang_convention_is_recognised(extra: dict, kind: str) -> None:
    obj = pod("m")
    obj["metadata"].update({k: v for k, v in extra.items() if k != "spec"})
    obj["spec"].update(extra.get("spec", {}))
    assert gang_of_pod(obj) == GangRef(kind, "default", "g")


def test_gang_objects_give_their_minimum_and_reject_nonsense() -> None:
    info = gang_from_api(names.SCHEDULER_PLUGINS, podgroup("g", 8, timeout_s=30))
    assert (info.min_member, info.timeout_s) == (8, 30.0)
    upstream = {"metadata": {"name": "u", "namespace": "ns"},
                "spec": {"gang": {"minCount": 3}}}
    assert gang_from_api(names.UPSTREAM, upstream).min_member == 3
    with pytest.raises(InvalidSpec, match="PodGroup default/bad"):
        gang_from_api(names.SCHEDULER_PLUGINS, podgroup("bad", 0))


def test_queue_objects_form_a_tree_and_bad_ones_name_the_field() -> None:
    org = queue_from_api(queue("org", 16))
    team = queue_from_api(queue("team-a", 8, borrowing=4, parent="org", default=True))
    tree = queue_tree([org, team])
    assert tree is not None and tree.default == "team-a"
    assert tree.ceiling["team-a"]["nvidia.com/gpu"] == 12_000
    bad = queue("broken")
    bad["spec"]["quota"] = {"nvidia.com/gpu": "many"}
    with pytest.raises(InvalidSpec, match=r"Queue broken: quota\.nvidia\.com/gpu"):
        queue_from_api(bad)
    bad["spec"]["quota"] = {"gpus": "1"}
    with pytest.raises(InvalidSpec, match="unknown resource"):
        queue_from_api(bad)
