// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * copybench: host-side microbenchmark of virtio-desk's copy path.
 *
 * Copies rect lists into a pixman image the way hw/display/virtio-desk.c
 * does for TRANSFER_RECTS (row by row, memcpy from the request's iovec,
 * which points at guest framebuffer pages), next to the plain memcpy of
 * the same bytes and pixman_blt, so the device's copy can be compared with
 * the machine's limit.
 *
 *   copybench [SECONDS_PER_CASE]    prints one line per case, "key=value" pairs
 */
#include <inttypes.h>
#include <pixman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

/* the device's own copy routine, as hw/display/virtio-desk.c uses it */
#include "../hw/display/virtio-desk-copy.h"

#define PAGE 4096u

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct rect { uint32_t x, y, w, h; };

struct setup {
	uint32_t w, h, pitch;
	uint8_t *fb;		/* guest framebuffer, contiguous */
	uint8_t *pool;		/* the same bytes in scattered pages */
	struct iovec *pages;	/* page-sized iovec over pool, in framebuffer order */
	unsigned int npages;
	pixman_image_t *img, *src_img;
};

static void setup(struct setup *s, uint32_t w, uint32_t h)
{
	size_t size;
	unsigned int *perm;

	s->w = w;
	s->h = h;
	s->pitch = w * 4;
	size = (size_t)s->pitch * h;
	s->npages = (size + PAGE - 1) / PAGE;
	s->fb = aligned_alloc(PAGE, (size_t)s->npages * PAGE);
	s->pool = aligned_alloc(PAGE, (size_t)s->npages * PAGE);
	s->pages = calloc(s->npages, sizeof(*s->pages));
	perm = calloc(s->npages, sizeof(*perm));
	for (unsigned int i = 0; i < s->npages; i++)
		perm[i] = i;
	srand(1);
	for (unsigned int i = s->npages - 1; i > 0; i--) {
		unsigned int j = rand() % (i + 1), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < (size_t)s->npages * PAGE; i++)
		s->fb[i] = (uint8_t)(i * 7 + (i >> 12));
	for (unsigned int i = 0; i < s->npages; i++) {
		s->pages[i].iov_base = s->pool + (size_t)perm[i] * PAGE;
		s->pages[i].iov_len = PAGE;
		memcpy(s->pages[i].iov_base, s->fb + (size_t)i * PAGE, PAGE);
	}
	free(perm);
	s->img = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, s->pitch);
	s->src_img = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, (uint32_t *)s->fb, s->pitch);
	memset(pixman_image_get_data(s->img), 0, size);
}

/*
 * M_DEVICE_*: the device's loop, one virtio_desk_copy_from_chain() per row.
 * M_SPANS_*: what the device could do: rows that are contiguous in both the
 * payload (stride == pitch) and the image (full-width rect) copied as one
 * range, i.e. one memcpy per iovec entry.
 */
enum method { M_DEVICE_PAGES, M_DEVICE_CONTIG, M_SPANS_PAGES, M_SPANS_CONTIG, M_PIXMAN_BLT,
	      M_MEMCPY };

static const char *method_name[] = { "device-rows-4k-pages", "device-rows-contiguous",
				     "spans-4k-pages", "spans-contiguous", "pixman_blt",
				     "memcpy" };

static void do_copy(struct setup *s, enum method m, const struct rect *r, unsigned int n)
{
	uint8_t *img = (uint8_t *)pixman_image_get_data(s->img);
	struct iovec one = { s->fb, (size_t)s->npages * PAGE };
	const struct iovec *iov = m == M_DEVICE_PAGES || m == M_SPANS_PAGES ? s->pages : &one;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int idx = 0;
		size_t base = 0;
		size_t src = (size_t)r[i].y * s->pitch + (size_t)r[i].x * 4;

		switch (m) {
		case M_SPANS_PAGES:
		case M_SPANS_CONTIG:
			if (r[i].x == 0 && r[i].w * 4 == s->pitch) {
				virtio_desk_copy_from_chain(iov, &idx, &base, src, img + src,
							    (size_t)s->pitch * r[i].h);
				break;
			}
			/* fall through */
		case M_DEVICE_PAGES:
		case M_DEVICE_CONTIG:
			for (uint32_t row = 0; row < r[i].h; row++)
				virtio_desk_copy_from_chain(iov, &idx, &base,
							    src + (size_t)row * s->pitch,
							    img + (size_t)(r[i].y + row) * s->pitch +
							    (size_t)r[i].x * 4,
							    (size_t)r[i].w * 4);
			break;
		case M_PIXMAN_BLT:
			if (!pixman_blt((uint32_t *)s->fb, (uint32_t *)img, s->pitch / 4, s->pitch / 4,
					32, 32, r[i].x, r[i].y, r[i].x, r[i].y, r[i].w, r[i].h))
				pixman_image_composite(PIXMAN_OP_SRC, s->src_img, NULL, s->img,
						       r[i].x, r[i].y, 0, 0, r[i].x, r[i].y,
						       r[i].w, r[i].h);
			break;
		case M_MEMCPY:	/* the rect's bytes as one block: the bound */
			memcpy(img, s->fb + src, (size_t)r[i].w * 4 * r[i].h);
			break;
		}
	}
}

static void run_case(struct setup *s, const char *name, const struct rect *r, unsigned int n,
		     enum method m, double secs)
{
	static double t[200000];
	unsigned int k = 0;
	uint64_t bytes = 0;
	double t0 = now(), med;

	for (unsigned int i = 0; i < n; i++)
		bytes += (uint64_t)r[i].w * r[i].h * 4;
	do_copy(s, m, r, n);	/* warm */
	while (k < sizeof(t) / sizeof(t[0]) && (now() - t0 < secs || k < 5)) {
		double a = now();

		do_copy(s, m, r, n);
		t[k++] = now() - a;
	}
	qsort(t, k, sizeof(t[0]), cmp_double);
	med = t[k / 2];
	printf("case=%s size=%ux%u method=%s bytes=%" PRIu64 " reps=%u median_us=%.2f min_us=%.2f "
	       "GBps=%.2f per_s=%.0f\n", name, s->w, s->h, method_name[m], bytes, k, med * 1e6,
	       t[0] * 1e6, bytes / med / 1e9, 1 / med);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	static const uint32_t sizes[][2] = { { 1024, 768 }, { 1920, 1080 } };

	for (unsigned int z = 0; z < 2; z++) {
		struct setup s;
		uint32_t w = sizes[z][0], h = sizes[z][1];
		struct rect full = { 0, 0, w, h }, r64 = { w / 2 - 32, h / 2 - 32, 64, 64 };
		struct rect two[2] = { { 0, 0, 64, 64 }, { w - 64, h - 64, 64, 64 } };

		setup(&s, w, h);
		for (int m = M_MEMCPY; m >= 0; m--)
			run_case(&s, "full", &full, 1, m, secs);
		for (int m = M_MEMCPY; m >= 0; m--)
			if (m != M_SPANS_PAGES && m != M_SPANS_CONTIG)
				run_case(&s, "rect64", &r64, 1, m, secs / 4);
		for (int m = M_MEMCPY; m >= 0; m--)
			if (m != M_SPANS_PAGES && m != M_SPANS_CONTIG)
				run_case(&s, "corners", two, 2, m, secs / 4);
	}
	return 0;
}
