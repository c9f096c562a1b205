"""Settings: precedence, errors naming key and source, --print-config redaction."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from phototag.config import load_settings
from phototag.errors import ConfigError


def write_config(xdg: dict[str, Path], text: str) -> Path:
    path = xdg["XDG_CONFIG_HOME"] / "phototag" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_follow_xdg(xdg: dict[str, Path]) -> None:
    s = load_settings()
    assert s.roots == [xdg["HOME"] / "Pictures" / "Inbox"]
    assert s.state_dir == xdg["XDG_STATE_HOME"] / "phototag"
    assert s.socket_path == xdg["XDG_RUNTIME_DIR"] / "phototag" / "control.sock"
    assert s.debounce_s == 2 and s.workers == 2 and s.backend == "local"


def test_precedence_defaults_file_env_flags(
    xdg: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(xdg, 'workers = 3\ndebounce_s = 5\n[vlm]\nmodel = "from-file"\nmax_inflight = 2\n')
    s = load_settings()
    assert (s.workers, s.debounce_s, s.vlm.model, s.vlm.max_inflight) == (3, 5, "from-file", 2)
    monkeypatch.setenv("PHOTOTAG_WORKERS", "4")
    monkeypatch.setenv("PHOTOTAG_VLM__MODEL", "from-env")
    s = load_settings()
    assert (s.workers, s.vlm.model, s.vlm.max_inflight) == (4, "from-env", 2)
    s = load_settings(cli={"workers": 6, "debounce_s": None})
    assert (s.workers, s.debounce_s) == (6, 5)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("[vlm]\nmax_inflight = 0\n", {}, "vlm.max_inflight (CONFIG)"),
        ("bogus_key = 1\n", {}, "bogus_key (CONFIG): unknown key"),
        ("[vlm]\nnot_a_field = 1\n", {}, "vlm.not_a_field (CONFIG): unknown key"),
        (
            "",
            {"PHOTOTAG_DEBOUNCE_S": "soon"},
            "debounce_s (environment variable PHOTOTAG_DEBOUNCE_S)",
        ),
        ("workers = [\n", {}, "CONFIG: not valid TOML"),
    ],
)
def test_errors_name_key_and_source(
    xdg: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    env: dict[str, str],
    expected: str,
) -> None:
    path = write_config(xdg, text)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert expected.replace("CONFIG", str(path)) in str(info.value)


def test_phototagd_exits_2_on_bad_config_and_redacts_secrets(xdg: dict[str, Path]) -> None:
    bad = write_config(xdg, "workers = 'many'\n")
    run = subprocess.run(
        [sys.executable, "-m", "phototag.cli.phototagd", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "workers" in run.stderr and str(bad) in run.stderr
    good = write_config(xdg, '[vlm]\napi_key = "sk-very-secret-123"\n')
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "phototag.cli.phototagd",
            "--config",
            str(good),
            "--print-config",
            "--workers",
            "7",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "sk-very-secret-123" not in run.stdout + run.stderr
    shown = json.loads(run.stdout)
    assert shown["workers"] == 7 and shown["vlm"]["api_key"] == "**********"


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(config_file=tmp_path / "nope.toml")


def test_fast_index_path_agrees_with_the_settings(
    xdg: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from phototag.paths import index_path_fast

    assert index_path_fast(None) == load_settings().index_path
    config = write_config(xdg, f'state_dir = "{xdg["HOME"] / "elsewhere"}"\n')
    assert (
        index_path_fast(None)
        == load_settings().index_path
        == (xdg["HOME"] / "elsewhere" / "index.sqlite3")
    )
    monkeypatch.setenv("PHOTOTAG_STATE_DIR", "~/from-env")
    assert index_path_fast(config) == load_settings(config_file=config).index_path
    config.write_text("state_dir = [\n")
    monkeypatch.delenv("PHOTOTAG_STATE_DIR")
    assert index_path_fast(config) is None  # the full settings explain the broken file


def test_fast_socket_path_agrees_with_the_settings(
    xdg: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from phototag.paths import socket_path_fast

    assert socket_path_fast(None) == load_settings().socket_path
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert socket_path_fast(None) == load_settings().socket_path  # under the state folder
    config = write_config(xdg, f'runtime_dir = "{xdg["HOME"] / "run-here"}"\n')
    assert socket_path_fast(None) == load_settings().socket_path
    assert socket_path_fast(None) == xdg["HOME"] / "run-here" / "control.sock"
    monkeypatch.setenv("PHOTOTAG_RUNTIME_DIR", "~/from-env")
    assert socket_path_fast(config) == load_settings(config_file=config).socket_path
    monkeypatch.delenv("PHOTOTAG_RUNTIME_DIR")
    config.write_text("runtime_dir = 3\n")
    assert socket_path_fast(config) is None  # the full settings explain the wrong type


@pytest.mark.parametrize("verb", [["status"], ["search", "cat"], ["pause"], ["retag", "--stale"]])
def test_verbs_that_need_no_settings_leave_pydantic_and_loguru_unimported(
    xdg: dict[str, Path], verb: list[str]
) -> None:
    """pydantic and the settings cost ~0.25 s of CPU, loguru ~0.1 s: most of a quick
    tagctl's start (the daemon's log is the daemon's)."""
    code = (
        "import json, sys\n"
        "from phototag.cli import tagctl\n"
        f"tagctl.main({verb!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('pydantic', 'loguru')))))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOTAG_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(out.stdout.splitlines()[-1]) == [], out.stderr


def test_settings_and_their_sections_are_frozen(xdg: dict[str, Path]) -> None:
    """A reload builds new settings; nothing changes one a component already holds."""
    settings = load_settings()
    for owner, key, value in ((settings, "max_keywords", 3), (settings.outputs, "recent_count", 1)):
        with pytest.raises(ValidationError):
            setattr(owner, key, value)
    overwriting = settings.overwrite_for_this_run()  # --overwrite: a copy for this run
    assert overwriting.metadata.overwrite_edits and overwriting.metadata.overwrite == "replace"
    assert not settings.metadata.overwrite_edits and settings.metadata.overwrite == "fill-empty"


@pytest.mark.parametrize("given", [None, "4"])
def test_the_commands_start_openblas_with_one_thread_unless_told(given: str | None) -> None:
    """numpy's OpenBLAS starts (and spins) a thread a core at import: ~0.13 s of CPU at
    each phototagd or tagctl start, for a thumbnail's few thousand numbers."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given:
        env["OPENBLAS_NUM_THREADS"] = given
    code = (
        "import os, phototag.cli.tagctl, numpy\n"
        "print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    value, threads = out.stdout.split()
    assert value == (given or "1"), out.stderr
    if not given:
        assert threads == "1"  # numpy's own default: a thread a core
