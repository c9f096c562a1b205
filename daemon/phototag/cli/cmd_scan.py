"""tagctl scan [PATH...]: what phototag would tag now, and why it passes over the rest.

Tags nothing and changes nothing: it walks the folders (stat only) and reads the index
read-only, so it answers the same whether the daemon runs or not.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from phototag.config import Settings, load_settings
from phototag.errors import OutsideRoots
from phototag.escape import printable
from phototag.intake.discovery import Discovery, Finding, Reason, totals
from phototag.intake.selection import Selection
from phototag.processing.reuse import Identity, Reuse, dry_run_reuse, expected_identity
from phototag.store.reader import IndexReader
from phototag.store.records import FileRecord, display_path


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scan", help="list what would be tagged and what is skipped and why, without tagging"
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="files or folders to look at (default: the watched roots)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def scan(settings: Settings, tops: list[Path]) -> list[Finding]:
    reader = _open_reader(settings)
    lookup = reader.get if reader is not None else _unknown
    try:
        findings = list(Discovery.from_settings(settings, lookup).findings(tops))
        dry_runs = [i for i, f in enumerate(findings) if _may_be_a_dry_run(f.reason)]
        if dry_runs:
            now = expected_identity(settings)
            for i in dry_runs:
                findings[i] = _dry_run_reason(findings[i], lookup(findings[i].path), now)
        return findings
    finally:
        if reader is not None:
            reader.close()


def _dry_run_reason(finding: Finding, record: FileRecord | None, now: Identity) -> Finding:
    """Whether the next writing run applies a dry run's result, or tags again and why."""
    if record is None:
        return finding
    changed = finding.reason is Reason.CHANGED
    verdict = dry_run_reuse(record, sha256=None, now=now)
    if verdict is None:
        return finding
    return dataclasses.replace(finding, reason=Reuse.FILE_CHANGED if changed else verdict)


def _may_be_a_dry_run(reason: str) -> bool:
    return reason is Reason.CHANGED or reason is Reason.DRY_RUN_ONLY


def render(findings: list[Finding], summary: dict[str, Any]) -> str:
    lines = [f"{f.action:<8} {printable(display_path(f.path))}  ({f.reason})" for f in findings]
    lines.append(f"{summary['process']} to process, {summary['skip']} skipped")
    for action, label in (("process", "to process"), ("skip", "skipped")):
        reasons = summary["reasons"][action]
        if reasons:
            lines.append(f"  {label}: " + ", ".join(f"{n} {why}" for why, n in reasons.items()))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(config_file=args.config)
    tops = [Path(os.path.abspath(p)) for p in args.paths] or list(settings.roots)
    selection = Selection.from_settings(settings)
    try:  # a path outside the roots is listed as skipped; one that leaves them by a link
        tops = [selection.locate(top) if selection.root_of(top) else top for top in tops]
    except OutsideRoots as exc:  # is refused, as every verb refuses it
        print(f"tagctl: {exc}", file=sys.stderr)
        return 2
    findings = scan(settings, tops)
    summary = totals(findings)
    if args.json:
        report = {
            "roots": [display_path(r) for r in settings.roots],
            "files": [f.as_json() for f in findings],
            "totals": summary,
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(render(findings, summary))
    return 0


def _open_reader(settings: Settings) -> IndexReader | None:
    try:
        return IndexReader.open(settings.index_path)
    except FileNotFoundError:
        return None  # phototagd never ran: everything is new


def _unknown(_path: Path) -> FileRecord | None:
    return None
