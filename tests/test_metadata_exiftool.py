"""The shared exiftool -stay_open helper: values pass intact, and it never outlives phototag."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import exiftool
from mwgfixtures import jpeg
from phototag.metadata.exiftool import ExifTool


def test_values_with_line_breaks_and_leading_spaces_pass_intact(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "a.jpg")
    out = tmp_path / "b.jpg"
    text = "  two lines\nand a \\ backslash\tand a tab"
    tool = ExifTool()
    try:
        reply = tool.execute(f"-XMP-dc:Description={text}", "-o", str(out), str(photo))
    finally:
        tool.close()
    assert "created" in reply.stdout
    assert exiftool(out)[0]["XMP-dc:Description"] == text


def test_the_helper_ends_when_the_process_that_started_it_dies() -> None:
    code = (
        "import os; from phototag.metadata.exiftool import shared; "
        "shared().execute('-ver'); print(shared()._proc.pid, flush=True); os._exit(0)"
    )
    pid = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
    _wait_gone(pid, timeout_s=30)


def test_the_helper_ends_when_its_starter_dies_before_exiftool_is_up() -> None:
    """Killed while Perl still starts (a SIGKILL right after a daemon's first write began):
    exiftool, given to init before it reads its config, must still see its starter gone."""
    code = (
        "import os; from phototag.metadata.exiftool import shared; "
        "print(shared()._running().pid, flush=True); os._exit(0)"
    )
    pid = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
    _wait_gone(pid, timeout_s=30)


def _wait_gone(pid: int, *, timeout_s: float) -> None:
    """Until ``pid`` has ended (a zombie no reaper collects counts as ended)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state == "Z":
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    raise AssertionError("exiftool outlived the process that started it")


def test_a_reply_with_more_than_a_pipe_of_warnings_does_not_hang(tmp_path: Path) -> None:
    missing = [str(tmp_path / f"missing-{i:05d}-{'x' * 40}.jpg") for i in range(1500)]
    tool = ExifTool()
    try:
        reply = tool.execute("-j", *missing)  # ~130 KB of "File not found" on stderr
        assert len(reply.errors) == 1500 and len(reply.stderr) > 65536
        assert tool.execute("-ver").stdout.strip()  # the next reply is its own
    finally:
        tool.close()


def test_a_file_name_that_is_not_utf8_is_written(tmp_path: Path) -> None:
    from phototag.config import MetadataSettings
    from phototag.domain import FileSig, TagResult, Tags
    from phototag.metadata.write import write_tags

    name = os.fsdecode(b"bad-\xff\xfe-name.jpg")
    photo = jpeg(tmp_path / name)
    result = TagResult(tags=Tags(keywords=("cat",)), backend="local", model="m")
    outcome = write_tags(photo, result, settings=MetadataSettings(), expected=FileSig.of(photo))
    assert outcome.written and outcome.keywords == ("cat",)
