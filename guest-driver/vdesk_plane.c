// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: the primary plane of each output, and the host resource
 * that holds the output's picture.  A plane update sends each damage clip
 * of the framebuffer shown as its own rect, all clips of a commit in one
 * request (or keeps them while nobody watches: vdesk_watch.c).
 */

#include <linux/slab.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_damage_helper.h>
#include <drm/drm_drv.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_gem_atomic_helper.h>
#include <drm/drm_print.h>

#include "vdesk_drv.h"

const u32 vdesk_formats[VDESK_NUM_FORMATS] = {
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

/* --- Host resources ------------------------------------------------------------
 *
 * One resource per output, of the mode's size and the framebuffer's format:
 * the picture the output shows.  Every framebuffer shown on the output is
 * transferred into it, so a flip with damage clips sends just the clips
 * (they are relative to what the plane showed before, which is what the
 * resource holds), and framebuffers that are not on screen cost the host
 * nothing.
 */

/* Reserve a resource within max_resources and max_hostmem (cost as the device counts it). */
static int vdesk_hostmem_get(struct vdesk_device *vd, struct vdesk_res *res, u32 cpp)
{
	u64 cost = (u64)ALIGN(res->width * cpp, 4) * res->height;
	int ret = 0;

	spin_lock(&vd->res_lock);
	if (READ_ONCE(vd->check_limits) &&
	    (vd->res_count >= vd->max_resources ||
	     vd->hostmem_used + cost > vd->max_hostmem)) {
		ret = -ENOMEM;
	} else {
		vd->res_count++;
		vd->hostmem_used += cost;
		res->hostmem = cost;
	}
	spin_unlock(&vd->res_lock);
	if (ret)
		drm_err_ratelimited(&vd->drm,
				    "no host memory for a %ux%u framebuffer: %llu of %llu bytes and %u of %u resources in use\n",
				    res->width, res->height, vd->hostmem_used,
				    vd->max_hostmem, vd->res_count, vd->max_resources);
	return ret;
}

static void vdesk_hostmem_put(struct vdesk_device *vd, struct vdesk_res *res)
{
	spin_lock(&vd->res_lock);
	/* linked once the device has it (vdesk_res_create) */
	if (res->id)
		list_del(&res->node);
	vd->res_count--;
	vd->hostmem_used -= res->hostmem;
	spin_unlock(&vd->res_lock);
}

static struct vdesk_res *vdesk_res_create(struct vdesk_device *vd,
					  const struct drm_format_info *format,
					  u32 width, u32 height)
{
	struct vdesk_res *res;
	int id, ret, idx;

	if (!drm_dev_enter(&vd->drm, &idx))
		return ERR_PTR(-ENODEV);
	res = kzalloc(sizeof(*res), GFP_KERNEL);
	if (!res) {
		ret = -ENOMEM;
		goto exit;
	}
	kref_init(&res->ref);
	res->vd = vd;
	res->format = format->format;
	res->width = width;
	res->height = height;
	ret = vdesk_hostmem_get(vd, res, format->cpp[0]);
	if (ret)
		goto err_free;
	id = ida_alloc_range(&vd->res_ida, 1, INT_MAX, GFP_KERNEL);
	if (id < 0) {
		ret = id;
		goto err_hostmem;
	}
	ret = vdesk_resource_create(vd, id, res->format, width, height);
	if (ret) {
		ida_free(&vd->res_ida, id);
		goto err_hostmem;
	}
	res->id = id;
	spin_lock(&vd->res_lock);
	list_add_tail(&res->node, &vd->res_list);
	spin_unlock(&vd->res_lock);
	drm_dev_exit(idx);
	return res;

err_hostmem:
	vdesk_hostmem_put(vd, res);
err_free:
	kfree(res);
exit:
	drm_dev_exit(idx);
	return ERR_PTR(ret);
}

static void vdesk_res_release(struct kref *ref)
{
	struct vdesk_res *res = container_of(ref, struct vdesk_res, ref);
	struct vdesk_device *vd = res->vd;
	unsigned int i;
	int idx;

	/* queued behind the scanout that replaced it */
	if (drm_dev_enter(&vd->drm, &idx)) {
		vdesk_resource_destroy(vd, res->id);
		drm_dev_exit(idx);
	}
	/*
	 * The device disables an output that still shows it.  Say so before
	 * the id can be handed out again: a new resource with the same id
	 * must be shown with SET_SCANOUT and sent whole.
	 */
	for (i = 0; i < vd->num_outputs; i++)
		cmpxchg(&vd->outputs[i].scanout_res, res->id, 0);
	ida_free(&vd->res_ida, res->id);
	vdesk_hostmem_put(vd, res);
	kfree(res);
}

void vdesk_res_put(struct vdesk_res *res)
{
	if (res)
		kref_put(&res->ref, vdesk_res_release);
}

/* --- Primary plane ------------------------------------------------------------ */

static inline struct vdesk_output *plane_to_output(struct drm_plane *plane)
{
	return container_of(plane, struct vdesk_output, plane);
}

static int vdesk_plane_atomic_check(struct drm_plane *plane,
				    struct drm_atomic_state *state)
{
	struct drm_plane_state *new = drm_atomic_get_new_plane_state(state, plane);
	struct drm_crtc_state *crtc_state = NULL;

	if (new->crtc)
		crtc_state = drm_atomic_get_new_crtc_state(state, new->crtc);
	return drm_atomic_helper_check_plane_state(new, crtc_state,
						   DRM_PLANE_NO_SCALING,
						   DRM_PLANE_NO_SCALING,
						   false, false);
}

/*
 * Pin the framebuffer, and make sure the state has a resource of the right
 * size and format: a new mode or format gets a new one here, where a
 * commit may still fail.
 */
static int vdesk_plane_prepare_fb(struct drm_plane *plane,
				  struct drm_plane_state *new)
{
	struct vdesk_plane_state *vps = to_vdesk_plane_state(new);
	struct vdesk_device *vd = to_vdesk(plane->dev);
	struct vdesk_res *res = vps->res;
	struct drm_rect src;
	int ret;

	if (new->fb) {
		ret = drm_gem_plane_helper_prepare_fb(plane, new);
		if (!ret)
			ret = vdesk_fb_pin(to_vdesk_fb(new->fb));
		if (ret)
			return ret;
	}
	drm_rect_fp_to_int(&src, &new->src);
	if (res && new->fb && new->visible && res->format == new->fb->format->format &&
	    res->width == drm_rect_width(&src) && res->height == drm_rect_height(&src))
		return 0;

	vdesk_res_put(res);
	vps->res = NULL;
	if (!new->fb || !new->visible)
		return 0;
	res = vdesk_res_create(vd, new->fb->format, drm_rect_width(&src),
			       drm_rect_height(&src));
	if (IS_ERR(res))
		return PTR_ERR(res);
	vps->res = res;
	return 0;
}

static void vdesk_plane_atomic_update(struct drm_plane *plane,
				      struct drm_atomic_state *state)
{
	struct drm_plane_state *new = drm_atomic_get_new_plane_state(state, plane);
	struct drm_plane_state *old = drm_atomic_get_old_plane_state(state, plane);
	struct drm_crtc_state *crtc_state = new->crtc ?
		drm_atomic_get_new_crtc_state(state, new->crtc) : NULL;
	struct vdesk_plane_state *vps = to_vdesk_plane_state(new);
	struct vdesk_output *out = plane_to_output(plane);
	struct vdesk_device *vd = to_vdesk(plane->dev);
	struct drm_atomic_helper_damage_iter iter;
	struct vdesk_res *res = vps->res;
	struct drm_rect clip, src;
	struct vdesk_xfer x;
	bool whole;
	int idx;

	/*
	 * An output switched off (DPMS) stays off: the helpers update the
	 * planes of inactive CRTCs too, and a SET_SCANOUT here would show it
	 * again.  Switching it on is a modeset, whose update sends it all.
	 */
	if (!res || !crtc_state || !crtc_state->active ||
	    !drm_dev_enter(plane->dev, &idx))
		return;
	drm_rect_fp_to_int(&src, &new->src);

	/*
	 * All of it for a resource the output does not show yet, or one that
	 * missed a transfer (refused or failed): the damage is relative to
	 * what the resource should hold.
	 */
	whole = vdesk_output_take_stale(vd, out->index) ||
		out->scanout_res != res->id;
	if (!vdesk_hold(out, &src, whole, old, new)) {
		vdesk_xfer_begin(&x, vd, to_vdesk_fb(new->fb), res, &src);
		if (whole) {
			out->nheld = 0;
			vdesk_xfer_rect(&x, &src);
		} else {
			vdesk_send_held(out, &x);
			if (!vps->send_held) {
				drm_atomic_helper_damage_iter_init(&iter, old, new);
				drm_atomic_for_each_plane_damage(&iter, &clip)
					vdesk_xfer_rect(&x, &clip);
			}
		}
		if (vdesk_xfer_end(&x))
			vdesk_output_stale(vd, out->index);
	}

	if (out->scanout_res != res->id) {
		if (!vdesk_set_scanout(vd, out->index, res->id, res->width,
				       res->height))
			out->scanout_res = res->id;
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

static void vdesk_plane_destroy_state(struct drm_plane *plane,
				      struct drm_plane_state *state)
{
	struct vdesk_plane_state *vps = to_vdesk_plane_state(state);

	vdesk_res_put(vps->res);
	__drm_atomic_helper_plane_destroy_state(state);
	kfree(vps);
}

static void vdesk_plane_reset(struct drm_plane *plane)
{
	struct vdesk_plane_state *vps;

	if (plane->state) {
		vdesk_plane_destroy_state(plane, plane->state);
		plane->state = NULL;
	}
	vps = kzalloc(sizeof(*vps), GFP_KERNEL);
	if (vps)
		__drm_atomic_helper_plane_reset(plane, &vps->base);
}

/*
 * Debian's 6.12.117 never clears ignore_damage_clips in duplication (fixed
 * upstream by "drm/damage-helper: Clear ignore_damage_clips in plane-state
 * duplication"): the flag belongs to one commit only.
 */
static struct drm_plane_state *
vdesk_plane_duplicate_state(struct drm_plane *plane)
{
	struct vdesk_plane_state *old = to_vdesk_plane_state(plane->state);
	struct vdesk_plane_state *vps;

	vps = kzalloc(sizeof(*vps), GFP_KERNEL);
	if (!vps)
		return NULL;
	__drm_atomic_helper_plane_duplicate_state(plane, &vps->base);
	vps->base.ignore_damage_clips = false;
	vps->res = old->res;
	if (vps->res)
		kref_get(&vps->res->ref);
	return &vps->base;
}

static const struct drm_plane_funcs vdesk_plane_funcs = {
	.update_plane = drm_atomic_helper_update_plane,
	.disable_plane = drm_atomic_helper_disable_plane,
	.reset = vdesk_plane_reset,
	.atomic_duplicate_state = vdesk_plane_duplicate_state,
	.atomic_destroy_state = vdesk_plane_destroy_state,
	.destroy = drm_plane_cleanup,
};

int vdesk_plane_init(struct vdesk_device *vd, struct vdesk_output *out)
{
	int ret;

	ret = drm_universal_plane_init(&vd->drm, &out->plane, 0, &vdesk_plane_funcs,
				       vdesk_formats, ARRAY_SIZE(vdesk_formats),
				       NULL, DRM_PLANE_TYPE_PRIMARY, NULL);
	if (ret)
		return ret;
	drm_plane_helper_add(&out->plane, &vdesk_plane_helper_funcs);
	drm_plane_enable_fb_damage_clips(&out->plane);
	return 0;
}
