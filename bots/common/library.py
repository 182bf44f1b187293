"""The smaller screens: start, balance, link, and the lists of datasets, models and jobs."""

from bots.common import care_texts, market_texts, texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.dataset_care import care_rows
from bots.common.delivery import model_messages
from bots.common.errors import ConflictError
from bots.common.outgoing import Outgoing
from bots.common.publishing import publish_button
from bots.common.schemas import Actor
from bots.common.screens import Button, Expect, Screen, chunk
from core.enums import ItemKind
from daemon.schemas import JobOut

MAX_LISTED = 20


def _list_screen(lines: list[str], buttons: list[Button]) -> Screen:
    """A list screen: one line per item, its buttons two to a row."""
    return Screen("\n".join(map(str, lines)), chunk(buttons, 2))


async def start(client: DaemonClient, actor: Actor) -> Screen:
    """Welcome, balance, what the bot does and the next step."""
    return Screen(texts.welcome(await client.me(actor)))


async def balance(client: DaemonClient, actor: Actor) -> Screen:
    """Balance and recent ledger entries."""
    account = await client.me(actor)
    return Screen(texts.ledger(account.balance, await client.ledger(actor, limit=10)))


async def link_code(client: DaemonClient, actor: Actor) -> Screen:
    """A code to redeem on the other platform."""
    code = await client.link_code(actor)
    minutes = max(1, code.expires_in_seconds // 60)
    return Screen(texts.LINK_CODE.format(code=code.code, minutes=minutes))


async def link(client: DaemonClient, actor: Actor, code: str) -> Screen:
    """Redeem a link code from the other platform."""
    account = await client.link(actor, code.strip())
    return Screen(texts.LINKED.format(account_id=account.id, balance=account.balance))


async def datasets(client: DaemonClient, actor: Actor) -> Screen:
    """The person's datasets with an Open button each."""
    shown = (await client.datasets(actor))[:MAX_LISTED]
    if not shown:
        return Screen(texts.NO_DATASETS + " Send /train.")
    lines = [texts.DATASETS_HEADER, *(texts.dataset_line(d) for d in shown)]
    return _list_screen(lines, [Button(d.name, Action.open_dataset, str(d.id)) for d in shown])


async def dataset(client: DaemonClient, actor: Actor, dataset_id: int) -> Screen:
    """One dataset: its details, images, and what can be done with it."""
    d = await client.dataset(actor, dataset_id)
    images = await client.images(actor, dataset_id)
    lines = [
        texts.DATASET_DETAIL.format(
            id=d.id,
            name=d.name,
            trigger=d.trigger_word or "—",
            count=d.image_count,
            visibility=d.visibility,
        ),
        care_texts.about(d.description, d.tags),
        *(
            texts.IMAGE_LINE.format(
                id=i.id,
                filename=i.filename,
                width=i.width,
                height=i.height,
                caption=i.caption or "—",
            )
            for i in images[:MAX_LISTED]
        ),
    ]
    rows = [
        [
            Button(texts.BTN_ADD_IMAGES, Action.add_images, str(d.id)),
            publish_button(ItemKind.dataset, d.id),
            Button(texts.BTN_DELETE, Action.delete_dataset, str(d.id)),
        ],
        *care_rows(d.id),
        *chunk(
            [
                Button(f"✎ #{i.id}", Action.recaption, f"{d.id}.{i.id}")
                for i in images[:MAX_LISTED]
            ],
            4,
        ),
    ]
    return Screen("\n".join(map(str, lines)), rows)


def ask_caption(image_id: int) -> Screen:
    """Ask for an image's new caption."""
    return Screen(
        texts.ASK_CAPTION.format(image_id=image_id),
        expects=Expect.text,
        prompt=texts.PROMPT_CAPTION,
    )


async def recaption(
    client: DaemonClient, actor: Actor, dataset_id: int, image_id: int, caption: str
) -> Screen:
    """Set an image's caption."""
    await client.recaption(actor, dataset_id, image_id, caption.strip())
    return Screen(texts.RECAPTIONED.format(image_id=image_id))


async def delete_dataset(client: DaemonClient, actor: Actor, dataset_id: int) -> Screen:
    """Delete a dataset (the daemon refuses while a job uses it)."""
    d = await client.dataset(actor, dataset_id)
    try:
        await client.delete_dataset(actor, dataset_id)
    except ConflictError as exc:
        return Screen(texts.ERROR.format(message=exc.message))
    return Screen(texts.DATASET_DELETED.format(name=d.name))


async def models(client: DaemonClient, actor: Actor) -> Screen:
    """The person's models with a Download button each."""
    shown = (await client.models(actor))[:MAX_LISTED]
    if not shown:
        return Screen(texts.NO_MODELS)
    # One row per model: its Download and its Publish.
    rows = [
        [
            Button(f"{texts.BTN_DOWNLOAD} #{m.id}", Action.download_model, str(m.id)),
            publish_button(ItemKind.model, m.id, f"{market_texts.BTN_PUBLISH} #{m.id}"),
        ]
        for m in shown
    ]
    return Screen("\n".join(texts.model_line(m) for m in shown), rows)


async def model_download(client: DaemonClient, actor: Actor, model_id: int) -> list[Outgoing]:
    """A model's files as messages."""
    model = await client.model(actor, model_id)
    return await model_messages(client, actor, model, model.job_id)


async def jobs(client: DaemonClient, actor: Actor) -> Screen:
    """The person's jobs, with Cancel on those still running."""
    shown = (await client.jobs(actor))[:MAX_LISTED]
    if not shown:
        return Screen(texts.NO_JOBS)
    buttons = [
        Button(f"{texts.CANCEL_JOB} #{j.id}", Action.cancel_job, str(j.id))
        for j in shown
        if not j.is_final
    ]
    return _list_screen([texts.job_line(j) for j in shown], buttons)


async def cancel_job(client: DaemonClient, actor: Actor, job_id: int) -> tuple[Screen, JobOut]:
    """Cancel a job and say what was refunded."""
    job = await client.job(actor, job_id)
    if job.is_final:
        return Screen(texts.JOB_NOT_CANCELLABLE.format(job_id=job.id, status=job.status)), job
    cancelled = await client.cancel_job(actor, job_id)
    text = texts.JOB_CANCELLED.format(job_id=cancelled.id, refunded=cancelled.refunded_now)
    return Screen(text), cancelled
