// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: control queue, commands and damage transfers.
 *
 * One request is in flight at a time (vd->req_lock).  The virtqueue callback
 * only signals a completion; the submitter collects the used buffer itself,
 * so nothing but the submitter ever touches the virtqueue.  Every request is
 * waited for before it returns, so framebuffer pages a request points at are
 * never released while the device may still read them.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <drm/drm_drv.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "vdesk_drv.h"

/* --- virtqueue -------------------------------------------------------------- */

void vdesk_vq_done(struct virtqueue *vq)
{
	struct vdesk_device *vd = vq->vdev->priv;

	complete(&vd->req_done);
}

int vdesk_vq_init(struct vdesk_device *vd)
{
	struct drm_device *dev = &vd->drm;
	unsigned int segs;

	segs = min_t(u32, vd->max_segments, VDESK_SEGS_CAP);
	/* without indirect descriptors a chain must fit in the ring */
	if (!virtio_has_feature(vd->vdev, VIRTIO_RING_F_INDIRECT_DESC))
		segs = min(segs, virtqueue_get_vring_size(vd->vq));
	if (segs < 3) {
		drm_err(dev, "max_segments %u too small\n", segs);
		return -EINVAL;
	}
	vd->payload_max = segs - 2;	/* command + response */
	vd->rects_max = min_t(u32, vd->max_rects, VDESK_RECTS_CAP);
	if (!vd->rects_max) {
		drm_err(dev, "max_rects is 0\n");
		return -EINVAL;
	}

	vd->cmd_size = max(sizeof(struct virtio_desk_transfer_rects) +
			   vd->rects_max * sizeof(struct virtio_desk_xfer_rect),
			   sizeof(struct virtio_desk_set_scanout));
	vd->cmd = drmm_kzalloc(dev, vd->cmd_size, GFP_KERNEL);
	vd->resp = drmm_kzalloc(dev, sizeof(*vd->resp), GFP_KERNEL);
	vd->payload = drmm_kcalloc(dev, vd->payload_max, sizeof(*vd->payload),
				   GFP_KERNEL);
	if (!vd->cmd || !vd->resp || !vd->payload)
		return -ENOMEM;
	sg_init_table(vd->payload, vd->payload_max);
	sg_unmark_end(&vd->payload[vd->payload_max - 1]);
	return 0;
}

static const char *vdesk_resp_name(u32 type)
{
	switch (type) {
	case VIRTIO_DESK_RESP_ERR_INVALID_COMMAND: return "INVALID_COMMAND";
	case VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
	case VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID: return "INVALID_OUTPUT_ID";
	case VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID: return "INVALID_RESOURCE_ID";
	case VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER: return "INVALID_PARAMETER";
	case VIRTIO_DESK_RESP_ERR_INVALID_RECT: return "INVALID_RECT";
	case VIRTIO_DESK_RESP_ERR_INVALID_LENGTH: return "INVALID_LENGTH";
	default: return "unknown";
	}
}

/*
 * Send vd->cmd (cmd_len bytes) followed by npay payload entries of
 * vd->payload, with room for resp_len response bytes, and wait for it.
 * Called with req_lock held.  Returns 0 or a negative errno.
 */
static int vdesk_submit(struct vdesk_device *vd, size_t cmd_len,
			unsigned int npay, size_t resp_len, u32 expect)
{
	struct drm_device *dev = &vd->drm;
	struct scatterlist cmd_sg, resp_sg, *sgs[3];
	unsigned int nout = 0, len;
	u32 cmd_type = le32_to_cpu(((struct virtio_desk_ctrl_hdr *)vd->cmd)->type);
	u32 type;
	void *buf;
	int ret;

	lockdep_assert_held(&vd->req_lock);
	if (vd->broken)
		return -EIO;

	sg_init_one(&cmd_sg, vd->cmd, cmd_len);
	sgs[nout++] = &cmd_sg;
	if (npay) {
		sg_mark_end(&vd->payload[npay - 1]);
		sgs[nout++] = vd->payload;
	}
	memset(vd->resp, 0, resp_len);
	sg_init_one(&resp_sg, vd->resp, resp_len);
	sgs[nout] = &resp_sg;

	reinit_completion(&vd->req_done);
	ret = virtqueue_add_sgs(vd->vq, sgs, nout, 1, vd, GFP_KERNEL);
	if (npay)
		sg_unmark_end(&vd->payload[npay - 1]);
	if (ret) {
		/*
		 * The virtio core stops the queue when the device goes away
		 * (system shutdown, surprise removal) and logs it when it
		 * stops it for a ring error: nothing to add then.
		 */
		if (virtqueue_is_broken(vd->vq))
			return -ENODEV;
		drm_err_ratelimited(dev, "cannot queue command %#x: %d\n",
				    cmd_type, ret);
		return ret;
	}
	virtqueue_kick(vd->vq);

	for (;;) {
		buf = virtqueue_get_buf(vd->vq, &len);
		if (buf)
			break;
		if (!wait_for_completion_timeout(&vd->req_done,
						 msecs_to_jiffies(VDESK_TIMEOUT_MS))) {
			buf = virtqueue_get_buf(vd->vq, &len);
			if (buf)
				break;
			vd->broken = true;
			if (virtqueue_is_broken(vd->vq))
				return -ENODEV;
			/* e.g. a function level reset behind our back */
			drm_err(dev, "device does not answer command %#x%s, giving up on it\n",
				cmd_type,
				vd->vdev->config->get_status(vd->vdev) &
				VIRTIO_CONFIG_S_DRIVER_OK ? "" : " (it was reset)");
			return -ETIMEDOUT;
		}
	}

	type = le32_to_cpu(vd->resp->hdr.type);
	if (type != expect) {
		drm_err_ratelimited(dev, "command %#x failed: %#x (%s)\n",
				    cmd_type, type, vdesk_resp_name(type));
		return type == VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	}
	return 0;
}

/* --- simple commands ---------------------------------------------------------- */

static int vdesk_simple(struct vdesk_device *vd, const void *cmd, size_t len)
{
	int ret;

	mutex_lock(&vd->req_lock);
	memcpy(vd->cmd, cmd, len);
	ret = vdesk_submit(vd, len, 0, sizeof(struct virtio_desk_ctrl_hdr),
			   VIRTIO_DESK_RESP_OK_NODATA);
	mutex_unlock(&vd->req_lock);
	return ret;
}

int vdesk_get_display_info(struct vdesk_device *vd)
{
	struct virtio_desk_ctrl_hdr hdr = {
		.type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO),
	};
	unsigned long flags;
	int ret;

	mutex_lock(&vd->req_lock);
	memcpy(vd->cmd, &hdr, sizeof(hdr));
	ret = vdesk_submit(vd, sizeof(hdr), 0, sizeof(*vd->resp),
			   VIRTIO_DESK_RESP_OK_DISPLAY_INFO);
	if (!ret) {
		spin_lock_irqsave(&vd->info_lock, flags);
		memcpy(vd->info, vd->resp->outputs, sizeof(vd->info));
		spin_unlock_irqrestore(&vd->info_lock, flags);
	}
	mutex_unlock(&vd->req_lock);
	return ret;
}

int vdesk_get_input_info(struct vdesk_device *vd, u32 device,
			 struct virtio_desk_resp_input_info *info)
{
	struct virtio_desk_get_input_info cmd = {
		.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_GET_INPUT_INFO),
		.device = cpu_to_le32(device),
	};
	int ret;

	static_assert(sizeof(*info) <= sizeof(*vd->resp));
	mutex_lock(&vd->req_lock);
	memcpy(vd->cmd, &cmd, sizeof(cmd));
	ret = vdesk_submit(vd, sizeof(cmd), 0, sizeof(*info),
			   VIRTIO_DESK_RESP_OK_INPUT_INFO);
	if (!ret)
		memcpy(info, vd->resp, sizeof(*info));
	mutex_unlock(&vd->req_lock);
	return ret;
}

int vdesk_resource_create(struct vdesk_device *vd, u32 id, u32 format,
			  u32 width, u32 height)
{
	struct virtio_desk_resource_create cmd = {
		.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_RESOURCE_CREATE),
		.resource_id = cpu_to_le32(id),
		.format = cpu_to_le32(format),
		.width = cpu_to_le32(width),
		.height = cpu_to_le32(height),
	};

	return vdesk_simple(vd, &cmd, sizeof(cmd));
}

int vdesk_resource_destroy(struct vdesk_device *vd, u32 id)
{
	struct virtio_desk_resource_destroy cmd = {
		.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_RESOURCE_DESTROY),
		.resource_id = cpu_to_le32(id),
	};

	return vdesk_simple(vd, &cmd, sizeof(cmd));
}

int vdesk_set_scanout(struct vdesk_device *vd, u32 output, u32 res_id,
		      const struct drm_rect *src)
{
	struct virtio_desk_set_scanout cmd = {
		.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_SET_SCANOUT),
		.output_id = cpu_to_le32(output),
		.resource_id = cpu_to_le32(res_id),
	};

	if (res_id && src) {
		cmd.src.x = cpu_to_le32(src->x1);
		cmd.src.y = cpu_to_le32(src->y1);
		cmd.src.width = cpu_to_le32(drm_rect_width(src));
		cmd.src.height = cpu_to_le32(drm_rect_height(src));
	}
	return vdesk_simple(vd, &cmd, sizeof(cmd));
}

/* --- damage transfers ------------------------------------------------------------
 *
 * Each damage clip becomes one xfer_rect; the payload descriptors point
 * straight at the framebuffer's pages.  A rect is described either as one
 * byte range covering all its rows (stride = pitch) or, when that needs more
 * descriptors, row by row (stride = width * cpp); whichever needs fewer
 * descriptors wins.  Rects are only split, into bands of rows, when a single
 * one needs more descriptors than a request may carry.
 */

/* For tests: 0 picks the layout per rect, 1 always one range, 2 always rows. */
static unsigned int xfer_layout;
module_param(xfer_layout, uint, 0644);
MODULE_PARM_DESC(xfer_layout, "payload layout of rects: 0 auto (default), 1 one byte range, 2 row by row");

/* Index of the segment that holds byte off of the framebuffer object. */
static unsigned int vdesk_seg_find(const struct vdesk_fb *fb, u64 off)
{
	unsigned int lo = 0, hi = fb->nsegs;

	while (hi - lo > 1) {
		unsigned int mid = (lo + hi) / 2;

		if (fb->segs[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static unsigned int vdesk_range_cost(const struct vdesk_fb *fb, u64 start,
				     u64 len)
{
	return vdesk_seg_find(fb, start + len - 1) -
	       vdesk_seg_find(fb, start) + 1;
}

static void vdesk_add_range(struct vdesk_xfer *x, u64 start, u64 len)
{
	const struct vdesk_fb *fb = x->fb;
	unsigned int i = vdesk_seg_find(fb, start);

	while (len) {
		const struct vdesk_seg *seg = &fb->segs[i++];
		u64 o = start - seg->off;
		u32 n = min_t(u64, len, seg->len - o);

		sg_set_page(&x->vd->payload[x->nsegs++],
			    pfn_to_page(seg->pfn + (o >> PAGE_SHIFT)), n,
			    offset_in_page(o));
		start += n;
		len -= n;
		x->payload_len += n;
	}
}

/* Descriptors needed for rows [y, y + h) of a rect at column x, w wide. */
static unsigned int vdesk_rect_cost(const struct vdesk_xfer *x, u32 cx, u32 y,
				    u32 w, u32 h, bool *by_rows)
{
	u64 row = x->base + (u64)y * x->pitch + (u64)cx * x->cpp;
	u32 rb = w * x->cpp;
	unsigned int layout = READ_ONCE(xfer_layout);
	unsigned int range, rows = 0, i;

	range = vdesk_range_cost(x->fb, row, (u64)(h - 1) * x->pitch + rb);
	*by_rows = false;
	if (layout == 1 || (!layout && (range <= h || rb == x->pitch)))
		return range;
	if (layout == 2)
		range = UINT_MAX;
	for (i = 0; i < h && rows < range; i++, row += x->pitch)
		rows += vdesk_range_cost(x->fb, row, rb);
	if (rows < range) {
		*by_rows = true;
		return rows;
	}
	return range;
}

static void vdesk_add_rect(struct vdesk_xfer *x, u32 cx, u32 y, u32 w, u32 h,
			   bool by_rows)
{
	struct virtio_desk_transfer_rects *hdr = x->vd->cmd;
	struct virtio_desk_xfer_rect *r =
		(struct virtio_desk_xfer_rect *)(hdr + 1) + x->nrects++;
	u64 row = x->base + (u64)y * x->pitch + (u64)cx * x->cpp;
	u32 rb = w * x->cpp;
	unsigned int i;

	r->r.x = cpu_to_le32(cx);
	r->r.y = cpu_to_le32(y);
	r->r.width = cpu_to_le32(w);
	r->r.height = cpu_to_le32(h);
	r->stride = cpu_to_le32(by_rows ? rb : x->pitch);
	r->padding = 0;
	r->offset = cpu_to_le64(x->payload_len);
	x->area += (u64)w * h;
	if (!by_rows) {
		vdesk_add_range(x, row, (u64)(h - 1) * x->pitch + rb);
		return;
	}
	for (i = 0; i < h; i++, row += x->pitch)
		vdesk_add_range(x, row, rb);
}

static void vdesk_xfer_flush(struct vdesk_xfer *x)
{
	struct vdesk_device *vd = x->vd;
	struct virtio_desk_transfer_rects *hdr = vd->cmd;
	int ret;

	if (!x->nrects)
		return;
	hdr->hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_TRANSFER_RECTS);
	hdr->hdr.flags = 0;
	hdr->resource_id = cpu_to_le32(x->fb->res_id);
	hdr->num_rects = cpu_to_le32(x->nrects);
	ret = vdesk_submit(vd, sizeof(*hdr) + x->nrects *
			   sizeof(struct virtio_desk_xfer_rect),
			   x->nsegs, sizeof(struct virtio_desk_ctrl_hdr),
			   VIRTIO_DESK_RESP_OK_NODATA);
	if (ret && !x->err)
		x->err = ret;
	x->nrects = 0;
	x->nsegs = 0;
	x->payload_len = 0;
	x->area = 0;
}

void vdesk_xfer_begin(struct vdesk_xfer *x, struct vdesk_device *vd,
		      struct vdesk_fb *fb)
{
	memset(x, 0, sizeof(*x));
	x->vd = vd;
	x->fb = fb;
	x->cpp = fb->base.format->cpp[0];
	x->pitch = fb->base.pitches[0];
	x->base = fb->base.offsets[0];
	mutex_lock(&vd->req_lock);
}

void vdesk_xfer_rect(struct vdesk_xfer *x, const struct drm_rect *clip)
{
	struct drm_framebuffer *fb = &x->fb->base;
	struct drm_rect r = *clip;
	unsigned int max = x->vd->payload_max, cost;
	u32 y, h, w;
	bool by_rows;

	if (!drm_rect_intersect(&r, &DRM_RECT_INIT(0, 0, fb->width, fb->height)))
		return;
	y = r.y1;
	h = drm_rect_height(&r);
	w = drm_rect_width(&r);

	while (h) {
		/*
		 * The device bounds its work per request to one copy of the
		 * resource: overlapping clips may add up to more.
		 */
		if (x->nrects == x->vd->rects_max ||
		    x->area + (u64)w * h > (u64)fb->width * fb->height)
			vdesk_xfer_flush(x);
		cost = vdesk_rect_cost(x, r.x1, y, w, h, &by_rows);
		if (x->nsegs + cost <= max) {
			vdesk_add_rect(x, r.x1, y, w, h, by_rows);
			return;
		}
		if (x->nrects) {
			vdesk_xfer_flush(x);
			continue;
		}
		/* alone it is still too big: send the largest band that fits */
		{
			u32 lo = 1, hi = h - 1, band = 0;

			while (lo <= hi) {
				u32 mid = lo + (hi - lo) / 2;
				bool rows;

				if (vdesk_rect_cost(x, r.x1, y, w, mid, &rows) <= max) {
					band = mid;
					lo = mid + 1;
				} else {
					hi = mid - 1;
				}
			}
			if (!band) {
				drm_err_ratelimited(&x->vd->drm,
						    "one row needs more than %u descriptors\n",
						    max);
				x->err = -E2BIG;
				return;
			}
			cost = vdesk_rect_cost(x, r.x1, y, w, band, &by_rows);
			vdesk_add_rect(x, r.x1, y, w, band, by_rows);
			vdesk_xfer_flush(x);
			y += band;
			h -= band;
		}
	}
}

int vdesk_xfer_end(struct vdesk_xfer *x)
{
	vdesk_xfer_flush(x);
	mutex_unlock(&x->vd->req_lock);
	return x->err;
}
