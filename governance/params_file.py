"""Load `PolicyParams` from a TOML or YAML file (the I/O the pure core must not do).

Errors are `InvalidParamsError` naming the file and, for invalid values, the dotted field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from governance.errors import InvalidParamsError
from governance.policy.params import PolicyParams

SUFFIXES = (".toml", ".yaml", ".yml")


def load_params(path: str | Path) -> PolicyParams:
    """Read ``path`` (.toml, .yaml or .yml) and validate it as `PolicyParams`."""
    file = Path(path)
    if file.suffix not in SUFFIXES:
        raise InvalidParamsError(
            f"policy params file {file}: expected one of {', '.join(SUFFIXES)}"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidParamsError(f"policy params file {file}: {error.strerror}") from error
    data = _parse(file, text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidParamsError(f"invalid policy params in {file}: the top level must be a table")
    return PolicyParams.from_mapping(data, source=str(file))


def _parse(file: Path, text: str) -> Any:
    try:
        if file.suffix == ".toml":
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidParamsError(f"policy params file {file}: not valid TOML: {error}") from error
    except yaml.YAMLError as error:
        raise InvalidParamsError(f"policy params file {file}: not valid YAML: {error}") from error
