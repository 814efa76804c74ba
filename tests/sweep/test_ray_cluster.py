"""Sweeps on Ray: a local Ray instance started here, the CLI connecting to it by address.

Ray is an optional extra: without it only the error telling the user to install it is tested.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import corral
from corral.cli.main import app
from corral.model import ConfigError
from corral.sim.result import TIMING_KEYS
from corral.sweep import RayCluster

SWEEP = ["sweep", "--policies", "fifo,greedy", "--loads", "1,2", "--seeds", "0,3",
         "--limit", "150", "--cluster", "6x8"]


def test_without_ray_the_error_says_to_install_the_extra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'corral\[ray\]'"):
        RayCluster("auto")
    result = CliRunner().invoke(app, [*SWEEP, "--ray", "127.0.0.1:6379"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: running on Ray needs the ray package")
    assert len(result.stderr.splitlines()) == 1


def test_a_bad_address_is_one_error_line() -> None:
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()  # else Ray would refuse for another reason
    result = CliRunner().invoke(app, [*SWEEP, "--ray", "not an address"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot connect to Ray at 'not an address': "
                                    "Invalid address format")


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A two-CPU Ray instance owned by this test process, torn down with it."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def test_sweep_on_ray_gives_the_local_results(ray_address: str, tmp_path: Path) -> None:
    # The CLI runs in its own process, a Ray driver connecting to the instance by address,
    # as it would to a remote cluster; the Ray workers import Corral from the same source.
    source = str(Path(corral.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-m", "corral", *SWEEP, "--ray", ray_address,
                           "--json", "--out", str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    on_ray = json.loads(done.stdout)
    local = json.loads(CliRunner().invoke(app, [*SWEEP, "--json"]).stdout)
    assert len(on_ray) == 8
    assert [{k: v for k, v in s.items() if k not in TIMING_KEYS} for s in on_ray] == [
        {k: v for k, v in s.items() if k not in TIMING_KEYS} for s in local]
    assert (tmp_path / "sample" / "greedy" / "load-2" / "seed-3" / "jobs.csv").is_file()
