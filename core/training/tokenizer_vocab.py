"""The real CLIP BPE vocabulary, rebuilt offline from the file open-clip-torch ships."""

from __future__ import annotations

import gzip
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"
# open_clip's SimpleTokenizer keeps the first 49152 - 256 - 2 merges (after the header line).
_NUM_MERGES = 49152 - 256 - 2


def bpe_vocab_path() -> Path:
    """Locate open_clip's gzipped BPE file without importing open_clip (it needs torchvision)."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("open-clip-torch is not installed; it ships the CLIP vocabulary")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BPE_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{BPE_FILE} not found in the open_clip package")


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """CLIP's reversible map from bytes to printable unicode characters."""
    bs = list(range(ord("!"), ord("~") + 1))
    bs += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def clip_vocab_and_merges() -> tuple[dict[str, int], list[str]]:
    """The vocabulary and merges exactly as open_clip's SimpleTokenizer builds them."""
    lines = gzip.decompress(bpe_vocab_path().read_bytes()).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : _NUM_MERGES + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab += [v + "</w>" for v in vocab]
    vocab += ["".join(merge) for merge in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {token: i for i, token in enumerate(vocab)}, [" ".join(m) for m in merges]


def write_clip_tokenizer_files(out_dir: Path) -> None:
    """Write `vocab.json` and `merges.txt` that `CLIPTokenizer.from_pretrained` reads."""
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab, merges = clip_vocab_and_merges()
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    header = "#version: 0.2\n"
    (out_dir / "merges.txt").write_text(header + "\n".join(merges) + "\n", encoding="utf-8")
