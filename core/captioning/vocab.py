"""The word-level vocabulary of the tiny captioner: BERT's special tokens and plain English.

A real BLIP checkpoint ships BERT's 30,522-piece WordPiece vocabulary; the tiny one needs only
enough whole words for its random weights to string into captions, so it is written here and
no file is fetched. Every entry is a whole lower-case word, so anything it decodes is words.
"""

from __future__ import annotations

from pathlib import Path

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
# BLIP's decoder starts from `[DEC]` (its bos token); `[ENC]` marks image-grounded encoding.
DEC, ENC = "[DEC]", "[ENC]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK, DEC, ENC)


def _words(text: str) -> list[str]:
    return text.split()


FUNCTION_WORDS = _words("""
a an the of on in at with and or by near next to under over behind front from into its
is are this that some two three several many small large
""")

COLOURS = _words("""
red orange yellow green blue purple pink brown black white grey gray golden silver
dark light bright pale colorful striped spotted
""")

PEOPLE_AND_ANIMALS = _words("""
man woman person boy girl child baby people men women couple family friend player rider
dog puppy cat kitten horse cow sheep goat pig bird duck chicken owl eagle fish bear
rabbit mouse fox deer lion tiger elephant giraffe zebra monkey butterfly bee
""")

THINGS = _words("""
car truck bus train bicycle motorcycle boat plane ship tractor house building tower church
bridge road street path fence wall door window roof table chair sofa couch bed lamp clock
book cup bottle glass plate bowl knife fork spoon pizza cake bread apple banana orange
flower flowers tree trees grass leaf leaves plant garden forest field farm park lake river
sea ocean beach sand rock rocks stone mountain hill sky cloud clouds sun moon star snow rain
city town village room kitchen bathroom office shop market window sign light computer
phone camera bag hat shirt dress jacket shoes umbrella kite ball guitar piano painting
picture photo drawing sculpture statue toy robot mask helmet glasses
""")

QUALITIES = _words("""
old young new little big tall short long round square wooden metal stone glass plastic
empty full open closed wet dry sunny cloudy snowy foggy quiet busy happy smiling
beautiful cute close up view portrait landscape background foreground top side corner
""")

ACTIONS = _words("""
sitting standing walking running jumping flying swimming riding driving eating drinking
sleeping lying looking holding playing reading smiling talking waiting wearing carrying
parked floating hanging growing covered filled surrounded
""")

WORDS: tuple[str, ...] = tuple(
    dict.fromkeys(FUNCTION_WORDS + COLOURS + PEOPLE_AND_ANIMALS + THINGS + QUALITIES + ACTIONS)
)


def vocabulary() -> list[str]:
    """The vocabulary in id order: the special tokens first, then the words."""
    return [*SPECIAL_TOKENS, *WORDS]


def write_vocab(path: Path) -> Path:
    """Write `vocab.txt` (one token a line, as `BertTokenizer` reads it); its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(vocabulary()) + "\n", encoding="utf-8")
    return path
