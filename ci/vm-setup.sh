#!/usr/bin/env bash
# What the VM tests and `topolab test --kernel` need to boot Debian's full kernel under
# qemu (TCG) with virtme-ng, for the labs this host's kernel cannot run (dummy, ipip,
# gre, wireguard, vlan, vrf, netem, ESP...). Idempotent; run as root.
set -euo pipefail

# The full kernel image has another name on each distribution: Debian's metapackage is
# linux-image-<arch> (linux-image-amd64), Ubuntu's linux-image-generic (there is no
# linux-image-amd64 on Ubuntu). Either installs /boot/vmlinuz-* with its modules, which the
# guest loads from the host's /lib/modules.
. "${TOPOLAB_OS_RELEASE:-/etc/os-release}"
case " ${ID:-} ${ID_LIKE:-} " in
    *" ubuntu "*) kernel_pkg=linux-image-generic ;;
    *" debian "*) kernel_pkg="linux-image-$(dpkg --print-architecture)" ;;
    *)
        echo "ci/vm-setup.sh: unknown distribution '${ID:-?}': install a full kernel image with its modules, qemu-system-x86, busybox-static and virtme-ng by hand" >&2
        exit 3
        ;;
esac
if [ "${1:-}" = --kernel-package ]; then
    echo "$kernel_pkg"
    exit 0
fi

need=()
for pkg in qemu-system-x86 busybox-static "$kernel_pkg" python3 python3-pip; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! command -v vng >/dev/null; then
    # pip of the python3 on PATH; Debian's own refuses without the flag.
    pip install --quiet virtme-ng 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages virtme-ng
    if command -v pyenv >/dev/null; then pyenv rehash; fi
fi
vng --version
echo "VM kernel ($kernel_pkg): $(ls /boot/vmlinuz-* | sort -V | tail -1)"
