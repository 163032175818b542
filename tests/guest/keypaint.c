// SPDX-License-Identifier: GPL-2.0
/*
 * keypaint: the guest side of the latency harness (bench/latency.py).
 *
 *   keypaint keys W H NAME SYNCTTY
 *	Set mode WxH showing a flat grey screen and grab the input device whose
 *	name contains NAME.  On key press n (1, 2, ...) fill the 64x64 block at
 *	(BLOCK_X, BLOCK_Y) with colour n (XRGB8888 value n) and send exactly
 *	that clip with DIRTYFB, then print
 *	  @@KEY n ev=E read=R done=D@@
 *	(CLOCK_MONOTONIC seconds: the press's evdev timestamp, when its read
 *	returned, when DIRTYFB returned).  Every byte that arrives on SYNCTTY
 *	(a serial port, put in raw mode) is answered at once with the guest's
 *	CLOCK_MONOTONIC as a double in 8 bytes, so the host can estimate the
 *	offset between its clock and the guest's.  Ends at KEY_ESC.
 *   keypaint anim W H FPS SECS
 *	Frame n (1, 2, ...) fills the block with colour n and sends that clip,
 *	at FPS frames per second on absolute deadlines, for SECS seconds; prints
 *	  @@RESULT anim frames=N secs=S late=L@@
 *	(L: frames drawn after their deadline had passed by half a period).
 *
 * The host reads the block's pixel from every VNC update it receives and so
 * knows which press or frame a picture shows.
 */
#include "kmslib.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/input.h>

#define BLOCK_X 64
#define BLOCK_Y 64
#define BACKGROUND 0x404040

static const struct rect block = { BLOCK_X, BLOCK_Y, 64, 64 };

static void paint(struct fb *f, uint32_t colour)
{
	for (uint32_t y = block.y; y < block.y + block.h; y++)
		for (uint32_t x = block.x; x < block.x + block.w; x++)
			*px(f, x, y) = colour & 0xffffff;
	dirty(f, &block, 1);
}

static void setup(struct fb *f, uint32_t w, uint32_t h)
{
	fb_create(f, w, h);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			*px(f, x, y) = BACKGROUND;
	set_crtc(f, find_mode(w, h));
}

static int open_sync_tty(const char *path)
{
	struct termios t;
	int s = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (s < 0 || tcgetattr(s, &t))
		die("open %s", path);
	cfmakeraw(&t);
	cfsetspeed(&t, B115200);
	if (tcsetattr(s, TCSANOW, &t))
		die("tcsetattr %s", path);
	tcflush(s, TCIOFLUSH);
	return s;
}

/* Answer each byte of a clock query with our clock, taken right after the read. */
static void answer_sync(int s)
{
	char q[64];
	ssize_t n = read(s, q, sizeof(q));
	double t = now();

	for (ssize_t i = 0; i < n; i++)
		if (write(s, &t, sizeof(t)) != sizeof(t))
			die("write sync tty");
}

static int cmd_keys(uint32_t w, uint32_t h, const char *name, const char *tty)
{
	int clk = CLOCK_MONOTONIC, in, s;
	char devname[128];
	unsigned int n = 0;
	struct fb f;

	setup(&f, w, h);
	in = open_input(name, devname, sizeof(devname));
	if (in < 0) {
		errno = ENODEV;
		die("no input device named like %s", name);
	}
	if (ioctl(in, EVIOCGRAB, 1) || ioctl(in, EVIOCSCLOCKID, &clk))
		die("EVIOCGRAB/EVIOCSCLOCKID");
	s = open_sync_tty(tty);
	printf("@@READY %s@@\n", devname);
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = { { .fd = in, .events = POLLIN }, { .fd = s, .events = POLLIN } };
		struct input_event ev[64];
		ssize_t r;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[1].revents & POLLIN)
			answer_sync(s);
		if (!(p[0].revents & POLLIN))
			continue;
		r = read(in, ev, sizeof(ev));
		if (r <= 0)
			continue;
		for (unsigned int i = 0; i < r / sizeof(ev[0]); i++) {
			double t_read = now(), t_ev;

			if (ev[i].type != EV_KEY || ev[i].value != 1)
				continue;
			if (ev[i].code == KEY_ESC)
				goto out;
			t_ev = ev[i].input_event_sec + ev[i].input_event_usec / 1e6;
			paint(&f, ++n);
			printf("@@KEY %u ev=%.6f read=%.6f done=%.6f@@\n", n, t_ev, t_read, now());
			fflush(stdout);
		}
	}
out:
	printf("@@RESULT keys=%u@@\n", n);
	fb_destroy(&f);
	return 0;
}

static int cmd_anim(uint32_t w, uint32_t h, double fps, double secs)
{
	double period = 1 / fps, t0, deadline;
	unsigned int n = 0, late = 0;
	struct fb f;

	setup(&f, w, h);
	t0 = now();
	for (deadline = t0; deadline - t0 < secs; deadline += period) {
		struct timespec ts = { (time_t)deadline, (long)((deadline - (time_t)deadline) * 1e9) };

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		if (now() - deadline > period / 2)
			late++;
		paint(&f, ++n);
	}
	printf("@@RESULT anim frames=%u secs=%.6f late=%u@@\n", n, now() - t0, late);
	fb_destroy(&f);
	return 0;
}

int main(int argc, char **argv)
{
	fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/dri/card0");
	probe();
	if (argc == 6 && !strcmp(argv[1], "keys"))
		return cmd_keys(atoi(argv[2]), atoi(argv[3]), argv[4], argv[5]);
	if (argc == 6 && !strcmp(argv[1], "anim") && atof(argv[4]) > 0)
		return cmd_anim(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: see keypaint.c\n");
	return 2;
}
