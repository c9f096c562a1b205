"""Faults: the API key and the credentials in vlm.base_url never leave phototag."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA
from daemon_harness import FRESH_REPORTS, DaemonProcess, vlm_env, wait_for
from fakevlm import FakeVLM, error

KEY = "KEYSECRET-8d1f0a2c"  # the key file's (first) line
URL_SECRET = "URLSECRET-77c3e9b1"  # the password in vlm.base_url


def _phototagd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phototag.cli.phototagd", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_key_file_with_more_than_the_key_is_refused_naming_the_file(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    key_file = tmp_path / "key"
    key_file.write_text(f"{KEY}\n# prod key\n")
    with FakeVLM() as fake:
        env = vlm_env(fake, PHOTOTAG_VLM__API_KEY_FILE=str(key_file))
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env)
        run = _phototagd(daemon.env, str(inbox))
    assert run.returncode == 2, run.stderr
    assert str(key_file) in run.stderr and "line 2" in run.stderr
    assert KEY not in run.stdout + run.stderr
    assert fake.chat_requests == []


@pytest.mark.slow
def test_credentials_appear_in_no_output(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    key_file = tmp_path / "key"
    key_file.write_text(f"{KEY}\n\n")  # blank lines after the key are fine
    with FakeVLM() as fake:
        url = fake.url.replace("http://", f"http://phototag:{URL_SECRET}@")
        env = vlm_env(
            fake,
            PHOTOTAG_VLM__BASE_URL=url,
            PHOTOTAG_VLM__API_KEY_FILE=str(key_file),
            PHOTOTAG_OUTPUTS__PROMETHEUS="true",
            PHOTOTAG_VLM__PREFLIGHT_INTERVAL_S="1",
            **FRESH_REPORTS,
        )
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
        outputs: dict[str, str] = {}
        try:
            fake.fail_all = error(503, "overloaded")
            shutil.copyfile(DATA / "chelsea.jpg", inbox / "a.jpg")
            down = wait_for(
                lambda: (
                    (s := daemon.status()).get("health")
                    and not s["health"]["ok"]
                    and s["last_seen_at"]
                    and s
                ),
                timeout_s=30,
                what="the backend reported down",
                log=daemon.log_path,
            )
            # the message names the server, without its credentials (so this is no test of
            # an empty string)
            assert "[REDACTED]@127.0.0.1" in down["health"]["reason"], down["health"]
            daemon.wait_heartbeats(2)  # summary and metrics written while it is down
            outputs["summary while down"] = (daemon.state / "summary.md").read_text()
            outputs["tagctl status"] = daemon.tagctl("status").stdout
            outputs["tagctl status --json"] = daemon.tagctl("status", "--json").stdout
            outputs["tagctl list"] = daemon.tagctl("list", "--status", "queued").stdout
            fake.fail_all = None
            daemon.wait_done(1, timeout_s=60)
            outputs["tagctl show"] = daemon.tagctl("show", str(inbox / "a.jpg")).stdout
        finally:
            assert daemon.stop() == 0
        outputs["--print-config"] = _phototagd(daemon.env, "--print-config").stdout
    assert "[REDACTED]@127.0.0.1" in json.loads(outputs["--print-config"])["vlm"]["base_url"]
    outputs["log"] = daemon.log_path.read_text()
    for path in sorted(p for p in daemon.state.rglob("*") if p.is_file()):
        outputs[str(path.relative_to(daemon.state))] = path.read_bytes().decode("latin-1")
    names = set(outputs)
    assert {"index.sqlite3", "summary.md", "metrics.json", "phototag.prom"} <= names, names
    assert any(name.endswith(".jsonl") for name in names), names
    leaks = {name for name, text in outputs.items() if KEY in text or URL_SECRET in text}
    assert not leaks, leaks
