"""Fixtures: a trace whose durations follow job names and GPU counts, unseen by the fallback."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from corral.model import Job

BASE_SECONDS = {"bert-pretrain": 20_000.0, "resnet-sweep": 200.0}


def name_driven_jobs(count: int = 800, seed: int = 1) -> list[Job]:
    """One user alternating two kinds of job: the name sets the scale, GPUs multiply it."""
    rng = random.Random(seed)
    jobs = []
    for index in range(count):
        name = rng.choice(sorted(BASE_SECONDS))
        gpus = rng.choice([1, 2, 4, 8])
        duration = BASE_SECONDS[name] * gpus * rng.uniform(0.8, 1.25)
        jobs.append(Job(id=f"j{index}", submit=index * 300.0, gpu_milli=1000 * gpus, user="ann",
                        name=f"{name}-{index % 7}", duration=duration))
    return jobs


@pytest.fixture
def name_driven() -> Callable[..., list[Job]]:
    return name_driven_jobs
