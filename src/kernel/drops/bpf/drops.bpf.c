// SPDX-License-Identifier: GPL-2.0
// Kernel side of topolab's drop tracer: on every `skb:kfree_skb` (a packet freed because
// it was dropped, with the kernel's reason) inside one of the lab's network namespaces,
// report where (netns inode, ifindex) and why (drop reason), with the packet's addresses,
// protocol and ports / ICMP id so user space can tell which probe it belonged to.
//
// Struct definitions are minimal and marked preserve_access_index: libbpf-style CO-RE
// relocations let the loader (aya) fix field offsets from the running kernel's BTF, so no
// vmlinux.h or bpftool is needed at build time.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} possible_net_t;

struct net_device {
	int ifindex;
	possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct sock_common {
	possible_net_t skc_net;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct sk_buff {
	struct net_device *dev;
	struct sock *sk;
	unsigned char *head;
	__u16 network_header;
} __attribute__((preserve_access_index));

// Keep in step with `Event` in src/drops/ebpf.rs.
struct event {
	__u32 netns;
	__u32 ifindex;
	__u32 reason;
	__u8 family; // 4 or 6
	__u8 proto;
	__u16 sport; // ICMP: the echo id
	__u16 dport; // ICMP: type << 8 | code
	__u16 seq; // ICMP echo: the sequence number
	__u8 saddr[16];
	__u8 daddr[16];
	// Non-zero when the dropped packet is an ICMP error quoting a packet (type << 8 | code
	// | 0x8000, so that echo-reply 0/0 stays distinguishable): the fields above are then
	// those of the quoted packet, the probe whose error died on its way back.
	__u16 error;
	__u16 pad;
	// With `error`: who sent the error (its source address).
	__u8 esrc[16];
};

// Namespaces of the labs this process runs: inode -> 1. Filled by user space.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} netns SEC(".maps");

// [0]: the number of SKB_DROP_REASON_NO_SOCKET in this kernel (user space reads it from
// BTF). Around every answered ping the kernel frees the echo reply's copy with it (the
// raw probe socket got its own): not a loss, and too frequent in a matrix to report.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

// Per CPU: whether `on_drop` is running there (see on_drop_nested).
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} busy_cpu SEC(".maps");

// Per CPU: events the ring buffer had no room for. User space reads the sum: a probe
// during which it moved says its evidence may be incomplete instead of `no drop seen`.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static __always_inline void output(struct event *e)
{
	if (bpf_ringbuf_output(&events, e, sizeof(*e), 0)) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			*n += 1;
	}
}

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58

// Fills the event's family, protocol and addresses from the IP header at `l3` (`version`
// from its first nibble) and points `l4` at the transport header. Returns -1 when the
// header is unreadable or not IP, 0 for a later fragment (no transport header), 1 else.
static __always_inline int parse_l3(unsigned char *l3, __u8 version, struct event *e,
				    unsigned char **l4)
{
	if (version == 4) {
		__u8 hdr[20];
		if (bpf_probe_read_kernel(hdr, sizeof(hdr), l3))
			return -1;
		e->family = 4;
		e->proto = hdr[9];
		__builtin_memcpy(e->saddr, &hdr[12], 4);
		__builtin_memcpy(e->daddr, &hdr[16], 4);
		// Later fragments carry no transport header.
		if (((hdr[6] & 0x1f) | hdr[7]) != 0)
			return 0;
		*l4 = l3 + (hdr[0] & 0x0f) * 4;
		return 1;
	}
	if (version == 6) {
		__u8 hdr[40];
		if (bpf_probe_read_kernel(hdr, sizeof(hdr), l3))
			return -1;
		e->family = 6;
		e->proto = hdr[6];
		__builtin_memcpy(e->saddr, &hdr[8], 16);
		__builtin_memcpy(e->daddr, &hdr[24], 16);
		*l4 = l3 + 40;
		return 1;
	}
	return -1;
}

// The ports of TCP/UDP, the id, type/code and sequence of ICMP.
static __always_inline void transport(struct event *e, __u8 *th)
{
	if (e->proto == IPPROTO_TCP_ || e->proto == IPPROTO_UDP_) {
		e->sport = (th[0] << 8) | th[1];
		e->dport = (th[2] << 8) | th[3];
	} else if (e->proto == IPPROTO_ICMP_ || e->proto == IPPROTO_ICMPV6_) {
		e->sport = (th[4] << 8) | th[5];
		e->dport = (th[0] << 8) | th[1];
		e->seq = (th[6] << 8) | th[7];
	}
}

// ICMP errors that say the quoted packet died where they come from: destination
// unreachable, time exceeded, parameter problem; ICMPv6 destination unreachable, packet
// too big, time exceeded, parameter problem. Not a redirect (the router forwarded the
// packet all the same) nor a source quench (deprecated, never a packet's end): their loss
// takes no answer away.
static __always_inline int is_icmp_error(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP_)
		return type == 3 || type == 11 || type == 12;
	if (proto == IPPROTO_ICMPV6_)
		return type >= 1 && type <= 4;
	return 0;
}

// Reports one drop if it happened in a registered namespace.
static __always_inline void report(__u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	__u32 reason = (__u32)ctx[2];
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct net *net = 0;
	__u32 ifindex = 0;

	if (dev) {
		net = BPF_CORE_READ(dev, nd_net.net);
		ifindex = BPF_CORE_READ(dev, ifindex);
	} else {
		// Locally generated packets dropped before they have a device (netfilter
		// OUTPUT, no route): the socket's namespace.
		struct sock *sk = BPF_CORE_READ(skb, sk);
		if (!sk)
			return;
		net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	}
	if (!net)
		return;
	__u32 inum = BPF_CORE_READ(net, ns.inum);
	if (!bpf_map_lookup_elem(&netns, &inum))
		return;

	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	if (!head || nh == (__u16)~0U)
		return;
	unsigned char *l3 = head + nh;
	__u8 first;
	if (bpf_probe_read_kernel(&first, 1, l3))
		return;

	struct event e = {};
	e.netns = inum;
	e.ifindex = ifindex;
	e.reason = reason;
	unsigned char *l4 = 0;
	int r = parse_l3(l3, first >> 4, &e, &l4);
	if (r < 0)
		return;
	if (r == 0)
		goto out;
	__u8 th[8];
	if (bpf_probe_read_kernel(th, sizeof(th), l4))
		goto out;
	if (is_icmp_error(e.proto, th[0])) {
		// The error quotes the offending packet's IP header and at least 8 bytes of its
		// transport header (RFC 792, RFC 4443): report that packet instead, marked.
		unsigned char *inner = l4 + 8;
		if (bpf_probe_read_kernel(&first, 1, inner))
			goto out;
		struct event q = {};
		q.netns = e.netns;
		q.ifindex = e.ifindex;
		q.reason = e.reason;
		unsigned char *ql4 = 0;
		r = parse_l3(inner, first >> 4, &q, &ql4);
		if (r < 0 || q.family != e.family)
			goto out;
		q.error = 0x8000 | (th[0] << 8) | th[1];
		__builtin_memcpy(q.esrc, e.saddr, 16);
		if (r > 0 && !bpf_probe_read_kernel(th, sizeof(th), ql4))
			transport(&q, th);
		output(&q);
		return;
	}
	transport(&e, th);
	if (e.proto == IPPROTO_ICMP_ || e.proto == IPPROTO_ICMPV6_) {
		__u8 type = th[0];
		if (type == 0 || type == 129) {
			__u32 zero = 0;
			__u32 *no_socket = bpf_map_lookup_elem(&config, &zero);
			if (no_socket && *no_socket && reason == *no_socket)
				return;
		}
	}
out:
	output(&e);
}

// The kernel runs a tracing program at most once per CPU at a time: a kfree_skb that
// comes while `on_drop` is running on the same CPU does not run it again (the tracepoint
// fired in a softirq that interrupted `on_drop` handling a process-context free, such as
// a closing socket's queue; the kernel only counts it in the program's recursion_misses).
// A neighbour timer failing that way took the `neigh-failed` drops of every packet
// queued for the neighbour with it. `on_drop_nested` is a second program, hence not
// blocked: it reports only what arrives while `on_drop` is busy on its CPU.
SEC("tp_btf/kfree_skb")
int on_drop(__u64 *ctx)
{
	__u32 zero = 0;
	__u32 *busy = bpf_map_lookup_elem(&busy_cpu, &zero);
	if (busy)
		*busy = 1;
	report(ctx);
	if (busy)
		*busy = 0;
	return 0;
}

SEC("tp_btf/kfree_skb")
int on_drop_nested(__u64 *ctx)
{
	__u32 zero = 0;
	__u32 *busy = bpf_map_lookup_elem(&busy_cpu, &zero);
	if (busy && *busy)
		report(ctx);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
