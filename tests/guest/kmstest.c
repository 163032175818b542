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
 *
 * Staged commands print "@@STAGE <name>@@" and wait for a line on stdin
 * before going on, so the host can capture the screen at each stage.  The
 * pixel formulas here are mirrored in pattern.py: keep them in sync.
 */
#include <errno.h>
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
#include <dirent.h>
#include <linux/input.h>
#include <poll.h>
#include <termios.h>

static int fd;
static uint32_t conn_id, crtc_id;
static struct drm_mode_modeinfo modes[256];
static unsigned int nmodes;

#define die(...) do { fprintf(stderr, "kmstest: " __VA_ARGS__); fprintf(stderr, " (%s)\n", strerror(errno)); exit(1); } while (0)

static int xioctl(unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r == -1 && (errno == EINTR || errno == EAGAIN));
	return r;
}

struct fb {
	uint32_t w, h, pitch, handle, id;
	uint64_t size;
	uint32_t *map;
};

/* --- pixels (mirrored in pattern.py) --- */

static uint32_t base_px(uint32_t x, uint32_t y)
{
	uint32_t r = x & 255, g = y & 255, b = ((x >> 8) * 16 + (y >> 8) * 4 + 128) & 255;

	return r << 16 | g << 8 | b;
}

static uint32_t rect_px(uint32_t k, uint32_t x, uint32_t y)
{
	static const uint32_t col[] = { 0xff0000, 0x00ff00, 0x0000ff, 0xffff00,
					0x00ffff, 0xff00ff, 0xffffff, 0x808080 };

	return col[k % 8] ^ (((x * 3 + y * 7) & 0x3f) * 0x010101);
}

struct rect { uint32_t x, y, w, h; };

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

static void probe(void)
{
	struct drm_mode_card_res res = { 0 };
	uint32_t conns[16], crtcs[16];
	unsigned int i;

	if (xioctl(DRM_IOCTL_MODE_GETRESOURCES, &res))
		die("GETRESOURCES");
	if (res.count_connectors > 16 || res.count_crtcs > 16 || !res.count_crtcs)
		die("odd resources");
	memset(&res, 0, sizeof(res));
	res.connector_id_ptr = (uintptr_t)conns;
	res.crtc_id_ptr = (uintptr_t)crtcs;
	res.count_connectors = 16;
	res.count_crtcs = 16;
	if (xioctl(DRM_IOCTL_MODE_GETRESOURCES, &res))
		die("GETRESOURCES");
	for (i = 0; i < res.count_connectors; i++) {
		struct drm_mode_get_connector c = { .connector_id = conns[i] };

		if (xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &c))
			die("GETCONNECTOR");
		if (c.connection != 1 || !c.count_modes)
			continue;
		if (c.count_modes > 256)
			c.count_modes = 256;
		nmodes = c.count_modes;
		c.modes_ptr = (uintptr_t)modes;
		c.count_props = 0;
		c.count_encoders = 0;
		if (xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &c))
			die("GETCONNECTOR");
		conn_id = conns[i];
		crtc_id = crtcs[0];
		return;
	}
	fprintf(stderr, "kmstest: no connected connector\n");
	exit(1);
}

static const struct drm_mode_modeinfo *find_mode(uint32_t w, uint32_t h)
{
	unsigned int i;

	for (i = 0; i < nmodes; i++)
		if (modes[i].hdisplay == w && modes[i].vdisplay == h)
			return &modes[i];
	fprintf(stderr, "kmstest: no mode %ux%u\n", w, h);
	exit(1);
}

#define FMT_XR24 0x34325258
#define FMT_AR24 0x34325241
#define FMT_XB24 0x34324258
#define FMT_AB24 0x34324241
#define FMT_RG16 0x36314752

static void fb_create_fmt(struct fb *f, uint32_t w, uint32_t h, uint32_t fmt)
{
	struct drm_mode_create_dumb c = { .width = w, .height = h,
					  .bpp = fmt == FMT_RG16 ? 16 : 32 };
	struct drm_mode_map_dumb m = { 0 };
	struct drm_mode_fb_cmd2 a = { 0 };

	if (xioctl(DRM_IOCTL_MODE_CREATE_DUMB, &c))
		die("CREATE_DUMB");
	f->w = w;
	f->h = h;
	f->pitch = c.pitch;
	f->handle = c.handle;
	f->size = c.size;
	a.width = w;
	a.height = h;
	a.pixel_format = fmt;
	a.handles[0] = c.handle;
	a.pitches[0] = c.pitch;
	if (xioctl(DRM_IOCTL_MODE_ADDFB2, &a))
		die("ADDFB2");
	f->id = a.fb_id;
	m.handle = c.handle;
	if (xioctl(DRM_IOCTL_MODE_MAP_DUMB, &m))
		die("MAP_DUMB");
	f->map = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, m.offset);
	if (f->map == MAP_FAILED)
		die("mmap");
}

static void fb_create(struct fb *f, uint32_t w, uint32_t h)
{
	fb_create_fmt(f, w, h, FMT_XR24);
}

static void fb_destroy(struct fb *f)
{
	struct drm_mode_destroy_dumb d = { .handle = f->handle };

	munmap(f->map, f->size);
	xioctl(DRM_IOCTL_MODE_RMFB, &f->id);
	xioctl(DRM_IOCTL_MODE_DESTROY_DUMB, &d);
}

static inline uint32_t *px(struct fb *f, uint32_t x, uint32_t y)
{
	return (uint32_t *)((char *)f->map + (size_t)y * f->pitch) + x;
}

static void fill_base(struct fb *f, uint32_t inv)
{
	for (uint32_t y = 0; y < f->h; y++) {
		uint32_t *p = px(f, 0, y);

		for (uint32_t x = 0; x < f->w; x++)
			p[x] = base_px(x, y) ^ inv;
	}
}

static void fill_rect(struct fb *f, const struct rect *r, uint32_t k)
{
	for (uint32_t y = r->y; y < r->y + r->h && y < f->h; y++)
		for (uint32_t x = r->x; x < r->x + r->w && x < f->w; x++)
			*px(f, x, y) = rect_px(k, x, y);
}

static void set_crtc(struct fb *f, const struct drm_mode_modeinfo *mode)
{
	struct drm_mode_crtc c = {
		.set_connectors_ptr = (uintptr_t)&conn_id,
		.count_connectors = 1,
		.crtc_id = crtc_id,
		.fb_id = f->id,
		.mode_valid = 1,
		.mode = *mode,
	};

	if (xioctl(DRM_IOCTL_MODE_SETCRTC, &c))
		die("SETCRTC %ux%u", mode->hdisplay, mode->vdisplay);
}

static void dirty(struct fb *f, const struct rect *r, unsigned int n)
{
	struct drm_clip_rect clips[64];
	struct drm_mode_fb_dirty_cmd d = { .fb_id = f->id, .num_clips = n,
					   .clips_ptr = (uintptr_t)clips };

	for (unsigned int i = 0; i < n && i < 64; i++) {
		clips[i].x1 = r[i].x;
		clips[i].y1 = r[i].y;
		clips[i].x2 = r[i].x + r[i].w;
		clips[i].y2 = r[i].y + r[i].h;
	}
	if (xioctl(DRM_IOCTL_MODE_DIRTYFB, &d))
		die("DIRTYFB");
}

static void flip(struct fb *f)
{
	struct drm_mode_crtc_page_flip p = { .crtc_id = crtc_id, .fb_id = f->id,
					     .flags = DRM_MODE_PAGE_FLIP_EVENT };
	char buf[256];
	struct drm_event *e = (struct drm_event *)buf;

	if (xioctl(DRM_IOCTL_MODE_PAGE_FLIP, &p))
		die("PAGE_FLIP");
	if (read(fd, buf, sizeof(buf)) < (ssize_t)sizeof(*e) || e->type != DRM_EVENT_FLIP_COMPLETE)
		die("flip event");
}

static void stage(const char *fmt, ...)
{
	char line[64];
	va_list ap;

	printf("@@STAGE ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("@@\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		exit(0);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
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
 * virtio_desk: DIRTYFB returns only after the device answered the transfer.
 * virtio_gpu: DIRTYFB only queues transfer and flush commands (no fence for
 * dumb buffers), so make a fenced command (a 1x1 resource) and wait for its
 * fence: the host handles the control queue in order.  bochs: the host reads
 * VRAM on its own display refresh; there is nothing in flight.
 */
static double host_sync(void)
{
	double t = now();

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

static int try_dirty(struct fb *f, const struct rect *r, unsigned int n)
{
	struct drm_clip_rect clips[2];
	struct drm_mode_fb_dirty_cmd d = { .fb_id = f->id, .num_clips = n,
					   .clips_ptr = (uintptr_t)clips };

	for (unsigned int i = 0; i < n && i < 2; i++) {
		clips[i].x1 = r[i].x;
		clips[i].y1 = r[i].y;
		clips[i].x2 = r[i].x + r[i].w;
		clips[i].y2 = r[i].y + r[i].h;
	}
	return xioctl(DRM_IOCTL_MODE_DIRTYFB, &d) ? -errno : 0;
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
	host_sync();
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
	sync = host_sync();
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
	char path[300], devname[128];
	struct input_event ev[256];
	unsigned int keys = 0, dropped = 0, syns = 0;
	double first = 0, last = 0, t0;
	struct dirent *de;
	int in = -1;
	DIR *d;

	d = opendir("/dev/input");
	if (!d)
		die("opendir /dev/input");
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "event", 5))
			continue;
		snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
		in = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (in < 0)
			continue;
		memset(devname, 0, sizeof(devname));
		ioctl(in, EVIOCGNAME(sizeof(devname) - 1), devname);
		if (strstr(devname, name))
			break;
		close(in);
		in = -1;
	}
	closedir(d);
	if (in < 0) {
		printf("@@RESULT n=0 secs=0 device=none@@\n");
		return 0;
	}
	if (ioctl(in, EVIOCGRAB, 1))
		die("EVIOCGRAB");
	while (read(in, ev, sizeof(ev)) > 0)
		;	/* stale events */
	printf("device %s: %s\n", path, devname);
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
	fprintf(stderr, "kmstest: bad arguments\n");
	return 2;
}
