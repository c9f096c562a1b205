"""tagctl service install | uninstall | status: phototag as a systemd user service.

``install`` writes ``phototag.service`` to ``~/.config/systemd/user/`` with ``ExecStart``
pointing at this installation's ``phototagd``, then runs ``systemctl --user
daemon-reload`` and ``enable --now --no-block`` (a first catch-up scan may take a while);
``uninstall`` undoes that; ``--dry-run`` only prints.
The unit text lives here so an installed wheel can write it; ``service/phototag.service``
in the source tree is this text rendered for ``%h/.local/bin/phototagd`` (pipx, uv tool).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from phototag.cli.daemon_call import EXIT_NOT_RUNNING, EXIT_OK, EXIT_PROBLEM, add_json_flag

UNIT_NAME = "phototag.service"
DEFAULT_EXEC_START = "%h/.local/bin/phototagd"
SHOWN_PROPERTIES = (
    "LoadState",
    "ActiveState",
    "SubState",
    "UnitFileState",
    "FragmentPath",
    "MainPID",
    "NRestarts",
    "StatusText",
    "Result",
)

UNIT_TEMPLATE = """\
# phototag: a systemd user unit. `tagctl service install` writes it with ExecStart set
# for the installation at hand; packages install it with ExecStart=/usr/bin/phototagd.
#
# Sandboxing: in a user unit the mount-namespace options (ProtectSystem=, ProtectHome=,
# PrivateTmp=, ProtectKernel*=, ...) are silently ignored unless PrivateUsers=yes is set,
# and PrivateUsers=yes makes files owned by other users or groups unwritable, which
# breaks shared photo folders. So only the options enforced without namespaces are used
# (no_new_privs, seccomp, personality): tests/test_systemd_real.py checks they hold.
[Unit]
Description=phototag: tag photos in watched folders and write the tags into the files
StartLimitIntervalSec=10min
StartLimitBurst=5

[Service]
Type=notify
NotifyAccess=main
ExecStart={exec_start}
ExecReload=kill -HUP $MAINPID
Restart=on-failure
RestartSec=5s
TimeoutStartSec=5min
TimeoutStopSec=30s
WatchdogSec=60s
SyslogIdentifier=phototag
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
NoNewPrivileges=yes
LockPersonality=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

[Install]
WantedBy=default.target
"""


def render_unit(*, exec_start: str) -> str:
    return UNIT_TEMPLATE.format(exec_start=exec_start)


def exec_quote(path: Path) -> str:
    """``path`` as one ExecStart word: specifiers (%) and quotes escaped."""
    text = str(path).replace("\\", "\\\\").replace("%", "%%").replace('"', '\\"')
    return f'"{text}"' if any(c.isspace() for c in text) else text


def find_phototagd() -> Path | None:
    """This installation's phototagd: beside the running Python, else on PATH."""
    sibling = Path(sys.executable).parent / "phototagd"
    if os.access(sibling, os.X_OK):
        return Path(os.path.abspath(sibling))
    found = shutil.which("phototagd")
    return Path(os.path.abspath(found)) if found else None


def unit_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user" / UNIT_NAME


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("service", help="install, remove or inspect the user service")
    parser.add_argument("action", choices=("install", "uninstall", "status"))
    parser.add_argument("--dry-run", action="store_true", help="print what would be done")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    steps = _Steps(dry_run=args.dry_run, quiet=args.json)
    if args.action == "install":
        code = _install(steps)
    elif args.action == "uninstall":
        code = _uninstall(steps)
    else:
        return _status(as_json=args.json)
    if args.json:
        print(
            json.dumps(
                {
                    "action": args.action,
                    "dry_run": args.dry_run,
                    "steps": steps.done,
                    "ok": code == EXIT_OK,
                },
                indent=2,
            )
        )
    return code


class _Steps:
    """Does (or, dry, only tells) each step, printing it and keeping a record for --json."""

    def __init__(self, *, dry_run: bool, quiet: bool) -> None:
        self.dry_run = dry_run
        self.quiet = quiet
        self.done: list[dict[str, Any]] = []

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(("would " if self.dry_run else "") + text)

    def write(self, path: Path, text: str) -> None:
        self._say(f"write {path}")
        self.done.append({"step": "write", "path": str(path)})
        if not self.dry_run:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)

    def remove(self, path: Path) -> None:
        self._say(f"remove {path}")
        self.done.append({"step": "remove", "path": str(path)})
        if not self.dry_run:
            path.unlink(missing_ok=True)

    def run(self, *argv: str) -> bool:
        self._say("run " + " ".join(argv))
        step: dict[str, Any] = {"step": "run", "argv": list(argv)}
        self.done.append(step)
        if self.dry_run:
            return True
        try:
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            step["returncode"] = None
            print(f"tagctl: {argv[0]} not found: is systemd installed?", file=sys.stderr)
            return False
        step["returncode"] = out.returncode
        if out.returncode != 0:
            print(f"tagctl: {' '.join(argv)} failed: {out.stderr.strip()}", file=sys.stderr)
        return out.returncode == 0


def _install(steps: _Steps) -> int:
    phototagd = find_phototagd()
    if phototagd is None:
        print("tagctl: cannot find phototagd beside this Python or on PATH", file=sys.stderr)
        return EXIT_PROBLEM
    steps.write(unit_path(), render_unit(exec_start=exec_quote(phototagd)))
    ok = steps.run("systemctl", "--user", "daemon-reload") and steps.run(
        "systemctl", "--user", "enable", "--now", "--no-block", UNIT_NAME
    )
    if ok and not steps.quiet and not steps.dry_run:
        print("started; see `tagctl service status` and `journalctl --user -u phototag`")
    return EXIT_OK if ok else EXIT_PROBLEM


def _uninstall(steps: _Steps) -> int:
    path = unit_path()
    if not path.exists() and not steps.dry_run:
        print(f"tagctl: {path} is not installed; nothing to do", file=sys.stderr)
        return EXIT_OK
    ok = steps.run("systemctl", "--user", "disable", "--now", UNIT_NAME)
    steps.remove(path)
    ok = steps.run("systemctl", "--user", "daemon-reload") and ok
    return EXIT_OK if ok else EXIT_PROBLEM


def unit_properties() -> dict[str, str]:
    """What ``systemctl --user show`` says of the unit (raises OSError, CalledProcessError)."""
    out = subprocess.run(
        ["systemctl", "--user", "show", UNIT_NAME, "-p", ",".join(SHOWN_PROPERTIES)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def _status(*, as_json: bool) -> int:
    try:
        props = unit_properties()
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        print(
            f"tagctl: cannot ask the systemd user manager: {str(detail).strip()}", file=sys.stderr
        )
        return EXIT_PROBLEM
    active = props.get("ActiveState") == "active"
    if as_json:
        print(json.dumps({"unit": UNIT_NAME, **props}, indent=2))
    else:
        print(
            f"{UNIT_NAME}: {props.get('ActiveState')} ({props.get('SubState')}), "
            f"{props.get('UnitFileState') or 'not installed'}, "
            f"pid {props.get('MainPID')}, restarts {props.get('NRestarts')}"
        )
        if props.get("StatusText"):
            print(f"status: {props['StatusText']}")
        if props.get("FragmentPath"):
            print(f"unit file: {props['FragmentPath']}")
    return EXIT_OK if active else EXIT_NOT_RUNNING
