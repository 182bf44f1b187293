"""`DaemonClient`: one typed method per RPC route the bots use, over one aiohttp session.

Answers are read with the daemon's own response models (`daemon.schemas`), the same ones that
write and document them, so a route's shape is written down once.
"""

import json
from collections.abc import Sequence
from typing import Any

import aiohttp

from bots.common.client_activity import ActivityCalls
from bots.common.client_care import CareCalls
from bots.common.client_conversations import ConversationCalls
from bots.common.client_insights import InsightsCalls
from bots.common.client_languages import LanguageCalls
from bots.common.client_web import WebCalls
from bots.common.schemas import Actor, Upload
from bots.common.transport import M, clean
from core.enums import BrowseSort
from daemon.schemas import (
    AccountOut,
    CancelOut,
    CaptionEstimateOut,
    DatasetList,
    DatasetOut,
    DatasetPage,
    EarningsOut,
    EstimateOut,
    GenerationEstimateOut,
    GenerationOut,
    ImageList,
    ImageOut,
    JobOut,
    JobsOut,
    KeepOut,
    LedgerEntryOut,
    LedgerOut,
    LinkCodeOut,
    LinkOut,
    ModelOut,
    ModelPage,
    ModelsOut,
    NotificationOut,
    NotificationsOut,
    OfferingOut,
    OfferingsOut,
    PackOut,
    PacksOut,
    PurchaseOut,
    PurchasesOut,
    UploadResult,
)


class DaemonClient(
    ActivityCalls, InsightsCalls, LanguageCalls, WebCalls, CareCalls, ConversationCalls
):
    """Talks to the daemon on behalf of chat users (`Actor`) and of the bot itself."""

    # -- account --------------------------------------------------------------------------
    async def me(self, actor: Actor) -> AccountOut:
        """The acting account: id, balance and identities."""
        return await self._get("/v1/me", actor, AccountOut)

    async def link_code(self, actor: Actor) -> LinkCodeOut:
        """A one-time code that another identity redeems to join this account."""
        return await self._send("POST", "/v1/me/link-code", actor, LinkCodeOut, json_body={})

    async def link(self, actor: Actor, code: str) -> AccountOut:
        """Join the acting identity to the account that issued `code`."""
        body = {"code": code}
        linked = await self._send("POST", "/v1/me/link", actor, LinkOut, json_body=body)
        return linked.account

    async def ledger(self, actor: Actor, limit: int = 10) -> list[LedgerEntryOut]:
        """The acting account's ledger entries, newest first."""
        return (await self._get("/v1/ledger", actor, LedgerOut, limit=limit)).entries

    async def offerings(self, actor: Actor) -> list[OfferingOut]:
        """Offerings with their presets."""
        return (await self._get("/v1/offerings", actor, OfferingsOut)).offerings

    # -- datasets -------------------------------------------------------------------------
    async def create_dataset(
        self, actor: Actor, name: str, trigger_word: str | None = None
    ) -> DatasetOut:
        """Create a private dataset."""
        payload = clean({"name": name, "trigger_word": trigger_word})
        return await self._send("POST", "/v1/datasets", actor, DatasetOut, json_body=payload)

    async def datasets(self, actor: Actor) -> list[DatasetOut]:
        """The acting account's datasets."""
        return (await self._get("/v1/datasets", actor, DatasetList)).datasets

    async def dataset(self, actor: Actor, dataset_id: int) -> DatasetOut:
        """One dataset."""
        return await self._get(f"/v1/datasets/{dataset_id}", actor, DatasetOut)

    async def update_dataset(self, actor: Actor, dataset_id: int, **fields: Any) -> DatasetOut:
        """Change name, trigger word, description, tags or visibility."""
        path = f"/v1/datasets/{dataset_id}"
        return await self._send(
            "PATCH", path, actor, DatasetOut, json_body=fields, repeatable=True
        )

    async def delete_dataset(self, actor: Actor, dataset_id: int) -> None:
        """Delete a dataset and its images."""
        await self._call("DELETE", f"/v1/datasets/{dataset_id}", actor, repeatable=True)

    async def upload_images(
        self, actor: Actor, dataset_id: int, uploads: Sequence[Upload]
    ) -> UploadResult:
        """Upload images (multipart); the answer says which were added and which refused."""

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            for up in uploads:
                data.add_field("image", up.data, filename=up.filename)
            captions = {u.filename: u.caption for u in uploads if u.caption}
            if captions:
                data.add_field("captions", json.dumps(captions), content_type="application/json")
            return data

        # Duplicates are refused by content hash, so sending the same batch again is harmless.
        path = f"/v1/datasets/{dataset_id}/images"
        return await self._send("POST", path, actor, UploadResult, form=form, repeatable=True)

    async def images(self, actor: Actor, dataset_id: int) -> list[ImageOut]:
        """The images of a dataset."""
        return (await self._get(f"/v1/datasets/{dataset_id}/images", actor, ImageList)).images

    async def recaption(self, actor: Actor, dataset_id: int, image_id: int, caption: str) -> None:
        """Set an image's caption."""
        path = f"/v1/datasets/{dataset_id}/images/{image_id}"
        await self._call("PATCH", path, actor, json_body={"caption": caption}, repeatable=True)

    async def delete_image(self, actor: Actor, dataset_id: int, image_id: int) -> None:
        """Remove an image from a dataset."""
        path = f"/v1/datasets/{dataset_id}/images/{image_id}"
        await self._call("DELETE", path, actor, repeatable=True)

    # -- training -------------------------------------------------------------------------
    async def estimate(
        self,
        actor: Actor,
        dataset_id: int,
        offering_id: str,
        preset: str,
        overrides: dict[str, Any] | None = None,
    ) -> EstimateOut:
        """Cost, duration, warnings and errors of a training, without paying."""
        payload = {
            "dataset_id": dataset_id,
            "offering_id": offering_id,
            "preset": preset,
            "overrides": overrides or {},
        }
        return await self._send(
            "POST", "/v1/estimate", actor, EstimateOut, json_body=payload, repeatable=True
        )

    async def submit_job(
        self,
        actor: Actor,
        *,
        dataset_id: int,
        offering_id: str,
        preset: str,
        idempotency_key: str,
        overrides: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
        quote_id: str | None = None,
    ) -> tuple[JobOut, bool]:
        """Queue a paid job; returns (job, created). The same key again returns the same job.

        With `quote_id` the job costs exactly the quoted price, or is refused with
        QuoteExpiredError / QuoteChangedError carrying a fresh quote.
        """
        payload = clean(
            {
                "dataset_id": dataset_id,
                "offering_id": offering_id,
                "preset": preset,
                "overrides": overrides or {},
                "idempotency_key": idempotency_key,
                "reply_to": reply_to or {},
                "quote_id": quote_id,
            }
        )
        status, body = await self._call(
            "POST", "/v1/jobs", actor, json_body=payload, repeatable=True
        )
        return JobOut.model_validate(body), status == 201

    async def jobs(self, actor: Actor) -> list[JobOut]:
        """The acting account's jobs, newest first."""
        return (await self._get("/v1/jobs", actor, JobsOut)).jobs

    async def job(self, actor: Actor, job_id: int) -> JobOut:
        """One job with progress and queue position."""
        return await self._get(f"/v1/jobs/{job_id}", actor, JobOut)

    async def cancel_job(self, actor: Actor, job_id: int) -> CancelOut:
        """Cancel a job; `refunded_now` is what this cancel gave back."""
        path = f"/v1/jobs/{job_id}/cancel"
        return await self._send("POST", path, actor, CancelOut, json_body={}, repeatable=True)

    # -- models ---------------------------------------------------------------------------
    async def models(self, actor: Actor) -> list[ModelOut]:
        """The acting account's trained models."""
        return (await self._get("/v1/models", actor, ModelsOut)).models

    async def model(self, actor: Actor | None, model_id: int) -> ModelOut:
        """One model with its files."""
        return await self._get(f"/v1/models/{model_id}", actor, ModelOut)

    async def model_file(self, actor: Actor | None, model_id: int, name: str) -> bytes:
        """The bytes of one file of a model."""
        path = f"/v1/models/{model_id}/files/{name}"
        _, body = await self._call("GET", path, actor, raw=True)
        return body

    # -- points: packs and purchases (bots-pay) --------------------------------------------
    async def packs(self, actor: Actor) -> list[PackOut]:
        """The point packs on sale."""
        return (await self._get("/v1/packs", actor, PacksOut)).packs

    async def create_purchase(self, actor: Actor, pack_id: str) -> PurchaseOut:
        """A pending order of a pack (its invoice payload is `purchase:<id>`)."""
        # Not repeated on a dropped connection: a second order would be a second invoice.
        body = {"pack_id": pack_id}
        return await self._send("POST", "/v1/purchases", actor, PurchaseOut, json_body=body)

    async def check_purchase(
        self, actor: Actor, purchase_id: int, currency: str, total_amount: int
    ) -> PurchaseOut:
        """May this order be paid for this amount now? (Telegram's pre-checkout query.)"""
        body = {"currency": currency, "total_amount": total_amount}
        path = f"/v1/purchases/{purchase_id}/check"
        return await self._send("POST", path, actor, PurchaseOut, json_body=body, repeatable=True)

    async def purchase_paid(
        self, actor: Actor, purchase_id: int, *, charge_id: str, currency: str, total_amount: int
    ) -> tuple[PurchaseOut, bool]:
        """Credit a paid order; (purchase, True) the first time, False when already credited."""
        body = {"charge_id": charge_id, "currency": currency, "total_amount": total_amount}
        # Keyed by the charge id on the daemon's side, so sending it again credits once.
        status, answer = await self._call(
            "POST", f"/v1/purchases/{purchase_id}/paid", actor, json_body=body, repeatable=True
        )
        return PurchaseOut.model_validate(answer), status == 201

    async def entitlement_purchase(
        self, actor: Actor, entitlement_id: str, sku_id: str
    ) -> tuple[PurchaseOut, bool]:
        """Credit a Discord entitlement; (purchase, True) the first time. SkuUnknownError when
        no pack is sold as that SKU."""
        body = {"entitlement_id": entitlement_id, "sku_id": sku_id}
        status, answer = await self._call(
            "POST", "/v1/purchases/entitlements", actor, json_body=body, repeatable=True
        )
        return PurchaseOut.model_validate(answer), status == 201

    async def purchases(self, actor: Actor) -> list[PurchaseOut]:
        """The acting account's purchases, newest first."""
        return (await self._get("/v1/purchases", actor, PurchasesOut)).purchases

    # -- marketplace, publishing and earnings ---------------------------------------------
    async def update_model(self, actor: Actor, model_id: int, **fields: Any) -> ModelOut:
        """Change a model's name, description, tags, visibility, licence or price per use."""
        path = f"/v1/models/{model_id}"
        return await self._send("PATCH", path, actor, ModelOut, json_body=fields, repeatable=True)

    async def marketplace_datasets(self, actor: Actor, **browse: Any) -> DatasetPage:
        """A page of public datasets (see `_browse` for the search)."""
        return await self._browse("datasets", actor, DatasetPage, **browse)

    async def marketplace_models(self, actor: Actor, **browse: Any) -> ModelPage:
        """A page of public models (see `_browse` for the search)."""
        return await self._browse("models", actor, ModelPage, **browse)

    async def _browse(
        self,
        kind: str,
        actor: Actor,
        model: type[M],
        *,
        q: str = "",
        tag: str = "",
        sort: BrowseSort = BrowseSort.newest,
        page: int = 1,
        per_page: int = 10,
    ) -> M:
        """A page of public items: name containing `q`, carrying `tag`, in `sort` order."""
        params = {"q": q or None, "tag": tag or None, "sort": sort.value, "page": page}
        return await self._get(
            f"/v1/marketplace/{kind}", actor, model, per_page=per_page, **params
        )

    async def earnings(self, actor: Actor) -> EarningsOut:
        """What each of the acting account's published items has earned, and the total."""
        return await self._get("/v1/earnings", actor, EarningsOut)

    async def download(self, actor: Actor | None, url: str) -> bytes:
        """The bytes behind a URL the daemon gave (a model's sample image).

        Only the daemon's own paths are fetched: the request carries the bot's RPC token.
        """
        path = url.removeprefix(self._base)
        if not path.startswith("/v1/") or ".." in path:
            raise ValueError(f"not a daemon URL: {url!r}")
        _, body = await self._call("GET", path, actor, raw=True)
        return body

    # -- automatic captions, generations, checkpoints (issue 10) ---------------------------
    async def caption_estimate(self, actor: Actor, dataset_id: int) -> CaptionEstimateOut:
        """Price of captioning a dataset's uncaptioned images (sentences, trigger word first)."""
        path = f"/v1/datasets/{dataset_id}/captions/estimate"
        body = _caption_body()
        return await self._send(
            "POST", path, actor, CaptionEstimateOut, json_body=body, repeatable=True
        )

    async def submit_captions(
        self,
        actor: Actor,
        dataset_id: int,
        *,
        idempotency_key: str,
        reply_to: dict[str, Any] | None = None,
        quote_id: str | None = None,
    ) -> tuple[JobOut, bool]:
        """Queue a paid caption job; (job, created). The same key again returns the same job."""
        body = clean(
            {
                **_caption_body(),
                "idempotency_key": idempotency_key,
                "reply_to": reply_to or {},
                "quote_id": quote_id,
            }
        )
        path = f"/v1/datasets/{dataset_id}/captions"
        status, answer = await self._call("POST", path, actor, json_body=body, repeatable=True)
        return JobOut.model_validate(answer), status == 201

    async def generation_estimate(
        self, actor: Actor, request: dict[str, Any]
    ) -> GenerationEstimateOut:
        """Price, warnings and errors of a generation (`request`: a GenerationIn body)."""
        return await self._send(
            "POST",
            "/v1/generations/estimate",
            actor,
            GenerationEstimateOut,
            json_body=request,
            repeatable=True,
        )

    async def submit_generation(
        self,
        actor: Actor,
        request: dict[str, Any],
        *,
        idempotency_key: str,
        reply_to: dict[str, Any] | None = None,
        quote_id: str | None = None,
    ) -> tuple[GenerationOut, bool]:
        """Queue a paid generation; (generation, created), like `submit_job`."""
        body = clean(
            {
                **request,
                "idempotency_key": idempotency_key,
                "reply_to": reply_to or {},
                "quote_id": quote_id,
            }
        )
        status, answer = await self._call(
            "POST", "/v1/generations", actor, json_body=body, repeatable=True
        )
        return GenerationOut.model_validate(answer), status == 201

    async def generation(self, actor: Actor, generation_id: int) -> GenerationOut:
        """One generation: its request, status and images."""
        return await self._get(f"/v1/generations/{generation_id}", actor, GenerationOut)

    async def generation_file(self, actor: Actor, generation_id: int, name: str) -> bytes:
        """The PNG bytes of one image (or the strength sheet) of a generation."""
        path = f"/v1/generations/{generation_id}/files/{name}"
        _, body = await self._call("GET", path, actor, raw=True)
        return body

    async def keep(self, actor: Actor, job_id: int, step: int) -> KeepOut:
        """End a training with the checkpoint of `step`; the unused steps are refunded."""
        path = f"/v1/jobs/{job_id}/keep"
        return await self._send(
            "POST", path, actor, KeepOut, json_body={"step": step}, repeatable=True
        )

    async def checkpoint_file(self, actor: Actor, job_id: int, step: int, name: str) -> bytes:
        """The bytes of one file (or the sample) of a training's checkpoint."""
        path = f"/v1/jobs/{job_id}/checkpoints/{step}/files/{name}"
        _, body = await self._call("GET", path, actor, raw=True)
        return body

    # -- notifications (the bot's own channel, no X-User) ---------------------------------
    async def notifications(self, platform: str, wait: float = 25.0) -> list[NotificationOut]:
        """Long-poll pending notifications of a platform."""
        answer = await self._get(
            "/v1/notifications", None, NotificationsOut, platform=platform, wait=wait
        )
        return answer.notifications

    async def ack(self, ids: Sequence[int]) -> None:
        """Acknowledge delivered notifications."""
        body = {"ids": list(ids)}
        await self._call("POST", "/v1/notifications/ack", None, json_body=body, repeatable=True)


def _caption_body() -> dict[str, Any]:
    """What the bots ask of automatic captions: the images without one, as sentences that
    start with the trigger word, never over a caption written meanwhile."""
    return {
        "images": "uncaptioned",
        "style": "sentence",
        "trigger_first": True,
        "overwrite": False,
    }
