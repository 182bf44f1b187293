"""The marketplace's pages of public datasets and models, and what an owner has earned."""

from datetime import datetime
from typing import TYPE_CHECKING, Self

from pydantic import Field

from core.enums import BrowseSort, ItemKind, Licence, Visibility
from daemon.schemas.common import Answer, Body
from daemon.schemas.datasets import DatasetOut
from daemon.schemas.models import ModelOut

if TYPE_CHECKING:
    from core.datasets import CountedDataset
    from core.db.models import Model

MAX_PER_PAGE = 50
# Far past any real catalogue; keeps the offset (page × per_page) a small integer.
MAX_PAGE = 10_000


class MarketQuery(Body):
    q: str | None = Field(None, max_length=100, description="Name contains (any case).")
    tag: str | None = Field(None, max_length=32, description="Has this tag (any case).")
    sort: BrowseSort = Field(BrowseSort.newest, description="newest or most_used first.")
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based.")
    per_page: int = Field(10, ge=1, le=MAX_PER_PAGE)


class DatasetCard(Answer):
    id: int
    name: str
    trigger_word: str | None
    description: str
    tags: list[str]
    image_count: int
    licence: Licence | None
    uses: int
    published_at: datetime | None
    owned: bool = Field(description="Whether the acting account owns it.")

    @classmethod
    def of(cls, counted: "CountedDataset", *, viewer: int) -> Self:
        """The card of a dataset: the browsable part of its `DatasetOut`."""
        return cls.model_validate(DatasetOut.of(counted, viewer=viewer), from_attributes=True)


class ModelCard(Answer):
    id: int
    name: str
    trigger_word: str | None
    offering_id: str
    base_family: str | None = Field(description="The offering's family; null once it is gone.")
    description: str
    tags: list[str]
    licence: Licence | None
    price_per_use: int
    uses: int
    samples: list[str] = Field(description="URLs of its sample images.")
    published_at: datetime | None
    owned: bool = Field(description="Whether the acting account owns it.")

    @classmethod
    def of(cls, model: "Model", *, viewer: int, base_family: str | None) -> Self:
        """The card of a model: the browsable part of its `ModelOut`."""
        out = ModelOut.of(model, viewer=viewer, base_family=base_family)
        return cls.model_validate(out, from_attributes=True)


class _Page(Answer):
    page: int
    per_page: int
    total: int = Field(description="How many items match, on all pages.")


class DatasetPage(_Page):
    items: list[DatasetCard]


class ModelPage(_Page):
    items: list[ModelCard]


class EarningOut(Answer):
    item_kind: ItemKind
    id: int
    name: str
    visibility: Visibility
    uses: int
    earned: int = Field(description="Royalties less what refunds took back, in points.")


class EarningsOut(Answer):
    items: list[EarningOut]
    total_earned: int
