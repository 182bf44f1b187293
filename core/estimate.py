"""Preflight: what a training would cost and whether it can run, before any point moves."""

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.breakdown import Breakdown
from core.datasets import DatasetStats, dataset_stats, get_usable_dataset
from core.db.models import Account
from core.errors import DomainError, NotFound, PreflightRefused
from core.offerings import Offering, OfferingRegistry, merged_params
from core.spending import over_cap, spent_today
from core.training.locations import base_model_available
from core.training.spec import TrainingSpec


@dataclass
class Issue:
    """One error or warning of a preflight, e.g. `TOO_FEW_IMAGES`."""

    code: str
    message: str


@dataclass
class Estimate:
    """The answer of a preflight; `ok` is true when there are no errors."""

    offering_id: str
    preset: str
    cost: int = 0
    estimated_seconds: float = 0.0
    vram_gb: float = 0.0
    image_count: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    spec: TrainingSpec | None = None
    breakdown: Breakdown = field(default_factory=Breakdown)
    """The parts of `cost` (no parts while it could not be priced)."""

    @property
    def ok(self) -> bool:
        return not self.errors


async def estimate(
    session: AsyncSession,
    registry: OfferingRegistry,
    *,
    account_id: int,
    dataset_id: int,
    offering_id: str,
    preset: str,
    overrides: dict[str, Any],
    data_dir: Path,
) -> Estimate:
    """Price a training and list every reason it could not run (nothing is changed)."""
    result = Estimate(offering_id=offering_id, preset=preset)
    try:
        offering = registry.get(offering_id)
        params = merged_params(offering, preset, overrides)
    except DomainError as exc:
        result.errors.append(Issue(exc.code, exc.message))
        return result
    result.params = params
    try:
        result.estimated_seconds = offering.estimated_seconds(params)
        result.breakdown = offering.breakdown(params)
        result.cost = result.breakdown.total
        result.vram_gb = offering.vram_gb(params)
    except (OverflowError, ValueError):
        # Values far past the bounds (the RPC caps them; other callers may not) overflow the
        # float arithmetic: there is no price to show, only the bounds to point at.
        result.errors.append(
            Issue("BOUNDS_EXCEEDED", "; ".join(offering.bounds.violations(params)))
        )
        return result
    _check_offering(offering, params, data_dir, result)
    try:
        dataset = await get_usable_dataset(session, dataset_id, account_id)
    except NotFound:
        result.errors.append(
            Issue("DATASET_NOT_FOUND", f"dataset {dataset_id} does not exist or is not yours")
        )
        return result
    stats = await dataset_stats(session, dataset.id)
    result.image_count = stats.image_count
    _check_images(offering, stats, int(params["resolution"]), result)
    await check_daily_cap(session, account_id, result.cost, result.errors)
    if result.ok:
        result.spec = _build_spec(offering, params, dataset.trigger_word or "", result)
    return result


def missing_base_model(offering: Offering, data_dir: Path) -> Issue | None:
    """BASE_MODEL_MISSING when the offering's base model cannot be loaded here (a `builtin:`
    one is built on first use, so it is never missing)."""
    if base_model_available(offering.base_model, data_dir):
        return None
    return Issue(
        "BASE_MODEL_MISSING",
        f"the base model of {offering.id} ({offering.base_model}) is not installed",
    )


def unavailability(offering: Offering, data_dir: Path) -> Issue | None:
    """Why the offering cannot train on this install, None when it can.

    The one check behind both the offerings list (so the bots offer only what works) and
    the preflight of every estimate and job.
    """
    if not offering.enabled:
        return Issue("OFFERING_DISABLED", f"{offering.id} is not available for training yet")
    return missing_base_model(offering, data_dir)


def _check_offering(
    offering: Offering, params: dict[str, Any], data_dir: Path, result: Estimate
) -> None:
    unavailable = unavailability(offering, data_dir)
    if unavailable is not None:
        result.errors.append(unavailable)
    problems = offering.bounds.violations(params)
    if problems:
        result.errors.append(Issue("BOUNDS_EXCEEDED", "; ".join(problems)))


async def check_daily_cap(
    session: AsyncSession, account_id: int, cost: int, errors: list[Issue]
) -> None:
    """Add DAILY_CAP_REACHED to `errors` when `cost` would pass the account's daily cap.

    The caller loaded the account in this session (the acting account, or the submit's lock),
    so it is read from the identity map without a query.
    """
    account = await session.get(Account, account_id)
    cap = None if account is None else account.daily_spending_cap
    if cap is None:
        return
    problem = over_cap(cap, await spent_today(session, account_id), cost)
    if problem is not None:
        errors.append(Issue("DAILY_CAP_REACHED", problem))


def refusal(errors: list[Issue], warnings: list[Issue]) -> PreflightRefused:
    """The 422 of a submission whose preflight found errors (every paid kind's)."""
    return PreflightRefused(
        "; ".join(issue.message for issue in errors),
        errors=[asdict(issue) for issue in errors],
        warnings=[asdict(issue) for issue in warnings],
    )


def _check_images(
    offering: Offering, stats: DatasetStats, resolution: int, result: Estimate
) -> None:
    count = stats.image_count
    if count < offering.min_images:
        result.errors.append(
            Issue(
                "TOO_FEW_IMAGES",
                f"{offering.id} needs at least {offering.min_images} images; the dataset has "
                f"{count}",
            )
        )
    elif count > offering.max_images:
        result.errors.append(
            Issue(
                "TOO_MANY_IMAGES",
                f"{offering.id} takes at most {offering.max_images} images; the dataset has "
                f"{count}",
            )
        )
    elif count < 2 * offering.min_images:
        result.warnings.append(
            Issue("FEW_IMAGES", f"only {count} images; {2 * offering.min_images}+ train better")
        )
    if stats.uncaptioned:
        result.warnings.append(
            Issue(
                "UNCAPTIONED_IMAGES",
                f"{stats.uncaptioned} of {count} images have no caption; the trigger word alone "
                "will be used",
            )
        )
    if count and stats.min_side < resolution:
        result.warnings.append(
            Issue(
                "SMALL_IMAGES",
                f"the smallest image is {stats.min_side}px on its short side, below the "
                f"training resolution {resolution}px; small images are upscaled and look soft",
            )
        )


def _build_spec(
    offering: Offering, params: dict[str, Any], trigger_word: str, result: Estimate
) -> TrainingSpec | None:
    try:
        return TrainingSpec(
            family=offering.spec_family,
            base_model=offering.base_model,
            base_model_config=offering.base_model_config,
            trigger_word=trigger_word,
            **params,
        )
    except (TypeError, ValueError) as exc:
        result.errors.append(Issue("INVALID_PARAMS", str(exc)))
        return None
