#!/bin/sh
# Build phototag_<version>_<arch>.deb: a self-contained virtual environment under
# /opt/phototag (with systemd-python), /usr/bin/phototagd and /usr/bin/tagctl symlinks,
# and the user unit in /usr/lib/systemd/user/ with ExecStart=/usr/bin/phototagd.
#
# Why a venv under /opt and not dh-python: Debian 12 does not package pyexiv2 (whose
# wheel carries exiv2 0.28), nor pydantic-settings 2, and its pydantic and watchdog are
# too old; dh-python would mean packaging each of them first.
#
# Usage: packaging/debian/build-deb.sh [OUTDIR]   (needs python3.11-venv, libsystemd-dev,
# pkg-config, gcc; dependencies come from PyPI, or a wheel cache through PIP_* variables;
# DEB_COMPRESSION=xz|zstd|gzip|none, xz by default; PIP_PYTHON: a Python whose pip installs)
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
outdir=$(realpath "${1:-$repo/dist}")
python=${PYTHON:-/usr/bin/python3}
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$repo/daemon/phototag/__init__.py")
arch=$(dpkg --print-architecture)
pyver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
pynext=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1] + 1}")')

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
prefix=/opt/phototag
root=$stage/root
mkdir -p "$root$prefix" "$root/usr/bin" "$root/usr/lib/systemd/user" \
    "$root/usr/share/doc/phototag" "$root/DEBIAN"

# The venv is built in the staging folder, then its absolute paths are moved to /opt.
# It ships without pip. When PIP_PYTHON (default: the building Python) has pip, that pip
# installs into the venv (--python): a pip of the venv's own, installed by ensurepip and
# removed again, costs ~8 s of CPU on two cores, and a recent pip resolves faster (pip 26
# 15 s of CPU, Debian 12's pip 23.0 20 s).
install="install --quiet --no-compile --disable-pip-version-check"
pip_python=${PIP_PYTHON:-$python}
if "$pip_python" -m pip --version >/dev/null 2>&1; then
    "$python" -m venv --without-pip "$root$prefix"
    "$pip_python" -m pip --python "$root$prefix/bin/python" $install "$repo[systemd]"
else
    "$python" -m venv "$root$prefix"
    "$root$prefix/bin/pip" $install "$repo[systemd]"
    "$root$prefix/bin/pip" uninstall --quiet --yes pip
fi
grep -rlI --null "$root$prefix" "$root$prefix" | xargs -0 sed -i "s#$root$prefix#$prefix#g"
find "$root$prefix" -name __pycache__ -type d -prune -exec rm -rf {} +

ln -s "$prefix/bin/phototagd" "$root/usr/bin/phototagd"
ln -s "$prefix/bin/tagctl" "$root/usr/bin/tagctl"
sed 's#^ExecStart=.*#ExecStart=/usr/bin/phototagd#' "$repo/service/phototag.service" \
    > "$root/usr/lib/systemd/user/phototag.service"
cp "$repo/README.md" "$root/usr/share/doc/phototag/README.md"

size_kb=$(du -sk "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: phototag
Version: $version
Architecture: $arch
Maintainer: phototag developers <phototag@localhost>
Installed-Size: $size_kb
Depends: python$pyver, python3 (>= $pyver), python3 (<< $pynext), libsystemd0
Recommends: systemd, libvips-tools
Section: graphics
Priority: optional
Description: watch folders and write vision-model tags into each photo's metadata
 phototag is a daemon (phototagd, run as a systemd user service) that tags photos
 dropped into watched folders and writes title, caption, description and keywords
 into the files' own XMP/IPTC metadata. tagctl queries and controls it.
 Enable it per user with: systemctl --user enable --now phototag
CONTROL
cat > "$root/DEBIAN/postinst" <<POSTINST
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
    $prefix/bin/python -m compileall -q $prefix/lib >/dev/null || true
fi
POSTINST
cat > "$root/DEBIAN/prerm" <<PRERM
#!/bin/sh
set -e
find $prefix -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
PRERM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"

mkdir -p "$outdir"
deb="$outdir/phototag_${version}_${arch}.deb"
# DEB_COMPRESSION picks dpkg-deb's compressor (xz, zstd, gzip, none); the test suite
# builds with none, because xz over ~300 MB of wheels takes minutes on two cores.
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$root" "$deb" >/dev/null
echo "$deb"
