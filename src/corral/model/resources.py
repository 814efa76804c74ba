"""Exact GPU quantities.

GPU shares are integer milli-GPUs (1000 = one whole GPU) so that sums of fractions never drift
the way ``0.1 + 0.2`` does in floating point. A task asks either for a share of one GPU
(1..999 milli) or for whole GPUs (a multiple of 1000).
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from corral.model.errors import InvalidSpec

MILLI = 1000
"""Milli-GPUs in one whole GPU."""


def gpus_to_milli(gpus: float | int | str) -> int:
    """Convert a GPU count such as ``0.25``, ``"2"`` or ``8`` to exact milli-GPUs.

    Goes through :class:`~decimal.Decimal` so ``0.1`` becomes exactly 100, and rejects values
    that are negative, not finite, or finer than one milli-GPU.
    """
    try:
        value = Decimal(str(gpus))
    except InvalidOperation as exc:
        raise InvalidSpec(f"GPU count {gpus!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise InvalidSpec(f"GPU count {gpus!r} must be a finite number >= 0")
    milli = value * MILLI
    if milli != milli.to_integral_value():
        raise InvalidSpec(f"GPU count {gpus!r} is finer than one milli-GPU")
    return int(milli)


def check_task_gpu_milli(gpu_milli: int) -> None:
    """Raise unless ``gpu_milli`` is a share of one GPU or a whole number of GPUs."""
    if gpu_milli < 0:
        raise InvalidSpec(f"gpu_milli {gpu_milli} is negative")
    if gpu_milli > MILLI and gpu_milli % MILLI:
        raise InvalidSpec(
            f"{gpu_milli / MILLI:g} GPUs per task: a task takes a share of one GPU (< 1) "
            "or a whole number of GPUs"
        )


def is_finite_nonneg(value: float) -> bool:
    """True for a finite, non-negative number (trace times and durations must be)."""
    return math.isfinite(value) and value >= 0
