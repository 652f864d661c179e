#!/usr/bin/env bash
# Installs what this checkout needs and builds it: Debian packages (when root
# on Debian and something is missing), npm packages (when package-lock.json
# changed), then scripts/build.mjs. Each part does nothing when already done,
# so running it again takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: the wasm toolchain (rustc-web builds std for wasm32), the addon's
# compiler. Tests: the reference tools and the file systems, podman/skopeo,
# a registry (docker-registry; htpasswd from apache2-utils; openssl for its
# certificates), and the VM that has fs-verity.
debs=(
  rustc-web cargo-web rust-web-src rust-web-clippy lld clang g++ g++-aarch64-linux-gnu make python3 python3-venv
  fsverity podman skopeo erofs-utils btrfs-progs xfsprogs e2fsprogs tar-split
  qemu-system-x86 busybox-static cpio util-linux mount uidmap fuse-overlayfs
  attr time xz-utils debian-archive-keyring docker-registry apache2-utils openssl
)

missing=()
if command -v dpkg-query >/dev/null; then
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
fi
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (install them as root): ${missing[*]}" >&2
  fi
fi

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages" >&2
  # Not `npm ci`: it insists on lock entries for optional platform packages
  # the registry here does not serve; --no-save keeps package-lock.json as is.
  npm install --no-save --no-audit --no-fund --loglevel=error
fi

# docs/component.md's Python example (run by the integration suite) uses
# wasmtime from PyPI, pinned in docs/examples/requirements.txt.
py=.cache/py
if [[ ! -f $py/.installed || docs/examples/requirements.txt -nt $py/.installed ]]; then
  echo "setup: installing Python's wasmtime into $py" >&2
  rm -rf "$py"
  python3 -m venv "$py"
  "$py/bin/pip" install --quiet --disable-pip-version-check -r docs/examples/requirements.txt
  touch "$py/.installed"
fi

node scripts/build.mjs
