"""Caring for a dataset in the chat: its contact sheet, removing an image (by its number or
its button), and the questions whose typed answers `dataset_edits` takes.

The numbers are the images' places in the dataset's listing (oldest first), the ones the
daemon's contact sheet draws; they are read afresh on every step, and every removal shows the
sheet again, so the number a person reads is the one they send.
"""

from dataclasses import dataclass
from enum import StrEnum

from bots.common import care_texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import ConflictError, NotFoundError
from bots.common.outgoing import Outgoing, OutKind
from bots.common.schemas import Actor
from bots.common.screens import Button, Expect, Screen, StaleAction, chunk
from daemon.schemas import CONTACT_SHEET_PER_PAGE, ImageOut

MAX_SHEET_TEXT = 1024  # a Telegram photo's caption (Discord allows 2000)
MAX_SHOWN_CHARS = 40  # of each caption on the sheet's text


class CareField(StrEnum):
    """What a typed answer about a dataset changes."""

    name = "n"
    description = "d"
    tags = "t"
    remove = "r"  # the number of an image to remove


@dataclass(frozen=True)
class CareAsk:
    """A question about a dataset whose typed answer is awaited, e.g. `12.t`."""

    dataset_id: int
    field: CareField

    def pack(self) -> str:
        return f"{self.dataset_id}.{self.field.value}"

    @classmethod
    def unpack(cls, arg: str) -> "CareAsk":
        dataset_id, _, code = arg.partition(".")
        if not (dataset_id.isascii() and dataset_id.isdigit()) or code not in _FIELDS:
            raise StaleAction(arg)
        return cls(int(dataset_id), _FIELDS[code])


_FIELDS = {f.value: f for f in CareField}
_ASKED = {
    CareField.name: (care_texts.ASK_NAME, care_texts.PROMPT_NAME),
    CareField.description: (care_texts.ASK_DESCRIPTION, care_texts.PROMPT_DESCRIPTION),
    CareField.tags: (care_texts.ASK_TAGS, care_texts.PROMPT_TAGS),
    CareField.remove: (care_texts.ASK_REMOVE, care_texts.PROMPT_REMOVE),
}


def care_rows(dataset_id: int) -> list[list[Button]]:
    """The dataset screen's care buttons: the sheet, rename, description, tags, remove."""
    ask = [
        Button(label, Action.care_ask, CareAsk(dataset_id, f).pack())
        for label, f in (
            (care_texts.BTN_RENAME, CareField.name),
            (care_texts.BTN_DESCRIPTION, CareField.description),
            (care_texts.BTN_TAGS, CareField.tags),
            (care_texts.BTN_REMOVE, CareField.remove),
        )
    ]
    return [[Button(care_texts.BTN_SHEET, Action.care_sheet, f"{dataset_id}.1"), *ask]]


def ask(question: CareAsk) -> Screen:
    """The question of a typed answer (no daemon call: Discord opens its form at once)."""
    text, prompt = _ASKED[question.field]
    return Screen(text, expects=Expect.text, prompt=prompt)


def _text(text: str) -> Outgoing:
    return Outgoing(OutKind.text, text)


def _short(caption: str, width: int) -> str:
    caption = " ".join(caption.split()) or "—"
    return caption if len(caption) <= width else caption[: max(width - 1, 0)] + "…"


def _sheet_text(title: str, shown: list[ImageOut], first: int) -> str:
    """The title, each caption beside its number, the hint: shortened to fit a caption."""
    for width in (MAX_SHOWN_CHARS, 24, 12, 1):
        lines = [
            care_texts.SHEET_LINE.format(n=n, caption=_short(i.caption, width))
            for n, i in enumerate(shown, first)
        ]
        text = "\n".join(map(str, [title, *lines, care_texts.SHEET_NEXT]))
        if len(text) <= MAX_SHEET_TEXT:
            return text
    return text[:MAX_SHEET_TEXT]


def _sheet_rows(
    dataset_id: int, page: int, pages: int, shown: list[ImageOut], first: int
) -> list[list[Button]]:
    nav = []
    if page > 1:
        nav.append(Button(care_texts.BTN_PREV, Action.care_sheet, f"{dataset_id}.{page - 1}"))
    if page < pages:
        nav.append(Button(care_texts.BTN_NEXT, Action.care_sheet, f"{dataset_id}.{page + 1}"))
    nav.append(Button(care_texts.BTN_REMOVE, Action.care_ask, f"{dataset_id}.r"))
    remove = [
        Button(
            care_texts.BTN_REMOVE_NUMBER.format(n=n), Action.remove_image, f"{dataset_id}.{i.id}"
        )
        for n, i in enumerate(shown, first)
    ]
    return [nav, *chunk(remove, 5)]


async def sheet(
    client: DaemonClient, actor: Actor, dataset_id: int, page: int = 1, header: str = ""
) -> list[Outgoing]:
    """One page of the contact sheet: the picture, each caption beside its number, Previous /
    Next and a ✗ per image (a page past the last shows the last)."""
    dataset = await client.dataset(actor, dataset_id)
    images = await client.images(actor, dataset_id)
    lead = [_text(header)] if header else []
    if not images:
        return [*lead, _text(care_texts.SHEET_EMPTY.format(name=dataset.name))]
    pages = -(-len(images) // CONTACT_SHEET_PER_PAGE)
    page = min(max(page, 1), pages)
    first = (page - 1) * CONTACT_SHEET_PER_PAGE
    shown = images[first : first + CONTACT_SHEET_PER_PAGE]
    title = care_texts.SHEET_HEADER.format(
        name=dataset.name,
        first=first + 1,
        last=first + len(shown),
        count=len(images),
        page=page,
        pages=pages,
    )
    text = _sheet_text(title, shown, first + 1)
    png = await client.contact_sheet(actor, dataset_id, page)
    photo = Outgoing(
        OutKind.photo,
        text,
        filename=f"dataset-{dataset_id}-sheet-{page}.png",
        data=png,
        rows=_sheet_rows(dataset_id, page, pages, shown, first + 1),
    )
    return [*lead, photo]


def sheet_page(arg: str) -> tuple[int, int]:
    """The dataset and page a sheet button carries: `<dataset id>.<page>`."""
    dataset_id, _, page = arg.partition(".")
    if not all(p.isascii() and p.isdigit() for p in (dataset_id, page)):
        raise StaleAction(arg)
    return int(dataset_id), int(page)


async def remove_number(
    client: DaemonClient, actor: Actor, dataset_id: int, images: list[ImageOut], n: int
) -> list[Outgoing]:
    """Remove image `n` of `images`, then show the sheet anew on its page."""
    image = images[n - 1]
    page = (n - 1) // CONTACT_SHEET_PER_PAGE + 1
    try:
        await client.delete_image(actor, dataset_id, image.id)
    except NotFoundError:
        return await sheet(client, actor, dataset_id, page, care_texts.ALREADY_REMOVED)
    except ConflictError as exc:
        if exc.code != "DATASET_IN_USE":
            raise
        return [_text(care_texts.IN_USE)]
    done = care_texts.REMOVED.format(n=n, filename=image.filename)
    return await sheet(client, actor, dataset_id, page, done)


async def remove_image(
    client: DaemonClient, actor: Actor, dataset_id: int, image_id: int
) -> list[Outgoing]:
    """The ✗ under a sheet: remove that image (by id, so an older sheet cannot hit another)."""
    images = await client.images(actor, dataset_id)
    numbers = {image.id: n for n, image in enumerate(images, 1)}
    if image_id not in numbers:
        return await sheet(client, actor, dataset_id, 1, care_texts.ALREADY_REMOVED)
    return await remove_number(client, actor, dataset_id, images, numbers[image_id])
