"""What a reload (SIGHUP) changes: which settings take effect now, which wait for a restart,
and which parts of the daemon must be built anew or reconfigured for them.

:func:`plan_reload` is pure: it compares the running settings with the ones just loaded.
The daemon applies the plan (``runtime/daemon.py``). A setting is named by its dotted
path (``outputs.jsonl_max_bytes``); a rule for a section covers every key in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from phototag.config import Settings


class Part(StrEnum):
    """A part of the running daemon that a changed setting is read by."""

    CORE = "core"  # the tagger, its health circuit and the pipeline: built anew
    OUTPUTS = "outputs"  # JSONL, summary, metrics: reconfigured, its counts go on
    LOGGING = "logging"  # the log level
    SPACE = "space"  # the state folder's free-space gate: built anew
    LOOP = "loop"  # read by the main loop on each round: nothing to rebuild


# Needs a restart: what is watched and how (the watchers, the stability tracker and the
# selection are built once, and the pipeline shares their rules), the worker threads
# (their number follows `workers` and the VLM's most concurrency), the backend kind, the
# per-field models (each adds a tagger and threads), where state and the socket live.
RESTART_ONLY: tuple[str, ...] = (
    "roots",
    "recursive",
    "extensions",
    "include",
    "exclude",
    "follow_symlinks",
    "debounce_s",
    "writer_quiet_s",
    "watch_mode",
    "poll_interval_s",
    "max_file_bytes",
    "workers",
    "max_attempts",
    "backend",
    "vlm.max_inflight",
    "vlm.max_inflight_cap",
    "vlm.description",
    "vlm.keywords",
    "state_dir",
    "runtime_dir",
)

# Applied at once, read by these parts; a setting not named here nor above is read by the
# core only (the taggers' and the pipeline's settings).
READ_BY: dict[str, frozenset[Part]] = {
    "log_level": frozenset({Part.LOGGING}),
    "outputs": frozenset({Part.OUTPUTS}),
    "reconcile_interval_s": frozenset({Part.LOOP}),
    "min_free_state_bytes": frozenset({Part.SPACE}),
    "dry_run": frozenset({Part.CORE, Part.OUTPUTS}),
    "metadata": frozenset({Part.CORE, Part.OUTPUTS}),
}


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    settings: Settings  # what runs from now on: the loaded values, but the restart-only kept
    applied: tuple[str, ...]  # changed settings that take effect now
    needs_restart: tuple[str, ...]  # changed settings that keep their running value
    parts: frozenset[Part]  # what the daemon builds anew or reconfigures


def plan_reload(running: Settings, loaded: Settings) -> ReloadPlan:
    """How to go from the ``running`` settings to the ``loaded`` ones without a restart."""
    applied: list[str] = []
    needs_restart: list[str] = []
    kept: dict[str, None] = {}  # restart-only rules whose running value is kept, in order
    parts: set[Part] = set()
    for key in changed_keys(running, loaded):
        rule = _rule(key, RESTART_ONLY)
        if rule is not None:
            needs_restart.append(key)
            kept[rule] = None
            continue
        applied.append(key)
        read_by = _rule(key, tuple(READ_BY))
        parts |= READ_BY[read_by] if read_by is not None else {Part.CORE}
    settings = loaded
    for rule in kept:
        settings = _replaced(settings, rule.split("."), _value(running, rule.split(".")))
    return ReloadPlan(
        settings=settings,
        applied=tuple(applied),
        needs_restart=tuple(needs_restart),
        parts=frozenset(parts),
    )


def changed_keys(old: BaseModel, new: BaseModel, *, prefix: str = "") -> Iterator[str]:
    """The dotted names of the fields whose values differ, down into the sections."""
    for name in type(old).model_fields:
        before, after = getattr(old, name), getattr(new, name)
        if isinstance(before, BaseModel) and isinstance(after, BaseModel):
            yield from changed_keys(before, after, prefix=f"{prefix}{name}.")
        elif before != after:
            yield prefix + name


def _rule(key: str, rules: tuple[str, ...]) -> str | None:
    """The rule that covers ``key``: the key itself, or a section above it."""
    return next((r for r in rules if key == r or key.startswith(r + ".")), None)


def _value(model: BaseModel, path: list[str]) -> Any:
    node: Any = model
    for name in path:
        node = getattr(node, name)
    return node


def _replaced(model: Any, path: list[str], value: Any) -> Any:
    """A copy of the frozen ``model`` with the field at ``path`` set to ``value``."""
    head, *rest = path
    inner = value if not rest else _replaced(getattr(model, head), rest, value)
    return model.model_copy(update={head: inner})
