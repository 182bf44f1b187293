"""The economy an operator configures: point packs for sale, the marketplace's rules and the
price of storage."""

import math
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.config_files import ids_from_keys, load_toml
from core.errors import NotFound


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Pack(_Strict):
    """Points sold at one price: Telegram Stars and, where set, a Discord consumable SKU."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    title: str = Field(min_length=1, max_length=32, description="Telegram's invoice title limit.")
    description: str = Field("", max_length=255)
    points: int = Field(gt=0)
    stars: int = Field(gt=0, le=100_000, description="Price in Telegram Stars (currency XTR).")
    discord_sku_id: str | None = Field(None, pattern=r"^[0-9]{1,20}$")
    enabled: bool = True


class MarketRules(_Strict):
    royalty_share: float = Field(0.2, ge=0, le=1)
    min_price_per_use: int = Field(0, ge=0)
    max_price_per_use: int = Field(1000, ge=0)
    quote_ttl_seconds: int = Field(300, gt=0)
    low_balance_points: int = Field(50, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_price_per_use > self.max_price_per_use:
            raise ValueError("min_price_per_use must not exceed max_price_per_use")
        return self

    def royalty(self, price: int) -> int:
        """The owner's share of a paid use of `price` points, rounded down."""
        # round(…, 9) first so float noise (0.2 × 5 = 1.0000000002) neither adds nor loses one.
        return int(round(price * self.royalty_share, 9))


BYTES_PER_GB = 10**9


class StoragePrice(_Strict):
    """What keeping images stored costs, shown with each dataset; 0: storage is not priced."""

    points_per_gb_month: float = Field(
        0.0, ge=0, description="Points per GB (10⁹ bytes) stored for a month; 0: not priced."
    )

    def points_per_month(self, byte_size: int) -> int:
        """Points a month of storing `byte_size` bytes costs, rounded up (0 when not priced)."""
        # round(…, 9) first so float noise does not add a whole point.
        return math.ceil(round(byte_size / BYTES_PER_GB * self.points_per_gb_month, 9))


class Economy(_Strict):
    """The packs (by id), the market's rules and the storage price, from the economy file."""

    packs: dict[str, Pack] = Field(default_factory=dict)
    market: MarketRules = Field(default_factory=MarketRules)
    storage: StoragePrice = Field(default_factory=StoragePrice)

    @model_validator(mode="before")
    @classmethod
    def _ids_from_keys(cls, data: object) -> object:
        return ids_from_keys(data, "packs")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        skus: dict[str, str] = {}
        for key, pack in self.packs.items():
            if key != pack.id:
                raise ValueError(f"packs.{key} has id {pack.id!r}; they must match")
            if pack.discord_sku_id is not None:
                if pack.discord_sku_id in skus:
                    raise ValueError(
                        f"packs {skus[pack.discord_sku_id]!r} and {key!r} share the Discord SKU "
                        f"{pack.discord_sku_id}"
                    )
                skus[pack.discord_sku_id] = key
        return self

    @classmethod
    def load(cls, path: Path) -> "Economy":
        """Read and validate the economy file; ConfigFileError says what and where is wrong."""
        return load_toml(path, cls, "economy")

    def on_sale(self) -> list[Pack]:
        """The packs that can be bought now, in file order."""
        return [pack for pack in self.packs.values() if pack.enabled]

    def pack(self, pack_id: str) -> Pack:
        """A pack on sale by id; NotFound (PACK_UNAVAILABLE) when unknown or withdrawn."""
        pack = self.packs.get(pack_id)
        if pack is None or not pack.enabled:
            raise NotFound(
                f"the pack {pack_id!r} is not on sale (any more); choose from "
                f"{[p.id for p in self.on_sale()]}",
                code="PACK_UNAVAILABLE",
                pack_id=pack_id,
            )
        return pack

    def pack_for_sku(self, sku_id: str) -> Pack | None:
        """The pack sold as a Discord SKU, withdrawn or not (a bought SKU is always honoured)."""
        return next((p for p in self.packs.values() if p.discord_sku_id == sku_id), None)
