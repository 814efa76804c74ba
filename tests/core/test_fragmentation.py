"""FGD's fragmentation measure on hand-computed nodes, and its two evaluation paths agreeing."""

from __future__ import annotations

import numpy as np
import pytest

import corral.core.fragmentation as fragmentation
from builders import job
from corral.core.fragmentation import FragmentationMeasure, TaskTypes
from corral.core.gang_placement import assign_gpus, gpus_left
from corral.model import InvalidSpec

GPU_TYPES = ("T4", "V100")


def measure(types: dict, rows: list[list[int]], cpu: list[int] | None = None,
            mem: list[int] | None = None, kinds: list[int] | None = None) -> list[float]:
    """Expected fragmented milli-GPUs of each node (row of free milli-GPU per GPU)."""
    gpu_free = np.array(rows, dtype=np.int64)
    n = len(rows)
    cpu_free = np.array(cpu or [64_000] * n, dtype=np.int64)
    mem_free = np.array(mem or [512_000] * n, dtype=np.int64)
    node_type = np.array(kinds or [0] * n, dtype=np.int32)
    built = FragmentationMeasure(TaskTypes.from_counts(types), GPU_TYPES)
    return built(gpu_free, cpu_free, mem_free, node_type).tolist()


def key(gpu_milli: int, cpu: int = 0, mem: int = 0, gpu_types: tuple[str, ...] = ()) -> tuple:
    return (gpu_milli, cpu, mem, gpu_types)


@pytest.mark.parametrize(("types", "rows", "expected"), [
    # Three whole GPUs free: a 2-GPU task fits (no partial GPU: nothing fragmented); a 4-GPU
    # task does not, so all 3,000 are fragmented for it. Half and half: 1,500.
    ({key(2000): 1, key(4000): 1}, [[1000, 1000, 1000, 0]], [1500.0]),
    # A partly used GPU is fragmented for whole-GPU tasks even where they fit.
    ({key(1000): 1}, [[1000, 400, 0, 0]], [400.0]),
    # 0.5 GPU tasks cannot use the 300 left on GPU 0; 0.7 GPU tasks cannot use 300 or 600.
    # Weights 3:1 -> 0.75 x 300 + 0.25 x 900.
    ({key(500): 3, key(700): 1}, [[300, 600, 1000, 0]], [450.0]),
    # No GPU holds 0.9: the task cannot run here at all, so every free share is fragmented.
    ({key(900): 1}, [[300, 600, 0, 0]], [900.0]),
    # Nothing free, nothing fragmented; an empty node is not fragmented for tasks that fit.
    ({key(500): 1, key(1000): 1}, [[0, 0, 0, 0], [1000, 1000, 1000, 1000]], [0.0, 0.0]),
], ids=["whole-gpus", "partial-gpu-whole-task", "fractional", "fraction-fits-nowhere", "trivial"])
def test_hand_computed_nodes(types: dict, rows: list[list[int]], expected: list[float]) -> None:
    assert measure(types, rows) == pytest.approx(expected)


def test_cpu_or_memory_shortage_fragments_all_free_gpus() -> None:
    """A node with GPUs free but too little CPU (or memory) for the task strands them all."""
    rows = [[1000, 900, 0, 0]] * 3
    types = {key(500, cpu=4000, mem=8000): 1}
    got = measure(types, rows, cpu=[8000, 2000, 8000], mem=[16_000, 16_000, 4000])
    assert got == pytest.approx([0.0, 1900.0, 1900.0])


def test_gpu_model_constraint_fragments_other_models() -> None:
    """A task that only runs on V100s sees every free GPU of a T4 node as fragmented."""
    types = {key(1000, gpu_types=("V100",)): 1, key(1000): 1}
    got = measure(types, [[1000, 1000], [1000, 1000]], kinds=[0, 1])
    assert got == pytest.approx([1000.0, 0.0])


def test_task_types_from_jobs_weigh_tasks_and_leave_out_cpu_only() -> None:
    jobs = [job("a", gpus=0.5), job("b", tasks=3, gpus=1), job("c", gpus=0, cpu_milli=1000),
            job("d", gpus=0.5)]
    types = TaskTypes.of_jobs(jobs)
    assert types.keys == (key(1000), key(500))
    assert types.weights.tolist() == pytest.approx([0.6, 0.4])
    top = TaskTypes.of_jobs(jobs, max_types=1)
    assert top.keys == (key(1000),) and top.weights.tolist() == [1.0]


def test_bad_popularity_is_refused() -> None:
    with pytest.raises(InvalidSpec, match="popularity"):
        TaskTypes.from_counts({key(500): 0})


def test_table_and_per_type_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fit table is an acceleration: checking every type directly gives the same values."""
    rng = np.random.default_rng(7)
    counts = {key(int(rng.choice([100, 250, 500, 800, 1000, 2000, 4000, 8000])),
                  int(rng.integers(0, 5)) * 4000, int(rng.integers(0, 4)) * 30_000,
                  () if rng.random() < 0.7 else ("V100",)): float(rng.integers(1, 9))
              for _ in range(40)}
    types = TaskTypes.from_counts(counts)
    rows = rng.choice([0, 100, 200, 500, 700, 1000], size=(300, 8))
    cpu = rng.integers(0, 20_000, 300)
    mem = rng.integers(0, 120_000, 300)
    kinds = rng.integers(0, 2, 300).astype(np.int32)
    fast = FragmentationMeasure(types, GPU_TYPES)(rows, cpu, mem, kinds)
    monkeypatch.setattr(fragmentation, "TABLE_CELLS", 0)
    direct = FragmentationMeasure(types, GPU_TYPES)(rows, cpu, mem, kinds)
    assert np.allclose(fast, direct)
    assert (fast >= -1e-9).all() and (fast <= rows.sum(axis=1) + 1e-9).all()


@pytest.mark.parametrize("gpus", [0.3, 0.5, 1, 2])
def test_gpus_left_matches_assign_gpus(gpus: float) -> None:
    """The vectorised what-if takes the very GPUs the core's assignment takes."""
    rng = np.random.default_rng(3)
    task = job("j", gpus=gpus)
    rows = rng.choice([0, 200, 500, 700, 1000], size=(200, 4))
    tasks = rng.integers(1, 3, 200)
    room = (rows // task.gpu_milli).sum(axis=1) if task.gpu_milli < 1000 else \
        (rows == 1000).sum(axis=1) // (task.gpu_milli // 1000)
    rows, tasks = rows[room >= 2], tasks[room >= 2]
    left = gpus_left(rows, task, tasks)

    class View:
        gpu_free = rows.copy()

    for i, row in enumerate(rows):
        grant = assign_gpus(View(), task, [(i, int(tasks[i]))]).grants[0]  # type: ignore[arg-type]
        expected = row.copy()
        for gpu in grant.gpus:
            expected[gpu] -= grant.milli
        assert left[i].tolist() == expected.tolist()
