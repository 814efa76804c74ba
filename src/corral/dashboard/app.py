"""The dashboard's web app: the JSON API (described by FastAPI's OpenAPI schema at
``/openapi.json``) and the pages, plain HTML, JavaScript and CSS served from this package,
which load nothing from the network.

Every API call needs a bearer token. What a caller sees is cut to the projects they may see
before anything is read (:mod:`corral.dashboard.access`): the project list, usage, and job
listings all take the visible projects as their filter, so no page can show another
project's jobs. Only admins create or change projects, and each change is written to the
audit log before it is answered.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from corral import __version__
from corral.dashboard.access import Viewer
from corral.dashboard.api_models import (
    DatasetRow,
    JobPage,
    JobRow,
    JobState,
    Me,
    NodeRow,
    Project,
    ProjectChange,
    RunRow,
    UsageReport,
    UsageSeries,
    UserUsage,
)
from corral.dashboard.cache_stats import dataset_rows
from corral.dashboard.projects import ProjectExists, ProjectNotFound
from corral.dashboard.sources import Sources
from corral.history.store import HistoryError
from corral.model import ConfigError

CURRENT_STATES = ("pending", "running")
MAX_PAGE = 500


_bearer = HTTPBearer(auto_error=False)


async def _viewer(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Viewer:
    """The caller, from their bearer token; 401 without one the access source accepts."""
    if credentials is None:
        raise HTTPException(401, "a bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    found = await request.app.state.sources.access.viewer(credentials.credentials)
    if found is None:
        raise HTTPException(401, "the token was not accepted",
                            headers={"WWW-Authenticate": "Bearer"})
    return found


Caller = Annotated[Viewer, Depends(_viewer)]


def create_app(sources: Sources) -> FastAPI:
    app = FastAPI(title="Corral dashboard", version=__version__,
                  description="Projects, usage, jobs, nodes, datasets and simulation runs.",
                  responses={401: {"description": "No bearer token, or one not accepted"},
                             503: {"description": "The history database is unreachable"}})
    app.state.sources = sources

    async def visible(caller: Viewer) -> list[Project]:
        return [p for p in await sources.projects.list()
                if await sources.access.sees(caller, p)]

    async def scope(caller: Viewer, project: str | None) -> list[str] | None:
        """The queues *caller* may read, narrowed to *project* if named (None: every queue,
        an admin's view)."""
        if project is None:
            return None if caller.admin else [p.name for p in await visible(caller)]
        if caller.admin or project in {p.name for p in await visible(caller)}:
            return [project]
        raise HTTPException(403, f"user {caller.name} may not see project {project}")

    @app.exception_handler(ConfigError)
    async def bad_input(_: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(HistoryError)
    async def no_history(_: Request, exc: HistoryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.get("/api/me")
    async def me(caller: Caller) -> Me:
        return Me(name=caller.name, admin=caller.admin, mode=sources.mode)

    @app.get("/api/projects")
    async def projects(caller: Caller) -> list[Project]:
        return await visible(caller)

    def admin_only(caller: Viewer) -> None:
        if not caller.admin:
            raise HTTPException(403, f"user {caller.name} is not an admin: only admins "
                                     "create or change projects")

    @app.post("/api/projects", status_code=201, responses=_answers(400, 403, 409))
    async def create_project(change: ProjectChange, caller: Caller) -> Project:
        admin_only(caller)
        try:
            created = await sources.projects.create(change)
        except ProjectExists as exc:
            raise HTTPException(409, str(exc)) from None
        sources.audit.append(caller.name, "create", change.name, None, created.model_dump())
        return created

    @app.put("/api/projects/{name}", responses=_answers(400, 403, 404))
    async def change_project(name: str, change: ProjectChange, caller: Caller) -> Project:
        admin_only(caller)
        if change.name != name:
            raise HTTPException(400, f"the body names project {change.name}, the path {name}")
        try:
            before, after = await sources.projects.update(change)
        except ProjectNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        sources.audit.append(caller.name, "update", name, before.model_dump(),
                             after.model_dump())
        return after

    @app.get("/api/audit", responses=_answers(403))
    async def audit(caller: Caller) -> list[dict[str, Any]]:
        admin_only(caller)
        return sources.audit.entries()

    @app.get("/api/usage", responses=_answers(403))
    async def usage(caller: Caller,
                    project: Annotated[str | None, Query(max_length=1024)] = None
                    ) -> UsageReport:
        queues = await scope(caller, project)
        if sources.history is None:
            return UsageReport(projects=[], users=[])
        quotas = {p.name: p.quota_gpus for p in await sources.projects.list()}
        return UsageReport(
            projects=_series(sources.history.usage(queues), quotas),
            users=[UserUsage(project=q, user=u, gpu_hours=round(s / 3600, 3), attempts=n)
                   for q, u, s, n in sources.history.usage(queues, by_user=True)])

    @app.get("/api/jobs", responses=_answers(403))
    async def jobs(caller: Caller,
                   project: Annotated[str | None, Query(max_length=1024)] = None,
                   user: Annotated[str | None, Query(max_length=1024)] = None,
                   state: JobState | None = None,
                   offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                   limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50) -> JobPage:
        queues = await scope(caller, project)
        current: list[JobRow] = []
        if sources.cluster is not None and state in (None, *CURRENT_STATES):
            current = [job for job in await sources.cluster.jobs()
                       if (queues is None or job.project in queues)
                       and (user is None or job.user == user)
                       and (state is None or job.state == state)]
            current.sort(key=lambda job: (job.state != "pending", -job.submit))
        page = current[offset:offset + limit]
        total = len(current)
        if sources.history is not None and state not in CURRENT_STATES:
            skip = max(0, offset - len(current))
            count, rows = sources.history.page(queues=queues, user=user, outcome=state,
                                               offset=skip, limit=limit - len(page))
            total += count
            page += [_finished(row) for row in rows]
        return JobPage(total=total, offset=offset, jobs=page)

    @app.get("/api/nodes")
    async def nodes(_: Caller) -> list[NodeRow]:
        return [] if sources.cluster is None else await sources.cluster.nodes()

    @app.get("/api/datasets")
    async def datasets(_: Caller) -> list[DatasetRow]:
        return dataset_rows(sources.caches)

    @app.get("/api/runs")
    async def runs(_: Caller) -> list[RunRow]:
        return [] if sources.runs is None else sources.runs.runs()

    @app.get("/api/runs/report", response_class=HTMLResponse, responses=_answers(404))
    async def run_report(_: Caller, path: Annotated[str, Query(max_length=4096)]
                         ) -> HTMLResponse:
        found = None if sources.runs is None else sources.runs.report_file(path)
        if found is None:
            raise HTTPException(404, f"no report {path!r} in the runs folder")
        return HTMLResponse(found.read_text(encoding="utf-8"))

    static = Path(str(files("corral.dashboard") / "static"))

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(static / "index.html")

    app.mount("/static", StaticFiles(directory=static), name="static")
    return app


_MEANINGS = {400: "The change would make a queue file or Queue the scheduler refuses",
             403: "The caller may not see that project, or is not an admin",
             404: "No such project or report", 409: "A project by that name exists"}


def _answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error *codes* an operation may answer."""
    return {code: {"description": _MEANINGS[code]} for code in codes}


def _series(rows: list[tuple[Any, ...]], quotas: dict[str, float | None]) -> list[UsageSeries]:
    """Rows of (day, key, GPU-seconds, attempts) as one series per key."""
    by_key: dict[str, tuple[list[int], list[float], list[int]]] = {}
    for day, key, seconds, attempts in rows:
        days, hours, counts = by_key.setdefault(key, ([], [], []))
        days.append(int(day))
        hours.append(round(float(seconds) / 3600, 3))
        counts.append(int(attempts))
    return [UsageSeries(key=key, quota_gpus=quotas.get(key), days=days, gpu_hours=hours,
                        total_gpu_hours=round(sum(hours), 3), attempts=sum(counts))
            for key, (days, hours, counts) in sorted(by_key.items())]


def _finished(row: dict[str, Any]) -> JobRow:
    return JobRow(id=f"{row['source']}/{row['job_id']}#{row['attempt']}", project=row["queue"],
                  user=row["user"], name=row["name"], state=row["outcome"],
                  gpus=row["tasks"] * row["gpu_milli"] / 1000, gpu_type=row["gpu_type"],
                  submit=row["submit"], start=row["start"], end=row["end"],
                  gpu_util=row["gpu_util"], gpu_util_peak=row["gpu_util_peak"],
                  gpu_mem_peak_mib=row["gpu_mem_peak_mib"])
