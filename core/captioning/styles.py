"""From a captioner's raw sentence to the caption stored: the style, the trigger word, length.

- `sentence`: the captioner's sentence as it is ("a dog sitting on a red couch").
- `tags`: its content words as comma-separated tags, in order, each once ("dog, sitting,
  red, couch"), the way booru-style datasets caption; the function words are dropped.
With `trigger_first` the dataset's trigger word leads, followed by a comma ("zqx, dog, ..."),
the form the trainer recognises and does not prefix again (`TrainingSpec.captioned`).
"""

from __future__ import annotations

import re
import unicodedata

STYLES = ("sentence", "tags")
# Words a tag list leaves out: articles, prepositions, conjunctions, auxiliaries, numbers
# and the filler of captioners' sentences ("there is", "a picture of").
_STOPWORDS = """
a an the of on in at with and or but by near next to under over behind front from into onto
off up down out for as it its is are was were be been being has have had this that these
those there here some any two three four several many each other very while who which what
where his her their our your my
"""
STOPWORDS = frozenset(_STOPWORDS.split())
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


def tags_of(sentence: str) -> list[str]:
    """The content words of a sentence, in order and each once (all its words, when every one
    is a function word, so a caption is never empty)."""
    words = list(dict.fromkeys(match.group().lower() for match in _WORD.finditer(sentence)))
    return [word for word in words if word not in STOPWORDS] or words


def styled(
    raw: str, *, style: str, trigger_word: str = "", trigger_first: bool = True, max_chars: int
) -> str:
    """The caption to store: `raw` in `style`, the trigger word first if asked, at most
    `max_chars` characters (cut at a word)."""
    if style not in STYLES:
        raise ValueError(f"unknown caption style {style!r}; known: {list(STYLES)}")
    # One line of printable text, as a stored caption must be (`core.images.check_caption`).
    words = (
        "".join(c for c in word if unicodedata.category(c) not in {"Cc", "Cf"})
        for word in raw.split()
    )
    text = unicodedata.normalize("NFC", " ".join(word for word in words if word))
    if style == "tags":
        text = ", ".join(tags_of(text))
    trigger = trigger_word.strip()
    if trigger_first and trigger:
        text = f"{trigger}, {text}" if text else trigger
    return _cut(text, max_chars)


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    head = text[: max_chars + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else text[:max_chars]
    return cut[:max_chars].rstrip(" ,")
