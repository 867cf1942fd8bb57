#!/usr/bin/env bash
# Everything topolab and its tests need on a fresh Debian/Ubuntu machine, as root.
# Idempotent: safe to run again. Installs system packages only; the Rust toolchain is
# expected (rustup), cargo-nextest is used when present.
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
# The drop tracer's eBPF program is compiled by build.rs: clang for the BPF target, and
# libbpf's headers (bpf_helpers.h, bpf_core_read.h) for its helper and CO-RE macros.
command -v clang >/dev/null || need+=(clang)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
if [ "${#need[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The unprivileged user the rootless tests run as (no sudo, no capabilities).
if ! id topolab-test >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh topolab-test
fi

# qemu, Debian's full kernel and virtme-ng: labs and tests that need kernel features this
# host lacks run inside a throwaway VM (`topolab test --kernel`).
bash "$(dirname "$0")/vm-setup.sh"
