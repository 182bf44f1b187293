"""Honest choices: only what can run on this install becomes a button; the rest is listed
with the reason, so no button leads to an error the person could not see coming."""

from bots.common import texts
from daemon.schemas import ModelOut, OfferingOut


def trainable(offerings: list[OfferingOut]) -> list[OfferingOut]:
    """The offerings that can train here (the daemon's preflight check says so)."""
    return [o for o in offerings if o.available]


def unavailable_lines(offerings: list[OfferingOut]) -> list[str]:
    """A heading and a line per offering that cannot train here, with its reason; [] if none."""
    lines = [
        texts.UNAVAILABLE_OFFERING.format(title=o.title or o.id, reason=_reason(o))
        for o in offerings
        if not o.available
    ]
    return [texts.OFFERINGS_UNAVAILABLE, *lines] if lines else []


def _reason(offering: OfferingOut) -> str:
    code = offering.unavailable_reason.code if offering.unavailable_reason else ""
    return texts.UNAVAILABLE_REASONS.get(code, texts.UNAVAILABLE_OTHER)


def can_generate(model: ModelOut, offerings: list[OfferingOut]) -> bool:
    """Whether the model's offering still generates on this install: it is listed, offers
    generation, and its base model is installed (the generation preflight's rule)."""
    offering = next((o for o in offerings if o.id == model.offering_id), None)
    return (
        offering is not None and offering.generation is not None and offering.base_model_available
    )
