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

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58

SEC("tp_btf/kfree_skb")
int on_drop(__u64 *ctx)
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
			return 0;
		net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	}
	if (!net)
		return 0;
	__u32 inum = BPF_CORE_READ(net, ns.inum);
	if (!bpf_map_lookup_elem(&netns, &inum))
		return 0;

	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	if (!head || nh == (__u16)~0U)
		return 0;
	unsigned char *l3 = head + nh;
	__u8 first;
	if (bpf_probe_read_kernel(&first, 1, l3))
		return 0;

	struct event e = {};
	e.netns = inum;
	e.ifindex = ifindex;
	e.reason = reason;
	unsigned char *l4;
	if ((first >> 4) == 4) {
		__u8 hdr[20];
		if (bpf_probe_read_kernel(hdr, sizeof(hdr), l3))
			return 0;
		e.family = 4;
		e.proto = hdr[9];
		__builtin_memcpy(e.saddr, &hdr[12], 4);
		__builtin_memcpy(e.daddr, &hdr[16], 4);
		// Later fragments carry no transport header.
		if (((hdr[6] & 0x1f) | hdr[7]) != 0)
			goto out;
		l4 = l3 + (hdr[0] & 0x0f) * 4;
	} else if ((first >> 4) == 6) {
		__u8 hdr[40];
		if (bpf_probe_read_kernel(hdr, sizeof(hdr), l3))
			return 0;
		e.family = 6;
		e.proto = hdr[6];
		__builtin_memcpy(e.saddr, &hdr[8], 16);
		__builtin_memcpy(e.daddr, &hdr[24], 16);
		l4 = l3 + 40;
	} else {
		return 0;
	}
	__u8 th[8];
	if (bpf_probe_read_kernel(th, sizeof(th), l4))
		goto out;
	if (e.proto == IPPROTO_TCP_ || e.proto == IPPROTO_UDP_) {
		e.sport = (th[0] << 8) | th[1];
		e.dport = (th[2] << 8) | th[3];
	} else if (e.proto == IPPROTO_ICMP_ || e.proto == IPPROTO_ICMPV6_) {
		e.sport = (th[4] << 8) | th[5];
		e.dport = (th[0] << 8) | th[1];
		e.seq = (th[6] << 8) | th[7];
		__u8 type = th[0];
		if (type == 0 || type == 129) {
			__u32 zero = 0;
			__u32 *no_socket = bpf_map_lookup_elem(&config, &zero);
			if (no_socket && *no_socket && reason == *no_socket)
				return 0;
		}
	}
out:
	bpf_ringbuf_output(&events, &e, sizeof(e), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
