"""Cluster sizes are bounded where a spec is read: too big is one ConfigError naming the limit,
raised before any node is built, never a MemoryError, an OverflowError or a hang."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.clusters import Cluster, build_cluster
from corral.clusters.node_groups import check_size
from corral.model import ConfigError, Job
from corral.model.limits import MAX_GPUS, MAX_NODES
from corral.traces import Trace


def hand_trace(*jobs: Job) -> Trace:
    return Trace("hand", "itp", "hand-made", list(jobs), {}, None)


@pytest.mark.parametrize(("spec", "message"), [
    ("10000000x8", "10,000,000 nodes, more than the 100,000 a cluster may have"),
    ("100001x1", "100,001 nodes, more than the 100,000"),
    ("60000x8,50000x8", "110,000 nodes, more than the 100,000"),
    ("1x1000001", "1,000,001 GPUs, more than the 1,000,000 a cluster may have"),
    ("1x9223372036854775807", "a count of 19 digits, more than the 100,000 nodes"),
    ("1x922337203685477580", "922,337,203,685,477,580 GPUs, more than the 1,000,000"),
    ("1" + "0" * 5000 + "x8", "a count of 5,001 digits, more than the 100,000 nodes"),
], ids=["1e7-nodes", "one-over", "groups-add-up", "gpus-one-over", "int64-gpus",
    "18-digit-gpus", "5000-digits"])
def test_inline_specs_beyond_the_limits(spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        build_cluster(spec)
    assert message in str(raised.value)
    assert len(str(raised.value)) < 300


def test_the_limits_themselves_are_allowed() -> None:
    check_size("c", [(MAX_NODES, MAX_GPUS // MAX_NODES)])
    check_size("c", [(1, MAX_GPUS)])


TOML_PROBLEMS = [
    pytest.param("[[nodes]]\ncount = 1000000000\ngpus = 8\n",
                 "1,000,000,000 nodes, more than the 100,000", id="count-1e9"),
    pytest.param("[[nodes]]\ngpus = 9223372036854775807\n",
                 "9,223,372,036,854,775,807 GPUs, more than the 1,000,000", id="gpus-int64"),
    pytest.param("[[nodes]]\ngpus = 8\nmemory_gib = 1e300\n",
                 "nodes[0].memory_gib: 1e+300 is more than the 1,048,576 a node may have",
                 id="memory-1e300"),
    pytest.param("[[nodes]]\ngpus = 8\ncpu = 1e300\n",
                 "nodes[0].cpu: 1e+300 is more than the 100,000 a node may have", id="cpu-1e300"),
    pytest.param("[[nodes]]\ncount = 60000\ngpus = 8\n[[nodes]]\ncount = 60000\ngpus = 8\n",
                 "120,000 nodes, more than the 100,000", id="groups-add-up"),
]


@pytest.mark.parametrize(("text", "message"), TOML_PROBLEMS)
def test_toml_files_beyond_the_limits(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "big.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        build_cluster(str(path))
    assert str(raised.value) == f"{path}: {message}" or \
        str(raised.value).startswith(f"{path}: {message}")


def test_auto_load_has_a_lower_bound() -> None:
    with pytest.raises(ConfigError, match=r"LOAD must be a number in \[0\.01, 1\]"):
        build_cluster("auto:1e-9", hand_trace(Job("a", 0.0, duration=1.0)))


@pytest.mark.parametrize(("jobs", "message"), [
    ((Job("a", 0.0, duration=1e12), Job("b", 10.0, duration=1e12)),
     "its work at load 0.8 needs more than 100,000 nodes"),
    ((Job("a", 0.0, duration=1e308), Job("b", 10.0, duration=1e308)),
     "its work at load 0.8 needs more than 100,000 nodes"),
    ((Job("a", 0.0, duration=1.0), Job("b", 1e-9, tasks=1000, duration=1e6)),
     "its work at load 0.8 needs more than 100,000 nodes"),
    ((Job("a", 0.0, tasks=2_000_000, duration=1.0),),
     "its largest job needs 250,000 nodes"),
], ids=["1e12-s", "1e308-s", "tiny-span", "huge-gang"])
def test_auto_clusters_beyond_the_limits(jobs: tuple[Job, ...], message: str) -> None:
    """Jobs made in Python skip the trace readers' bounds: auto still refuses, with the limit."""
    with pytest.raises(ConfigError) as raised:
        build_cluster("auto", hand_trace(*jobs))
    assert message in str(raised.value)
    assert "at most 100,000" in str(raised.value)


COUNTS = st.one_of(
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=MAX_NODES + 1, max_value=10**30),
)
SIZES = st.one_of(
    st.integers(min_value=1, max_value=16),
    st.integers(min_value=MAX_GPUS + 1, max_value=2**70),
)


@settings(max_examples=200, deadline=None)
@given(groups=st.lists(st.tuples(COUNTS, SIZES), min_size=1, max_size=4))
def test_inline_specs_build_or_refuse(groups: list[tuple[int, int]]) -> None:
    """Small specs build exactly; any spec over a limit is a ConfigError, never built."""
    spec = ",".join(f"{count}x{gpus}" for count, gpus in groups)
    nodes = sum(count for count, _ in groups)
    gpus = sum(count * per_node for count, per_node in groups)
    if nodes <= MAX_NODES and gpus <= MAX_GPUS:
        cluster = build_cluster(spec)
        assert (len(cluster.nodes), cluster.gpus) == (nodes, gpus)
    else:
        with pytest.raises(ConfigError, match="a cluster may have"):
            build_cluster(spec)


VALUES = st.one_of(
    st.integers(min_value=-5, max_value=40),
    st.integers(min_value=10**6, max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(["count", "gpus", "cpu", "memory_gib"]), value=VALUES)
def test_toml_numbers_build_or_refuse(tmp_path_factory: pytest.TempPathFactory, field: str,
                                      value: object) -> None:
    """Any value of a numeric node field gives a small cluster or a ConfigError naming it."""
    fields = {"count": 2, "gpus": 4, "cpu": 64, "memory_gib": 512, field: value}
    text = "[[nodes]]\n" + "".join(f"{key} = {_toml(item)}\n" for key, item in fields.items())
    path = tmp_path_factory.mktemp("fuzz") / "c.toml"
    path.write_text(text)
    try:
        cluster = build_cluster(str(path))
    except ConfigError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    assert isinstance(cluster, Cluster) and len(cluster.nodes) <= 40


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value > 0 else "-inf") \
            if value in (float("inf"), float("-inf")) else repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)
