"""Generations: images from a trained LoRA on its offering's base model, as a paid job.

- Preflight (`estimate_generation`): the model must be visible to the person (their own, or
  someone's unlisted or public one: another's private model looks missing, MODEL_NOT_FOUND),
  its offering must generate (GENERATION_UNAVAILABLE) and the request stay within the
  offering's `generation` bounds (BOUNDS_EXCEEDED). The price is the compute cost of the
  images (a strength sheet counts one image per strength) plus the model's `price_per_use`
  when the model is someone else's.
- Submit (`submit_generation`): the one money rule of `core.paid_jobs` — key, quote, debit
  and, for another's model, the owner's royalty on `price_per_use` in the same transaction.
  A request without a seed gets one picked here and recorded in the job's params, so a
  retried attempt renders the same images.
- The job's result (`Job.result`, written by the generate kind's handler):
  `{"images": [{name, seed, strength, width, height, size, sha256, key}], "sheet": {...} |
  None, "seconds": worker seconds, "stats": {pid, pipeline_loads, jobs_in_process, warm}}`;
  the image files live in blob storage under `blob_prefix`.
"""

import dataclasses
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import royalties
from core.blobs import BlobStore
from core.breakdown import Breakdown, PricePart
from core.db.models import Job, Model
from core.economy import MarketRules
from core.enums import ItemKind, JobKind, JobStatus
from core.errors import NotFound
from core.estimate import Issue, check_daily_cap, missing_base_model, refusal
from core.generation.spec import GenerationSpec
from core.jobs import get_job, list_jobs
from core.ledger import lock_accounts
from core.models_registry import get_model
from core.offerings import Generation, Offering, OfferingRegistry
from core.paid_jobs import find_repeat, queue_paid_job
from core.royalties import PaidItem

LORA_ROLE = "lora_diffusers"
SEED_LIMIT = 2**31  # a picked seed is below it
IMAGE_MEDIA_TYPE = "image/png"


@dataclass
class GenerationRequest:
    """What a person asks to render; the key, `reply_to` and `quote_id` are not part of its
    identity (`fingerprint`)."""

    model_id: int
    prompt: str
    negative_prompt: str = ""
    count: int = 1
    seed: int | None = None
    steps: int | None = None
    resolution: int | None = None
    strength: float = 1.0
    strengths: list[float] | None = None
    idempotency_key: str = ""
    reply_to: dict[str, Any] = field(default_factory=dict)
    quote_id: str | None = None

    def asked(self) -> dict[str, Any]:
        """The fields that make two requests the same one."""
        skip = {"idempotency_key", "reply_to", "quote_id"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}

    def fingerprint(self) -> str:
        """Hash of `asked` (a quote and an idempotency key are for exactly this request)."""
        body = {"kind": str(JobKind.generate), **self.asked()}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass
class GenerationEstimate:
    """The answer of a generation's preflight; `ok` when there are no errors."""

    model_id: int
    cost: int = 0
    price_per_use: int = 0
    estimated_seconds: float = 0.0
    image_count: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    spec: GenerationSpec | None = None
    """The worker's spec (seed 0 until the submit picks one), when ok."""
    model: Model | None = None
    breakdown: Breakdown = field(default_factory=Breakdown)
    """The parts of `cost`: the compute, and the price per use of another's model."""

    @property
    def ok(self) -> bool:
        return not self.errors


async def estimate_generation(
    session: AsyncSession,
    registry: OfferingRegistry,
    blobs: BlobStore,
    *,
    account_id: int,
    request: GenerationRequest,
    data_dir: Path,
) -> GenerationEstimate:
    """Price a generation and list every reason it could not run (nothing is changed)."""
    result = GenerationEstimate(model_id=request.model_id)
    try:
        model = await get_model(session, request.model_id, account_id)
    except NotFound:
        result.errors.append(Issue("MODEL_NOT_FOUND", f"model {request.model_id} not found"))
        return result
    result.model = model
    offering = await _generating_offering(registry, model, blobs, data_dir, result)
    if offering is None or offering.generation is None:
        return result
    generation = offering.generation
    steps = request.steps or generation.default_steps
    resolution = request.resolution or offering.resolution
    result.image_count = len(request.strengths) if request.strengths else request.count
    result.params = {**request.asked(), "steps": steps, "resolution": resolution}
    _check_bounds(generation, steps, resolution, request.count, result)
    sizes = {"images": result.image_count, "steps": steps, "resolution": resolution}
    result.estimated_seconds = generation.estimated_seconds(offering.resolution, **sizes)
    result.price_per_use = model.price_per_use if model.account_id != account_id else 0
    result.breakdown = generation.breakdown(offering.resolution, **sizes)
    if result.price_per_use:
        detail = f"model {model.id}'s price per use, set by its owner"
        result.breakdown = result.breakdown.plus(
            PricePart("price_per_use", result.price_per_use, detail)
        )
    result.cost = result.breakdown.total
    _check_trigger_word(model, request.prompt, result)
    await check_daily_cap(session, account_id, result.cost, result.errors)
    if result.ok:
        result.spec = GenerationSpec(
            base_model=offering.base_model,
            base_model_config=offering.base_model_config,
            family=offering.spec_family,
            **{**result.params, "seed": request.seed or 0},
        )
    return result


async def _generating_offering(
    registry: OfferingRegistry,
    model: Model,
    blobs: BlobStore,
    data_dir: Path,
    result: GenerationEstimate,
) -> Offering | None:
    """The model's offering when its LoRAs can be generated with; else an error says why."""
    problems = []
    try:
        offering: Offering | None = registry.get(model.offering_id)
    except NotFound:
        offering = None
        problems.append(f"the offering {model.offering_id!r} is gone")
    if offering is not None and offering.generation is None:
        problems.append(f"{offering.id} does not offer generation")
    missing = None if offering is None else missing_base_model(offering, data_dir)
    if missing is not None:
        problems.append(missing.message)
    try:
        await lora_key(blobs, model)
    except NotFound as exc:
        problems.append(exc.message)
    if problems:
        result.errors.append(Issue("GENERATION_UNAVAILABLE", "; ".join(problems)))
    return offering


def _check_bounds(
    generation: Generation, steps: int, resolution: int, count: int, result: GenerationEstimate
) -> None:
    # `images` bounds the count of a request; a strength sheet (count 1) has its own bounds
    # on its strengths (`core.generation.spec.SHEET_SIZES`), and is priced per tile.
    bounds = generation.bounds
    problems = [
        f"{name}={value} is outside {limits.min}..{limits.max}"
        for name, value, limits in (
            ("steps", steps, bounds.steps),
            ("images", count, bounds.images),
            ("resolution", resolution, bounds.resolution),
        )
        if not limits.min <= value <= limits.max
    ]
    if resolution % 8:
        problems.append(f"resolution={resolution} is not a multiple of 8")
    if problems:
        result.errors.append(Issue("BOUNDS_EXCEEDED", "; ".join(problems)))


def _check_trigger_word(model: Model, prompt: str, result: GenerationEstimate) -> None:
    trigger = model.trigger_word
    if not trigger:
        return
    if not re.search(rf"(?<![\w-]){re.escape(trigger)}(?![\w-])", prompt, re.IGNORECASE):
        result.warnings.append(
            Issue(
                "TRIGGER_WORD_MISSING",
                f"the prompt lacks the model's trigger word {trigger!r}; without it the LoRA "
                "shows little",
            )
        )


async def submit_generation(
    session: AsyncSession,
    registry: OfferingRegistry,
    market: MarketRules,
    blobs: BlobStore,
    *,
    account_id: int,
    platform: str | None,
    platform_user_id: str | None,
    request: GenerationRequest,
    data_dir: Path,
) -> tuple[Job, bool]:
    """Preflight, debit and queue a generation; a repeated key returns the first job."""
    fingerprint = request.fingerprint()
    owner_id = await royalties.owner_of(session, ItemKind.model, request.model_id)
    await lock_accounts(session, [account_id] if owner_id is None else [account_id, owner_id])
    existing = await find_repeat(session, account_id, request.idempotency_key, fingerprint)
    if existing is not None:
        return existing, False
    preflight = await estimate_generation(
        session, registry, blobs, account_id=account_id, request=request, data_dir=data_dir
    )
    if preflight.spec is None or preflight.model is None:
        raise refusal(preflight.errors, preflight.warnings)
    seed = request.seed if request.seed is not None else secrets.randbelow(SEED_LIMIT)
    spec = dataclasses.replace(preflight.spec, seed=seed)
    model = preflight.model
    job = Job(
        account_id=account_id,
        kind=JobKind.generate,
        dataset_id=None,
        offering_id=model.offering_id,
        preset="",
        params=spec.to_dict(),
        overrides=request.asked(),
        cost=preflight.cost,
        estimated_seconds=preflight.estimated_seconds,
        idempotency_key=request.idempotency_key,
        request_hash=fingerprint,
        platform=platform,
        platform_user_id=platform_user_id,
        reply_to=request.reply_to,
        status=JobStatus.queued,
        stage="queued",
        total_steps=spec.total_steps,
    )
    item = None
    if model.account_id != account_id:
        item = PaidItem(ItemKind.model, model.id, model.account_id)
    await queue_paid_job(
        session,
        market,
        job,
        quote_id=request.quote_id,
        item=item,
        item_price=preflight.price_per_use,
    )
    return job, True


async def lora_key(blobs: BlobStore, model: Model) -> str:
    """The blob key of a model's diffusers-format LoRA file (NotFound when none is stored)."""
    for entry in model.files:
        if entry.get("role") == LORA_ROLE and await blobs.exists(entry["key"]):
            return str(entry["key"])
    raise NotFound(f"the LoRA file of model {model.id} is not stored", model_id=model.id)


async def get_generation(session: AsyncSession, job_id: int, account_id: int) -> Job:
    """One of the account's generations (anything else looks missing)."""
    missing = NotFound(f"generation {job_id} does not exist or is not yours")
    try:
        job = await get_job(session, job_id, account_id)
    except NotFound:
        raise missing from None
    if job.kind != JobKind.generate:
        raise missing
    return job


async def list_generations(session: AsyncSession, account_id: int, *, limit: int) -> list[Job]:
    """The account's generations, newest first."""
    return await list_jobs(session, account_id, kind=JobKind.generate, limit=limit)


def blob_prefix(job_id: int, fencing_token: int) -> str:
    """Where one attempt's images go (a stale attempt never overwrites a newer one)."""
    return f"generations/job-{job_id}/attempt-{fencing_token}"


def result_files(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored files a generation's result names: its images, then its sheet."""
    sheet = result.get("sheet")
    return [*result.get("images", []), *([sheet] if sheet else [])]


async def generation_file(blobs: BlobStore, job: Job, name: str) -> str:
    """The blob key of one image (or the sheet) of a generation, by its name."""
    for entry in result_files(job.result):
        if entry["name"] == name:
            if not await blobs.exists(entry["key"]):
                raise NotFound(f"file {name!r} of generation {job.id} is no longer stored")
            return str(entry["key"])
    raise NotFound(f"generation {job.id} has no file {name!r}", name=name)
