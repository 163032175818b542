/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-desk: paravirtual display driver, shared definitions.
 */
#ifndef _VDESK_DRV_H
#define _VDESK_DRV_H

#include <linux/completion.h>
#include <linux/idr.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/workqueue.h>

#include <drm/drm_connector.h>
#include <drm/drm_crtc.h>
#include <drm/drm_device.h>
#include <drm/drm_encoder.h>
#include <drm/drm_framebuffer.h>
#include <drm/drm_plane.h>
#include <drm/drm_rect.h>

#include "standard-headers/linux/virtio_desk.h"

#define DRIVER_NAME	"virtio_desk"
#define DRIVER_DESC	"virtio-desk paravirtual display"
#define DRIVER_DATE	"20261122"
#define DRIVER_MAJOR	1
#define DRIVER_MINOR	0

/* Most rects we put in one request, whatever the device allows. */
#define VDESK_RECTS_CAP		1024
/* Most descriptors we put in one request, whatever the device allows. */
#define VDESK_SEGS_CAP		4096
/* How long a request may take before we give up on the device. */
#define VDESK_TIMEOUT_MS	10000

struct vdesk_input;

struct vdesk_output {
	struct drm_plane plane;
	struct drm_crtc crtc;
	struct drm_encoder encoder;
	struct drm_connector connector;
	unsigned int index;
	u32 scanout_res;	/* resource the device shows, 0 = disabled */
};

struct vdesk_device {
	struct drm_device drm;
	struct virtio_device *vdev;
	struct virtqueue *vq;

	/* configuration space, read at probe */
	u32 num_outputs;
	u32 max_rects;
	u32 max_segments;
	u32 max_dimension;
	u32 max_resources;
	u64 max_hostmem;

	/* request path: one request in flight, serialized by req_lock */
	struct mutex req_lock;
	struct completion req_done;
	bool broken;
	void *cmd;			/* command (+ rects) buffer */
	size_t cmd_size;
	struct virtio_desk_resp_display_info *resp;
	struct scatterlist *payload;	/* payload descriptors */
	unsigned int payload_max;	/* entries usable in payload */
	unsigned int rects_max;		/* rects usable in one request */

	/* display info, protected by info_lock */
	spinlock_t info_lock;
	struct virtio_desk_output_info info[VIRTIO_DESK_MAX_OUTPUTS];
	struct work_struct config_work;

	/* host resources, kept within max_resources and max_hostmem */
	struct ida res_ida;
	spinlock_t res_lock;
	u32 res_count;
	u64 hostmem_used;

	struct vdesk_output *outputs;

	/* input (VIRTIO_DESK_F_INPUT), NULL without it */
	struct virtqueue *evq;
	struct virtqueue *stq;
	struct vdesk_input *input;
};

static inline struct vdesk_device *to_vdesk(struct drm_device *drm)
{
	return container_of(drm, struct vdesk_device, drm);
}

/* A run of physically contiguous framebuffer bytes. */
struct vdesk_seg {
	u64 off;		/* byte offset in the GEM object */
	unsigned long pfn;	/* first page */
	u32 len;
};

struct vdesk_fb {
	struct drm_framebuffer base;	/* first: drm_gem_fb_destroy() frees us */
	struct mutex lock;		/* creation of the host resource */
	u32 res_id;			/* host resource, 0 until first use */
	u64 hostmem;			/* its cost in max_hostmem */
	bool pinned;
	unsigned int nsegs;
	struct vdesk_seg *segs;
};

static inline struct vdesk_fb *to_vdesk_fb(struct drm_framebuffer *fb)
{
	return container_of(fb, struct vdesk_fb, base);
}

/* vdesk_vq.c */
int vdesk_vq_init(struct vdesk_device *vd);
void vdesk_vq_done(struct virtqueue *vq);
int vdesk_get_display_info(struct vdesk_device *vd);
int vdesk_resource_create(struct vdesk_device *vd, u32 id, u32 format,
			  u32 width, u32 height);
int vdesk_resource_destroy(struct vdesk_device *vd, u32 id);
int vdesk_set_scanout(struct vdesk_device *vd, u32 output, u32 res_id,
		      const struct drm_rect *src);

struct vdesk_xfer {
	struct vdesk_device *vd;
	struct vdesk_fb *fb;
	u32 cpp;
	u32 pitch;
	u64 base;
	unsigned int nrects;
	unsigned int nsegs;
	u64 payload_len;
	u64 area;	/* pixels in this request: at most the resource's */
	int err;
};

void vdesk_xfer_begin(struct vdesk_xfer *x, struct vdesk_device *vd,
		      struct vdesk_fb *fb);
void vdesk_xfer_rect(struct vdesk_xfer *x, const struct drm_rect *clip);
int vdesk_xfer_end(struct vdesk_xfer *x);

int vdesk_get_input_info(struct vdesk_device *vd, u32 device,
			 struct virtio_desk_resp_input_info *info);

/* vdesk_input.c */
int vdesk_input_init(struct vdesk_device *vd);
void vdesk_input_remove(struct vdesk_device *vd);
void vdesk_input_event_done(struct virtqueue *vq);
void vdesk_input_status_done(struct virtqueue *vq);

/* vdesk_kms.c */
int vdesk_modeset_init(struct vdesk_device *vd);
void vdesk_fb_release_host(struct vdesk_fb *vfb);

#endif /* _VDESK_DRV_H */
