"""The messages of what caption and generation jobs produce, and of a training's samples."""

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

from bots.common import captions, checkpoints, media_texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.outgoing import Outgoing, OutKind
from bots.common.schemas import Actor
from bots.common.screens import Button
from core.enums import JobKind
from daemon.schemas import JobOut

Shown = Callable[[DaemonClient, Actor, dict[str, Any]], Awaitable[list[Outgoing]]]


async def sample(client: DaemonClient, actor: Actor, p: dict[str, Any]) -> list[Outgoing]:
    """A training's newest sample, with Keep this one (it replaces the job's last sample)."""
    job_id, step, name = int(p["job_id"]), int(p["step"]), str(p["sample"])
    text = media_texts.SAMPLE.format(job_id=job_id, step=step, total=p.get("total_steps", "?"))
    data = await client.checkpoint_file(actor, job_id, step, name)
    rows = checkpoints.sample_rows(job_id, step)
    return [Outgoing(OutKind.sample, text, name, data, rows=rows, key=job_id)]


async def captions_ready(client: DaemonClient, actor: Actor, p: dict[str, Any]) -> list[Outgoing]:
    """The dataset's captions as a numbered list, to fix any of them, then Continue."""
    kept, missing = int(p.get("kept") or 0), int(p.get("missing") or 0)
    header = media_texts.CAPTIONS_READY.format(
        written=p.get("written", 0),
        kept=media_texts.CAPTIONS_KEPT.format(kept=kept) if kept else "",
        missing=media_texts.CAPTIONS_MISSING.format(missing=missing) if missing else "",
    )
    screen = await captions.review(client, actor, int(p["dataset_id"]), header)
    return [Outgoing(OutKind.text, screen.text, rows=screen.rows)]


async def generation_ready(
    client: DaemonClient, actor: Actor, p: dict[str, Any]
) -> list[Outgoing]:
    """The images as one album (a strength sheet as its one picture), then what to do next."""
    generation = await client.generation(actor, int(p["generation_id"]))
    gid = generation.id
    text = media_texts.RESULT.format(
        generation_id=gid, prompt=generation.prompt, seed=generation.seed
    )
    if generation.sheet is not None:
        strengths = media_texts.strengths_text(generation.strengths or [])
        text = media_texts.RESULT_SHEET.format(
            generation_id=gid, prompt=generation.prompt, seed=generation.seed, strengths=strengths
        )
        names = [(generation.sheet.name, "")]
    else:
        names = [
            (i.name, media_texts.TILE.format(strength=f"{i.strength:g}", seed=i.seed))
            for i in generation.images
        ]
    parts = [
        Outgoing(OutKind.photo, caption, name, await client.generation_file(actor, gid, name))
        for name, caption in names
    ]
    buttons = [Button(media_texts.BTN_NEW_SEED, Action.new_seed, str(gid))]
    if not generation.strengths:
        buttons.insert(0, Button(media_texts.BTN_SHEET, Action.strength_sheet, str(gid)))
    return [Outgoing(OutKind.album, text, parts=parts, rows=[buttons])]


def ended(
    kind: str, p: dict[str, Any], job: JobOut | None, reason: str, refunded: int
) -> list[Outgoing] | None:
    """A failed or cancelled caption or generation job in its own words (None: a training)."""
    job_kind = p.get("job_kind") or (job.kind if job else JobKind.train)
    job_id = p.get("job_id", "?")
    failed = kind == "job_failed"
    if job_kind == JobKind.generate:
        template = media_texts.GENERATION_FAILED if failed else media_texts.GENERATION_CANCELLED
    elif job_kind == JobKind.caption:
        template = media_texts.CAPTIONS_FAILED if failed else media_texts.CAPTIONS_CANCELLED
    else:
        return None
    text = template.format(job_id=job_id, reason=reason, refunded=refunded)
    if job_kind == JobKind.generate:
        return [Outgoing(OutKind.text, text)]
    dataset_id = p.get("dataset_id") or (job.dataset_id if job else None)
    rows = []
    if dataset_id:
        # The journey waits for these captions: it goes on without them.
        go_on = Button(media_texts.BTN_CONTINUE_WITHOUT, Action.captions_done, str(dataset_id))
        rows = [[go_on]]
    return [Outgoing(OutKind.text, text, rows=rows)]


SHOWN: Mapping[str, Shown] = MappingProxyType(
    {
        "job_sample": sample,
        "captions_ready": captions_ready,
        "generation_ready": generation_ready,
    }
)
