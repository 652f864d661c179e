#!/usr/bin/env bash
# The demo, end to end on real components: podman imports a base layer (a
# POSIX tar, so mtimes keep their nanoseconds) and builds a RUN layer on it in
# a throwaway containers-storage; cfskit pulls the image into a throwaway
# composefs repository without copying file data, then checks what it got:
# every layer stream reproduces its diff_id, the repository passes fsck,
# fsck.erofs accepts the composefs image, and the image mounted by cfskit shows
# exactly the files, mtimes and xattrs podman's own mount shows.
# Everything lives in one temporary directory, removed however the demo ends.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) != 0 ]]; then
  echo "demo: needs root (a containers-storage with real owners, loop devices and mounts)" >&2
  exit 1
fi

cfskit() { node bin/cfskit --repo "$repo" "$@"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/cfskit-demo.XXXXXX")
repo=$work/repo
conf=$work/storage.conf
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' "$work/store" "$work/run" > "$conf"
podman() {
  # env(1) runs the podman binary, not this function.
  env -u STORAGE_OPTS -u STORAGE_DRIVER CONTAINERS_STORAGE_CONF="$conf" TMPDIR="$work" \
    podman --root "$work/store" --runroot "$work/run" --storage-driver overlay \
    --tmpdir "$work/libpod" --cgroup-manager cgroupfs --events-backend none "$@"
}

registry_pid=
cleanup() {
  set +e
  for m in "$work/cfskit-mnt" "$work/sysroot-mnt"; do
    mountpoint -q "$m" 2>/dev/null && node bin/cfskit unmount "$m" >/dev/null
  done
  [[ -n $registry_pid ]] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  podman image unmount --all >/dev/null 2>&1
  podman system reset --force >/dev/null 2>&1
  [[ -d $work/sysroot-run ]] && env podman --root "$work/sysroot/composefs/bootc/storage" --runroot "$work/sysroot-run" \
    --storage-driver overlay system reset --force >/dev/null 2>&1
  # Whatever podman still holds under $work, deepest first.
  awk -v w="$work" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount --lazy "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "an image built by podman in $work/store"
ctx=$work/context
mkdir -p "$ctx/rootfs/usr/bin" "$ctx/rootfs/etc" "$ctx/rootfs/usr/share/demo" "$ctx/rootfs/var/cache"
cp /bin/busybox "$ctx/rootfs/usr/bin/busybox"
ln -s usr/bin "$ctx/rootfs/bin"
ln -s busybox "$ctx/rootfs/usr/bin/sh"
printf 'cfskit-demo\n' > "$ctx/rootfs/etc/hostname"
printf 'goes away in the second layer\n' > "$ctx/rootfs/etc/removed"
: > "$ctx/rootfs/etc/empty"
touch -d "2024-02-29 12:34:56.123456789" "$ctx/rootfs/etc/empty"
head -c $((24 << 20)) /dev/urandom > "$ctx/rootfs/usr/share/demo/blob"
for i in $(seq 1 200); do printf 'file %d\n' "$i" > "$ctx/rootfs/usr/share/demo/small-$i"; done
head -c 3000 /dev/urandom > "$ctx/rootfs/var/cache/data"
# The base layer is a POSIX (PAX) tar imported as it is: podman build's COPY
# would drop the nanoseconds of the mtimes, a PAX header keeps them.
tar --format=posix --numeric-owner -C "$ctx/rootfs" -cf "$work/base.tar" .
podman import --quiet "$work/base.tar" localhost/cfskit-demo-base >/dev/null
cat > "$ctx/Containerfile" <<'EOF'
FROM localhost/cfskit-demo-base
RUN ["/usr/bin/busybox", "sh", "-c", "rm /etc/removed && rm -rf /var/cache && echo built > /etc/motd && ln /usr/share/demo/blob /usr/share/demo/blob-link && chmod 0600 /etc/motd"]
EOF
podman build --quiet --pull=never --isolation=chroot -t localhost/cfskit-demo "$ctx" >/dev/null
podman images --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' localhost/cfskit-demo

step "cfskit init (insecure: this kernel has no fs-verity; the VM tests cover secure repositories)"
cfskit init --insecure

step "cfskit oci pull: layers as splitstreams, file contents reflinked or hardlinked into objects/"
cfskit oci pull --storage-root "$work/store" --progress none containers-storage:localhost/cfskit-demo demo
cfskit oci images

step "each layer stream, reassembled as a tar, has the layer's diff_id"
mapfile -t diffs < <(podman image inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' localhost/cfskit-demo | sed '/^$/d')
for diff in "${diffs[@]}"; do
  got="sha256:$(cfskit oci layer "$diff" | sha256sum | cut -d' ' -f1)"
  [[ $got == "$diff" ]] || { echo "layer $diff reassembles to $got" >&2; exit 1; }
  echo "ok $diff"
done

step "cfskit fsck: every object's digest, every stream and image"
cfskit fsck

step "the composefs image: compute-id, fsck.erofs"
id=$(cfskit oci compute-id demo)
echo "image id $id"
[[ -e $repo/images/$id ]] || { echo "images/$id is missing" >&2; exit 1; }
fsck.erofs "$repo/images/$id" >/dev/null && echo "fsck.erofs: ok"

step "cfskit oci mount and podman image mount show the same tree"
mkdir "$work/cfskit-mnt"
cfskit oci mount demo "$work/cfskit-mnt"
podman_mnt=$(podman image mount localhost/cfskit-demo)
# Directory sizes and link counts are the file system's own, so not compared;
# which names share an inode is checked below. mtimes to the nanosecond (the
# repository's EROFS format, V1, keeps them), xattrs as getfattr lists them.
# /run is the exception: composefs empties it and gives it /usr's mtime.
listing() {
  (cd "$1" && find . -mindepth 1 \( -type d -printf '%p %y %m %U:%G %T@\n' \) -o -printf '%p %y %m %U:%G %s %l %T@\n' | grep -v '^\./run ' | sort)
  (cd "$1" && getfattr -R -P -h -d -m - -e hex . 2>/dev/null)
}
if ! diff -u <(listing "$podman_mnt") <(listing "$work/cfskit-mnt"); then
  echo "the trees differ (names, types, modes, owners, sizes, symlink targets, mtimes, xattrs)" >&2
  exit 1
fi
diff -r --no-dereference "$podman_mnt" "$work/cfskit-mnt"
empty_mtime=$(stat -c %y "$work/cfskit-mnt/etc/empty")
[[ $empty_mtime == *.123456789* ]] || { echo "etc/empty lost its mtime nanoseconds: $empty_mtime" >&2; exit 1; }
echo "etc/empty: $empty_mtime (the base tar's PAX mtime, nanoseconds kept)"
blob=$work/cfskit-mnt/usr/share/demo
[[ $(stat -c %i "$blob/blob") == $(stat -c %i "$blob/blob-link") ]] || { echo "blob-link is not a hard link of blob" >&2; exit 1; }
echo "$(listing "$work/cfskit-mnt" | wc -l) lines, same metadata, mtimes to the nanosecond and same bytes; the hard link is one inode"
node bin/cfskit unmount "$work/cfskit-mnt"

step "a local registry (docker-registry on 127.0.0.1) holding the image"
port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
registry=127.0.0.1:$port
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
  "$work/registry" "$registry" > "$work/registry.yml"
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://$registry/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$registry/v2/" >/dev/null || { cat "$work/registry.log" >&2; echo "docker-registry did not start" >&2; exit 1; }
podman push --quiet --tls-verify=false localhost/cfskit-demo "docker://$registry/cfskit-demo:1"
echo "pushed docker://$registry/cfskit-demo:1"

step "the unified pull into a bootc-like sysroot: podman fetches into the system store, cfskit imports it from there"
sysroot=$work/sysroot
# A bootc system has its repository already; here it is made first.
node bin/cfskit --repo "$sysroot/composefs" init --insecure >/dev/null
# --run-root: a real system's is /run/bootc/storage, as bootc's; the demo keeps its own.
pulled=$(node bin/cfskit oci pull --sysroot "$sysroot" --run-root "$work/sysroot-run" --tls-verify=false --progress none --json "docker://$registry/cfskit-demo:1")
field() { node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
# The repository's tag is bootc's GC root: localhost/bootc-<manifest digest>.
tag=$(field tag <<<"$pulled")
echo "tagged $tag in $sysroot/composefs"
[[ $tag == "localhost/bootc-$(field manifest <<<"$pulled")" ]] || { echo "the sysroot's image is tagged $tag, not as bootc tags it" >&2; exit 1; }
system_store=$sysroot/composefs/bootc/storage
system_images=$(env podman --root "$system_store" --runroot "$work/sysroot-run" --storage-driver overlay \
  --storage-opt overlay.skip_mount_home=true images --format '{{.Repository}}:{{.Tag}} {{.ID}}')
echo "podman sees in the system store: $system_images (so podman run of the booted image works)"
[[ $system_images == *"$registry/cfskit-demo:1"* ]] || { echo "the system store does not hold the pulled image" >&2; exit 1; }
sys() { node bin/cfskit --repo "$sysroot/composefs" "$@"; }
sys fsck >/dev/null && echo "fsck of $sysroot/composefs: ok"

step "the same image with no container engine: registry straight into another repository"
direct=$work/direct
node bin/cfskit --repo "$direct" init --insecure >/dev/null
node bin/cfskit --repo "$direct" oci pull --tls-verify=false --progress none "docker://$registry/cfskit-demo:1" demo >/dev/null
ids=("$id" "$(sys oci compute-id "$tag")" "$(node bin/cfskit --repo "$direct" oci compute-id demo)")
printf '%s\n' "containers-storage pull: ${ids[0]}" "unified pull (sysroot): ${ids[1]}" "podman-free pull:       ${ids[2]}"
[[ ${ids[0]} == "${ids[1]}" && ${ids[1]} == "${ids[2]}" ]] || { echo "the three pulls gave different composefs images" >&2; exit 1; }
echo "one composefs image ID, whichever way the image came"

step "mount the sysroot's image; it shows the tree podman built"
mkdir "$work/sysroot-mnt"
sys oci mount "$tag" "$work/sysroot-mnt"
diff -r --no-dereference "$podman_mnt" "$work/sysroot-mnt" && echo "same files, same bytes as podman's mount"

step "garbage collection: the tagged (and mounted) image stays whole; untagged, its objects go"
sys gc
sys fsck >/dev/null && [[ -e $sysroot/composefs/images/${ids[1]} ]] && echo "the sysroot's image is whole after gc (fsck clean)"
node bin/cfskit unmount "$work/sysroot-mnt"
node bin/cfskit --repo "$direct" oci untag demo
node bin/cfskit --repo "$direct" gc
remaining=$(find "$direct/objects" -type f | wc -l)
[[ $remaining == 0 ]] || { echo "$remaining objects left after the only image was untagged" >&2; exit 1; }
node bin/cfskit --repo "$direct" fsck >/dev/null && echo "the untagged repository is empty again, and fsck is clean"

step "done: the image is in the repository, its data stored once"
du -sh --apparent-size "$repo/objects" | sed 's/\t.*/ of objects (reflinked or hardlinked where the file system allows)/'
