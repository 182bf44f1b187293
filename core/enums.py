"""The closed vocabularies of the domain, stored as plain strings."""

from enum import StrEnum


class Platform(StrEnum):
    telegram = "telegram"  # a Telegram user id
    discord = "discord"  # a Discord user snowflake


class LedgerKind(StrEnum):
    grant = "grant"  # points given by an operator
    purchase = "purchase"  # points bought
    training_debit = "training_debit"  # the price of a training, taken when it is queued
    caption_debit = "caption_debit"  # the price of a caption job, taken when it is queued
    generation_debit = "generation_debit"  # the price of a generation, taken when it is queued
    refund = "refund"  # a job's price given back, in full or the unused share
    royalty = "royalty"  # the owner's share of a paid use of their published dataset or model
    royalty_reversal = "royalty_reversal"  # a refunded use takes its royalty back
    purchase_refund = (
        "purchase_refund"  # a refunded purchase takes its points back (or undoes that)
    )
    link_transfer = "link_transfer"  # balance moved when two accounts are linked into one


class Visibility(StrEnum):
    private = "private"  # only the owner sees and uses it
    unlisted = "unlisted"  # not browsable; anyone who knows the id may see and use it
    public = "public"  # browsable in the marketplace; anyone may see and use it

    @property
    def is_published(self) -> bool:
        return self is not Visibility.private


class Licence(StrEnum):
    """The licences a published dataset or model can carry (a fixed list: no free text)."""

    cc0 = "CC0-1.0"  # no rights reserved
    cc_by = "CC-BY-4.0"  # any use, with credit
    cc_by_sa = "CC-BY-SA-4.0"  # any use, with credit, derivatives under the same licence
    cc_by_nc = "CC-BY-NC-4.0"  # non-commercial use, with credit
    openrail_m = "OpenRAIL-M"  # responsible-AI use restrictions (as many model cards use)
    personal = "personal-use-only"  # private, non-commercial use; no redistribution


class ItemKind(StrEnum):
    """What a paid use or an earning is about."""

    dataset = "dataset"  # trained on by someone else
    model = "model"  # generated with by someone else


class DeleteStatus(StrEnum):
    """How one dataset of a batch delete was answered."""

    deleted = "deleted"  # gone, with its images
    in_use = "in_use"  # a queued or running job of the owner uses it (DATASET_IN_USE)
    not_found = "not_found"  # missing, or someone else's (published or not)


class BrowseSort(StrEnum):
    """The orders of the marketplace's pages."""

    newest = "newest"  # most recently published first
    most_used = "most_used"  # most paid uses by others first


class PurchaseProvider(StrEnum):
    telegram_stars = "telegram_stars"  # an invoice paid in Telegram Stars (currency XTR)
    discord_sku = "discord_sku"  # a consumable SKU bought in Discord (an entitlement)


class PurchaseStatus(StrEnum):
    pending = "pending"  # an invoice was sent; nothing is paid yet
    credited = "credited"  # paid; the pack's points were added
    refunding = "refunding"  # points taken back; the provider's refund is not confirmed yet
    refunded = "refunded"  # the provider gave the money back; the points are gone


class JobKind(StrEnum):
    """What a GPU job does; every kind runs through the same lifecycle and settlement."""

    train = "train"  # train a LoRA on a dataset; the result is a Model
    caption = "caption"  # caption a dataset's images with a vision-language model
    generate = "generate"  # images from a base model with a LoRA loaded

    @property
    def debit(self) -> "LedgerKind":
        """The ledger kind of this kind's price."""
        return _DEBITS[self]


_DEBITS = {
    JobKind.train: LedgerKind.training_debit,
    JobKind.caption: LedgerKind.caption_debit,
    JobKind.generate: LedgerKind.generation_debit,
}


class JobStatus(StrEnum):
    queued = "queued"  # paid, waiting for a free slot
    preparing = "preparing"  # a worker holds it: loading the base model, caching latents
    training = "training"  # the work runs: optimizer steps, captions, denoising steps
    finishing = "finishing"  # saving the LoRA files, samples and loss curve
    completed = "completed"  # a model is registered; the debit stands
    failed = "failed"  # gave up after the last attempt; refunded in full
    cancelled = "cancelled"  # stopped by the user or an operator; unused share refunded

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES

    @property
    def is_running(self) -> bool:
        return self in RUNNING_STATUSES


FINAL_STATUSES = frozenset({JobStatus.completed, JobStatus.failed, JobStatus.cancelled})
RUNNING_STATUSES = frozenset({JobStatus.preparing, JobStatus.training, JobStatus.finishing})


class NotificationKind(StrEnum):
    job_started = "job_started"  # a worker picked the job up
    job_completed = "job_completed"  # a training's model is ready: id, files, trigger word
    job_sample = "job_sample"  # a training wrote a checkpoint and rendered its sample
    captions_ready = "captions_ready"  # a caption job wrote its captions into the dataset
    generation_ready = "generation_ready"  # a generation's images are ready
    job_failed = "job_failed"  # reason and refund
    job_cancelled = "job_cancelled"  # refund
    low_balance = "low_balance"  # a debit took the balance below the operator's threshold


class ActivityKind(StrEnum):
    """The events of a person's activity feed (`GET /v1/activity`)."""

    job_started = "job_started"  # a worker picked up one of their jobs
    job_completed = "job_completed"  # a training finished; its model is ready
    job_failed = "job_failed"  # a job gave up; its price was refunded
    job_cancelled = "job_cancelled"  # a job was cancelled; the unused share was refunded
    captions_ready = "captions_ready"  # a caption job wrote its captions
    generation_ready = "generation_ready"  # a generation's images are ready
    purchase = "purchase"  # points bought were credited
    purchase_refunded = "purchase_refunded"  # a purchase was refunded; its points taken back
    royalty_earned = "royalty_earned"  # someone else paid to use a published item
    accounts_linked = "accounts_linked"  # two chat identities now share this account
    low_balance = "low_balance"  # a debit took the balance below the operator's threshold


class RefusalCode(StrEnum):
    """Why one uploaded file was not added (the other files of the upload are unaffected)."""

    not_an_image = "NOT_AN_IMAGE"  # not a picture format at all
    corrupt_image = "CORRUPT_IMAGE"  # truncated or damaged picture data
    unsupported_format = "UNSUPPORTED_FORMAT"  # a picture, but not JPEG/PNG/WebP, or animated
    file_too_large = "FILE_TOO_LARGE"  # more bytes than `max_image_bytes`
    too_many_pixels = "TOO_MANY_PIXELS"  # width × height over `max_image_pixels`
    duplicate_image = "DUPLICATE_IMAGE"  # same normalized content already in the dataset
    dataset_full = "DATASET_FULL"  # the dataset holds `max_images_per_dataset` images
    quota_exceeded = "QUOTA_EXCEEDED"  # the account's stored bytes would pass its quota
    invalid_caption = "INVALID_CAPTION"  # too long or with control characters


class CostPeriod(StrEnum):
    """The windows of the cost dashboard (`GET /v1/costs`), each ending today (UTC)."""

    week = "week"  # the last 7 days
    month = "month"  # the last 30 days
    year = "year"  # the last 365 days
    custom = "custom"  # `from` to `to`, both given
