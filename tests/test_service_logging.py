"""Log routing: syslog-prefixed lines or native journal entries under systemd, plain lines
elsewhere; credentials never reach any of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from phototag.runtime.logsetup import redact

CHILD = textwrap.dedent(
    """
    import sys
    if sys.argv[1] == "no-systemd-python":
        sys.modules["systemd"] = None
    from loguru import logger
    from phototag.runtime.logsetup import setup_logging
    setup_logging(level="INFO")
    logger.debug("hidden")
    logger.info("hello")
    logger.bind(path="/p/cat.jpg", job_id=7, backend="openai").warning("slow answer")
    logger.info("calling with Authorization: Bearer abcdefghijklmnop")
    try:
        raise RuntimeError("key sk-proj-abcdefghijklmnopqrstuvwxyz rejected")
    except RuntimeError:
        logger.exception("request failed")
    """
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("key sk-proj-abcdef1234567890XYZ", "1234567890XYZ"),
        ("Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9", "eyJhbGciOi"),
        ('{"api_key": "hunter2-is-long"}', "hunter2"),
        ("url?access_token=abc123def&x=1", "abc123def"),
        ("PHOTOTAG_VLM__API_KEY=s3cr3tvalue", "s3cr3tvalue"),
        ("password: letmein!", "letmein"),
    ],
)
def test_redact_hides_credentials(text: str, secret: str) -> None:
    hidden = redact(text)
    assert secret not in hidden
    assert "[REDACTED]" in hidden


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "tagged /photos/sk-trip/IMG_1.jpg: 'a cat', 12 keywords (tokens used 512)"
    assert redact(text) == text


def run_child(
    tmp_path: Path,
    *,
    journal_stream: bool,
    mode: str = "no-systemd-python",
    env: dict[str, str] | None = None,
) -> str:
    err = tmp_path / "stderr.txt"
    err.touch()
    child_env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    if journal_stream:
        st = err.stat()
        child_env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    child_env.update(env or {})
    with err.open("w") as fh:
        subprocess.run(
            [sys.executable, "-c", CHILD, mode], stderr=fh, env=child_env, check=True, timeout=60
        )
    return err.read_text()


def test_under_systemd_without_systemd_python_lines_carry_syslog_priorities(
    tmp_path: Path,
) -> None:
    out = run_child(tmp_path, journal_stream=True)
    lines = out.splitlines()
    assert lines[0] == "<6>hello"
    assert lines[1].startswith("<4>slow answer")
    assert "path=/p/cat.jpg" in lines[1] and "job_id=7" in lines[1]
    assert lines[2] == "<6>calling with Authorization: Bearer [REDACTED]"
    assert lines[3].startswith("<3>request failed")
    assert all(line.startswith("<3>") for line in lines[3:])  # the traceback too
    assert "Traceback" in out and "abcdefghijklmnop" not in out and "hidden" not in out


def test_a_journal_stream_that_is_not_our_stderr_is_ignored(tmp_path: Path) -> None:
    out = run_child(tmp_path, journal_stream=False, env={"JOURNAL_STREAM": "1:2"})
    assert "<6>" not in out
    assert "\x1b[" not in out  # not a terminal: no colours
    assert "INFO" in out and "hello" in out
    assert "[path=/p/cat.jpg job_id=7 backend=openai]" in out
    assert "abcdefghijklmnop" not in out and "rejected" in out


RECEIVER = textwrap.dedent(
    """
    import os, socket, subprocess, sys
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("/run/systemd/journal/socket")
    err = open(sys.argv[1], "w")
    st = os.fstat(err.fileno())
    env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    subprocess.run([sys.executable, "-c", os.environ["CHILD"], "systemd-python"], stderr=err,
                   env=env, check=True)
    sock.settimeout(0.5)
    entries = []
    try:
        while True:
            entries.append(sock.recv(65536))
    except TimeoutError:
        pass
    for entry in entries:
        sys.stdout.buffer.write(len(entry).to_bytes(8, "little") + entry)
    """
)
IN_NAMESPACE = (
    "mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal && "
    'exec "$PYTHON" -c "$RECEIVER" "$ERRFILE"'
)


def test_native_journal_entries_carry_structured_fields(tmp_path: Path) -> None:
    """A journald socket in a private mount namespace receives native entries."""
    pytest.importorskip("systemd.journal", reason="systemd-python is not installed")
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) for a private /run/systemd")
    errfile = tmp_path / "stderr.txt"
    out = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", IN_NAMESPACE],
        capture_output=True,
        timeout=60,
        check=False,
        env={
            **os.environ,
            "PYTHON": sys.executable,
            "RECEIVER": RECEIVER,
            "CHILD": CHILD,
            "ERRFILE": str(errfile),
        },
    )
    assert out.returncode == 0, out.stderr.decode()
    raw_entries = []
    stream = out.stdout
    while stream:
        size = int.from_bytes(stream[:8], "little")
        raw_entries.append(stream[8 : 8 + size])
        stream = stream[8 + size :]
    entries = [dict(_fields(raw)) for raw in raw_entries]
    by_message = {e["MESSAGE"].split("\n")[0]: e for e in entries}
    assert "slow answer" in by_message, entries
    slow = by_message["slow answer"]
    assert slow["PRIORITY"] == "4"
    assert slow["SYSLOG_IDENTIFIER"] == "phototag"
    assert slow["PHOTOTAG_PATH"] == "/p/cat.jpg"
    assert slow["PHOTOTAG_JOB_ID"] == "7"
    assert slow["PHOTOTAG_BACKEND"] == "openai"
    assert by_message["hello"]["PRIORITY"] == "6"
    failed = by_message["request failed"]
    assert failed["PRIORITY"] == "3" and "Traceback" in failed["MESSAGE"]
    assert not any(b"abcdefghijklmnop" in raw for raw in raw_entries)
    assert errfile.read_text() == ""  # nothing fell back to stderr


def _fields(raw: bytes) -> list[tuple[str, str]]:
    """Parse journald's native datagram format (KEY=value lines, or KEY\\n<le64 size>value)."""
    fields = []
    while raw:
        line_end = raw.index(b"\n")
        head = raw[:line_end]
        if b"=" in head:
            key, _, value = head.partition(b"=")
            raw = raw[line_end + 1 :]
        else:
            size = int.from_bytes(raw[line_end + 1 : line_end + 9], "little")
            key, value = head, raw[line_end + 9 : line_end + 9 + size]
            raw = raw[line_end + 9 + size + 1 :]
        fields.append((key.decode(), value.decode()))
    return fields
