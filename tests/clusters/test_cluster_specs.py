"""Presets, inline specs, trace-sized ``auto`` clusters and bad spec strings."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from corral.clusters import Cluster, build_cluster, list_presets
from corral.model import ConfigError, Job, Node
from corral.traces import Trace

GIB = 1024


def hand_trace(*jobs: Job, cluster: str | None = None) -> Trace:
    return Trace("hand", "itp", "hand-made", list(jobs), {}, cluster)


def test_list_presets() -> None:
    presets = dict(list_presets())
    assert list(presets) == ["philly", "openb"]
    assert all(description and "\n" not in description for description in presets.values())


def test_philly_preset() -> None:
    cluster = build_cluster("philly")
    assert (cluster.name, len(cluster.nodes), cluster.gpus) == ("philly", 552, 2490)
    shapes = Counter((node.gpus, node.gpu_type) for node in cluster.nodes)
    assert shapes == {(2, "GPU-12GB"): 321, (8, "GPU-24GB"): 231}
    assert cluster.describe() == "philly: 552 nodes, 2,490 GPUs (321x2 GPU-12GB, 231x8 GPU-24GB)"
    first = cluster.nodes[0]
    assert (first.name, first.cpu_milli, first.memory_mib) == ("m0", 2 * 16_000, 2 * 128 * GIB)


def test_openb_preset_matches_published_table() -> None:
    cluster = build_cluster("openb")
    assert (cluster.name, len(cluster.nodes), cluster.gpus) == ("openb", 1213, 6212)
    shapes = Counter((node.gpu_type, node.gpus) for node in cluster.nodes)
    assert shapes == {
        ("G2", 8): 549,
        ("T4", 2): 387,
        ("T4", 4): 17,
        ("G3", 8): 39,
        ("P100", 2): 131,
        ("P100", 1): 3,
        ("V100M32", 8): 21,
        ("V100M32", 4): 9,
        ("V100M16", 8): 8,
        ("V100M16", 4): 28,
        ("V100M16", 1): 19,
        ("A10", 1): 2,
    }
    per_model = Counter()
    for node in cluster.nodes:
        per_model[node.gpu_type] += node.gpus
    assert per_model == {
        "G2": 4392,
        "T4": 842,
        "G3": 312,
        "P100": 265,
        "V100M32": 204,
        "V100M16": 195,
        "A10": 2,
    }
    first = cluster.nodes[0]
    assert (first.name, first.cpu_milli, first.memory_mib) == ("openb-node-0000", 64000, 262144)


@pytest.mark.parametrize(
    ("spec", "name", "shapes", "first_names"),
    [
        pytest.param("40x8", "40x8", {(8, "GPU"): 40}, ["GPU-0000", "GPU-0001"], id="plain"),
        pytest.param(
            " 300x8:V100, 100x4:T4 ",
            "300x8:V100,100x4:T4",
            {(8, "V100"): 300, (4, "T4"): 100},
            ["V100-0000", "V100-0001"],
            id="typed-groups",
        ),
        pytest.param(
            "2x8:V100,1x4:V100",
            "2x8:V100,1x4:V100",
            {(8, "V100"): 2, (4, "V100"): 1},
            ["V100-0000", "V100-0001", "V100-0002"],
            id="same-type-twice",
        ),
    ],
)
def test_inline_specs(
    spec: str, name: str, shapes: dict[tuple[int, str], int], first_names: list[str]
) -> None:
    cluster = build_cluster(spec)
    assert cluster.name == name
    assert Counter((node.gpus, node.gpu_type) for node in cluster.nodes) == shapes
    assert [node.name for node in cluster.nodes[: len(first_names)]] == first_names
    node = cluster.nodes[-1]
    assert (node.cpu_milli, node.memory_mib) == (node.gpus * 16_000, node.gpus * 128 * GIB)
    assert build_cluster(spec) == cluster


def test_describe_mixed() -> None:
    cluster = build_cluster("1x4:T4,3x8:V100")
    assert cluster.describe() == "1x4:T4,3x8:V100: 4 nodes, 28 GPUs (3x8 V100, 1x4 T4)"
    assert build_cluster("1x8").describe() == "1x8: 1 node, 8 GPUs (1x8 GPU)"


@pytest.mark.parametrize(
    ("jobs", "spec", "name", "why"),
    [
        pytest.param(
            [Job("a", 0.0, tasks=8, duration=100.0), Job("b", 100.0, tasks=8, duration=100.0)],
            "auto:0.5",
            "auto:0.5 (4x8)",
            "1,600 GPU-s over 100 s at load 0.5 on 8-GPU nodes -> 4 nodes",
            id="by-load",
        ),
        pytest.param(
            [Job("a", 0.0, tasks=8, duration=100.0), Job("b", 100.0, tasks=8, duration=100.0)],
            "auto",
            "auto:0.8 (3x8)",
            "1,600 / (100 x 0.8 x 8) = 2.5 -> 3 nodes",
            id="default-load",
        ),
        pytest.param(
            [Job("a", 0.0, tasks=64, duration=1.0), Job("b", 1000.0, tasks=1, duration=1.0)],
            "auto",
            "auto:0.8 (8x8)",
            "the 64-GPU gang needs 8 nodes although the load asks for 1",
            id="largest-gang",
        ),
        pytest.param(
            [Job("a", 5.0, tasks=4, duration=50.0), Job("b", 5.0, tasks=4, duration=200.0)],
            "auto:1",
            "auto:1 (1x8)",
            "span 0: the longest duration (200 s) stands in; 1,000 GPU-s / 1,600 -> 1 node",
            id="zero-span",
        ),
        pytest.param(
            [Job("a", 0.0, gpu_milli=500, duration=10.0)],
            "auto",
            "auto:0.8 (1x8)",
            "never fewer than one node",
            id="tiny",
        ),
    ],
)
def test_auto_sizing(jobs: list[Job], spec: str, name: str, why: str) -> None:
    cluster = build_cluster(spec, hand_trace(*jobs))
    assert cluster.name == name, why
    assert all((node.gpus, node.gpu_type) == (8, "GPU") for node in cluster.nodes)


def test_none_uses_published_preset_else_auto() -> None:
    job = Job("a", 0.0, tasks=8, duration=100.0)
    assert build_cluster(None, hand_trace(job, cluster="philly")).name == "philly"
    assert build_cluster(None, hand_trace(job, cluster="openb")).name == "openb"
    # one job: span 0, so its 100 s stand in; 800 GPU-s / (100 x 0.8 x 8) = 1.25 -> 2 nodes
    assert build_cluster(None, hand_trace(job)).name == "auto:0.8 (2x8)"


@pytest.mark.parametrize(
    ("spec", "trace", "message"),
    [
        pytest.param(
            "nebula", None, "unknown cluster 'nebula'; use a preset (philly, openb)", id="unknown"
        ),
        pytest.param("", None, "unknown cluster ''", id="empty"),
        pytest.param("40x8:", None, "unknown cluster", id="empty-type"),
        pytest.param("0x8", None, "'0x8' needs at least 1 node of 1 GPU", id="zero-nodes"),
        pytest.param("4x0", None, "'4x0' needs at least 1 node of 1 GPU", id="zero-gpus"),
        pytest.param("auto", None, "sized from a trace, and none was given", id="auto-no-trace"),
        pytest.param(None, None, "sized from a trace, and none was given", id="none-no-trace"),
        pytest.param("auto:0", "t", "LOAD must be a number in [0.01, 1]", id="load-zero"),
        pytest.param("auto:1.5", "t", "LOAD must be a number in [0.01, 1]", id="load-high"),
        pytest.param("auto:abc", "t", "LOAD must be a number in [0.01, 1]", id="load-text"),
        pytest.param("auto:nan", "t", "LOAD must be a number in [0.01, 1]", id="load-nan"),
    ],
)
def test_bad_specs(spec: str | None, trace: str | None, message: str) -> None:
    job_trace = hand_trace(Job("a", 0.0, duration=1.0)) if trace else None
    with pytest.raises(ConfigError) as raised:
        build_cluster(spec, job_trace)
    assert message in str(raised.value)


def test_unknown_spec_lists_accepted_forms() -> None:
    with pytest.raises(ConfigError) as raised:
        build_cluster("nebula")
    text = str(raised.value)
    for form in ("philly", "openb", "auto[:LOAD]", "40x8", "300x8:V100,100x4:T4", ".toml"):
        assert form in text


def test_auto_needs_jobs() -> None:
    with pytest.raises(ConfigError, match="no jobs"):
        build_cluster("auto", hand_trace())


def test_published_preset_must_exist() -> None:
    with pytest.raises(ConfigError, match="unknown cluster preset 'mars'"):
        build_cluster(None, hand_trace(Job("a", 0.0), cluster="mars"))


def test_cluster_rejects_empty_and_duplicate_nodes() -> None:
    with pytest.raises(ConfigError, match="no nodes"):
        Cluster("empty", ())
    with pytest.raises(ConfigError, match="'n1' is used twice"):
        Cluster("dup", (Node("n1", 8), Node("n1", 8)))


def test_preset_name_wins_over_a_file_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "philly").write_text("not toml")
    assert build_cluster("philly").gpus == 2490
