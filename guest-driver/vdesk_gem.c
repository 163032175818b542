// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: GEM objects.  Dumb buffers are shmem objects, made of huge
 * pages where the guest allows.
 */

#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/sizes.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "vdesk_drv.h"

/* --- Framebuffer memory ------------------------------------------------------------
 *
 * Dumb buffers live in a tmpfs mount of our own with huge=within_size, so
 * a framebuffer is made of 2 MiB folios wherever the guest's memory allows:
 * a whole frame is then a handful of descriptors however long the guest
 * has run, where 4 KiB pages scatter over thousands.  Buffers of 2 MiB or
 * more are rounded up to whole 2 MiB folios (a 1920x1080 one from 8.3 to
 * 10 MB of guest memory).  Linux 6.13 has
 * drm_gem_shmem_create_with_mnt() for this; on 6.12 the object's backing
 * file is replaced while it has no pages yet.  Without the mount (no THP),
 * objects are ordinary shmem.
 */

static void vdesk_gemfs_fini(struct drm_device *dev, void *data)
{
	kern_unmount(data);
}

void vdesk_gemfs_init(struct vdesk_device *vd)
{
	char huge_opt[] = "huge=within_size";
	struct file_system_type *type;
	struct vfsmount *mnt;

	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		return;
	type = get_fs_type("tmpfs");
	if (!type)
		return;
	mnt = vfs_kern_mount(type, SB_KERNMOUNT, type->name, huge_opt);
	if (IS_ERR(mnt)) {
		drm_info(&vd->drm, "no huge page mount (%ld): framebuffers in 4 KiB pages\n",
			 PTR_ERR(mnt));
		return;
	}
	if (drmm_add_action_or_reset(&vd->drm, vdesk_gemfs_fini, mnt))
		return;
	vd->gemfs = mnt;
}

int vdesk_dumb_create(struct drm_file *file, struct drm_device *dev,
		      struct drm_mode_create_dumb *args)
{
	struct vdesk_device *vd = to_vdesk(dev);
	struct drm_gem_shmem_object *shmem;
	struct drm_gem_object *obj;
	struct file *filp;
	int ret;

	if (!vd->gemfs)
		return drm_gem_shmem_dumb_create(file, dev, args);

	/* drm_mode_create_dumb() checked width * bpp * height for overflow */
	args->pitch = DIV_ROUND_UP(args->width * args->bpp, 8);
	args->size = PAGE_ALIGN((u64)args->pitch * args->height);
	/* within_size gives no huge folio to a tail shorter than 2 MiB */
	if (args->size >= SZ_2M)
		args->size = ALIGN(args->size, SZ_2M);
	shmem = drm_gem_shmem_create(dev, args->size);
	if (IS_ERR(shmem))
		return PTR_ERR(shmem);
	obj = &shmem->base;
	filp = shmem_file_setup_with_mnt(vd->gemfs, "virtio_desk fb", obj->size,
					 VM_NORESERVE);
	if (IS_ERR(filp)) {
		ret = PTR_ERR(filp);
		goto out;
	}
	/* the helper's mask: pinned pages stay out of ZONE_MOVABLE */
	mapping_set_gfp_mask(filp->f_mapping, mapping_gfp_mask(obj->filp->f_mapping));
	fput(obj->filp);
	obj->filp = filp;
	ret = drm_gem_handle_create(file, obj, &args->handle);
out:
	drm_gem_object_put(obj);
	return ret;
}
