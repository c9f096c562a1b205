"""Where phototag keeps things (XDG folders), without importing the settings machinery.

``tagctl status`` must answer in well under 0.3 s on a big index; building the pydantic
settings costs about 0.2 s of that, so the read-only verbs find the index through
:func:`index_path_fast` and fall back to the full settings only when it cannot tell.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

INDEX_NAME = "index.sqlite3"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_config_path() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "phototag" / "config.toml"


def default_state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / "phototag"


def default_runtime_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "phototag"
    return default_state_dir() / "run"


def default_inbox() -> Path:
    return Path.home() / "Pictures" / "Inbox"


def index_path_fast(config_file: Path | None) -> Path | None:
    """The index path by the settings' precedence (environment, then config file, then
    default), or None when only a full settings load can say (e.g. an unreadable file)."""
    state_dir = os.environ.get("PHOTOTAG_STATE_DIR")
    if not state_dir:
        path = config_file or default_config_path()
        if path.exists():
            try:
                with path.open("rb") as fh:
                    value = tomllib.load(fh).get("state_dir")
            except (OSError, tomllib.TOMLDecodeError):
                return None
            if value is not None and not isinstance(value, str):
                return None
            state_dir = value
        elif config_file is not None:
            return None
    folder = Path(state_dir).expanduser() if state_dir else default_state_dir()
    return Path(os.path.abspath(folder)) / INDEX_NAME
