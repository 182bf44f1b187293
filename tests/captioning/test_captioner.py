"""The tiny BLIP captioner (real transformers classes, loaded with `from_pretrained`), its
styles, its spec and how the offerings file names it."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.captioning.locations import captioner_available, is_captioner_folder
from core.captioning.spec import CaptionSpec
from core.captioning.styles import STOPWORDS, styled, tags_of
from core.captioning.vocab import WORDS
from core.config_files import ConfigFileError
from core.offerings import OfferingRegistry
from tests.conftest import REPO
from tests.imagefactory import png_bytes

SPEC = CaptionSpec(captioner="builtin:tiny-blip", trigger_word="zqx")


def pictures(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = folder / f"{seed}.png"
        path.write_bytes(png_bytes(64, 48, seed=seed))
        paths.append(path)
    return paths


@pytest.mark.slow
def test_the_tiny_captioner_loads_as_a_blip_checkpoint_and_captions_in_words(
    shared_captioner: Path, tmp_path: Path
) -> None:
    from transformers import BlipForConditionalGeneration

    from core.training.captioner import caption_images, load_captioner

    folder = shared_captioner / "tiny-blip"
    assert is_captioner_folder(folder)
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
        p.name for p in folder.iterdir()
    }
    captioner = load_captioner(folder)
    assert isinstance(captioner.model, BlipForConditionalGeneration)
    paths = pictures(tmp_path / "images", 4)
    caption_images(captioner, paths[:1], SPEC)  # the first call warms up
    started = time.monotonic()
    done: list[int] = []
    captions = caption_images(captioner, paths, SPEC, on_caption=done.append)
    assert (time.monotonic() - started) / len(paths) < 1.0
    assert done == [1, 2, 3, 4]
    for caption in captions:
        trigger, sentence = caption.split(", ", 1)
        words = sentence.split()
        assert trigger == "zqx" and len(words) >= SPEC.min_new_tokens
        assert set(words) <= set(WORDS)
    assert len(set(captions)) > 1, "different pictures should not all read the same"
    assert caption_images(captioner, paths, SPEC) == captions  # beam search is deterministic


@pytest.mark.slow
def test_a_cancel_is_honoured_before_the_next_image(
    shared_captioner: Path, tmp_path: Path
) -> None:
    from core.training.captioner import CaptioningCancelled, caption_images, load_captioner

    captioner = load_captioner(shared_captioner / "tiny-blip")
    done: list[int] = []
    with pytest.raises(CaptioningCancelled) as stopped:
        caption_images(
            captioner,
            pictures(tmp_path, 3),
            SPEC,
            on_caption=done.append,
            should_cancel=lambda: len(done) == 2,
        )
    assert stopped.value.step == 2 and done == [1, 2]


@pytest.mark.slow
def test_the_builtin_is_built_once_on_first_use(tmp_path: Path) -> None:
    from core.training.captioner import ensure_captioner

    built = ensure_captioner("builtin:tiny-blip", tmp_path)
    assert built == tmp_path / "base-models" / "tiny-blip" and is_captioner_folder(built)
    stamp = (built / "model.safetensors").stat().st_mtime_ns
    assert ensure_captioner("builtin:tiny-blip", tmp_path) == built
    assert (built / "model.safetensors").stat().st_mtime_ns == stamp
    assert [p.name for p in built.parent.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(FileNotFoundError):
        ensure_captioner(str(tmp_path / "nowhere"), tmp_path)
    with pytest.raises(ValueError, match="unknown builtin captioner"):
        ensure_captioner("builtin:huge-blip", tmp_path)


def test_the_offerings_file_refuses_an_unknown_builtin_captioner(tmp_path: Path) -> None:
    text = (REPO / "core" / "offerings.toml").read_text(encoding="utf-8")
    bad = tmp_path / "offerings.toml"
    bad.write_text(text.replace("builtin:tiny-blip", "builtin:huge-blip"), encoding="utf-8")
    with pytest.raises(ConfigFileError, match="captioner.*unknown builtin captioner"):
        OfferingRegistry.load(bad)
    captioner = OfferingRegistry.load(REPO / "core" / "offerings.toml").captioner
    assert captioner is not None and captioner.model == "builtin:tiny-blip"
    assert captioner.cost(3) == 3 and captioner.estimated_seconds(3) == 6.5


def test_a_local_captioner_is_available_only_with_config_processor_and_weights(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "blip"
    assert not captioner_available(str(folder))
    folder.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (folder / name).write_text("{}", encoding="utf-8")
        assert not captioner_available(str(folder))
    (folder / "model.safetensors").write_bytes(b"")
    assert captioner_available(str(folder))
    assert captioner_available("builtin:tiny-blip") and not captioner_available("builtin:x")


def test_styles_give_a_sentence_or_tags_with_the_trigger_word_first() -> None:
    raw = "a dog sitting on a red couch with a dog"
    assert tags_of(raw) == ["dog", "sitting", "red", "couch"]
    assert tags_of("a the of") == ["a", "the", "of"]  # never empty
    assert not set(tags_of("there is a cat on the mat")) & STOPWORDS
    common = {"trigger_word": "zqx", "max_chars": 500}
    assert styled(raw, style="tags", **common) == "zqx, dog, sitting, red, couch"
    assert styled(raw, style="sentence", **common) == f"zqx, {raw}"
    assert styled(raw, style="sentence", trigger_first=False, **common) == raw
    assert styled(raw, style="tags", trigger_word="", max_chars=500).startswith("dog, ")
    assert styled("a cat\n\tasleep\u200b  now", style="sentence", max_chars=500) == (
        "a cat asleep now"
    )
    cut = styled(raw, style="sentence", trigger_word="zqx", max_chars=20)
    assert cut == "zqx, a dog sitting" and len(cut) <= 20
    with pytest.raises(ValueError):
        styled(raw, style="haiku", max_chars=500)


def test_the_spec_reads_back_and_refuses_what_it_does_not_know() -> None:
    assert CaptionSpec.from_dict(SPEC.to_dict()) == SPEC
    assert SPEC.finish("a dog on a rock") == "zqx, a dog on a rock"
    with pytest.raises(ValueError, match="unknown CaptionSpec fields"):
        CaptionSpec.from_dict({**SPEC.to_dict(), "temperature": 2})
    bad_fields = ({"style": "haiku"}, {"min_new_tokens": 50}, {"max_new_tokens": 0})
    for bad in (*bad_fields, {"captioner": ""}):
        with pytest.raises(ValueError):
            CaptionSpec.from_dict({**SPEC.to_dict(), **bad})


def test_what_the_daemon_imports_of_captioning_loads_no_torch() -> None:
    modules = [
        "core.captions",
        "core.captioning.cli",
        "core.captioning.results",
        "daemon.queue.kinds.caption",
        "daemon.routes.captions",
    ]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps([m for m in ('torch', 'transformers') if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
