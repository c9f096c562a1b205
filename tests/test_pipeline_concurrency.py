"""With a VLM, many threads wait on the server but only `workers` photos are decoded at once.

The daemon runs in this process (``--once``) against the real fake server, and the real
``prepare`` is wrapped to count how many calls overlap; nothing is replaced.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path

import pytest
from PIL import Image

import phototag.processing.pipeline
from fakevlm import FakeVLM
from phototag.config import load_settings
from phototag.runtime.daemon import Daemon
from phototag.store.reader import IndexReader
from phototag.taggers import Paced

DATA = Path(__file__).parent / "data"


class Overlap:
    """Wraps a function; remembers the most calls that were running at the same time."""

    def __init__(self, fn: object) -> None:
        self._fn = fn
        self._lock = threading.Lock()
        self._now = 0
        self.most = 0
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        with self._lock:
            self._now += 1
            self.calls += 1
            self.most = max(self.most, self._now)
        try:
            return self._fn(*args, **kwargs)  # type: ignore[operator]
        finally:
            with self._lock:
                self._now -= 1


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_decoding_is_bounded_by_workers_while_requests_overlap(
    xdg: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sources = sorted(DATA.glob("*.jpg"))
    for i in range(12):  # distinct bytes: a byte-identical copy would not be decoded again
        src = sources[i % len(sources)]
        with Image.open(src) as im:
            im.convert("RGB").save(inbox / f"{i:02d}-{src.name}", quality=70 + i)
    decoding = Overlap(phototag.processing.pipeline.prepare)
    monkeypatch.setattr(phototag.processing.pipeline, "prepare", decoding)

    with FakeVLM() as server:
        server.latency_s = 0.4  # long enough that the 6 request slots fill up
        settings = load_settings(
            cli={
                "roots": [str(inbox)],
                "backend": "openai",
                "workers": workers,
                "vlm": {"base_url": server.url, "model": "fake-vlm", "max_inflight": 6},
            }
        )
        daemon = Daemon(settings, once=True)
        assert daemon.run() == 0
        at_server = server.max_in_flight

    index = IndexReader.open(settings.index_path)
    try:
        assert index.counts().get("done") == 12
    finally:
        index.close()
    assert decoding.calls == 12
    assert decoding.most == workers  # never more photos decoded at once than workers
    assert at_server >= 4  # while the other threads kept the server busy


class TwoSlotVLM(FakeVLM):
    """Answers two requests at a time and queues the rest, as a small GPU server does."""

    def __init__(self) -> None:
        super().__init__()
        self._slots = threading.Semaphore(2)

    def _enter(self) -> None:
        super()._enter()
        self._slots.acquire()

    def _leave(self) -> None:
        self._slots.release()
        super()._leave()


@pytest.mark.slow
def test_with_auto_only_workers_more_photos_than_the_limit_are_held_decoded(
    xdg: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "auto" may rise to its cap (64), so the daemon runs workers + 64 threads; the
    photos they hold decoded follow the current limit instead: never more than
    workers + limit are alive at once (each counted until it is freed)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sources = sorted(DATA.glob("*.jpg"))
    for i in range(30):
        src = sources[i % len(sources)]
        with Image.open(src) as im:
            im.convert("RGB").resize((160, 120)).save(inbox / f"{i:02d}.jpg", quality=60 + i)
    real_prepare = phototag.processing.pipeline.prepare
    lock = threading.Lock()
    alive = 0
    excess: list[tuple[int, int]] = []  # (alive, workers + limit) whenever alive was more
    most = 0
    daemon: Daemon | None = None

    def freed() -> None:
        nonlocal alive
        with lock:
            alive -= 1

    def counting_prepare(*args: object, **kwargs: object) -> object:
        nonlocal alive, most
        prepared = real_prepare(*args, **kwargs)  # type: ignore[arg-type]
        weakref.finalize(prepared.image, freed)
        assert daemon is not None and isinstance(daemon.tagger, Paced)
        allowed = 1 + sum(s.limit for s in daemon.tagger.concurrency().values())
        with lock:
            alive += 1
            most = max(most, alive)
            if alive > allowed:
                excess.append((alive, allowed))
        return prepared

    monkeypatch.setattr(phototag.processing.pipeline, "prepare", counting_prepare)
    with TwoSlotVLM() as server:
        server.latency_s = 0.2
        settings = load_settings(
            cli={
                "roots": [str(inbox)],
                "backend": "openai",
                "workers": 1,
                "vlm": {"base_url": server.url, "model": "fake-vlm"},
            }
        )
        daemon = Daemon(settings, once=True)
        assert daemon.run() == 0
    index = IndexReader.open(settings.index_path)
    try:
        assert index.counts().get("done") == 30
    finally:
        index.close()
    assert excess == []
    assert most < 20  # 65 threads; without the admission all 30 photos were held at once
