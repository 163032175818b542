// SPDX-License-Identifier: GPL-2.0
/*
 * kmstest: small static KMS client for the guest tests, raw DRM ioctls only.
 *
 *   kmstest [-d /dev/dri/cardN] info
 *   kmstest [-d ...] pattern W H [strict]  staged: base frame, clips, partial
 *                         updates (strict: also change pixels it does not damage)
 *   kmstest [-d ...] modes W H [W H ...]  staged per mode: set, damage, page flips
 *   kmstest [-d ...] rect64 W H X Y  set mode, then one 64x64 DIRTYFB clip
 *   kmstest [-d ...] anim W H SECS   moving pattern (demo)
 *   kmstest [-d ...] bench W H N     update rates
 *   kmstest [-d ...] perf W H WORKLOAD SECS  one timed benchmark run (bench/):
 *                         WORKLOAD is full (DIRTYFB of the whole screen),
 *                         redraw (redraw every pixel, then DIRTYFB), rect64 (one
 *                         64x64 clip at a random position) or corners (two 64x64
 *                         clips at opposite corners in one DIRTYFB); staged
 *                         "start" and "end" around the timed loop, which ends
 *                         with the host having finished every update
 *   kmstest fbcon FILE TTY           staged: write FILE to TTY like cat, timed
 *   kmstest input NAME COUNT SECS    staged: grab the input device whose name
 *                         contains NAME, count EV_KEY events until COUNT arrived
 *                         or SECS passed without one
 *   kmstest [-d ...] overlap W H     staged: overlapping clips covering more than the screen
 *   kmstest [-d ...] formats W H     staged: base pattern in each pixel format
 *   kmstest [-d ...] flipclip W H N [stage] [rmfb] [rmfb-front] [close]
 *                         atomic client: N page flips between two dumb buffers,
 *                         one FB_DAMAGE_CLIPS 64x64 clip each, repainting by
 *                         buffer age (see cmd_flipclip for the picture and the
 *                         result line)
 *   kmstest [-d ...] vblank N        N x DRM_IOCTL_WAIT_VBLANK relative 1 (see cmd_vblank)
 *
 * Staged commands print "@@STAGE <name>@@" and wait for a line on stdin
 * before going on, so the host can capture the screen at each stage.  The
 * pixel formulas here are mirrored in rig.py (Canvas) and run_tests.py
 * (flip_square): keep them in sync.
 */
#include "kmslib.h"

#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/drm_mode.h>
#include <drm/virtgpu_drm.h>
#include <linux/input.h>
#include <poll.h>
#include <termios.h>


/* --- pixels (mirrored in rig.py, Canvas; the base pattern is kmslib's) --- */

static uint32_t rect_px(uint32_t k, uint32_t x, uint32_t y)
{
	static const uint32_t col[] = { 0xff0000, 0x00ff00, 0x0000ff, 0xffff00,
					0x00ffff, 0xff00ff, 0xffffff, 0x808080 };

	return col[k % 8] ^ (((x * 3 + y * 7) & 0x3f) * 0x010101);
}


/* stage "clips": damaged rects and one changed but undamaged rect between them */
static const struct rect clips1[] = {
	{ 10, 10, 100, 50 }, { 300, 20, 64, 64 }, { 700, 500, 200, 100 },
	{ 5, 600, 33, 17 }, { 900, 40, 100, 300 },
};
static const struct rect undamaged1 = { 400, 300, 100, 100 };

/* stage "partial": small scattered rects, and again one undamaged */
static const struct rect clips2[] = {
	{ 0, 0, 1, 1 }, { 513, 257, 8, 8 }, { 1001, 3, 17, 13 },
	{ 128, 700, 64, 1 }, { 611, 129, 3, 61 },
};
static const struct rect undamaged2 = { 200, 200, 40, 40 };

/* --- DRM plumbing --- */



static void fill_rect(struct fb *f, const struct rect *r, uint32_t k)
{
	for (uint32_t y = r->y; y < r->y + r->h && y < f->h; y++)
		for (uint32_t x = r->x; x < r->x + r->w && x < f->w; x++)
			*px(f, x, y) = rect_px(k, x, y);
}


/* --- commands --- */

static int cmd_info(void)
{
	for (unsigned int i = 0; i < nmodes; i++)
		printf("mode %ux%u@%u%s\n", modes[i].hdisplay, modes[i].vdisplay,
		       modes[i].vrefresh, modes[i].type & DRM_MODE_TYPE_PREFERRED ? " preferred" : "");
	return 0;
}

static int cmd_pattern(uint32_t w, uint32_t h, int strict)
{
	struct fb f;
	unsigned int i;

	fb_create(&f, w, h);
	fill_base(&f, 0);
	set_crtc(&f, find_mode(w, h));
	stage("base");

	for (i = 0; i < sizeof(clips1) / sizeof(clips1[0]); i++)
		fill_rect(&f, &clips1[i], i);
	if (strict)
		fill_rect(&f, &undamaged1, 7);
	dirty(&f, clips1, sizeof(clips1) / sizeof(clips1[0]));
	stage("clips");

	for (i = 0; i < sizeof(clips2) / sizeof(clips2[0]); i++)
		fill_rect(&f, &clips2[i], i + 3);
	if (strict)
		fill_rect(&f, &undamaged2, 6);
	dirty(&f, clips2, sizeof(clips2) / sizeof(clips2[0]));
	stage("partial");
	fb_destroy(&f);
	return 0;
}

static int cmd_modes(int argc, char **argv)
{
	for (int a = 0; a + 1 < argc; a += 2) {
		uint32_t w = atoi(argv[a]), h = atoi(argv[a + 1]);
		struct rect r = { w / 3, h / 3, 64, 48 };
		struct fb f[2];
		double t;

		fb_create(&f[0], w, h);
		fb_create(&f[1], w, h);
		fill_base(&f[0], 0);
		fill_base(&f[1], 0xffffff);
		set_crtc(&f[0], find_mode(w, h));
		fill_rect(&f[0], &r, 1);
		dirty(&f[0], &r, 1);
		t = now();
		for (int i = 0; i < 10; i++)
			flip(&f[(i + 1) & 1]);
		printf("mode %ux%u: 10 flips in %.3f s\n", w, h, now() - t);
		/* back on f[0] with r drawn */
		stage("mode %u %u", w, h);
		fb_destroy(&f[1]);
		fb_destroy(&f[0]);
	}
	return 0;
}

/* The base pattern in each format the device knows; stage per format. */
static int cmd_formats(uint32_t w, uint32_t h)
{
	static const struct { uint32_t fmt; const char *name; } fmts[] = {
		{ FMT_XR24, "XR24" }, { FMT_AR24, "AR24" }, { FMT_XB24, "XB24" },
		{ FMT_AB24, "AB24" }, { FMT_RG16, "RG16" },
	};

	for (unsigned int i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct fb f;

		fb_create_fmt(&f, w, h, fmts[i].fmt);
		for (uint32_t y = 0; y < h; y++) {
			for (uint32_t x = 0; x < w; x++) {
				uint32_t p = base_px(x, y);
				uint32_t r = p >> 16, g = (p >> 8) & 255, b = p & 255;
				char *row = (char *)f.map + (size_t)y * f.pitch;

				switch (fmts[i].fmt) {
				case FMT_XR24: ((uint32_t *)row)[x] = p; break;
				case FMT_AR24: ((uint32_t *)row)[x] = 0xff000000 | p; break;
				case FMT_XB24: ((uint32_t *)row)[x] = b << 16 | g << 8 | r; break;
				case FMT_AB24: ((uint32_t *)row)[x] = 0xff000000 | b << 16 | g << 8 | r; break;
				case FMT_RG16: ((uint16_t *)row)[x] = (r >> 3) << 11 | (g >> 2) << 5 | b >> 3; break;
				}
			}
		}
		set_crtc(&f, find_mode(w, h));
		stage("fmt %s", fmts[i].name);
		fb_destroy(&f);
	}
	return 0;
}

/* Overlapping clips that add up to more than the screen. */
static int cmd_overlap(uint32_t w, uint32_t h)
{
	struct rect r = { 100, 100, 300, 200 };
	struct rect clips[3] = { { 0, 0, w, h }, { 0, 0, w, h }, r };
	struct fb f;

	fb_create(&f, w, h);
	fill_base(&f, 0);
	set_crtc(&f, find_mode(w, h));
	stage("base");
	fill_rect(&f, &r, 4);
	dirty(&f, clips, 3);
	stage("overlap");
	fb_destroy(&f);
	return 0;
}

static int cmd_rect64(uint32_t w, uint32_t h, uint32_t x, uint32_t y)
{
	struct rect r = { x, y, 64, 64 };
	struct fb f;

	fb_create(&f, w, h);
	fill_base(&f, 0);
	set_crtc(&f, find_mode(w, h));
	stage("modeset");
	fill_rect(&f, &r, 2);
	dirty(&f, &r, 1);
	stage("rect64");
	fb_destroy(&f);
	return 0;
}

static int cmd_bench(uint32_t w, uint32_t h, unsigned int n)
{
	struct rect full = { 0, 0, w, h }, one = { w / 2, h / 2, 64, 64 };
	struct rect two[2] = { { 0, 0, 64, 64 }, { w - 64, h - 64, 64, 64 } };
	struct fb f;
	double t;
	unsigned int i;

	fb_create(&f, w, h);
	fill_base(&f, 0);
	set_crtc(&f, find_mode(w, h));
	t = now();
	for (i = 0; i < n; i++) {
		fill_base(&f, i & 1 ? 0xffffff : 0);
		dirty(&f, &full, 1);
	}
	printf("bench %ux%u full redraw + DIRTYFB: %.0f fps\n", w, h, n / (now() - t));
	t = now();
	for (i = 0; i < n; i++)
		dirty(&f, &full, 1);
	printf("bench %ux%u DIRTYFB full: %.0f fps\n", w, h, n / (now() - t));
	t = now();
	for (i = 0; i < n * 4; i++)
		dirty(&f, &one, 1);
	printf("bench %ux%u one 64x64 rect: %.0f fps\n", w, h, n * 4 / (now() - t));
	t = now();
	for (i = 0; i < n * 4; i++)
		dirty(&f, two, 2);
	printf("bench %ux%u two 64x64 rects at opposite corners: %.0f fps\n", w, h, n * 4 / (now() - t));
	fb_destroy(&f);
	return 0;
}

/* --- benchmark (bench/run.sh) --- */

static char drv_name[64];

static void get_driver_name(void)
{
	struct drm_version v = { .name = drv_name, .name_len = sizeof(drv_name) - 1 };

	if (xioctl(DRM_IOCTL_VERSION, &v))
		die("VERSION");
}

/*
 * Return once the host has finished every display update made so far.
 * virtiodesk (our DRM driver): a DIRTYFB returns once the device has answered the requests
 * of the commit before it, so one more of a single pixel waits for the
 * last real one.  virtio_gpu: DIRTYFB only queues transfer and flush commands (no fence for
 * dumb buffers), so make a fenced command (a 1x1 resource) and wait for its
 * fence: the host handles the control queue in order.  bochs: the host reads
 * VRAM on its own display refresh; there is nothing in flight.
 */
static double host_sync(struct fb *f)
{
	struct rect px1 = { 0, 0, 1, 1 };
	double t = now();

	if (!strcmp(drv_name, "virtiodesk"))
		dirty(f, &px1, 1);
	if (!strcmp(drv_name, "virtio_gpu")) {
		struct drm_virtgpu_resource_create c = {
			.target = 2, .format = 2 /* B8G8R8X8_UNORM */, .bind = 2,
			.width = 1, .height = 1, .depth = 1, .array_size = 1,
		};
		struct drm_virtgpu_3d_wait w = { 0 };
		struct drm_gem_close gc = { 0 };

		if (xioctl(DRM_IOCTL_VIRTGPU_RESOURCE_CREATE, &c))
			die("VIRTGPU_RESOURCE_CREATE");
		w.handle = c.bo_handle;
		if (xioctl(DRM_IOCTL_VIRTGPU_WAIT, &w))
			die("VIRTGPU_WAIT");
		gc.handle = c.bo_handle;
		xioctl(DRM_IOCTL_GEM_CLOSE, &gc);
	}
	return now() - t;
}

static int cmd_perf(uint32_t w, uint32_t h, const char *wl, double secs)
{
	struct rect full = { 0, 0, w, h }, r64 = { 0, 0, 64, 64 };
	struct rect two[2] = { { 0, 0, 64, 64 }, { w - 64, h - 64, 64, 64 } };
	uint32_t seed = 12345;
	unsigned int n = 0;
	int has_dirty, redraw = !strcmp(wl, "redraw");
	double t0, t, sync;
	struct fb f;

	if (strcmp(wl, "full") && !redraw && strcmp(wl, "rect64") && strcmp(wl, "corners")) {
		fprintf(stderr, "kmstest: unknown workload %s\n", wl);
		return 2;
	}
	get_driver_name();
	fb_create(&f, w, h);
	fill_base(&f, 0);
	set_crtc(&f, find_mode(w, h));
	has_dirty = try_dirty(&f, &full, 1) == 0;
	host_sync(&f);
	if (!has_dirty && !redraw) {
		printf("@@RESULT driver=%s n=0 secs=0 sync=0 dirtyfb=unsupported@@\n", drv_name);
		fb_destroy(&f);
		return 0;
	}
	stage("start");
	t0 = now();
	do {
		if (redraw) {
			fill_base(&f, n & 1 ? 0xffffff : 0);
			if (has_dirty)
				dirty(&f, &full, 1);
		} else if (!strcmp(wl, "full")) {
			dirty(&f, &full, 1);
		} else if (!strcmp(wl, "rect64")) {
			seed = seed * 1103515245 + 12345;
			r64.x = (seed >> 8) % (w - 63);
			seed = seed * 1103515245 + 12345;
			r64.y = (seed >> 8) % (h - 63);
			dirty(&f, &r64, 1);
		} else {
			dirty(&f, two, 2);
		}
		n++;
	} while (now() - t0 < secs);
	sync = host_sync(&f);
	t = now() - t0;
	stage("end");
	printf("@@RESULT driver=%s n=%u secs=%.6f sync=%.6f dirtyfb=%s@@\n",
	       drv_name, n, t, sync, has_dirty ? "yes" : "unsupported");
	fb_destroy(&f);
	return 0;
}

/* Write a file to a tty the way cat does, timed (fbcon scrolling). */
static int cmd_fbcon(const char *file, const char *tty)
{
	static char buf[1 << 20];
	int in = open(file, O_RDONLY), out;
	ssize_t len = 0, r, off;
	unsigned int lines = 0;
	double t0, t;

	if (in < 0)
		die("open %s", file);
	while ((r = read(in, buf + len, sizeof(buf) - len)) > 0)
		len += r;
	close(in);
	for (off = 0; off < len; off++)
		lines += buf[off] == '\n';
	out = open(tty, O_WRONLY | O_NOCTTY);
	if (out < 0)
		die("open %s", tty);
	stage("start");
	t0 = now();
	for (off = 0; off < len; off += r) {
		r = write(out, buf + off, len - off > 4096 ? 4096 : len - off);
		if (r <= 0)
			die("write %s", tty);
	}
	tcdrain(out);
	t = now() - t0;
	stage("end");
	printf("@@RESULT n=%u secs=%.6f bytes=%zd@@\n", lines, t, len);
	close(out);
	return 0;
}

/*
 * Count key events of the input device whose name contains @name until
 * @count arrived, or @secs passed without any.  The device is grabbed so
 * the events do not reach the console.
 */
static int cmd_input(const char *name, unsigned int count, double secs)
{
	char devname[128];
	struct input_event ev[256];
	unsigned int keys = 0, dropped = 0, syns = 0;
	double first = 0, last = 0, t0;
	int in = open_input(name, devname, sizeof(devname));

	if (in < 0) {
		printf("@@RESULT n=0 secs=0 device=none@@\n");
		return 0;
	}
	if (ioctl(in, EVIOCGRAB, 1))
		die("EVIOCGRAB");
	while (read(in, ev, sizeof(ev)) > 0)
		;	/* stale events */
	printf("device %s\n", devname);
	stage("start");
	t0 = now();
	while (keys < count) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		double t = now();
		ssize_t r;

		if (t - (last ? last : t0) > secs)
			break;
		if (poll(&p, 1, 100) <= 0)
			continue;
		r = read(in, ev, sizeof(ev));
		if (r <= 0)
			continue;
		t = now();
		for (unsigned int i = 0; i < r / sizeof(ev[0]); i++) {
			if (ev[i].type == EV_KEY) {
				if (!keys)
					first = t;
				keys++;
				last = t;
			} else if (ev[i].type == EV_SYN && ev[i].code == SYN_DROPPED) {
				dropped++;
			} else if (ev[i].type == EV_SYN) {
				syns++;
			}
		}
	}
	stage("end");
	printf("@@RESULT n=%u secs=%.6f first=%.6f last=%.6f dropped=%u syns=%u device=%s@@\n",
	       keys, last ? last - t0 : 0, first ? first - t0 : 0, last ? last - t0 : 0,
	       dropped, syns, devname);
	close(in);
	return 0;
}

static int cmd_anim(uint32_t w, uint32_t h, double secs)
{
	struct fb f;
	struct rect r = { 0, 0, 96, 96 }, old;
	double t0 = now();
	unsigned int n = 0;

	fb_create(&f, w, h);
	fill_base(&f, 0);
	set_crtc(&f, find_mode(w, h));
	while (now() - t0 < secs) {
		struct rect both[2];

		old = r;
		for (uint32_t y = old.y; y < old.y + old.h; y++)
			for (uint32_t x = old.x; x < old.x + old.w; x++)
				*px(&f, x, y) = base_px(x, y);
		r.x = (r.x + 7) % (w - r.w);
		r.y = (r.y + 3) % (h - r.h);
		fill_rect(&f, &r, n / 64);
		both[0] = old;
		both[1] = r;
		dirty(&f, both, 2);
		n++;
		usleep(16000);
	}
	printf("anim: %u frames\n", n);
	fb_destroy(&f);
	return 0;
}

/* --- atomic page flips with damage clips, vblank waits ---------------------------- */

static uint32_t crtc_index;	/* of crtc_id in the card's CRTC list */

/* Sets crtc_index: the pipe of crtc_id (possible_crtcs bits, WAIT_VBLANK). */
static void find_crtc_index(void)
{
	crtc_index = crtc_index_of(crtc_id);
}

static uint32_t create_blob(const void *data, uint32_t len)
{
	struct drm_mode_create_blob b = { .data = (uintptr_t)data, .length = len };

	if (xioctl(DRM_IOCTL_MODE_CREATEPROPBLOB, &b))
		die("CREATEPROPBLOB");
	return b.blob_id;
}

static void destroy_blob(uint32_t id)
{
	struct drm_mode_destroy_blob b = { .blob_id = id };

	if (xioctl(DRM_IOCTL_MODE_DESTROYPROPBLOB, &b))
		die("DESTROYPROPBLOB");
}

/*
 * Wait (at most timeout_ms) for the flip event with user_data want.
 * Returns 0 and the event, or -ETIMEDOUT.  Any other event is an error.
 */
static int wait_flip_event(uint64_t want, struct drm_event_vblank *out, int timeout_ms)
{
	char buf[1024];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, timeout_ms);
		ssize_t n, off;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll");
		if (r == 0)
			return -ETIMEDOUT;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < (ssize_t)sizeof(struct drm_event))
			die("read event");
		for (off = 0; off + (ssize_t)sizeof(struct drm_event) <= n;) {
			struct drm_event *e = (struct drm_event *)(buf + off);
			struct drm_event_vblank *v = (struct drm_event_vblank *)e;

			if (e->type != DRM_EVENT_FLIP_COMPLETE || e->length < sizeof(*v)) {
				errno = EPROTO;
				die("unexpected event type %u", e->type);
			}
			if (v->user_data != want) {
				errno = EPROTO;
				die("flip event for frame %llu, waiting for %llu",
				    (unsigned long long)v->user_data, (unsigned long long)want);
			}
			*out = *v;
			off += e->length;
			if (off >= n)
				return 0;
		}
	}
}

static double mode_hz(const struct drm_mode_modeinfo *m)
{
	return m->htotal && m->vtotal ? m->clock * 1000.0 / ((double)m->htotal * m->vtotal) : 0;
}

/* The square frame j (1..N) adds; mirrored in run_tests.py (flip_square). */
static struct rect flip_square(uint32_t w, uint32_t h, unsigned int j)
{
	struct rect r = { (j * 53) % (w - 64), (j * 29) % (h - 64), 64, 64 };

	return r;
}

struct stats { double sum, min, max; unsigned int n; };

static void stat_add(struct stats *s, double v)
{
	if (!s->n || v < s->min)
		s->min = v;
	if (!s->n || v > s->max)
		s->max = v;
	s->sum += v;
	s->n++;
}

static double stat_mean(const struct stats *s)
{
	return s->n ? s->sum / s->n : 0;
}

/*
 * kmstest flipclip W H N [stage] [rmfb] [rmfb-front] [close]
 *
 * A compositor's frame loop on the atomic API.  Frame 0 (the initial
 * modeset, ALLOW_MODESET, blocking; fb 0) is the base pattern.  Frame j
 * (1..N) adds square j, flip_square(W, H, j), filled with rect_px(j, ...),
 * on top of frame j - 1: the picture after frame N is the base pattern with
 * squares 1..N painted in order (run_tests.py expected_flipclip).  Frame
 * j is drawn into buffer j & 1 and shown with one atomic commit
 * (PAGE_FLIP_EVENT | ATOMIC_NONBLOCK, user_data j) that sets the plane's
 * FB_ID and an FB_DAMAGE_CLIPS blob holding one clip: square j, what changed
 * since frame j - 1.  The next frame is drawn only after the flip event of
 * this one.  Repaint by buffer age: the back buffer still holds frame j - 2,
 * so the union of the last two frames' damage (squares j - 1 and j) is
 * repainted from the scene, which there is exactly square j - 1 and then
 * square j on top; a buffer never shown (age unknown) is painted whole.
 *
 * Options: stage: "@@STAGE modeset@@" after frame 0 and "@@STAGE flips@@"
 * after the last flip event, each waiting for a line on stdin (the picture
 * stays up until then).  rmfb: every 10th flip, right after queueing it,
 * RMFB (and destroy, unmap) the buffer that was just flipped away from,
 * which the commit in flight still references; a new buffer takes its place
 * and is painted whole.  rmfb-front: at flip N/2, right after queueing it,
 * RMFB the buffer that flip shows, while the device may still be reading
 * it (the kernel then turns the plane and CRTC off), read the flip's
 * event, print the result line (flips=N/2) and exit 0.  close: at flip
 * N/2, queue the flip and close the device without waiting for its event,
 * print the result line (closed=1) and exit 0.
 *
 * Result line (one line, fields in this order; times in microseconds):
 *   @@RESULT flipclip w=W h=H flips=N secs=S fps=F mean_us=M min_us=A max_us=B
 *            vblanks=V rmfb=R closed=C mode_hz=Z@@
 * flips: flips completed (their events read); secs: from queueing flip 1 to
 * reading the last event; fps = flips / secs; mean/min/max_us: intervals
 * between reading consecutive flip events (N - 1 of them); vblanks: the
 * last event's vblank sequence minus the first one's (0 where the driver
 * has no vblank counter); mode_hz: the refresh rate of the mode used
 * (clock / (htotal * vtotal)).  A flip event that does not come within 10 s
 * prints "@@RESULT flipclip error=timeout frame=J@@" and exits 3; a failing
 * commit prints "@@RESULT flipclip error=<errno name> frame=J@@" and exits 1.
 */
static int cmd_flipclip(uint32_t w, uint32_t h, unsigned int n, int staged, int rmfb, int rmfb_front,
			int do_close)
{
	const struct drm_mode_modeinfo *mode = find_mode(w, h);
	uint32_t plane, p_fb, p_crtc, p_damage, c_mode, c_active, k_crtc;
	uint32_t p_src[4], p_dst[4];
	static const char *src_names[] = { "SRC_X", "SRC_Y", "SRC_W", "SRC_H" };
	static const char *dst_names[] = { "CRTC_X", "CRTC_Y", "CRTC_W", "CRTC_H" };
	uint64_t src_vals[4] = { 0, 0, (uint64_t)w << 16, (uint64_t)h << 16 };
	uint64_t dst_vals[4] = { 0, 0, w, h };
	struct drm_event_vblank ev = { 0 };
	struct atomic_req req = { 0 };
	struct stats iv = { 0 };
	struct fb f[2];
	int age_known[2] = { 1, 0 };
	uint32_t mode_blob, seq0 = 0;
	unsigned int j, done = 0, removed = 0;
	double t0 = 0, tlast = 0, t;
	int ret;

	if (xioctl(DRM_IOCTL_SET_CLIENT_CAP, &(struct drm_set_client_cap){ DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1 }) ||
	    xioctl(DRM_IOCTL_SET_CLIENT_CAP, &(struct drm_set_client_cap){ DRM_CLIENT_CAP_ATOMIC, 1 }))
		die("SET_CLIENT_CAP ATOMIC");
	find_crtc_index();
	plane = primary_plane(crtc_id);
	p_fb = obj_prop(plane, DRM_MODE_OBJECT_PLANE, "FB_ID", NULL);
	p_crtc = obj_prop(plane, DRM_MODE_OBJECT_PLANE, "CRTC_ID", NULL);
	p_damage = obj_prop(plane, DRM_MODE_OBJECT_PLANE, "FB_DAMAGE_CLIPS", NULL);
	for (int i = 0; i < 4; i++) {
		p_src[i] = obj_prop(plane, DRM_MODE_OBJECT_PLANE, src_names[i], NULL);
		p_dst[i] = obj_prop(plane, DRM_MODE_OBJECT_PLANE, dst_names[i], NULL);
	}
	c_mode = obj_prop(crtc_id, DRM_MODE_OBJECT_CRTC, "MODE_ID", NULL);
	c_active = obj_prop(crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", NULL);
	k_crtc = obj_prop(conn_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", NULL);

	/* frame 0: the base pattern, with a modeset */
	fb_create(&f[0], w, h);
	fb_create(&f[1], w, h);
	fill_base(&f[0], 0);
	mode_blob = create_blob(mode, sizeof(*mode));
	req_add(&req, conn_id, k_crtc, crtc_id);
	req_add(&req, crtc_id, c_mode, mode_blob);
	req_add(&req, crtc_id, c_active, 1);
	req_add(&req, plane, p_fb, f[0].id);
	req_add(&req, plane, p_crtc, crtc_id);
	for (int i = 0; i < 4; i++)
		req_add(&req, plane, p_src[i], src_vals[i]);
	for (int i = 0; i < 4; i++)
		req_add(&req, plane, p_dst[i], dst_vals[i]);
	ret = req_commit(&req, DRM_MODE_ATOMIC_ALLOW_MODESET, 0);
	if (ret) {
		errno = -ret;
		die("atomic modeset %ux%u", w, h);
	}
	destroy_blob(mode_blob);
	if (staged)
		stage("modeset");

	for (j = 1; j <= n; j++) {
		struct fb *b = &f[j & 1];
		struct rect sq = flip_square(w, h, j);
		struct drm_mode_rect clip = { sq.x, sq.y, sq.x + sq.w, sq.y + sq.h };
		uint32_t blob;

		if (!age_known[j & 1]) {
			/* never shown: paint the whole scene of frame j */
			fill_base(b, 0);
			for (unsigned int i = 1; i <= j; i++) {
				struct rect s = flip_square(w, h, i);

				fill_rect(b, &s, i);
			}
			age_known[j & 1] = 1;
		} else {
			/* age 2: repaint the damage of frames j - 1 and j */
			if (j > 1) {
				struct rect s = flip_square(w, h, j - 1);

				fill_rect(b, &s, j - 1);
			}
			fill_rect(b, &sq, j);
		}
		blob = create_blob(&clip, sizeof(clip));
		memset(&req, 0, sizeof(req));
		req_add(&req, plane, p_fb, b->id);
		req_add(&req, plane, p_damage, blob);
		if (j == 1)
			t0 = now();
		ret = req_commit(&req, DRM_MODE_PAGE_FLIP_EVENT | DRM_MODE_ATOMIC_NONBLOCK, j);
		destroy_blob(blob);
		if (ret) {
			printf("@@RESULT flipclip error=%s frame=%u@@\n", strerror(-ret), j);
			return 1;
		}
		if (do_close && j == n / 2) {
			close(fd);
			printf("@@RESULT flipclip w=%u h=%u flips=%u secs=%.6f fps=%.2f mean_us=%.0f min_us=%.0f "
			       "max_us=%.0f vblanks=%u rmfb=%u closed=1 mode_hz=%.3f@@\n", w, h, done, tlast - t0,
			       done && tlast > t0 ? done / (tlast - t0) : 0, stat_mean(&iv) * 1e6, iv.min * 1e6,
			       iv.max * 1e6, done ? ev.sequence - seq0 : 0, removed, mode_hz(mode));
			return 0;
		}
		if (rmfb && j % 10 == 0) {
			/* the buffer just flipped away from: still in the commit in flight */
			struct fb *old = &f[(j - 1) & 1];

			fb_destroy(old);
			fb_create(old, w, h);
			age_known[(j - 1) & 1] = 0;
			removed++;
		}
		if (rmfb_front && j == n / 2) {
			fb_destroy(b);
			removed++;
		}
		if (wait_flip_event(j, &ev, 10000)) {
			printf("@@RESULT flipclip error=timeout frame=%u@@\n", j);
			return 3;
		}
		t = now();
		if (j == 1)
			seq0 = ev.sequence;
		else
			stat_add(&iv, t - tlast);
		tlast = t;
		done = j;
		if (rmfb_front && j == n / 2)
			break;
	}
	printf("@@RESULT flipclip w=%u h=%u flips=%u secs=%.6f fps=%.2f mean_us=%.0f min_us=%.0f max_us=%.0f "
	       "vblanks=%u rmfb=%u closed=0 mode_hz=%.3f@@\n", w, h, done, tlast - t0,
	       done && tlast > t0 ? done / (tlast - t0) : 0, stat_mean(&iv) * 1e6, iv.min * 1e6,
	       iv.max * 1e6, done ? ev.sequence - seq0 : 0, removed, mode_hz(mode));
	fflush(stdout);
	if (staged)
		stage("flips");
	for (int i = 0; i < 2; i++)
		if (!(rmfb_front && done == n / 2 && i == (done & 1)))
			fb_destroy(&f[i]);
	return 0;
}

/*
 * kmstest vblank N: N x DRM_IOCTL_WAIT_VBLANK (_DRM_VBLANK_RELATIVE, 1) on
 * the first connected output's CRTC (which must be on, e.g. fbcon's).
 * Result line (times in microseconds):
 *   @@RESULT vblank waits=N secs=S rate=R mean_us=M min_us=A max_us=B
 *            ts_mean_us=T seqs=Q@@
 * secs: from the first wait's return to the last one's; rate = (N - 1) /
 * secs; mean/min/max_us: intervals between consecutive returns as the
 * client sees them (N - 1); ts_mean_us: the same mean from the replies'
 * vblank timestamps; seqs: last reply's sequence minus the first's.  A
 * failing ioctl prints "@@RESULT vblank error=<errno name> wait=I@@" and
 * exits 1.
 */
static int cmd_vblank(unsigned int n)
{
	struct stats iv = { 0 };
	double t0 = 0, tlast = 0, ts0 = 0, ts = 0, t;
	uint32_t seq0 = 0, seq = 0;

	find_crtc_index();
	for (unsigned int i = 0; i < n; i++) {
		union drm_wait_vblank v;
		int r;

		memset(&v, 0, sizeof(v));
		v.request.type = _DRM_VBLANK_RELATIVE |
			((crtc_index << _DRM_VBLANK_HIGH_CRTC_SHIFT) & _DRM_VBLANK_HIGH_CRTC_MASK);
		v.request.sequence = 1;
		do {
			r = ioctl(fd, DRM_IOCTL_WAIT_VBLANK, &v);
		} while (r == -1 && errno == EINTR);
		if (r) {
			printf("@@RESULT vblank error=%s wait=%u@@\n", strerror(errno), i);
			return 1;
		}
		t = now();
		ts = v.reply.tval_sec + v.reply.tval_usec / 1e6;
		seq = v.reply.sequence;
		if (!i) {
			t0 = t;
			ts0 = ts;
			seq0 = seq;
		} else {
			stat_add(&iv, t - tlast);
		}
		tlast = t;
	}
	printf("@@RESULT vblank waits=%u secs=%.6f rate=%.2f mean_us=%.0f min_us=%.0f max_us=%.0f "
	       "ts_mean_us=%.0f seqs=%u@@\n", n, tlast - t0, tlast > t0 ? (n - 1) / (tlast - t0) : 0,
	       stat_mean(&iv) * 1e6, iv.min * 1e6, iv.max * 1e6,
	       n > 1 ? (ts - ts0) / (n - 1) * 1e6 : 0, seq - seq0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/dri/card0";

	if (argc > 2 && !strcmp(argv[1], "-d")) {
		dev = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: see kmstest.c\n");
		return 2;
	}
	/* commands without a DRM device */
	if (!strcmp(argv[1], "fbcon") && argc == 4)
		return cmd_fbcon(argv[2], argv[3]);
	if (!strcmp(argv[1], "input") && argc == 5)
		return cmd_input(argv[2], atoi(argv[3]), atof(argv[4]));
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open %s", dev);
	probe();
	if (!strcmp(argv[1], "info"))
		return cmd_info();
	if (!strcmp(argv[1], "pattern") && (argc == 4 || argc == 5))
		return cmd_pattern(atoi(argv[2]), atoi(argv[3]),
				   argc == 5 && !strcmp(argv[4], "strict"));
	if (!strcmp(argv[1], "modes") && argc >= 4)
		return cmd_modes(argc - 2, argv + 2);
	if (!strcmp(argv[1], "rect64") && argc == 6)
		return cmd_rect64(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(argv[1], "formats") && argc == 4)
		return cmd_formats(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(argv[1], "overlap") && argc == 4)
		return cmd_overlap(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(argv[1], "bench") && argc == 5)
		return cmd_bench(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(argv[1], "perf") && argc == 6)
		return cmd_perf(atoi(argv[2]), atoi(argv[3]), argv[4], atof(argv[5]));
	if (!strcmp(argv[1], "anim") && argc == 5)
		return cmd_anim(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
	if (!strcmp(argv[1], "flipclip") && argc >= 5) {
		int staged = 0, rmfb = 0, rmfb_front = 0, do_close = 0;

		for (int a = 5; a < argc; a++) {
			if (!strcmp(argv[a], "stage"))
				staged = 1;
			else if (!strcmp(argv[a], "rmfb"))
				rmfb = 1;
			else if (!strcmp(argv[a], "rmfb-front"))
				rmfb_front = 1;
			else if (!strcmp(argv[a], "close"))
				do_close = 1;
			else
				goto bad;
		}
		if (atoi(argv[2]) < 65 || atoi(argv[3]) < 65 || atoi(argv[4]) < 1)
			goto bad;
		return cmd_flipclip(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), staged, rmfb, rmfb_front,
				    do_close);
	}
	if (!strcmp(argv[1], "vblank") && argc == 3 && atoi(argv[2]) > 0)
		return cmd_vblank(atoi(argv[2]));
bad:
	fprintf(stderr, "kmstest: bad arguments\n");
	return 2;
}
