"""Ten thousand files land at once: all tagged, the daemon's memory bounded.

A module of its own: the test processes take a module each, and this one test is long
enough to be a test process's whole share.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from daemon_harness import DaemonProcess, wait_for
from test_crash import small_photos


def distinct_photos(folder: Path, count: int) -> None:
    """``count`` distinct JPEGs: 100 small images, each file with a pixel density of its
    own in its JFIF header, so that no two files are byte-identical (a copy of a tagged
    file would be reused, not tagged). Each is still a JPEG with no metadata block, decoded
    and tagged like any other; 0.1 ms a file to make, against 1.2 ms to draw and encode."""
    bases = folder / "bases"
    bases.mkdir()
    small_photos(bases, 100, seed=1, pixels_kept=False)
    images = [path.read_bytes() for path in sorted(bases.iterdir())]
    shutil.rmtree(bases)
    assert all(image[2:11] == b"\xff\xe0\x00\x10JFIF\x00" for image in images)  # Pillow's APP0
    for i in range(count):
        image = images[i % len(images)]
        # units 0 (an aspect ratio), then the X and Y densities: 1..65535 each
        density = b"\x00" + (1 + i // len(images)).to_bytes(2, "big") + b"\x00\x01"
        (folder / f"img_{i:05d}.jpg").write_bytes(image[:13] + density + image[18:])


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.slow
def test_ten_thousand_files_at_once_all_tagged_with_memory_bounded(tmp_path: Path) -> None:
    count = 10_000
    inbox, staging = tmp_path / "inbox", tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    distinct_photos(staging, count)
    # What is tested is the intake, the queue and the daemon's memory at 10,000 files; the
    # metadata writer is a separate process (not in the RSS measured) that would make this
    # test alone 6 minutes at ~30 writes/s. The writer at volume is test_crash's 300 photos.
    env = {
        "PHOTOTAG_LOG_LEVEL": "INFO",
        "PHOTOTAG_METADATA__WRITE": "false",
        "PHOTOTAG_LOCAL__CLASSIFIER": "false",
        "PHOTOTAG_LOCAL__PLACES": "false",
        "PHOTOTAG_LOCAL__FACES": "false",
        # the default: the harness's 1 s renders the run's summary over 10,000 records
        # every second, a fifth of the daemon's CPU here, which a person's daemon never does
        "PHOTOTAG_OUTPUTS__SUMMARY_INTERVAL_S": "60",
    }
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
    try:
        assert daemon.proc is not None
        idle_kb = _rss_kb(daemon.proc.pid)
        peak_kb = idle_kb
        for photo in staging.iterdir():
            photo.rename(inbox / photo.name)

        def finished() -> bool:
            nonlocal peak_kb
            peak_kb = max(peak_kb, _rss_kb(daemon.proc.pid))
            counts = daemon.status().get("counts", {})
            return counts.get("done", 0) + counts.get("failed", 0) >= count

        wait_for(finished, timeout_s=900, what="10,000 photos", log=daemon.log_path, interval_s=2)
        status = daemon.wait_done(count, timeout_s=60)
        assert status["counts"]["done"] == count and status["counts"]["failed"] == 0
        assert len(daemon.jsonl()) == count
        assert peak_kb - idle_kb < 150_000, (idle_kb, peak_kb)  # bounded, not per file
    finally:
        assert daemon.stop() == 0
