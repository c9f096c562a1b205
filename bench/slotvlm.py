"""tests/fakevlm.FakeVLM with a fixed number of concurrent slots, like a GPU server's batch.

Requests beyond ``slots`` wait for a free slot (as vLLM's max_num_seqs); each answer takes
``latency_s`` once it has a slot. Every chat request's size on the wire is recorded.

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
from fakevlm import FakeVLM, Recorded, SentImage

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
    def __init__(self, *, slots: int, latency_s: float) -> None:
        super().__init__()
        self.latency_s = latency_s
        self._slots = threading.Semaphore(slots)

    def _enter(self) -> None:  # counted while waiting for a slot too: max_in_flight is
        super()._enter()  # the most requests that were at the server at once
        self._slots.acquire()

    def _leave(self) -> None:
        self._slots.release()
        super()._leave()

    def tagging_requests(self) -> list[Recorded]:
        """Chat requests carrying a photo (not the preflight's probes)."""
        return [r for r in self.chat_requests if r.images and "colour" not in r.text.lower()]

    @staticmethod
    def wire_bytes(request: Recorded) -> int:
        return int(request.headers.get("content-length", "0"))
