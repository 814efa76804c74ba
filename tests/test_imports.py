"""What each entry point imports: the live scheduler and the node agent start without the
simulator, pandas, scikit-learn or matplotlib, nor each other (they share names through
:mod:`corral.kube_contract`), and ``import corral`` loads nothing heavy.

Each case runs in a fresh interpreter (this test process has long since imported everything)
and checks ``sys.modules``, not times: a module that is never imported costs nothing on any
machine. The import-linter contracts in pyproject.toml say the same for our own packages; these
tests also catch third-party modules and imports that only run at start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SIMULATION = ("corral.sim", "corral.traces", "corral.report", "corral.sweep", "corral.api",
              "pandas", "matplotlib")
PREDICTOR = ("corral.predict", "sklearn", "scipy")
LIVE_FORBIDDEN = (*SIMULATION, *PREDICTOR)
LIGHT_FORBIDDEN = (*LIVE_FORBIDDEN, "numpy", "sqlalchemy", "alembic", "rich", "asyncio",
                   "corral.core", "corral.k8s", "corral.agent", "corral.history.store")
"""For ``import corral`` and ``corral --version``: nothing a subcommand alone needs."""

BUILD_SCHEDULER = """
import corral.cli.main
import corral.cli.kubernetes
import corral.k8s.loop
import corral.k8s.history_writer
from corral.core import Scheduler
from corral.policies import load_policy

Scheduler(load_policy({policy!r}))
"""
"""What ``corral scheduler`` imports before its first cycle: the command line, the loop, the
history writer and the policy's Scheduler (the history database itself opens in the
background, except for a policy that predicts from it)."""

START_AGENT = """
import corral.cli.main
import corral.cli.agent
import corral.agent.fake_nvml
import corral.agent.kube
import corral.agent.node_agent
import corral.agent.nvml
"""
"""What ``corral node-agent`` imports (its command imports these four)."""


def loaded_after(code: str, watched: tuple[str, ...]) -> list[str]:
    """The modules of *watched* (or inside them) that a fresh interpreter holds after *code*."""
    script = textwrap.dedent(code) + textwrap.dedent(f"""
        import json, sys
        watched = {watched!r}
        print(json.dumps(sorted(name for name in sys.modules
                                if any(name == w or name.startswith(w + ".") for w in watched))))
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def roots(modules: list[str], watched: tuple[str, ...]) -> list[str]:
    """``["pandas", "pandas.core", "sklearn"]`` -> ``["pandas", "sklearn"]`` (short messages)."""
    return sorted({w for w in watched for m in modules if m == w or m.startswith(w + ".")})


@pytest.mark.parametrize(("code", "forbidden"), [
    ("import corral", LIGHT_FORBIDDEN),
    ("import corral.cli.main", LIGHT_FORBIDDEN),
    (BUILD_SCHEDULER.format(policy="corral"),
     (*LIVE_FORBIDDEN, "corral.agent", "sqlalchemy", "alembic")),
    (BUILD_SCHEDULER.format(policy="fifo"),
     (*LIVE_FORBIDDEN, "corral.agent", "sqlalchemy", "alembic")),
    (BUILD_SCHEDULER.format(policy="predicted-sjf"), (*LIVE_FORBIDDEN, "corral.agent")),
    (START_AGENT, (*LIVE_FORBIDDEN, "alembic", "corral.k8s")),
], ids=["import corral", "corral --version", "corral scheduler (corral policy)",
        "corral scheduler (fifo)", "corral scheduler (predicted-sjf, before its first estimate)",
        "corral node-agent"])
def test_entry_point_imports_nothing_it_does_not_need(code: str,
                                                      forbidden: tuple[str, ...]) -> None:
    assert roots(loaded_after(code, forbidden), forbidden) == []


def test_simulate_still_reachable_from_the_package() -> None:
    """``corral.simulate`` loads the simulator on first use."""
    loaded = loaded_after("import corral\nassert callable(corral.simulate)\n", SIMULATION)
    assert "corral.api" in loaded
    assert "corral.sim" in loaded


def test_predicted_policy_loads_the_predictor_when_the_live_scheduler_is_built() -> None:
    """The predictor's modules are deferred, not dropped: a live scheduler whose policy reads
    run-time estimates has them (and a policy that reads none never does)."""
    code = """
        import asyncio

        from corral.core import Scheduler
        from corral.history import HistoryStore
        from corral.k8s.client import KubeClient
        from corral.k8s.loop import LiveScheduler, Options
        from corral.policies import load_policy

        async def build(name):
            client = KubeClient.for_url("http://127.0.0.1:9")  # never called
            live = LiveScheduler(client, Scheduler(load_policy(name)),
                                 Options(history=HistoryStore("sqlite://")))
            await client.close()
            return live

        estimates = [asyncio.run(build(name)).estimates for name in ({policies})]
        """
    assert roots(loaded_after(code.format(policies="'fifo', 'corral'"), PREDICTOR),
                 PREDICTOR) == []
    with_estimates = loaded_after(code.format(policies="'predicted-sjf',") +
                                  "assert estimates[0] is not None\n", PREDICTOR)
    assert roots(with_estimates, PREDICTOR) == ["corral.predict", "scipy", "sklearn"]
