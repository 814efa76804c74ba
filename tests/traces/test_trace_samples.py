"""Each reader on the 2,000-job samples, checked against facts computed from the raw CSV."""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import pytest

from corral.clusters import list_presets
from corral.traces import Trace, list_formats, read_trace

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "traces"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared traces folder not present")


def raw_rows(path: Path) -> list[dict[str, str]]:
    """The file's rows as dicts, read independently of corral's reader."""
    with gzip.open(path, "rt", newline="") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().replace("\r\n", "\n"))))


def assert_replayable(trace: Trace) -> None:
    submits = [job.submit for job in trace.jobs]
    assert submits[0] == 0.0
    assert submits == sorted(submits)
    assert all(isinstance(at, float) for at in submits)
    assert len({job.id for job in trace.jobs}) == len(trace.jobs)


SAMPLES = [
    pytest.param(
        "philly-pollux/philly-pollux-sample.csv.gz",
        "philly-pollux",
        2000,
        {},
        "philly",
        id="philly-pollux",
    ),
    pytest.param(
        "alibaba-openb-2023/alibaba-openb-2023-sample.csv.gz",
        "openb",
        1581,
        {"never_started": 158, "no_gpu": 261},
        "openb",
        id="openb",
    ),
    pytest.param(
        "helios-dirlab-excerpt/helios-dirlab-excerpt-sample.csv.gz",
        "helios",
        1685,
        {"no_gpu": 315},
        None,
        id="helios-dirlab",
    ),
    pytest.param(
        "philly-dirlab-excerpt/philly-dirlab-excerpt-sample.csv.gz",
        "helios",
        2000,
        {},
        None,
        id="philly-dirlab",
    ),
    pytest.param(
        "microsoft-itp-2021/microsoft-itp-2021-sample.csv.gz",
        "itp",
        2000,
        {},
        None,
        id="itp",
    ),
]


@needs_shared
@pytest.mark.parametrize(("relative", "fmt", "jobs", "skipped", "cluster"), SAMPLES)
def test_shared_sample(
    relative: str, fmt: str, jobs: int, skipped: dict[str, int], cluster: str | None
) -> None:
    trace = read_trace(SHARED / relative)
    assert (trace.format, len(trace.jobs), trace.skipped, trace.cluster) == (
        fmt,
        jobs,
        skipped,
        cluster,
    )
    assert trace.name == Path(relative).name.removesuffix(".csv.gz")
    assert trace.source == str(SHARED / relative)
    assert_replayable(trace)


def test_bundled_sample_is_philly() -> None:
    trace = read_trace()
    assert (trace.name, trace.format, trace.source, trace.cluster) == (
        "sample",
        "philly-pollux",
        "bundled sample",
        None,  # sized auto: on Philly's own 552 servers its jobs never queue
    )
    assert len(trace.jobs) == 2000
    assert trace.skipped == {}
    assert_replayable(trace)
    assert all(re.fullmatch(r"philly-\d{6}", job.id) for job in trace.jobs)
    assert {job.queue for job in trace.jobs} >= {"6214e9", "11cb48"}
    assert all(job.gpu_milli == 1000 for job in trace.jobs)


@needs_shared
def test_bundled_sample_matches_shared_copy() -> None:
    shipped = Path(__file__).resolve().parents[2] / "src/corral/traces/samples"
    original = SHARED / "philly-pollux/philly-pollux-sample.csv.gz"
    assert (shipped / "philly-pollux-sample.csv.gz").read_bytes() == original.read_bytes()


@needs_shared
def test_philly_sample_queues_are_vcs_and_gangs_are_gpus() -> None:
    path = SHARED / "philly-pollux/philly-pollux-sample.csv.gz"
    rows = raw_rows(path)
    trace = read_trace(path)
    assert {job.queue for job in trace.jobs} == {row["cluster"] for row in rows}
    by_line = {f"philly-{number:06d}": row for number, row in enumerate(rows, start=1)}
    for job in trace.jobs:
        row = by_line[job.id]
        assert (job.tasks, job.duration, job.queue) == (
            int(row["num_gpus"]),
            float(row["duration"]),
            row["cluster"],
        )
    assert trace.jobs[-1].submit == 1_879_842.0  # 2017-09-04 10:30:41 -> 2017-09-26 04:41:23


@needs_shared
def test_openb_sample_fractional_gpus_are_exact() -> None:
    path = SHARED / "alibaba-openb-2023/alibaba-openb-2023-sample.csv.gz"
    rows = {row["name"]: row for row in raw_rows(path)}
    trace = read_trace(path)
    fractional = {job.id: job.gpu_milli for job in trace.jobs if job.is_fractional}
    expected = {
        name: int(row["gpu_milli"])
        for name, row in rows.items()
        if row["scheduled_time"] and row["num_gpu"] == "1" and int(row["gpu_milli"]) < 1000
    }
    assert fractional == expected
    assert len(fractional) > 500
    pending = [row for row in rows.values() if row["pod_phase"] == "Pending"]
    assert trace.skipped["never_started"] == len(pending) == 158
    for job in trace.jobs:
        row = rows[job.id]
        assert job.tasks == 1
        assert job.cpu_milli == int(row["cpu_milli"])
        assert job.memory_mib == int(row["memory_mib"])
        assert job.duration == float(row["deletion_time"]) - float(row["scheduled_time"])
        assert (job.queue, job.outcome) == (row["qos"], row["pod_phase"])
        if not job.is_fractional:
            assert job.gpu_milli == int(row["num_gpu"]) * 1000


@needs_shared
@pytest.mark.parametrize(
    "relative",
    [
        pytest.param("helios-dirlab-excerpt/helios-dirlab-excerpt-sample.csv.gz", id="helios"),
        pytest.param("philly-dirlab-excerpt/philly-dirlab-excerpt-sample.csv.gz", id="philly"),
    ],
)
def test_dirlab_sample_cpu_jobs_skipped_and_users_kept(relative: str) -> None:
    path = SHARED / relative
    rows = raw_rows(path)
    trace = read_trace(path)
    cpu_only = sum(row["gpu_num"] == "0" for row in rows)
    assert trace.skipped.get("no_gpu", 0) == cpu_only
    assert len(trace.jobs) == len(rows) - cpu_only
    by_id = {row["u_id"]: row for row in rows}
    for job in trace.jobs:
        row = by_id[job.id]
        assert job.total_gpu_milli == int(row["gpu_num"]) * 1000
        assert (job.user, job.outcome) == (row["user"], row["new_status"])
    with_cpu = read_trace(path, include_cpu_jobs=True)
    assert len(with_cpu.jobs) == len(rows)
    assert sum(job.gpu_milli == 0 for job in with_cpu.jobs) == cpu_only


@needs_shared
def test_itp_sample_tasks_are_num_gpu() -> None:
    path = SHARED / "microsoft-itp-2021/microsoft-itp-2021-sample.csv.gz"
    rows = {row["job_id"]: row for row in raw_rows(path)}
    trace = read_trace(path)
    first = min(float(row["submission_time"]) for row in rows.values())
    for job in trace.jobs:
        row = rows[job.id]
        assert (job.tasks, job.gpu_milli) == (int(row["num_gpu"]), 1000)
        assert job.submit == float(row["submission_time"]) - first
    assert max(job.tasks for job in trace.jobs) == 32


def test_list_formats_point_to_known_presets() -> None:
    formats = {fmt.name: fmt for fmt in list_formats()}
    assert list(formats) == ["philly-pollux", "itp", "helios", "openb", "corral-history"]
    presets = {name for name, _ in list_presets()}
    assert {fmt.cluster for fmt in formats.values()} == {"philly", "openb", None}
    for fmt in formats.values():
        assert fmt.cluster is None or fmt.cluster in presets
        assert fmt.description and "\n" not in fmt.description
        assert fmt.cluster_note
    assert formats["itp"].columns == ("job_id", "submission_time", "duration", "num_gpu")
    assert "auto" in formats["helios"].cluster_note
