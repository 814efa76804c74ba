"""Local trial runs on the CPU: a small Python workload prints the throughput protocol, each
configuration's environment reaches it, results land in the history store and export as the
throughput table the HeterogeneityAware score and the simulator read."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corral.agent.trials import (
    LocalNode,
    TrialConfig,
    TrialError,
    parse_config,
    parse_throughput,
    run_local,
    throughput_rows,
    trial_env,
)
from corral.cli.main import app
from corral.history import HistoryStore
from corral.measured import read_throughput_table
from corral.model import ConfigError
from corral.sim.config import load_sim_config

DATA = Path(__file__).parent / "data"
WORKLOAD = [sys.executable, str(DATA / "trial_workload.py")]
NODE = LocalNode((0, 1), "FakeGPU", mps_pipe_dir="/tmp/mps-pipe")


def test_the_protocol_line_last_wins_with_an_optional_unit():
    assert parse_throughput(["corral-throughput: 5", "x", "corral-throughput: 7.5 samples/s"]) \
        == (7.5, "samples/s")
    assert parse_throughput(["corral-throughput: 3"]) == (3.0, "steps/s")
    assert parse_throughput(["nothing here"]) is None
    for bad in ("corral-throughput: fast", "corral-throughput: -1", "corral-throughput: nan"):
        with pytest.raises(TrialError, match="malformed throughput line"):
            parse_throughput([bad])


@pytest.mark.parametrize(("text", "expected"), [
    ("gpus=2", TrialConfig(2)), ("gpus=1,share=0.5", TrialConfig(1, 0.5)),
    ("gpus=1, type=A100", TrialConfig(1, 1.0, "A100")), ("share=0.25", TrialConfig(1, 0.25))])
def test_configurations_parse(text, expected):
    assert parse_config(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("gpus=0", "gpus must be a whole number >= 1"), ("gpus=two", "gpus must be a whole number"),
    ("gpus=2,share=0.5", "gpus must be 1"), ("share=1.5", "share must be in (0, 1]"),
    ("share=0.3333", "at most 3 decimals"), ("colour=red", "is not one of gpus=N")])
def test_bad_configurations_name_the_problem(text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(text)


def test_each_configuration_gets_its_gpus_and_share_in_the_environment():
    assert trial_env(TrialConfig(2), NODE, 30) == {"CUDA_VISIBLE_DEVICES": "0,1",
                                                   "CORRAL_TRIAL_SECONDS": "30"}
    env = trial_env(TrialConfig(1, 0.25), NODE, 30)
    assert env["CUDA_VISIBLE_DEVICES"] == "0" and env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25"
    assert env["CUDA_MPS_PIPE_DIRECTORY"] == "/tmp/mps-pipe"
    with pytest.raises(TrialError, match="has 2 GPU"):
        trial_env(TrialConfig(4), NODE, 30)
    with pytest.raises(TrialError, match="'FakeGPU', not 'A100'"):
        trial_env(TrialConfig(1, gpu_type="A100"), NODE, 30)
    with pytest.raises(TrialError, match="needs an MPS control daemon"):
        trial_env(TrialConfig(1, 0.5), LocalNode((0,), "FakeGPU"), 30)


def test_a_local_trial_measures_what_the_workload_reports_and_stops_it():
    """The workload reports 100 x GPUs x share and would then sleep for 10x the trial: the
    trial stops it after its seconds, keeping the last line."""
    two = run_local(WORKLOAD, TrialConfig(2), NODE, 1.0, "bert", clock=lambda: 42.0)
    half = run_local(WORKLOAD, TrialConfig(1, 0.5), NODE, 1.0, "bert")
    assert (two.throughput, two.unit, two.gpus, two.gpu_type) == (200.0, "samples/s", 2,
                                                                 "FakeGPU")
    assert two.measured_at == 42.0 and two.source == "local"
    assert (half.throughput, half.share) == (50.0, 0.5)


def test_a_silent_workload_falls_back_to_gpu_utilisation_else_fails():
    silent = [*WORKLOAD, "--silent", "--exit"]
    result = run_local(silent, TrialConfig(1), NODE, 5.0, "x", sample_util=lambda gpus: 0.4)
    assert (result.throughput, result.unit) == (0.4, "gpu_util")
    with pytest.raises(TrialError, match="no 'corral-throughput:' line"):
        run_local(silent, TrialConfig(1), NODE, 5.0, "x")
    with pytest.raises(TrialError, match="malformed throughput line"):
        run_local([*WORKLOAD, "--garbled", "--exit"], TrialConfig(1), NODE, 5.0, "x")


def test_a_missing_program_is_a_trial_error():
    with pytest.raises(TrialError, match="cannot run"):
        run_local(["/no/such/program"], TrialConfig(1), NODE, 1.0, "x")


def row(job, gpu_type, gpus, share, throughput, unit="samples/s"):
    return {"job_key": job, "gpu_type": gpu_type, "gpus": gpus, "share": share,
            "throughput": throughput, "unit": unit, "measured_at": 0.0, "source": "t"}


def test_results_become_relative_speeds_per_gpu_per_job():
    results = [row("bert", "A100", 1, 1.0, 100), row("bert", "A100", 2, 1.0, 220),
               row("bert", "T4", 1, 0.5, 12.5), row("cnn", "T4", 1, 1.0, 50),
               row("cnn", "A100", 1, 1.0, 75), row("idle", "T4", 1, 1.0, 0.5, "gpu_util")]
    rows = {(r.job_class, r.gpu_type): r for r in throughput_rows(results, "A100")}
    # bert on A100: (100 + 110) / 2 per GPU; on T4: 12.5 / 0.5 = 25 per GPU.
    assert rows[("bert", "A100")].relative_speed == 1.0
    assert rows[("bert", "T4")].relative_speed == pytest.approx(25 / 105)
    assert rows[("cnn", "T4")].relative_speed == pytest.approx(50 / 75)
    assert ("idle", "T4") not in rows  # never tried on the reference
    slowest = {(r.job_class, r.gpu_type): r.relative_speed for r in throughput_rows(results)}
    assert slowest[("cnn", "A100")] == pytest.approx(1.5) and slowest[("idle", "T4")] == 1.0
    with pytest.raises(ConfigError, match="different units"):
        throughput_rows([row("x", "A", 1, 1.0, 1), row("x", "B", 1, 1.0, 1, "steps/s")])


def test_trial_cli_runs_stores_lists_and_exports(tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    runner = CliRunner()
    run = runner.invoke(app, ["trial", "run", "--job", "bert", "--config", "gpus=1",
                              "--config", "gpus=2", "--config", "gpus=1,share=0.5",
                              "--gpus", "0,1", "--gpu-type", "FakeGPU", "--seconds", "1",
                              "--mps-pipe-dir", str(tmp_path), "--db", db, "--", *WORKLOAD])
    assert run.exit_code == 0, run.output
    with HistoryStore(db) as store:
        assert [(r["gpus"], r["share"], r["throughput"]) for r in store.trials("bert")] == \
            [(1, 1.0, 100.0), (2, 1.0, 200.0), (1, 0.5, 50.0)]
        store.add_trials([row("bert", "SlowGPU", 1, 1.0, 25.0)])
    listed = runner.invoke(app, ["trial", "list", "--db", db], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "SlowGPU" in listed.stdout
    out, sim = tmp_path / "throughput.csv", tmp_path / "sim.toml"
    exported = runner.invoke(app, ["trial", "export", "--out", str(out), "--reference",
                                   "FakeGPU", "--sim-config", str(sim), "--db", db])
    assert exported.exit_code == 0, exported.output
    table = read_throughput_table(out)
    assert table.speeds_of("bert") == {"FakeGPU": 1.0, "SlowGPU": 0.25}
    config = load_sim_config(sim)
    assert config.reference_gpu_type == "FakeGPU" and config.speed_of("SlowGPU") == 0.25


def test_trial_cli_replays_gpu_utilisation_for_a_silent_workload(tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    run = CliRunner().invoke(app, [
        "trial", "run", "--job", "quiet", "--config", "gpus=1", "--seconds", "5",
        "--replay", str(DATA / "two_gpu_node.json"), "--db", db, "--",
        *WORKLOAD, "--silent", "--exit"])
    assert run.exit_code == 0, run.output
    with HistoryStore(db) as store:
        [stored] = store.trials()
    assert stored["unit"] == "gpu_util" and stored["gpu_type"] == "NVIDIA H200"
    assert 0 < stored["throughput"] <= 1


def test_trial_cli_bad_input_is_one_error_line(tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    runner = CliRunner()
    for args in (["run", "--job", "x", "--config", "gpus=0", "--gpus", "0", "--gpu-type", "G",
                  "--db", db, "--", "true"],
                 ["run", "--job", "x", "--config", "gpus=1", "--gpus", "a", "--gpu-type", "G",
                  "--db", db, "--", "true"],
                 ["export", "--out", str(tmp_path / "t.csv"), "--db", db],
                 ["manifest", str(tmp_path / "missing.yaml"), "--job", "x", "--node", "n",
                  "--config", "gpus=1"]):
        result = runner.invoke(app, ["trial", *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("error:") == 1, args


def test_trial_manifest_wraps_a_pod_template_in_a_trialrun(tmp_path):
    import yaml

    template = tmp_path / "job.yaml"
    template.write_text("apiVersion: batch/v1\nkind: Job\nmetadata: {name: bert}\nspec:\n"
                        "  template:\n    metadata: {labels: {app: bert}}\n    spec:\n"
                        "      containers: [{name: train, image: 'bert:1'}]\n")
    result = CliRunner().invoke(app, ["trial", "manifest", str(template), "--job",
                                      "team-a/bert", "--node", "gpu-1", "--config", "gpus=1",
                                      "--config", "gpus=1,share=0.5", "--namespace", "team-a"])
    assert result.exit_code == 0, result.output
    trial = yaml.safe_load(result.stdout)
    assert trial["kind"] == "TrialRun" and trial["metadata"] == {"name": "team-a-bert",
                                                                 "namespace": "team-a"}
    assert trial["spec"]["configurations"] == [{"gpus": 1}, {"gpus": 1, "share": 0.5}]
    assert trial["spec"]["template"]["spec"]["containers"][0]["name"] == "train"
