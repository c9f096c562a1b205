"""What a running daemon offers the parts that control or watch it (the control socket's
verbs, systemd): a narrow view, so those parts never reach into the daemon's components."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from phototag.config import Settings
    from phototag.domain import Health
    from phototag.taggers import Tagger


class Controls(Protocol):
    """The daemon, as seen from tagctl and systemd. Every member is safe from any thread."""

    @property
    def settings(self) -> Settings:
        """The settings running now (a reload replaces them)."""
        ...

    @property
    def tagger(self) -> Tagger:
        """The tagger new jobs go to now (a reload may build a new one)."""
        ...

    def pause(self) -> None:
        """Stop starting jobs; the photos in flight finish, nothing queued is lost."""
        ...

    def resume(self) -> None: ...

    def wake(self) -> None:
        """Look at the queue now (something was queued, or the backend came back)."""
        ...

    def check_backend(self) -> Health:
        """Preflight the backend now; waiting jobs go as soon as it is healthy."""
        ...

    def status(self) -> dict[str, Any]:
        """``tagctl status``'s figures: the index's view plus the live ones."""
        ...
