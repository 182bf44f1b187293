"""Job pages: the list, and the live training monitor (Server-Sent Events from the daemon's
own job-updated signal, a JSON read for the page's poll fallback, Cancel)."""

from aiohttp import web

from core import checkpoints
from core.jobs import cancel_job, get_job, job_metrics, job_standing, list_jobs
from daemon.answers import blob_answer, json_answer
from daemon.keys import BLOBS, EVENTS, READ_SESSIONMAKER, SESSIONMAKER, SETTINGS
from daemon.routes.jobs import jobs_answer
from daemon.schemas import JobOut, MetricPoint, MonitorOut, SampleOut
from daemon.validation import path_int
from daemon.web.pages import render, see_other
from daemon.web.sessions import person_of

routes = web.RouteTableDef()

# Without a signal (another replica wrote the job, a missed wake-up) the stream still re-reads
# the job this often; a comment line at the same pace tells proxies the stream is alive.
REREAD_SECONDS = 2.0
JOB_LIST_LIMIT = 50


def checkpoint_file_path(job_id: int, step: int, name: str) -> str:
    """Where the dashboard serves one file of a job's saved checkpoint."""
    return f"/ui/jobs/{job_id}/checkpoints/{step}/files/{name}"


async def monitor_state(request: web.Request, job_id: int, account_id: int) -> MonitorOut:
    """The job as its monitor shows it (someone else's job is missing: 404)."""
    async with request.app[READ_SESSIONMAKER].begin() as session:
        job = await get_job(session, job_id, account_id)
        standing = await job_standing(session, job, slots=request.app[SETTINGS].workers)
        points = [MetricPoint.model_validate(row) for row in await job_metrics(session, job.id)]
    sampled = [c for c in job.checkpoints if c.get("sample")]
    latest = sampled[-1] if sampled else None
    sample = (
        None
        if latest is None
        else SampleOut(
            step=latest["step"],
            name=latest["sample"],
            url=checkpoint_file_path(job.id, latest["step"], latest["sample"]),
        )
    )
    return MonitorOut(job=JobOut.of(job, standing), points=points, sample=sample)


@routes.get("/ui/jobs")
async def jobs_page(request: web.Request) -> web.Response:
    """The signed-in person's jobs, newest first."""
    account = person_of(request)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        jobs = await list_jobs(session, account.id, limit=JOB_LIST_LIMIT)
        answer = await jobs_answer(session, jobs, slots=request.app[SETTINGS].workers)
    return await render(request, "jobs.html", jobs=answer.jobs)


@routes.get("/ui/jobs/{id}")
async def monitor_page(request: web.Request) -> web.Response:
    """The live monitor of one job."""
    account, job_id = person_of(request), path_int(request, "id")
    state = await monitor_state(request, job_id, account.id)
    # In a <script> element: no "<" may end it early (JSON reads \u003c as the same "<").
    state_json = state.model_dump_json().replace("<", "\\u003c")
    return await render(request, "job.html", state=state, state_json=state_json)


@routes.get("/ui/api/jobs/{id}")
async def monitor_api(request: web.Request) -> web.Response:
    """The monitor's state once (the page polls this when its event stream is down)."""
    account, job_id = person_of(request), path_int(request, "id")
    return json_answer(await monitor_state(request, job_id, account.id))


@routes.get("/ui/api/jobs/{id}/events")
async def monitor_events(request: web.Request) -> web.StreamResponse:
    """`text/event-stream` of the monitor's state: an `update` event on each change, until
    the job is final."""
    account, job_id = person_of(request), path_int(request, "id")
    events = request.app[EVENTS]
    seen = events.job_updates_generation()
    state = await monitor_state(request, job_id, account.id)  # 404 before the stream opens
    stream = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await stream.prepare(request)
    sent = ""
    while True:
        text = state.model_dump_json()
        if text != sent:
            await stream.write(f"event: update\ndata: {text}\n\n".encode())
            sent = text
        if state.job.status.is_final:
            break
        if not await events.wait_job_updated(REREAD_SECONDS, after=seen):
            await stream.write(b": alive\n\n")
        seen = events.job_updates_generation()
        state = await monitor_state(request, job_id, account.id)
    await stream.write_eof()
    return stream


@routes.post("/ui/jobs/{id}/cancel")
async def cancel_form(request: web.Request) -> web.Response:
    """Cancel the job (refunded by the rules), then show its monitor again."""
    account, job_id = person_of(request), path_int(request, "id")
    async with request.app[SESSIONMAKER].begin() as session:
        await cancel_job(session, job_id, account.id)
    request.app[EVENTS].jobs_changed()
    raise see_other(f"/ui/jobs/{job_id}")


@routes.get("/ui/jobs/{id}/checkpoints/{step}/files/{name}")
async def checkpoint_file(request: web.Request) -> web.StreamResponse:
    """One file of a saved checkpoint (the monitor's sample image)."""
    account = person_of(request)
    job_id, step = path_int(request, "id"), path_int(request, "step")
    async with request.app[READ_SESSIONMAKER].begin() as session:
        job = await get_job(session, job_id, account.id)
    key, media_type = await checkpoints.checkpoint_file(
        request.app[BLOBS], job, step, request.match_info["name"]
    )
    return await blob_answer(request, request.app[BLOBS], key, {"Content-Type": media_type})
