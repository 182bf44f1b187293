"""Reviewing a dataset's captions as a numbered list, and fixing one of them by its number.

The numbers are the images' places in the dataset's listing (oldest first), read afresh on each
step, and every fix shows the list again, so the number a person reads is the one they send.
"""

from bots.common import media_texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.schemas import Actor
from bots.common.screens import Button, Expect, Screen
from daemon.schemas import ImageOut

MAX_LISTED = 30  # lines of the list (a message holds 4096 characters on Telegram, 2000 on Discord)
MAX_SHOWN_CHARS = 120  # of each caption in the list


def _short(caption: str) -> str:
    caption = " ".join(caption.split())
    return caption if len(caption) <= MAX_SHOWN_CHARS else caption[: MAX_SHOWN_CHARS - 1] + "…"


def review_rows(dataset_id: int) -> list[list[Button]]:
    """Fix a caption / Continue to the trigger word."""
    return [
        [
            Button(media_texts.BTN_FIX, Action.fix_caption, str(dataset_id)),
            Button(media_texts.BTN_CONTINUE, Action.captions_done, str(dataset_id)),
        ]
    ]


async def review(client: DaemonClient, actor: Actor, dataset_id: int, header: str = "") -> Screen:
    """The dataset's captions, numbered, with Fix a caption and Continue."""
    dataset = await client.dataset(actor, dataset_id)
    images = await client.images(actor, dataset_id)
    lines = [header] if header else []
    lines.append(media_texts.CAPTIONS_LIST.format(name=dataset.name))
    lines += [
        media_texts.CAPTION_LINE.format(n=n, caption=_short(image.caption) or "—")
        for n, image in enumerate(images[:MAX_LISTED], 1)
    ]
    if len(images) > MAX_LISTED:
        lines.append(media_texts.CAPTIONS_MORE.format(count=len(images) - MAX_LISTED))
    lines.append(media_texts.CAPTIONS_NEXT)
    return Screen("\n".join(map(str, lines)), review_rows(dataset_id))


def _numbered(answer: str, images: list[ImageOut]) -> int | None:
    """The number typed, if it names an image of the list."""
    answer = answer.strip().removeprefix("#")
    if not (answer.isascii() and answer.isdigit()) or not 1 <= int(answer) <= len(images):
        return None
    return int(answer)


async def ask_number(client: DaemonClient, actor: Actor, dataset_id: int) -> Screen:
    """Which caption to fix: its number."""
    count = len(await client.images(actor, dataset_id))
    return Screen(
        media_texts.ASK_NUMBER.format(count=count),
        expects=Expect.text,
        prompt=media_texts.FIX_NUMBER.format(count=count),
    )


async def pick(
    client: DaemonClient, actor: Actor, dataset_id: int, answer: str
) -> tuple[Screen, int | None]:
    """The caption a typed number names, shown with a request for its new text; a number
    outside the list is asked again (None)."""
    images = await client.images(actor, dataset_id)
    number = _numbered(answer, images)
    if number is None:
        text = media_texts.NOT_A_NUMBER.format(count=len(images))
        return Screen(text, expects=Expect.text, prompt=media_texts.PROMPT_NUMBER), None
    caption = images[number - 1].caption or "—"
    text = media_texts.ASK_FIXED.format(n=number, caption=caption)
    return Screen(text, expects=Expect.text, prompt=media_texts.FIX_TEXT), number


async def fix(
    client: DaemonClient, actor: Actor, dataset_id: int, number: str, caption: str
) -> Screen:
    """Write caption `number` of the list, then show the list again."""
    images = await client.images(actor, dataset_id)
    n = _numbered(number, images)
    if n is None:
        return await review(
            client, actor, dataset_id, media_texts.NOT_A_NUMBER.format(count=len(images))
        )
    caption = caption.strip()
    if not caption:
        return await review(client, actor, dataset_id, media_texts.EMPTY_CAPTION.format(n=n))
    await client.recaption(actor, dataset_id, images[n - 1].id, caption)
    return await review(client, actor, dataset_id, media_texts.FIXED.format(n=n))
