// SPDX-License-Identifier: GPL-2.0
/*
 * udp-gso: one UDP datagram of COUNT segments of SIZE bytes, sent with
 * UDP_SEGMENT, for the test of a transmit batch (selftests/vm/ntbnet_link.sh),
 * and its receiver (busybox's nc has no UDP).
 *
 *   udp-gso ADDRESS PORT SIZE COUNT
 *   udp-gso -r PORT COUNT SECONDS
 *
 * An interface without UDP segmentation offload (ntbnet has none) gets the
 * datagram segmented in software by the stack and handed over as one batch:
 * COUNT frames in one call chain, all but the last with xmit_more. Every
 * byte of segment s is 'a' + s % 26. Exits 0 once sendto() took the
 * datagram.
 *
 * With -r: receives datagrams on PORT until COUNT came or SECONDS passed,
 * prints the first byte of each on one line and exits 0 if COUNT came.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static int receive(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct timeval tv = { 0 };
	char seen[257] = "", buf[2048];
	unsigned long count, n = 0;
	int fd;

	if (argc != 5)
		return 2;
	addr.sin_port = htons(atoi(argv[2]));
	count = strtoul(argv[3], NULL, 0);
	tv.tv_sec = strtoul(argv[4], NULL, 0);
	if (count < 1 || count > 256)
		return 2;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("udp-gso: bind");
		return 1;
	}
	/* One deadline for all: each receive waits what is left of it. */
	struct timespec end, now;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += tv.tv_sec;
	while (n < count) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			break;
		tv.tv_sec = ms / 1000;
		tv.tv_usec = ms % 1000 * 1000;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (len <= 0)
			break;
		seen[n++] = buf[0];
	}
	printf("%s\n", seen);
	return n == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	unsigned long size, count;
	char *buf;
	int fd, seg;

	if (argc > 1 && !strcmp(argv[1], "-r"))
		return receive(argc, argv);
	if (argc != 5 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: udp-gso ADDRESS PORT SIZE COUNT\n");
		return 2;
	}
	dst.sin_port = htons(atoi(argv[2]));
	size = strtoul(argv[3], NULL, 0);
	count = strtoul(argv[4], NULL, 0);
	if (size < 1 || size > 1472 || count < 1 || size * count > 65507) {
		fprintf(stderr, "udp-gso: SIZE 1..1472, SIZE * COUNT at most 65507\n");
		return 2;
	}
	buf = malloc(size * count);
	if (!buf)
		return 1;
	for (unsigned long s = 0; s < count; s++)
		memset(buf + s * size, 'a' + s % 26, size);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udp-gso: socket");
		return 1;
	}
	seg = size;
	if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0) {
		perror("udp-gso: UDP_SEGMENT");
		return 1;
	}
	if (sendto(fd, buf, size * count, 0, (struct sockaddr *)&dst, sizeof(dst)) !=
	    (ssize_t)(size * count)) {
		fprintf(stderr, "udp-gso: sendto: %s\n", strerror(errno));
		return 1;
	}
	printf("udp-gso: %lu segments of %lu bytes to %s:%s\n", count, size, argv[1], argv[2]);
	close(fd);
	return 0;
}
