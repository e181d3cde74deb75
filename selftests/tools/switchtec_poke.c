// SPDX-License-Identifier: GPL-2.0
/*
 * switchtec-poke: random register writes to a Switchtec NTB function, for
 * the test that the QEMU model survives whatever a guest writes.
 *
 *   switchtec-poke PCI-DEVICE SEED COUNT
 *
 * Maps BAR0 (the switch's GAS), BAR2 and BAR4 through sysfs and does COUNT
 * random aligned writes (1, 2, 4 or 8 bytes) with random values, weighted
 * towards the registers with side effects: the NTB control blocks of both
 * partitions (partition_op, BAR and LUT entries), this partition's
 * doorbell/message block, MRPC, the event headers. Every fourth access is
 * a read. The MSI-X table and PBA are left alone (a random MSI address
 * would be a random DMA write into this guest; QEMU's MSI-X code is not
 * what is under test). Then it scrubs what a driver does not set up
 * itself (the BAR and LUT entries and requester IDs of both control
 * blocks, through a lock/configure cycle), as an administrator would reset
 * the switch. Prints what it did; exits 0 unless a BAR cannot be mapped.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NTB_CTRL	0x14000
#define CTRL_SIZE	0x2000
#define NTB_DBMSG	0x74000
#define DBMSG_SIZE	0x4000
#define PART_CFG	0x4000
#define PFF_CSR		0x134000
#define PARTITION_ID	(0x2000 + 72)

static uint64_t state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * 0x2545f4914f6cdd1dull;
}

static volatile uint8_t *map(const char *dev, int bar, size_t *size)
{
	char path[256];
	struct stat st;
	void *p;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%d", dev, bar);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		exit(1);
	}
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror(path);
		exit(1);
	}
	close(fd);
	*size = st.st_size;
	return p;
}

static void poke(volatile uint8_t *base, uint64_t off, unsigned int len, int write)
{
	uint64_t v = rnd();

	/* Small values now and then: op codes, enables, vector numbers. */
	if (!(rnd() & 3))
		v &= 0xf;
	off &= ~(uint64_t)(len - 1);
	switch (len | write << 4) {
	case 0x01: (void)*(volatile uint8_t *)(base + off); break;
	case 0x02: (void)*(volatile uint16_t *)(base + off); break;
	case 0x04: (void)*(volatile uint32_t *)(base + off); break;
	case 0x08: (void)*(volatile uint64_t *)(base + off); break;
	case 0x11: *(volatile uint8_t *)(base + off) = v; break;
	case 0x12: *(volatile uint16_t *)(base + off) = v; break;
	case 0x14: *(volatile uint32_t *)(base + off) = v; break;
	case 0x18: *(volatile uint64_t *)(base + off) = v; break;
	}
}

int main(int argc, char **argv)
{
	size_t gas_size, bar2_size, bar4_size;
	volatile uint8_t *gas, *bar2, *bar4;
	unsigned long count, i, writes = 0, reads = 0;
	uint64_t msix, part;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PCI-DEVICE SEED COUNT\n", argv[0]);
		return 2;
	}
	state = strtoull(argv[2], NULL, 0) | 1;
	count = strtoul(argv[3], NULL, 0);
	gas = map(argv[1], 0, &gas_size);
	bar2 = map(argv[1], 2, &bar2_size);
	bar4 = map(argv[1], 4, &bar4_size);
	part = gas[PARTITION_ID] & 1;
	msix = NTB_DBMSG + part * DBMSG_SIZE + 0x2000;	/* table, then PBA at +0x1000 */

	for (i = 0; i < count; i++) {
		unsigned int len = 1u << (rnd() % 4);
		int write = (rnd() % 4) != 0;
		uint64_t r = rnd() % 100, off;
		volatile uint8_t *base = gas;

		if (r < 35)		/* the NTB control blocks of both partitions */
			off = NTB_CTRL + rnd() % (2 * CTRL_SIZE);
		else if (r < 45)	/* partition_op, with real op codes */
			off = NTB_CTRL + (rnd() % 2) * CTRL_SIZE + 4, len = 4;
		else if (r < 65)	/* this partition's doorbells and messages */
			off = NTB_DBMSG + part * DBMSG_SIZE + 0x1000 + rnd() % 0xb0;
		else if (r < 70)	/* MRPC */
			off = rnd() % 0x820;
		else if (r < 75)	/* partition config and PFF event headers */
			off = (rnd() & 1) ? PART_CFG + rnd() % 0x800 : PFF_CSR + rnd() % 0x2000;
		else if (r < 85)	/* anywhere in the GAS */
			off = rnd() % gas_size;
		else if (r < 93)
			base = bar2, off = rnd() % bar2_size;
		else
			base = bar4, off = rnd() % bar4_size;
		if (base == gas && off + 8 > msix && off < msix + 0x1100)
			continue;
		poke(base, off, len, write);
		if (write)
			writes++;
		else
			reads++;
	}
	for (i = 0; i < 2; i++) {
		volatile uint8_t *ctrl = gas + NTB_CTRL + i * CTRL_SIZE;
		unsigned int j;

		*(volatile uint32_t *)(ctrl + 4) = 1;		/* lock */
		for (j = 0x40; j < 0x100; j += 4)		/* BAR entries */
			*(volatile uint32_t *)(ctrl + j) = 0;
		for (j = 0x400; j < 0xc00; j += 4)		/* requester IDs */
			*(volatile uint32_t *)(ctrl + j) = 0;
		for (j = 0x1000; j < 0x2000; j += 8)		/* LUT entries */
			*(volatile uint64_t *)(ctrl + j) = 0;
		*(volatile uint32_t *)(ctrl + 4) = 2;		/* configure */
	}
	printf("switchtec-poke: partition %u: %lu writes, %lu reads\n", (unsigned int)part, writes, reads);
	return 0;
}
