// SPDX-License-Identifier: GPL-2.0
/* kmslib: see kmslib.h.  Linked into every guest test program. */
#include "kmslib.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/input.h>

int fd;
uint32_t conn_id, crtc_id;
struct drm_mode_modeinfo modes[256];
unsigned int nmodes;

/* --- DRM --- */

int xioctl(unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r == -1 && (errno == EINTR || errno == EAGAIN));
	return r;
}

/* Connector n (connected) and CRTC n; n < 0: the first connected connector, CRTC 0. */
static void probe_connector(int n)
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
	if (n >= (int)res.count_connectors || n >= (int)res.count_crtcs)
		die("no output %d", n);
	for (i = n < 0 ? 0 : n; i < res.count_connectors; i++) {
		struct drm_mode_get_connector c = { .connector_id = conns[i] };

		if (xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &c))
			die("GETCONNECTOR");
		if (c.connection != 1 || !c.count_modes) {
			if (n >= 0)
				break;
			continue;
		}
		if (c.count_modes > 256)
			c.count_modes = 256;
		nmodes = c.count_modes;
		c.modes_ptr = (uintptr_t)modes;
		c.count_props = 0;
		c.count_encoders = 0;
		if (xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &c))
			die("GETCONNECTOR");
		conn_id = conns[i];
		crtc_id = crtcs[n < 0 ? 0 : n];
		return;
	}
	fprintf(stderr, "%s: ", program_invocation_short_name);
	fprintf(stderr, "no connected connector\n");
	exit(1);
}

void probe(void)
{
	probe_connector(-1);
}

void probe_output(unsigned int n)
{
	probe_connector(n);
}

const struct drm_mode_modeinfo *find_mode(uint32_t w, uint32_t h)
{
	unsigned int i;

	for (i = 0; i < nmodes; i++)
		if (modes[i].hdisplay == w && modes[i].vdisplay == h)
			return &modes[i];
	fprintf(stderr, "%s: ", program_invocation_short_name);
	fprintf(stderr, "no mode %ux%u\n", w, h);
	exit(1);
}

void fb_create_fmt(struct fb *f, uint32_t w, uint32_t h, uint32_t fmt)
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

void fb_create(struct fb *f, uint32_t w, uint32_t h)
{
	fb_create_fmt(f, w, h, FMT_XR24);
}

void fb_destroy(struct fb *f)
{
	struct drm_mode_destroy_dumb d = { .handle = f->handle };

	munmap(f->map, f->size);
	xioctl(DRM_IOCTL_MODE_RMFB, &f->id);
	xioctl(DRM_IOCTL_MODE_DESTROY_DUMB, &d);
}

void set_crtc(struct fb *f, const struct drm_mode_modeinfo *mode)
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

int try_dirty(struct fb *f, const struct rect *r, unsigned int n)
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
	return xioctl(DRM_IOCTL_MODE_DIRTYFB, &d) ? -errno : 0;
}

void dirty(struct fb *f, const struct rect *r, unsigned int n)
{
	int ret = try_dirty(f, r, n);

	if (ret) {
		errno = -ret;
		die("DIRTYFB");
	}
}

void flip(struct fb *f)
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

double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* --- evdev --- */

int open_input(const char *name, char *devname, size_t len)
{
	char path[300];
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
		memset(devname, 0, len);
		ioctl(in, EVIOCGNAME(len - 1), devname);
		if (strstr(devname, name))
			break;
		close(in);
		in = -1;
	}
	closedir(d);
	return in;
}

/* --- atomic --- */

uint32_t obj_prop(uint32_t obj, uint32_t type, const char *name, uint64_t *value)
{
	uint32_t ids[64];
	uint64_t vals[64];
	struct drm_mode_obj_get_properties op = { .obj_id = obj, .obj_type = type };

	if (xioctl(DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op))
		die("OBJ_GETPROPERTIES %u", obj);
	if (op.count_props > 64)
		op.count_props = 64;
	op.props_ptr = (uintptr_t)ids;
	op.prop_values_ptr = (uintptr_t)vals;
	if (xioctl(DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op))
		die("OBJ_GETPROPERTIES %u", obj);
	for (uint32_t i = 0; i < op.count_props && i < 64; i++) {
		struct drm_mode_get_property p = { .prop_id = ids[i] };

		if (xioctl(DRM_IOCTL_MODE_GETPROPERTY, &p))
			die("GETPROPERTY %u", ids[i]);
		if (!strcmp(p.name, name)) {
			if (value)
				*value = vals[i];
			return ids[i];
		}
	}
	errno = ENOENT;
	die("object %u has no property %s", obj, name);
}

uint32_t crtc_index_of(uint32_t crtc)
{
	struct drm_mode_card_res res = { 0 };
	uint32_t crtcs[16], i;

	res.crtc_id_ptr = (uintptr_t)crtcs;
	res.count_crtcs = 16;
	if (xioctl(DRM_IOCTL_MODE_GETRESOURCES, &res))
		die("GETRESOURCES");
	for (i = 0; i < res.count_crtcs && i < 16 && crtcs[i] != crtc; i++)
		;
	return i;
}

uint32_t primary_plane(uint32_t crtc)
{
	struct drm_mode_get_plane_res pr = { 0 };
	uint32_t planes[32], index = crtc_index_of(crtc);

	if (xioctl(DRM_IOCTL_MODE_GETPLANERESOURCES, &pr))
		die("GETPLANERESOURCES");
	if (pr.count_planes > 32)
		pr.count_planes = 32;
	pr.plane_id_ptr = (uintptr_t)planes;
	if (xioctl(DRM_IOCTL_MODE_GETPLANERESOURCES, &pr))
		die("GETPLANERESOURCES");
	for (uint32_t i = 0; i < pr.count_planes; i++) {
		struct drm_mode_get_plane p = { .plane_id = planes[i] };
		uint64_t type;

		if (xioctl(DRM_IOCTL_MODE_GETPLANE, &p))
			die("GETPLANE");
		if (!(p.possible_crtcs & (1u << index)))
			continue;
		obj_prop(planes[i], DRM_MODE_OBJECT_PLANE, "type", &type);
		if (type == 1 /* DRM_PLANE_TYPE_PRIMARY */)
			return planes[i];
	}
	errno = ENOENT;
	die("no primary plane for CRTC %u", crtc);
}

void req_add(struct atomic_req *r, uint32_t obj, uint32_t prop, uint64_t val)
{
	if (!r->nobj || r->objs[r->nobj - 1] != obj) {
		r->objs[r->nobj] = obj;
		r->counts[r->nobj++] = 0;
	}
	r->counts[r->nobj - 1]++;
	r->props[r->nprop] = prop;
	r->vals[r->nprop++] = val;
}

int req_commit(struct atomic_req *r, uint32_t flags, uint64_t user_data)
{
	struct drm_mode_atomic a = {
		.flags = flags, .count_objs = r->nobj, .objs_ptr = (uintptr_t)r->objs,
		.count_props_ptr = (uintptr_t)r->counts, .props_ptr = (uintptr_t)r->props,
		.prop_values_ptr = (uintptr_t)r->vals, .user_data = user_data,
	};

	return xioctl(DRM_IOCTL_MODE_ATOMIC, &a) ? -errno : 0;
}

/* --- the base pattern (mirrored in rig.py, Canvas) --- */

uint32_t base_px(uint32_t x, uint32_t y)
{
	uint32_t r = x & 255, g = y & 255, b = ((x >> 8) * 16 + (y >> 8) * 4 + 128) & 255;

	return r << 16 | g << 8 | b;
}

void fill_base(struct fb *f, uint32_t inv)
{
	for (uint32_t y = 0; y < f->h; y++) {
		uint32_t *p = px(f, 0, y);

		for (uint32_t x = 0; x < f->w; x++)
			p[x] = base_px(x, y) ^ inv;
	}
}

/* --- staged programs --- */

void stage(const char *fmt, ...)
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
