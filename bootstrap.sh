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
extras="systemd"; [[ "$mode" == test ]] && extras="systemd,test"
stamp=".venv/.installed-$extras-$(cat pyproject.toml | sha256sum | cut -c1-16)"
# For the tests, no byte-compiling of every installed file (38 -> 19 s on 2 cores): the test
# run caches the bytecode of what is imported. The daemon's environment is compiled.
compile=(); [[ "$mode" == test ]] && compile=(--no-compile)
if [[ ! -e "$stamp" ]]; then
  [[ -x .venv/bin/python ]] || "$python" -m venv --without-pip .venv
  if [[ ! -x .venv/bin/pip ]]; then
    # A current pip, installed by the pip wheel Python carries for ensurepip: the venv's
    # own ensurepip would install that older pip (and setuptools) first, compiled, only for
    # it to be replaced (10.6 -> 4.6 s on 2 cores). Without such a wheel, ensurepip.
    wheel=$("$python" -c 'import ensurepip, glob, os
here = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
found = sorted(glob.glob(os.path.join(here, "pip-*.whl")) + glob.glob("/usr/share/python-wheels/pip-*.whl"))
print(found[-1] if found else "")')
    if [[ -n "$wheel" ]]; then
      .venv/bin/python "$wheel/pip" install -q "${compile[@]}" --upgrade pip
    else
      .venv/bin/python -m ensurepip -q && .venv/bin/python -m pip install -q --upgrade pip
    fi
  fi
  browser_pid=""
  if [[ "$mode" == test ]]; then  # the browser test's driver, apart (tests/browser.py),
    rm -rf .venv/browser          # installed while the rest is (pip waits on the network)
    .venv/bin/python -m pip install -q --no-compile --target .venv/browser "selenium>=4" &
    browser_pid=$!
  fi
  .venv/bin/python -m pip install -q "${compile[@]}" -e ".[$extras]"
  [[ -z "$browser_pid" ]] || wait "$browser_pid" || die "selenium could not be installed"
  touch "$stamp"
fi

if [[ "$mode" == run ]]; then
  exec .venv/bin/phototagd "$@"
fi
.venv/bin/ruff check daemon tests bench
.venv/bin/ruff format --check daemon tests bench
# mypy (daemon/, configured in pyproject.toml) runs beside the tests: a fresh clone's cold
# mypy is ~15 s; its verdict is printed after theirs, and either failing fails the command.
mypy_log=$(mktemp); trap 'rm -f "$mypy_log"' EXIT
.venv/bin/mypy >"$mypy_log" 2>&1 &
mypy_pid=$!
# Four test processes on two cores: most tests wait on a daemon, a watcher or a server, so
# the waits overlap. loadscope keeps each module on one process, so a module's fixture (the
# corpus lifecycle) is built once, in the order conftest.py gives (slow first, the longest
# at the head; xdist would reorder by test count). TEST_WORKERS=0: in this process.
# Bytecode is cached (in the clone's __pycache__ folders, ignored by git) even where the
# environment says not to: otherwise each test process rewrites every test module's asserts
# again (~3 s each) and every phototagd or tagctl it starts compiles phototag again.
unset PYTHONDONTWRITEBYTECODE
status=0
.venv/bin/pytest -n "${TEST_WORKERS:-4}" --dist loadscope --no-loadscope-reorder "$@" || status=$?
mypy_status=0; wait "$mypy_pid" || mypy_status=$?
cat "$mypy_log"
((mypy_status == 0)) || { echo "bootstrap: mypy failed" >&2; status=1; }
exit "$status"
