#!/usr/bin/env bash
# Everything topolab and its tests need on a fresh Debian/Ubuntu machine, as root.
# Idempotent: safe to run again. Installs system packages only; the Rust toolchain is
# expected (rustup), cargo-nextest is used when present (ci/test.sh says why it is not
# installed).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "ci/setup.sh must run as root (it installs packages and creates the test user)" >&2
    exit 3
fi

need=()
command -v ip >/dev/null || need+=(iproute2)
command -v nft >/dev/null || need+=(nftables)
command -v tc >/dev/null || need+=(iproute2)
command -v python3 >/dev/null || need+=(python3)
command -v runuser >/dev/null || need+=(util-linux)
command -v bridge >/dev/null || need+=(iproute2)
# The capture tests read topolab's pcapng files back with tcpdump.
command -v tcpdump >/dev/null || need+=(tcpdump)
# FRR for the routing-daemon labs and tests; topolab runs it only inside lab nodes.
[ -x /usr/lib/frr/zebra ] || need+=(frr)
# The drop tracer's eBPF program is compiled by build.rs: clang for the BPF target, and
# libbpf's headers (bpf_helpers.h, bpf_core_read.h) for its helper and CO-RE macros.
command -v clang >/dev/null || need+=(clang)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
if [ "${#need[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The package enables an FRR service on the host; labs start their own per node and a
# host zebra would only compete with nothing useful (and touch the host's routing).
if [ -d /run/systemd/system ] && systemctl is-enabled frr >/dev/null 2>&1; then
    systemctl disable --now frr >/dev/null 2>&1 || true
fi

# The unprivileged user the rootless tests run as (no sudo, no capabilities).
if ! id topolab-test >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh topolab-test
fi

# qemu, the distribution's full kernel image and virtme-ng: labs and tests that need kernel features this
# host lacks run inside a throwaway VM (`topolab test --kernel`).
bash "$(dirname "$0")/vm-setup.sh"
