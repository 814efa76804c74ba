"""The fake NVML recording the agent tests replay, and the node it describes."""

from __future__ import annotations

import json
from pathlib import Path

RECORDING = Path(__file__).parent / "data" / "two_gpu_node.json"
"""Two H200s, four readings: busy, busier, GPU 1 failing to read plus an application XID on
GPU 0, then XID 79 on GPU 0. Written by hand in the format of a recording."""
FAKE_MPS_CONTROL = Path(__file__).parent / "fake-nvidia-cuda-mps-control"
"""A stand-in for nvidia-cuda-mps-control (no GPU, no CUDA); see its docstring."""
NODE = "node-a"
GPU0 = "GPU-00000000-0000-0000-0000-000000000000"
GPU1 = "GPU-11111111-1111-1111-1111-111111111111"


def recording() -> dict:
    return json.loads(RECORDING.read_text())
