"""Jobs dispatched per second by one dispatcher pass, against in-process API emulators.

A manager and WORKERS worker emulators run in this process; JOBS suspended Jobs wait in the
manager. The first pass dispatches all of them (three writes each: the Lease, the worker's
copy, the manager's annotations); the second finds nothing to write (leases renew at
half-life). CPU time covers the dispatcher and the emulators together, so it overstates the
dispatcher's share.

    PYTHONPATH=src:tests/dispatcher python benchmarks/dispatch_throughput.py [JOBS] [WORKERS]
"""

from __future__ import annotations

import asyncio
import sys
import time

from dispatch_builders import SETTINGS, Clock, clusters, job

from corral.dispatcher.dispatcher import Dispatcher
from corral.k8s.client import KubeClient


async def main(jobs: int, workers: int) -> None:
    async with clusters(*([10_000] * workers)) as (manager, _):
        for i in range(jobs):
            manager.create(job(f"j{i}", pods=2, gpus=1))
        client = KubeClient.for_url(manager.url)
        dispatcher = Dispatcher(client, SETTINGS, Clock())
        for label in ("dispatch", "steady"):
            wall, cpu = time.perf_counter(), time.process_time()
            await dispatcher.reconcile()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"{label}: {jobs} jobs, {workers} workers: {wall:.2f} s wall, {cpu:.2f} s "
                  f"CPU, {jobs / wall:.0f} jobs/s")
        await dispatcher.close()
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
                     int(sys.argv[2]) if len(sys.argv) > 2 else 3))
