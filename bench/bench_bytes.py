"""Bytes sent to a VLM per 24-MP JPEG, against sending the original file.

    .venv/bin/python bench/bench_bytes.py [--quick] [--json FILE]

Tags distinct 24-MP JPEGs with the real OpenAI tagger (``imaging.prepare`` at
``vlm.max_edge_px``, then ``OpenAITagger.tag``, default settings) against the fake
server, which records each request's Content-Length and the decoded image it carried.
The reference is the original file: raw, as a base64 data URL (what a batch tagger
sending the file itself puts on the wire), and three times that (the batch tool this
project replaces sent each original three times).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from common import Report, make_photos, parser
from phototag.config import Settings
from phototag.processing.imaging import prepare
from phototag.taggers.vlm.tagger import OpenAITagger
from slotvlm import SlotVLM


def main() -> None:
    args = parser(__doc__).parse_args()
    count = 4 if args.quick else 10
    report = Report("7. Bytes sent to the VLM per 24-MP JPEG")
    with tempfile.TemporaryDirectory() as tmp, SlotVLM(slots=8, latency_s=0.0) as server:
        photos = make_photos(Path(tmp) / "photos", count)
        settings = Settings(
            roots=[Path(tmp)], backend="openai", vlm={"base_url": server.url, "model": "fake-vlm"}
        )
        tagger = OpenAITagger(vlm=settings.vlm, max_keywords=settings.max_keywords)
        for path in photos:
            image = prepare(
                path, max_edge_px=settings.vlm.max_edge_px, max_pixels=settings.max_image_pixels
            )
            tagger.tag(image)
        tagger.close()
        sent = server.tagging_requests()
        originals = [p.stat().st_size for p in photos]
    wire = statistics.mean(SlotVLM.wire_bytes(r) for r in sent)
    jpeg = statistics.mean(r.images[0].nbytes for r in sent)
    size = sent[0].images[0].size
    original = statistics.mean(originals)
    as_data_url = original * 4 / 3
    report.row("photos", f"{count} x 6000x4000 JPEG q92, mean {original / 1e6:.2f} MB")
    report.row("requests recorded", f"{len(sent)} (one per photo, no repairs)")
    report.row(
        "image sent (JPEG bytes)",
        f"{jpeg / 1e3:.0f} kB at {size[0]}x{size[1]}, quality {settings.vlm.jpeg_quality}",
    )
    report.row("whole request on the wire (Content-Length)", f"{wire / 1e3:.0f} kB")
    report.row("original as a base64 data URL", f"{as_data_url / 1e6:.2f} MB")
    report.row(
        "ratio: request / original file", f"{wire / original:.4f} ({original / wire:.0f}x smaller)"
    )
    report.row(
        "ratio: request / original as data URL",
        f"{wire / as_data_url:.4f} ({as_data_url / wire:.0f}x smaller)",
    )
    report.row(
        "ratio: request / 3 x original as data URL (the old batch tool)",
        f"{wire / (3 * as_data_url):.4f} ({3 * as_data_url / wire:.0f}x smaller)",
    )
    report.note("no target in issue 7; reported as a ratio")
    report.save(args.json)


if __name__ == "__main__":
    main()
