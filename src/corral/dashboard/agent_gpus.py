"""Each GPU's measured utilisation and health, from the node agents' Prometheus endpoints
(:mod:`corral.agent.metrics`: ``DCGM_FI_DEV_GPU_UTIL`` and ``corral_gpu_healthy`` per GPU,
labelled with its index and node), for the nodes page live.

An endpoint that does not answer, or answers something else, leaves its nodes' GPUs unmeasured
rather than failing the page: the allocation still shows, and a log line says which URL.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from corral.agent.metrics import GPU_METRICS
from corral.model import ConfigError

log = logging.getLogger(__name__)
FETCH_TIMEOUT_S = 5.0
MAX_BYTES = 16 * 2**20
_NAMES = {attribute: name for name, _, attribute in GPU_METRICS}
UTIL, HEALTHY = _NAMES["util_percent"], _NAMES["healthy"]


@dataclass
class NodeGpus:
    """What a node's agent measured: utilisation (0-1) by GPU index, and the GPUs withdrawn."""

    utilisation: dict[int, float] = field(default_factory=dict)
    unhealthy: set[int] = field(default_factory=set)


def parse(text: str) -> dict[str, NodeGpus]:
    """Per node (the ``Hostname`` label), from one agent's metrics text; ValueError if it is
    not the Prometheus text format."""
    found: dict[str, NodeGpus] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in (UTIL, HEALTHY):
            continue
        for sample in family.samples:
            node, index = sample.labels.get("Hostname", ""), sample.labels.get("gpu", "")
            if not node or not index.isdigit():
                continue
            gpus = found.setdefault(node, NodeGpus())
            if family.name == UTIL:
                gpus.utilisation[int(index)] = min(1.0, max(0.0, sample.value / 100))
            elif sample.value == 0:
                gpus.unhealthy.add(int(index))
    return found


class AgentGpus:
    """The agents at *urls* (each a ``/metrics`` URL), read at every call."""

    def __init__(self, urls: Sequence[str]) -> None:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"agent metrics URL {url!r}: must start with http:// or "
                                 "https://")
        self.urls = list(urls)

    async def read(self) -> dict[str, NodeGpus]:
        merged: dict[str, NodeGpus] = {}
        for answer in await asyncio.gather(*(asyncio.to_thread(_fetch, url)
                                             for url in self.urls)):
            merged.update(answer)
        return merged


def _fetch(url: str) -> dict[str, NodeGpus]:
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as answer:
            return parse(answer.read(MAX_BYTES).decode("utf-8", errors="replace"))
    except (OSError, ValueError) as exc:
        log.warning("agent metrics %s unreadable: %s", url, exc)
        return {}
