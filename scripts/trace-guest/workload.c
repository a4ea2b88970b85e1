// SPDX-License-Identifier: GPL-2.0
/*
 * Guest workloads for scripts/record-traces.sh, built static on the host.
 *
 *   wl seq DEV MIB BS_KIB         O_DIRECT sequential reads
 *   wl rand DEV COUNT BS_KIB      O_DIRECT random reads, uniform offsets
 *   wl files DEV NFILES KIB COUNT buffered reads of whole "files" (fixed
 *                                 extents of DEV), Zipf(0.9) popularity
 *   wl pool DEV POOL_MIB KIB COUNT a database's buffer pool: COUNT lookups
 *                                 of KIB-sized pages of DEV, Zipf(0.9)
 *                                 popularity; a page not in the pool is read
 *                                 with O_DIRECT into the frame CLOCK frees
 *   wl sink PORT                  TCP server, a process per connection:
 *                                 read and discard, or echo when the
 *                                 client asks (first byte 'e')
 *   wl bulk IP PORT MIB           TCP bulk send
 *   wl rr IP PORT COUNT REQ RESP  TCP request/response
 *   wl netns IFNAME PID           move a network interface to PID's netns
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *dio_buf(size_t size)
{
	void *p;

	if (posix_memalign(&p, 4096, size))
		die("posix_memalign");
	memset(p, 0, size);
	return p;
}

static int wl_seq(char **av)
{
	int fd = open(av[0], O_RDONLY | O_DIRECT);
	size_t bs = atol(av[2]) << 10, total = (size_t)atol(av[1]) << 20;
	char *buf = dio_buf(bs);

	if (fd < 0)
		die(av[0]);
	for (size_t off = 0; off < total; off += bs)
		if (pread(fd, buf, bs, off) != (ssize_t)bs)
			die("pread");
	return 0;
}

static int wl_rand(char **av)
{
	int fd = open(av[0], O_RDONLY | O_DIRECT);
	long count = atol(av[1]);
	size_t bs = atol(av[2]) << 10;
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf = dio_buf(bs);

	if (fd < 0 || size <= 0)
		die(av[0]);
	for (long i = 0; i < count; i++) {
		off_t off = (rnd() % (size / bs)) * bs;

		if (pread(fd, buf, bs, off) != (ssize_t)bs)
			die("pread");
	}
	return 0;
}

/* Zipf(0.9) over n items, shuffled so that popular items are not adjacent. */
struct zipf {
	double *cdf, sum;
	long *perm, n;
};

static void zipf_init(struct zipf *z, long n)
{
	z->n = n;
	z->sum = 0;
	z->cdf = malloc(n * sizeof(*z->cdf));
	z->perm = malloc(n * sizeof(*z->perm));
	if (!z->cdf || !z->perm)
		die("malloc");
	for (long i = 0; i < n; i++) {
		z->cdf[i] = (z->sum += 1.0 / pow(i + 1.0, 0.9));
		z->perm[i] = i;
	}
	for (long i = n - 1; i > 0; i--) {
		long j = rnd() % (i + 1), t = z->perm[i];

		z->perm[i] = z->perm[j];
		z->perm[j] = t;
	}
}

static long zipf_next(const struct zipf *z)
{
	double u = (rnd() >> 11) * (1.0 / 9007199254740992.0) * z->sum;
	long lo = 0, hi = z->n - 1;

	while (lo < hi) {
		long mid = (lo + hi) / 2;

		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return z->perm[lo];
}

/*
 * A database's buffer pool: frames of user memory, a page table from disk
 * page to frame, CLOCK replacement; a miss reads the page with O_DIRECT
 * into the freed frame, so the device DMAs into the pool's frames only.
 */
static int wl_pool(char **av)
{
	int fd = open(av[0], O_RDONLY | O_DIRECT);
	size_t psize = atol(av[2]) << 10;
	long nframes = ((long)atol(av[1]) << 20) / psize, count = atol(av[3]);
	off_t size = lseek(fd, 0, SEEK_END);
	long npages = size / psize, hand = 0, hits = 0;
	char *pool = dio_buf(nframes * psize);
	long *owner = malloc(nframes * sizeof(*owner));
	long *where = malloc(npages * sizeof(*where));
	unsigned char *ref = calloc(nframes, 1);
	struct zipf z;

	if (fd < 0 || npages <= 0 || !owner || !where || !ref)
		die(av[0]);
	zipf_init(&z, npages);
	for (long i = 0; i < nframes; i++)
		owner[i] = -1;
	for (long i = 0; i < npages; i++)
		where[i] = -1;
	for (long n = 0; n < count; n++) {
		long pg = zipf_next(&z), f = where[pg];

		if (f >= 0) {
			ref[f] = 1;
			hits++;
			continue;
		}
		while (ref[hand]) {
			ref[hand] = 0;
			hand = (hand + 1) % nframes;
		}
		f = hand;
		hand = (hand + 1) % nframes;
		if (owner[f] >= 0)
			where[owner[f]] = -1;
		if (pread(fd, pool + f * psize, psize, pg * psize) != (ssize_t)psize)
			die("pread");
		owner[f] = pg;
		where[pg] = f;
		ref[f] = 1;
	}
	printf("pool: %ld lookups, %ld hits\n", count, hits);
	return 0;
}

static int wl_files(char **av)
{
	int fd = open(av[0], O_RDONLY);
	long nfiles = atol(av[1]), count = atol(av[3]);
	size_t fsize = atol(av[2]) << 10;
	double *cdf = malloc(nfiles * sizeof(*cdf)), sum = 0;
	long *perm = malloc(nfiles * sizeof(*perm));
	char *buf = malloc(fsize);

	if (fd < 0)
		die(av[0]);
	for (long i = 0; i < nfiles; i++) {
		cdf[i] = (sum += 1.0 / pow(i + 1.0, 0.9));
		perm[i] = i;
	}
	for (long i = nfiles - 1; i > 0; i--) {	/* popular != adjacent */
		long j = rnd() % (i + 1), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (long n = 0; n < count; n++) {
		double u = (rnd() >> 11) * (1.0 / 9007199254740992.0) * sum;
		long lo = 0, hi = nfiles - 1;

		while (lo < hi) {
			long mid = (lo + hi) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (pread(fd, buf, fsize, perm[lo] * fsize) != (ssize_t)fsize)
			die("pread");
	}
	return 0;
}

static int tcp_connect(const char *ip, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, ip, &sa.sin_addr);
	for (int i = 0; i < 50; i++) {
		if (!connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
			setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
			return s;
		}
		usleep(100000);
	}
	die("connect");
	return -1;
}

static int wl_sink(char **av)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(atoi(av[0])) };
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	static char buf[1 << 16];

	signal(SIGCHLD, SIG_IGN);	/* no zombies */
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4))
		die("bind");
	for (;;) {
		int c = accept(l, NULL, NULL);
		char mode;
		uint32_t resp;
		ssize_t n;

		if (c < 0)
			continue;
		/* One process per connection: concurrent streams. */
		if (fork()) {
			close(c);
			continue;
		}
		if (read(c, &mode, 1) != 1)
			exit(0);
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (mode != 'e') {
			while (read(c, buf, sizeof(buf)) > 0)
				;
		} else if (read(c, &resp, 4) == 4) {
			/* request: 4-byte length then that many bytes */
			uint32_t len;

			while (read(c, &len, 4) == 4) {
				for (uint32_t got = 0; got < len; got += n)
					if ((n = read(c, buf, len - got)) <= 0)
						break;
				if (write(c, buf, resp) != resp)
					break;
			}
		}
		exit(0);
	}
	return 0;
}

static int wl_bulk(char **av)
{
	int s = tcp_connect(av[0], atoi(av[1]));
	size_t total = (size_t)atol(av[2]) << 20;
	static char buf[1 << 16];

	if (write(s, "b", 1) != 1)
		die("write");
	for (size_t sent = 0; sent < total;) {
		ssize_t n = write(s, buf, sizeof(buf));

		if (n <= 0)
			die("write");
		sent += n;
	}
	close(s);
	return 0;
}

static int wl_rr(char **av)
{
	int s = tcp_connect(av[0], atoi(av[1]));
	long count = atol(av[2]);
	uint32_t req = atoi(av[3]), resp = atoi(av[4]);
	static char buf[1 << 16];

	if (write(s, "e", 1) != 1 || write(s, &resp, 4) != 4)
		die("write");
	for (long i = 0; i < count; i++) {
		ssize_t n;

		if (write(s, &req, 4) != 4 || write(s, buf, req) != req)
			die("write");
		for (uint32_t got = 0; got < resp; got += n)
			if ((n = read(s, buf, resp - got)) <= 0)
				die("read");
	}
	close(s);
	return 0;
}

/* RTM_NEWLINK with IFLA_NET_NS_PID: "ip link set IF netns PID". */
static int wl_netns(char **av)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[64];
	} req = { 0 };
	struct rtattr *rta;
	uint32_t pid = atoi(av[1]);
	int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	char ack[256];

	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_NEWLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = if_nametoindex(av[0]);
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = IFLA_NET_NS_PID;
	rta->rta_len = RTA_LENGTH(sizeof(pid));
	memcpy(RTA_DATA(rta), &pid, sizeof(pid));
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + rta->rta_len;
	if (!req.ifi.ifi_index || send(s, &req, req.nh.nlmsg_len, 0) < 0)
		die("netns");
	if (recv(s, ack, sizeof(ack), 0) < 0)
		die("netns ack");
	return 0;
}

int main(int ac, char **av)
{
	static const struct {
		const char *name;
		int nargs;
		int (*fn)(char **av);
	} cmds[] = {
		{ "seq", 3, wl_seq }, { "rand", 3, wl_rand },
		{ "files", 4, wl_files }, { "sink", 1, wl_sink },
		{ "bulk", 3, wl_bulk }, { "rr", 5, wl_rr },
		{ "netns", 2, wl_netns }, { "pool", 4, wl_pool },
	};

	for (size_t i = 0; ac > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(av[1], cmds[i].name) && ac - 2 == cmds[i].nargs)
			return cmds[i].fn(av + 2);
	fprintf(stderr, "usage: see the comment at the top of workload.c\n");
	return 2;
}
