#!/usr/bin/env bash
# Set up phototag on a fresh Debian/Ubuntu machine (Python 3.11+) and run it.
#   ./bootstrap.sh run [FOLDER...]   install, then run phototagd in the foreground
#                                    (embedded offline tagger; default folder ~/Pictures/Inbox)
#   ./bootstrap.sh test [PYTEST ARGS] install with the test tools, then lint and run every test
set -euo pipefail
cd "$(dirname "$0")"

die() { echo "bootstrap: $*" >&2; exit 1; }
mode="${1:-}"; shift || true
[[ "$mode" == run || "$mode" == test ]] || die "usage: ./bootstrap.sh run [FOLDER...] | test [PYTEST ARGS]"

# --- system packages (only what is missing; apt needs root or sudo) -----------------------
packages=(python3-venv python3-dev gcc pkg-config libsystemd-dev libimage-exiftool-perl libvips-tools)
[[ "$mode" == test ]] && packages+=(rsync systemd util-linux chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "bootstrap: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python environment --------------------------------------------------------------------
python="${PYTHON:-python3}"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python 3.11 or newer is needed (found $("$python" --version 2>&1))"
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
extras="systemd"; [[ "$mode" == test ]] && extras="systemd,test"
stamp=".venv/.installed-$extras-$(cat pyproject.toml | sha256sum | cut -c1-16)"
# For the tests, no byte-compiling of every installed file (38 -> 19 s on 2 cores): the test
# run caches the bytecode of what is imported. The daemon's environment is compiled.
compile=(); [[ "$mode" == test ]] && compile=(--no-compile)
if [[ ! -e "$stamp" ]]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q "${compile[@]}" -e ".[$extras]"
  touch "$stamp"
fi

if [[ "$mode" == run ]]; then
  exec .venv/bin/phototagd "$@"
fi
.venv/bin/ruff check daemon tests bench
.venv/bin/ruff format --check daemon tests bench
.venv/bin/mypy  # daemon/, configured in pyproject.toml
# Four test processes on two cores: most tests wait on a daemon, a watcher or a server, so
# the waits overlap. loadscope keeps each module on one process, so a module's fixture (the
# corpus lifecycle) is built once, in the order conftest.py gives (slow first, the longest
# at the head; xdist would reorder by test count). TEST_WORKERS=0: in this process.
# Bytecode is cached (in the clone's __pycache__ folders, ignored by git) even where the
# environment says not to: otherwise each test process rewrites every test module's asserts
# again (~3 s each) and every phototagd or tagctl it starts compiles phototag again.
unset PYTHONDONTWRITEBYTECODE
exec .venv/bin/pytest -n "${TEST_WORKERS:-4}" --dist loadscope --no-loadscope-reorder "$@"
