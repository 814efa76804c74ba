"""A fractional pod's GPU share, read from its annotations and checked against the node's GPUs.

Every way an annotation can be wrong ends in :class:`ShareRefused`, whose message goes into
the pod's Event and the Allocate error: a bad share must never turn into an unlimited GPU.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from corral import kube_contract as contract
from corral.model import CorralError

MILLI_PER_GPU = 1000

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_BYTES_PER_UNIT = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
                   "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


class ShareRefused(CorralError):
    """A share the agent will not enforce; the message names the annotation and the problem."""


@dataclass(frozen=True)
class GpuShare:
    """What one fractional pod holds: a GPU, milli-GPUs of its compute, MiB of its memory."""

    gpu_index: int
    milli: int
    memory_mib: int

    @property
    def thread_percentage(self) -> int:
        """``CUDA_MPS_ACTIVE_THREAD_PERCENTAGE``: whole percent, rounded up so 1 milli is not 0."""
        return max(1, -(-self.milli // 10))


def read_share(annotations: Mapping[str, str], gpu_memory_mib: Mapping[int, int]) -> GpuShare:
    """The share the scheduler placed, checked against the node's GPUs (index -> memory MiB).

    The placement annotations (index, milli, MiB) are the scheduler's; the user's request
    (fraction, memory) is checked too, so that a request the scheduler should have refused is
    refused here rather than enforced.
    """
    index = _integer(annotations, contract.GPU_INDEX)
    if index not in gpu_memory_mib:
        raise ShareRefused(f"{contract.GPU_INDEX}={index}: this node has no such shareable GPU "
                           f"(GPUs: {', '.join(map(str, sorted(gpu_memory_mib))) or 'none'})")
    total_mib = gpu_memory_mib[index]
    milli = _integer(annotations, contract.GPU_MILLI)
    if not 0 < milli < MILLI_PER_GPU:
        raise ShareRefused(f"{contract.GPU_MILLI}={milli}: a share is 1..999 milli-GPU; "
                           f"ask for {contract.WHOLE_GPU_RESOURCE} for whole GPUs")
    if contract.FRACTION in annotations:
        asked = fraction_milli(annotations[contract.FRACTION])
        if asked != milli:
            raise ShareRefused(f"{contract.FRACTION}={annotations[contract.FRACTION]!r} "
                               f"disagrees with {contract.GPU_MILLI}={milli}")
    if contract.MEMORY in annotations:
        asked_mib = quantity_mib(annotations[contract.MEMORY], contract.MEMORY)
        if asked_mib > total_mib:
            raise ShareRefused(f"{contract.MEMORY}={annotations[contract.MEMORY]!r}: more than "
                               f"the {total_mib} MiB of GPU {index}")
    if contract.GPU_MEMORY_MIB in annotations:
        memory_mib = _integer(annotations, contract.GPU_MEMORY_MIB)
    else:
        memory_mib = total_mib * milli // MILLI_PER_GPU
    if not 0 < memory_mib <= total_mib:
        raise ShareRefused(f"{contract.GPU_MEMORY_MIB}={memory_mib}: expected 1..{total_mib} "
                           f"MiB (the memory of GPU {index})")
    return GpuShare(gpu_index=index, milli=milli, memory_mib=memory_mib)


def fraction_milli(text: str) -> int:
    """``"0.25"`` -> 250; refused unless 0 < f < 1 with at most three decimals."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ShareRefused(f"{contract.FRACTION}={text!r}: not a number") from None
    if not value.is_finite() or not 0 < value < 1:
        raise ShareRefused(f"{contract.FRACTION}={text!r}: a share is above 0 and below 1 "
                           f"GPU; ask for {contract.WHOLE_GPU_RESOURCE} for whole GPUs")
    milli = value * MILLI_PER_GPU
    if milli != milli.to_integral_value():
        raise ShareRefused(f"{contract.FRACTION}={text!r}: at most three decimals (milli-GPU)")
    return int(milli)


def quantity_mib(text: str, name: str) -> int:
    """A Kubernetes memory quantity (``10Gi``, ``512Mi``, ``20G``, bytes) in MiB, rounded up."""
    match = _QUANTITY.match(text.strip())
    if match is None:
        raise ShareRefused(f"{name}={text!r}: not a memory quantity such as 10Gi or 512Mi")
    size = Decimal(match.group(1)) * _BYTES_PER_UNIT[match.group(2)]
    mib = int(-(-size // 2**20))
    if mib <= 0:
        raise ShareRefused(f"{name}={text!r}: must be more than zero")
    return mib


def _integer(annotations: Mapping[str, str], key: str) -> int:
    if key not in annotations:
        raise ShareRefused(f"{key} is missing: the pod was not placed by Corral's scheduler")
    text = annotations[key].strip()
    if not re.fullmatch(r"-?[0-9]+", text):
        raise ShareRefused(f"{key}={annotations[key]!r}: not an integer")
    return int(text)
