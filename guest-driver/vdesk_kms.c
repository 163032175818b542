// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: mode setting.  Per device output: one CRTC, one primary
 * plane, one encoder and one virtual connector.  Every framebuffer gets its
 * own host resource when it is first shown; plane updates send each damage
 * clip as its own rect, all clips of a commit in one request.
 */

#include <linux/module.h>
#include <linux/slab.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_damage_helper.h>
#include <drm/drm_drv.h>
#include <drm/drm_edid.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_gem_atomic_helper.h>
#include <drm/drm_gem_framebuffer_helper.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_modes.h>
#include <drm/drm_print.h>
#include <drm/drm_probe_helper.h>
#include <drm/drm_vblank.h>

#include "vdesk_drv.h"

static const u32 vdesk_formats[] = {
	DRM_FORMAT_XRGB8888,
	DRM_FORMAT_ARGB8888,
	DRM_FORMAT_XBGR8888,
	DRM_FORMAT_ABGR8888,
	DRM_FORMAT_RGB565,
};

/* The protocol's format codes are the DRM fourccs. */
static_assert(DRM_FORMAT_XRGB8888 == VIRTIO_DESK_FORMAT_XRGB8888);
static_assert(DRM_FORMAT_ARGB8888 == VIRTIO_DESK_FORMAT_ARGB8888);
static_assert(DRM_FORMAT_XBGR8888 == VIRTIO_DESK_FORMAT_XBGR8888);
static_assert(DRM_FORMAT_ABGR8888 == VIRTIO_DESK_FORMAT_ABGR8888);
static_assert(DRM_FORMAT_RGB565 == VIRTIO_DESK_FORMAT_RGB565);

/* --- Framebuffers ----------------------------------------------------------- */

/* Pin the pages and record them as runs of contiguous pages. */
static int vdesk_fb_map_pages(struct vdesk_fb *vfb)
{
	struct drm_gem_shmem_object *shmem =
		to_drm_gem_shmem_obj(vfb->base.obj[0]);
	size_t npages = shmem->base.size >> PAGE_SHIFT;
	struct vdesk_seg *segs;
	unsigned long pfn, prev = 0;
	unsigned int n = 0;
	size_t i;
	int ret;

	segs = kvmalloc_array(npages, sizeof(*segs), GFP_KERNEL);
	if (!segs)
		return -ENOMEM;
	ret = drm_gem_shmem_pin(shmem);
	if (ret) {
		kvfree(segs);
		return ret;
	}
	for (i = 0; i < npages; i++) {
		pfn = page_to_pfn(shmem->pages[i]);
		if (!n || pfn != prev + 1 || segs[n - 1].len > U32_MAX - 2 * PAGE_SIZE) {
			segs[n].off = (u64)i << PAGE_SHIFT;
			segs[n].pfn = pfn;
			segs[n].len = 0;
			n++;
		}
		segs[n - 1].len += PAGE_SIZE;
		prev = pfn;
	}
	vfb->segs = segs;
	vfb->nsegs = n;
	vfb->pinned = true;
	return 0;
}

/* For tests: false leaves refusing resources to the device (its errors are logged). */
static bool check_limits = true;
module_param(check_limits, bool, 0644);
MODULE_PARM_DESC(check_limits, "refuse resources beyond max_resources/max_hostmem before asking the device (default Y; N: for tests)");

/* Reserve a resource within max_resources and max_hostmem (cost as the device counts it). */
static int vdesk_hostmem_get(struct vdesk_device *vd, struct vdesk_fb *vfb)
{
	struct drm_framebuffer *fb = &vfb->base;
	u64 cost = (u64)ALIGN(fb->width * fb->format->cpp[0], 4) * fb->height;
	int ret = 0;

	spin_lock(&vd->res_lock);
	if (READ_ONCE(check_limits) &&
	    (vd->res_count >= vd->max_resources ||
	     vd->hostmem_used + cost > vd->max_hostmem)) {
		ret = -ENOMEM;
	} else {
		vd->res_count++;
		vd->hostmem_used += cost;
		vfb->hostmem = cost;
	}
	spin_unlock(&vd->res_lock);
	if (ret)
		drm_err_ratelimited(&vd->drm,
				    "no host memory for a %ux%u framebuffer: %llu of %llu bytes and %u of %u resources in use\n",
				    fb->width, fb->height, vd->hostmem_used,
				    vd->max_hostmem, vd->res_count, vd->max_resources);
	return ret;
}

static void vdesk_hostmem_put(struct vdesk_device *vd, struct vdesk_fb *vfb)
{
	spin_lock(&vd->res_lock);
	vd->res_count--;
	vd->hostmem_used -= vfb->hostmem;
	vfb->hostmem = 0;
	spin_unlock(&vd->res_lock);
}

/* Create the host resource of a framebuffer on its first use. */
static int vdesk_fb_get_resource(struct vdesk_device *vd, struct vdesk_fb *vfb)
{
	struct drm_framebuffer *fb = &vfb->base;
	int id, ret = 0, idx;

	mutex_lock(&vfb->lock);
	if (vfb->res_id)
		goto out;
	if (!drm_dev_enter(&vd->drm, &idx)) {
		ret = -ENODEV;
		goto out;
	}
	if (!vfb->segs) {
		ret = vdesk_fb_map_pages(vfb);
		if (ret)
			goto exit;
	}
	ret = vdesk_hostmem_get(vd, vfb);
	if (ret)
		goto exit;
	id = ida_alloc_range(&vd->res_ida, 1, INT_MAX, GFP_KERNEL);
	if (id < 0) {
		vdesk_hostmem_put(vd, vfb);
		ret = id;
		goto exit;
	}
	ret = vdesk_resource_create(vd, id, fb->format->format, fb->width,
				    fb->height);
	if (ret) {
		ida_free(&vd->res_ida, id);
		vdesk_hostmem_put(vd, vfb);
		goto exit;
	}
	vfb->res_id = id;
exit:
	drm_dev_exit(idx);
out:
	mutex_unlock(&vfb->lock);
	return ret;
}

static void vdesk_fb_destroy(struct drm_framebuffer *fb)
{
	struct vdesk_device *vd = to_vdesk(fb->dev);
	struct vdesk_fb *vfb = to_vdesk_fb(fb);
	int idx;

	if (vfb->res_id) {
		if (drm_dev_enter(&vd->drm, &idx)) {
			vdesk_resource_destroy(vd, vfb->res_id);
			drm_dev_exit(idx);
		}
		ida_free(&vd->res_ida, vfb->res_id);
		vdesk_hostmem_put(vd, vfb);
	}
	if (vfb->pinned)
		drm_gem_shmem_unpin(to_drm_gem_shmem_obj(fb->obj[0]));
	kvfree(vfb->segs);
	mutex_destroy(&vfb->lock);
	drm_gem_fb_destroy(fb);
}

static const struct drm_framebuffer_funcs vdesk_fb_funcs = {
	.destroy = vdesk_fb_destroy,
	.create_handle = drm_gem_fb_create_handle,
	.dirty = drm_atomic_helper_dirtyfb,
};

static struct drm_framebuffer *
vdesk_fb_create(struct drm_device *dev, struct drm_file *file,
		const struct drm_mode_fb_cmd2 *cmd)
{
	struct drm_gem_object *obj;
	struct vdesk_fb *vfb;
	bool imported;
	int ret, i;

	for (i = 0; i < ARRAY_SIZE(vdesk_formats); i++)
		if (cmd->pixel_format == vdesk_formats[i])
			break;
	if (i == ARRAY_SIZE(vdesk_formats))
		return ERR_PTR(-EINVAL);

	/* the device reads guest pages: only our own shmem objects */
	obj = drm_gem_object_lookup(file, cmd->handles[0]);
	if (!obj)
		return ERR_PTR(-ENOENT);
	imported = obj->import_attach != NULL;
	drm_gem_object_put(obj);
	if (imported)
		return ERR_PTR(-EINVAL);

	vfb = kzalloc(sizeof(*vfb), GFP_KERNEL);
	if (!vfb)
		return ERR_PTR(-ENOMEM);
	mutex_init(&vfb->lock);
	ret = drm_gem_fb_init_with_funcs(dev, &vfb->base, file, cmd,
					 &vdesk_fb_funcs);
	if (ret) {
		mutex_destroy(&vfb->lock);
		kfree(vfb);
		return ERR_PTR(ret);
	}
	return &vfb->base;
}

static const struct drm_mode_config_funcs vdesk_mode_config_funcs = {
	.fb_create = vdesk_fb_create,
	.atomic_check = drm_atomic_helper_check,
	.atomic_commit = drm_atomic_helper_commit,
};

/* --- Primary plane ------------------------------------------------------------ */

static inline struct vdesk_output *plane_to_output(struct drm_plane *plane)
{
	return container_of(plane, struct vdesk_output, plane);
}

static int vdesk_plane_atomic_check(struct drm_plane *plane,
				    struct drm_atomic_state *state)
{
	struct drm_plane_state *new = drm_atomic_get_new_plane_state(state, plane);
	struct drm_plane_state *old = drm_atomic_get_old_plane_state(state, plane);
	struct drm_crtc_state *crtc_state = NULL;

	/* host resources are per framebuffer: a new one is sent whole */
	if (old->fb != new->fb)
		new->ignore_damage_clips = true;
	if (new->crtc)
		crtc_state = drm_atomic_get_new_crtc_state(state, new->crtc);
	return drm_atomic_helper_check_plane_state(new, crtc_state,
						   DRM_PLANE_NO_SCALING,
						   DRM_PLANE_NO_SCALING,
						   false, false);
}

static int vdesk_plane_prepare_fb(struct drm_plane *plane,
				  struct drm_plane_state *new)
{
	struct vdesk_device *vd = to_vdesk(plane->dev);
	int ret;

	if (!new->fb)
		return 0;
	ret = drm_gem_plane_helper_prepare_fb(plane, new);
	if (ret)
		return ret;
	return vdesk_fb_get_resource(vd, to_vdesk_fb(new->fb));
}

static void vdesk_plane_atomic_update(struct drm_plane *plane,
				      struct drm_atomic_state *state)
{
	struct drm_plane_state *new = drm_atomic_get_new_plane_state(state, plane);
	struct drm_plane_state *old = drm_atomic_get_old_plane_state(state, plane);
	struct vdesk_output *out = plane_to_output(plane);
	struct vdesk_device *vd = to_vdesk(plane->dev);
	struct drm_atomic_helper_damage_iter iter;
	struct drm_rect clip, src;
	struct vdesk_xfer x;
	struct vdesk_fb *vfb;
	int idx;

	if (!new->fb || !new->crtc || !new->visible)
		return;
	vfb = to_vdesk_fb(new->fb);
	if (!vfb->res_id)
		return;
	if (!drm_dev_enter(plane->dev, &idx))
		return;

	vdesk_xfer_begin(&x, vd, vfb);
	drm_atomic_helper_damage_iter_init(&iter, old, new);
	drm_atomic_for_each_plane_damage(&iter, &clip)
		vdesk_xfer_rect(&x, &clip);
	vdesk_xfer_end(&x);

	src = drm_plane_state_src(new);
	src.x1 >>= 16;
	src.y1 >>= 16;
	src.x2 >>= 16;
	src.y2 >>= 16;
	if (out->scanout_res != vfb->res_id || old->fb != new->fb ||
	    !drm_rect_equals(&old->src, &new->src) ||
	    drm_atomic_crtc_needs_modeset(drm_atomic_get_new_crtc_state(state, new->crtc))) {
		if (!vdesk_set_scanout(vd, out->index, vfb->res_id, &src))
			out->scanout_res = vfb->res_id;
		else
			out->scanout_res = 0;
	}
	drm_dev_exit(idx);
}

static const struct drm_plane_helper_funcs vdesk_plane_helper_funcs = {
	.prepare_fb = vdesk_plane_prepare_fb,
	.atomic_check = vdesk_plane_atomic_check,
	.atomic_update = vdesk_plane_atomic_update,
};

/*
 * Debian's 6.12.117 sets ignore_damage_clips on a modeset and never clears
 * it again (fixed upstream by "drm/damage-helper: Clear ignore_damage_clips
 * in plane-state duplication"): without this every later DIRTYFB would be a
 * full-screen update.  The flag belongs to one commit only.
 */
static struct drm_plane_state *
vdesk_plane_duplicate_state(struct drm_plane *plane)
{
	struct drm_plane_state *state;

	state = drm_atomic_helper_plane_duplicate_state(plane);
	if (state)
		state->ignore_damage_clips = false;
	return state;
}

static const struct drm_plane_funcs vdesk_plane_funcs = {
	.update_plane = drm_atomic_helper_update_plane,
	.disable_plane = drm_atomic_helper_disable_plane,
	.reset = drm_atomic_helper_plane_reset,
	.atomic_duplicate_state = vdesk_plane_duplicate_state,
	.atomic_destroy_state = drm_atomic_helper_plane_destroy_state,
	.destroy = drm_plane_cleanup,
};

/* --- CRTC ------------------------------------------------------------------- */

static inline struct vdesk_output *crtc_to_output(struct drm_crtc *crtc)
{
	return container_of(crtc, struct vdesk_output, crtc);
}

static enum drm_mode_status vdesk_crtc_mode_valid(struct drm_crtc *crtc,
						  const struct drm_display_mode *mode)
{
	struct vdesk_device *vd = to_vdesk(crtc->dev);

	if (mode->hdisplay > vd->max_dimension || mode->vdisplay > vd->max_dimension)
		return MODE_BAD;
	return MODE_OK;
}

static int vdesk_crtc_atomic_check(struct drm_crtc *crtc,
				   struct drm_atomic_state *state)
{
	struct drm_crtc_state *crtc_state = drm_atomic_get_new_crtc_state(state, crtc);

	if (!crtc_state->enable)
		return 0;
	return drm_atomic_helper_check_crtc_primary_plane(crtc_state);
}

static void vdesk_crtc_send_event(struct drm_crtc *crtc,
				  struct drm_crtc_state *crtc_state)
{
	struct drm_pending_vblank_event *event = crtc_state->event;
	unsigned long flags;

	if (!event)
		return;
	crtc_state->event = NULL;
	spin_lock_irqsave(&crtc->dev->event_lock, flags);
	drm_crtc_send_vblank_event(crtc, event);
	spin_unlock_irqrestore(&crtc->dev->event_lock, flags);
}

static void vdesk_crtc_atomic_flush(struct drm_crtc *crtc,
				    struct drm_atomic_state *state)
{
	vdesk_crtc_send_event(crtc, drm_atomic_get_new_crtc_state(state, crtc));
}

static void vdesk_crtc_atomic_enable(struct drm_crtc *crtc,
				     struct drm_atomic_state *state)
{
	/* the plane update sets the scanout */
}

static void vdesk_crtc_atomic_disable(struct drm_crtc *crtc,
				      struct drm_atomic_state *state)
{
	struct drm_crtc_state *crtc_state = drm_atomic_get_new_crtc_state(state, crtc);
	struct vdesk_output *out = crtc_to_output(crtc);
	struct vdesk_device *vd = to_vdesk(crtc->dev);
	int idx;

	/* a modeset keeps the output; the plane update re-points it */
	if (!crtc_state->active && out->scanout_res &&
	    drm_dev_enter(crtc->dev, &idx)) {
		vdesk_set_scanout(vd, out->index, 0, NULL);
		drm_dev_exit(idx);
	}
	if (!crtc_state->active)
		out->scanout_res = 0;
	vdesk_crtc_send_event(crtc, crtc_state);
}

static const struct drm_crtc_helper_funcs vdesk_crtc_helper_funcs = {
	.mode_valid = vdesk_crtc_mode_valid,
	.atomic_check = vdesk_crtc_atomic_check,
	.atomic_flush = vdesk_crtc_atomic_flush,
	.atomic_enable = vdesk_crtc_atomic_enable,
	.atomic_disable = vdesk_crtc_atomic_disable,
};

static const struct drm_crtc_funcs vdesk_crtc_funcs = {
	.reset = drm_atomic_helper_crtc_reset,
	.set_config = drm_atomic_helper_set_config,
	.page_flip = drm_atomic_helper_page_flip,
	.atomic_duplicate_state = drm_atomic_helper_crtc_duplicate_state,
	.atomic_destroy_state = drm_atomic_helper_crtc_destroy_state,
};

/* --- Connector -------------------------------------------------------------- */

static inline struct vdesk_output *conn_to_output(struct drm_connector *conn)
{
	return container_of(conn, struct vdesk_output, connector);
}

static void vdesk_output_info(struct vdesk_device *vd, unsigned int i,
			      u32 *w, u32 *h, bool *enabled)
{
	unsigned long flags;

	spin_lock_irqsave(&vd->info_lock, flags);
	*w = le32_to_cpu(vd->info[i].width);
	*h = le32_to_cpu(vd->info[i].height);
	*enabled = le32_to_cpu(vd->info[i].enabled);
	spin_unlock_irqrestore(&vd->info_lock, flags);
}

static int vdesk_conn_get_modes(struct drm_connector *conn)
{
	struct vdesk_device *vd = to_vdesk(conn->dev);
	struct vdesk_output *out = conn_to_output(conn);
	struct drm_display_mode *mode;
	bool enabled;
	u32 w, h;
	int count;

	vdesk_output_info(vd, out->index, &w, &h, &enabled);
	count = drm_add_modes_noedid(conn, vd->max_dimension, vd->max_dimension);
	if (!w || !h || w > vd->max_dimension || h > vd->max_dimension) {
		drm_set_preferred_mode(conn, 1024, 768);
		return count;
	}
	mode = drm_cvt_mode(conn->dev, w, h, 60, false, false, false);
	if (!mode)
		return count;
	/* exact size: CVT rounds the width down to a multiple of 8 */
	if (mode->hdisplay != w && mode->hsync_start >= w) {
		mode->hdisplay = w;
		drm_mode_set_name(mode);
	}
	mode->type |= DRM_MODE_TYPE_PREFERRED;
	drm_mode_probed_add(conn, mode);
	return count + 1;
}

static const struct drm_connector_helper_funcs vdesk_conn_helper_funcs = {
	.get_modes = vdesk_conn_get_modes,
};

static enum drm_connector_status vdesk_conn_detect(struct drm_connector *conn,
						   bool force)
{
	struct vdesk_device *vd = to_vdesk(conn->dev);
	bool enabled;
	u32 w, h;

	vdesk_output_info(vd, conn_to_output(conn)->index, &w, &h, &enabled);
	return enabled ? connector_status_connected : connector_status_disconnected;
}

static const struct drm_connector_funcs vdesk_conn_funcs = {
	.detect = vdesk_conn_detect,
	.fill_modes = drm_helper_probe_single_connector_modes,
	.reset = drm_atomic_helper_connector_reset,
	.atomic_duplicate_state = drm_atomic_helper_connector_duplicate_state,
	.atomic_destroy_state = drm_atomic_helper_connector_destroy_state,
};

/* --- Mode setting initialization ----------------------------------------------- */

static int vdesk_output_init(struct vdesk_device *vd, struct vdesk_output *out)
{
	struct drm_device *dev = &vd->drm;
	int ret;

	ret = drm_universal_plane_init(dev, &out->plane, 0, &vdesk_plane_funcs,
					vdesk_formats, ARRAY_SIZE(vdesk_formats),
					NULL, DRM_PLANE_TYPE_PRIMARY,
					NULL);
	if (ret)
		return ret;
	drm_plane_helper_add(&out->plane, &vdesk_plane_helper_funcs);
	drm_plane_enable_fb_damage_clips(&out->plane);

	ret = drmm_crtc_init_with_planes(dev, &out->crtc, &out->plane, NULL,
					 &vdesk_crtc_funcs, NULL);
	if (ret)
		return ret;
	drm_crtc_helper_add(&out->crtc, &vdesk_crtc_helper_funcs);

	ret = drmm_encoder_init(dev, &out->encoder, NULL,
				DRM_MODE_ENCODER_VIRTUAL, NULL);
	if (ret)
		return ret;
	out->encoder.possible_crtcs = drm_crtc_mask(&out->crtc);

	ret = drmm_connector_init(dev, &out->connector, &vdesk_conn_funcs,
				  DRM_MODE_CONNECTOR_VIRTUAL, NULL);
	if (ret)
		return ret;
	drm_connector_helper_add(&out->connector, &vdesk_conn_helper_funcs);
	out->connector.polled = DRM_CONNECTOR_POLL_HPD;
	return drm_connector_attach_encoder(&out->connector, &out->encoder);
}

int vdesk_modeset_init(struct vdesk_device *vd)
{
	struct drm_device *dev = &vd->drm;
	unsigned int i;
	int ret;

	/* allocated first: released after the mode config that uses it */
	vd->outputs = drmm_kcalloc(dev, vd->num_outputs, sizeof(*vd->outputs),
				   GFP_KERNEL);
	if (!vd->outputs)
		return -ENOMEM;
	ret = drmm_mode_config_init(dev);
	if (ret)
		return ret;
	dev->mode_config.min_width = 1;
	dev->mode_config.min_height = 1;
	dev->mode_config.max_width = vd->max_dimension;
	dev->mode_config.max_height = vd->max_dimension;
	dev->mode_config.preferred_depth = 24;
	dev->mode_config.fb_modifiers_not_supported = true;
	dev->mode_config.funcs = &vdesk_mode_config_funcs;
	for (i = 0; i < vd->num_outputs; i++) {
		vd->outputs[i].index = i;
		ret = vdesk_output_init(vd, &vd->outputs[i]);
		if (ret)
			return ret;
	}
	drm_mode_config_reset(dev);
	return 0;
}
