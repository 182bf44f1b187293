"""Turning notifications and models into outgoing messages, and the long-poll delivery loop."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from bots.common import checkpoints, i18n, results, texts
from bots.common.client import DaemonClient
from bots.common.errors import DaemonUnavailable, RpcError
from bots.common.outgoing import Outgoing, OutKind
from bots.common.schemas import Actor
from core.naming import file_stem
from daemon.schemas import ModelOut, NotificationOut

log = structlog.get_logger(__name__)
# How long a stopping bot lets a delivery under way finish and be acknowledged.
STOP_GRACE_SECONDS = 30.0


def actor_of(n: NotificationOut) -> Actor:
    """The person a notification is for."""
    return Actor(platform=n.platform, user_id=n.platform_user_id)


# The one LoRA file a person gets: the kohya format loads in A1111, Forge, ComfyUI, kohya and
# diffusers alike; the diffusers (PEFT) file loads only in diffusers and stays downloadable.
SENT_LORA_ROLE = "lora_kohya"


def _file_kind(role: str, kind: str) -> OutKind | None:
    if role == SENT_LORA_ROLE:
        return OutKind.document
    if role in ("loss_curve", "samples") or (kind == "image" and role != checkpoints.ROLE):
        return OutKind.photo
    return None  # the diffusers file, checkpoints (downloaded on request, by step), summaries


def lora_file_name(model: ModelOut) -> str:
    """What the sent LoRA file is called: after the model (`<model-name>.safetensors`)."""
    return f"{file_stem(model.name)}.safetensors"


async def model_messages(
    client: DaemonClient, actor: Actor | None, model: ModelOut, job_id: int | None
) -> list[Outgoing]:
    """The kohya LoRA file as a document, then the loss curve and the samples as photos."""
    documents: list[Outgoing] = []
    photos: list[Outgoing] = []
    trigger = model.trigger_word or "—"
    for f in model.files:
        role = f.role or ""
        kind = _file_kind(role, f.kind)
        if kind is None:
            continue
        data = await client.model_file(actor, model.id, f.name)
        if kind is OutKind.document:
            name = lora_file_name(model)
            documents.append(Outgoing(kind, texts.LORA_FILE.format(name=model.name), name, data))
        elif role == "loss_curve" or "loss" in f.name:
            caption = texts.LOSS_CURVE.format(job_id=job_id or model.job_id or "?")
            photos.insert(0, Outgoing(kind, caption, f.name, data))
        else:
            caption = texts.SAMPLES.format(model_id=model.id, trigger=trigger)
            photos.append(Outgoing(kind, caption, f.name, data))
    return documents + photos


async def notification_messages(client: DaemonClient, n: NotificationOut) -> list[Outgoing]:
    """What to send for one notification (empty for kinds the bots do not show)."""
    if n.kind == "low_balance":
        return [Outgoing(OutKind.text, low_balance_text(n.payload))]
    shown = results.SHOWN.get(n.kind)
    if shown is not None:
        return await shown(client, actor_of(n), n.payload)
    actor = actor_of(n)
    job_id = int(n.payload.get("job_id", 0)) or None
    job = await client.job(actor, job_id) if job_id else None
    if n.kind == "job_completed":
        model_id = n.payload.get("model_id") or (job.model_id if job else None)
        if model_id is None:
            raise ValueError(f"notification {n.id} names no model")
        model = await client.model(actor, int(model_id))
        trigger = model.trigger_word or "—"
        text = texts.DONE.format(job_id=job_id, model_id=model.id, trigger=trigger)
        first = Outgoing(OutKind.text, text, rows=checkpoints.completion_rows(model))
        return [first, *await model_messages(client, actor, model, job_id)]
    refunded = n.payload.get("refunded", job.refunded if job else 0) or 0
    if n.kind in ("job_failed", "job_cancelled"):
        reason = n.payload.get("error") or (job.error if job else None) or "unknown error"
        ended = results.ended(n.kind, n.payload, job, reason, refunded)
        if ended is not None:
            return ended
    if n.kind == "job_failed":
        text = texts.FAILED.format(job_id=job_id, reason=reason, refunded=refunded)
        return [Outgoing(OutKind.text, text)]
    if n.kind == "job_cancelled":
        return [Outgoing(OutKind.text, texts.CANCELLED.format(job_id=job_id, refunded=refunded))]
    if n.kind == "job_started":
        return [Outgoing(OutKind.text, texts.STARTED.format(job_id=job_id))]
    return []


def low_balance_text(payload: dict[str, Any]) -> str:
    """The low-balance notice: the balance left, and where to buy more."""
    return texts.LOW_BALANCE.format(
        balance=payload.get("balance", "?"), threshold=payload.get("threshold", "?")
    )


Deliver = Callable[[NotificationOut, list[Outgoing]], Awaitable[None]]


async def deliver_once(client: DaemonClient, n: NotificationOut, deliver: Deliver) -> bool:
    """Send one notification, then acknowledge it; False (and no ack) when sending failed."""
    try:
        # No person is in context: the notification says whose language it is written in.
        with i18n.use_locale(n.language):
            messages = await notification_messages(client, n)
            if messages:
                await deliver(n, messages)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        # Not acknowledged: the daemon serves it again when its lease runs out.
        log.warning("delivery_failed", notification_id=n.id, kind=n.kind, error=repr(exc))
        return False
    await client.ack([n.id])
    log.info("notification_delivered", notification_id=n.id, kind=n.kind)
    return True


async def run_notifier(
    client: DaemonClient, platform: str, deliver: Deliver, *, wait: float = 25.0
) -> None:
    """Long-poll the daemon forever: deliver each notification, then acknowledge it."""
    while True:
        try:
            batch = await client.notifications(platform, wait)
        except (DaemonUnavailable, RpcError) as exc:
            log.warning("notification_poll_failed", error=str(exc))
            await asyncio.sleep(2.0)
            continue
        for n in batch:
            try:
                await _deliver_to_the_end(client, n, deliver)
            except (DaemonUnavailable, RpcError) as exc:
                log.warning("ack_failed", notification_id=n.id, error=str(exc))


async def _deliver_to_the_end(client: DaemonClient, n: NotificationOut, deliver: Deliver) -> None:
    """Deliver and acknowledge; a stop arriving meanwhile waits (a while) for the ack.

    Stopping between the last message and its ack would make the next run send it all again.
    """
    delivery = asyncio.ensure_future(deliver_once(client, n, deliver))
    try:
        await asyncio.shield(delivery)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(delivery, STOP_GRACE_SECONDS)
        raise
