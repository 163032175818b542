// SPDX-License-Identifier: GPL-2.0
/*
 * cursortest: the legacy cursor ioctls as Xorg's modesetting driver uses
 * them (DRM_IOCTL_MODE_CURSOR2 with a hotspot, DRM_IOCTL_MODE_CURSOR to
 * move), on a mode it holds.
 *
 *   cursortest W H        set a W x H mode (black), print @@STAGE ready@@,
 *                         then run one command a line from stdin, each
 *                         followed by @@STAGE ok@@:
 *     set N HX HY         a 64x64 cursor of pattern N (see cursor_pixel()),
 *                         hotspot HX, HY
 *     moves N             N moves along a diagonal, then @@MOVED N S@@
 *                         (S: seconds they took)
 *     follow N            N frames of the virtio-desk pointer: after each,
 *                         put the hotspot on the pixel the header's formula
 *                         gives (as a compositor does), @@AT X Y@@
 *     hide                no cursor
 *   An empty line or EOF ends it.
 */
#include "kmslib.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/input.h>

#define CURSOR 64
#define VDESK_ABS_MAX 32767	/* VIRTIO_DESK_INPUT_ABS_MAX */

static uint32_t hot_x, hot_y;

/* Pattern @n at x, y: ARGB, premultiplied; a transparent diagonal grid. */
static uint32_t cursor_pixel(uint32_t n, uint32_t x, uint32_t y)
{
	if ((x + y) % 16 == 0)
		return 0;
	return 0xff000000u | ((x * 4 + n * 50) & 0xff) << 16 |
	       ((y * 4) & 0xff) << 8 | (((x ^ y) * 3 + n) & 0xff);
}

static void cursor_set(struct fb *c, uint32_t n, uint32_t hx, uint32_t hy)
{
	struct drm_mode_cursor2 req = {
		.flags = DRM_MODE_CURSOR_BO, .crtc_id = crtc_id,
		.width = CURSOR, .height = CURSOR, .handle = c->handle,
		.hot_x = hx, .hot_y = hy,
	};

	for (uint32_t y = 0; y < CURSOR; y++)
		for (uint32_t x = 0; x < CURSOR; x++)
			*px(c, x, y) = cursor_pixel(n, x, y);
	if (xioctl(DRM_IOCTL_MODE_CURSOR2, &req))
		die("CURSOR2");
	hot_x = hx;
	hot_y = hy;
}

static void cursor_move(int32_t x, int32_t y)
{
	struct drm_mode_cursor req = {
		.flags = DRM_MODE_CURSOR_MOVE, .crtc_id = crtc_id, .x = x, .y = y,
	};

	if (xioctl(DRM_IOCTL_MODE_CURSOR, &req))
		die("CURSOR move");
}

/* The pixel of a mode @size wide that ABS value @v names (virtio_desk.h). */
static int32_t abs_pixel(int32_t v, uint32_t size)
{
	int32_t p = ((int64_t)v * size + VDESK_ABS_MAX / 2) / VDESK_ABS_MAX;

	return p < (int32_t)size - 1 ? p : (int32_t)size - 1;
}

static void follow(int frames, uint32_t w, uint32_t h)
{
	char name[256];
	int in = open_input("virtio-desk pointer", name, sizeof(name));
	int32_t ax = 0, ay = 0;
	struct input_event ev;

	if (in < 0)
		die("no virtio-desk pointer");
	while (frames > 0) {
		struct pollfd p = { .fd = in, .events = POLLIN };

		if (poll(&p, 1, 30000) != 1)
			die("no pointer frame");
		while (read(in, &ev, sizeof(ev)) == sizeof(ev)) {
			if (ev.type == EV_ABS && ev.code == ABS_X)
				ax = abs_pixel(ev.value, w);
			else if (ev.type == EV_ABS && ev.code == ABS_Y)
				ay = abs_pixel(ev.value, h);
			if (ev.type != EV_SYN || ev.code != SYN_REPORT)
				continue;
			cursor_move(ax - hot_x, ay - hot_y);
			printf("@@AT %d %d@@\n", ax, ay);
			fflush(stdout);
			frames--;
		}
	}
	close(in);
}

int main(int argc, char **argv)
{
	struct fb screen, cursor;
	char line[128];
	uint32_t w, h;

	if (argc != 3)
		die("usage: cursortest W H");
	w = atoi(argv[1]);
	h = atoi(argv[2]);
	fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/dri/card0");
	probe();
	fb_create(&screen, w, h);
	set_crtc(&screen, find_mode(w, h));
	fb_create_fmt(&cursor, CURSOR, CURSOR, FMT_AR24);
	printf("@@STAGE ready@@\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		unsigned int n, hx, hy;

		if (line[0] == '\n')
			break;
		if (sscanf(line, "set %u %u %u", &n, &hx, &hy) == 3) {
			cursor_set(&cursor, n, hx, hy);
		} else if (sscanf(line, "moves %u", &n) == 1) {
			double t = now();

			for (unsigned int i = 0; i < n; i++)
				cursor_move(i % (w - 1), i % (h - 1));
			printf("@@MOVED %u %.6f@@\n", n, now() - t);
		} else if (sscanf(line, "follow %u", &n) == 1) {
			follow(n, w, h);
		} else if (!strncmp(line, "hide", 4)) {
			struct drm_mode_cursor req = {
				.flags = DRM_MODE_CURSOR_BO, .crtc_id = crtc_id,
			};

			if (xioctl(DRM_IOCTL_MODE_CURSOR, &req))
				die("CURSOR hide");
		} else {
			die("bad command %s", line);
		}
		printf("@@STAGE ok@@\n");
		fflush(stdout);
	}
	return 0;
}
