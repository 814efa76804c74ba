"""The agent's TrialRun controller: trial runs of a pod template, as pods on this node.

A ``TrialRun`` (``corral.dev/v1alpha1``, deploy/agent/trialrun-crd.yaml) names a node, a pod
template, the configurations to try and how long each runs::

    spec:
      job: team-a/bert          # the key results are stored under (the job class)
      nodeName: gpu-node-1
      seconds: 120
      template: {metadata: {...}, spec: {containers: [...]}}
      configurations: [{gpus: 1}, {gpus: 1, share: 0.5}, {gpus: 2, gpuType: NVIDIA H200}]

The agent of that node runs the configurations one at a time (two at once would interfere,
which is what the trial must not measure): it creates a pod from the template, bound to the
node, asking for the configuration's GPUs (``nvidia.com/gpu``) or share (``corral.dev/gpu-share``
with Corral's placement annotations, so the agent's own Allocate enforces it through MPS); once
the pod has run ``seconds`` (or ended), it reads the pod's log for the throughput line
(:mod:`corral.agent.trials`), falls back to the GPU utilisation the agent measured for the pod,
deletes the pod, and writes the result to the TrialRun's status and to the history store.

The controller keeps no state of its own: each tick derives the next step from the TrialRun's
status and the trial pod that exists, so a restarted agent carries on where it stopped.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral import kube_contract as contract
from corral.agent.kube import KubeError, PodInfo, TrialKubeApi, TrialRunInfo
from corral.agent.trials import (
    SECONDS_ENV,
    TrialConfig,
    TrialError,
    TrialResult,
    config_from_mapping,
    measurement,
)
from corral.model import ConfigError

log = logging.getLogger(__name__)

TRIAL_LABEL = f"{contract.GROUP}/trial"
"""On trial pods: the TrialRun's name (also how the pods are found and told apart)."""
START_TIMEOUT_S = 600.0
"""A trial pod that has not started this long after its creation fails its configuration."""
LOG_LINES = 200
DEFAULT_SECONDS = 60.0
PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
_NAME_OK = re.compile(r"[^a-z0-9-]")


@dataclass(frozen=True)
class TrialSpec:
    """A TrialRun's spec, checked."""

    job: str
    node: str
    seconds: float
    template: Mapping[str, Any]
    configurations: tuple[TrialConfig, ...]


def parse_spec(trial: TrialRunInfo) -> TrialSpec:
    """The checked spec of *trial*, or a ConfigError naming the field at fault."""
    spec = trial.spec
    where = f"TrialRun {trial.namespace}/{trial.name}: spec"
    job = spec.get("job") or f"{trial.namespace}/{trial.name}"
    if not isinstance(job, str):
        raise ConfigError(f"{where}.job must be a string")
    seconds = spec.get("seconds", DEFAULT_SECONDS)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise ConfigError(f"{where}.seconds must be a number > 0, got {seconds!r}")
    raw = spec.get("configurations")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}.configurations must be a non-empty list")
    configs = tuple(config_from_mapping(c, f"{where}.configurations[{i}]")
                    for i, c in enumerate(raw))
    template = pod_template_from(spec.get("template"), f"{where}.template")
    return TrialSpec(job, str(spec.get("nodeName", "")), float(seconds), template, configs)


def pod_template_from(document: Any, where: str) -> dict[str, Any]:
    """``{metadata, spec}`` of a pod from a Pod, a PodTemplate(Spec), or a workload that holds
    one (Job, Deployment...: ``spec.template``)."""
    if not isinstance(document, Mapping):
        raise ConfigError(f"{where}: expected a pod template (a mapping with spec.containers)")
    if document.get("kind") == "PodTemplate":
        document = document.get("template") or {}
    spec = document.get("spec")
    if isinstance(spec, Mapping) and isinstance(spec.get("template"), Mapping) \
            and "containers" not in spec:
        document = spec["template"]
        spec = document.get("spec")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("containers"), list) \
            or not spec["containers"] \
            or not all(isinstance(c, Mapping) and c.get("name") for c in spec["containers"]):
        raise ConfigError(f"{where}: no spec.containers (a list of named containers) found")
    metadata = document.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise ConfigError(f"{where}: metadata must be a mapping")
    return {"metadata": {k: copy.deepcopy(metadata[k]) for k in ("labels", "annotations")
                         if k in metadata},
            "spec": copy.deepcopy(dict(spec))}


def pod_name(trial: TrialRunInfo, index: int) -> str:
    """``<trial>-trial-<index>``, within the 63 characters a pod's name may have."""
    suffix = f"-trial-{index}"
    base = _NAME_OK.sub("-", trial.name.lower())[: 63 - len(suffix)].strip("-") or "trialrun"
    return base + suffix


def trial_pod(trial: TrialRunInfo, spec: TrialSpec, index: int, node: str,
              gpu_index: int) -> dict[str, Any]:
    """The pod manifest of configuration *index*: the template, bound to *node*, never
    restarted, its first container asking for exactly the configuration's GPUs or share."""
    config = spec.configurations[index]
    template = copy.deepcopy(dict(spec.template))
    pod_spec = template["spec"]
    metadata = template["metadata"]
    labels = {**metadata.get("labels", {}), TRIAL_LABEL: trial.name,
              contract.JOB_LABELS[0]: _label_value(spec.job)}
    annotations = dict(metadata.get("annotations", {}))
    for key in (contract.FRACTION, contract.MEMORY, contract.GPU_INDEX, contract.GPU_MILLI,
                contract.GPU_MEMORY_MIB, contract.ASSIGNED_NODE):
        annotations.pop(key, None)  # the configuration decides, not the template
    pod_spec["nodeName"] = node
    pod_spec["restartPolicy"] = "Never"
    pod_spec.pop("schedulerName", None)  # bound here: no scheduler takes part
    for container in pod_spec["containers"]:
        limits = container.setdefault("resources", {}).setdefault("limits", {})
        for name in list(limits):
            if name in (contract.WHOLE_GPU_RESOURCE, contract.SHARE_RESOURCE) \
                    or name.startswith(contract.MIG_RESOURCE_PREFIX):
                del limits[name]
        container["resources"].get("requests", {}).pop(contract.WHOLE_GPU_RESOURCE, None)
    first = pod_spec["containers"][0]
    if config.share < 1:
        milli = round(config.share * 1000)
        first["resources"]["limits"][contract.SHARE_RESOURCE] = "1"
        annotations.update({contract.FRACTION: f"{config.share:g}",
                            contract.GPU_INDEX: str(gpu_index), contract.GPU_MILLI: str(milli),
                            contract.ASSIGNED_NODE: node})
    else:
        first["resources"]["limits"][contract.WHOLE_GPU_RESOURCE] = str(config.gpus)
    env = [e for e in first.get("env", []) if e.get("name") != SECONDS_ENV]
    first["env"] = [*env, {"name": SECONDS_ENV, "value": f"{spec.seconds:g}"}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod_name(trial, index), "namespace": trial.namespace,
                         "labels": labels, "annotations": annotations,
                         "ownerReferences": [{
                             "apiVersion": f"{contract.GROUP}/v1alpha1", "kind": "TrialRun",
                             "name": trial.name, "uid": trial.uid, "controller": True}]},
            "spec": pod_spec}


def _label_value(text: str) -> str:
    """A label value (63 characters of [A-Za-z0-9._-], alphanumeric at both ends)."""
    value = re.sub(r"[^A-Za-z0-9._-]", "_", text)[:63]
    return value.strip("._-")


class TrialController:
    """Runs the TrialRuns that target this node (see the module docstring)."""

    def __init__(self, kube: TrialKubeApi, node: str, gpu_types: Sequence[str],
                 store: Any = None, utilisation: Callable[[str], float | None] | None = None,
                 clock: Callable[[], float] = time.time, gpu_index: int = 0) -> None:
        """*gpu_types*: the node's GPU models (by index); *store*: a history store (None: the
        results are only written to the status); *utilisation*: a pod UID's mean GPU
        utilisation so far (the agent's profiles), for workloads that print no throughput;
        *gpu_index*: the GPU fractional configurations run on."""
        self._kube = kube
        self._node = node
        self._gpu_types = tuple(gpu_types)
        self._store = store
        self._utilisation = utilisation
        self._clock = clock
        self._gpu_index = gpu_index

    def tick(self) -> None:
        """Advance the oldest unfinished TrialRun on this node by one step at most."""
        trials = sorted((t for t in self._kube.trial_runs(self._node)
                         if t.status.get("phase") not in (SUCCEEDED, FAILED)),
                        key=lambda t: (t.created, t.namespace, t.name))
        if trials:
            self._advance(trials[0])

    # -- steps --------------------------------------------------------------------------------
    def _advance(self, trial: TrialRunInfo) -> None:
        try:
            spec = parse_spec(trial)
        except ConfigError as exc:
            self._kube.patch_trial_status(trial, {"phase": FAILED, "message": str(exc)})
            return
        results = list(trial.status.get("results") or [])
        index = len(results)
        if index >= len(spec.configurations):
            self._finish(trial, results)
            return
        config = spec.configurations[index]
        pod = self._kube.get_pod(trial.namespace, pod_name(trial, index))
        if pod is None:
            problem = self._unfit(config)
            if problem:
                self._record(trial, spec, results, index, error=problem)
                return
            pod = self._kube.create_pod(trial.namespace, trial_pod(
                trial, spec, index, self._node, self._gpu_index))
            self._kube.patch_trial_status(trial, {
                "phase": RUNNING, "results": results,
                "message": f"configuration {index} ({config.text()}): pod {pod.name} created"})
            return
        now = self._clock()
        if pod.started is None and not pod.finished:
            if now - pod.created > START_TIMEOUT_S:
                self._kube.delete_pod(pod)
                self._record(trial, spec, results, index,
                             error=f"pod {pod.name} did not start in {START_TIMEOUT_S:.0f} s")
            return
        started = pod.started if pod.started is not None else now
        if not pod.finished and now - started < spec.seconds:
            return
        self._measure(trial, spec, results, index, pod)

    def _unfit(self, config: TrialConfig) -> str:
        """Why this node cannot run *config* ("" if it can)."""
        if config.gpus > len(self._gpu_types):
            return f"{config.text()}: node {self._node} has {len(self._gpu_types)} GPU(s)"
        if config.gpu_type and config.gpu_type not in self._gpu_types:
            return (f"{config.text()}: node {self._node} has "
                    f"{', '.join(sorted(set(self._gpu_types)))}, not {config.gpu_type}")
        return ""

    def _measure(self, trial: TrialRunInfo, spec: TrialSpec, results: list[dict[str, Any]],
                 index: int, pod: PodInfo) -> None:
        try:
            text = self._kube.pod_logs(pod, LOG_LINES)
        except KubeError as exc:
            text, log_error = "", str(exc)
        else:
            log_error = ""
        util = self._utilisation(pod.uid) if self._utilisation is not None else None
        self._kube.delete_pod(pod)
        try:
            throughput, unit = measurement(text.splitlines(), util, f"pod {pod.name}")
        except TrialError as exc:
            error = f"{exc}{'; ' + log_error if log_error else ''}"
            self._record(trial, spec, results, index, error=error, pod=pod.name)
            return
        self._record(trial, spec, results, index, pod=pod.name,
                     measured=(throughput, unit))

    def _record(self, trial: TrialRunInfo, spec: TrialSpec, results: list[dict[str, Any]],
                index: int, *, error: str = "", pod: str = "",
                measured: tuple[float, str] | None = None) -> None:
        config = spec.configurations[index]
        gpu_type = config.gpu_type or (self._gpu_types[0] if self._gpu_types else "")
        entry: dict[str, Any] = {"configuration": index, "gpus": config.gpus,
                                 "share": config.share, "gpuType": gpu_type, "pod": pod}
        if measured is not None:
            entry.update(throughput=measured[0], unit=measured[1])
            if self._store is not None:
                self._store.add_trials([TrialResult(
                    spec.job, gpu_type, config.gpus, config.share, measured[0], measured[1],
                    self._clock(), f"trialrun/{trial.namespace}/{trial.name}").row()])
        else:
            entry["error"] = error
            log.warning("TrialRun %s/%s configuration %d failed: %s", trial.namespace,
                        trial.name, index, error)
        results = [*results, entry]
        if len(results) == len(spec.configurations):
            self._finish(trial, results)
        else:
            self._kube.patch_trial_status(trial, {
                "phase": RUNNING, "results": results,
                "message": f"configuration {index} done ({config.text()})"})

    def _finish(self, trial: TrialRunInfo, results: list[dict[str, Any]]) -> None:
        measured = sum(1 for r in results if "throughput" in r)
        self._kube.patch_trial_status(trial, {
            "phase": SUCCEEDED if measured else FAILED, "results": results,
            "message": f"{measured} of {len(results)} configurations measured"})
