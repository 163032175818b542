// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: paravirtual display driver for QEMU's virtio-desk-pci.
 *
 * The device keeps one host-side image ("resource") per output, which the
 * driver fills with the damaged rectangles of whatever framebuffer the
 * output shows, letting the device read the framebuffer pages directly.  The
 * wire protocol is include/standard-headers/linux/virtio_desk.h.
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/shmem_fs.h>
#include <linux/sizes.h>
#include <linux/virtio_config.h>

#include <drm/drm_aperture.h>
#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_drv.h>
#include <drm/drm_fbdev_shmem.h>
#include <drm/drm_file.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>
#include <drm/drm_probe_helper.h>

#include "vdesk_drv.h"

/* The wire format: sizes are part of the protocol. */
static_assert(sizeof(struct virtio_desk_config) == 48);
static_assert(sizeof(struct virtio_desk_ctrl_hdr) == 8);
static_assert(sizeof(struct virtio_desk_rect) == 16);
static_assert(sizeof(struct virtio_desk_output_info) == 16);
static_assert(sizeof(struct virtio_desk_resp_display_info) == 264);
static_assert(sizeof(struct virtio_desk_resource_create) == 24);
static_assert(sizeof(struct virtio_desk_resource_destroy) == 16);
static_assert(sizeof(struct virtio_desk_set_scanout) == 32);
static_assert(sizeof(struct virtio_desk_xfer_rect) == 32);
static_assert(sizeof(struct virtio_desk_transfer_rects) == 16);
static_assert(sizeof(struct virtio_desk_resp_layout) == 136);
static_assert(sizeof(struct virtio_desk_outputs_current) == 16);

/* --- DRM driver ---------------------------------------------------------------- */

/*
 * Knobs for tests, next to the DRM core's files in the device's debugfs
 * directory (/sys/kernel/debug/dri/N/):
 *   check_limits  Y (default) refuses resources beyond max_resources and
 *                 max_hostmem in the driver; N leaves that to the device,
 *                 whose error answers are then logged
 *   xfer_layout   a rect's payload: 0 (default) whichever layout needs
 *                 fewer descriptors, 1 always one byte range, 2 always
 *                 row by row
 *   xfer_fault    N: the next N transfers go to resource 0xffffffff, which
 *                 the device refuses (the repair after a failed transfer)
 *   vdesk_stats   counters of the paths that handle races, stalls and
 *                 faults (struct vdesk_stats), for the stress tests
 */
static int vdesk_stats_show(struct seq_file *m, void *unused)
{
	struct vdesk_device *vd = m->private;
	const struct vdesk_stats *st = &vd->stats;
	unsigned int i;
	u32 watched = 0;

	seq_printf(m, "vblank_cancel_busy %d\n", atomic_read(&st->vblank_cancel_busy));
	seq_printf(m, "stalls %d\n", atomic_read(&st->stalls));
	seq_printf(m, "stall_ends %d\n", atomic_read(&st->stall_ends));
	seq_printf(m, "recoveries %d\n", atomic_read(&st->recoveries));
	seq_printf(m, "recoveries_skipped %d\n", atomic_read(&st->recoveries_skipped));
	seq_printf(m, "resyncs %d\n", atomic_read(&st->resyncs));
	seq_printf(m, "queue_waits %d\n", atomic_read(&st->queue_waits));
	seq_printf(m, "cursor_dropped %d\n", atomic_read(&st->cursor_dropped));
	seq_printf(m, "held_updates %d\n", atomic_read(&st->held_updates));
	seq_printf(m, "held_sent %d\n", atomic_read(&st->held_sent));
	for (i = 0; i < vd->num_outputs; i++)
		watched |= READ_ONCE(vd->outputs[i].watched) << i;
	seq_printf(m, "watched %u\n", watched);	/* bit per output */
	seq_printf(m, "max_seg_size %u\n", vd->max_seg_size);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vdesk_stats);

static void vdesk_debugfs_init(struct drm_minor *minor)
{
	struct vdesk_device *vd = to_vdesk(minor->dev);

	debugfs_create_bool("check_limits", 0644, minor->debugfs_root,
			    &vd->check_limits);
	debugfs_create_u32("xfer_layout", 0644, minor->debugfs_root,
			   &vd->xfer_layout);
	debugfs_create_u32("xfer_fault", 0644, minor->debugfs_root,
			   &vd->xfer_fault);
	debugfs_create_file("vdesk_stats", 0444, minor->debugfs_root, vd,
			    &vdesk_stats_fops);
}

DEFINE_DRM_GEM_FOPS(vdesk_fops);

static const struct drm_driver vdesk_driver = {
	/* DRIVER_CURSOR_HOTSPOT only with cursor_hotspot=1: see vdesk_cursor.c */
	.driver_features	= DRIVER_MODESET | DRIVER_GEM | DRIVER_ATOMIC |
				  DRIVER_CURSOR_HOTSPOT,
	.fops			= &vdesk_fops,
	.name			= DRIVER_NAME,
	.desc			= DRIVER_DESC,
	.date			= DRIVER_DATE,
	.major			= DRIVER_MAJOR,
	.minor			= DRIVER_MINOR,
	.gem_prime_import_sg_table = drm_gem_shmem_prime_import_sg_table,
	.dumb_create		= vdesk_dumb_create,
	.debugfs_init		= vdesk_debugfs_init,
};

/* --- Configuration space ---------------------------------------------------------- */

/*
 * The device's limits, at probe and again at restore (hibernation may
 * resume on another QEMU).  The number of outputs cannot change under a
 * DRM device: a restore keeps the one it had.
 */
int vdesk_read_config(struct vdesk_device *vd)
{
	struct virtio_device *vdev = vd->vdev;
	struct drm_device *dev = &vd->drm;
	u32 outputs = vd->num_outputs;

	virtio_cread_le(vdev, struct virtio_desk_config, num_outputs, &vd->num_outputs);
	virtio_cread_le(vdev, struct virtio_desk_config, max_rects, &vd->max_rects);
	virtio_cread_le(vdev, struct virtio_desk_config, max_segments, &vd->max_segments);
	virtio_cread_le(vdev, struct virtio_desk_config, max_dimension, &vd->max_dimension);
	virtio_cread_le(vdev, struct virtio_desk_config, max_resources, &vd->max_resources);
	virtio_cread_le(vdev, struct virtio_desk_config, max_hostmem, &vd->max_hostmem);

	drm_info(dev, "outputs %u, max rects %u, segments %u, dimension %u, resources %u, hostmem %llu\n",
		 vd->num_outputs, vd->max_rects, vd->max_segments,
		 vd->max_dimension, vd->max_resources, vd->max_hostmem);

	if (!vd->num_outputs || vd->num_outputs > VIRTIO_DESK_MAX_OUTPUTS) {
		drm_err(dev, "bad number of outputs %u\n", vd->num_outputs);
		return -EINVAL;
	}
	if (outputs && outputs != vd->num_outputs) {
		drm_warn(dev, "the device has %u outputs now: the first %u stay in use\n",
			 vd->num_outputs, min(outputs, vd->num_outputs));
		vd->num_outputs = min(outputs, vd->num_outputs);
	}
	if (!vd->max_dimension) {
		drm_err(dev, "max_dimension is 0\n");
		return -EINVAL;
	}
	return 0;
}

static void vdesk_config_work(struct work_struct *work)
{
	struct vdesk_device *vd = container_of(work, struct vdesk_device, config_work);
	struct drm_device *dev = &vd->drm;
	u32 events, clear;
	int idx;

	if (!drm_dev_enter(dev, &idx))
		return;
	virtio_cread_le(vd->vdev, struct virtio_desk_config, events_read, &events);
	if (!virtio_has_feature(vd->vdev, VIRTIO_DESK_F_WATCH))
		events &= ~VIRTIO_DESK_EVENT_WATCH;
	/* cleared before the fields are read: a newer change raises it again */
	clear = events & (VIRTIO_DESK_EVENT_DISPLAY | VIRTIO_DESK_EVENT_WATCH);
	if (clear)
		virtio_cwrite_le(vd->vdev, struct virtio_desk_config, events_clear, &clear);
	if (events & VIRTIO_DESK_EVENT_DISPLAY)
		vdesk_get_display_info(vd);
	if (events & VIRTIO_DESK_EVENT_WATCH)
		queue_work(system_unbound_wq, &vd->watch_work);
	drm_dev_exit(idx);
	if ((events & VIRTIO_DESK_EVENT_DISPLAY) && dev->registered)
		drm_kms_helper_hotplug_event(dev);
}

static void vdesk_config_changed(struct virtio_device *vdev)
{
	struct vdesk_device *vd = vdev->priv;

	if (vdev->config->get_status(vdev) & VIRTIO_CONFIG_S_NEEDS_RESET)
		vdesk_vq_recover(vd);
	else
		schedule_work(&vd->config_work);
}

/* --- virtio driver -------------------------------------------------------------- */

static void vdesk_ida_fini(struct drm_device *dev, void *data)
{
	ida_destroy(data);
}

/*
 * On virtio-desk-vga the firmware's console drives our device until we take
 * over: vgacon, or vesafb/efifb/simpledrm on the VGA memory in BAR 0.  As
 * bochs and virtio-gpu do, remove them before registering.
 */
static int vdesk_remove_firmware_fb(struct virtio_device *vdev)
{
	struct pci_dev *pdev;
	int ret;

	if (!dev_is_pci(vdev->dev.parent))
		return 0;
	pdev = to_pci_dev(vdev->dev.parent);
	if (!pci_is_vga(pdev))
		return 0;
	ret = drm_aperture_remove_conflicting_pci_framebuffers(pdev, &vdesk_driver);
	if (ret)
		return ret;
	dev_info(&vdev->dev, "VGA device: replaced the firmware framebuffer and console\n");
	return 0;
}

static int vdesk_probe(struct virtio_device *vdev)
{
	struct vdesk_device *vd;
	struct drm_device *dev;
	int ret;

	if (!virtio_has_feature(vdev, VIRTIO_F_VERSION_1))
		return -ENODEV;
	ret = vdesk_remove_firmware_fb(vdev);
	if (ret)
		return ret;

	vd = devm_drm_dev_alloc(&vdev->dev, &vdesk_driver, struct vdesk_device, drm);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	dev = &vd->drm;
	vd->vdev = vdev;
	vdev->priv = vd;
	spin_lock_init(&vd->info_lock);
	INIT_WORK(&vd->config_work, vdesk_config_work);
	INIT_WORK(&vd->watch_work, vdesk_watch_work);
	INIT_WORK(&vd->recover_work, vdesk_recover_work);
	ida_init(&vd->res_ida);
	spin_lock_init(&vd->res_lock);
	INIT_LIST_HEAD(&vd->res_list);
	vd->check_limits = true;
	ret = drmm_add_action_or_reset(dev, vdesk_ida_fini, &vd->res_ida);
	if (ret)
		return ret;

	vdesk_gemfs_init(vd);
	ret = vdesk_read_config(vd);
	if (ret)
		return ret;

	vdesk_vq_init(vd);
	vdesk_cursor_init(vd);
	ret = vdesk_vqs_find(vd);
	if (ret)
		return ret;
	ret = vdesk_xfer_init(vd);
	if (ret)
		goto err_vqs;
	virtio_device_ready(vdev);
	vdesk_vqs_start(vd);

	ret = vdesk_get_display_info(vd);
	if (ret)
		drm_warn(dev, "no display info: %d\n", ret);

	/* without input devices the display still works */
	if (vd->evq)
		vdesk_input_init(vd);

	ret = vdesk_modeset_init(vd);
	if (ret)
		goto err_reset;
	vdesk_watch_init(vd);

	ret = drm_dev_register(dev, 0);
	if (ret)
		goto err_reset;
	drm_fbdev_shmem_setup(dev, 32);
	return 0;

err_reset:
	vdesk_input_remove(vd);
err_vqs:
	/* nothing may run after vd is freed, whoever queued it */
	disable_work_sync(&vd->recover_work);
	disable_work_sync(&vd->config_work);
	disable_work_sync(&vd->watch_work);
	virtio_reset_device(vdev);
	vdesk_vqs_del(vd);
	return ret;
}

static void vdesk_remove(struct virtio_device *vdev)
{
	struct vdesk_device *vd = vdev->priv;
	struct drm_device *dev = &vd->drm;

	/* no more events or LED messages, no input devices */
	vdesk_input_remove(vd);
	/* no new device access; waits for the ones in progress */
	drm_dev_unplug(dev);
	/*
	 * Disabled, not cancelled: the watchdog or an interrupt may still
	 * queue them, and they must not run once vd is freed.
	 */
	disable_work_sync(&vd->recover_work);
	/*
	 * A restore that failed left the state saved at freeze, which holds
	 * framebuffers and so the DRM device: let it go.
	 */
	if (dev->mode_config.suspend_state) {
		drm_atomic_state_put(dev->mode_config.suspend_state);
		dev->mode_config.suspend_state = NULL;
	}
	disable_work_sync(&vd->watch_work);
	drm_atomic_helper_shutdown(dev);
	disable_work_sync(&vd->config_work);
	/* the device forgets all resources and outputs on reset */
	virtio_reset_device(vdev);
	vdesk_vqs_del(vd);
}

static const struct virtio_device_id vdesk_id_table[] = {
	{ VIRTIO_ID_DESK, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vdesk_id_table);

static const unsigned int vdesk_features[] = {
	VIRTIO_DESK_F_INPUT,
	VIRTIO_DESK_F_CURSOR,
	VIRTIO_DESK_F_EDID,
	VIRTIO_DESK_F_LAYOUT,
	VIRTIO_DESK_F_WATCH,
};

static struct virtio_driver vdesk_virtio_driver = {
	.driver.name		= KBUILD_MODNAME,
	.feature_table		= vdesk_features,
	.feature_table_size	= ARRAY_SIZE(vdesk_features),
	.id_table		= vdesk_id_table,
	.probe			= vdesk_probe,
	.remove			= vdesk_remove,
	.config_changed		= vdesk_config_changed,
	.freeze			= pm_sleep_ptr(vdesk_freeze),
	.restore		= pm_sleep_ptr(vdesk_restore),
};
module_virtio_driver(vdesk_virtio_driver);

MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_LICENSE("GPL");
