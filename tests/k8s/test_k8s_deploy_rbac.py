"""The shipped RBAC allows every call the scheduler makes (recorded by the API emulator)."""

from __future__ import annotations

from pathlib import Path

import yaml
from k8s_builders import bound_to, emulated, full_node_of_low_priority_gang, live, pod, run, until

from corral.k8s import conventions as names

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "scheduler"


def _allowed() -> set[tuple[str, str, str]]:
    allowed = set()
    for doc in yaml.safe_load_all((DEPLOY / "rbac.yaml").read_text(encoding="utf-8")):
        for rule in (doc or {}).get("rules") or ():
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    allowed.update((group, resource, verb) for verb in rule["verbs"])
    return allowed


def _rules_text(path: Path) -> list[str]:
    """The ``rules:`` blocks of a manifest, as text (the chart's is templated, not YAML)."""
    text = path.read_text(encoding="utf-8")
    return [part.split("rules:", 1)[1].split("---", 1)[0].strip()
            for part in text.split("kind: ")[1:] if "rules:" in part]


def test_every_call_of_a_busy_scheduler_is_allowed_by_its_cluster_role() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            full_node_of_low_priority_gang(emu)
            emu.create(pod("nowhere", 1, spec={"nodeSelector": {"zone": "x"}}))
            async with live(emu, leader_elect=True, lease_namespace="kube-system") as scheduler:
                await until(lambda: len(bound_to(emu)) == 2)
                emu.create(pod("high", 8, priority=100))
                await until(lambda: bound_to(emu).get("default/high") == "n0")
                await until(lambda: scheduler.conditions.written >= 1)
                await scheduler.settle()
            calls = emu.calls
            assert ("", "pods/status", "patch") in calls and ("", "pods/eviction", "create") in \
                calls and ("scheduling.x-k8s.io", "podgroups/status", "patch") in calls
            assert any(c[1] == "leases" for c in calls)
            assert calls - _allowed() == set()
            pending = emu.get("pods", "nowhere", "default")
            assert pending["status"]["conditions"][0]["type"] == names.POD_SCHEDULED
    run(scenario)


def test_the_helm_chart_grants_the_same_rules() -> None:
    assert _rules_text(DEPLOY / "chart" / "templates" / "rbac.yaml") == \
        _rules_text(DEPLOY / "rbac.yaml")
