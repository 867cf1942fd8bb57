/*
 * The kernel floor for a star of N hosts: exactly the kernel objects `topolab up` makes
 * for benches/bench.py's star lab, made as fast as this machine allows, with raw netlink
 * and nothing else. topolab's build time is reported as a ratio of this program's.
 *
 * Objects, as in `topolab plan` of the star lab plus the engine's per-namespace defaults:
 *   - N+1 anonymous network namespaces (N hosts and the switch), held by fd only, each
 *     with the six lab-default sysctls (ICMP rate limits off, IPv6 DAD off) and lo up;
 *   - in each switch namespace a bridge br0, up (hosts fill switches of PER_SWITCH
 *     ports, 1000 by default: the kernel takes at most 1024 ports on a bridge);
 *   - per host one veth created in place: p<i> in its switch (master br0, up) and eth0 in
 *     the host (IFLA_NET_NS_FD), every ifindex chosen by the caller and unique lab-wide;
 *   - per host: eth0 up (a second request: the kernel refuses to open a veth peer while
 *     the pair is being created) and its address 10.0.x.y/16 with broadcast.
 * Teardown closes every fd, as topolab's supervisor does when it exits; the kernel then
 * destroys the namespaces on its own workqueue.
 *
 * What makes it fast: namespaces are created on one thread per core (copy_net_ns runs in
 * parallel; rtnl does not), and netlink requests are pipelined in windows instead of
 * waiting for each ack.
 *
 * Usage: floor N [THREADS [PER_SWITCH]]. Prints "up SECONDS" once built, waits for a line (or EOF) on
 * stdin, tears down, prints "down SECONDS". Exit 1 with a message on any kernel error.
 * Root only; touches nothing in the caller's namespace.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 128 /* requests in flight per socket: acks must fit the receive buffer */
#define MSG_MAX 512

struct ns {
    int fd;   /* the namespace */
    int nl;   /* NETLINK_ROUTE socket bound to it */
};

static struct ns *nss; /* [0..n) hosts, [n..n+switches) the switches */
static int n, nthreads, per_switch, switches;
static atomic_int next_ns;
static int keep_sockets = 1;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what, int err) {
    fprintf(stderr, "floor: %s: %s\n", what, strerror(err));
    exit(1);
}

/* ---- building messages ------------------------------------------------------------ */

/* One request; the header is reached through hdr() so the compiler sees the whole
 * buffer as its object. */
struct req {
    _Alignas(struct nlmsghdr) char raw[MSG_MAX];
};

static struct nlmsghdr *hdr(struct req *r) { return (struct nlmsghdr *)r->raw; }

static void *tail(struct nlmsghdr *h) { return (char *)h + NLMSG_ALIGN(h->nlmsg_len); }

static struct rtattr *attr(struct nlmsghdr *h, int type, const void *data, int len) {
    struct rtattr *a = tail(h);
    a->rta_type = type;
    a->rta_len = RTA_LENGTH(len);
    if (len) memcpy(RTA_DATA(a), data, len);
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
    return a;
}

static struct rtattr *nest(struct nlmsghdr *h, int type) { return attr(h, type, NULL, 0); }
static void nest_end(struct nlmsghdr *h, struct rtattr *a) { a->rta_len = (char *)tail(h) - (char *)a; }

static struct ifinfomsg *link_msg(struct req *r, int flags, int ifindex, int up) {
    memset(r, 0, sizeof *r);
    hdr(r)->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    hdr(r)->nlmsg_type = RTM_NEWLINK;
    hdr(r)->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    struct ifinfomsg *ifi = NLMSG_DATA(hdr(r));
    ifi->ifi_index = ifindex;
    if (up) ifi->ifi_flags = ifi->ifi_change = IFF_UP;
    return ifi;
}

static void set_up(struct req *r, int ifindex) { link_msg(r, 0, ifindex, 1); }

static void bridge(struct req *r, int ifindex) {
    link_msg(r, NLM_F_CREATE | NLM_F_EXCL, ifindex, 1);
    attr(hdr(r), IFLA_IFNAME, "br0", 4);
    struct rtattr *li = nest(hdr(r), IFLA_LINKINFO);
    attr(hdr(r), IFLA_INFO_KIND, "bridge", 7);
    nest_end(hdr(r), li);
}

static void veth(struct req *r, int port_index, int master, int host_index, int host_fd, int i) {
    char name[IFNAMSIZ];
    link_msg(r, NLM_F_CREATE | NLM_F_EXCL, port_index, 1);
    snprintf(name, sizeof name, "p%d", i);
    attr(hdr(r), IFLA_IFNAME, name, strlen(name) + 1);
    attr(hdr(r), IFLA_MASTER, &master, 4);
    struct rtattr *li = nest(hdr(r), IFLA_LINKINFO);
    attr(hdr(r), IFLA_INFO_KIND, "veth", 5);
    struct rtattr *data = nest(hdr(r), IFLA_INFO_DATA);
    struct rtattr *peer = nest(hdr(r), VETH_INFO_PEER);
    struct ifinfomsg pifi = {.ifi_index = host_index};
    /* The peer's ifinfomsg is the nest's payload, then its attributes. */
    memcpy(tail(hdr(r)), &pifi, sizeof pifi);
    hdr(r)->nlmsg_len += NLMSG_ALIGN(sizeof pifi);
    attr(hdr(r), IFLA_IFNAME, "eth0", 5);
    attr(hdr(r), IFLA_NET_NS_FD, &host_fd, 4);
    nest_end(hdr(r), peer);
    nest_end(hdr(r), data);
    nest_end(hdr(r), li);
}

/* The star lab's address of host i (benches/bench.py star_addr), /16. */
static void address(struct req *r, int ifindex, int i) {
    memset(r, 0, sizeof *r);
    hdr(r)->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    hdr(r)->nlmsg_type = RTM_NEWADDR;
    hdr(r)->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    struct ifaddrmsg *ifa = NLMSG_DATA(hdr(r));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = 16;
    ifa->ifa_index = ifindex;
    uint32_t a = htonl((10u << 24) | ((uint32_t)((i + 1) / 250) << 8) | ((i + 1) % 250 + 1));
    uint32_t brd = a | htonl(0xffff);
    attr(hdr(r), IFA_LOCAL, &a, 4);
    attr(hdr(r), IFA_ADDRESS, &a, 4);
    attr(hdr(r), IFA_BROADCAST, &brd, 4);
}

/* ---- pipelined requests ----------------------------------------------------------- */

/* Reads acks until `pending` are in; any error ends the program. */
static void acks(int nl, int pending, const char *what) {
    char buf[65536];
    while (pending > 0) {
        ssize_t len = recv(nl, buf, sizeof buf, 0);
        if (len < 0) {
            if (errno == EINTR) continue;
            die("netlink recv", errno);
        }
        for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type != NLMSG_ERROR) continue;
            struct nlmsgerr *e = NLMSG_DATA(h);
            if (e->error) die(what, -e->error);
            pending--;
        }
    }
}

/* Sends `count` requests made by `make` on `nl`, at most WINDOW unanswered at a time,
 * several per sendmsg. */
static void pipeline(int nl, int count, void (*make)(struct req *, int k, void *), void *ctx,
                     const char *what) {
    static __thread struct req batch[WINDOW];
    for (int start = 0; start < count; start += WINDOW) {
        int m = count - start < WINDOW ? count - start : WINDOW;
        struct iovec iov[WINDOW];
        for (int k = 0; k < m; k++) {
            make(&batch[k], start + k, ctx);
            hdr(&batch[k])->nlmsg_seq = start + k + 1;
            iov[k].iov_base = &batch[k];
            iov[k].iov_len = hdr(&batch[k])->nlmsg_len;
        }
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        struct msghdr mh = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = iov,
                            .msg_iovlen = m};
        if (sendmsg(nl, &mh, 0) < 0) die("netlink send", errno);
        acks(nl, m, what);
    }
}

/* ---- namespaces --------------------------------------------------------------------- */

static void sysctl(const char *path, const char *value) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return; /* a kernel without the key: topolab skips it too */
    if (write(fd, value, strlen(value)) < 0) { /* as topolab: best effort */ }
    close(fd);
}

static void lab_defaults(void) {
    sysctl("/proc/sys/net/ipv4/icmp_ratelimit", "0");
    sysctl("/proc/sys/net/ipv4/icmp_msgs_burst", "10000");
    sysctl("/proc/sys/net/ipv4/icmp_msgs_per_sec", "100000");
    sysctl("/proc/sys/net/ipv6/icmp/ratelimit", "0");
    sysctl("/proc/sys/net/ipv6/conf/all/accept_dad", "0");
    sysctl("/proc/sys/net/ipv6/conf/default/accept_dad", "0");
}

static int rtnl_socket(void) {
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl < 0) die("netlink socket", errno);
    int one = 1;
    setsockopt(nl, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    return nl;
}

static void make_lo_up(struct req *r, int k, void *ctx) {
    (void)k, (void)ctx;
    set_up(r, 1);
}

/* Each worker moves itself into a fresh namespace per index, as topolab's create_many. */
static void *make_namespaces(void *arg) {
    (void)arg;
    for (;;) {
        int i = atomic_fetch_add(&next_ns, 1);
        if (i >= n + switches) break;
        if (unshare(CLONE_NEWNET) < 0) die("unshare(CLONE_NEWNET)", errno);
        nss[i].fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (nss[i].fd < 0) die("open netns", errno);
        lab_defaults();
        nss[i].nl = rtnl_socket();
        pipeline(nss[i].nl, 1, make_lo_up, NULL, "set lo up");
        /* A host's socket is needed again only to configure it; under the open-file
         * limit (20,000 here, which root cannot raise) 10,000 hosts cannot keep one each,
         * so they are reopened then, inside the namespace, as topolab does. */
        if (i < n && !keep_sockets) {
            close(nss[i].nl);
            nss[i].nl = -1;
        }
    }
    return NULL;
}

/* ---- the star ----------------------------------------------------------------------- */

/* Lab-wide unique ifindexes, as topolab plans them: hosts' eth0 first, then the
 * bridges, then the ports. */
static int host_index(int i) { return 100 + i; }
static int bridge_index(int s) { return 100 + n + s; }
static int port_index(int i) { return 100 + n + switches + i; }

static void make_veth(struct req *r, int k, void *ctx) {
    int s = *(int *)ctx, i = s * per_switch + k;
    veth(r, port_index(i), bridge_index(s), host_index(i), nss[i].fd, i);
}

static void make_host(struct req *r, int k, void *ctx) {
    int i = *(int *)ctx;
    if (k == 0) set_up(r, host_index(i));
    else address(r, host_index(i), i);
}

static atomic_int next_host;

static void *configure_hosts(void *arg) {
    (void)arg;
    for (;;) {
        int i = atomic_fetch_add(&next_host, 1);
        if (i >= n) break;
        int nl = nss[i].nl;
        if (nl < 0) {
            if (setns(nss[i].fd, CLONE_NEWNET) < 0) die("setns", errno);
            nl = rtnl_socket();
        }
        pipeline(nl, 2, make_host, &i, "configure host");
        if (nss[i].nl < 0) close(nl);
    }
    return NULL;
}

static void run_threads(void *(*fn)(void *)) {
    pthread_t t[64];
    for (int k = 0; k < nthreads; k++)
        if (pthread_create(&t[k], NULL, fn, NULL)) die("pthread_create", errno);
    for (int k = 0; k < nthreads; k++) pthread_join(t[k], NULL);
}

int main(int argc, char **argv) {
    if (argc < 2 || (n = atoi(argv[1])) < 1) {
        fprintf(stderr, "usage: floor N [THREADS [PER_SWITCH]]\n");
        return 2;
    }
    nthreads = argc > 2 ? atoi(argv[2]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    per_switch = argc > 3 ? atoi(argv[3]) : 1000;
    if (per_switch < 1 || per_switch > 1023) per_switch = 1000;
    switches = (n + per_switch - 1) / per_switch;
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 64) nthreads = 64;
    /* Two fds a namespace: 10,000 nodes need more than the usual soft limit of 1024. */
    struct rlimit lim = {1024, 1024};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    /* Two descriptors a namespace while it is made, plus a margin. */
    keep_sockets = 2 * (rlim_t)(n + switches) + 256 <= lim.rlim_cur;
    nss = calloc(n + switches, sizeof *nss);
    if (!nss) die("calloc", ENOMEM);

    double t0 = now();
    run_threads(make_namespaces);
    for (int s = 0; s < switches; s++) {
        int sw = nss[n + s].nl;
        struct req r;
        bridge(&r, bridge_index(s));
        hdr(&r)->nlmsg_seq = 1;
        if (send(sw, &r, hdr(&r)->nlmsg_len, 0) < 0) die("netlink send", errno);
        acks(sw, 1, "create bridge");
        /* A switch's veths are created in its namespace: one socket, pipelined (rtnl
         * serialises link creation anyway, so more sockets would only contend). */
        int ports = n - s * per_switch < per_switch ? n - s * per_switch : per_switch;
        pipeline(sw, ports, make_veth, &s, "create veth");
    }
    run_threads(configure_hosts);
    printf("up %.6f\n", now() - t0);
    fflush(stdout);

    char line[16];
    if (!fgets(line, sizeof line, stdin)) { /* EOF also means go */ }
    double t1 = now();
    for (int i = 0; i < n + switches; i++) {
        if (nss[i].nl >= 0) close(nss[i].nl);
        close(nss[i].fd);
    }
    printf("down %.6f\n", now() - t1);
    return 0;
}
