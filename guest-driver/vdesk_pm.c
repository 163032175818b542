// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: suspend, hibernation, and recovery from a reset the device
 * had behind the driver's back (a PCI function level reset).
 *
 * The device keeps nothing across a reset, and needs nothing kept: what it
 * showed is rebuilt from what the driver owns.  Freezing saves the atomic
 * state (drm_mode_config_helper_suspend() disables the outputs and keeps
 * the plane states, which hold their resources and framebuffers), stops
 * the input queues and resets the device.  Restoring creates every live
 * resource again under its old id, refills the input queues, sends the LED
 * state, and commits the saved state: each output's first update after a
 * SET_SCANOUT 0 transfers the whole framebuffer, so the picture a KMS
 * client or fbcon last drew is back without their help.
 *
 * The virtio core calls these for suspend to RAM, hibernation (freeze,
 * thaw, restore) and poweroff alike.  Linux 6.12's virtio-pci tells no
 * driver about a function level reset (it has no reset_prepare/reset_done),
 * so the driver finds out itself: a request stays unanswered and the
 * device's status has lost DRIVER_OK, or the device sets NEEDS_RESET.  It
 * does the same for a device that answers again after a stall (requests
 * were refused meanwhile, so the device's state is no longer the
 * driver's).  Recovery goes through the virtio core's freeze and restore
 * for the status handshake and feature negotiation, but user space runs
 * meanwhile, so it leaves the atomic state alone (the suspend helpers
 * reset it without locks): it holds every modeset lock, rebuilds the
 * device under the current state, and commits a duplicate of that state,
 * which sends every output's whole picture again.
 */

#include <linux/virtio_config.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_drv.h>
#include <drm/drm_modeset_helper.h>
#include <drm/drm_modeset_lock.h>
#include <drm/drm_print.h>

#include "vdesk_drv.h"

/*
 * Create on the device every resource that the driver's states still hold,
 * with its id, format and size.  A reference is held across each creation,
 * so a resource released meanwhile is destroyed on the device afterwards.
 */
static void vdesk_res_recreate(struct vdesk_device *vd)
{
	struct vdesk_res *res, *found;
	u32 epoch = ++vd->res_epoch;
	int ret;

	for (;;) {
		found = NULL;
		spin_lock(&vd->res_lock);
		list_for_each_entry(res, &vd->res_list, node) {
			if (res->epoch != epoch && kref_get_unless_zero(&res->ref)) {
				res->epoch = epoch;
				found = res;
				break;
			}
		}
		spin_unlock(&vd->res_lock);
		if (!found)
			return;
		ret = vdesk_resource_create(vd, found->id, found->format,
					    found->width, found->height);
		if (ret)
			drm_err(&vd->drm, "cannot create resource %u (%ux%u) again: %d\n",
				found->id, found->width, found->height, ret);
		vdesk_res_put(found);
	}
}

/* The device's half of a freeze: no request in flight, reset, no queues. */
static void vdesk_device_down(struct vdesk_device *vd)
{
	vdesk_input_suspend(vd);
	/* the disabling commit's SET_SCANOUTs, RESOURCE_DESTROYs */
	if (!vdesk_vq_wait_idle(vd, VDESK_TIMEOUT_MS))
		drm_warn(&vd->drm, "device still busy at suspend: resetting it anyway\n");
	cancel_work_sync(&vd->config_work);
	virtio_reset_device(vd->vdev);
	vdesk_vqs_del(vd);
}

/* The device's half of a restore: what the driver's state holds, again. */
static int vdesk_device_up(struct vdesk_device *vd)
{
	struct virtio_device *vdev = vd->vdev;
	int ret;

	/* maybe another QEMU, after hibernation: its limits */
	ret = vdesk_read_config(vd);
	if (ret)
		return ret;
	ret = vdesk_vqs_find(vd);
	if (ret)
		return ret;
	ret = vdesk_xfer_limits(vd);
	if (ret) {
		virtio_reset_device(vdev);
		vdesk_vqs_del(vd);
		return ret;
	}
	virtio_device_ready(vdev);
	vdesk_vqs_start(vd);

	/* the UI may have another size now (a new QEMU after hibernation) */
	ret = vdesk_get_display_info(vd);
	if (ret)
		drm_warn(&vd->drm, "no display info: %d\n", ret);
	vdesk_res_recreate(vd);
	/* who watches this device's outputs: the commit after us keeps or sends */
	vdesk_watch_init(vd);
	vdesk_input_resume(vd);
	/* the cursor as last sent; the next commit updates it */
	vdesk_cursor_restore(vd);
	return 0;
}

int vdesk_freeze(struct virtio_device *vdev)
{
	struct vdesk_device *vd = vdev->priv;
	int ret;

	if (!vd->recovering) {
		/* its commits wait for modeset locks: a recovery holds them here */
		cancel_work_sync(&vd->watch_work);
		ret = drm_mode_config_helper_suspend(&vd->drm);
		if (ret)
			return ret;
	}
	vdesk_device_down(vd);
	return 0;
}

int vdesk_restore(struct virtio_device *vdev)
{
	struct vdesk_device *vd = vdev->priv;
	int ret;

	ret = vdesk_device_up(vd);
	if (ret || vd->recovering)
		return ret;
	return drm_mode_config_helper_resume(&vd->drm);
}

#ifdef CONFIG_PM_SLEEP
/*
 * Rebuild the device under the current atomic state, then commit a
 * duplicate of it: every output not shown by the new device (scanout 0)
 * and marked stale sends its whole picture.  Called with every modeset
 * lock held, so no commit starts meanwhile; commits already past their
 * locks find the queue down (or up again) and the duplicate's commit
 * waits for them.
 */
static int vdesk_recover_locked(struct vdesk_device *vd,
				struct drm_modeset_acquire_ctx *ctx)
{
	struct drm_atomic_state *state;
	unsigned int i;
	int ret;

	state = drm_atomic_helper_duplicate_state(&vd->drm, ctx);
	if (IS_ERR(state))
		return PTR_ERR(state);
	vd->recovering = true;
	/* the status handshake and feature negotiation of a resume */
	ret = virtio_device_freeze(vd->vdev);
	if (!ret)
		ret = virtio_device_restore(vd->vdev);
	vd->recovering = false;
	if (!ret) {
		for (i = 0; i < vd->num_outputs; i++) {
			vd->outputs[i].scanout_res = 0;
			vdesk_output_stale(vd, i);
		}
		ret = drm_atomic_helper_commit_duplicated_state(state, ctx);
	}
	drm_atomic_state_put(state);
	return ret;
}

/*
 * Queued when the device lost DRIVER_OK, asks for a reset (NEEDS_RESET),
 * or answers again after a stall (vdesk_vq.c).
 */
void vdesk_recover_work(struct work_struct *work)
{
	struct vdesk_device *vd = container_of(work, struct vdesk_device,
					       recover_work);
	struct drm_device *dev = &vd->drm;
	struct drm_modeset_acquire_ctx ctx;
	bool after_stall;
	int ret, idx;

	/* vdesk_remove() waits for us here, and we do nothing after it */
	if (!drm_dev_enter(dev, &idx))
		return;
	/* a suspend or another recovery reset the device since it was asked */
	if (!vdesk_vq_recover_needed(vd, &after_stall))
		goto out;
	drm_info(&vd->drm, "%s: initialising it again\n",
		 after_stall ? "device answers after a stall" : "device was reset");
	DRM_MODESET_LOCK_ALL_BEGIN(dev, ctx, 0, ret);
	ret = vdesk_recover_locked(vd, &ctx);
	DRM_MODESET_LOCK_ALL_END(dev, ctx, ret);
	if (ret) {
		drm_err(&vd->drm, "cannot initialise the device again: %d\n", ret);
	} else {
		atomic_inc(&vd->stats.recoveries);
		drm_info(&vd->drm, "device initialised again, display restored\n");
	}
out:
	drm_dev_exit(idx);
}
#else
void vdesk_recover_work(struct work_struct *work)
{
	struct vdesk_device *vd = container_of(work, struct vdesk_device,
					       recover_work);

	drm_err(&vd->drm, "device was reset: without CONFIG_PM_SLEEP only unbind and bind bring it back\n");
}
#endif
