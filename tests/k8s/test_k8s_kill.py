"""A scheduler process SIGKILLed mid-load, then a second one started: nothing bound twice.

The API emulator runs in this test's process (an aiohttp server on a free loopback port); the
schedulers run in child processes that reach it over HTTP, as a scheduler reaches an API
server. The first is killed the instant the emulator receives its Nth binding, so that binding
lands although the scheduler never reads the answer (the window a crash really leaves); the
second rebuilds its state from the API and must finish the load without binding any pod again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from k8s_builders import bound_to, emulated, gpus_used, node, pod, podgroup, run, until

SRC = Path(__file__).resolve().parents[2] / "src"
NODES, GPUS = 40, 8
GANGS, GANG_SIZE = 10, 8
SINGLES = 220
KILL_AT = 120
"""The binding request during which the first scheduler is killed."""

SCHEDULER = """
import asyncio, sys
from corral.core import Scheduler
from corral.k8s.client import KubeClient
from corral.k8s.loop import LiveScheduler, Options
from corral.policies import load_policy

async def main():
    client = KubeClient.for_url(sys.argv[1])
    options = Options(batch_window_s=0.01, tick_s=0.2, leader_elect=False, grace_seconds=0)
    await LiveScheduler(client, Scheduler(load_policy("priority-preempt")), options).run()

asyncio.run(main())
"""


async def _start(url: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return await asyncio.create_subprocess_exec(sys.executable, "-c", SCHEDULER, url, env=env)


def test_a_scheduler_killed_mid_load_and_restarted_binds_every_pod_once() -> None:
    async def scenario() -> None:
        async with emulated() as emulator:
            assert emulator.url.startswith("http://127.0.0.1:")
            for i in range(NODES):
                emulator.create(node(f"n{i}", GPUS))
            gangs = {f"g{g}": [f"g{g}-{m}" for m in range(GANG_SIZE)] for g in range(GANGS)}
            for name, members in gangs.items():
                emulator.create(podgroup(name, GANG_SIZE))
                for member in members:
                    emulator.create(pod(member, 1, group=name))
            for i in range(SINGLES):
                emulator.create(pod(f"s{i}", 1))
            pods = GANGS * GANG_SIZE + SINGLES

            first = await _start(emulator.url)
            requests = 0

            def kill_first(namespace: str, name: str, target: str) -> int | None:
                nonlocal requests
                requests += 1
                if requests == KILL_AT:
                    os.kill(first.pid, signal.SIGKILL)  # this binding still lands
                return None

            emulator.binding_faults.append(kill_first)
            assert await asyncio.wait_for(first.wait(), 60) == -signal.SIGKILL
            emulator.binding_faults.clear()
            at_kill = len(emulator.bindings)
            # part of the load: requests already sent when it died land too, unanswered
            assert KILL_AT <= at_kill < pods

            second = await _start(emulator.url)
            try:
                await until(lambda: len(bound_to(emulator)) == pods, timeout=60)
                await asyncio.sleep(1.0)  # a few more cycles: any late double bind would show
            finally:
                second.kill()
                await second.wait()

            per_pod = Counter(name for name, _ in emulator.bindings)
            assert len(per_pod) == pods and set(per_pod.values()) == {1}
            assert emulator.binding_conflicts == 0
            assert all(used <= GPUS for used in gpus_used(emulator).values())
            bound = bound_to(emulator)
            for members in gangs.values():
                assert all(f"default/{m}" in bound for m in members)  # no gang left partial

    run(scenario)
