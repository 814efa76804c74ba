"""Queue files are bounded where they are read: depth, count, weights and amounts have limits,
and a child is never guaranteed more than its parent; each mistake names the file and queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.model import GPU, ConfigError, InvalidSpec, Queue, QueueTree
from corral.model.limits import MAX_QUEUE_DEPTH, MAX_QUEUES
from corral.queues import load_queue_file


def chain(depth: int) -> str:
    """A file of *depth* queues, each the parent of the next."""
    parts = ['[[queues]]\nname = "q0"\n']
    parts += [f'[[queues]]\nname = "q{i}"\nparent = "q{i - 1}"\n' for i in range(1, depth)]
    return "".join(parts)


def load(tmp_path: Path, text: str) -> QueueTree:
    path = tmp_path / "queues.toml"
    path.write_text(text)
    return load_queue_file(path)


def test_a_5000_deep_chain_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, chain(5000))
    assert str(raised.value) == (f"{tmp_path / 'queues.toml'}: queue q16: more than 16 levels "
                                 "of parents, the most a hierarchy may have")


def test_the_deepest_allowed_chain_loads(tmp_path: Path) -> None:
    assert load(tmp_path, chain(MAX_QUEUE_DEPTH)).depth == MAX_QUEUE_DEPTH
    with pytest.raises(ConfigError, match="more than 16 levels"):
        load(tmp_path, chain(MAX_QUEUE_DEPTH + 1))


def test_a_cycle_is_still_named_as_one(tmp_path: Path) -> None:
    text = '[[queues]]\nname = "a"\nparent = "b"\n[[queues]]\nname = "b"\nparent = "a"\n'
    with pytest.raises(ConfigError, match="parents form a cycle"):
        load(tmp_path, text)


def test_too_many_queues() -> None:
    QueueTree([Queue(f"q{i}") for i in range(MAX_QUEUES)])
    with pytest.raises(InvalidSpec, match="more than 10,000 queues"):
        QueueTree([Queue(f"q{i}") for i in range(MAX_QUEUES + 1)])


@pytest.mark.parametrize(("child", "message"), [
    ("quota = { gpu = 16 }", "queue vision: quota 16 nvidia.com/gpu is more than its parent "
                             "lab's 8 nvidia.com/gpu"),
    ('quota = { "gpu:A100" = 9 }', "queue vision: quota 9 nvidia.com/gpu is more than its "
                                   "parent lab's 8 nvidia.com/gpu"),
    ("quota = { gpu = 4, cpu = 65 }", "queue vision: quota 65 cores of cpu is more than its "
                                      "parent lab's 64 cores of cpu"),
], ids=["gpu", "typed-gpu", "cpu"])
def test_a_child_quota_above_its_parent(tmp_path: Path, child: str, message: str) -> None:
    text = ('[[queues]]\nname = "lab"\nquota = { gpu = 8, cpu = 64 }\n'
            f'[[queues]]\nname = "vision"\nparent = "lab"\n{child}\n')
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    assert str(raised.value) == f"{tmp_path / 'queues.toml'}: {message}"


def test_a_child_quota_equal_to_its_parent_loads(tmp_path: Path) -> None:
    text = ('[[queues]]\nname = "lab"\nquota = { gpu = 8 }\n'
            '[[queues]]\nname = "vision"\nparent = "lab"\nquota = { gpu = 8, cpu = 99 }\n')
    assert load(tmp_path, text).guarantee["vision"][GPU] == 8000


@pytest.mark.parametrize(("line", "message"), [
    ("weight = nan", "queues[0].weight: must be a number > 0 and at most 1,000,000, got nan"),
    ("weight = inf", "queues[0].weight: must be a number > 0 and at most 1,000,000, got inf"),
    ("weight = 1e300", "queues[0].weight: must be a number > 0 and at most 1,000,000"),
    ("quota = { gpu = 1e300 }", "queues[0].quota.gpu: 1e+300 is more than the 1,000,000 a "
                                "cluster may have"),
    ("quota = { cpu = 1e300 }", "queues[0].quota.cpu: 1e+300 is more than the"),
    ("borrowing_limit = { memory_gib = 1e300 }", "queues[0].borrowing_limit.memory_gib: "
                                                 "1e+300 is more than the"),
], ids=["nan-weight", "inf-weight", "huge-weight", "huge-gpu", "huge-cpu", "huge-memory"])
def test_absurd_numbers(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, f'[[queues]]\nname = "a"\n{line}\n')
    assert str(raised.value).startswith(f"{tmp_path / 'queues.toml'}: {message}")


@pytest.mark.parametrize("weight", [float("nan"), float("inf"), 1e300, True, "2"])
def test_the_model_refuses_absurd_weights(weight: object) -> None:
    with pytest.raises(InvalidSpec, match="weight must be a number in"):
        Queue("a", weight=weight)  # type: ignore[arg-type]


def test_the_model_refuses_absurd_amounts() -> None:
    with pytest.raises(InvalidSpec, match="more than any cluster has"):
        Queue("a", {GPU: 10**30})
    with pytest.raises(InvalidSpec, match="more than any cluster has"):
        Queue("a", {}, borrowing_limit={GPU: 10**30})
