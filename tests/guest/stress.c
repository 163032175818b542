// SPDX-License-Identifier: GPL-2.0
/*
 * stress: one DRM master, several threads on one fd, for the multi-vCPU
 * tests (smp_tests.py).  Raw ioctls only.
 *
 *   stress [-d /dev/dri/cardN] W H SECS [flip] [cursor] [crtc] [dirty] [full]
 *
 * Sets a W x H mode on the first connected output (CRTC 0) with buffer 0
 * of two, both holding the base pattern (kmslib), then runs one thread per
 * word for SECS seconds (or until SIGTERM/SIGINT):
 *   flip    atomic page flips (PAGE_FLIP_EVENT | ATOMIC_NONBLOCK) between
 *           the two buffers, each frame j first painting the stripe (rows
 *           0..STRIPE-1, full width) of its buffer in the colour j &
 *           0xffffff (XRGB) and giving it as the one FB_DAMAGE_CLIPS clip:
 *           what is on screen tells which frame was shown last.  The only
 *           thread that reads the fd (flip events).  A commit refused with
 *           EBUSY (another commit in flight) or EINVAL (the CRTC is off) is
 *           retried.  With full: no damage clip, every flip sends the
 *           whole frame (more than the 1 MiB the device copies at once, so
 *           each is answered from its bottom half).
 *   cursor  the legacy cursor ioctls: a 64x64 ARGB cursor set with
 *           DRM_IOCTL_MODE_CURSOR2, moved with DRM_IOCTL_MODE_CURSOR every
 *           millisecond, a new image every 100 moves, hidden and shown
 *           again every 500
 *   crtc    CRTC off and on again every 50 ms: in turn atomic ACTIVE 0/1
 *           (ALLOW_MODESET, blocking, as compositors do for DPMS) and legacy
 *           SETCRTC without and with a framebuffer (buffer 0)
 *   dirty   DIRTYFB of a 64x64 clip, freshly painted, on the two buffers in
 *           turn every 4 ms (front-buffer rendering; on the buffer not shown
 *           it changes nothing on screen)
 *
 * Every second: "@@PROG t=T flips=N cursor=N crtc=N dirty=N@@".  At the
 * end, one line (error counts by errno: "<errno name>:<n>,..."):
 *   @@RESULT stress secs=S flips=N flip_busy=N flip_off=N flip_timeouts=N
 *            flip_errs=E cursor=N cursor_errs=E crtc=N crtc_errs=E dirty=N
 *            dirty_errs=E@@
 * flips: flip events read; cursor: cursor ioctls that succeeded; crtc:
 * off/on cycles.  A flip event that does not come within 30 s counts as a
 * flip timeout and ends the flip thread.  Exit status 0, or 3 after a flip
 * timeout.
 */
#include "kmslib.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define STRIPE 16
#define CURSOR 64
#define MAXERR 8

static struct fb fbs[2];
static const struct drm_mode_modeinfo *mode;
static uint32_t W, H, plane, p_fb, p_damage, c_active;
static int full_damage;
static volatile sig_atomic_t stop;

/* errno -> count, a few distinct ones per thread */
struct errs {
	int code[MAXERR];
	unsigned long n[MAXERR];
};

static void err_add(struct errs *e, int code)
{
	for (int i = 0; i < MAXERR; i++) {
		if (e->code[i] == code || !e->n[i]) {
			e->code[i] = code;
			__atomic_add_fetch(&e->n[i], 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

static void err_print(const char *name, const struct errs *e)
{
	printf(" %s=", name);
	if (!e->n[0])
		printf("0");
	for (int i = 0; i < MAXERR && e->n[i]; i++)
		printf("%s%s:%lu", i ? "," : "", strerrorname_np(e->code[i]) ?: "?", e->n[i]);
}

static unsigned long flips, flip_busy, flip_off, flip_timeouts, cursor_ok, crtc_cycles, dirty_ok;
static struct errs flip_errs, cursor_errs, crtc_errs, dirty_errs;

static void bump(unsigned long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static unsigned long get(unsigned long *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void msleep(unsigned int ms)
{
	usleep(ms * 1000);
}

/* --- threads --- */

/* Wait up to 30 s for the flip event of frame j: 0, or -ETIMEDOUT. */
static int flip_event(uint64_t j)
{
	char buf[1024];
	double end = now() + 30;

	while (now() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 1000);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll");
		if (r == 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < (ssize_t)sizeof(struct drm_event))
			die("read event");
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct drm_event) <= n;) {
			struct drm_event *e = (struct drm_event *)(buf + off);
			struct drm_event_vblank *v = (struct drm_event_vblank *)e;

			if (e->type != DRM_EVENT_FLIP_COMPLETE || v->user_data != j) {
				errno = EPROTO;
				die("event type %u for frame %llu, waiting for %llu", e->type,
				    (unsigned long long)v->user_data, (unsigned long long)j);
			}
			return 0;
		}
	}
	return -ETIMEDOUT;
}

static void *flip_thread(void *arg)
{
	(void)arg;
	for (uint64_t j = 1; !stop;) {
		struct fb *b = &fbs[j & 1];
		uint32_t colour = j & 0xffffff;
		struct drm_mode_create_blob cb;
		struct drm_mode_destroy_blob db;
		struct drm_mode_rect clip = { 0, 0, W, STRIPE };
		struct atomic_req req = { 0 };
		int ret;

		for (uint32_t y = 0; y < STRIPE; y++)
			for (uint32_t x = 0; x < W; x++)
				*px(b, x, y) = colour;
		cb = (struct drm_mode_create_blob){ .data = (uintptr_t)&clip, .length = sizeof(clip) };
		if (xioctl(DRM_IOCTL_MODE_CREATEPROPBLOB, &cb))
			die("CREATEPROPBLOB");
		req_add(&req, plane, p_fb, b->id);
		if (!full_damage)
			req_add(&req, plane, p_damage, cb.blob_id);
		ret = req_commit(&req, DRM_MODE_PAGE_FLIP_EVENT | DRM_MODE_ATOMIC_NONBLOCK, j);
		db.blob_id = cb.blob_id;
		xioctl(DRM_IOCTL_MODE_DESTROYPROPBLOB, &db);
		if (ret == -EBUSY) {
			bump(&flip_busy);
			msleep(1);
			continue;
		}
		if (ret == -EINVAL) {	/* the CRTC is off, or has no plane */
			bump(&flip_off);
			msleep(2);
			continue;
		}
		if (ret) {
			err_add(&flip_errs, -ret);
			msleep(2);
			continue;
		}
		if (flip_event(j)) {
			bump(&flip_timeouts);
			printf("@@STRESS flip-timeout frame=%llu@@\n", (unsigned long long)j);
			fflush(stdout);
			return NULL;
		}
		bump(&flips);
		j++;
	}
	return NULL;
}

static void cursor_image(struct fb *c, uint32_t n)
{
	for (uint32_t y = 0; y < CURSOR; y++)
		for (uint32_t x = 0; x < CURSOR; x++)
			*px(c, x, y) = (x + y) % 16 ? 0xff000000u | ((x * 4 + n * 50) & 0xff) << 16 |
					((y * 4) & 0xff) << 8 | (((x ^ y) * 3 + n) & 0xff) : 0;
}

static void cursor_ioctl(unsigned long req, void *arg)
{
	if (xioctl(req, arg))
		err_add(&cursor_errs, errno);
	else
		bump(&cursor_ok);
}

static void *cursor_thread(void *arg)
{
	struct fb img[2];

	(void)arg;
	fb_create_fmt(&img[0], CURSOR, CURSOR, FMT_AR24);
	fb_create_fmt(&img[1], CURSOR, CURSOR, FMT_AR24);
	cursor_image(&img[0], 1);
	cursor_image(&img[1], 2);
	for (unsigned long i = 0; !stop; i++) {
		if (i % 100 == 0 || i % 500 == 1) {
			struct drm_mode_cursor2 set = {
				.flags = DRM_MODE_CURSOR_BO, .crtc_id = crtc_id, .width = CURSOR,
				.height = CURSOR, .handle = img[(i / 100) & 1].handle, .hot_x = 3, .hot_y = 5,
			};

			cursor_ioctl(DRM_IOCTL_MODE_CURSOR2, &set);
		} else if (i % 500 == 0) {
			struct drm_mode_cursor hide = { .flags = DRM_MODE_CURSOR_BO, .crtc_id = crtc_id };

			cursor_ioctl(DRM_IOCTL_MODE_CURSOR, &hide);
		} else {
			struct drm_mode_cursor mv = {
				.flags = DRM_MODE_CURSOR_MOVE, .crtc_id = crtc_id,
				.x = (i * 7) % W, .y = (i * 3) % H,
			};

			cursor_ioctl(DRM_IOCTL_MODE_CURSOR, &mv);
		}
		msleep(1);
	}
	return NULL;
}

static void crtc_err(int ret)
{
	if (ret)
		err_add(&crtc_errs, -ret);
}

static int setcrtc(struct fb *f)
{
	struct drm_mode_crtc c = { .crtc_id = crtc_id };

	if (f) {
		c.set_connectors_ptr = (uintptr_t)&conn_id;
		c.count_connectors = 1;
		c.fb_id = f->id;
		c.mode_valid = 1;
		c.mode = *mode;
	}
	return xioctl(DRM_IOCTL_MODE_SETCRTC, &c) ? -errno : 0;
}

static int set_active(int on)
{
	struct atomic_req req = { 0 };

	req_add(&req, crtc_id, c_active, on);
	return req_commit(&req, DRM_MODE_ATOMIC_ALLOW_MODESET, 0);
}

static void *crtc_thread(void *arg)
{
	(void)arg;
	for (unsigned long i = 0; !stop; i++) {
		msleep(50);
		if (i & 1) {
			crtc_err(setcrtc(NULL));
			msleep(50);
			crtc_err(setcrtc(&fbs[0]));
		} else {
			crtc_err(set_active(0));
			msleep(50);
			crtc_err(set_active(1));
		}
		bump(&crtc_cycles);
	}
	return NULL;
}

static void *dirty_thread(void *arg)
{
	(void)arg;
	for (unsigned long k = 0; !stop; k++) {
		struct fb *b = &fbs[k & 1];
		struct rect r = { (k * 37) % (W - 64), STRIPE + (k * 23) % (H - 64 - STRIPE), 64, 64 };
		int ret;

		for (uint32_t y = r.y; y < r.y + r.h; y++)
			for (uint32_t x = r.x; x < r.x + r.w; x++)
				*px(b, x, y) = (k * 0x10101 + x * 3 + y * 7) & 0xffffff;
		ret = try_dirty(b, &r, 1);
		if (ret)
			err_add(&dirty_errs, -ret);
		else
			bump(&dirty_ok);
		msleep(4);
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/dri/card0";
	void *(*fns[8])(void *);
	pthread_t th[8];
	int nth = 0;
	double t0, secs;

	if (argc > 2 && !strcmp(argv[1], "-d")) {
		dev = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 5) {
		fprintf(stderr, "usage: stress [-d DEV] W H SECS [flip] [cursor] [crtc] [dirty]\n");
		return 2;
	}
	W = atoi(argv[1]);
	H = atoi(argv[2]);
	secs = atof(argv[3]);
	for (int a = 4; a < argc; a++) {
		if (!strcmp(argv[a], "flip"))
			fns[nth++] = flip_thread;
		else if (!strcmp(argv[a], "cursor"))
			fns[nth++] = cursor_thread;
		else if (!strcmp(argv[a], "crtc"))
			fns[nth++] = crtc_thread;
		else if (!strcmp(argv[a], "dirty"))
			fns[nth++] = dirty_thread;
		else if (!strcmp(argv[a], "full"))
			full_damage = 1;
		else
			die("unknown thread %s", argv[a]);
		if (nth > 4)
			die("too many threads");
	}
	if (W < 128 || H < 128)
		die("mode too small");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open %s", dev);
	probe();
	mode = find_mode(W, H);
	if (xioctl(DRM_IOCTL_SET_CLIENT_CAP, &(struct drm_set_client_cap){ DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1 }) ||
	    xioctl(DRM_IOCTL_SET_CLIENT_CAP, &(struct drm_set_client_cap){ DRM_CLIENT_CAP_ATOMIC, 1 }))
		die("SET_CLIENT_CAP ATOMIC");
	plane = primary_plane(crtc_id);
	p_fb = obj_prop(plane, DRM_MODE_OBJECT_PLANE, "FB_ID", NULL);
	p_damage = obj_prop(plane, DRM_MODE_OBJECT_PLANE, "FB_DAMAGE_CLIPS", NULL);
	c_active = obj_prop(crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", NULL);
	for (int i = 0; i < 2; i++) {
		fb_create(&fbs[i], W, H);
		fill_base(&fbs[i], 0);
	}
	set_crtc(&fbs[0], mode);

	t0 = now();
	for (int i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, fns[i], NULL))
			die("pthread_create");
	while (!stop && now() - t0 < secs) {
		msleep(1000);
		printf("@@PROG t=%.1f flips=%lu cursor=%lu crtc=%lu dirty=%lu@@\n", now() - t0, get(&flips),
		       get(&cursor_ok), get(&crtc_cycles), get(&dirty_ok));
	}
	stop = 1;
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	printf("@@RESULT stress secs=%.1f flips=%lu flip_busy=%lu flip_off=%lu flip_timeouts=%lu", now() - t0,
	       flips, flip_busy, flip_off, flip_timeouts);
	err_print("flip_errs", &flip_errs);
	printf(" cursor=%lu", cursor_ok);
	err_print("cursor_errs", &cursor_errs);
	printf(" crtc=%lu", crtc_cycles);
	err_print("crtc_errs", &crtc_errs);
	printf(" dirty=%lu", dirty_ok);
	err_print("dirty_errs", &dirty_errs);
	printf("@@\n");
	return flip_timeouts ? 3 : 0;
}
