#!/usr/bin/env bash
# What the VM tests and `topolab test --kernel` need to boot Debian's full kernel under
# qemu (TCG) with virtme-ng, for the labs this host's kernel cannot run (dummy, ipip,
# gre, wireguard, vlan, vrf, netem, ESP...). Idempotent; run as root.
set -euo pipefail

need=()
for pkg in qemu-system-x86 busybox-static linux-image-amd64 python3 python3-pip; do
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
echo "VM kernel: $(ls /boot/vmlinuz-*-amd64 | tail -1)"
