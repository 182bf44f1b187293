"""The rules of dataset names, trigger words, descriptions and tags: one copy, read by the
daemon and the bots.

Pure and light (no database, no pictures), so a bot checks a typed answer with the very rule
the daemon enforces and asks again before calling it.
"""

import re
import unicodedata
from enum import StrEnum

MAX_NAME_CHARS = 100
MAX_TRIGGER_CHARS = 64
TRIGGER_CHARS = re.compile(r"[A-Za-z0-9_-]+")
MAX_DESCRIPTION_CHARS = 2000
MAX_TAGS = 20
MAX_TAG_CHARS = 32


class NamingProblem(StrEnum):
    """Why a name or trigger word is refused; the daemon reports it as the field error's type."""

    name_length = "DATASET_NAME_LENGTH"  # empty once trimmed, or over MAX_NAME_CHARS
    name_control_chars = "DATASET_NAME_CONTROL_CHARS"  # control or invisible format characters
    trigger_length = "TRIGGER_WORD_LENGTH"  # empty, or over MAX_TRIGGER_CHARS
    trigger_chars = "TRIGGER_WORD_CHARS"  # anything but A-Z a-z 0-9 _ - (spaces, dots, accents)


# The daemon's wording of each rule (the bots say it their own, friendlier way).
RULES: dict[NamingProblem, str] = {
    NamingProblem.name_length: f"a dataset name has 1 to {MAX_NAME_CHARS} characters",
    NamingProblem.name_control_chars: "a dataset name cannot hold control characters",
    NamingProblem.trigger_length: f"a trigger word has 1 to {MAX_TRIGGER_CHARS} characters",
    NamingProblem.trigger_chars: (
        "a trigger word holds only A-Z, a-z, 0-9, '_' or '-', without spaces"
    ),
}


def has_control_chars(text: str, *, allow: str = "") -> bool:
    """Whether the text holds control or format characters (other than those in `allow`)."""
    return any(unicodedata.category(c) in {"Cc", "Cf"} and c not in allow for c in text)


def check_dataset_name(name: str) -> NamingProblem | None:
    """Why this name (already trimmed) is refused, or None when it is acceptable."""
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        return NamingProblem.name_length
    if has_control_chars(name):
        return NamingProblem.name_control_chars
    return None


def check_trigger_word(word: str) -> NamingProblem | None:
    """Why this trigger word is refused, or None when it is acceptable."""
    if not 1 <= len(word) <= MAX_TRIGGER_CHARS:
        return NamingProblem.trigger_length
    if not TRIGGER_CHARS.fullmatch(word):
        return NamingProblem.trigger_chars
    return None


def check_description(value: str) -> str:
    """A description, trimmed; ValueError when too long or holding control characters."""
    value = value.strip()
    if len(value) > MAX_DESCRIPTION_CHARS:
        raise ValueError(f"a description has at most {MAX_DESCRIPTION_CHARS} characters")
    if has_control_chars(value, allow="\n\t"):
        raise ValueError("a description cannot hold control characters other than line breaks")
    return value


def check_tags(value: list[str]) -> list[str]:
    """Tags, trimmed and without case-insensitive repeats; ValueError when one is bad."""
    tags: list[str] = []
    for raw in value:
        tag = raw.strip()
        if not 1 <= len(tag) <= MAX_TAG_CHARS or has_control_chars(tag):
            raise ValueError(f"a tag has 1 to {MAX_TAG_CHARS} printable characters: {raw!r}")
        if tag.casefold() not in {t.casefold() for t in tags}:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return tags


MAX_FILE_STEM_CHARS = 80
_NOT_IN_STEM = re.compile(r"[^\w.-]+")


def file_stem(name: str, fallback: str = "lora") -> str:
    """A filesystem-safe stem of a display name: `Red circles · tiny #7` → `Red-circles-tiny-7`.

    Letters of any script stay (every filesystem takes them); runs of anything else (spaces,
    slashes, `·`, `#`) become one `-`. Tools such as A1111 use the stem as the LoRA's prompt
    alias (`<lora:Red-circles-tiny-7:1>`), so it holds no spaces.
    """
    stem = _NOT_IN_STEM.sub("-", unicodedata.normalize("NFC", name)).strip("-._")
    return stem[:MAX_FILE_STEM_CHARS].rstrip("-._") or fallback
