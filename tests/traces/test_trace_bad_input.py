"""Damaged and wrong input: counted skips in lenient mode, one precise TraceError in strict mode."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.traces import TraceError, read_trace

ITP = "job_id,submission_time,duration,num_gpu\n"
HELIOS = "u_id,user,gpu_num,cpu_num,node_num,interval,run_time,wall_time,new_status\r\n"
PHILLY = "timestamp,duration,num_gpus,gpu_time,cluster\n"
OPENB = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time\n"
)
MULTIGPU = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\nopenb-pod-0000,12000,16384,1,1000\n"


def itp_sample_gz() -> bytes:
    lines = [f"job-{i},{100 + i},{600 + i},{1 << (i % 4)}" for i in range(3000)]
    return gzip.compress((ITP + "\n".join(lines)).encode())


# (file name, content, skipped counts in lenient mode, strict-mode message fragment)
ROW_PROBLEMS = [
    pytest.param(
        "t.csv",
        ITP + "a,0,600,1\nb,5,abc,1\nc,9,600,2",
        {"bad_number": 1},
        "line 3, field duration: 'abc' is not a finite number",
        id="garbage-duration",
    ),
    pytest.param(
        "t.csv",
        ITP + "a,0,600,1\nb,1e400,600,1\nc,9,nan,2\nd,9,inf,1\ne,10,600,1",
        {"bad_number": 3},
        "line 3, field submission_time: '1e400' is not a finite number",
        id="overflow-nan-inf",
    ),
    pytest.param(
        "t.csv",
        ITP + "a,0,600,1\nb,-5,600,1\nc,9,-1,2\nd,10,600,1",
        {"negative_time": 2},
        "line 3, field submission_time: '-5' is negative",
        id="negative-times",
    ),
    pytest.param(
        "t.csv",
        ITP + "a,0,600,1\nb,,600,1\nc,9, ,2\nd,10,600,1",
        {"missing_time": 2},
        "line 3, field submission_time: empty",
        id="missing-times",
    ),
    pytest.param(
        "t.csv",
        ITP + "a,0,600,1\nb,1,600,1.5\nc,2,600,-2\nd,3,600,x\ne,4,600,",
        {"bad_gpu_request": 4},
        "line 3, field num_gpu: '1.5' is not a whole number >= 0",
        id="bad-gpu-counts",
    ),
    pytest.param(
        "t.csv",
        ITP + "a,0,600,1\nb,1,600,1\na,2,600,1\nb,3,600,2\nc,4,600,1",
        {"duplicate_id": 2},
        "line 4, field job_id: 'a' repeats an earlier id",
        id="itp-duplicate-ids",
    ),
    pytest.param(
        "t.csv",
        ITP + "a,0,600,1\nb,1,600,1\nc,2,6",
        {"malformed_row": 1},
        "line 4, field num_gpu: missing (the row has 3 of 4 fields)",
        id="truncated-last-line",
    ),
    pytest.param(
        "t.csv",
        ITP + "a,0,600,1\nb,1,600,1,7\nc,2,600,1",
        {"malformed_row": 1},
        "line 3: 5 fields, the header has 4",
        id="extra-field",
    ),
    pytest.param(
        "t.csv",
        ITP + "a,0,600,1\n,1,600,1\nc,2,600,1",
        {"missing_id": 1},
        "line 3, field job_id: empty",
        id="missing-id",
    ),
    pytest.param(
        "h.csv",
        HELIOS + "0,1,1,1,1,0,84,0,Pass\r\n1,1,8,2,1,5,9,0,Pass\r\n0,2,1,1,1,5,9,0,Failed\r\n",
        {"duplicate_id": 1},
        "line 4, field u_id: '0' repeats an earlier id",
        id="helios-duplicate-ids",
    ),
    pytest.param(
        "h.csv",
        HELIOS + "0,1,1,1,1,0,84,0,Pass\r\n1,1,2,1.5,1,5,9,0,Pass\r\n2,1,1,1,1,-4,9,0,Pass\r\n",
        {"bad_number": 1, "negative_time": 1},
        "line 3, field cpu_num: '1.5' is not a whole number >= 0",
        id="helios-bad-cpu-and-interval",
    ),
    pytest.param(
        "p.csv",
        PHILLY
        + "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
        + "yesterday,66.0,1,66.0,11cb48\n"
        + ",66.0,1,66.0,11cb48\n"
        + "2017-10-09 07:01:57,abc,1,66.0,11cb48\n\n",
        {"bad_number": 2, "missing_time": 1},
        "line 3, field timestamp: 'yesterday' is not a time like 2017-10-09 06:13:03",
        id="philly-bad-timestamps",
    ),
    pytest.param(
        "o.csv",
        OPENB
        + "pod-0,1000,100,1,500,,LS,Running,0,100,0\n"
        + "pod-1,1000,100,1,0,,LS,Running,0,100,0\n"
        + "pod-2,1000,100,1,1500,,LS,Running,0,100,0\n"
        + "pod-3,1000,100,2,500,,LS,Running,0,100,0\n"
        + "pod-4,1000,100,1,1000,,BE,Running,10,5,8\n"
        + "pod-5,1000,100,1,1000,,BE,Running,10,50,\n"
        + "pod-6,1000,100,1,1000,,BE,Pending,10,50,\n"
        + "pod-7,abc,100,1,1000,,BE,Running,10,50,10\n",
        {
            "bad_gpu_request": 3,
            "bad_number": 1,
            "missing_time": 1,
            "negative_time": 1,
            "never_started": 1,
        },
        "line 3, field gpu_milli: '0' is not a share of a GPU in 1..1000",
        id="openb-bad-rows",
    ),
]


@pytest.mark.parametrize(("name", "content", "skipped", "message"), ROW_PROBLEMS)
def test_bad_rows_are_counted_or_raised(
    tmp_path: Path, name: str, content: str, skipped: dict[str, int], message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, newline="")
    trace = read_trace(path)
    assert trace.skipped == skipped
    assert trace.jobs[0].submit == 0.0
    with pytest.raises(TraceError) as raised:
        read_trace(path, strict=True)
    assert str(raised.value) == f"{path}: {message}"


def truncated_gzip(path: Path) -> None:
    data = itp_sample_gz()
    path.write_bytes(data[: len(data) // 2])


def random_bytes(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 16)


def gzip_magic_then_garbage(path: Path) -> None:
    path.write_bytes(b"\x1f\x8b\x07" + bytes(range(200)))  # method 7: not deflate


def latin1_text(path: Path) -> None:
    path.write_bytes(ITP.encode() + "a,0,600,1,\xe9\n".encode("latin-1"))


def text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content)


# (writer, message fragment): the whole file is rejected in both modes
FILE_PROBLEMS = [
    pytest.param(truncated_gzip, "truncated gzip stream", id="truncated-gzip"),
    pytest.param(gzip_magic_then_garbage, "corrupt gzip data", id="corrupt-gzip"),
    pytest.param(random_bytes, "binary data", id="binary-garbage"),
    pytest.param(latin1_text, "not UTF-8 text", id="not-utf8"),
    pytest.param(text(""), "empty file", id="empty-file"),
    pytest.param(text("\n\n  \n"), "empty file", id="blank-file"),
    pytest.param(text(ITP), "no jobs, the file has only a header", id="header-only"),
    pytest.param(text(ITP + "\n\n"), "no jobs, the file has only a header", id="header-blank"),
    pytest.param(
        text("when,what\n1,2\n"),
        "line 1: unknown header 'when,what'; known formats: philly-pollux (",
        id="unknown-header",
    ),
    pytest.param(
        text("job_id,submission_time,duration\na,1,2\n"),
        "unknown header",
        id="missing-column",
    ),
    pytest.param(
        text("job_id,job_id,duration,num_gpu\na,1,2,3\n"),
        "unknown header",
        id="repeated-column",
    ),
    pytest.param(
        text(MULTIGPU),
        "line 1: this is an Alibaba openb multigpu* variant: it has no arrival or duration times",
        id="openb-multigpu",
    ),
    pytest.param(
        text(ITP + "c,1,600,0\nd,2,600,0\n"),
        "no usable jobs, every row was skipped (no_gpu 2)",
        id="nothing-usable",
    ),
]


@pytest.mark.parametrize(("write", "message"), FILE_PROBLEMS)
@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_unreadable_files_raise_trace_error(
    tmp_path: Path, write: Callable[[Path], None], message: str, strict: bool
) -> None:
    path = tmp_path / "trace.csv.gz"
    write(path)
    with pytest.raises(TraceError, match="^" + re.escape(str(path))) as raised:
        read_trace(path, strict=strict)
    assert message in str(raised.value)


def test_nothing_usable_lists_skip_counts(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(ITP + "a,x,600,1\nb,1,-600,1\nc,1,600,0\n")
    with pytest.raises(TraceError) as raised:
        read_trace(path)
    assert str(raised.value) == (
        f"{path}: no usable jobs, every row was skipped (bad_number 1, negative_time 1, no_gpu 1)"
    )


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read the file"):
        read_trace(tmp_path / "absent.csv.gz")
    with pytest.raises(TraceError, match="cannot read the file"):
        read_trace(tmp_path)


@pytest.mark.parametrize("limit", [0, -3, 2.5, True], ids=["zero", "negative", "float", "bool"])
def test_bad_limit(limit: object) -> None:
    with pytest.raises(TraceError, match="limit"):
        read_trace(limit=limit)  # type: ignore[arg-type]


def test_filters_never_raise_in_strict_mode(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(
        OPENB
        + "pod-0,1000,100,1,500,,LS,Running,0,100,0\n"
        + "pod-1,1000,100,0,0,,LS,Running,0,100,0\n"
        + "pod-2,1000,100,1,1000,,BE,Pending,10,50,\n"
    )
    trace = read_trace(path, strict=True)
    assert trace.skipped == {"never_started": 1, "no_gpu": 1}
    assert [job.id for job in trace.jobs] == ["pod-0"]


MUTATIONS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=400),
        st.sampled_from(["", ",", "\n", "abc", "-1", "1e400", "nan", " ", "\r", '"', "é", "0"]),
    ),
    min_size=1,
    max_size=6,
)
GOOD_FILES = [
    ITP + "a,0,600,1\nb,5,700,2\nc,9,800,4",
    HELIOS + "0,1,1,1,1,0,84,0,Pass\r\n1,1,8,2,1,5,9,0,Pass\r\n2,2,0,1,1,5,9,0,Failed\r\n",
    PHILLY + "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n2017-10-09 06:13:03,2951.0,8,1.0,6214e9\n",
    OPENB
    + "pod-0,1000,100,1,500,,LS,Running,0,100,0\n"
    + "pod-1,2000,100,2,1000,A|B,BE,Pending,5,50,\n"
    + "pod-2,3000,100,0,0,,Burstable,Failed,7,50,9\n",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(GOOD_FILES),
    edits=MUTATIONS,
    compress=st.booleans(),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=600)),
    strict=st.booleans(),
)
def test_damaged_files_never_escape_as_other_errors(
    tmp_path_factory: pytest.TempPathFactory,
    base: str,
    edits: list[tuple[int, str]],
    compress: bool,
    cut: int | None,
    strict: bool,
) -> None:
    text = base
    for position, token in edits:
        at = position % (len(text) + 1)
        text = text[:at] + token + text[at + 1 :]
    data = text.encode()
    if compress:
        data = gzip.compress(data)
    if cut is not None:
        data = data[:cut]
    path = tmp_path_factory.mktemp("fuzz") / "trace.csv"
    path.write_bytes(data)
    try:
        trace = read_trace(path, strict=strict)
    except TraceError:
        return
    assert trace.jobs and trace.jobs[0].submit == 0.0
