"""Discord's premium app purchases in the fake: entitlements, their events and consumption.

A purchase of a consumable SKU makes an entitlement (type PURCHASE, `consumed: false`) and the
gateway dispatches `ENTITLEMENT_CREATE` with it; the app credits it and calls
`POST /applications/{application_id}/entitlements/{entitlement_id}/consume` (204). What the app
has not consumed stays listed by `GET /applications/{application_id}/entitlements`.
"""

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.bots.fakes.discord_payloads import APP_ID, entitlement_payload


class DiscordApiError(Exception):
    """A refusal answered with Discord's `{"message", "code"}` body."""

    def __init__(self, status: int, message: str, code: int) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


@dataclass
class EntitlementState:
    """Every entitlement by id, and the consume calls the app made."""

    entitlements: dict[int, dict[str, Any]] = field(default_factory=dict)
    consume_calls: list[int] = field(default_factory=list)
    list_calls: list[dict[str, str]] = field(default_factory=list)


class Entitlements:
    """Mixed into `FakeDiscord`: the entitlement routes and the buyer's side."""

    shop: EntitlementState
    _ids: "itertools.count[int]"

    if TYPE_CHECKING:  # what FakeDiscord provides

        async def _broadcast(self, event: str, data: Any) -> None: ...

    def entitlement_route(
        self, method: str, parts: list[str], query: Mapping[str, str]
    ) -> list[dict[str, Any]] | None:
        """`GET …/entitlements` and `POST …/entitlements/{id}/consume` of this application."""
        match (method, parts):
            case ("GET", ["applications", app_id, "entitlements"]) if int(app_id) == APP_ID:
                self.shop.list_calls.append(dict(query))
                return self._listed(query)
            case ("POST", ["applications", app_id, "entitlements", entitlement_id, "consume"]):
                self._consume(int(app_id), int(entitlement_id))
                return None
        raise DiscordApiError(404, "404: Not Found", 0)

    def _consume(self, app_id: int, entitlement_id: int) -> None:
        self.shop.consume_calls.append(entitlement_id)
        entitlement = self.shop.entitlements.get(entitlement_id)
        if app_id != APP_ID or entitlement is None:
            raise DiscordApiError(404, "Unknown Entitlement", 10029)
        if entitlement["consumed"]:
            raise DiscordApiError(400, "This entitlement has already been consumed.", 40074)
        entitlement["consumed"] = True

    def _listed(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        found = sorted(self.shop.entitlements.values(), key=lambda e: int(e["id"]))
        if "user_id" in query:
            found = [e for e in found if e["user_id"] == query["user_id"]]
        if "sku_ids" in query:
            found = [e for e in found if e["sku_id"] in query["sku_ids"].split(",")]
        if query.get("exclude_deleted", "1") == "1":
            found = [e for e in found if not e["deleted"]]
        if "after" in query:
            found = [e for e in found if int(e["id"]) > int(query["after"])]
        if "before" in query:
            found = [e for e in found if int(e["id"]) < int(query["before"])]
        return found[: int(query.get("limit", 100))]

    # -- acting as the buyer -----------------------------------------------------------
    async def buy(
        self, user_id: int, sku_id: str, *, times: int = 1, online: bool = True
    ) -> dict[str, Any]:
        """The user buys a consumable SKU; the event is dispatched `times` times (0 when the
        bot is offline: the entitlement only waits in the list)."""
        entitlement = entitlement_payload(next(self._ids), sku_id, user_id)
        self.shop.entitlements[int(entitlement["id"])] = entitlement
        for _ in range(times if online else 0):
            await self._broadcast("ENTITLEMENT_CREATE", dict(entitlement))
        return entitlement

    async def redeliver(self, entitlement: dict[str, Any]) -> None:
        """The gateway sends the same `ENTITLEMENT_CREATE` again."""
        await self._broadcast("ENTITLEMENT_CREATE", dict(entitlement))

    def is_consumed(self, entitlement: dict[str, Any]) -> bool:
        """Whether the app consumed the entitlement."""
        return bool(self.shop.entitlements[int(entitlement["id"])]["consumed"])
