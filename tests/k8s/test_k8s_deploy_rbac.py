"""The shipped RBAC allows every call the scheduler makes (recorded by the API emulator), and
nothing it does not need: above all, not other components' Leases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from k8s_builders import bound_to, emulated, full_node_of_low_priority_gang, live, pod, run, until

from corral.k8s import conventions as names

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "scheduler"
LEASES = ("coordination.k8s.io", "leases")
OTHER_LEASES = ("kube-scheduler", "kube-controller-manager", "cloud-controller-manager")


def _documents(path: Path) -> list[dict[str, Any]]:
    """A manifest's objects; the chart's templates are rendered with the chart's defaults
    (the release namespace as kube-system, every ``if`` taken)."""
    text = path.read_text(encoding="utf-8").replace("{{ .Release.Namespace }}", "kube-system")
    text = "\n".join(line for line in text.splitlines()
                     if not re.fullmatch(r"\s*\{\{-? (if|end)\b.*\}\}\s*", line))
    assert "{{" not in text, f"{path.name}: a template the test cannot render"
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _roles(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The rules of every Role and ClusterRole, by kind and name."""
    return {f"{doc['kind']}/{doc['metadata']['name']}": doc["rules"] for doc in _documents(path)
            if doc["kind"] in ("Role", "ClusterRole")}


def _scheduler_rules(path: Path) -> list[dict[str, Any]]:
    """The rules bound to the scheduler's ServiceAccount."""
    docs = _documents(path)
    bound = {doc["roleRef"]["name"] for doc in docs
             if doc["kind"] in ("RoleBinding", "ClusterRoleBinding")
             and any(s.get("name") == "corral-scheduler" for s in doc["subjects"])}
    return [rule for doc in docs if doc["kind"] in ("Role", "ClusterRole")
            and doc["metadata"]["name"] in bound for rule in doc["rules"]]


def _allows(rules: list[dict[str, Any]], group: str, resource: str, verb: str,
            name: str | None = None) -> bool:
    """RBAC's answer: some rule names the group, resource and verb, and either names no
    objects or names this one (a request without a name, such as create or list, matches
    only rules that name no objects)."""
    for rule in rules:
        if group not in rule.get("apiGroups", ()) or resource not in rule.get("resources", ()):
            continue
        if verb not in rule["verbs"] and "*" not in rule["verbs"]:
            continue
        named = rule.get("resourceNames")
        if not named or (name is not None and name in named):
            return True
    return False


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
            rules = _scheduler_rules(DEPLOY / "rbac.yaml")
            # The Lease is the only object the scheduler reads or writes by name alone.
            refused = {c for c in calls if not _allows(rules, *c, name=names.LEASE_NAME
                                                       if c[1] == "leases" else None)
                       and not _allows(rules, *c, name="any")}
            assert refused == set()
            pending = emu.get("pods", "nowhere", "default")
            assert pending["status"]["conditions"][0]["type"] == names.POD_SCHEDULED
    run(scenario)


@pytest.mark.parametrize("manifest", ["rbac.yaml", "chart/templates/rbac.yaml"])
def test_the_lease_role_reaches_corrals_own_lease_only(manifest: str) -> None:
    rules = _scheduler_rules(DEPLOY / manifest)
    for verb in ("get", "update"):
        assert _allows(rules, *LEASES, verb, names.LEASE_NAME)
    assert _allows(rules, *LEASES, "create")  # RBAC cannot limit create by name
    for other in OTHER_LEASES:
        for verb in ("get", "update", "patch", "delete"):
            assert not _allows(rules, *LEASES, verb, other), (verb, other)
    for verb in ("list", "watch", "deletecollection"):
        assert not _allows(rules, *LEASES, verb)


@pytest.mark.parametrize("manifest", ["rbac.yaml", "chart/templates/rbac.yaml"])
def test_no_rule_grants_a_wildcard_or_a_verb_the_scheduler_never_uses(manifest: str) -> None:
    rules = _scheduler_rules(DEPLOY / manifest)
    for rule in rules:
        assert "*" not in rule["verbs"] and "*" not in rule.get("resources", ("*",))
        assert "*" not in rule.get("apiGroups", ())
    for group, resource in (("", "pods"), ("", "nodes"), ("", "events"), ("", "secrets"),
                            ("corral.dev", "queues"), ("scheduling.x-k8s.io", "podgroups")):
        for verb in ("create", "update", "delete", "deletecollection"):
            if (resource, verb) != ("events", "create"):
                assert not _allows(rules, group, resource, verb, "any"), (resource, verb)
    assert not _allows(rules, "", "secrets", "get", "any")
    assert not _allows(rules, "", "events", "update", "any")


def test_the_helm_chart_grants_the_same_rules() -> None:
    assert _roles(DEPLOY / "chart" / "templates" / "rbac.yaml") == _roles(DEPLOY / "rbac.yaml")
