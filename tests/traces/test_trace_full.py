"""The full shared traces (skipped when the shared folder is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.traces import TraceError, read_trace

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "traces"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared traces folder not present")


@needs_shared
@pytest.mark.parametrize(
    ("relative", "fmt", "jobs", "skipped"),
    [
        pytest.param("philly-pollux/philly.csv.gz", "philly-pollux", 82_247, {}, id="philly"),
        pytest.param(
            "helios-dirlab-excerpt/helios_data_training.csv.gz",
            "helios",
            10_796,
            {"no_gpu": 4_204},
            id="helios",
        ),
        pytest.param(
            "philly-dirlab-excerpt/philly_data_training.csv.gz", "helios", 15_000, {}, id="dirlab"
        ),
        pytest.param("microsoft-itp-2021/cluster04.csv.gz", "itp", 15_802, {}, id="itp-04"),
        pytest.param(
            "alibaba-openb-2023/openb_pod_list_default.csv.gz",
            "openb",
            6_203,
            {"never_started": 897, "no_gpu": 1_052},
            id="openb-default",
        ),
    ],
)
def test_full_trace(relative: str, fmt: str, jobs: int, skipped: dict[str, int]) -> None:
    trace = read_trace(SHARED / relative)
    assert (trace.format, len(trace.jobs), trace.skipped) == (fmt, jobs, skipped)
    submits = [job.submit for job in trace.jobs]
    assert submits[0] == 0.0
    assert submits == sorted(submits)


@needs_shared
def test_full_philly_span_and_work() -> None:
    trace = read_trace(SHARED / "philly-pollux/philly.csv.gz")
    # 2017-09-04 10:30:41 -> 2017-12-22 08:02:11 (naive wall-clock)
    assert trace.jobs[-1].submit == 9_408_690.0
    gpu_hours = sum(job.gpus * (job.duration or 0.0) for job in trace.jobs) / 3600
    assert round(gpu_hours) == 978_078
    assert len({job.queue for job in trace.jobs}) == 15


@needs_shared
def test_openb_gpuspec_variant_constrains_types() -> None:
    trace = read_trace(SHARED / "alibaba-openb-2023/variants/openb_pod_list_gpuspec33.csv.gz")
    constrained = [job for job in trace.jobs if job.gpu_types]
    assert constrained
    assert all(all(t for t in job.gpu_types) for job in constrained)


@needs_shared
@pytest.mark.parametrize("share", ["20", "30", "40", "50"])
def test_openb_multigpu_variants_are_rejected(share: str) -> None:
    path = SHARED / f"alibaba-openb-2023/variants/openb_pod_list_multigpu{share}.csv.gz"
    with pytest.raises(TraceError, match="no arrival or duration times"):
        read_trace(path)
