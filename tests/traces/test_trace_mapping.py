"""How rows become gangs, times and priorities; detection by content, sorting and limits."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from corral.model import DEFAULT_QUEUE
from corral.traces import read_trace

HELIOS = "u_id,user,gpu_num,cpu_num,node_num,interval,run_time,wall_time,new_status\r\n"
OPENB = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time\n"
)
PHILLY = "timestamp,duration,num_gpus,gpu_time,cluster\n"
ITP = "job_id,submission_time,duration,num_gpu\n"


@pytest.mark.parametrize(
    ("gpus", "nodes", "cpus", "tasks", "gpu_milli", "cpu_milli"),
    [
        pytest.param(8, 1, 4, 1, 8000, 4000, id="one-node"),
        pytest.param(160, 20, 800, 20, 8000, 40000, id="even-split"),
        pytest.param(3, 2, 4, 3, 1000, 1334, id="uneven-split-one-task-per-gpu"),
        pytest.param(2, 0, 1, 2, 1000, 500, id="no-node-count"),
        pytest.param(4, 4, 0, 4, 1000, 0, id="one-gpu-per-node"),
        pytest.param(0, 1, 6, 1, 0, 6000, id="cpu-only"),
    ],
)
def test_helios_gang_shapes(
    tmp_path: Path, gpus: int, nodes: int, cpus: int, tasks: int, gpu_milli: int, cpu_milli: int
) -> None:
    path = tmp_path / "h.csv"
    path.write_text(HELIOS + f"7,3,{gpus},{cpus},{nodes},0,60,0,Killed\r\n", newline="")
    (job,) = read_trace(path, include_cpu_jobs=True).jobs
    assert (job.tasks, job.gpu_milli, job.cpu_milli) == (tasks, gpu_milli, cpu_milli)
    assert (job.id, job.user, job.outcome, job.duration) == ("7", "3", "Killed", 60.0)


def test_helios_submit_is_running_sum_including_skipped_rows(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    rows = [
        "0,1,1,1,1,0,10,0,Pass",
        "1,1,0,1,1,50,10,0,Pass",  # CPU-only: skipped, but its arrival still moves the clock
        "2,1,1,1,1,25,10,0,Pass",
        "3,1,1,1,1,x,10,0,Pass",  # unreadable interval: dropped, adds nothing
        "4,1,1,1,1,5,10,0,Pass",
    ]
    path.write_text(HELIOS + "\r\n".join(rows) + "\r\n", newline="")
    trace = read_trace(path)
    assert [(job.id, job.submit) for job in trace.jobs] == [("0", 0.0), ("2", 75.0), ("4", 80.0)]
    assert trace.skipped == {"bad_number": 1, "no_gpu": 1}


@pytest.mark.parametrize(
    ("qos", "priority"),
    [
        pytest.param("LS", 2, id="LS"),
        pytest.param("Guaranteed", 2, id="Guaranteed"),
        pytest.param("Burstable", 1, id="Burstable"),
        pytest.param("BE", 0, id="BE"),
        pytest.param("Mystery", 0, id="unknown"),
    ],
)
def test_openb_qos_sets_queue_and_priority(tmp_path: Path, qos: str, priority: int) -> None:
    path = tmp_path / "o.csv"
    path.write_text(OPENB + f"pod-0,1000,100,1,1000,,{qos},Running,0,100,0\n")
    (job,) = read_trace(path).jobs
    assert (job.queue, job.priority) == (qos, priority)


@pytest.mark.parametrize(
    ("num_gpu", "gpu_milli", "spec", "shape"),
    [
        pytest.param(1, 460, "", (1, 460, ()), id="fractional"),
        pytest.param(1, 1000, "", (1, 1000, ()), id="one-gpu"),
        pytest.param(8, 1000, "", (1, 8000, ()), id="eight-gpus-one-pod"),
        pytest.param(2, 1000, "V100M16|V100M32", (1, 2000, ("V100M16", "V100M32")), id="spec"),
        pytest.param(0, 0, "", (1, 0, ()), id="cpu-only"),
    ],
)
def test_openb_gpu_requests(
    tmp_path: Path, num_gpu: int, gpu_milli: int, spec: str, shape: tuple[object, ...]
) -> None:
    path = tmp_path / "o.csv"
    path.write_text(
        OPENB + f"pod-9,6000,12288,{num_gpu},{gpu_milli},{spec},LS,Failed,100,900,300\n"
    )
    (job,) = read_trace(path, include_cpu_jobs=True).jobs
    assert (job.tasks, job.gpu_milli, job.gpu_types) == shape
    assert (job.cpu_milli, job.memory_mib, job.duration, job.outcome) == (
        6000,
        12288,
        600.0,
        "Failed",
    )


def test_philly_is_sorted_stably_and_rebased(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        PHILLY
        + "2017-10-09 07:00:00,5.0,1,5.0,vc-b\n"
        + "2017-10-09 06:00:00,6.0,2,12.0,vc-a\n"
        + "2017-10-09 07:00:00,7.0,4,28.0,\n"
        + "2017-10-09 06:00:00,8.0,8,64.0,vc-a\n\n"
    )
    trace = read_trace(path)
    assert [(job.id, job.submit, job.tasks, job.queue) for job in trace.jobs] == [
        ("philly-000002", 0.0, 2, "vc-a"),
        ("philly-000004", 0.0, 8, "vc-a"),
        ("philly-000001", 3600.0, 1, "vc-b"),
        ("philly-000003", 3600.0, 4, DEFAULT_QUEUE),
    ]
    limited = read_trace(path, limit=3)
    assert [job.id for job in limited.jobs] == ["philly-000002", "philly-000004", "philly-000001"]


def test_limit_rebases_after_sorting(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(ITP + "late,500,600,1\nearly,200,600,1\nmid,300,600,1")
    trace = read_trace(path, limit=2)
    assert [(job.id, job.submit) for job in trace.jobs] == [("early", 0.0), ("mid", 100.0)]
    assert len(read_trace(path, limit=10).jobs) == 3


@pytest.mark.parametrize(
    ("file_name", "compress"),
    [
        pytest.param("plain.csv", False, id="plain-csv"),
        pytest.param("packed.csv", True, id="gzip-named-csv"),
        pytest.param("plain.csv.gz", False, id="plain-named-gz"),
        pytest.param("packed", True, id="gzip-no-suffix"),
    ],
)
def test_gzip_is_told_by_content_not_name(tmp_path: Path, file_name: str, compress: bool) -> None:
    data = (ITP + "a,0,600,2\r\nb,9,600,1\r\n").encode()
    (tmp_path / file_name).write_bytes(gzip.compress(data) if compress else data)
    trace = read_trace(tmp_path / file_name)
    assert (trace.format, [job.tasks for job in trace.jobs]) == ("itp", [2, 1])
    assert trace.name == file_name.removesuffix(".gz").removesuffix(".csv")


def test_header_columns_in_any_order_and_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("\ufeffnum_gpu, job_id ,duration,submission_time\n4,a,600,10\n")
    (job,) = read_trace(path).jobs
    assert (job.id, job.tasks, job.duration) == ("a", 4, 600.0)


def test_cpu_jobs_kept_on_request(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(ITP + "a,0,600,0\nb,5,600,1\n")
    assert read_trace(path).skipped == {"no_gpu": 1}
    trace = read_trace(path, include_cpu_jobs=True)
    assert trace.skipped == {}
    assert [(job.id, job.tasks, job.gpu_milli) for job in trace.jobs] == [
        ("a", 1, 0),
        ("b", 1, 1000),
    ]
