"""Queue files and ``--queues auto``: what they define, and one clear error per mistake."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from builders import job
from corral.model import CPU, GPU, MEMORY, ConfigError, InvalidSpec, Queue, QueueTree
from corral.queues import auto_queues, build_queues, load_queue_file

GOOD = """
default = "shared"

[[queues]]
name = "lab"
quota = { gpu = 16 }

[[queues]]
name = "vision"
parent = "lab"
weight = 2
quota = { gpu = 8, "gpu:A100" = 4, cpu = 64, memory_gib = 512 }
borrowing_limit = { gpu = 4 }

[[queues]]
name = "nlp"
parent = "lab"
quota = { "nvidia.com/gpu" = 8.5 }

[[queues]]
name = "shared"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "queues.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_queue_file_defines_a_hierarchy_with_quotas(tmp_path: Path) -> None:
    tree = load_queue_file(write(tmp_path, GOOD))
    assert tree.leaves == ("vision", "nlp", "shared")
    assert [q.name for q in tree.chains["vision"]] == ["vision", "lab"]
    vision = tree.queues["vision"]
    assert vision.weight == 2.0
    assert vision.quota == {GPU: 8000, "nvidia.com/gpu:A100": 4000, CPU: 64_000,
                            MEMORY: 512 * 1024}
    assert tree.ceiling["vision"] == {GPU: 12_000}
    assert tree.guarantee["nlp"] == {GPU: 8500}
    assert tree.guarantee["shared"] == {GPU: 0}  # a leaf without GPU quota borrows every GPU
    assert tree.ceiling["shared"] == {}  # no borrowing limit: any idle capacity
    assert tree.leaf_of("default") == "shared"
    assert tree.depth == 2


@pytest.mark.parametrize(("text", "message"), [
    ("[[queues]]\nname = 'a'\nquota = { gpus = 1 }\n", "queues[0].quota.gpus: unknown resource"),
    ("[[queues]]\nname = 'a'\nquota = { gpu = -1 }\n", "queues[0].quota.gpu: must be a finite"),
    ("[[queues]]\nname = 'a'\nweight = 0\n", "queues[0].weight: must be a number > 0"),
    ("[[queues]]\nname = 'a'\ncolour = 1\n", "queues[0].colour: unknown key"),
    ("[[queues]]\nname = 'a'\nparent = 'b'\n", "parent 'b' is not defined"),
    ("[[queues]]\nname = 'a'\nparent = 'b'\n[[queues]]\nname = 'b'\nparent = 'a'\n",
     "parents form a cycle"),
    ("default = 'x'\n[[queues]]\nname = 'a'\n", "default queue 'x' is not a leaf"),
    ("[[queues]]\nname = 'a'\n[[queues]]\nname = 'a'\n", "defined twice"),
    ("name = 'a'\n", "name: unknown key"),
    ("queues = []\n", "queues: missing or empty"),
    ("[[queues]]\nname = 'a'\nquota = { gpu = 0.0001 }\n", "finer than one milli-GPU"),
    ("[[queues\n", "TOML syntax error"),
])
def test_each_mistake_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_queue_file(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="queue file not found"):
        build_queues(tmp_path / "nope.toml", [], 8)


def test_jobs_must_name_a_leaf_queue() -> None:
    tree = QueueTree([Queue("lab"), Queue("a", parent="lab")])
    with pytest.raises(InvalidSpec, match="unknown queue 'b'"):
        tree.leaf_of("b")
    with pytest.raises(InvalidSpec, match="has child queues"):
        tree.leaf_of("lab")
    with pytest.raises(InvalidSpec, match="unknown queue 'default'"):
        tree.leaf_of("default")  # no default queue declared


def test_auto_queues_guarantee_each_queue_its_share_of_gpu_time() -> None:
    jobs = [job("a", gpus=2, duration=300, queue="x"), job("b", gpus=1, duration=100, queue="y"),
            job("c", gpus=1, duration=500, queue="y")]
    tree = auto_queues(jobs, cluster_gpus=10)
    assert tree.leaves == ("x", "y")
    assert tree.guarantee["x"][GPU] == 5000 and tree.guarantee["y"][GPU] == 5000
    # Whole GPUs, largest remainders first, adding up to the cluster: 6.67 / 2.22 / 1.11 of 10.
    three = auto_queues([job("a", duration=600, queue="p"), job("b", duration=200, queue="q"),
                         job("c", duration=100, queue="r")], cluster_gpus=10)
    assert [three.guarantee[q][GPU] for q in "pqr"] == [7000, 2000, 1000]
    assert tree.ceiling["x"] == {}  # may borrow
    assert build_queues("auto", jobs, 10).guarantee == tree.guarantee
