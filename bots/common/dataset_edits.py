"""The typed answers of dataset care: a new name, description or tags, or the number of an
image to remove.

Each is checked with the daemon's own rules (`core.naming`) before any call: a bad one changes
nothing and is asked again (`CareAnswer.again`).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bots.common import care_texts, library, texts
from bots.common.client import DaemonClient
from bots.common.dataset_care import CareAsk, CareField, remove_number
from bots.common.errors import ConflictError
from bots.common.outgoing import Outgoing, OutKind
from bots.common.schemas import Actor
from core.naming import (
    MAX_DESCRIPTION_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    check_dataset_name,
    has_control_chars,
)

CLEAR = "-"  # the typed answer that removes a description or the tags


@dataclass
class CareAnswer:
    """What a typed answer leads to: the messages to send, and whether it is asked again."""

    items: list[Outgoing] = field(default_factory=list)
    again: bool = False


async def _screen_after(
    client: DaemonClient, actor: Actor, dataset_id: int, done: str
) -> CareAnswer:
    """The dataset screen anew, under the line saying what changed."""
    screen = await library.dataset(client, actor, dataset_id)
    return CareAnswer([Outgoing(OutKind.text, f"{done}\n\n{screen.text}", rows=screen.rows)])


def _again(text: str) -> CareAnswer:
    return CareAnswer([Outgoing(OutKind.text, text)], again=True)


async def _rename(client: DaemonClient, actor: Actor, dataset_id: int, value: str) -> CareAnswer:
    name = value.strip()
    problem = check_dataset_name(name)
    if problem is not None:
        return _again(texts.NAMING_PROBLEM[problem])
    try:
        await client.update_dataset(actor, dataset_id, name=name)
    except ConflictError as exc:
        if exc.code != "DATASET_NAME_TAKEN":
            raise
        return _again(care_texts.NAME_TAKEN.format(name=name))
    return await _screen_after(client, actor, dataset_id, care_texts.RENAMED.format(name=name))


async def _describe(client: DaemonClient, actor: Actor, dataset_id: int, value: str) -> CareAnswer:
    description = "" if value.strip() == CLEAR else value.strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        return _again(care_texts.DESCRIPTION_TOO_LONG.format(count=len(description)))
    if has_control_chars(description, allow="\n\t"):
        return _again(care_texts.DESCRIPTION_CONTROL)
    await client.update_dataset(actor, dataset_id, description=description)
    done = care_texts.DESCRIBED if description else care_texts.DESCRIPTION_REMOVED
    return await _screen_after(client, actor, dataset_id, done)


def parse_tags(value: str) -> list[str]:
    """Comma-separated tags, trimmed (a leading # dropped), repeats and empty ones left out."""
    if value.strip() == CLEAR:
        return []
    tags: list[str] = []
    for raw in value.split(","):
        tag = raw.strip().removeprefix("#").strip()
        if tag and tag.casefold() not in {t.casefold() for t in tags}:
            tags.append(tag)
    return tags


async def _tag(client: DaemonClient, actor: Actor, dataset_id: int, value: str) -> CareAnswer:
    tags = parse_tags(value)
    if len(tags) > MAX_TAGS:
        return _again(care_texts.TOO_MANY_TAGS.format(count=len(tags)))
    for tag in tags:
        if len(tag) > MAX_TAG_CHARS or has_control_chars(tag):
            return _again(care_texts.BAD_TAG.format(tag=tag))
    if not tags and value.strip() != CLEAR:
        return _again(care_texts.ASK_TAGS)
    await client.update_dataset(actor, dataset_id, tags=tags)
    done = care_texts.TAGGED.format(tags=", ".join(tags)) if tags else care_texts.TAGS_REMOVED
    return await _screen_after(client, actor, dataset_id, done)


async def _remove_number(
    client: DaemonClient, actor: Actor, dataset_id: int, value: str
) -> CareAnswer:
    images = await client.images(actor, dataset_id)
    if not images:
        return CareAnswer([Outgoing(OutKind.text, care_texts.NO_IMAGES_TO_REMOVE)])
    answer = value.strip().removeprefix("#")
    if not (answer.isascii() and answer.isdigit()) or not 1 <= int(answer) <= len(images):
        return _again(care_texts.NO_SUCH_NUMBER.format(answer=value.strip(), count=len(images)))
    return CareAnswer(await remove_number(client, actor, dataset_id, images, int(answer)))


Answerer = Callable[[DaemonClient, Actor, int, str], Awaitable[CareAnswer]]
_ANSWERERS: dict[CareField, Answerer] = {
    CareField.name: _rename,
    CareField.description: _describe,
    CareField.tags: _tag,
    CareField.remove: _remove_number,
}


async def answer(client: DaemonClient, actor: Actor, question: CareAsk, value: str) -> CareAnswer:
    """Do what a typed answer asks, or say why it cannot be done (nothing changed)."""
    return await _ANSWERERS[question.field](client, actor, question.dataset_id, value)
