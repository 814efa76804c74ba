"""What the agent needs from NVML, behind one small interface, and its implementation on
nvidia-ml-py. The tests use :class:`corral.agent.fake_nvml.FakeNvml` instead, which replays
recorded readings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from corral.model import CorralError

MIB = 2**20


@dataclass(frozen=True)
class MigInstance:
    """A MIG instance: advertised as its own device when MIG is on."""

    uuid: str
    profile: str
    memory_mib: int


@dataclass(frozen=True)
class GpuInfo:
    """A physical GPU as the agent advertises it."""

    index: int
    uuid: str
    name: str
    memory_total_mib: int
    mig_instances: tuple[MigInstance, ...] = ()

    @property
    def mig_enabled(self) -> bool:
        return bool(self.mig_instances)


@dataclass(frozen=True)
class GpuSample:
    """One GPU's figures at one instant; ``error`` set when NVML could not read it."""

    index: int
    util_percent: float = 0.0
    memory_used_mib: float = 0.0
    memory_total_mib: float = 0.0
    power_w: float = 0.0
    temperature_c: float = 0.0
    sm_clock_mhz: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class ProcessSample:
    """A compute process on a GPU: its memory, and its SM utilisation where NVML has a sample."""

    gpu_index: int
    pid: int
    memory_used_mib: float
    sm_util_percent: float | None = None


@dataclass(frozen=True)
class NodeReading:
    """Everything read in one tick: per-GPU samples, processes, and XID errors since the last."""

    gpus: tuple[GpuSample, ...]
    processes: tuple[ProcessSample, ...] = ()
    xids: tuple[tuple[int, int], ...] = field(default=())
    """(GPU index, XID) pairs."""


class NvmlFailure(CorralError):
    """NVML itself failed (no driver, library missing): the agent cannot run."""


class Nvml(Protocol):
    """The agent's view of NVML."""

    def driver_version(self) -> str: ...

    def gpus(self) -> list[GpuInfo]: ...

    def read(self) -> NodeReading:
        """The next reading; a GPU that fails to read has ``error`` set instead of raising."""
        ...


class PynvmlBackend:
    """NVML through nvidia-ml-py (``pynvml``); needs the driver's libnvidia-ml.so."""

    def __init__(self) -> None:
        try:
            import pynvml
        except ImportError as exc:  # the package is a dependency; this is a broken install
            raise NvmlFailure(f"nvidia-ml-py is not installed ({exc})") from None
        self._nv: Any = pynvml
        try:
            pynvml.nvmlInit()
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i)
                             for i in range(pynvml.nvmlDeviceGetCount())]
        except pynvml.NVMLError as exc:
            raise NvmlFailure(f"NVML: {exc}") from None
        self._last_seen = [0] * len(self._handles)
        self._events = self._xid_event_set()

    def driver_version(self) -> str:
        return _text(self._nv.nvmlSystemGetDriverVersion())

    def gpus(self) -> list[GpuInfo]:
        nv = self._nv
        return [GpuInfo(index=i, uuid=_text(nv.nvmlDeviceGetUUID(h)),
                        name=_text(nv.nvmlDeviceGetName(h)),
                        memory_total_mib=nv.nvmlDeviceGetMemoryInfo(h).total // MIB,
                        mig_instances=self._mig_instances(h))
                for i, h in enumerate(self._handles)]

    def read(self) -> NodeReading:
        samples, processes = [], []
        for index, handle in enumerate(self._handles):
            try:
                samples.append(self._sample(index, handle))
                processes.extend(self._processes(index, handle))
            except self._nv.NVMLError as exc:
                samples.append(GpuSample(index=index, error=f"NVML: {exc}"))
        return NodeReading(tuple(samples), tuple(processes), tuple(self._xids()))

    def _sample(self, index: int, handle: Any) -> GpuSample:
        nv = self._nv
        memory = nv.nvmlDeviceGetMemoryInfo(handle)
        return GpuSample(
            index=index,
            util_percent=float(nv.nvmlDeviceGetUtilizationRates(handle).gpu),
            memory_used_mib=memory.used / MIB,
            memory_total_mib=memory.total / MIB,
            power_w=nv.nvmlDeviceGetPowerUsage(handle) / 1000,
            temperature_c=float(nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU)),
            sm_clock_mhz=float(nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_SM)),
        )

    def _processes(self, index: int, handle: Any) -> list[ProcessSample]:
        nv = self._nv
        sm_util: dict[int, float] = {}
        try:
            for sample in nv.nvmlDeviceGetProcessUtilization(handle, self._last_seen[index]):
                sm_util[sample.pid] = float(sample.smUtil)
                self._last_seen[index] = max(self._last_seen[index], sample.timeStamp)
        except nv.NVMLError_NotFound:  # no process ran since the last sample
            pass
        return [ProcessSample(gpu_index=index, pid=proc.pid,
                              memory_used_mib=(proc.usedGpuMemory or 0) / MIB,
                              sm_util_percent=sm_util.get(proc.pid))
                for proc in nv.nvmlDeviceGetComputeRunningProcesses(handle)]

    def _mig_instances(self, handle: Any) -> tuple[MigInstance, ...]:
        nv = self._nv
        try:
            current, _pending = nv.nvmlDeviceGetMigMode(handle)
        except nv.NVMLError_NotSupported:
            return ()
        if current != nv.NVML_DEVICE_MIG_ENABLE:
            return ()
        instances = []
        for slot in range(nv.nvmlDeviceGetMaxMigDeviceCount(handle)):
            try:
                mig = nv.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
            except nv.NVMLError_NotFound:
                continue
            # MIG device names end in the profile: "NVIDIA A100-SXM4-40GB MIG 1g.5gb".
            profile = _text(nv.nvmlDeviceGetName(mig)).rsplit("MIG ", 1)[-1].strip()
            instances.append(MigInstance(uuid=_text(nv.nvmlDeviceGetUUID(mig)), profile=profile,
                                         memory_mib=nv.nvmlDeviceGetMemoryInfo(mig).total // MIB))
        return tuple(instances)

    def _xid_event_set(self) -> Any:
        nv = self._nv
        events = nv.nvmlEventSetCreate()
        for handle in self._handles:
            try:
                nv.nvmlDeviceRegisterEvents(handle, nv.nvmlEventTypeXidCriticalError, events)
            except nv.NVMLError_NotSupported:  # e.g. some consumer boards: health from reads
                continue
        return events

    def _xids(self) -> list[tuple[int, int]]:
        nv = self._nv
        found = []
        while True:
            try:
                event = nv.nvmlEventSetWait_v2(self._events, 0)
            except nv.NVMLError_Timeout:
                return found
            found.append((nv.nvmlDeviceGetIndex(event.device), int(event.eventData)))


def _text(value: str | bytes) -> str:
    """Older nvidia-ml-py releases return bytes."""
    return value.decode() if isinstance(value, bytes) else value
