"""The review page (issue 17 point 2), loaded in a real headless chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from batch_support import Batch, backdate, vlm_env
from browser import CHROMEDRIVER, CHROMIUM, start_browser
from conftest import DATA
from fakevlm import FakeVLM
from phototag.cli.cmd_report import parse_since
from phototag.reporting.html import PAGE_SIZE, Entry, ordered, render_page
from phototag.states import Status

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs chromium and chromium-driver (apt)"
)
TAGGED = 5


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    driver = start_browser(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()


def errors_in_console(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait_for(condition: Any, *, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def loaded_thumbnails(driver: Any) -> list[Any]:
    return driver.execute_script(
        "return [...document.querySelectorAll('img.thumb')]"
        ".filter(i => i.complete && i.naturalWidth > 0)"
    )


@pytest.fixture
def tagged(tmp_path: Path) -> Iterator[Batch]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(TAGGED):
        shutil.copyfile(DATA / "chelsea.jpg", inbox / f"cat{i}.jpg")
        with (inbox / f"cat{i}.jpg").open("ab") as fh:
            fh.write(b"%d" % i)
    subprocess.run(  # a person's own keyword, before phototag
        [
            "exiftool",
            "-q",
            "-overwrite_original",
            "-XMP-dc:Subject=granny",
            str(inbox / "cat0.jpg"),
        ],
        check=True,
    )
    (inbox / "broken.jpg").write_bytes(b"\xff\xd8\xff not a photo")
    backdate(*inbox.iterdir())
    with FakeVLM() as fake:
        batch = Batch(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake))
        run = batch.once()
        assert run.returncode == 1 and f"{TAGGED} tagged, 1 failed" in run.stdout, run.stderr
        yield batch


@pytest.mark.slow
def test_the_review_page_shows_each_photo_beside_its_tags(
    tagged: Batch, browser: Any, tmp_path: Path
) -> None:
    page = tmp_path / "review" / "review.html"
    page.parent.mkdir()
    made = tagged.tagctl("report", "--html", str(page), "--json")
    assert made.returncode == 0, made.stderr
    stats = json.loads(made.stdout)
    assert stats["photos"] == TAGGED + 1 and stats["thumbs_made"] == TAGGED
    thumbs = sorted((page.parent / "review_files").iterdir())
    assert len(thumbs) == TAGGED  # the broken file has none; no original is copied
    for thumb in thumbs:
        with Image.open(thumb) as im:
            assert im.format == "JPEG" and max(im.size) <= 256

    browser.get(page.as_uri())
    cards = wait_for(lambda: browser.find_elements("css selector", ".card"))
    assert len(cards) == TAGGED + 1
    assert "failed" in cards[0].get_attribute("class")  # failures first
    assert "not an image" in cards[0].find_element("css selector", ".error").text
    wait_for(lambda: len(loaded_thumbnails(browser)) == TAGGED)
    for card in cards[1:]:
        assert card.find_element("css selector", "h2").text == "A tabby cat"
        words = [k.text for k in card.find_elements("css selector", ".kw:not(.person)")]
        assert "tabby" in words
        assert card.find_element("css selector", ".caption").text
    person = browser.find_elements("css selector", ".card .kw.person")
    assert [k.text for k in person] == ["granny"]  # the person's keyword, marked apart
    totals = browser.find_element("css selector", "#totals").text
    assert f"done: {TAGGED}" in totals and "failed: 1" in totals
    bars = browser.find_elements("css selector", "#chart .bar")
    assert bars and "tabby" in browser.find_element("css selector", "#chart").text
    browser.save_screenshot(str(tmp_path / "review.png"))
    assert (tmp_path / "review.png").stat().st_size > 10_000
    assert errors_in_console(browser) == []


@pytest.mark.slow
def test_the_daemon_keeps_summary_html(tagged: Batch, browser: Any, tmp_path: Path) -> None:
    summary = tagged.state / "summary.html"
    assert summary.exists() and (tagged.state / "summary.md").exists()
    browser.get(summary.as_uri())
    wait_for(lambda: len(loaded_thumbnails(browser)) == TAGGED)
    assert len(browser.find_elements("css selector", ".card")) == TAGGED + 1
    browser.save_screenshot(str(tmp_path / "summary.png"))
    assert errors_in_console(browser) == []


@pytest.mark.slow
def test_report_selects_by_status_path_and_time(tagged: Batch, tmp_path: Path) -> None:
    page = tmp_path / "failed.html"
    assert tagged.tagctl("report", "--html", str(page), "--status", "failed").returncode == 0
    assert "broken.jpg" in page.read_text() and "cat1.jpg" not in page.read_text()
    both = tmp_path / "both.html"
    cat1 = str(tagged.roots[0] / "cat1.jpg")
    made = tagged.tagctl("report", "--html", str(both), "--status", "failed,done", cat1)
    assert made.returncode == 0, made.stderr  # the PATH after --status is a PATH
    assert "cat1.jpg" in both.read_text() and "cat2.jpg" not in both.read_text()
    assert tagged.tagctl("report", "--html", str(both), "--status", "gone").returncode == 2
    one = tmp_path / "one.html"
    assert tagged.tagctl("report", "--html", str(one), cat1).returncode == 0
    assert "cat1.jpg" in one.read_text() and "cat2.jpg" not in one.read_text()
    later = tmp_path / "later.html"
    assert tagged.tagctl("report", "--html", str(later), "--since", "2099-01-01").returncode == 0
    assert '"photos":[]' in later.read_text()
    assert tagged.tagctl("report", "--html", str(later), "--since", "soon").returncode == 2


def test_large_reports_are_paged(browser: Any, tmp_path: Path) -> None:
    count = 2 * PAGE_SIZE + 50
    entries = [
        Entry(
            path=f"/photos/{i}.jpg",
            status=Status.FAILED if i % 50 == 0 else Status.DONE,
            title=f"Photo {i} </script><b>not markup</b>",
            caption="",
            description="",
            keywords=("sea",),
            person_keywords=(),
            notes=(),
            error="cannot decode" if i % 50 == 0 else None,
            thumb=None,
            when=f"2026-11-{1 + i % 28:02d}T10:00:00",
            dry_run=False,
        )
        for i in range(count)
    ]
    page = tmp_path / "big.html"
    page.write_text(
        render_page(
            ordered(entries),
            heading="big",
            generated_at=datetime.now().astimezone(),
            totals={"done": count},
            keyword_counts=[("sea", count)],
        )
    )
    browser.get(page.as_uri())
    assert len(wait_for(lambda: browser.find_elements("css selector", ".card"))) == PAGE_SIZE
    first = browser.find_elements("css selector", ".card")[0]
    assert "failed" in first.get_attribute("class")
    assert "</script><b>not markup</b>" in first.find_element("css selector", "h2").text
    browser.find_element("css selector", ".next").click()
    assert "page 2 of 3" in browser.find_element("css selector", "#pager").text
    browser.find_element("css selector", ".next").click()
    assert len(browser.find_elements("css selector", ".card")) == 50
    assert browser.find_element("css selector", ".next").get_attribute("disabled")
    assert errors_in_console(browser) == []


def test_parse_since() -> None:
    assert parse_since("2h", now_s=10_000) == 10_000 - 7200
    assert parse_since("1d12h", now_s=200_000) == 200_000 - 129_600
    assert parse_since("2026-11-30", now_s=0) == datetime(2026, 11, 30).timestamp()
    with pytest.raises(ValueError):
        parse_since("yesterday", now_s=0)
