"""tests/fakevlm.FakeVLM with a fixed number of concurrent slots, like a GPU server's batch.

Requests beyond ``slots`` wait for a free slot (as vLLM's max_num_seqs); each answer takes
``latency_s`` once it has a slot, or more as the batch grows (``growth``); a threshold
(``refuse_above``) can answer 429 instead, as a router does. Every chat request's size on
the wire is recorded.

The server runs in the benchmark's process on the same cores as the daemon, so it must not
steal CPU a real GPU server would not: images are not decoded beyond their header, except
the preflight's tiny probe square whose colour it has to name.
"""

from __future__ import annotations

import base64
import io
import threading

from PIL import Image

import fakevlm
from fakevlm import FakeVLM, Recorded, SentImage, Step

PROBE_MAX_PX = 64


def header_only(url: str) -> SentImage:
    """fakevlm.decode_image without the full decode of anything but a probe square."""
    header, _, payload = url.partition(",")
    data = base64.b64decode(payload)
    with Image.open(io.BytesIO(data)) as im:
        if max(im.size) <= PROBE_MAX_PX:
            return _full_decode(url)
        return SentImage(
            mime=header.removeprefix("data:").split(";")[0],
            format=im.format or "",
            size=im.size,
            nbytes=len(data),
            mean_rgb=(0, 0, 0),
        )


_full_decode = fakevlm.decode_image
fakevlm.decode_image = header_only


class SlotVLM(FakeVLM):
    """``slots`` answered at once, the rest queued. ``growth`` k > 0: a GPU's batch, each
    answer takes ``latency_s x (1 + k x active / slots)`` with ``active`` the requests in
    the batch when it starts. ``refuse_above``: a router's threshold, a request arriving
    while that many are at the server (served or queued) gets 429 at once."""

    def __init__(
        self,
        *,
        slots: int,
        latency_s: float,
        growth: float = 0.0,
        refuse_above: int | None = None,
    ) -> None:
        super().__init__()
        self.base_latency_s = latency_s
        self.growth = growth
        self.refuse_above = refuse_above
        self.slot_count = slots
        self.refused = 0
        self._slots = threading.Semaphore(slots)
        self._count_lock = threading.Lock()
        self._at_server = 0  # served or waiting for a slot (not refused)
        self._active = 0  # holding a slot
        self._mine = threading.local()

    @property  # type: ignore[override]
    def latency_s(self) -> float:  # read by the handler once its request holds a slot
        if getattr(self._mine, "refused", False):
            return 0.0
        return self.base_latency_s * (1 + self.growth * self._active / self.slot_count)

    @latency_s.setter
    def latency_s(self, value: float) -> None:
        pass  # FakeVLM's own setting; the latency is the model above

    def _enter(self) -> None:  # counted while waiting for a slot too: max_in_flight is
        super()._enter()  # the most requests that were at the server at once
        with self._count_lock:
            refused = self.refuse_above is not None and self._at_server >= self.refuse_above
            self._mine.refused = refused
            if refused:
                self.refused += 1
                return
            self._at_server += 1
        self._slots.acquire()
        with self._count_lock:
            self._active += 1

    def _next_step(self) -> Step:
        if getattr(self._mine, "refused", False):
            return Step(status=429, message="too many requests in flight")
        return super()._next_step()

    def _leave(self) -> None:
        if not self._mine.refused:
            with self._count_lock:
                self._active -= 1
                self._at_server -= 1
            self._slots.release()
        super()._leave()

    def tagging_requests(self) -> list[Recorded]:
        """Chat requests carrying a photo (not the preflight's probes)."""
        return [r for r in self.chat_requests if r.images and "colour" not in r.text.lower()]

    @staticmethod
    def wire_bytes(request: Recorded) -> int:
        return int(request.headers.get("content-length", "0"))
