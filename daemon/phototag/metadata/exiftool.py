"""One long-lived ``exiftool -stay_open True -@ -`` process, shared by the whole daemon.

exiftool is phototag's metadata reader and writer (see README, "Dependency decisions"):
it keeps IPTC datasets it is not told to change byte for byte, maintains the IPTC digest,
repairs XMP that repeats a property, reads and writes extended XMP, and is the reference
MWG reader. Starting it costs ~0.2 s of Perl start-up, so one process serves every
request, one at a time (a lock); it is restarted if it dies.

Arguments go one a line; a value holding a line break or a leading space is passed as a
``#[CSTR]`` line, which exiftool reads as a C string.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import subprocess
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from phototag.errors import MetadataWriteError

_READY = "{ready}"
CONFIG = resources.files("phototag.metadata") / "exiftool.config"


@dataclass(frozen=True, slots=True)
class Reply:
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("Error")]

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("Warning")]


class ExifTool:
    """A stay_open exiftool; :meth:`execute` runs one command and returns its output."""

    def __init__(self, *, executable: str = "exiftool", config: bool = True) -> None:
        """``config``: load phototag's exiftool config (its TIFF rules); a reader that must
        see files as stock exiftool does (the tests' independent reader) turns it off."""
        self._executable = executable
        self._config = config
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def execute(self, *args: str) -> Reply:
        """Run exiftool with ``args`` (UTF-8 file names and values); MetadataWriteError if
        the process cannot be started or dies mid-command."""
        if "-q" in args or "-quiet" in args:
            # -q silences the "{ready}" that ends a command's output: the reply would never end
            raise ValueError("exiftool -q cannot be used through the stay_open helper")
        payload = "".join(_arg_line(a) for a in (*args, "-echo4", _READY, "-execute"))
        with self._lock:
            proc = self._running()
            assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
            try:
                proc.stdin.write(payload.encode("utf-8", errors="surrogateescape"))  # raw names
                proc.stdin.flush()
                out, err = _read_replies(proc.stdout, proc.stderr)
            except (OSError, EOFError) as exc:
                self._stop_locked()
                raise MetadataWriteError(f"exiftool stopped unexpectedly: {exc}") from exc
        return Reply(stdout=out, stderr=err)

    def read(self, path: Path, *options: str) -> dict[str, Any]:
        """Every tag of ``path`` as exiftool's JSON names them (``-G1 -a``, one group a
        key, lists as lists), with ``options`` added (e.g. ``-charset iptc=utf8``)."""
        reply = self.execute("-j", "-G1", "-a", "-struct", *options, str(path))
        if not reply.stdout.strip():
            raise MetadataWriteError(f"exiftool cannot read {path.name}: {reply.stderr.strip()}")
        data = json.loads(reply.stdout)
        return dict(data[0]) if data else {}

    def close(self) -> None:
        with self._lock:
            self._stop_locked()

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        with resources.as_file(CONFIG) as config:
            options = ["-config", str(config)] if self._config else []
            try:
                self._proc = subprocess.Popen(
                    [self._executable, *options, "-stay_open", "True", "-@", "-"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    # who its watcher (exiftool.config) waits on, should we die first
                    env={**os.environ, "PHOTOTAG_EXIFTOOL_PARENT": str(os.getpid())},
                )
            except OSError as exc:
                raise MetadataWriteError(f"cannot start exiftool: {exc}") from exc
        return self._proc

    def _stop_locked(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.write(b"-stay_open\nFalse\n")
                proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _arg_line(arg: str) -> str:
    if "\n" in arg or "\r" in arg or arg != arg.lstrip() or arg.startswith("#"):
        escaped = (
            arg.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        )
        return f"#[CSTR]{escaped}\n"
    return arg + "\n"


def _read_replies(stdout: Any, stderr: Any) -> tuple[str, str]:
    """Both streams up to their "{ready}" line, read as they come: reading one to its end
    first would hang once the other fills its pipe (64 KB of warnings)."""
    buffers = {stdout.fileno(): bytearray(), stderr.fileno(): bytearray()}
    ended: set[int] = set()
    mark = b"\n" + _READY.encode() + b"\n"
    with selectors.DefaultSelector() as selector:
        for stream in (stdout, stderr):
            selector.register(stream.fileno(), selectors.EVENT_READ)
        while len(ended) < 2:
            for key, _ in selector.select():
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    raise EOFError("exiftool closed its output")
                buffer = buffers[key.fd]
                buffer += chunk
                if (b"\n" + buffer).endswith(mark):
                    ended.add(key.fd)
                    selector.unregister(key.fd)
    out, err = (bytes(buffers[s.fileno()])[: -len(mark) + 1] for s in (stdout, stderr))
    return (
        out.decode("utf-8", errors="surrogateescape"),
        err.decode("utf-8", errors="surrogateescape"),
    )


_shared: ExifTool | None = None
_shared_lock = threading.Lock()


def shared() -> ExifTool:
    """The process-wide helper, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ExifTool()
            atexit.register(_shared.close)
        return _shared
