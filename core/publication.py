"""Publication: the one rule by which a dataset or a model becomes unlisted or public.

A published item (unlisted or public) always carries a licence from `Licence`, so whoever
uses or downloads it knows on what terms. `published_at` is stamped the first time the item
is published and cleared when it goes private again (the marketplace's "newest" order).
"""

from datetime import datetime
from typing import Protocol

from core.db.types import utcnow
from core.enums import ItemKind, Licence, Visibility
from core.errors import InvalidInput


class Publishable(Protocol):
    id: int | None
    visibility: str
    licence: str | None
    published_at: datetime | None


def publish(
    item: Publishable,
    kind: ItemKind,
    *,
    visibility: Visibility | None,
    licence: Licence | None,
) -> None:
    """Apply a new visibility and/or licence (None: keep the stored one).

    Raises InvalidInput LICENCE_REQUIRED, before changing anything, when the item would be
    published without a licence.
    """
    new_visibility = visibility or Visibility(item.visibility)
    new_licence = licence or item.licence
    if new_visibility.is_published and new_licence is None:
        raise InvalidInput(
            f"a {kind} that is {new_visibility} needs a licence; give one of "
            f"{[str(value) for value in Licence]}",
            code="LICENCE_REQUIRED",
            licences=[str(value) for value in Licence],
        )
    item.visibility = str(new_visibility)
    item.licence = None if new_licence is None else str(new_licence)
    if not new_visibility.is_published:
        item.published_at = None
    elif item.published_at is None:
        item.published_at = utcnow()
