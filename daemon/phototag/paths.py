"""Where phototag keeps things (XDG folders), without importing the settings machinery.

``tagctl status`` must answer in well under 0.3 s on a big index; importing pydantic and
building the settings costs about 0.25 s of CPU, so the read-only verbs find the index
through :func:`index_path_fast`, and the verbs that only talk to the daemon its socket
through :func:`socket_path_fast`; each falls back to the full settings only when it
cannot tell.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path

INDEX_NAME = "index.sqlite3"
SOCKET_NAME = "control.sock"


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
    folder = _folder_fast(config_file, "state_dir", default=default_state_dir)
    return None if folder is None else folder / INDEX_NAME


def socket_path_fast(config_file: Path | None) -> Path | None:
    """The control socket's path, as :func:`index_path_fast` finds the index."""
    folder = _folder_fast(config_file, "runtime_dir", default=default_runtime_dir)
    return None if folder is None else folder / SOCKET_NAME


def _folder_fast(config_file: Path | None, key: str, *, default: Callable[[], Path]) -> Path | None:
    """The folder setting ``key`` from ``PHOTOTAG_<KEY>``, else the config file, else
    ``default()``; None when the file cannot be read or holds something else than text."""
    value = os.environ.get(f"PHOTOTAG_{key.upper()}")
    if not value:
        path = config_file or default_config_path()
        if path.exists():
            try:
                with path.open("rb") as fh:
                    value = tomllib.load(fh).get(key)
            except (OSError, tomllib.TOMLDecodeError):
                return None
            if value is not None and not isinstance(value, str):
                return None
        elif config_file is not None:
            return None
    folder = Path(value).expanduser() if value else default()
    return Path(os.path.abspath(folder))
