"""Rendering on a warm pipeline: the LoRA at each strength, seeds, cancel, and no LoRA carried
from one job into the next (the diffusers behaviour `core.training.generation` relies on)."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from core.generation.cancel import GenerationCancelled
from core.generation.spec import GenerationSpec
from core.training import generation as render

pytestmark = pytest.mark.slow


def spec(**fields: Any) -> GenerationSpec:
    base = {"base_model": "builtin:tiny-sd15", "prompt": "zqx a red circle", "seed": 11,
            "steps": 3, "resolution": 32}  # fmt: skip
    return GenerationSpec(**{**base, **fields})


def never() -> bool:
    return False


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def run(pipe: Any, job: GenerationSpec, lora: Path, out: Path) -> list[np.ndarray]:
    steps: list[int] = []
    done = render.generate(pipe, job, lora, out, on_step=steps.append, should_cancel=never)
    assert steps == list(range(1, job.total_steps + 1)) and done.steps == job.total_steps
    return [pixels(done.files[f"image-{i}"]) for i in range(job.images)]


def plain(pipe: Any, job: GenerationSpec) -> np.ndarray:
    """What the base model alone renders for the spec's first seed."""
    import torch

    image = pipe(
        job.prompt, num_inference_steps=job.steps, height=job.resolution,
        width=job.resolution, generator=torch.Generator().manual_seed(job.seed),
    ).images[0]  # fmt: skip
    return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def pipe(shared_base_models: Path) -> Any:
    return render.load_base(spec(), shared_base_models.parent)


def test_strength_seeds_and_sheet(
    pipe: Any, trained_loras: dict[str, Path], tmp_path: Path
) -> None:
    lora = trained_loras["unet"]
    base = plain(pipe, spec())
    first, second = run(pipe, spec(count=2), lora, tmp_path / "a")
    assert np.abs(first - base).max() > 0  # the LoRA changes the picture
    assert np.abs(first - second).max() > 0  # seeds 11 and 12
    (without,) = run(pipe, spec(strength=0.0), lora, tmp_path / "b")
    np.testing.assert_array_equal(without, base)  # strength 0: the base model alone
    (again,) = run(pipe, spec(strength=1.0), lora, tmp_path / "c")
    np.testing.assert_array_equal(again, first)  # strength 0 left nothing disabled

    sheet_spec = spec(strengths=[0.0, 0.5, 1.0])
    tiles = run(pipe, sheet_spec, lora, tmp_path / "d")
    np.testing.assert_array_equal(tiles[0], base)
    np.testing.assert_array_equal(tiles[2], first)
    assert np.abs(tiles[1] - tiles[0]).max() > 0 and np.abs(tiles[1] - tiles[2]).max() > 0
    sheet = Image.open(tmp_path / "d" / "sheet.png")
    assert sheet.width == 3 * 32 and sheet.height > 32
    np.testing.assert_array_equal(np.asarray(sheet.convert("RGB"))[:32, 32:64], tiles[1])
    labels = np.asarray(sheet.convert("L"))[32:]
    assert labels.min() < 128  # the weights are written under the tiles


def test_no_lora_is_carried_into_the_next_job(
    pipe: Any, trained_loras: dict[str, Path], tmp_path: Path, shared_base_models: Path
) -> None:
    base = plain(pipe, spec())
    run(pipe, spec(), trained_loras["text"], tmp_path / "a")  # UNet and text encoder layers
    (warm,) = run(pipe, spec(), trained_loras["unet"], tmp_path / "b")
    fresh = render.load_base(spec(), shared_base_models.parent)
    (cold,) = run(fresh, spec(), trained_loras["unet"], tmp_path / "c")
    np.testing.assert_array_equal(warm, cold)
    np.testing.assert_array_equal(plain(pipe, spec()), base)
    assert pipe.get_list_adapters() == {}

    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    with pytest.raises(Exception, match="safetensors|header|deserializ"):
        run(pipe, spec(), broken, tmp_path / "d")
    np.testing.assert_array_equal(plain(pipe, spec()), base)


def test_a_cancel_stops_between_steps_and_unloads_the_lora(
    pipe: Any, trained_loras: dict[str, Path], tmp_path: Path
) -> None:
    steps: list[int] = []
    with pytest.raises(GenerationCancelled) as stopped:
        render.generate(
            pipe, spec(count=3), trained_loras["unet"], tmp_path, on_step=steps.append,
            should_cancel=lambda: len(steps) >= 4,
        )  # fmt: skip
    assert stopped.value.step == 4 and steps == [1, 2, 3, 4]
    assert pipe.get_list_adapters() == {}
    assert not list(tmp_path.glob("*.png"))
