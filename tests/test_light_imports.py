"""The daemon and the bots must start without loading torch, diffusers or matplotlib."""

import json
import subprocess
import sys

import pytest

# With the embedded defaults (local blobs, local workers) the clients of the scaled-out
# backends stay unloaded too.
HEAVY = (
    *("torch", "diffusers", "peft", "transformers", "accelerate", "matplotlib"),
    *("ray", "aiobotocore", "botocore"),
)


@pytest.mark.parametrize(
    "modules",
    [
        ["core.cli", "daemon.app", "daemon.cli"],
        ["bots.cli", "bots.telegram.main", "bots.discord.main"],
        ["core.training", "core.training.spec", "core.training.cli"],
        # The generation worker says hello before its first job loads torch.
        ["core.generation.spec", "core.generation.sheet", "core.generation.worker"],
    ],
    ids=["daemon", "bots", "training-spec-and-cli", "generation-spec-and-worker"],
)
def test_no_heavy_imports(modules: list[str]) -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_cli_help_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    for command in (
        "daemon",
        "migrate",
        "telegram",
        "discord",
        "demo",
        "train",
        "make-tiny-model",
    ):
        assert command in out


def test_the_wire_models_load_without_the_daemons_frameworks() -> None:
    """Bots read answers with `daemon.schemas`: it must not pull in the database or HTTP stack."""
    code = (
        "import json, sys\n"
        "import daemon.schemas\n"
        "print(json.dumps([m for m in ('sqlalchemy', 'aiohttp') if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
