// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: a cursor plane per CRTC (VIRTIO_DESK_F_CURSOR).
 *
 * The cursor goes on its own virtqueue, so that it never waits behind a big
 * transfer on the control queue: a move is one 24-byte CURSOR_MOVE, a new
 * image one CURSOR_DEFINE that carries its pixels.  Requests are queued
 * without waiting for the answer; the virtqueue callback frees them.
 *
 * Legacy cursor ioctls (DRM_IOCTL_MODE_CURSOR and CURSOR2, as Xorg's
 * modesetting driver and modetest use them) reach the plane through the DRM
 * core as atomic commits with legacy_cursor_update; the plane takes them
 * as async updates, applied in the ioctl, so they do not wait for the
 * flip before them either.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_drv.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_gem_framebuffer_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "vdesk_drv.h"

static_assert(sizeof(struct virtio_desk_cursor_pos) == 24);
static_assert(sizeof(struct virtio_desk_cursor_define) == 40);

/*
 * DRIVER_CURSOR_HOTSPOT: Linux 6.8+ hides the cursor plane of such a driver
 * from every atomic client that does not set
 * DRM_CLIENT_CAP_CURSOR_PLANE_HOTSPOT.  Of the compositors Debian ships,
 * Mutter sets it only for qxl, vboxvideo, virtio_gpu and vmwgfx, and
 * Weston (10 in bookworm) not at all: with the flag they would all lose
 * the plane and draw the pointer into the framebuffer, every move a
 * damage, a redraw and a transfer, which is what the cursor plane is here
 * to avoid.  So the flag is off by default: every client gets the plane,
 * and the host is told hotspot 0,0 (the image's top-left corner is the
 * pointer), which puts a VNC or SPICE client-side cursor off by the
 * image's real hotspot (a few pixels for an arrow).  cursor_hotspot=1
 * turns the flag on for a guest that runs Xorg (CURSOR2 passes the
 * hotspot) or a compositor that sets the capability: the host then gets
 * the real hotspot and the pointer tip is exact.
 */
static bool cursor_hotspot;
module_param(cursor_hotspot, bool, 0444);
MODULE_PARM_DESC(cursor_hotspot, "DRIVER_CURSOR_HOTSPOT: the cursor plane only for clients that set the hotspot (default N: for every client, hotspot 0,0)");

static const u32 vdesk_cursor_formats[] = {
	DRM_FORMAT_ARGB8888,
};

static_assert(DRM_FORMAT_ARGB8888 == VIRTIO_DESK_FORMAT_ARGB8888);

/* One cursor request and room for its answer. */
struct vdesk_cursor_req {
	struct virtio_desk_ctrl_hdr resp;
	u32 len;
	u32 type;
	u8 cmd[];		/* len bytes: the command, with its pixels */
};

/* --- Cursor queue -------------------------------------------------------------- */

void vdesk_cursor_done(struct virtqueue *vq)
{
	struct vdesk_device *vd = vq->vdev->priv;
	struct vdesk_cursor_req *req;
	unsigned long flags;
	unsigned int len;

	spin_lock_irqsave(&vd->cursor_lock, flags);
	do {
		virtqueue_disable_cb(vq);
		while ((req = virtqueue_get_buf(vq, &len))) {
			u32 type = le32_to_cpu(req->resp.type);

			if (len < sizeof(req->resp) || type != VIRTIO_DESK_RESP_OK_NODATA)
				drm_err_ratelimited(&vd->drm, "cursor command %#x failed: %#x (%s)\n",
						    req->type, type, vdesk_err_name(type));
			vd->cursor_answers++;
			kfree(req);
		}
	} while (!virtqueue_enable_cb(vq));
	spin_unlock_irqrestore(&vd->cursor_lock, flags);
	wake_up(&vd->cursor_space);
}

/*
 * Queue one request, without waiting for its answer.  Only a full ring
 * (which a device that answers at once never leaves full) makes us wait,
 * and not while the control queue finds the device stalled.  Without the
 * queue (a reset under way, a device without F_CURSOR after a restore)
 * the update is dropped: vdesk_cursor_restore() sends the last one later.
 */
static int vdesk_cursor_send(struct vdesk_device *vd, const void *cmd, size_t len)
{
	struct vdesk_cursor_req *req;
	struct scatterlist out, in, *sgs[] = { &out, &in };
	unsigned long flags;
	u64 answers;
	int ret, idx;

	if (!drm_dev_enter(&vd->drm, &idx))
		return -ENODEV;
	req = kmalloc(struct_size(req, cmd, len), GFP_KERNEL);
	if (!req) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(req->cmd, cmd, len);
	req->len = len;
	req->type = le32_to_cpu(((const struct virtio_desk_ctrl_hdr *)cmd)->type);
	req->resp.type = 0;
	sg_init_one(&out, req->cmd, len);
	sg_init_one(&in, &req->resp, sizeof(req->resp));
	for (;;) {
		spin_lock_irqsave(&vd->cursor_lock, flags);
		if (vd->cursor_up) {
			ret = virtqueue_add_sgs(vd->cursorq, sgs, 1, 1, req, GFP_ATOMIC);
			if (!ret)
				virtqueue_kick(vd->cursorq);
		} else {
			ret = -ENODEV;
		}
		answers = vd->cursor_answers;
		spin_unlock_irqrestore(&vd->cursor_lock, flags);
		if (ret != -ENOSPC)
			break;
		if (READ_ONCE(vd->stalled)) {
			ret = -EIO;
			break;
		}
		if (!wait_event_timeout(vd->cursor_space,
					READ_ONCE(vd->cursor_answers) != answers ||
					!READ_ONCE(vd->cursor_up) || READ_ONCE(vd->stalled),
					msecs_to_jiffies(VDESK_TIMEOUT_MS))) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (ret == -ENODEV || ret == -EIO)
		atomic_inc(&vd->stats.cursor_dropped);
	else if (ret)
		drm_err_ratelimited(&vd->drm, "cursor command %#x not queued: %d\n",
				    req->type, ret);
	if (ret)
		kfree(req);
out:
	drm_dev_exit(idx);
	return ret;
}

/* Once the device is ready: cursor requests may go out. */
void vdesk_cursor_start(struct vdesk_device *vd)
{
	spin_lock_irq(&vd->cursor_lock);
	vd->cursor_up = vd->cursorq;
	spin_unlock_irq(&vd->cursor_lock);
}

/*
 * After a reset of the device: no cursor request goes out from now on;
 * free the ones it will never answer.
 */
void vdesk_cursor_reclaim(struct vdesk_device *vd)
{
	struct vdesk_cursor_req *req;

	spin_lock_irq(&vd->cursor_lock);
	vd->cursor_up = false;
	while (vd->cursorq && (req = virtqueue_detach_unused_buf(vd->cursorq)))
		kfree(req);
	spin_unlock_irq(&vd->cursor_lock);
	wake_up(&vd->cursor_space);
}

/* --- State sent to the device ------------------------------------------------ */

/*
 * Send what @state shows on @out: a CURSOR_DEFINE with the image of its
 * framebuffer when @new_image, else a CURSOR_MOVE.  out->cursor keeps the
 * last image and position, for vdesk_cursor_restore().
 */
static void vdesk_cursor_show(struct vdesk_output *out,
			      struct drm_plane_state *state, bool new_image)
{
	struct vdesk_device *vd = to_vdesk(out->crtc.dev);
	struct virtio_desk_cursor_define *def = out->cursor;
	struct drm_framebuffer *fb = state->fb;
	struct iosys_map map[DRM_FORMAT_MAX_PLANES], data[DRM_FORMAT_MAX_PLANES];
	bool visible = state->visible && fb;
	__le32 *pixels = (__le32 *)(def + 1);
	u32 row;

	mutex_lock(&vd->cursor_mutex);
	def->pos.output_id = cpu_to_le32(out->index);
	def->pos.visible = cpu_to_le32(visible);
	/*
	 * The device takes -max_dimension..max_dimension-1; a cursor further
	 * off is not seen anyway.
	 */
	def->pos.x = cpu_to_le32(clamp_t(s64, (s64)state->crtc_x + state->hotspot_x,
					 -(s64)vd->max_dimension, vd->max_dimension - 1));
	def->pos.y = cpu_to_le32(clamp_t(s64, (s64)state->crtc_y + state->hotspot_y,
					 -(s64)vd->max_dimension, vd->max_dimension - 1));
	if (!visible || !new_image || drm_gem_fb_vmap(fb, map, data)) {
		def->pos.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_CURSOR_MOVE);
		vdesk_cursor_send(vd, &def->pos, sizeof(def->pos));
		goto out;
	}
	def->width = cpu_to_le32(fb->width);
	def->height = cpu_to_le32(fb->height);
	def->hot_x = cpu_to_le32(clamp_t(s32, state->hotspot_x, 0, fb->width - 1));
	def->hot_y = cpu_to_le32(clamp_t(s32, state->hotspot_y, 0, fb->height - 1));
	/* ARGB8888 is little-endian in memory, as on the wire: rows as they are */
	for (row = 0; row < fb->height; row++)
		memcpy(pixels + row * fb->width,
		       data[0].vaddr + row * fb->pitches[0],
		       fb->width * 4);
	drm_gem_fb_vunmap(fb, map);
	def->pos.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_CURSOR_DEFINE);
	out->cursor_defined = true;
	vdesk_cursor_send(vd, def, sizeof(*def) + fb->width * fb->height * 4);
out:
	mutex_unlock(&vd->cursor_mutex);
}

/**
 * vdesk_cursor_restore - send every output's cursor to a reset device
 * @vd: the device, after its reset and initialization
 *
 * What the cursor planes show (the last image, hotspot and position sent)
 * is defined again, so that a device that forgot it on reset (resume,
 * restore from hibernation, FLR) shows the same cursor.
 */
void vdesk_cursor_restore(struct vdesk_device *vd)
{
	unsigned int i;

	if (!vd->cursorq)
		return;
	mutex_lock(&vd->cursor_mutex);
	for (i = 0; i < vd->num_outputs; i++) {
		struct virtio_desk_cursor_define *def = vd->outputs[i].cursor;

		if (!vd->outputs[i].cursor_defined)
			continue;
		def->pos.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_CURSOR_DEFINE);
		vdesk_cursor_send(vd, def, sizeof(*def) +
				  le32_to_cpu(def->width) * le32_to_cpu(def->height) * 4);
	}
	mutex_unlock(&vd->cursor_mutex);
}

/* --- Cursor plane ---------------------------------------------------------------- */

static inline struct vdesk_output *cursor_to_output(struct drm_plane *plane)
{
	return container_of(plane, struct vdesk_output, cursor_plane);
}

static int vdesk_cursor_atomic_check(struct drm_plane *plane,
				     struct drm_atomic_state *state)
{
	struct drm_plane_state *new = drm_atomic_get_new_plane_state(state, plane);
	struct drm_crtc_state *crtc_state = NULL;
	struct drm_framebuffer *fb = new->fb;
	int ret;

	if (new->crtc)
		crtc_state = drm_atomic_get_new_crtc_state(state, new->crtc);
	ret = drm_atomic_helper_check_plane_state(new, crtc_state,
						  DRM_PLANE_NO_SCALING,
						  DRM_PLANE_NO_SCALING,
						  true, true);
	if (ret || !fb)
		return ret;
	/* the whole framebuffer is the image: no cropping */
	if (fb->width > VIRTIO_DESK_CURSOR_MAX || fb->height > VIRTIO_DESK_CURSOR_MAX ||
	    new->src_x || new->src_y || new->src_w != fb->width << 16 ||
	    new->src_h != fb->height << 16) {
		drm_dbg_atomic(plane->dev,
			       "cursor %ux%u src %ux%u+%u+%u: not a whole image <= %u\n",
			       fb->width, fb->height, new->src_w >> 16, new->src_h >> 16,
			       new->src_x >> 16, new->src_y >> 16, VIRTIO_DESK_CURSOR_MAX);
		return -EINVAL;
	}
	return 0;
}

static bool vdesk_cursor_new_image(const struct drm_plane_state *old,
				   const struct drm_plane_state *new)
{
	return old->fb != new->fb || old->hotspot_x != new->hotspot_x ||
	       old->hotspot_y != new->hotspot_y;
}

static void vdesk_cursor_atomic_update(struct drm_plane *plane,
				       struct drm_atomic_state *state)
{
	struct drm_plane_state *new = drm_atomic_get_new_plane_state(state, plane);
	struct drm_plane_state *old = drm_atomic_get_old_plane_state(state, plane);

	vdesk_cursor_show(cursor_to_output(plane), new,
			  vdesk_cursor_new_image(old, new));
}

/* atomic_check has run: any update of the plane alone can be async. */
static int vdesk_cursor_atomic_async_check(struct drm_plane *plane,
					   struct drm_atomic_state *state)
{
	return 0;
}

/* In place, in the ioctl: swap the framebuffer so the old one is released. */
static void vdesk_cursor_atomic_async_update(struct drm_plane *plane,
					     struct drm_atomic_state *state)
{
	struct drm_plane_state *new = drm_atomic_get_new_plane_state(state, plane);
	struct drm_plane_state *cur = plane->state;
	bool new_image = vdesk_cursor_new_image(cur, new);

	swap(cur->fb, new->fb);
	cur->crtc_x = new->crtc_x;
	cur->crtc_y = new->crtc_y;
	cur->crtc_w = new->crtc_w;
	cur->crtc_h = new->crtc_h;
	cur->src_x = new->src_x;
	cur->src_y = new->src_y;
	cur->src_w = new->src_w;
	cur->src_h = new->src_h;
	cur->hotspot_x = new->hotspot_x;
	cur->hotspot_y = new->hotspot_y;
	cur->src = new->src;
	cur->dst = new->dst;
	cur->visible = new->visible;
	vdesk_cursor_show(cursor_to_output(plane), cur, new_image);
}

static const struct drm_plane_helper_funcs vdesk_cursor_helper_funcs = {
	.atomic_check = vdesk_cursor_atomic_check,
	.atomic_update = vdesk_cursor_atomic_update,
	.atomic_async_check = vdesk_cursor_atomic_async_check,
	.atomic_async_update = vdesk_cursor_atomic_async_update,
};

static const struct drm_plane_funcs vdesk_cursor_funcs = {
	.update_plane = drm_atomic_helper_update_plane,
	.disable_plane = drm_atomic_helper_disable_plane,
	.reset = drm_atomic_helper_plane_reset,
	.atomic_duplicate_state = drm_atomic_helper_plane_duplicate_state,
	.atomic_destroy_state = drm_atomic_helper_plane_destroy_state,
	.destroy = drm_plane_cleanup,
};

/**
 * vdesk_cursor_plane_init - the cursor plane of an output, if the device has one
 * @vd: the device
 * @out: the output, before its CRTC is made
 *
 * Returns the plane for drmm_crtc_init_with_planes(), NULL without
 * VIRTIO_DESK_F_CURSOR (the legacy cursor ioctls then fail, as before),
 * or an ERR_PTR.
 */
struct drm_plane *vdesk_cursor_plane_init(struct vdesk_device *vd,
					  struct vdesk_output *out)
{
	struct drm_device *dev = &vd->drm;
	int ret;

	if (!vd->cursorq)
		return NULL;
	out->cursor = drmm_kzalloc(dev, sizeof(*out->cursor) + VIRTIO_DESK_CURSOR_MAX *
				   VIRTIO_DESK_CURSOR_MAX * 4, GFP_KERNEL);
	if (!out->cursor)
		return ERR_PTR(-ENOMEM);
	/* CRTC n is output n: they are made in that order */
	ret = drm_universal_plane_init(dev, &out->cursor_plane, BIT(out->index),
				       &vdesk_cursor_funcs, vdesk_cursor_formats,
				       ARRAY_SIZE(vdesk_cursor_formats), NULL,
				       DRM_PLANE_TYPE_CURSOR, NULL);
	if (ret)
		return ERR_PTR(ret);
	drm_plane_helper_add(&out->cursor_plane, &vdesk_cursor_helper_funcs);
	dev->mode_config.cursor_width = VIRTIO_DESK_CURSOR_MAX;
	dev->mode_config.cursor_height = VIRTIO_DESK_CURSOR_MAX;
	return &out->cursor_plane;
}

/* At probe, before the queues run and the planes are made. */
void vdesk_cursor_init(struct vdesk_device *vd)
{
	spin_lock_init(&vd->cursor_lock);
	mutex_init(&vd->cursor_mutex);
	init_waitqueue_head(&vd->cursor_space);
	if (!cursor_hotspot)
		vd->drm.driver_features &= ~DRIVER_CURSOR_HOTSPOT;
}
