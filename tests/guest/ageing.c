// SPDX-License-Identifier: GPL-2.0
/*
 * ageing: make the guest's free memory look like that of a machine that has
 * run for a long time, for the benchmark's "aged guest" rows.
 *
 *   ageing MIB [SEED]
 *
 * Touches MIB MiB of anonymous memory page by page, then frees a
 * pseudo-random half of those pages in pseudo-random order
 * (MADV_DONTNEED) and keeps the other half.  The buddy allocator cannot
 * merge a freed page with its held neighbour, so the free lists are then
 * mostly scattered order-0 pages in random order, and a framebuffer
 * allocated afterwards (shmem dumb buffer) gets scattered 4 KiB pages.
 * Prints "@@AGED held=N freed=N@@" and then sleeps, holding its pages,
 * until it is killed: run it in the background, kill it after the workload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib, pages, page = sysconf(_SC_PAGESIZE), freed = 0;
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	uint32_t *order;
	char *mem;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: ageing MIB [SEED]\n");
		return 2;
	}
	mib = strtoul(argv[1], NULL, 0);
	if (argc == 3)
		seed ^= strtoull(argv[2], NULL, 0);
	pages = mib * (1024 * 1024 / page);
	mem = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	order = malloc(pages * sizeof(*order));
	if (mem == MAP_FAILED || !order) {
		perror("ageing");
		return 1;
	}
	/* no transparent huge pages: they would be freed whole */
	madvise(mem, pages * page, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < pages; i++) {
		mem[i * page] = (char)i;
		order[i] = i;
	}
	for (size_t i = pages - 1; i > 0; i--) {	/* Fisher-Yates, xorshift64 */
		size_t j;
		uint32_t t;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		j = seed % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < pages / 2; i++, freed++)
		madvise(mem + (size_t)order[i] * page, page, MADV_DONTNEED);
	printf("@@AGED held=%zu freed=%zu@@\n", pages - freed, freed);
	fflush(stdout);
	for (;;)
		pause();
}
