"""Every supported format through the real daemon: in place, or an XMP sidecar for HEIC."""

from __future__ import annotations

from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from conftest import DATA, exiftool
from daemon_harness import DaemonProcess

pillow_heif.register_heif_opener()


@pytest.mark.slow
def test_png_tiff_webp_in_place_and_heic_to_a_sidecar(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    staging = tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    source = Image.open(DATA / "chelsea.jpg")
    names = {"cat.png": "PNG", "cat.tif": "TIFF", "cat.webp": "WEBP", "cat.heic": "HEIF"}
    for name, fmt in names.items():
        source.save(staging / name, format=fmt)
    pixels = {name: Image.open(staging / name).convert("RGB").tobytes() for name in names}
    heic_bytes = (staging / "cat.heic").read_bytes()
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox]).start()
    try:
        for name in names:
            (staging / name).rename(inbox / name)
        status = daemon.wait_done(len(names))
        assert status["counts"]["done"] == len(names), daemon.jsonl()
        for name in ("cat.png", "cat.tif", "cat.webp"):
            (meta,) = exiftool(inbox / name, args=("-XMP-dc:Subject", "-XMP-dc:Title"))
            assert meta.get("Subject") and meta.get("Title"), (name, meta)
            assert Image.open(inbox / name).convert("RGB").tobytes() == pixels[name]
        assert (inbox / "cat.heic").read_bytes() == heic_bytes  # never rewritten
        (meta,) = exiftool(inbox / "cat.heic.xmp", args=("-XMP-dc:Subject",))
        assert "cat" in meta["Subject"]
        records = {Path(r["path"]).name: r for r in daemon.jsonl()}
        assert records["cat.heic"]["metadata"]["sidecar"] is True
        assert "IPTC" in records["cat.webp"]["metadata"]["note"]
    finally:
        assert daemon.stop() == 0
