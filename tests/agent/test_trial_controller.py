"""The TrialRun controller against a fake Kubernetes API: one configuration at a time, as pods
on this node, measured from their logs (or the agent's GPU utilisation), results in the status
and the history store; bad specs and configurations the node cannot run fail with a reason."""

from __future__ import annotations

import pytest
from fake_kube import FakeKubeApi

from corral import kube_contract as contract
from corral.agent.kube import TrialRunInfo
from corral.agent.trial_controller import (
    FAILED,
    RUNNING,
    START_TIMEOUT_S,
    SUCCEEDED,
    TRIAL_LABEL,
    TrialController,
    pod_template_from,
)
from corral.history import HistoryStore
from corral.model import ConfigError

NODE = "gpu-node-1"
TEMPLATE = {"metadata": {"labels": {"app": "bert"}},
            "spec": {"schedulerName": "corral", "containers": [{
                "name": "train", "image": "bert:1",
                "resources": {"limits": {"nvidia.com/gpu": "8", "cpu": "4"}}}]}}


def trial(name: str = "bert-trial", created: float = 0.0, **spec: object) -> TrialRunInfo:
    base = {"job": "team-a/bert", "nodeName": NODE, "seconds": 60, "template": TEMPLATE,
            "configurations": [{"gpus": 1}, {"gpus": 1, "share": 0.5}, {"gpus": 2}]}
    return TrialRunInfo("team-a", name, f"uid-{name}", created, {**base, **spec})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path):
    kube, clock = FakeKubeApi(), Clock()
    store = HistoryStore(f"sqlite:///{tmp_path / 'h.db'}")
    util: dict[str, float] = {}
    controller = TrialController(kube, NODE, ["NVIDIA H200", "NVIDIA H200"], store,
                                 util.get, clock)
    yield kube, clock, store, util, controller
    store.close()


def run_config(kube, clock, controller, pod: str, log: str) -> None:
    """Tick until *pod* exists, start it, let it run 60 s with *log*, tick to measure."""
    controller.tick()
    kube.start_pod(pod, clock.now)
    controller.tick()  # running, not long enough yet
    assert pod not in kube.deleted
    clock.now += 60
    kube.logs[pod] = log
    controller.tick()


def test_configurations_run_one_at_a_time_and_their_results_are_stored(setup):
    kube, clock, store, _, controller = setup
    kube.add_trial(trial())
    run_config(kube, clock, controller, "bert-trial-trial-0",
                "step 1\ncorral-throughput: 100 samples/s\n")
    status = kube.trial("team-a", "bert-trial").status
    assert status["phase"] == RUNNING and len(status["results"]) == 1
    assert kube.deleted == ["bert-trial-trial-0"]
    run_config(kube, clock, controller, "bert-trial-trial-1", "corral-throughput: 60 samples/s")
    run_config(kube, clock, controller, "bert-trial-trial-2", "corral-throughput: 190 samples/s")
    status = kube.trial("team-a", "bert-trial").status
    assert status["phase"] == SUCCEEDED and status["message"] == "3 of 3 configurations measured"
    assert [(r["gpus"], r["share"], r["throughput"]) for r in status["results"]] == \
        [(1, 1.0, 100.0), (1, 0.5, 60.0), (2, 1.0, 190.0)]
    stored = store.trials("team-a/bert")
    assert [(r["gpus"], r["share"], r["throughput"], r["unit"], r["gpu_type"]) for r in stored] \
        == [(1, 1.0, 100.0, "samples/s", "NVIDIA H200"), (1, 0.5, 60.0, "samples/s",
                                                           "NVIDIA H200"),
            (2, 1.0, 190.0, "samples/s", "NVIDIA H200")]
    assert {r["source"] for r in stored} == {"trialrun/team-a/bert-trial"}
    controller.tick()  # finished: nothing more happens
    assert not kube.pods


def test_trial_pods_ask_for_exactly_the_configurations_gpus_or_share(setup):
    kube, clock, _, _, controller = setup
    kube.add_trial(trial())
    controller.tick()
    whole = kube.manifests["bert-trial-trial-0"]
    container = whole["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1", "cpu": "4"}
    assert whole["spec"]["nodeName"] == NODE and whole["spec"]["restartPolicy"] == "Never"
    assert "schedulerName" not in whole["spec"]
    assert whole["metadata"]["labels"] == {"app": "bert", TRIAL_LABEL: "bert-trial",
                                           "corral.dev/job": "team-a_bert"}
    assert whole["metadata"]["ownerReferences"][0]["uid"] == "uid-bert-trial"
    assert {"name": "CORRAL_TRIAL_SECONDS", "value": "60"} in container["env"]
    kube.start_pod("bert-trial-trial-0", 0.0)
    clock.now = 60
    kube.logs["bert-trial-trial-0"] = "corral-throughput: 1"
    controller.tick()
    controller.tick()
    share = kube.manifests["bert-trial-trial-1"]
    assert share["spec"]["containers"][0]["resources"]["limits"] == \
        {contract.SHARE_RESOURCE: "1", "cpu": "4"}
    assert share["metadata"]["annotations"] == {
        contract.FRACTION: "0.5", contract.GPU_INDEX: "0", contract.GPU_MILLI: "500",
        contract.ASSIGNED_NODE: NODE}


def test_a_silent_workload_is_measured_by_gpu_utilisation_else_fails(setup):
    kube, clock, store, util, controller = setup
    kube.add_trial(trial(configurations=[{"gpus": 1}, {"gpus": 2}]))
    controller.tick()
    util[kube.get_pod_named("bert-trial-trial-0").uid] = 0.8
    kube.start_pod("bert-trial-trial-0", 0.0)
    clock.now = 60
    controller.tick()
    run_config(kube, clock, controller, "bert-trial-trial-1", "no protocol line here")
    results = kube.trial("team-a", "bert-trial").status["results"]
    assert results[0]["throughput"] == 0.8 and results[0]["unit"] == "gpu_util"
    assert "no 'corral-throughput:' line" in results[1]["error"]
    assert kube.trial("team-a", "bert-trial").status["phase"] == SUCCEEDED  # one measured
    assert len(store.trials()) == 1


def test_a_pod_that_ends_early_is_measured_at_once(setup):
    kube, clock, _, _, controller = setup
    kube.add_trial(trial(configurations=[{"gpus": 1}]))
    controller.tick()
    kube.start_pod("bert-trial-trial-0", 0.0)
    kube.set_phase(kube.get_pod_named("bert-trial-trial-0").uid, "Succeeded")
    kube.logs["bert-trial-trial-0"] = "corral-throughput: 7.5"
    clock.now = 5
    controller.tick()
    status = kube.trial("team-a", "bert-trial").status
    assert status["phase"] == SUCCEEDED and status["results"][0]["throughput"] == 7.5
    assert status["results"][0]["unit"] == "steps/s"


def test_configurations_the_node_cannot_run_fail_without_a_pod(setup):
    kube, _, _, _, controller = setup
    kube.add_trial(trial(configurations=[{"gpus": 4}, {"gpus": 1, "gpuType": "T4"}]))
    controller.tick()
    controller.tick()
    status = kube.trial("team-a", "bert-trial").status
    assert status["phase"] == FAILED and not kube.manifests
    assert "has 2 GPU(s)" in status["results"][0]["error"]
    assert "has NVIDIA H200, not T4" in status["results"][1]["error"]


def test_a_pod_that_never_starts_fails_its_configuration(setup):
    kube, clock, _, _, controller = setup
    kube.add_trial(trial(configurations=[{"gpus": 1}]))
    controller.tick()
    clock.now = START_TIMEOUT_S - 1
    controller.tick()
    assert not kube.deleted
    clock.now = START_TIMEOUT_S + 1
    controller.tick()
    status = kube.trial("team-a", "bert-trial").status
    assert kube.deleted == ["bert-trial-trial-0"] and "did not start" in \
        status["results"][0]["error"]


def test_the_oldest_trial_runs_first_and_other_nodes_are_ignored(setup):
    kube, _, _, _, controller = setup
    kube.add_trial(trial("later", created=10.0))
    kube.add_trial(trial("sooner", created=5.0))
    kube.add_trial(trial("elsewhere", created=0.0, nodeName="other-node"))
    controller.tick()
    assert list(kube.manifests) == ["sooner-trial-0"]


def test_a_restarted_controller_carries_on_from_the_status_and_the_pod(setup, tmp_path):
    kube, clock, store, util, controller = setup
    kube.add_trial(trial(configurations=[{"gpus": 1}]))
    controller.tick()
    kube.start_pod("bert-trial-trial-0", 0.0)
    again = TrialController(kube, NODE, ["NVIDIA H200", "NVIDIA H200"], store, util.get, clock)
    clock.now = 60
    kube.logs["bert-trial-trial-0"] = "corral-throughput: 3"
    again.tick()  # finds the pod it did not create, measures it
    assert kube.trial("team-a", "bert-trial").status["phase"] == SUCCEEDED


@pytest.mark.parametrize(("spec", "message"), [
    ({"configurations": []}, "configurations must be a non-empty list"),
    ({"configurations": [{"gpus": 0}]}, "configurations[0]: trial configuration gpus=0: gpus "
                                        "must be a whole number >= 1"),
    ({"configurations": [{"gpus": 2, "share": 0.5}]}, "gpus must be 1"),
    ({"configurations": [{"gpu": 1}]}, "unknown field(s) ['gpu']"),
    ({"seconds": -5}, "spec.seconds must be a number > 0"),
    ({"template": {"spec": {}}}, "no spec.containers"),
])
def test_a_bad_spec_fails_the_trial_with_the_field_at_fault(setup, spec, message):
    kube, _, _, _, controller = setup
    kube.add_trial(trial(**spec))
    controller.tick()
    status = kube.trial("team-a", "bert-trial").status
    assert status["phase"] == FAILED and message in status["message"]
    assert not kube.manifests


def test_pod_templates_come_from_pods_templates_and_workloads():
    pod = {"kind": "Pod", "metadata": {"name": "x", "labels": {"a": "b"}},
           "spec": {"containers": [{"name": "c"}]}}
    job = {"kind": "Job", "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}
    template = {"kind": "PodTemplate", "template": {"spec": {"containers": [{"name": "c"}]}}}
    assert pod_template_from(pod, "t") == {"metadata": {"labels": {"a": "b"}},
                                           "spec": {"containers": [{"name": "c"}]}}
    assert pod_template_from(job, "t")["spec"] == {"containers": [{"name": "c"}]}
    assert pod_template_from(template, "t")["spec"] == {"containers": [{"name": "c"}]}
    with pytest.raises(ConfigError, match=r"t: no spec\.containers"):
        pod_template_from({"kind": "Pod", "spec": {"containers": [{"image": "x"}]}}, "t")


def test_the_crd_matches_what_the_controller_reads():
    from pathlib import Path

    import yaml

    crd = yaml.safe_load((Path(__file__).parents[2] / "deploy/agent/trialrun-crd.yaml")
                         .read_text())
    assert crd["spec"]["group"] == contract.GROUP and crd["spec"]["names"]["kind"] == "TrialRun"
    [version] = crd["spec"]["versions"]
    assert version["name"] == "v1alpha1" and "status" in version["subresources"]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert set(spec) == {"job", "nodeName", "seconds", "template", "configurations"}
    assert set(spec["configurations"]["items"]["properties"]) == {"gpus", "share", "gpuType"}
