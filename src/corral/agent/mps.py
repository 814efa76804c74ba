"""One MPS control daemon per shared GPU, started, watched and restarted by the agent.

Each daemon runs in the foreground (``nvidia-cuda-mps-control -f``) as the agent's child, so its
death is seen at once; it sees only its GPU (``CUDA_VISIBLE_DEVICES=<uuid>``) and has its own
pipe and log directories under the MPS root. Clients reach it through the pipe directory, which
Allocate mounts into their containers, and are limited by the environment Allocate gives them
(:func:`client_env`). A daemon that dies takes its clients' MPS servers with it: :meth:`check`
restarts it and returns the GPUs it restarted, so the agent can tell the affected pods.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from corral.agent.shares import GpuShare
from corral.model import CorralError

CONTROL = "nvidia-cuda-mps-control"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
CONTAINER_PIPE_DIR = "/run/corral/mps/pipe"
"""Where a client container sees its GPU's pipe directory."""


class MpsError(CorralError):
    """An MPS control daemon could not be started: the share is refused rather than unlimited."""


def client_env(share: GpuShare, gpu_uuid: str) -> dict[str, str]:
    """The environment that binds a container to its share of one GPU through MPS.

    Inside the container the GPU is device 0, hence ``0=`` in the memory limit.
    """
    return {
        "NVIDIA_VISIBLE_DEVICES": gpu_uuid,
        "CUDA_MPS_PIPE_DIRECTORY": CONTAINER_PIPE_DIR,
        "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT": f"0={share.memory_mib}M",
        "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": str(share.thread_percentage),
    }


class MpsDaemons:
    """The control daemons of this node's shared GPUs, keyed by GPU index."""

    def __init__(self, root: Path, gpu_uuids: Mapping[int, str], control: str = CONTROL) -> None:
        self.root = root
        self._uuids = dict(gpu_uuids)
        self._control = control
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self.shm_dir = root / "shm"
        """The daemons' /dev/shm, and their clients': the agent's container mounts this host
        directory there, and Allocate mounts it into each client."""

    def pipe_dir(self, index: int) -> Path:
        return self.root / str(index) / "pipe"

    def log_dir(self, index: int) -> Path:
        return self.root / str(index) / "log"

    def running(self, index: int) -> bool:
        proc = self._procs.get(index)
        return proc is not None and proc.poll() is None

    def ensure(self, index: int) -> None:
        """Start GPU *index*'s daemon unless it runs; :class:`MpsError` if it will not start."""
        if self.running(index):
            return
        if index not in self._uuids:
            raise MpsError(f"GPU {index} is not an MPS-shareable GPU of this node")
        pipe, log = self.pipe_dir(index), self.log_dir(index)
        pipe.mkdir(parents=True, exist_ok=True)
        self.shm_dir.mkdir(parents=True, exist_ok=True)
        (pipe / "control").unlink(missing_ok=True)  # left by a daemon that was killed
        log.mkdir(parents=True, exist_ok=True)
        try:
            proc = subprocess.Popen([self._control, "-f"], env=self._env(index),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=(log / "agent-stderr.log").open("ab"))
        except OSError as exc:
            raise MpsError(f"GPU {index}: cannot start {self._control} ({exc.strerror})") from None
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (pipe / "control").exists():  # the daemon's own pipe: it is listening
            if proc.poll() is not None:
                raise MpsError(f"GPU {index}: {self._control} exited with status "
                               f"{proc.returncode}; see {log}")
            if time.monotonic() > deadline:
                proc.kill()
                raise MpsError(f"GPU {index}: {self._control} did not open {pipe / 'control'} "
                               f"within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        self._procs[index] = proc

    def check(self) -> list[int]:
        """Restart every daemon that died; return the GPUs whose daemon was restarted."""
        restarted = []
        for index in sorted(self._procs):
            if not self.running(index):
                del self._procs[index]
                self.ensure(index)
                restarted.append(index)
        return restarted

    def stop(self, index: int) -> None:
        """Ask GPU *index*'s daemon to quit (MPS's own ``quit``), then make sure it has."""
        proc = self._procs.pop(index, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            subprocess.run([self._control], input=b"quit\n", env=self._env(index),
                           timeout=STOP_TIMEOUT_S, capture_output=True, check=False)
            proc.wait(timeout=STOP_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def stop_all(self) -> None:
        for index in list(self._procs):
            self.stop(index)

    def _env(self, index: int) -> dict[str, str]:
        return {**os.environ, "CUDA_VISIBLE_DEVICES": self._uuids[index],
                "CUDA_MPS_PIPE_DIRECTORY": str(self.pipe_dir(index)),
                "CUDA_MPS_LOG_DIRECTORY": str(self.log_dir(index))}
