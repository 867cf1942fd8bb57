# Sourced by ci/labs.sh and ci/test.sh: make `cargo` callable. `sudo bash ci/labs.sh`
# resets PATH, so Rust installed by rustup for the invoking user (in that user's
# ~/.cargo/bin) is not found by root; look there, then in $CARGO_HOME and $HOME.
if ! command -v cargo >/dev/null; then
    _home=""
    if [ -n "${SUDO_USER:-}" ]; then _home="$(getent passwd "$SUDO_USER" | cut -d: -f6)"; fi
    for _dir in "${CARGO_HOME:-/nonexistent}/bin" "$_home/.cargo/bin" "${HOME:-/nonexistent}/.cargo/bin"; do
        if [ -x "$_dir/cargo" ]; then
            export PATH="$_dir:$PATH"
            # rustup's cargo finds its toolchains in its owner's ~/.rustup.
            _owner="$(dirname "$(dirname "$_dir")")"
            if [ -z "${RUSTUP_HOME:-}" ] && [ -d "$_owner/.rustup" ]; then
                export RUSTUP_HOME="$_owner/.rustup"
            fi
            break
        fi
    done
fi
if ! command -v cargo >/dev/null; then
    echo "cargo not found: install Rust (https://rustup.rs), or keep your PATH under sudo: sudo env \"PATH=\$PATH\" bash $0" >&2
    exit 3
fi
