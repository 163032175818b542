// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: outputs nobody watches (VIRTIO_DESK_F_WATCH).
 *
 * A copy into the host's picture costs the host CPU time, and is wasted
 * while no VNC or SPICE client, screendump or migration looks at it.  The
 * device says which outputs somebody watches (config field watched, event
 * VIRTIO_DESK_EVENT_WATCH).  While an output is unwatched, its plane
 * updates keep their damage here instead of transferring it; page flips,
 * their events and vblank pacing go on as before.  When the output is
 * watched again, a commit that changes nothing sends what was kept, and
 * OUTPUTS_CURRENT tells the device the picture is whole, which is what a
 * screendump of an unwatched output waits for.
 */

#include <linux/virtio_config.h>

#include <drm/drm_atomic.h>
#include <drm/drm_damage_helper.h>
#include <drm/drm_drv.h>
#include <drm/drm_modeset_lock.h>
#include <drm/drm_print.h>

#include "vdesk_drv.h"

/* --- Keeping damage --------------------------------------------------------- */

static void vdesk_hold_rect(struct vdesk_output *out, const struct drm_rect *r)
{
	struct drm_rect box = *r;
	unsigned int i;

	for (i = 0; i < out->nheld; i++) {
		const struct drm_rect *h = &out->held[i];

		if (h->x1 <= r->x1 && h->y1 <= r->y1 &&
		    h->x2 >= r->x2 && h->y2 >= r->y2)
			return;		/* kept already (a blinking cursor) */
	}
	if (out->nheld < VDESK_HELD_MAX) {
		out->held[out->nheld++] = *r;
		return;
	}
	/* bounded: past VDESK_HELD_MAX rects, the box around all of them */
	for (i = 0; i < out->nheld; i++) {
		box.x1 = min(box.x1, out->held[i].x1);
		box.y1 = min(box.y1, out->held[i].y1);
		box.x2 = max(box.x2, out->held[i].x2);
		box.y2 = max(box.y2, out->held[i].y2);
	}
	out->held[0] = box;
	out->nheld = 1;
}

/*
 * A plane update of an output: if nobody watches it, keep what the update
 * would transfer (all of src when @whole, else its damage) and return true.
 */
bool vdesk_hold(struct vdesk_output *out, const struct drm_rect *src,
		bool whole, struct drm_plane_state *old,
		struct drm_plane_state *new)
{
	struct drm_atomic_helper_damage_iter iter;
	struct drm_rect clip;

	if (READ_ONCE(out->watched))
		return false;
	if (whole) {
		out->held[0] = *src;
		out->nheld = 1;
	} else if (!to_vdesk_plane_state(new)->send_held) {
		drm_atomic_helper_damage_iter_init(&iter, old, new);
		drm_atomic_for_each_plane_damage(&iter, &clip)
			vdesk_hold_rect(out, &clip);
	}
	atomic_inc(&to_vdesk(out->plane.dev)->stats.held_updates);
	return true;
}

/* Add what the output kept to the transfers of a plane update. */
void vdesk_send_held(struct vdesk_output *out, struct vdesk_xfer *x)
{
	unsigned int i;

	if (!out->nheld)
		return;
	for (i = 0; i < out->nheld; i++)
		vdesk_xfer_rect(x, &out->held[i]);
	out->nheld = 0;
	atomic_inc(&x->vd->stats.held_sent);
}

/* --- Watched again ------------------------------------------------------------ */

/*
 * A commit of the output's plane as it is, marked send_held: its update
 * transfers what the output kept.  It runs after any commit already on its
 * way, whose update may still have kept damage.
 */
static int vdesk_commit_held(struct vdesk_device *vd, struct vdesk_output *out)
{
	struct drm_modeset_acquire_ctx ctx;
	struct drm_atomic_state *state;
	struct drm_plane_state *ps;
	int ret;

	drm_modeset_acquire_init(&ctx, 0);
	state = drm_atomic_state_alloc(&vd->drm);
	if (!state) {
		ret = -ENOMEM;
		goto out_ctx;
	}
	state->acquire_ctx = &ctx;
retry:
	ps = drm_atomic_get_plane_state(state, &out->plane);
	if (IS_ERR(ps)) {
		ret = PTR_ERR(ps);
	} else if (!ps->fb) {
		ret = 0;	/* off: the next modeset sends it all */
	} else {
		to_vdesk_plane_state(ps)->send_held = true;
		ret = drm_atomic_commit(state);
	}
	if (ret == -EDEADLK) {
		drm_atomic_state_clear(state);
		ret = drm_modeset_backoff(&ctx);
		if (!ret)
			goto retry;
	}
	drm_atomic_state_put(state);
out_ctx:
	drm_modeset_drop_locks(&ctx);
	drm_modeset_acquire_fini(&ctx);
	return ret;
}

static int vdesk_outputs_current(struct vdesk_device *vd, u32 outputs)
{
	struct virtio_desk_outputs_current cmd = {
		.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_OUTPUTS_CURRENT),
		.outputs = cpu_to_le32(outputs),
	};

	return vdesk_queue(vd, &cmd, sizeof(cmd), 0, NULL);
}

/*
 * The watched bits changed (EVENT_WATCH).  Its own work item, not the
 * config work: the commits take modeset locks, which a recovery holds
 * while it waits for the config work.
 */
void vdesk_watch_work(struct work_struct *work)
{
	struct vdesk_device *vd = container_of(work, struct vdesk_device, watch_work);
	u32 watched, current_outputs = 0;
	unsigned int i;
	int idx, ret;

	if (!drm_dev_enter(&vd->drm, &idx))
		return;
	virtio_cread_le(vd->vdev, struct virtio_desk_config, watched, &watched);
	for (i = 0; i < vd->num_outputs; i++) {
		struct vdesk_output *out = &vd->outputs[i];
		bool was = out->watched;

		WRITE_ONCE(out->watched, watched & BIT(i));
		if (!out->watched)
			continue;
		if (!was) {
			ret = vdesk_commit_held(vd, out);
			if (ret)
				drm_err_ratelimited(&vd->drm, "output %u: cannot send its picture: %d\n",
						    i, ret);
		}
		current_outputs |= BIT(i);
	}
	if (current_outputs)
		vdesk_outputs_current(vd, current_outputs);
	drm_dev_exit(idx);
}

/*
 * At probe and restore (maybe on another device): what the device says
 * now.  Without F_WATCH every output counts as watched.  The commit that
 * follows a restore sends or keeps each output's whole picture.
 */
void vdesk_watch_init(struct vdesk_device *vd)
{
	u32 watched = ~0u;
	unsigned int i;

	if (virtio_has_feature(vd->vdev, VIRTIO_DESK_F_WATCH))
		virtio_cread_le(vd->vdev, struct virtio_desk_config, watched, &watched);
	for (i = 0; i < vd->num_outputs; i++)
		WRITE_ONCE(vd->outputs[i].watched, watched & BIT(i));
}
