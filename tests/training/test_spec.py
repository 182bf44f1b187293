"""The spec, presets, locations and CLI parsers: torch-free and JSON round-trippable."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.training.cli import add_make_tiny_model_parser, add_train_parser, spec_from_args
from core.training.locations import base_model_available, builtin_dir
from core.training.presets import spec_from_preset
from core.training.spec import TrainingSpec

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_spec_round_trips_through_json() -> None:
    spec = TrainingSpec(family="sdxl", steps=7, trigger_word="sks", sample_prompts=["a cat"])
    again = TrainingSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


def test_spec_refuses_bad_values_and_unknown_fields() -> None:
    with pytest.raises(ValueError, match="family"):
        TrainingSpec(family="sd3")
    with pytest.raises(ValueError, match="train_text_encoder"):
        TrainingSpec(family="flux", train_text_encoder=True)
    with pytest.raises(ValueError, match="caption_dropout"):
        TrainingSpec(caption_dropout=1.5)
    with pytest.raises(ValueError, match="unknown"):
        TrainingSpec.from_dict({"stepz": 3})


def test_every_field_is_explained() -> None:
    import dataclasses

    for field in dataclasses.fields(TrainingSpec):
        assert field.metadata.get("help"), field.name


def test_trigger_word_goes_first_once() -> None:
    spec = TrainingSpec(trigger_word="sks")
    assert spec.captioned("a dog") == "sks, a dog"
    assert spec.captioned("sks, a dog") == "sks, a dog"
    assert spec.captioned("") == "sks"


def test_presets_apply_overrides() -> None:
    spec = spec_from_preset("sdxl", "quality", steps=12, rank=None)
    assert (spec.family, spec.steps, spec.resolution, spec.rank) == ("sdxl", 12, 1024, 32)


def test_locations(tmp_path: Path) -> None:
    assert base_model_available("builtin:tiny-sd15", tmp_path)
    assert builtin_dir("builtin:tiny-sdxl", tmp_path) == tmp_path / "base-models" / "tiny-sdxl"
    assert not base_model_available(str(tmp_path / "missing"), tmp_path)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model_index.json").write_text("{}")
    assert base_model_available(str(tmp_path / "m"), tmp_path)


def test_light_modules_do_not_import_torch() -> None:
    code = (
        "import sys, core.training, core.training.spec, core.training.progress, "
        "core.training.locations, core.training.presets, core.training.cli; "
        "assert not {'torch', 'diffusers', 'peft'} & set(sys.modules), 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


def test_cli_parsers_register_subcommands() -> None:
    parser = argparse.ArgumentParser(prog="lorabot")
    sub = parser.add_subparsers()
    add_train_parser(sub)
    add_make_tiny_model_parser(sub)
    args = parser.parse_args(["train", "imgs", "--base", "b", "--out", "o", "--steps", "5"])
    assert args.steps == 5 and args.preset == "fast" and callable(args.func)
    args = parser.parse_args(["make-tiny-model", "out", "--family", "sdxl", "--size", "bench"])
    assert (args.family, args.size) == ("sdxl", "bench")


def test_cli_reaches_text_encoder_training() -> None:
    parser = argparse.ArgumentParser(prog="lorabot")
    add_train_parser(parser.add_subparsers())
    base = ["train", "imgs", "--base", "b", "--out", "o", "--family", "sdxl"]
    args = parser.parse_args([*base, "--train-text-encoder", "--text-encoder-lr", "3e-5"])
    spec = spec_from_args(args)
    assert spec.train_text_encoder and spec.effective_text_encoder_lr == 3e-5
    plain = spec_from_args(parser.parse_args(base))
    assert not plain.train_text_encoder and plain.effective_text_encoder_lr == plain.learning_rate
    with pytest.raises(ValueError, match="--train-text-encoder"):
        spec_from_args(parser.parse_args([*base, "--text-encoder-lr", "3e-5"]))
    with pytest.raises(ValueError, match="text_encoder_lr"):
        TrainingSpec(text_encoder_lr=0.0)
