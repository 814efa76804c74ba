"""Corral's own trace format carries an elastic size range in two optional columns."""

from __future__ import annotations

from corral.traces import read_trace

HEADER = "job_id,attempt,submit,duration,tasks,gpu_milli,gpu_type,queue,user,outcome"


def test_min_and_max_tasks_columns_make_jobs_elastic(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(f"{HEADER},min_tasks,max_tasks\n"
                    "a,1,0,100,4,1000,,q,u,ok,2,8\n"
                    "b,1,5,100,2,1000,,q,u,ok,,\n"
                    "c,1,6,100,2,1000,,q,u,ok,3,\n"
                    "d,1,7,100,4,1000,,q,u,ok,,2\n", encoding="utf-8")
    trace = read_trace(path)
    assert [(j.id, j.min_tasks, j.tasks, j.max_tasks) for j in trace.jobs] == [
        ("a#1", 2, 4, 8), ("b#1", 2, 2, 2)]
    assert trace.skipped == {"bad_gpu_request": 2}


def test_the_format_is_recognised_without_them(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(f"{HEADER}\na,1,0,100,4,1000,,q,u,ok\n", encoding="utf-8")
    assert not read_trace(path).jobs[0].is_elastic
