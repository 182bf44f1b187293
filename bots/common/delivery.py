"""Turning notifications and models into outgoing messages, and the long-poll delivery loop."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog

from bots.common import texts
from bots.common.client import DaemonClient
from bots.common.errors import DaemonUnavailable, RpcError
from bots.common.schemas import Actor
from daemon.schemas import ModelOut, NotificationOut

log = structlog.get_logger(__name__)
# How long a stopping bot lets a delivery under way finish and be acknowledged.
STOP_GRACE_SECONDS = 30.0


class OutKind(StrEnum):
    text = "text"  # a plain message
    document = "document"  # a file kept byte-exact (the LoRA)
    photo = "photo"  # an image shown inline (loss curve, samples)


@dataclass(frozen=True)
class Outgoing:
    """One message to send: a text, or a file with a caption."""

    kind: OutKind
    text: str = ""
    filename: str = ""
    data: bytes = b""


def actor_of(n: NotificationOut) -> Actor:
    """The person a notification is for."""
    return Actor(platform=n.platform, user_id=n.platform_user_id)


def _file_kind(role: str, kind: str, name: str) -> OutKind | None:
    if role == "checkpoint":
        return None  # a saved checkpoint: downloaded on request
    if role.startswith("lora") or kind == "lora" or name.endswith(".safetensors"):
        return OutKind.document
    if role in ("loss_curve", "samples") or kind == "image":
        return OutKind.photo
    return None


async def model_messages(
    client: DaemonClient, actor: Actor | None, model: ModelOut, job_id: int | None
) -> list[Outgoing]:
    """The LoRA files as documents, then the loss curve and the samples as photos."""
    documents: list[Outgoing] = []
    photos: list[Outgoing] = []
    trigger = model.trigger_word or "—"
    for f in model.files:
        role = f.role or ""
        kind = _file_kind(role, f.kind, f.name)
        if kind is None:
            continue
        data = await client.model_file(actor, model.id, f.name)
        if kind is OutKind.document:
            caption = f"{model.name} — {role or f.kind} ({f.name})"
            documents.append(Outgoing(kind, caption, f.name, data))
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
        return [Outgoing(OutKind.text, text), *await model_messages(client, actor, model, job_id)]
    refunded = n.payload.get("refunded", job.refunded if job else 0) or 0
    if n.kind == "job_failed":
        reason = n.payload.get("error") or (job.error if job else None) or "unknown error"
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
