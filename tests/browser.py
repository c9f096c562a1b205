"""A real headless browser for the tests: Debian's chromium driven by selenium through
Debian's chromedriver (no download: the driver's path is given, Selenium Manager stays
off).

selenium and what it needs live apart from the environment phototag runs in, in
``.venv/browser`` (``./bootstrap.sh test`` puts them there), and only this module puts
them on its path. selenium needs trio, and httpcore imports trio whenever it can: every
``phototagd`` and ``tagctl`` the tests start with a VLM would import it (~0.15 s of CPU
each, ~80 processes a run), which no daemon a person installs does."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
PACKAGES = Path(sys.prefix) / "browser"
FLAGS = (
    "--headless",
    "--no-sandbox",  # as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--allow-file-access-from-files",
)


def start_browser(profile: Path, *, width_px: int = 1400, height_px: int = 2400) -> Any:
    """A fresh chromium (its own user-data-dir) that keeps the page's console messages."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch anything
    if str(PACKAGES) not in sys.path:
        sys.path.append(str(PACKAGES))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width_px},{height_px}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
