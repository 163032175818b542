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
 * then runs the same freeze and restore through the virtio core, as it
 * does for a device that answers again after a stall (requests were
 * refused meanwhile, so the device's state is no longer the driver's).
 */

#include <linux/virtio_config.h>

#include <drm/drm_drv.h>
#include <drm/drm_modeset_helper.h>
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

int vdesk_freeze(struct virtio_device *vdev)
{
	struct vdesk_device *vd = vdev->priv;
	struct drm_device *dev = &vd->drm;
	int ret;

	ret = drm_mode_config_helper_suspend(dev);
	if (ret)
		return ret;
	vdesk_input_suspend(vd);
	/* the disabling commit's SET_SCANOUTs, RESOURCE_DESTROYs */
	if (!vdesk_vq_wait_idle(vd, VDESK_TIMEOUT_MS))
		drm_warn(dev, "device still busy at suspend: resetting it anyway\n");
	cancel_work_sync(&vd->config_work);
	virtio_reset_device(vdev);
	vdesk_vqs_del(vd);
	return 0;
}

int vdesk_restore(struct virtio_device *vdev)
{
	struct vdesk_device *vd = vdev->priv;
	struct drm_device *dev = &vd->drm;
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
		drm_warn(dev, "no display info: %d\n", ret);
	vdesk_res_recreate(vd);
	vdesk_input_resume(vd);
	/* the cursor as last sent; the saved state's commit then updates it */
	vdesk_cursor_restore(vd);
	return drm_mode_config_helper_resume(dev);
}

#ifdef CONFIG_PM_SLEEP
/*
 * Queued when the device lost DRIVER_OK, asks for a reset (NEEDS_RESET),
 * or answers again after a stall (vdesk_vq.c).
 */
void vdesk_recover_work(struct work_struct *work)
{
	struct vdesk_device *vd = container_of(work, struct vdesk_device,
					       recover_work);
	struct virtio_device *vdev = vd->vdev;
	bool after_stall;
	int ret, idx;

	/* vdesk_remove() waits for us here, and we do nothing after it */
	if (!drm_dev_enter(&vd->drm, &idx))
		return;
	/* a suspend or another recovery reset the device since it was asked */
	if (!vdesk_vq_recover_needed(vd, &after_stall))
		goto out;
	drm_info(&vd->drm, "%s: initialising it again\n",
		 after_stall ? "device answers after a stall" : "device was reset");
	/* the status handshake and feature negotiation of a resume */
	ret = virtio_device_freeze(vdev);
	if (!ret)
		ret = virtio_device_restore(vdev);
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
