"""``corral history import`` and ``stats`` end to end on a small Helios trace."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from corral.cli.main import app

HELIOS = "u_id,user,gpu_num,cpu_num,node_num,interval,run_time,wall_time,new_status\n"


def test_import_twice_then_stats(tmp_path):
    trace = tmp_path / "tiny.csv"
    trace.write_text(HELIOS + "1,ann,8,8,1,0,3600,0,COMPLETED\n"
                              "2,bob,1,8,1,60,1800,0,FAILED\n"
                              "3,ann,2,8,1,120,600,0,CANCELLED\n")
    db = f"sqlite:///{tmp_path / 'h.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["history", "import", str(trace), "--db", db])
    again = runner.invoke(app, ["history", "import", str(trace), "--db", db])
    assert first.exit_code == 0 and "3 of 3 jobs added" in first.stdout
    assert again.exit_code == 0 and "0 of 3 jobs added" in again.stdout
    assert "(3 attempts stored)" in again.stdout
    stats = runner.invoke(app, ["history", "stats", "--by", "user", "--json", "--db", db])
    by_user = {row["key"]: row for row in json.loads(stats.stdout)}
    assert by_user["ann"]["jobs"] == 2
    assert by_user["ann"]["gpu_hours"] == 8 + 2 * 600 / 3600
    assert by_user["bob"]["median_duration"] == 1800
    table = runner.invoke(app, ["history", "stats", "--by", "queue", "--db", db])
    assert table.exit_code == 0 and "GPU-hours" in table.stdout


def test_bad_input_is_one_error_line(tmp_path):
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'h.db'}"
    for args in (["stats", "--since", "last week", "--db", db],
                 ["stats", "--db", "nosuch://x"],
                 ["stats", "--by", "team", "--db", db],
                 ["import", str(tmp_path / "missing.csv"), "--db", db]):
        result = runner.invoke(app, ["history", *args])
        assert result.exit_code == 2, args
        assert result.stderr.count("error:") == 1, args


def test_stats_show_profile_columns_only_where_the_agent_profiled_jobs(tmp_path):
    from corral.history import HistoryStore

    db = f"sqlite:///{tmp_path / 'h.db'}"
    base = {"source": "kubernetes", "attempt": 1, "queue": "q", "tasks": 1, "gpu_milli": 500,
            "gpu_type": "H200", "submit": 0.0, "start": 0.0, "end": 3600.0,
            "outcome": "completed", "gpu_share_achieved": 0.3}
    with HistoryStore(db) as store:
        store.add_attempts([{**base, "job_id": "plain", "user": "bob", "name": "plain",
                             "gpu_util": None, "gpu_mem_peak_mib": None}])
    runner = CliRunner()
    plain = runner.invoke(app, ["history", "stats", "--db", db])
    assert plain.exit_code == 0 and "peak GPU" not in plain.stdout
    with HistoryStore(db) as store:
        for job, util, peak, mem in (("a", 0.4, 0.9, 2048.0), ("b", 0.8, 0.85, 512.0)):
            store.record_profile({**base, "job_id": job, "user": "ann", "name": job,
                                  "gpu_util": util, "gpu_util_peak": peak,
                                  "gpu_mem_peak_mib": mem})
    rows = json.loads(runner.invoke(app, ["history", "stats", "--json", "--db", db]).stdout)
    ann = next(r for r in rows if r["key"] == "ann")
    bob = next(r for r in rows if r["key"] == "bob")
    assert ann["profiled"] == 2 and abs(ann["avg_gpu_util"] - 0.6) < 1e-9
    assert ann["peak_gpu_util"] == 0.9 and ann["peak_gpu_mem_mib"] == 2048.0
    assert bob["profiled"] == 0 and bob["avg_gpu_util"] is None
    table = runner.invoke(app, ["history", "stats", "--db", db], env={"COLUMNS": "200"})
    assert "peak GPU mem (MiB)" in table.stdout and "2,048" in table.stdout
    assert "60%" in table.stdout and "90%" in table.stdout


def test_an_import_leaves_out_only_the_jobs_the_store_cannot_keep(tmp_path):
    trace = tmp_path / "tiny.csv"
    long_user = "u" * 1100
    trace.write_text(HELIOS + "1,ann,8,8,1,0,3600,0,COMPLETED\n"
                              f"2,{long_user},1,8,1,60,1800,0,FAILED\n"
                              "3,bob,2,8,1,120,600,0,CANCELLED\n")
    db = f"sqlite:///{tmp_path / 'h.db'}"
    result = CliRunner().invoke(app, ["history", "import", str(trace), "--db", db])
    assert result.exit_code == 0
    assert "2 of 3 jobs added" in result.stdout and "1 rejected" in result.stdout
    assert result.stderr.count("warning:") == 1
    assert "user is 1100 characters, longer than the 1024" in result.stderr
    assert long_user not in result.stderr


def test_the_bundled_sample_imports_on_both_backends(db_url):
    from importlib.resources import as_file, files

    from corral.traces.reader import SAMPLE_FILE

    runner = CliRunner()
    with as_file(files("corral.traces") / "samples" / SAMPLE_FILE) as sample:
        first = runner.invoke(app, ["history", "import", str(sample), "--db", db_url])
        again = runner.invoke(app, ["history", "import", str(sample), "--db", db_url])
    assert first.exit_code == 0, first.output
    assert "2000 of 2000 jobs added" in first.stdout
    assert again.exit_code == 0 and "0 of 2000 jobs added" in again.stdout
