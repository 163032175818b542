// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: mode setting.  Per device output: one CRTC with its vblank
 * timer, one primary plane (vdesk_plane.c), a cursor plane
 * (vdesk_cursor.c), one encoder and one virtual connector; and the
 * framebuffers they show.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_damage_helper.h>
#include <drm/drm_drv.h>
#include <drm/drm_edid.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_gem_framebuffer_helper.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_modes.h>
#include <drm/drm_print.h>
#include <drm/drm_probe_helper.h>
#include <drm/drm_vblank.h>

#include "vdesk_drv.h"

/* --- Framebuffers ----------------------------------------------------------- */

/*
 * Pin the pages and record them as runs of contiguous pages, once, each
 * run no longer than one DMA mapping may be (swiotlb bounces at most
 * 256 KiB at a time).  Not
 * drm_gem_shmem_get_pages_sgt(): that pins for the object's whole life and
 * DMA-maps the pages for the device, while virtqueue_add_sgs() maps each
 * request's pages itself and a framebuffer needs them only while it lives.
 */
int vdesk_fb_pin(struct vdesk_fb *vfb)
{
	struct drm_gem_shmem_object *shmem =
		to_drm_gem_shmem_obj(vfb->base.obj[0]);
	u32 max_len = to_vdesk(vfb->base.dev)->max_seg_size;
	size_t npages = shmem->base.size >> PAGE_SHIFT;
	struct vdesk_seg *segs;
	unsigned long pfn, prev = 0;
	unsigned int n = 0;
	size_t i;
	int ret = 0;

	mutex_lock(&vfb->lock);
	if (vfb->pinned)
		goto out;
	segs = kvmalloc_array(npages, sizeof(*segs), GFP_KERNEL);
	if (!segs) {
		ret = -ENOMEM;
		goto out;
	}
	ret = drm_gem_shmem_pin(shmem);
	if (ret) {
		kvfree(segs);
		goto out;
	}
	for (i = 0; i < npages; i++) {
		pfn = page_to_pfn(shmem->pages[i]);
		if (!n || pfn != prev + 1 || segs[n - 1].len + PAGE_SIZE > max_len) {
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
out:
	mutex_unlock(&vfb->lock);
	return ret;
}

/* The last reference: no request reads the pages any more (vdesk_queue). */
static void vdesk_fb_destroy(struct drm_framebuffer *fb)
{
	struct vdesk_fb *vfb = to_vdesk_fb(fb);

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
	imported = obj->import_attach;
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

/*
 * drm_atomic_helper_commit_tail(), but waiting for flip_done rather than for
 * a vblank: a blocking commit (a mode set, DIRTYFB) returns once the device
 * has answered the commit before it, unpaced; a page flip's event also waits
 * for the vblank timer (vdesk_crtc_atomic_flush).  Nonblocking commits wait
 * here in their worker, not in the caller.
 */
static void vdesk_commit_tail(struct drm_atomic_state *state)
{
	struct drm_device *dev = state->dev;

	drm_atomic_helper_commit_modeset_disables(dev, state);
	drm_atomic_helper_commit_planes(dev, state, 0);
	drm_atomic_helper_commit_modeset_enables(dev, state);
	drm_atomic_helper_fake_vblank(state);
	drm_atomic_helper_commit_hw_done(state);
	drm_atomic_helper_wait_for_flip_done(dev, state);
	drm_atomic_helper_cleanup_planes(dev, state);
}

static const struct drm_mode_config_helper_funcs vdesk_mode_config_helpers = {
	.atomic_commit_tail = vdesk_commit_tail,
};

static const struct drm_mode_config_funcs vdesk_mode_config_funcs = {
	.fb_create = vdesk_fb_create,
	.atomic_check = drm_atomic_helper_check,
	.atomic_commit = drm_atomic_helper_commit,
};

/* --- CRTC and vblank ------------------------------------------------------------
 *
 * The device has no vblank: a timer at the mode's refresh rate stands in
 * for it, as in vkms.  Events that a client asked for with a page flip go
 * out on the vblank after the device has answered the flip's requests, so
 * a compositor renders at the refresh rate; the others (DIRTYFB, fbcon,
 * mode sets) go out as soon as the device has answered.
 */

static bool pace_flips = true;
module_param(pace_flips, bool, 0644);
MODULE_PARM_DESC(pace_flips, "send page-flip events on the vblank timer (default Y; N: as soon as the device answers)");

static inline struct vdesk_output *crtc_to_output(struct drm_crtc *crtc)
{
	return container_of(crtc, struct vdesk_output, crtc);
}

static enum hrtimer_restart vdesk_vblank_timer(struct hrtimer *timer)
{
	struct vdesk_output *out = container_of(timer, struct vdesk_output,
						vblank_timer);
	unsigned long flags;
	ktime_t period;

	spin_lock_irqsave(&out->vblank_lock, flags);
	period = out->period;
	spin_unlock_irqrestore(&out->vblank_lock, flags);
	/* disabled (vdesk_crtc_disable_vblank) */
	if (!period)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, period);
	if (!drm_crtc_handle_vblank(&out->crtc))
		return HRTIMER_NORESTART;
	return HRTIMER_RESTART;
}

/*
 * As the DRM core's vblank timer (drm_crtc_vblank_start_timer, after 6.12)
 * does it: enable_vblank and disable_vblank are called with the vblank
 * core's spinlocks held, which the callback's drm_crtc_handle_vblank()
 * takes on another CPU, so neither may wait for the callback with
 * hrtimer_cancel().  Disabling sets the period to 0, which the callback
 * checks; enabling waits only for a callback that is past that check.
 */
static int vdesk_crtc_enable_vblank(struct drm_crtc *crtc)
{
	struct drm_vblank_crtc *vblank = drm_crtc_vblank_crtc(crtc);
	struct vdesk_output *out = crtc_to_output(crtc);
	unsigned long flags;
	ktime_t period;

	while (hrtimer_active(&out->vblank_timer))
		hrtimer_try_to_cancel(&out->vblank_timer);
	drm_calc_timestamping_constants(crtc, &crtc->mode);
	period = ns_to_ktime(vblank->framedur_ns ?: NSEC_PER_SEC / 60);
	spin_lock_irqsave(&out->vblank_lock, flags);
	out->period = period;
	spin_unlock_irqrestore(&out->vblank_lock, flags);
	hrtimer_start(&out->vblank_timer, period, HRTIMER_MODE_REL);
	return 0;
}

static void vdesk_crtc_disable_vblank(struct drm_crtc *crtc)
{
	struct vdesk_output *out = crtc_to_output(crtc);
	unsigned long flags;

	spin_lock_irqsave(&out->vblank_lock, flags);
	out->period = 0;
	spin_unlock_irqrestore(&out->vblank_lock, flags);
	/* -1: the callback runs, and stops itself */
	if (hrtimer_try_to_cancel(&out->vblank_timer) < 0)
		atomic_inc(&to_vdesk(crtc->dev)->stats.vblank_cancel_busy);
}

static bool vdesk_crtc_get_vblank_timestamp(struct drm_crtc *crtc,
					    int *max_error, ktime_t *vblank_time,
					    bool in_vblank_irq)
{
	struct drm_vblank_crtc *vblank = drm_crtc_vblank_crtc(crtc);
	struct vdesk_output *out = crtc_to_output(crtc);
	unsigned long flags;
	ktime_t period;

	spin_lock_irqsave(&out->vblank_lock, flags);
	period = out->period;
	spin_unlock_irqrestore(&out->vblank_lock, flags);
	if (!READ_ONCE(vblank->enabled) || !period) {
		*vblank_time = ktime_get();
		return true;
	}
	/* the timer was already moved on to the next vblank */
	*vblank_time = ktime_sub(hrtimer_get_expires(&out->vblank_timer), period);
	return true;
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

static void vdesk_crtc_atomic_begin(struct drm_crtc *crtc,
				    struct drm_atomic_state *state)
{
	crtc_to_output(crtc)->commit_seq = vdesk_last_seq(to_vdesk(crtc->dev));
}

/*
 * The commit is done, for its client, once the device has answered the
 * requests of the commit before: the buffer that commit showed, which a
 * client draws into next, is no longer read, while this commit's own
 * copies overlap with the client's next frame (requests hold their
 * framebuffers, and the device keeps them in order).  A client's event
 * (not the helpers' own) then waits for the next vblank.
 */
static void vdesk_crtc_atomic_flush(struct drm_crtc *crtc,
				    struct drm_atomic_state *state)
{
	struct drm_crtc_state *crtc_state = drm_atomic_get_new_crtc_state(state, crtc);
	struct drm_pending_vblank_event *event = crtc_state->event;
	struct vdesk_output *out = crtc_to_output(crtc);
	bool paced;

	if (!event)
		return;
	crtc_state->event = NULL;
	paced = READ_ONCE(pace_flips) && event->base.file_priv &&
		drm_crtc_vblank_get(crtc) == 0;
	vdesk_output_event(to_vdesk(crtc->dev), out, event, out->commit_seq,
			   paced);
}

static void vdesk_crtc_atomic_enable(struct drm_crtc *crtc,
				     struct drm_atomic_state *state)
{
	/* the plane update sets the scanout */
	drm_crtc_vblank_on(crtc);
}

static void vdesk_crtc_atomic_disable(struct drm_crtc *crtc,
				      struct drm_atomic_state *state)
{
	struct drm_crtc_state *crtc_state = drm_atomic_get_new_crtc_state(state, crtc);
	struct vdesk_output *out = crtc_to_output(crtc);
	struct vdesk_device *vd = to_vdesk(crtc->dev);
	int idx;

	drm_crtc_vblank_off(crtc);
	/* a modeset keeps the output; the plane update re-points it */
	if (crtc_state->active)
		return;
	if (out->scanout_res && drm_dev_enter(crtc->dev, &idx)) {
		vdesk_set_scanout(vd, out->index, 0, 0, 0);
		drm_dev_exit(idx);
	}
	out->scanout_res = 0;
}

static const struct drm_crtc_helper_funcs vdesk_crtc_helper_funcs = {
	.mode_valid = vdesk_crtc_mode_valid,
	.atomic_check = vdesk_crtc_atomic_check,
	.atomic_begin = vdesk_crtc_atomic_begin,
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
	.enable_vblank = vdesk_crtc_enable_vblank,
	.disable_vblank = vdesk_crtc_disable_vblank,
	.get_vblank_timestamp = vdesk_crtc_get_vblank_timestamp,
};

/* --- Connector -------------------------------------------------------------- */

static inline struct vdesk_output *conn_to_output(struct drm_connector *conn)
{
	return container_of(conn, struct vdesk_output, connector);
}

static void vdesk_output_info(struct vdesk_device *vd, unsigned int i,
			      struct virtio_desk_output_info *info,
			      struct virtio_desk_output_position *pos)
{
	unsigned long flags;

	spin_lock_irqsave(&vd->info_lock, flags);
	*info = vd->info[i];
	if (pos)
		*pos = vd->layout[i];
	spin_unlock_irqrestore(&vd->info_lock, flags);
}

static int vdesk_conn_get_modes(struct drm_connector *conn)
{
	struct vdesk_device *vd = to_vdesk(conn->dev);
	struct drm_mode_config *config = &conn->dev->mode_config;
	struct virtio_desk_output_info info;
	struct virtio_desk_output_position pos;
	struct drm_display_mode *mode;
	u32 w, h, mhz;
	int count;

	vdesk_output_info(vd, conn_to_output(conn)->index, &info, &pos);
	w = le32_to_cpu(info.width);
	h = le32_to_cpu(info.height);
	mhz = le32_to_cpu(info.refresh);

	/*
	 * The place of this monitor on the user's desktop (F_LAYOUT), for
	 * compositors that arrange their outputs as the host does.  The
	 * properties are immutable (driver-set), as in vboxvideo and qxl.
	 */
	if (virtio_has_feature(vd->vdev, VIRTIO_DESK_F_LAYOUT)) {
		drm_object_property_set_value(&conn->base, config->suggested_x_property,
					      le32_to_cpu(pos.x));
		drm_object_property_set_value(&conn->base, config->suggested_y_property,
					      le32_to_cpu(pos.y));
	}

	/*
	 * The monitor's EDID (F_EDID) names it, gives its size and the
	 * preferred mode; the device takes any size up to max_dimension, as a
	 * window does, so every standard mode below that is offered as well.
	 */
	if (virtio_has_feature(vd->vdev, VIRTIO_DESK_F_EDID)) {
		const struct drm_edid *edid = NULL;
		int idx;

		/* an unplugged device has no queue to ask: no EDID then */
		if (drm_dev_enter(conn->dev, &idx)) {
			edid = vdesk_get_edid(vd, conn_to_output(conn)->index);
			drm_dev_exit(idx);
		}
		drm_edid_connector_update(conn, edid);
		count = drm_edid_connector_add_modes(conn);
		drm_edid_free(edid);
		if (count)
			return count + drm_add_modes_noedid(conn, vd->max_dimension,
							    vd->max_dimension);
	}
	count = drm_add_modes_noedid(conn, vd->max_dimension, vd->max_dimension);
	if (!w || !h || w > vd->max_dimension || h > vd->max_dimension) {
		drm_set_preferred_mode(conn, 1024, 768);
		return count;
	}
	/* the vblank timer runs at the preferred mode's refresh rate */
	mode = drm_cvt_mode(conn->dev, w, h,
			    mhz ? clamp(DIV_ROUND_CLOSEST(mhz, 1000), 1U, 240U) : 60,
			    false, false, false);
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
	struct virtio_desk_output_info info;

	vdesk_output_info(to_vdesk(conn->dev), conn_to_output(conn)->index,
			  &info, NULL);
	return le32_to_cpu(info.enabled) ? connector_status_connected :
					   connector_status_disconnected;
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
	struct drm_plane *cursor;
	int ret;

	ret = vdesk_plane_init(vd, out);
	if (ret)
		return ret;

	cursor = vdesk_cursor_plane_init(vd, out);
	if (IS_ERR(cursor))
		return PTR_ERR(cursor);
	ret = drmm_crtc_init_with_planes(dev, &out->crtc, &out->plane, cursor,
					 &vdesk_crtc_funcs, NULL);
	if (ret)
		return ret;
	drm_crtc_helper_add(&out->crtc, &vdesk_crtc_helper_funcs);
	spin_lock_init(&out->vblank_lock);
	hrtimer_init(&out->vblank_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	out->vblank_timer.function = vdesk_vblank_timer;

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
	/* virtual connectors get no EDID property by default */
	if (virtio_has_feature(vd->vdev, VIRTIO_DESK_F_EDID))
		drm_connector_attach_edid_property(&out->connector);
	drm_object_attach_property(&out->connector.base,
				   vd->hotplug_mode_update_property, 1);
	if (virtio_has_feature(vd->vdev, VIRTIO_DESK_F_LAYOUT)) {
		drm_object_attach_property(&out->connector.base,
					   dev->mode_config.suggested_x_property, 0);
		drm_object_attach_property(&out->connector.base,
					   dev->mode_config.suggested_y_property, 0);
	}
	return drm_connector_attach_encoder(&out->connector, &out->encoder);
}

/*
 * Disabling leaves the timer to stop itself: make sure it has before the
 * outputs are freed (process context, no vblank lock held).
 */
static void vdesk_vblank_timers_fini(struct drm_device *dev, void *data)
{
	struct vdesk_device *vd = data;
	unsigned int i;

	for (i = 0; i < vd->num_outputs; i++)
		hrtimer_cancel(&vd->outputs[i].vblank_timer);
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
	dev->mode_config.helper_private = &vdesk_mode_config_helpers;
	/*
	 * The preferred mode is the size of the user's window, so a hotplug
	 * event means "take the new preferred mode (and place)": the
	 * property qxl, vmwgfx and vboxvideo give their connectors, which
	 * Mutter and KWin follow.
	 */
	vd->hotplug_mode_update_property =
		drm_property_create_range(dev, DRM_MODE_PROP_IMMUTABLE,
					  "hotplug_mode_update", 0, 1);
	if (!vd->hotplug_mode_update_property)
		return -ENOMEM;
	if (virtio_has_feature(vd->vdev, VIRTIO_DESK_F_LAYOUT)) {
		ret = drm_mode_create_suggested_offset_properties(dev);
		if (ret)
			return ret;
	}
	for (i = 0; i < vd->num_outputs; i++) {
		vd->outputs[i].index = i;
		ret = vdesk_output_init(vd, &vd->outputs[i]);
		if (ret)
			return ret;
	}
	ret = drm_vblank_init(dev, vd->num_outputs);
	if (ret)
		return ret;
	ret = drmm_add_action_or_reset(dev, vdesk_vblank_timers_fini, vd);
	if (ret)
		return ret;
	drm_mode_config_reset(dev);
	return 0;
}
