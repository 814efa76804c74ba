"""Which XID errors withdraw a GPU.

XIDs are the driver's error codes. Most mean the GPU (or its link, memory, firmware) is in
trouble and must not take new work until a person resets it; a few are raised by one faulty
application and say nothing about the GPU. We ignore the same few that NVIDIA's device plugin
ignores (its "application errors"), so the two withdraw the same GPUs.
"""

from __future__ import annotations

APPLICATION_XIDS = frozenset({
    13,   # graphics engine exception: an illegal instruction or address in user code
    31,   # GPU memory page fault: a bad pointer in user code
    43,   # GPU stopped processing: the application was stopped by a fault of its own
    45,   # preemptive clean-up after a process was killed
    68,   # video decoder exception
    109,  # context switch timeout, usually a long-running kernel of one application
})


def withdraws(xid: int) -> bool:
    """Whether XID *xid* means the GPU itself is unhealthy."""
    return xid not in APPLICATION_XIDS
