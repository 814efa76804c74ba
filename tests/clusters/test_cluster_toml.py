"""TOML cluster files: a good one read field by field, and each kind of mistake named exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.clusters import build_cluster
from corral.model import ConfigError

GOOD = """
name = "lab"

[[nodes]]
count = 2
gpus = 8
gpu_type = "A100-80GB"
cpu = 128
memory_gib = 1024
topology = "rack-1"
labels = { zone = "a" }

[[nodes]]
gpus = 4
gpu_type = "T4"

[[nodes]]
count = 2
gpus = 0
cpu = 64.5
memory_gib = 256
name_prefix = "cpu-big"
"""


@pytest.mark.parametrize("as_path", [False, True], ids=["str", "Path"])
def test_good_file(tmp_path: Path, as_path: bool) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(GOOD)
    cluster = build_cluster(path if as_path else str(path))
    assert (cluster.name, len(cluster.nodes), cluster.gpus) == ("lab", 5, 20)
    a100, a100_b, t4, cpu, _ = cluster.nodes
    assert (a100.name, a100_b.name, t4.name, cpu.name) == (
        "A100-80GB-0000",
        "A100-80GB-0001",
        "T4-0000",
        "cpu-big-0000",
    )
    assert (a100.cpu_milli, a100.memory_mib, a100.topology, dict(a100.labels)) == (
        128_000,
        1024 * 1024,
        "rack-1",
        {"zone": "a"},
    )
    assert (t4.gpus, t4.cpu_milli, t4.memory_mib, t4.topology) == (4, 64_000, 4 * 131_072, "")
    assert (cpu.gpus, cpu.cpu_milli, cpu.memory_mib) == (0, 64_500, 256 * 1024)
    assert "2 CPU-only" in cluster.describe()


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "rack7.toml"
    path.write_text("[[nodes]]\ngpus = 8\ncount = 3\n")
    cluster = build_cluster(str(path))
    assert (cluster.name, cluster.gpus) == ("rack7", 24)


def test_existing_file_without_toml_suffix(tmp_path: Path) -> None:
    path = tmp_path / "cluster.conf"
    path.write_text("[[nodes]]\ngpus = 2\n")
    assert build_cluster(str(path)).name == "cluster.conf"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            "[[nodes]]\ngpus = 8\ngpu = 2\n", "nodes[0].gpu: unknown key", id="unknown-key"
        ),
        pytest.param('nam = "x"\n[[nodes]]\ngpus = 8\n', "nam: unknown key", id="unknown-top"),
        pytest.param('[[nodes]]\ngpus = "8"\n', "nodes[0].gpus: must be a whole number", id="str"),
        pytest.param(
            "[[nodes]]\ngpus = 8.0\n", "nodes[0].gpus: must be a whole number", id="float"
        ),
        pytest.param(
            "[[nodes]]\ngpus = true\n", "nodes[0].gpus: must be a whole number", id="bool"
        ),
        pytest.param("[[nodes]]\ngpus = -1\n", "nodes[0].gpus: must be >= 0", id="negative"),
        pytest.param("[[nodes]]\ncount = 2\n", "nodes[0].gpus: missing", id="missing-gpus"),
        pytest.param(
            "[[nodes]]\ngpus = 8\n[[nodes]]\ngpus = 8\ncount = 0\n",
            "nodes[1].count: must be >= 1, got 0",
            id="count-zero",
        ),
        pytest.param("[[nodes]]\ngpus = 8\ncpu = -2\n", "nodes[0].cpu: must be a finite", id="cpu"),
        pytest.param(
            "[[nodes]]\ngpus = 8\nmemory_gib = inf\n",
            "nodes[0].memory_gib: must be a finite",
            id="memory-inf",
        ),
        pytest.param(
            '[[nodes]]\ngpus = 8\ngpu_type = ""\n',
            "nodes[0].gpu_type: must not be empty",
            id="type",
        ),
        pytest.param(
            "[[nodes]]\ngpus = 8\nlabels = { zone = 1 }\n",
            "nodes[0].labels.zone: must be a string",
            id="label-value",
        ),
        pytest.param(
            '[[nodes]]\ngpus = 8\nlabels = "a"\n', "nodes[0].labels: must be a table", id="labels"
        ),
        pytest.param(
            "[[nodes]]\ngpus = 0\n",
            "nodes[0].cpu: missing (required for nodes without GPUs)",
            id="cpu-node-needs-cpu",
        ),
        pytest.param('name = "x"\n', "nodes: missing", id="no-nodes"),
        pytest.param("nodes = []\n", "nodes: must be a non-empty array", id="empty-nodes"),
        pytest.param("nodes = [1]\n", "nodes[0]: must be a table", id="node-not-table"),
        pytest.param("name = 3\n[[nodes]]\ngpus = 8\n", "name: must be a string", id="name-type"),
        pytest.param("[[nodes]\ngpus = 8\n", "TOML syntax error", id="syntax"),
        pytest.param(
            '[[nodes]]\ngpus = 1\nname_prefix = "x"\n[[nodes]]\ngpus = 1\nname_prefix = "x-0000"\n'
            '[[nodes]]\ngpus = 1\nname_prefix = "x"\ncount = 1\n',
            None,
            id="prefixes-never-collide",
        ),
    ],
)
def test_bad_files(tmp_path: Path, content: str, message: str | None) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    if message is None:
        assert len(build_cluster(str(path)).nodes) == 3
        return
    with pytest.raises(ConfigError) as raised:
        build_cluster(str(path))
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError, match="cluster file not found"):
        build_cluster(str(path))
    with pytest.raises(ConfigError, match="cluster file not found"):
        build_cluster(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        build_cluster(str(path))
