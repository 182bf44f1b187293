"""Reading the operator's TOML files into pydantic models, with errors that say where."""

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigFileError(ValueError):
    """A config file is missing or invalid (the daemon refuses to start)."""


def ids_from_keys(data: object, section: str) -> object:
    """Give each table of `[section.<key>]` the id `<key>` unless it names one itself."""
    if isinstance(data, dict) and isinstance(data.get(section), dict):
        for key, table in data[section].items():
            if isinstance(table, dict):
                table.setdefault("id", key)
    return data


def load_toml(path: Path, model: type[M], what: str) -> M:
    """Read and validate a TOML file; the error names the file, each bad field and why."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"cannot read {what} file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{what} file {path} is not valid TOML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigFileError(f"{what} file {path} is invalid:\n" + "\n".join(lines)) from None
