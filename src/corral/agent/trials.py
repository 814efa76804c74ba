"""Trial runs: run a job briefly under several configurations and measure its throughput.

A configuration is a GPU count, an optional GPU type (the node must have it) and a compute
share of each GPU (below 1: a fractional GPU under MPS). The workload reports its throughput on
stdout in Corral's one-line protocol, the one the reference workloads print::

    corral-throughput: <number> [<unit>]        e.g. "corral-throughput: 412.7 samples/s"

(the unit defaults to ``steps/s``; the last such line wins, as later ones are past warm-up).
A workload that prints none is measured by the GPU utilisation sampled meanwhile (unit
``gpu_util``, 0-1 of the GPUs it held): a weaker proxy, kept apart in the table by its unit.

Results go to the history store's ``trial_runs`` table; :func:`throughput_rows` turns them into
the throughput table (job class x GPU type -> relative speed) that the HeterogeneityAware score
and the simulator read. This module runs trials as local processes (``corral trial run``);
:mod:`corral.agent.trial_controller` runs them as pods for the ``TrialRun`` resource.
"""

from __future__ import annotations

import math
import os
import re
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral.measured import ThroughputRow
from corral.model import ConfigError, CorralError

PROTOCOL_PREFIX = "corral-throughput:"
DEFAULT_UNIT = "steps/s"
UTIL_UNIT = "gpu_util"
SECONDS_ENV = "CORRAL_TRIAL_SECONDS"
"""Tells the workload how long the trial lasts, so it can report before it is stopped."""
STOP_GRACE_S = 10.0
SAMPLE_EVERY_S = 1.0
_LINE = re.compile(r"^\s*corral-throughput:\s*(\S+)(?:\s+(\S+))?\s*$")

UtilSampler = Callable[[Sequence[int]], float | None]
"""Mean utilisation (0-1) of the given GPU indices now, or None if unreadable."""


class TrialError(CorralError):
    """A trial could not be run or measured; the message names the configuration."""


@dataclass(frozen=True)
class TrialConfig:
    """One configuration to try: ``gpus`` GPUs (whole, or one at ``share``), on ``gpu_type``
    ("" = the node's own)."""

    gpus: int = 1
    share: float = 1.0
    gpu_type: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 1:
            raise ConfigError(f"trial configuration {self.text()}: gpus must be a whole "
                              f"number >= 1, got {self.gpus!r}")
        if isinstance(self.share, bool) or not isinstance(self.share, int | float) \
                or not 0 < self.share <= 1 or round(self.share * 1000) != self.share * 1000:
            raise ConfigError(f"trial configuration {self.text()}: share must be in (0, 1] "
                              f"with at most 3 decimals, got {self.share!r}")
        if self.share < 1 and self.gpus != 1:
            raise ConfigError(f"trial configuration {self.text()}: a share below 1 is of one "
                              f"GPU, so gpus must be 1")

    def text(self) -> str:
        parts = [f"gpus={self.gpus}"]
        if self.share != 1:
            parts.append(f"share={self.share:g}")
        if self.gpu_type:
            parts.append(f"type={self.gpu_type}")
        return ",".join(parts)


_KEYS = {"gpus": "gpus", "share": "share", "type": "gpu_type", "gputype": "gpu_type",
         "gpu_type": "gpu_type"}


def parse_config(text: str) -> TrialConfig:
    """``gpus=2``, ``gpus=1,share=0.5``, ``gpus=1,type=A100`` -> a :class:`TrialConfig`."""
    values: dict[str, Any] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        field = _KEYS.get(key.strip().lower())
        if not sep or field is None or not value.strip():
            raise ConfigError(f"trial configuration {text!r}: {part.strip()!r} is not one of "
                              "gpus=N, share=F, type=NAME")
        values[field] = value.strip()
    try:
        if "gpus" in values:
            values["gpus"] = int(values["gpus"])
        if "share" in values:
            values["share"] = float(values["share"])
    except ValueError:
        raise ConfigError(f"trial configuration {text!r}: gpus must be a whole number and "
                          "share a number") from None
    return TrialConfig(**values)


def config_from_mapping(raw: Mapping[str, Any], where: str) -> TrialConfig:
    """A configuration from a TrialRun's spec (``gpus``, ``share``, ``gpuType``)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a mapping with gpus, share and gpuType")
    unknown = set(raw) - {"gpus", "share", "gpuType"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; known: gpus, share, "
                          "gpuType")
    gpu_type = raw.get("gpuType", "")
    if not isinstance(gpu_type, str):
        raise ConfigError(f"{where}: gpuType must be a string")
    try:
        return TrialConfig(gpus=raw.get("gpus", 1), share=raw.get("share", 1.0),
                           gpu_type=gpu_type)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_throughput(lines: Iterable[str]) -> tuple[float, str] | None:
    """The last protocol line's (value, unit) in *lines*, or None if there is none.

    A line that starts with the prefix but is malformed is an error rather than ignored: a
    workload that tried to report must be told its report was not understood.
    """
    found = None
    for line in lines:
        if PROTOCOL_PREFIX not in line:
            continue
        match = _LINE.match(line)
        value = _positive(match.group(1)) if match else None
        if value is None:
            raise TrialError(f"malformed throughput line {line.strip()!r}; expected "
                             f"'{PROTOCOL_PREFIX} <number > 0> [unit]'")
        found = (value, match.group(2) or DEFAULT_UNIT)  # type: ignore[union-attr]
    return found


def _positive(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


@dataclass(frozen=True)
class TrialResult:
    """One configuration's measurement, as stored in ``trial_runs``."""

    job_key: str
    gpu_type: str
    gpus: int
    share: float
    throughput: float
    unit: str
    measured_at: float
    source: str

    def row(self) -> dict[str, Any]:
        return {"job_key": self.job_key, "gpu_type": self.gpu_type, "gpus": self.gpus,
                "share": self.share, "throughput": self.throughput, "unit": self.unit,
                "measured_at": self.measured_at, "source": self.source}


def measurement(stdout_lines: Sequence[str], util: float | None,
                what: str) -> tuple[float, str]:
    """The throughput the workload reported, else the GPU utilisation, else an error."""
    reported = parse_throughput(stdout_lines)
    if reported is not None:
        return reported
    if util is not None and util > 0:
        return util, UTIL_UNIT
    raise TrialError(f"{what}: no '{PROTOCOL_PREFIX}' line on stdout and no GPU utilisation "
                     "measured")


# -- local trials -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalNode:
    """What a local trial may use: the GPU indices, their type, and the MPS pipe directory of
    GPU ``gpu_indices[0]``'s control daemon (needed for shares below 1)."""

    gpu_indices: tuple[int, ...]
    gpu_type: str
    mps_pipe_dir: str = ""


def trial_env(config: TrialConfig, node: LocalNode, seconds: float) -> dict[str, str]:
    """The environment a local trial's process gets for *config* on *node*."""
    if config.gpu_type and config.gpu_type != node.gpu_type:
        raise TrialError(f"configuration {config.text()}: this node's GPUs are "
                         f"{node.gpu_type!r}, not {config.gpu_type!r}")
    if config.gpus > len(node.gpu_indices):
        raise TrialError(f"configuration {config.text()}: this node has "
                         f"{len(node.gpu_indices)} GPU(s) to try on")
    env = {"CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in node.gpu_indices[:config.gpus]),
           SECONDS_ENV: f"{seconds:g}"}
    if config.share < 1:
        if not node.mps_pipe_dir:
            raise TrialError(f"configuration {config.text()}: a share below 1 needs an MPS "
                             "control daemon (give its pipe directory)")
        env["CUDA_MPS_PIPE_DIRECTORY"] = node.mps_pipe_dir
        env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = str(math.ceil(config.share * 100))
    return env


def run_local(command: Sequence[str], config: TrialConfig, node: LocalNode, seconds: float,
              job_key: str, sample_util: UtilSampler | None = None,
              clock: Callable[[], float] = time.time) -> TrialResult:
    """Run *command* under *config* for at most *seconds* (it may end sooner) and measure it."""
    if not command:
        raise ConfigError("a trial needs a command to run")
    if not seconds > 0:
        raise ConfigError(f"trial seconds must be > 0, got {seconds}")
    env = trial_env(config, node, seconds)
    try:
        proc = subprocess.Popen(list(command), env={**os.environ, **env},
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                start_new_session=True)
    except OSError as exc:
        raise TrialError(f"configuration {config.text()}: cannot run {command[0]!r} "
                         f"({exc.strerror or exc})") from None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    samples: list[float] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if sample_util is not None:
            value = sample_util(node.gpu_indices[:config.gpus])
            if value is not None:
                samples.append(value)
        try:
            proc.wait(min(SAMPLE_EVERY_S, left))
            break  # it ended by itself
        except subprocess.TimeoutExpired:
            continue
    _stop(proc)
    reader.join(STOP_GRACE_S)
    throughput, unit = measurement(lines, statistics.fmean(samples) if samples else None,
                                   f"configuration {config.text()}")
    return TrialResult(job_key, node.gpu_type, config.gpus, config.share, throughput, unit,
                       clock(), "local")


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to the trial's process group, SIGKILL after a grace period."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


# -- the throughput table ---------------------------------------------------------------------
def throughput_rows(results: Iterable[Mapping[str, Any]],
                    reference: str = "") -> list[ThroughputRow]:
    """Stored trial results -> throughput-table rows (job class x GPU type -> relative speed).

    Throughput is taken per GPU's worth of compute (divided by gpus x share), averaged over
    each job's trials on a type, and made relative per job: to its speed on *reference*
    where given (jobs not tried there are left out), else to its slowest type. Each job key is
    a job class. Results in the ``gpu_util`` unit are used only for jobs with no reported
    throughput, and never mixed with it: a utilisation is not a speed of the same scale.
    """
    grouped: dict[str, dict[str, list[tuple[float, str]]]] = {}
    for row in results:
        per_gpu = row["throughput"] / (row["gpus"] * row["share"])
        grouped.setdefault(row["job_key"], {}).setdefault(row["gpu_type"], []).append(
            (per_gpu, row["unit"]))
    out = []
    for job_key in sorted(grouped):
        by_type = grouped[job_key]
        units = {u for values in by_type.values() for _, u in values}
        unit = next(iter(sorted(units - {UTIL_UNIT})), UTIL_UNIT)
        means = {t: (statistics.fmean(v for v, u in values if u == unit),
                     sum(1 for _, u in values if u == unit))
                 for t, values in by_type.items() if any(u == unit for _, u in values)}
        if len(units - {UTIL_UNIT}) > 1:
            raise ConfigError(f"trials of {job_key!r} report different units "
                              f"({', '.join(sorted(units - {UTIL_UNIT}))}): one job, one unit")
        if reference:
            if reference not in means:
                continue
            base = means[reference][0]
        else:
            base = min(value for value, _ in means.values())
        out += [ThroughputRow(job_key, gpu_type, value / base, value, unit, count)
                for gpu_type, (value, count) in sorted(means.items())]
    return out
