"""Process -> container -> pod, from the process's cgroup path.

NVML reports the host pids of the processes on a GPU (the agent runs with the host's pid
namespace); the kubelet puts each container in a cgroup whose path names the pod UID and the
container id, in one of two layouts::

    cgroupfs:  /kubepods/burstable/pod6a1e2f1c-.../0f3c...          (v1 lines: "12:memory:/...")
    systemd:   /kubepods.slice/kubepods-burstable.slice/
               kubepods-burstable-pod6a1e2f1c_..._.slice/cri-containerd-0f3c....scope

The container id then names the container through the pod's status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_POD = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")
_CONTAINER = re.compile(r"(?:^|[-/])([0-9a-f]{64})(?:\.scope)?$")


@dataclass(frozen=True)
class ContainerRef:
    """Where a process runs: the pod's UID and the container's runtime id."""

    pod_uid: str
    container_id: str


def container_of(pid: int, proc_root: Path = Path("/proc")) -> ContainerRef | None:
    """The container of host process *pid*, or None (not in a pod, gone, unreadable)."""
    try:
        text = (proc_root / str(pid) / "cgroup").read_text(encoding="utf-8")
    except OSError:
        return None
    return parse_cgroup(text)


def parse_cgroup(text: str) -> ContainerRef | None:
    """The pod and container named in the lines of a ``/proc/PID/cgroup`` file."""
    for line in text.splitlines():
        path = line.split(":", 2)[-1].strip()
        pod = _POD.search(path)
        container = _CONTAINER.search(path)
        if pod and container:
            return ContainerRef(pod_uid=pod.group(1).replace("_", "-"),
                                container_id=container.group(1))
    return None
