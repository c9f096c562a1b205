"""tagctl show FILE: what phototag wrote into a photo, where and when, and what else is there."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from phototag.config import load_settings
from phototag.errors import JobError
from phototag.escape import printable, printable_data
from phototag.metadata.show import read_tags


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("show", help="what phototag wrote into a photo (or its sidecar)")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(config_file=args.config)
    status = 0
    shown = []
    for path in args.files:
        try:
            shown.append(read_tags(path, settings=settings.metadata))
        except JobError as exc:
            print(f"tagctl show: {printable(str(path))}: {exc}", file=sys.stderr)
            status = 1
    if args.json:
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(render(printable_data(report)) for report in shown))
    return status


def render(report: dict[str, Any]) -> str:
    """The human-readable form of one ``read_tags`` report."""
    lines = [report["path"]]
    person = report["person"]
    if report["target"] is None:
        lines.append("  no sidecar yet: phototag has not tagged it")
    else:
        where = "sidecar " + report["target"] if report["sidecar"] else "in the file"
        lines += _written(report, where=where)
    lines.append("  the person's (as photo tools show them):")
    shown = [(name, person[name]) for name in ("title", "caption", "keywords") if person[name]]
    lines += [f"    {name}: {_value(value)}" for name, value in shown] or ["    -"]
    if person["rejected"]:
        lines.append(f"  removed by a person (never written again): {_value(person['rejected'])}")
    if person["changed"]:
        lines.append(f"  changed by a person (theirs now): {', '.join(person['changed'])}")
    if report["target"] is not None:
        lines.append("  already there (not phototag's):")
        lines += [f"    {key}: {_value(value)}" for key, value in report["other"].items()]
        if not report["other"]:
            lines.append("    -")
    return "\n".join(lines)


def _written(report: dict[str, Any], *, where: str) -> list[str]:
    record = report["provenance"]
    if record is None:
        return [f"  phototag: nothing written ({where})"]
    lines = [
        f"  written:   {record['time']} {where}",
        f"  by:        {record['generator']}, backend {record['backend']}, "
        f"model {record['model'] or '-'}",
    ]
    if record["prompt_digest"]:
        lines.append(f"  prompt:    sha256 {record['prompt_digest']}")
    lines.append("  phototag wrote:")
    lines += [f"    {name}: {_value(value)}" for name, value in report["phototag"].items() if value]
    lines.append(f"    fields: {', '.join(record['fields']) or '-'}")
    return lines


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, dict):
        return "; ".join(
            f"{v} ({k.removeprefix('lang=').strip(chr(34))})" for k, v in value.items()
        )
    return str(value)
