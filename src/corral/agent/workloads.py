"""Reference GPU workloads for interference profiling and the GPU sharing check (PyTorch).

Run as ``python -m corral.agent.workloads NAME --seconds S``: the workload warms up, runs for S
seconds, and prints one line in Corral's throughput protocol::

    corral-throughput: <steps per second>

(the same line any workload may print for ``corral trial``). ``alloc --mib N`` instead tries to
allocate N MiB on the GPU and prints ``corral-alloc: ok`` or ``corral-alloc: refused``, to check a
memory limit. PyTorch is needed on the GPU node only and is not a dependency of Corral.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

THROUGHPUT_PREFIX = "corral-throughput:"
ALLOC_PREFIX = "corral-alloc:"
WARMUP_S = 2.0
INPUT_WAIT_S = 0.04
"""``input-bound``: the host's wait for each batch (a slow data pipeline)."""
REQUEST_EVERY_S = 0.02
"""``inference``: the time between two requests."""


def _gemm(torch: Any) -> Callable[[], None]:
    """Compute-bound: a bf16 matrix product (tensor cores)."""
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    return lambda: torch.mm(a, b)


def _copy(torch: Any) -> Callable[[], None]:
    """Memory-bound: copying 1 GiB from one buffer to another."""
    src = torch.empty(2**28, device="cuda", dtype=torch.float32)
    dst = torch.empty_like(src)
    return lambda: dst.copy_(src)


def _train_step(torch: Any, model: Any, batch: Any, target: Any) -> Callable[[], None]:
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        loss_fn(model(batch), target).backward()
        optimiser.step()
    return step


def _conv(torch: Any) -> Callable[[], None]:
    """A training step of a small convolutional network on 64 images of 3x128x128."""
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(128, 256, 3, padding=1), nn.BatchNorm2d(256), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 100)).cuda()
    batch = torch.randn(64, 3, 128, 128, device="cuda")
    return _train_step(torch, model, batch, torch.randint(0, 100, (64,), device="cuda"))


def _input_bound(torch: Any) -> Callable[[], None]:
    """The convolutional training step, its host waiting INPUT_WAIT_S for every batch: a job
    starved by its data pipeline, which leaves the GPU mostly idle."""
    step = _conv(torch)

    def starved() -> None:
        step()
        time.sleep(INPUT_WAIT_S)
    return starved


def _encoder(torch: Any) -> Any:
    """A 4-layer transformer encoder with an 8192-token vocabulary, on the GPU."""
    nn = torch.nn

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(8192, 512)
            layer = nn.TransformerEncoderLayer(512, 8, 2048, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 4)
            self.head = nn.Linear(512, 8192)

        def forward(self, tokens: Any) -> Any:
            return self.head(self.encoder(self.embed(tokens))).flatten(0, 1)

    return Model().cuda()


def _transformer(torch: Any) -> Callable[[], None]:
    """A training step of the transformer encoder on 32 sequences of 256 tokens."""
    tokens = torch.randint(0, 8192, (32, 256), device="cuda")
    return _train_step(torch, _encoder(torch), tokens, tokens.flatten())


def _inference(torch: Any) -> Callable[[], None]:
    """Serving: a forward pass of the transformer encoder on 8 sequences of 256 tokens, its
    answer awaited, then REQUEST_EVERY_S until the next request."""
    model = _encoder(torch).eval()
    tokens = torch.randint(0, 8192, (8, 256), device="cuda")

    def serve() -> None:
        with torch.no_grad():
            model(tokens)
        torch.cuda.synchronize()
        time.sleep(REQUEST_EVERY_S)
    return serve


WORKLOADS: dict[str, Callable[[Any], Callable[[], None]]] = {
    "gemm": _gemm, "copy": _copy, "conv": _conv, "transformer": _transformer,
    "input-bound": _input_bound, "inference": _inference}


def run(name: str, seconds: float) -> float:
    """Steps per second of workload *name* over *seconds*, after a warm-up."""
    import torch

    step = WORKLOADS[name](torch)
    end = time.monotonic() + WARMUP_S
    while time.monotonic() < end:
        step()
    torch.cuda.synchronize()
    steps, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        for _ in range(5):
            step()
        torch.cuda.synchronize()
        steps += 5
    return steps / (time.monotonic() - start)


def try_alloc(mib: int) -> bool:
    """Whether *mib* MiB can be allocated on the GPU (False when a limit refuses it)."""
    import torch

    try:
        block = torch.empty(mib * 2**20, dtype=torch.uint8, device="cuda")
        torch.cuda.synchronize()
    except RuntimeError:  # torch.OutOfMemoryError, or the MPS client's own refusal
        return False
    del block
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=[*WORKLOADS, "alloc"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mib", type=int, default=0)
    args = parser.parse_args()
    if args.workload == "alloc":
        print(ALLOC_PREFIX, "ok" if try_alloc(args.mib) else "refused", flush=True)
    else:
        print(THROUGHPUT_PREFIX, f"{run(args.workload, args.seconds):.3f}", flush=True)


if __name__ == "__main__":
    main()
