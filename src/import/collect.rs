//! The script `topolab import --collect` prints: run on a production host (no topolab
//! there), it writes the files `import --from DIR` reads, and changes nothing.

/// Every command only reads: `ip ... show`/`-j`, `nft list`, `sysctl -a`, `brctl show`.
/// Each runs on its own; a missing tool leaves its file out instead of stopping.
pub const SCRIPT: &str = r#"#!/bin/sh
# Collect this host's network state for `topolab import --from DIR`. Read-only: it runs
# only `ip ... show`, `nft list ruleset`, `sysctl -a`, `bridge fdb show` and `brctl show`.
# Usage: sh collect.sh [DIR]   (default: ./topolab-<hostname>)
dir="${1:-topolab-$(hostname 2>/dev/null || echo host)}"
mkdir -p "$dir" || exit 1
run() { # run FILE CMD...: keep the output only when the command succeeded
    out="$dir/$1"; shift
    if "$@" > "$out.tmp" 2>/dev/null && [ -s "$out.tmp" ]; then mv "$out.tmp" "$out"; else rm -f "$out.tmp"; fi
}
run ip-link.json   ip -j -d link show
run ip-addr.json   ip -j addr show
run ip-route.json  ip -j -4 route show table all
run ip-route6.json ip -j -6 route show table all
run ip-rule.json   ip -j -4 rule show
run ip-rule6.json  ip -j -6 rule show
run ip-neigh.json  ip -j neigh show
# Plain text too: older iproute2 has no -j, and people read these.
run ip-addr.txt    ip addr show
run ip-route.txt   ip -4 route show table all
run ip-route6.txt  ip -6 route show table all
run ip-rule.txt    ip -4 rule show
run ip-neigh.txt   ip neigh show
run bridge-fdb.txt bridge fdb show
run brctl-show.txt brctl show
run route-n.txt    route -n
run nft-ruleset.txt nft list ruleset
run nft-ruleset.json nft -j list ruleset
run sysctl.txt     sysctl -a
echo "collected into $dir: $(ls "$dir" | tr '\n' ' ')"
"#;

#[cfg(test)]
mod tests {
    use super::SCRIPT;

    /// The script must stay read-only: every command it runs is a show/list/read.
    #[test]
    fn script_only_reads() {
        for line in SCRIPT.lines().filter(|l| l.starts_with("run ")) {
            let cmd: Vec<&str> = line.split_whitespace().skip(2).collect();
            let ok = match cmd[0] {
                "ip" => cmd.contains(&"show"),
                "nft" => cmd[1..] == ["list", "ruleset"] || cmd[1..] == ["-j", "list", "ruleset"],
                "sysctl" => cmd[1] == "-a",
                "bridge" => cmd[1..] == ["fdb", "show"],
                "brctl" => cmd[1..] == ["show"],
                "route" => cmd[1..] == ["-n"],
                _ => false,
            };
            assert!(
                ok,
                "collect script runs a command that is not a read: {line}"
            );
        }
    }

    #[test]
    fn script_is_posix_sh() {
        let out = std::process::Command::new("sh")
            .args(["-n", "-c", SCRIPT])
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
