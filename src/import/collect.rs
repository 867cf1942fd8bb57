//! The script `topolab import --collect` prints: run on a production host (no topolab
//! there), it writes the files `import --from DIR` reads, and changes nothing.

/// Every command only reads: `ip ... show`/`-j`, `nft list`, `sysctl -a`, `brctl show`,
/// `wg show all dump` (whose private and preshared keys are blanked before it is written).
/// Each runs on its own; a missing tool leaves its file out instead of stopping.
pub const SCRIPT: &str = r#"#!/bin/sh
# Collect this host's network state for `topolab import --from DIR`. Read-only: it runs
# only `ip ... show`, `nft list ruleset`, `sysctl -a`, `bridge fdb show`, `brctl show` and
# `wg show all dump`, whose private and preshared keys become "(hidden)" before it is written.
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
# WireGuard: no private key ever leaves the host (field 2 of an interface line, 3 of a peer's).
if wg show all dump > /dev/null 2>&1; then
    wg show all dump | awk 'BEGIN { FS = OFS = "\t" } NF == 5 { $2 = "(hidden)" } NF == 9 && $3 != "(none)" { $3 = "(hidden)" } { print }' > "$dir/wg-dump.txt"
    [ -s "$dir/wg-dump.txt" ] || rm -f "$dir/wg-dump.txt"
fi
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

    /// `wg` runs only as `wg show all dump`, and what the script writes of it has no
    /// private or preshared key: its own awk filter, run on a dump with keys.
    #[test]
    fn script_hides_wireguard_keys() {
        let wg: Vec<&str> = SCRIPT
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && l.contains("wg "))
            .collect();
        assert_eq!(wg.len(), 2, "{wg:?}");
        for l in &wg {
            assert!(l.contains("wg show all dump "), "{l}");
        }
        let filter = wg[1]
            .split_once("| ")
            .and_then(|(_, rest)| rest.rsplit_once(" > "))
            .map(|(awk, _)| awk)
            .expect("the dump goes through a filter");
        let private = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
        let psk = "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=";
        let public = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
        let dump = format!(
            "wg0\t{private}\t{public}\t51820\toff\n\
             wg0\t{public}\t{psk}\t192.0.2.1:51820\t10.0.0.2/32\t0\t0\t0\toff\n\
             wg0\t{public}\t(none)\t(none)\t10.0.0.3/32\t0\t0\t0\t25\n"
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("printf '%s' \"$1\" | {filter}"), "sh", &dump])
            .output()
            .expect("sh runs");
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(!out.contains(private) && !out.contains(psk), "{out}");
        assert_eq!(
            out,
            dump.replace(private, "(hidden)").replace(psk, "(hidden)"),
            "only the secrets change"
        );
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
