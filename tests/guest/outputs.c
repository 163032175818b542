// SPDX-License-Identifier: GPL-2.0
/*
 * outputs: the guest side of the multi-monitor tests (raw DRM ioctls).
 *
 *   outputs layout   one line per connector: "@@CONN <index> <connected 0/1>
 *                    <suggested X> <suggested Y> <hotplug_mode_update>@@"
 *                    (-1 for a property the connector does not have)
 *   outputs dual W H staged "dual": output 0 shows the base pattern, output 1
 *                    the inverted one (rig.py: Canvas(W, H, invert=True)),
 *                    both at WxH
 */
#include "kmslib.h"

#include <fcntl.h>
#include <unistd.h>

/* The value of the connector property called @name, or -1. */
static long long conn_prop(struct drm_mode_get_connector *c, const uint32_t *ids,
			   const uint64_t *values, const char *name)
{
	for (uint32_t i = 0; i < c->count_props; i++) {
		struct drm_mode_get_property p = { .prop_id = ids[i] };

		if (xioctl(DRM_IOCTL_MODE_GETPROPERTY, &p))
			die("GETPROPERTY");
		if (!strcmp(p.name, name))
			return (long long)values[i];
	}
	return -1;
}

static int cmd_layout(void)
{
	struct drm_mode_card_res res = { 0 };
	uint32_t conns[16];

	res.connector_id_ptr = (uintptr_t)conns;
	res.count_connectors = 16;
	if (xioctl(DRM_IOCTL_MODE_GETRESOURCES, &res) || res.count_connectors > 16)
		die("GETRESOURCES");
	for (uint32_t n = 0; n < res.count_connectors; n++) {
		uint32_t ids[64];
		uint64_t values[64];
		struct drm_mode_get_connector c = {
			.connector_id = conns[n],
			.props_ptr = (uintptr_t)ids,
			.prop_values_ptr = (uintptr_t)values,
			.count_props = 64,
		};

		if (xioctl(DRM_IOCTL_MODE_GETCONNECTOR, &c) || c.count_props > 64)
			die("GETCONNECTOR");
		printf("@@CONN %u %d %lld %lld %lld@@\n", n, c.connection == 1,
		       conn_prop(&c, ids, values, "suggested X"),
		       conn_prop(&c, ids, values, "suggested Y"),
		       conn_prop(&c, ids, values, "hotplug_mode_update"));
	}
	return 0;
}

static int cmd_dual(uint32_t w, uint32_t h)
{
	struct fb f[2];

	for (unsigned int i = 0; i < 2; i++) {
		probe_output(i);
		fb_create(&f[i], w, h);
		fill_base(&f[i], i ? 0xffffff : 0);
		set_crtc(&f[i], find_mode(w, h));
	}
	stage("dual");
	fb_destroy(&f[0]);
	fb_destroy(&f[1]);
	return 0;
}

int main(int argc, char **argv)
{
	fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/dri/card0");
	if (argc == 2 && !strcmp(argv[1], "layout"))
		return cmd_layout();
	if (argc == 4 && !strcmp(argv[1], "dual"))
		return cmd_dual(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: see outputs.c\n");
	return 2;
}
