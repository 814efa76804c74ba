"""A fake NVML that replays recorded readings, for tests and for running the agent without a GPU.

A recording is a JSON file::

    {"driver": "580.65.06",
     "gpus": [{"index": 0, "uuid": "GPU-...", "name": "NVIDIA H200", "memory_total_mib": 143771,
               "mig_instances": [{"uuid": "MIG-...", "profile": "1g.18gb", "memory_mib": 16384}]}],
     "readings": [{"gpus": [{"index": 0, "util_percent": 87, "memory_used_mib": 20480, ...}],
                   "processes": [{"gpu_index": 0, "pid": 4242, "memory_used_mib": 20000,
                                  "sm_util_percent": 85}],
                   "xids": [[0, 79]]}]}

Each :meth:`FakeNvml.read` returns the next reading; the last one repeats. :func:`recording`
writes this format from real readings, so that a real GPU's figures can be replayed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from corral.agent.nvml import GpuInfo, GpuSample, MigInstance, NodeReading, ProcessSample
from corral.model import ConfigError


class FakeNvml:
    """Replays a recording (see the module docstring) through the :class:`Nvml` interface."""

    def __init__(self, recording: Mapping[str, Any]) -> None:
        try:
            self._driver = str(recording.get("driver", "fake"))
            self._gpus = [GpuInfo(index=g["index"], uuid=g["uuid"], name=g["name"],
                                  memory_total_mib=g["memory_total_mib"],
                                  mig_instances=tuple(MigInstance(**m)
                                                      for m in g.get("mig_instances", ())))
                          for g in recording["gpus"]]
            self._readings = [NodeReading(
                gpus=tuple(GpuSample(**s) for s in r["gpus"]),
                processes=tuple(ProcessSample(**p) for p in r.get("processes", ())),
                xids=tuple((int(i), int(x)) for i, x in r.get("xids", ())))
                for r in recording["readings"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"NVML recording: malformed ({type(exc).__name__}: {exc})") from None
        if not self._readings:
            raise ConfigError("NVML recording: no readings")
        self._next = 0
        self.reads = 0

    @classmethod
    def from_file(cls, path: str | Path) -> FakeNvml:
        try:
            return cls(json.loads(Path(path).read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read NVML recording ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not JSON ({exc})") from None

    def driver_version(self) -> str:
        return self._driver

    def gpus(self) -> list[GpuInfo]:
        return list(self._gpus)

    def read(self) -> NodeReading:
        reading = self._readings[self._next]
        self._next = min(self._next + 1, len(self._readings) - 1)
        self.reads += 1
        return reading


def recording(driver: str, gpus: Sequence[GpuInfo], readings: Sequence[NodeReading]
              ) -> dict[str, Any]:
    """The recording (see the module docstring) of *readings* taken from real NVML."""
    return {"driver": driver,
            "gpus": [asdict(g) for g in gpus],
            "readings": [{"gpus": [asdict(s) for s in r.gpus],
                          "processes": [asdict(p) for p in r.processes],
                          "xids": [list(x) for x in r.xids]} for r in readings]}
