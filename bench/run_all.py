"""Run every benchmark and write bench/RESULTS.md (machine, versions, figures, ratios).

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...]

Each benchmark runs in its own interpreter and measures its reference in the same run,
so ratios hold on a busy machine; absolute figures do not, and the load average at the
start and end of each benchmark is recorded next to them. ``--quick`` shrinks every size
for a smoke run (its figures do not answer the targets).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable

# (name, script, issue point: issue 7's, or 18.2 for adaptive concurrency); each accepts
# --quick and --json FILE
BENCHES = (
    ("prepare", "bench_prepare.py", "1"),
    ("throughput", "bench_throughput.py", "2"),
    ("scan", "bench_scan.py", "3"),
    ("status", "bench_status.py", "4"),
    ("memory", "bench_memory.py", "5"),
    ("latency", "bench_latency.py", "6"),
    ("bytes", "bench_bytes.py", "7"),
    ("sqlitedict", "bench_sqlitedict.py", "-"),
    ("adaptive", "bench_adaptive.py", "18.2"),
    ("search", "bench_search.py", "-"),  # issue 17 point 3
    ("report", "bench_report.py", "-"),  # issue 17 point 2
)
# owned elsewhere: run as they are, their output kept verbatim
OTHERS = (
    ("local", "bench_local.py", ("--images", "60"), ("--images", "12")),
    ("tag-cpu", "bench_tag_cpu.py", ("--rev", "main"), ("--rev", "main", "--rounds", "1")),
    ("metadata", "bench_metadata.py", ("--count", "100"), ("--count", "20")),
    ("watch-scale", "bench_watch_scale.py", (), ("--folders", "200", "--files", "2000")),
    ("intake-cpu", "bench_intake_cpu.py", ("--rev", "main"), ("--rev", "main", "--quick")),
)


def sh(*cmd: str) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def machine() -> list[tuple[str, str]]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    os_name = next(
        (
            line.split("=", 1)[1].strip('"')
            for line in Path("/etc/os-release").read_text().splitlines()
            if line.startswith("PRETTY_NAME")
        ),
        platform.system(),
    )
    return [
        ("CPU", cpu),
        ("cores", str(os.cpu_count())),
        ("memory", f"{mem_kb / 1048576:.1f} GiB"),
        ("OS", f"{os_name}, Linux {platform.release()}"),
    ]


def versions() -> list[tuple[str, str]]:
    code = (
        "import PIL, pyexiv2, sqlite3, phototag, importlib.metadata as m; "
        "print(PIL.__version__, pyexiv2.__version__, sqlite3.sqlite_version, "
        "phototag.__version__, m.version('sqlitedict'))"
    )
    pil, exiv2, sqlite, ours, sqlitedict = ([*sh(PYTHON, "-c", code).split(), *["?"] * 5])[:5]
    return [
        ("phototag", ours),
        ("Python", platform.python_version()),
        ("Pillow", pil),
        ("pyexiv2", exiv2),
        ("libvips (vipsthumbnail)", sh("vipsthumbnail", "--version")),
        ("exiftool", sh("exiftool", "-ver")),
        ("SQLite", sqlite),
        ("sqlitedict (bench only)", sqlitedict),
    ]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(script: str, args: list[str], *, timeout_s: float) -> tuple[int, str, float]:
    print(f"\n=== {script} {' '.join(args)}", flush=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [PYTHON, str(HERE / script), *args],
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = -9
    return code, "".join(lines), time.monotonic() - t0


def table(rows: list[tuple[str, str]], head: tuple[str, str]) -> list[str]:
    out = [f"| {head[0]} | {head[1]} |", "| --- | --- |"]
    out += [f"| {a} | {b.replace('|', '/')} |" for a, b in rows]
    return out


def fmt(value: float, unit: str) -> str:
    return f"{value:.3g}{unit}"


def render(
    *,
    quick: bool,
    results: list[dict[str, Any]],
    others: list[dict[str, Any]],
    started: str,
    spent_s: float,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `.venv/bin/python bench/run_all.py{' --quick' if quick else ''}` "
        f"on {started} in {spent_s / 60:.0f} min. "
        + (
            "**Quick mode: reduced sizes, the figures do not answer the targets.**"
            if quick
            else "Full sizes as issue 7 asks."
        ),
        "",
        "Each benchmark measures its reference in the same run, so the ratios hold "
        "on a shared machine; absolute times move with the load average, recorded per "
        "benchmark (1, 5, 15 min).",
        "",
        "## Machine",
        "",
    ]
    lines += [*table(machine(), ("", "")), "", "## Versions", ""]
    lines += [
        *table(versions(), ("component", "version")),
        "",
        "## Targets",
        "",
        "| issue 7 | target | measured | met |",
        "| --- | --- | --- | --- |",
    ]
    for res in results:
        for t in res.get("targets", []):
            sign = ">=" if t["higher_is_better"] else "<="
            value = t["value"]
            met = (value >= t["limit"]) if t["higher_is_better"] else (value <= t["limit"])
            lines.append(
                f"| {res['point']} | {t['name']} {sign} {t['limit']:g}{t['unit']} | "
                f"{fmt(value, t['unit'])} | {'yes' if met else '**no**'} |"
            )
        if res.get("error"):
            lines.append(f"| {res['point']} | {res['name']} | did not finish | **no** |")
    for res in results:
        lines += [
            "",
            f"## {res.get('title', res['name'])}",
            "",
            f"`bench/{res['script']}` · {res['spent_s']:.0f} s · load "
            f"{res['load_before']} -> {res['load_after']}",
            "",
        ]
        if res.get("error"):
            lines += ["Did not finish:", "", "```", res["error"][-3000:], "```"]
            continue
        lines += table([tuple(r) for r in res["rows"]], ("measure", "figure"))
        lines += [""] + [f"- {n}" for n in res.get("notes", [])]
    for other in others:
        command = f"bench/{other['script']} {other['args']}".strip()
        lines += [
            "",
            f"## {other['name']} (`{command}`, output verbatim)",
            "",
            f"{other['spent_s']:.0f} s · load {other['load_before']} -> {other['load_after']}",
            "",
            "```",
            other["output"].rstrip(),
            "```",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="reduced sizes, a smoke run")
    p.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help=f"run only these: {', '.join(n for n, *_ in BENCHES + OTHERS)}",
    )
    p.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = p.parse_args()
    wanted = set(args.only or [n for n, *_ in BENCHES + OTHERS])
    started, t0 = time.strftime("%Y-%m-%d %H:%M %Z"), time.monotonic()
    results: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, script, point in BENCHES:
            if name not in wanted:
                continue
            out = Path(tmp) / f"{name}.json"
            before = load()
            code, text, spent = run(
                script, ["--json", str(out), *(["--quick"] * args.quick)], timeout_s=3600
            )
            res: dict[str, Any] = {
                "name": name,
                "script": script,
                "point": point,
                "spent_s": spent,
                "load_before": before,
                "load_after": load(),
            }
            if code == 0 and out.exists():
                res |= json.loads(out.read_text())
            else:
                res["error"] = f"exit {code}\n{text}"
            results.append(res)
        for name, script, full, quick in OTHERS:
            if name not in wanted or not (HERE / script).exists():
                continue
            extra = list(quick if args.quick else full)
            before = load()
            code, text, spent = run(script, extra, timeout_s=3600)
            others.append(
                {
                    "name": name,
                    "script": script,
                    "args": " ".join(extra),
                    "output": text + ("" if code == 0 else f"\n(exit {code})"),
                    "spent_s": spent,
                    "load_before": before,
                    "load_after": load(),
                }
            )
    args.output.write_text(
        render(
            quick=args.quick,
            results=results,
            others=others,
            started=started,
            spent_s=time.monotonic() - t0,
        )
    )
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
