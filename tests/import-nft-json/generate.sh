#!/bin/sh
# Regenerates X.json (`nft -j list ruleset`) from each X.nft,
# in a throwaway network namespace (`unshare -n`): the host's ruleset is never read or
# touched. Run as root from anywhere. gw.json is also docs/import-example/gw's ruleset.
set -eu
cd "$(dirname "$0")"
for f in *.nft; do
	b=${f%.nft}
	unshare -n sh -c 'nft -f "$1" && nft -j list ruleset > "$2.json"' sh "$f" "$b"
done
cp gw.json ../../docs/import-example/gw/nft-ruleset.json
