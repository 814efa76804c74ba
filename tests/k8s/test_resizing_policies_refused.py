"""The Kubernetes backend applies no Resize decisions yet, so it refuses policies that make them
(a cycle would otherwise bind pods onto GPUs a shrink was meant to free)."""

from __future__ import annotations

import pytest

from corral.core import Scheduler
from corral.k8s.loop import LiveScheduler
from corral.model import ConfigError
from corral.policies import load_policy


@pytest.mark.parametrize("policy", ["corral-elastic", "pollux", "defrag"])
def test_a_resizing_policy_is_refused_before_anything_runs(policy):
    with pytest.raises(ConfigError, match="resizes running jobs"):
        LiveScheduler(None, Scheduler(load_policy(policy)))  # type: ignore[arg-type]
