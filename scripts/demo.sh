#!/usr/bin/env bash
# The demo: a small file tree with files at the sizes where fs-verity trees
# change shape; cfskit prints their digests and each is checked against
# fsverity-utils. Everything happens in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
cfskit=(node bin/cfskit)
work=$(mktemp -d "${TMPDIR:-/tmp}/cfskit-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== a file tree in $work/tree"
mkdir -p "$work/tree/etc" "$work/tree/usr/bin" "$work/tree/usr/lib"
printf 'demo\n' > "$work/tree/etc/hostname"
: > "$work/tree/etc/empty"
head -c 4096 /dev/urandom > "$work/tree/usr/lib/one-block"
head -c 262145 /dev/urandom > "$work/tree/usr/lib/two-levels"
head -c $((40 << 20)) /dev/urandom > "$work/tree/usr/bin/large"
mapfile -t files < <(find "$work/tree" -type f | sort)

echo "== cfskit digest (sha512, 4 KiB blocks: composefs object IDs)"
"${cfskit[@]}" digest "${files[@]}" | tee "$work/cfskit.txt"

echo "== checked against fsverity digest"
fsverity digest --hash-alg=sha512 "${files[@]}" > "$work/fsverity.txt"
if diff -u "$work/fsverity.txt" "$work/cfskit.txt"; then
  echo "all ${#files[@]} digests match fsverity-utils"
else
  echo "MISMATCH" >&2
  exit 1
fi
