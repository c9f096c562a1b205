"""What the control socket can ask of a running daemon: one handler per tagctl verb.

Handlers take the request's ``args`` dict and return JSON-able data. Bad arguments raise
ValueError (tagctl exits 2); a problem the daemon found raises a PhototagError (exit 1).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phototag.domain import FileSig
from phototag.errors import PhototagError
from phototag.intake.selection import Selection
from phototag.runtime.controls import Controls
from phototag.states import Status
from phototag.store.queue import Index
from phototag.store.records import display_path

TAG_WAIT_S = 600.0


class Commands:
    """The verbs, over the daemon's ``controls``, its ``index``, the ``selection`` of
    watched files and ``scan`` (a catch-up scan of the roots, or of one folder under them:
    the number of files found new or changed)."""

    def __init__(
        self,
        *,
        controls: Controls,
        index: Index,
        selection: Selection,
        scan: Callable[[Path | None], int],
    ) -> None:
        self._controls = controls
        self._index = index
        self._selection = selection
        self._scan = scan

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "status": self.status,
            "pause": self.pause,
            "resume": self.resume,
            "rescan": self.rescan,
            "retry": self.retry,
            "retag": self.retag,
            "preflight": self.preflight,
            "tag": self.tag,
            "list": self.list,
            "show": self.show,
            "undo": self.undo,
        }

    def status(self, _args: dict[str, Any]) -> dict[str, Any]:
        return self._controls.status()

    def pause(self, _args: dict[str, Any]) -> dict[str, Any]:
        self._controls.pause()
        return {"paused": True}

    def resume(self, _args: dict[str, Any]) -> dict[str, Any]:
        self._controls.resume()
        return {"paused": False}

    def rescan(self, args: dict[str, Any]) -> dict[str, Any]:
        top = self._inside_roots(args["path"]) if args.get("path") else None
        return {"found": self._scan(top)}

    def retry(self, args: dict[str, Any]) -> dict[str, Any]:
        requeued = self._index.requeue_where(status=Status.FAILED) if args.get("failed") else 0
        health = self._controls.check_backend()  # waiting jobs go as soon as the backend is ok
        self._controls.wake()
        return {"requeued_failed": requeued, "backend_ok": health.ok}

    def retag(self, args: dict[str, Any]) -> dict[str, Any]:
        queued = 0
        if args.get("stale"):
            tagger = self._controls.tagger
            queued += self._index.requeue_stale(
                backend=tagger.name,
                model=tagger.model,
                prompt_digest=tagger.prompt_digest,
            )
        for raw in args.get("paths", []):
            path = self._inside_roots(raw)
            queued += self._index.requeue_done(under=path)
            if path.is_file() and self._index.get(path) is None:
                queued += self._index.enqueue(path, FileSig.of(path))
        self._controls.wake()
        return {"queued": queued}

    def preflight(self, _args: dict[str, Any]) -> dict[str, Any]:
        return dataclasses.asdict(self._controls.check_backend())

    def tag(self, args: dict[str, Any]) -> dict[str, Any]:
        path = self._inside_roots(args["path"])
        if not path.is_file():
            raise ValueError(f"{path}: not a file")
        index = self._index
        if not index.enqueue(path, FileSig.of(path)):
            raise PhototagError(f"{path} is already queued or being tagged")
        self._controls.wake()
        deadline = time.monotonic() + TAG_WAIT_S
        while time.monotonic() < deadline:
            record = index.get(path)
            if record is not None and record.status not in (Status.QUEUED, Status.PROCESSING):
                return record.to_json()
            time.sleep(0.1)
        raise PhototagError(f"{path} is still waiting after {TAG_WAIT_S:.0f}s (backend down?)")

    def list(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = args.get("status")
        try:
            status = Status(wanted) if wanted is not None else None
        except ValueError:
            raise ValueError(f"unknown status {wanted!r}; one of {', '.join(Status)}") from None
        records = self._index.reader().records(status=status, limit=int(args.get("limit", 1000)))
        return [
            {"path": display_path(r.path), "status": r.status, "error": r.last_error}
            for r in records
        ]

    def show(self, args: dict[str, Any]) -> dict[str, Any] | None:
        record = self._index.get(Path(args["path"]))
        return record.to_json() if record else None

    def undo(self, args: dict[str, Any]) -> dict[str, Any]:
        from phototag.runtime.undo import undo_paths

        paths = [self._inside_roots(raw) for raw in args.get("paths", [])]
        if not paths:
            raise ValueError("give PATH...")
        return undo_paths(
            paths,
            settings=self._controls.settings,
            index=self._index,
            dry_run=bool(args.get("dry_run")),
        )

    def _inside_roots(self, raw: str) -> Path:
        """The path under a root that ``raw`` names; OutsideRoots (a usage error) if it is
        outside them or leaves them through a symbolic link."""
        return self._selection.locate(Path(os.path.abspath(raw)))
