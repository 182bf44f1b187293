"""A training's checkpoints: keeping the one whose sample was shown, and downloading any
saved one of a finished model (its files with role `checkpoint` and their step)."""

from bots.common import media_texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import ConflictError
from bots.common.outgoing import Outgoing, OutKind
from bots.common.schemas import Actor
from bots.common.screens import Button, Screen, StaleAction, chunk
from daemon.schemas import ModelOut

ROLE = "checkpoint"
MAX_STEPS_SHOWN = 20


def pair(arg: str) -> tuple[int, int]:
    """`12.300` → (12, 300); anything else is a button this bot did not make."""
    first, _, second = arg.partition(".")
    if not all(p.isascii() and p.isdigit() for p in (first, second)):
        raise StaleAction(arg)
    return int(first), int(second)


def steps_of(model: ModelOut) -> list[int]:
    """The steps of the model's saved checkpoints, in order."""
    return sorted({f.step for f in model.files if f.role == ROLE and f.step is not None})


def completion_rows(model: ModelOut) -> list[list[Button]]:
    """Under "Your LoRA is ready": Try it, and the saved checkpoints when there are some."""
    row = [Button(media_texts.BTN_TRY, Action.try_model, str(model.id))]
    if steps_of(model):
        row.append(Button(media_texts.BTN_CHECKPOINTS, Action.checkpoints, str(model.id)))
    return [row]


def sample_rows(job_id: int, step: int) -> list[list[Button]]:
    """Under a training's sample: Keep this one."""
    return [[Button(media_texts.BTN_KEEP, Action.keep_sample, f"{job_id}.{step}")]]


async def keep(client: DaemonClient, actor: Actor, arg: str) -> Screen:
    """End the training with the checkpoint of that step; say what was refunded."""
    job_id, step = pair(arg)
    try:
        kept = await client.keep(actor, job_id, step)
    except ConflictError:
        return Screen(media_texts.KEEP_TOO_LATE.format(job_id=job_id))
    text = media_texts.KEPT.format(
        step=step, job_id=kept.id, model_id=kept.model_id, refunded=kept.refunded_now
    )
    return Screen(text)


async def listing(client: DaemonClient, actor: Actor, model_id: int) -> Screen:
    """The model's saved checkpoints, a button each."""
    model = await client.model(actor, model_id)
    steps = steps_of(model)
    if not steps:
        return Screen(media_texts.NO_CHECKPOINTS.format(model_id=model.id))
    label = media_texts.BTN_STEP
    buttons = [
        Button(label.format(step=step), Action.checkpoint_files, f"{model.id}.{step}")
        for step in steps[-MAX_STEPS_SHOWN:]
    ]
    return Screen(media_texts.CHECKPOINTS.format(model_id=model.id), chunk(buttons, 4))


async def files(client: DaemonClient, actor: Actor, arg: str) -> list[Outgoing]:
    """The LoRA files of one saved checkpoint, as documents."""
    model_id, step = pair(arg)
    model = await client.model(actor, model_id)
    chosen = [f for f in model.files if f.role == ROLE and f.step == step]
    if not chosen:
        raise StaleAction(arg)
    return [
        Outgoing(
            OutKind.document,
            media_texts.CHECKPOINT_FILE.format(model_id=model.id, step=step, name=f.name),
            f.name,
            await client.model_file(actor, model.id, f.name),
        )
        for f in chosen
    ]
