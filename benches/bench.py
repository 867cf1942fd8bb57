#!/usr/bin/env python3
"""topolab benchmark: the same topologies built with topolab and with plain iproute2,
measured in the same run, printed as ratios. Not a test: numbers depend on the machine.

  sudo python3 benches/bench.py                 # everything
  sudo python3 benches/bench.py --only star     # just the star sizes
  sudo python3 benches/bench.py --sizes 100,500 --repeat 3
  sudo python3 benches/bench.py --sizes 100,1000,10000 --steps-max 1000   # the issue-14 run
  sudo python3 benches/bench.py --only matrix   # needs `apt-get install mininet bridge-utils`
  sudo python3 benches/bench.py --only capture --repeat 5   # `test --capture always` overhead

Topologies:
  star N   N hosts on one switch (a bridge in its own namespace), one address each
  chain    100 routers in a line, forwarding on, host routes end to end
  fabric   100 leaf switches of 100 hosts behind 10 routers and a core (10,000 hosts),
           `topolab test` with a 10,000-probe matrix across leaves (--fabric LxHxR)
  matrix   100 hosts on one switch and a full all-pairs ping matrix (9,900 probes),
           against mininet's `mn --topo single,100 --switch lxbr --controller none
           --test pingall` (Debian's mininet and bridge-utils)
  capture  the same matrix lab and the three-tier lab, `topolab test` with and without
           `--capture always`, runs alternated, medians compared

Each is built and torn down by:
  topolab       `topolab up` + `topolab down` (end to end, including process start)
  ip-batch      `ip -batch` for namespaces and the switch, one `ip -n NS -batch` per host
  ip-per-step   one `ip` command per operation, as a shell script would do it
  floor         benches/floor.c: the same kernel objects with raw netlink, threads and
                pipelined requests, nothing else: the best this kernel does on this machine
                (star only; compiled with the system C compiler on first use)

iproute2 runs use named namespaces with a unique prefix and always delete them, even on
error. Run as root; nothing touches the host's own namespace.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PREFIX = f"tlb{os.getpid() % 100000}"


def topolab_bin():
    exe = os.environ.get("TOPOLAB_BIN") or os.path.join(ROOT, "target", "release", "topolab")
    if not os.path.exists(exe):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return exe


# A bridge takes at most 1024 ports: bigger stars spread their hosts over switches of
# this many ports (separate L2 segments), in the floor program too.
PER_SWITCH = 1000


def star_switch(i, n):
    return "lan" if n <= PER_SWITCH else f"lan{i // PER_SWITCH}"


def star_lab(n):
    lines = [f'name = "bench-star-{n}"']
    lines += sorted({f"[switches.{star_switch(i, n)}]" for i in range(n)})
    for i in range(n):
        lines.append(f"[nodes.h{i}]")
    for i in range(n):
        lines.append(f'[[links]]\nendpoints = ["h{i}:eth0", "{star_switch(i, n)}"]\naddresses = ["{star_addr(i)}/16"]')
    return "\n".join(lines) + "\n"


def floor_bin(tmp):
    exe = os.path.join(tmp, "floor")
    if not os.path.exists(exe):
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-O2", "-pthread", "-o", exe, os.path.join(HERE, "floor.c")], check=True)
    return exe


def time_floor(exe, n):
    """Up and down of benches/floor.c, timed from outside like topolab: process start to
    "up", and from the go to its exit."""
    t0 = time.perf_counter()
    p = subprocess.Popen([exe, str(n), str(os.cpu_count() or 1), str(PER_SWITCH)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    t1 = time.perf_counter()
    if not line.startswith("up "):
        p.kill()
        raise RuntimeError(f"floor failed: {line}")
    p.stdin.write("\n")
    p.stdin.close()
    p.stdout.read()
    if p.wait() != 0:
        raise RuntimeError("floor failed at teardown")
    return t1 - t0, time.perf_counter() - t1


def matrix_lab(n):
    return star_lab(n).replace(f'name = "bench-star-{n}"', f'name = "bench-matrix-{n}"') + '[[matrix]]\nname = "all pairs"\n'


def time_matrix(exe, lab_path, runtime, extra=()):
    """End to end `topolab test` of the matrix lab, and the matrix alone from its report."""
    import json
    env = dict(os.environ, TOPOLAB_RUNTIME_DIR=runtime, NO_COLOR="1", CI="true")
    t0 = time.perf_counter()
    out = subprocess.run([exe, "test", "--format", "json", *extra, lab_path], env=env, capture_output=True, text=True)
    total = time.perf_counter() - t0
    report = json.loads(out.stdout)
    matrix = report["labs"][0]["matrices"][0]
    ok = sum(1 for c in matrix["cells"] if c["passed"])
    return total, matrix["duration"], ok, len(matrix["cells"])


def time_fabric(exe, lab_path, runtime, hosts):
    """`topolab test` of the fabric end to end: build, the cross-leaf matrix, teardown;
    peak RSS: the high-water mark of the largest process topolab ran as (RUSAGE_CHILDREN)."""
    import json
    import resource
    env = dict(os.environ, TOPOLAB_RUNTIME_DIR=runtime, NO_COLOR="1", CI="true")
    t0 = time.perf_counter()
    out = subprocess.run([exe, "test", "--format", "json", lab_path], env=env, capture_output=True, text=True)
    total = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    try:
        lab = json.loads(out.stdout)["labs"][0]
        m = lab["matrices"][0]
    except (ValueError, KeyError, IndexError):
        print(f"fabric {hosts}: topolab test failed (exit {out.returncode}): {(out.stdout + out.stderr).strip()[-400:]}")
        return
    ok = sum(1 for c in m["cells"] if c["passed"])
    print(f"\nfabric {hosts} hosts: topolab test end to end {total:.2f}s, build {lab['build']:.2f}s, "
          f"matrix {len(m['cells'])} probes in {m['duration']:.2f}s = {len(m['cells']) / max(m['duration'], 1e-9):,.0f} probes/s, "
          f"{ok}/{len(m['cells'])} as expected, peak RSS {rss / 1024:.0f} MiB (target <= 200)")
    if "ENOBUFS" in out.stdout + out.stderr or "neighbour table" in out.stderr:
        print("  the neighbour table overflowed during the run: results not trustworthy")


def time_capture(exe, lab_path, runtime, repeat):
    """`topolab test` of one lab without and with `--capture always`, alternated so that
    the shared machine's load hits both alike; medians of wall time, and the capture's
    packets, size and kernel drops from the last report."""
    import json
    import statistics
    env = dict(os.environ, TOPOLAB_RUNTIME_DIR=runtime, NO_COLOR="1", CI="true")
    art = os.path.join(os.path.dirname(lab_path), "artifacts")
    plain, captured, capture = [], [], None
    for _ in range(repeat):
        for extra, out in (([], plain), (["--capture", "always", "--artifacts", art], captured)):
            settle()
            t0 = time.perf_counter()
            r = subprocess.run([exe, "test", "--format", "json", *extra, lab_path], env=env,
                               capture_output=True, text=True)
            out.append(time.perf_counter() - t0)
            if extra:
                capture = json.loads(r.stdout)["labs"][0].get("capture")
    return statistics.median(plain), statistics.median(captured), capture


def time_mininet(n):
    """mininet's pingall, run inside a private network namespace so that its switch and
    links (which mininet puts in its own "root" namespace) never touch the host's."""
    if shutil.which("mn") is None:
        return None
    t0 = time.perf_counter()
    out = subprocess.run(
        ["unshare", "-n", "sh", "-c",
         f"ip link set lo up; mn --topo single,{n} --switch lxbr --controller none --test pingall"],
        capture_output=True, text=True)
    total = time.perf_counter() - t0
    dropped = re.search(r"Results: (\d+)% dropped", out.stdout + out.stderr)
    return total, dropped.group(1) if dropped else "?"


def star_addr(i):
    return f"10.0.{(i + 1) // 250}.{(i + 1) % 250 + 1}"


def chain_hops(n):
    """Per link i between r_i and r_{i+1}: the two /30 addresses."""
    hops = []
    for i in range(n - 1):
        base = i * 4
        net = f"10.{base // 65536 + 1}.{(base // 256) % 256}"
        hops.append((f"{net}.{base % 256 + 1}", f"{net}.{base % 256 + 2}"))
    return hops


def chain_lab(n):
    hops = chain_hops(n)
    lines = ['name = "bench-chain"']
    for i in range(n):
        lines.append(f"[nodes.r{i}]\nforward = true")
        routes = []
        if i < n - 1:
            routes.append(f'{{ to = "10.255.0.2/32", via = "{hops[i][1]}" }}')
        if i > 0:
            routes.append(f'{{ to = "10.255.0.1/32", via = "{hops[i - 1][0]}" }}')
        lines.append("routes = [" + ", ".join(routes) + "]")
    lines.append('[nodes.r0.interfaces.lo]\naddresses = ["10.255.0.1/32"]')
    lines.append(f'[nodes.r{n - 1}.interfaces.lo]\naddresses = ["10.255.0.2/32"]')
    for i, (a, b) in enumerate(hops):
        lines.append(f'[[links]]\nendpoints = ["r{i}:eth1", "r{i + 1}:eth0"]\naddresses = ["{a}/30", "{b}/30"]')
    return "\n".join(lines) + "\n"


def fabric_lab(leaves=100, per_leaf=100, routers=10):
    """leaves x per_leaf hosts on leaf switches (no bridge near its 1024-port limit),
    `routers` aggregation routers with leaves/routers leaves each, and a core router.
    Leaf L is 10.L'.0.0/24 with L' = L + 1 (router .1, hosts from .10); router k reaches
    the core over 10.255.k.0/30. A matrix from one host of every leaf to another host of
    every leaf probes leaves x leaves pairs across switches and routers."""
    per_router = -(-leaves // routers)
    lines = [f'name = "bench-fabric-{leaves * per_leaf}"', "[nodes.core]", "forward = true", "routes = ["]
    for leaf in range(leaves):
        lines.append(f'  {{ to = "10.{leaf + 1}.0.0/24", via = "10.255.{leaf // per_router}.2" }},')
    lines.append("]")
    for k in range(routers):
        lines += [f"[nodes.r{k}]", "forward = true", 'routes = [ { to = "default", via = "10.255.%d.1" } ]' % k]
    for leaf in range(leaves):
        lines.append(f"[switches.leaf{leaf}]")
        for h in range(per_leaf):
            lines.append(f'[nodes.h{leaf}-{h}]\nroutes = [ {{ to = "default", via = "10.{leaf + 1}.0.1" }} ]')
    for k in range(routers):
        lines.append(f'[[links]]\nendpoints = ["core:r{k}", "r{k}:up"]\naddresses = ["10.255.{k}.1/30", "10.255.{k}.2/30"]')
    for leaf in range(leaves):
        lines.append(f'[[links]]\nendpoints = ["r{leaf // per_router}:leaf{leaf}", "leaf{leaf}"]\naddresses = ["10.{leaf + 1}.0.1/24"]')
        for h in range(per_leaf):
            lines.append(f'[[links]]\nendpoints = ["h{leaf}-{h}:eth0", "leaf{leaf}"]\naddresses = ["10.{leaf + 1}.0.{h + 10}/24"]')
    senders = ", ".join(f'"h{leaf}-0"' for leaf in range(leaves))
    targets = ", ".join(f'"h{leaf}-{per_leaf - 1}"' for leaf in range(leaves))
    lines.append(f'[[matrix]]\nname = "across leaves"\nfrom = [{senders}]\nto = [{targets}]')
    return "\n".join(lines) + "\n"


# --- iproute2 equivalents -------------------------------------------------------------

def star_switches(n):
    return sorted({star_switch(i, n) for i in range(n)})


def star_ip_steps(n):
    p = PREFIX
    up = []
    for sw in star_switches(n):
        up += [f"ip netns add {p}{sw}", f"ip -n {p}{sw} link add br0 type bridge", f"ip -n {p}{sw} link set br0 up"]
    for i in range(n):
        sw = p + star_switch(i, n)
        up += [
            f"ip netns add {p}h{i}",
            f"ip -n {sw} link add p{i} type veth peer name eth0 netns {p}h{i}",
            f"ip -n {sw} link set p{i} master br0",
            f"ip -n {sw} link set p{i} up",
            f"ip -n {p}h{i} link set lo up",
            f"ip -n {p}h{i} addr add {star_addr(i)}/16 dev eth0",
            f"ip -n {p}h{i} link set eth0 up",
        ]
    down = [f"ip netns del {p}{sw}" for sw in star_switches(n)] + [f"ip netns del {p}h{i}" for i in range(n)]
    return up, down


def star_ip_batch(n, d):
    p = PREFIX
    switches = star_switches(n)
    with open(f"{d}/ns.batch", "w") as f:
        f.write("".join(f"netns add {p}{sw}\n" for sw in switches) + "".join(f"netns add {p}h{i}\n" for i in range(n)))
    up = [f"ip -batch {d}/ns.batch"]
    for sw in switches:
        with open(f"{d}/{sw}.batch", "w") as f:
            f.write("link add br0 type bridge\nlink set br0 up\n")
            for i in range(n):
                if star_switch(i, n) == sw:
                    f.write(f"link add p{i} type veth peer name eth0 netns {p}h{i}\nlink set p{i} master br0 up\n")
        up.append(f"ip -n {p}{sw} -batch {d}/{sw}.batch")
    for i in range(n):
        with open(f"{d}/h{i}.batch", "w") as f:
            f.write(f"link set lo up\naddr add {star_addr(i)}/16 dev eth0\nlink set eth0 up\n")
        up.append(f"ip -n {p}h{i} -batch {d}/h{i}.batch")
    with open(f"{d}/del.batch", "w") as f:
        f.write("".join(f"netns del {p}{sw}\n" for sw in switches) + "".join(f"netns del {p}h{i}\n" for i in range(n)))
    return up, [f"ip -batch {d}/del.batch"]


def chain_ip_steps(n):
    p = PREFIX
    hops = chain_hops(n)
    up = []
    for i in range(n):
        up += [f"ip netns add {p}r{i}", f"ip -n {p}r{i} link set lo up", f"ip netns exec {p}r{i} sysctl -qw net.ipv4.ip_forward=1"]
    for i, (a, b) in enumerate(hops):
        up += [
            f"ip -n {p}r{i} link add eth1 type veth peer name eth0 netns {p}r{i + 1}",
            f"ip -n {p}r{i} addr add {a}/30 dev eth1",
            f"ip -n {p}r{i + 1} addr add {b}/30 dev eth0",
            f"ip -n {p}r{i} link set eth1 up",
            f"ip -n {p}r{i + 1} link set eth0 up",
        ]
    up += [f"ip -n {p}r0 addr add 10.255.0.1/32 dev lo", f"ip -n {p}r{n - 1} addr add 10.255.0.2/32 dev lo"]
    for i in range(n):
        if i < n - 1:
            up.append(f"ip -n {p}r{i} route add 10.255.0.2/32 via {hops[i][1]}")
        if i > 0:
            up.append(f"ip -n {p}r{i} route add 10.255.0.1/32 via {hops[i - 1][0]}")
    down = [f"ip netns del {p}r{i}" for i in range(n)]
    return up, down


def run_script(lines):
    """Run commands one process each (as a shell script would), in one shell."""
    script = "set -e\n" + "\n".join(lines) + "\n"
    # On stdin: 1000 hosts make a script longer than one argument may be (128 KiB).
    subprocess.run(["sh", "-s"], input=script, text=True, check=True, stdout=subprocess.DEVNULL)


def cleanup_named():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)


def time_ip(up, down):
    try:
        t0 = time.perf_counter()
        run_script(up)
        t1 = time.perf_counter()
        run_script(down)
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1
        if args.only in (None, "fabric"):
            leaves, per_leaf, routers = (int(x) for x in args.fabric.split("x"))
            lab = os.path.join(tmp, "fabric.toml")
            with open(lab, "w") as f:
                f.write(fabric_lab(leaves, per_leaf, routers))
            settle()
            time_fabric(exe, lab, runtime, leaves * per_leaf)
    finally:
        cleanup_named()


def time_topolab(exe, lab_path, runtime):
    env = dict(os.environ, TOPOLAB_RUNTIME_DIR=runtime, NO_COLOR="1")
    t0 = time.perf_counter()
    out = subprocess.run([exe, "up", lab_path], env=env, capture_output=True, text=True)
    t1 = time.perf_counter()
    if out.returncode != 0:
        raise RuntimeError(f"topolab up failed: {out.stdout}{out.stderr}")
    inst = re.search(r"is up as (\S+)", out.stdout).group(1)
    rss = peak_rss_kib(runtime, inst)
    out = subprocess.run([exe, "down", inst], env=env, capture_output=True, text=True)
    t2 = time.perf_counter()
    if out.returncode != 0:
        raise RuntimeError(f"topolab down failed: {out.stdout}{out.stderr}")
    return t1 - t0, t2 - t1, rss


def peak_rss_kib(runtime, inst):
    """Peak RSS (VmHWM) of the supervisor that holds the lab, in KiB."""
    import json
    with open(os.path.join(runtime, f"{inst}.json")) as f:
        outer = json.load(f)["pid"]
    best = 0
    for pid in [outer] + children(outer):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        best = max(best, int(line.split()[1]))
        except OSError:
            pass
    return best


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def best_of(repeat, fn):
    results = [fn() for _ in range(repeat)]
    return min(results, key=lambda r: r[0] + r[1])


def settle():
    """Namespace destruction continues in the kernel after `down`/`netns del` return;
    let it finish so one measurement does not pay for the previous one."""
    time.sleep(float(os.environ.get("BENCH_SETTLE", "5")))


def print_table(rows):
    if not rows:
        return
    print(f"\n{'topology':<20} {'topolab up+down':>16} {'peak RSS':>9} {'ip -batch':>12} {'ip per step':>12} "
          f"{'floor':>9} {'vs batch':>9} {'vs steps':>9} {'/ floor':>8}")
    for name, tl, ib, st, fl in rows:
        total = tl[0] + tl[1]
        ibt = ib[0] + ib[1] if ib else None
        stt = st[0] + st[1] if st else None
        flt = fl[0] + fl[1] if fl else None
        print(f"{name:<20} {total:>7.3f}s ({tl[0]:.2f}+{tl[1]:.2f}) {tl[2] / 1024:>6.1f}MiB "
              f"{(f'{ibt:.3f}s' if ibt else '-'):>12} {(f'{stt:.3f}s' if stt else '-'):>12} "
              f"{(f'{flt:.3f}s' if flt else '-'):>9} "
              f"{(f'{ibt / total:.1f}x' if ibt else '-'):>9} {(f'{stt / total:.1f}x' if stt else '-'):>9} "
              f"{(f'{total / flt:.2f}x' if flt else '-'):>8}")
    print("\nvs batch / vs steps: iproute2 time / topolab time (higher is better for topolab); "
          "/ floor: topolab time / the kernel floor's (target <= 1.3x)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["star", "chain", "matrix", "fabric", "capture"])
    ap.add_argument("--fabric", default="100x100x10",
                    help="LEAVESxHOSTSxROUTERS of the fabric (default 100x100x10: 10,000 hosts)")
    ap.add_argument("--sizes", default="100,500,1000")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--skip-steps", action="store_true", help="skip the slow one-command-per-step runs")
    ap.add_argument("--steps-max", type=int, default=None,
                    help="run the one-command-per-step baseline only up to this many hosts")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the iproute2 baselines need it")
    exe = topolab_bin()
    tmp = tempfile.mkdtemp(prefix="topolab-bench-")
    runtime = os.path.join(tmp, "run")
    rows = []
    try:
        if args.only in (None, "star"):
            per_node = {}
            for n in [int(s) for s in args.sizes.split(",")]:
                lab = os.path.join(tmp, f"star{n}.toml")
                with open(lab, "w") as f:
                    f.write(star_lab(n))
                settle()
                tl = best_of(args.repeat, lambda: time_topolab(exe, lab, runtime))
                settle()
                bd = os.path.join(tmp, f"batch{n}")
                os.makedirs(bd, exist_ok=True)
                ib = best_of(args.repeat, lambda: time_ip(*star_ip_batch(n, bd)))
                st = None
                if not args.skip_steps and (args.steps_max is None or n <= args.steps_max):
                    settle()
                    st = best_of(args.repeat, lambda: time_ip(*star_ip_steps(n)))
                settle()
                fl = best_of(args.repeat, lambda: time_floor(floor_bin(tmp), n))
                per_node[n] = (tl[0] + tl[1]) / n
                rows.append((f"star {n}", tl, ib, st, fl))
            sizes = sorted(per_node)
            if len(sizes) > 1:
                print(f"\nper-node time, star {sizes[-1]} vs star {sizes[0]}: "
                      f"{per_node[sizes[-1]] * 1e3:.2f} ms vs {per_node[sizes[0]] * 1e3:.2f} ms "
                      f"= {per_node[sizes[-1]] / per_node[sizes[0]]:.2f}x (target <= 1.5x)")
        if args.only in (None, "chain"):
            lab = os.path.join(tmp, "chain.toml")
            with open(lab, "w") as f:
                f.write(chain_lab(100))
            settle()
            tl = best_of(args.repeat, lambda: time_topolab(exe, lab, runtime))
            st = None
            if not args.skip_steps:
                settle()
                st = best_of(args.repeat, lambda: time_ip(*chain_ip_steps(100)))
            rows.append(("chain 100 routers", tl, None, st, None))
        if args.only in (None, "matrix"):
            lab = os.path.join(tmp, "matrix100.toml")
            with open(lab, "w") as f:
                f.write(matrix_lab(100))
            settle()
            total, mx, ok, cells = time_matrix(exe, lab, runtime)
            print(f"\nmatrix 100 hosts: topolab test end to end {total:.2f}s, the matrix itself {mx:.2f}s "
                  f"(target < 2s), {ok}/{cells} pairs ok")
            # Drop tracing (eBPF on skb:kfree_skb, as root) against none, alternating runs so
            # that other load on the machine hits both alike; best of each.
            traced, untraced = [], []
            for _ in range(max(args.repeat, 3)):
                settle()
                untraced.append(time_matrix(exe, lab, runtime, ["--drops", "off"])[1])
                settle()
                traced.append(time_matrix(exe, lab, runtime)[1])
            t, u = min(traced), min(untraced)
            print(f"drop tracing on the matrix: {t:.2f}s traced vs {u:.2f}s untraced "
                  f"= {100 * (t - u) / u:+.1f}% (target <= 10%)")
            settle()
            mn = time_mininet(100)
            if mn is None:
                print("mininet: not installed (apt-get install mininet bridge-utils); no comparison")
            else:
                print(f"mininet pingall: {mn[0]:.1f}s ({mn[1]}% dropped) = {mn[0] / total:.1f}x topolab (target >= 20x)")
        if args.only in (None, "fabric"):
            leaves, per_leaf, routers = (int(x) for x in args.fabric.split("x"))
            lab = os.path.join(tmp, "fabric.toml")
            with open(lab, "w") as f:
                f.write(fabric_lab(leaves, per_leaf, routers))
            settle()
            time_fabric(exe, lab, runtime, leaves * per_leaf)
        if args.only == "capture":
            labs = [("matrix 100 hosts", os.path.join(tmp, "matrix100.toml"), matrix_lab(100)),
                    ("three-tier", os.path.join(tmp, "three-tier.toml"),
                     open(os.path.join(ROOT, "labs", "three-tier.toml")).read())]
            for name, lab, text in labs:
                with open(lab, "w") as f:
                    f.write(text)
                plain, captured, c = time_capture(exe, lab, runtime, max(args.repeat, 3))
                print(f"\n{name}: topolab test {plain:.2f}s, with --capture always {captured:.2f}s "
                      f"(+{(captured / plain - 1) * 100:.0f}%); capture {c and c['packets']} packets, "
                      f"{c and c['bytes'] / 2**20:.1f} MiB, {c and c['dropped']} dropped by the kernel, "
                      f"{c and c['interfaces']} interfaces")
            return
    finally:
        cleanup_named()
        subprocess.run([exe, "down", "--all"], env=dict(os.environ, TOPOLAB_RUNTIME_DIR=runtime), capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        # Whatever was measured, even when a later run failed.
        print_table(rows)


if __name__ == "__main__":
    main()
