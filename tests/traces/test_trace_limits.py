"""Absurd trace values and files: a row beyond Corral's limits is skipped as ``out_of_range``
(or stops a strict read at its line), and a file is read as a stream whose size is bounded."""

from __future__ import annotations

import gzip
import math
import tracemalloc
from pathlib import Path

import pytest

import corral
from corral.model import ConfigError
from corral.model.limits import MAX_DURATION_S, MAX_JOB_GPUS
from corral.traces import TraceError, check_load, csv_table, read_trace

ITP = "job_id,submission_time,duration,num_gpu\n"
HELIOS = "u_id,user,gpu_num,cpu_num,node_num,interval,run_time,wall_time,new_status\n"
PHILLY = "timestamp,duration,num_gpus,gpu_time,cluster\n"
OPENB = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time\n"
)
HISTORY = "job_id,attempt,submit,duration,tasks,gpu_milli,gpu_type,queue,user,outcome\n"
TOO_LONG = f"a run of more than {MAX_DURATION_S:,} s (10 years), Corral's limit"
TOO_BIG = f"a job of more than {MAX_JOB_GPUS:,} GPUs, the most a cluster may have"

# (content, skipped in lenient mode, strict-mode message): every format bounds its values
OUT_OF_RANGE = [
    pytest.param(ITP + "a,0,100,1\nb,10,100,1000000000000\n", 1,
                 f"line 3, field num_gpu: {TOO_BIG}", id="itp-1e12-gpus"),
    pytest.param(ITP + "a,0,100,1\nb,10,1e12,1\n", 1,
                 f"line 3, field duration: {TOO_LONG}", id="itp-1e12-s"),
    pytest.param(ITP + "a,0,100,1\nb,10,1e308,1\nc,11,1e308,1\n", 2,
                 f"line 3, field duration: {TOO_LONG}", id="itp-1e308-s"),
    pytest.param(ITP + "a,0,100,1\nb,1e11,100,1\n", 1,
                 "line 3, field submission_time: '1e11' is beyond 1e+10 s", id="itp-late-submit"),
    pytest.param(ITP + f"a,0,100,1\nb,10,{MAX_DURATION_S + 1},1\n", 1,
                 f"line 3, field duration: {TOO_LONG}", id="itp-just-over-10-years"),
    pytest.param(HELIOS + "0,u,1,1,1,0,84,0,Pass\n1,u,2000000,1,1,5,9,0,Pass\n", 1,
                 f"line 3, field gpu_num: {TOO_BIG}", id="helios-gpus"),
    pytest.param(HELIOS + "0,u,1,1,1,0,84,0,Pass\n1,u,1,1,1,5,4e8,0,Pass\n", 1,
                 f"line 3, field run_time: {TOO_LONG}", id="helios-run-time"),
    pytest.param(HELIOS + "0,u,1,1,1,0,84,0,Pass\n1,u,1,1,1,9e9,9,0,Pass\n"
                 "2,u,1,1,1,9e9,9,0,Pass\n", 1,
                 "line 4, field interval: the intervals so far add up to more than 1e+10 s",
                 id="helios-interval-sum"),
    pytest.param(HELIOS + "0,u,1,1,1,0,84,0,Pass\n1,u,1,1e16,1,5,9,0,Pass\n", 1,
                 "line 3, field cpu_num: '1e16' is more than 10,000,000,000, Corral's limit",
                 id="helios-cpus"),
    pytest.param(PHILLY + "2017-10-09 07:01:55,66.0,1,66.0,vc\n"
                 "2017-10-09 07:01:56,66.0,4000000,66.0,vc\n", 1,
                 f"line 3, field num_gpus: {TOO_BIG}", id="philly-gpus"),
    pytest.param(PHILLY + "2017-10-09 07:01:55,66.0,1,66.0,vc\n"
                 "9999-10-09 07:01:56,66.0,1,66.0,vc\n", 1,
                 "line 3, field timestamp: '9999-10-09 07:01:56' is beyond 1e+10 s since 1970",
                 id="philly-year-9999"),
    pytest.param(OPENB + "p0,1000,100,1,1000,,LS,Running,0,100,0\n"
                 "p1,1000,100,1,1000,,LS,Running,0,400000000,1\n", 1,
                 f"line 3, field deletion_time: {TOO_LONG}", id="openb-run-time"),
    pytest.param(OPENB + "p0,1000,100,1,1000,,LS,Running,0,100,0\n"
                 "p1,1000,100,1000001,1000,,LS,Running,0,100,1\n", 1,
                 f"line 3, field num_gpu: {TOO_BIG}", id="openb-gpus"),
    pytest.param(HISTORY + "j,0,0,100,1,1000,A,q,u,Succeeded\n"
                 "k,0,5,100,9007199254740992,1000,A,q,u,Succeeded\n", 1,
                 f"line 3, field tasks: {TOO_BIG}", id="history-gang-overflow"),
]


@pytest.mark.parametrize(("content", "skipped", "message"), OUT_OF_RANGE)
def test_values_beyond_limits_skip_their_row(tmp_path: Path, content: str, skipped: int,
                                             message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content)
    trace = read_trace(path)
    assert trace.skipped == {"out_of_range": skipped}
    assert all(math.isfinite(job.duration or 0.0) for job in trace.jobs)
    with pytest.raises(TraceError) as raised:
        read_trace(path, strict=True)
    assert str(raised.value).startswith(f"{path}: {message}")


def test_values_at_the_limits_are_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(ITP + f"a,0,{MAX_DURATION_S},1\nb,1e10,1,{MAX_JOB_GPUS}\n")
    trace = read_trace(path, strict=True)
    assert [job.duration for job in trace.jobs] == [MAX_DURATION_S, 1.0]
    assert trace.jobs[1].gpus == MAX_JOB_GPUS


def test_absurd_rows_never_reach_the_summary(tmp_path: Path) -> None:
    """The probe's trace: one sane job beside one of 1e12 GPUs and one of 1e308 s. The auto
    cluster is sized by the sane one and every figure of the summary is a number."""
    path = tmp_path / "t.csv"
    path.write_text(ITP + "a,0,100,1\nb,10,100,1000000000000\nc,20,1e308,1\n")
    result = corral.simulate(str(path), cluster="auto")
    assert result.summary["skipped"] == {"out_of_range": 2}
    assert result.summary["jobs"] == 1
    assert math.isfinite(result.summary["avg_jct"])


def write_gzip(path: Path, head: bytes, repeated: bytes, times: int, tail: bytes = b"") -> None:
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(head)
        for _ in range(times):
            out.write(repeated)
        out.write(tail)


def test_blank_lines_cost_no_memory(tmp_path: Path) -> None:
    """A gzip of 16 MiB of newlines between two rows: read as a stream, the newlines are
    counted, never held (reading the whole file at once took several times its size)."""
    path = tmp_path / "blank.csv.gz"
    write_gzip(path, (ITP + "a,0,100,1\n").encode(), b"\n" * (1 << 20), 16, b"b,5,100,2\n")
    tracemalloc.start()
    try:
        trace = read_trace(path, strict=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [job.id for job in trace.jobs] == ["a", "b"]
    assert peak < 24 << 20


def test_too_many_lines_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of more than MAX_LINES lines, blank ones included, stops at that limit."""
    monkeypatch.setattr(csv_table, "MAX_LINES", 1000)
    path = tmp_path / "many.csv.gz"
    write_gzip(path, ITP.encode(), b"a,0,1,1\n" + b"\n" * 99, 20)
    with pytest.raises(TraceError) as raised:
        read_trace(path)
    assert str(raised.value) == (f"{path}: more than 1,000 lines (blank ones included), "
                                 "the most a trace may have")
    path.write_bytes(gzip.compress(ITP.encode() + b"a,0,1,1\n" + b"\n" * 997))
    assert len(read_trace(path).jobs) == 1


def test_a_line_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.csv.gz"
    write_gzip(path, (ITP + "a,0,100,1\nb").encode(), b"x" * (1 << 16), 20, b",1,1,1\n")
    with pytest.raises(TraceError) as raised:
        read_trace(path)
    assert str(raised.value) == (f"{path}: line 3 is longer than {1 << 20:,} characters: "
                                 "not a trace row")


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_lines_split_across_chunks_read_as_one(tmp_path: Path, newline: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 7 bytes cut rows, and \\r\\n pairs, anywhere: the jobs are those of the file."""
    monkeypatch.setattr(csv_table, "CHUNK_BYTES", 7)
    rows = [f"job-{i},{i},{100 + i},{1 + i % 3}" for i in range(50)]
    text = newline.join([ITP.strip(), *rows, "", ""])
    path = tmp_path / "t.csv"
    path.write_text("\ufeff" + text, newline="")
    trace = read_trace(path, strict=True)
    assert [job.id for job in trace.jobs] == [f"job-{i}" for i in range(50)]
    assert [job.duration for job in trace.jobs] == [100.0 + i for i in range(50)]


def test_a_bad_byte_is_placed_in_the_whole_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_table, "CHUNK_BYTES", 5)
    data = ITP.encode() + "a,0,60,1\né,1,1,1\n".encode() + b"b,\xff,1,1\n"
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    offset = data.index(b"\xff")
    with pytest.raises(TraceError, match=f"bad byte at offset {offset}"):
        read_trace(path)


@pytest.mark.parametrize("load", [1e-15, 0.0099, 100.5, 1e300, math.nan, math.inf, True, "2"])
def test_load_has_a_documented_range(load: object) -> None:
    with pytest.raises(ConfigError) as raised:
        check_load(load)
    assert "load must be a number > 0, from 0.01 to 100" in str(raised.value)


@pytest.mark.parametrize("load", [0.01, 1, 100])
def test_load_at_its_bounds(load: float) -> None:
    assert check_load(load) == load
