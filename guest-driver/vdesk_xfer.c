// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: damage transfers.
 *
 * Each damage clip of a plane update becomes one xfer_rect into the
 * output's resource; the payload descriptors point straight at the
 * framebuffer's pages.  A rect is described either as one byte range
 * covering all its rows (stride = pitch) or, when that needs more
 * descriptors, row by row (stride = width * cpp); whichever needs fewer
 * descriptors wins.  Rects are only split, into bands of rows, when a
 * single one needs more descriptors than a request may carry.
 */

#include <linux/sizes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "vdesk_drv.h"

/*
 * What one request may carry, from the device's limits and ours; again
 * after a restore, which may find another device (hibernation onto a new
 * QEMU).  The staging buffers keep the size they were given at probe.
 */
int vdesk_xfer_limits(struct vdesk_device *vd)
{
	struct drm_device *dev = &vd->drm;
	unsigned int segs;
	size_t dma_max;

	segs = min_t(u32, vd->max_segments, VDESK_SEGS_CAP);
	/* without indirect descriptors a chain must fit in the ring */
	if (!virtio_has_feature(vd->vdev, VIRTIO_RING_F_INDIRECT_DESC))
		segs = min(segs, virtqueue_get_vring_size(vd->vq));
	if (segs < 3) {
		drm_err(dev, "max_segments %u too small\n", segs);
		return -EINVAL;
	}
	if (!vd->max_rects) {
		drm_err(dev, "max_rects is 0\n");
		return -EINVAL;
	}
	vd->payload_max = segs - 2;	/* command + response */
	vd->rects_max = min_t(u32, vd->max_rects, VDESK_RECTS_CAP);
	if (vd->payload_cap) {
		vd->payload_max = min(vd->payload_max, vd->payload_cap);
		vd->rects_max = min(vd->rects_max, vd->rects_cap);
	}
	/*
	 * The DMA API's limit per mapping (with VIRTIO_F_ACCESS_PLATFORM), and
	 * 2 MiB: QEMU maps a descriptor that crosses a boundary of guest RAM
	 * regions to more than one iovec, and max_segments only leaves room
	 * for two each (regions are at least 2 MiB).
	 */
	dma_max = virtio_max_dma_size(vd->vdev);
	vd->max_seg_size = rounddown(min_t(size_t, dma_max, SZ_2M), PAGE_SIZE);
	if (!vd->max_seg_size) {
		drm_err(dev, "DMA mappings of %zu bytes are too small\n", dma_max);
		return -EINVAL;
	}
	return 0;
}

int vdesk_xfer_init(struct vdesk_device *vd)
{
	struct drm_device *dev = &vd->drm;
	int ret;

	ret = vdesk_xfer_limits(vd);
	if (ret)
		return ret;
	vd->payload_cap = vd->payload_max;
	vd->rects_cap = vd->rects_max;
	mutex_init(&vd->xfer_lock);
	vd->xfer_cmd = drmm_kzalloc(dev, struct_size(vd->xfer_cmd, rects, vd->rects_cap),
				    GFP_KERNEL);
	vd->payload = drmm_kcalloc(dev, vd->payload_cap, sizeof(*vd->payload),
				   GFP_KERNEL);
	if (!vd->xfer_cmd || !vd->payload)
		return -ENOMEM;
	sg_init_table(vd->payload, vd->payload_cap);
	sg_unmark_end(&vd->payload[vd->payload_cap - 1]);
	return 0;
}

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

/* Descriptors needed for rows [y, y + h) of a rect at column cx, w wide. */
static unsigned int vdesk_rect_cost(const struct vdesk_xfer *x, u32 cx, u32 y,
				    u32 w, u32 h, bool *by_rows)
{
	u64 row = x->base + (u64)y * x->pitch + (u64)cx * x->cpp;
	u32 rb = w * x->cpp;
	u32 layout = READ_ONCE(x->vd->xfer_layout);
	unsigned int range, rows = 0, i;

	range = vdesk_range_cost(x->fb, row, (u64)(h - 1) * x->pitch + rb);
	*by_rows = false;
	if (layout == VDESK_XFER_RANGE ||
	    (layout == VDESK_XFER_AUTO && (range <= h || rb == x->pitch)))
		return range;
	if (layout == VDESK_XFER_ROWS)
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
	struct virtio_desk_xfer_rect *r = &x->vd->xfer_cmd->rects[x->nrects++];
	u64 row = x->base + (u64)y * x->pitch + (u64)cx * x->cpp;
	u32 rb = w * x->cpp;
	unsigned int i;

	r->r.x = cpu_to_le32(cx + x->dx);
	r->r.y = cpu_to_le32(y + x->dy);
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
	struct vdesk_xfer_cmd *cmd = x->vd->xfer_cmd;
	struct virtio_desk_transfer_rects *hdr = &cmd->hdr;
	int ret;

	if (!x->nrects)
		return;
	hdr->hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_TRANSFER_RECTS);
	hdr->hdr.flags = 0;
	hdr->resource_id = cpu_to_le32(x->res_id);
	/* debugfs xfer_fault: a transfer the device refuses, for tests */
	if (x->vd->xfer_fault) {
		x->vd->xfer_fault--;
		hdr->resource_id = cpu_to_le32(U32_MAX);
	}
	hdr->num_rects = cpu_to_le32(x->nrects);
	ret = vdesk_queue(x->vd, cmd, struct_size(cmd, rects, x->nrects),
			  x->nsegs, &x->fb->base);
	if (ret && !x->err)
		x->err = ret;
	x->nrects = 0;
	x->nsegs = 0;
	x->payload_len = 0;
	x->area = 0;
}

/*
 * Transfers of framebuffer fb into resource res, which shows the plane's
 * source rectangle src (whole pixels) of fb.
 */
void vdesk_xfer_begin(struct vdesk_xfer *x, struct vdesk_device *vd,
		      struct vdesk_fb *fb, const struct vdesk_res *res,
		      const struct drm_rect *src)
	__acquires(&vd->xfer_lock)
{
	memset(x, 0, sizeof(*x));
	x->vd = vd;
	x->fb = fb;
	x->res_id = res->id;
	x->res_width = res->width;
	x->res_height = res->height;
	x->dx = -src->x1;
	x->dy = -src->y1;
	x->cpp = fb->base.format->cpp[0];
	x->pitch = fb->base.pitches[0];
	x->base = fb->base.offsets[0];
	mutex_lock(&vd->xfer_lock);
}

/* The most rows from y on that one request can carry alone, 0 if none. */
static u32 vdesk_largest_band(const struct vdesk_xfer *x, u32 cx, u32 y,
			      u32 w, u32 h)
{
	u32 lo = 1, hi = h - 1, band = 0;
	bool by_rows;

	while (lo <= hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (vdesk_rect_cost(x, cx, y, w, mid, &by_rows) <= x->vd->payload_max) {
			band = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return band;
}

void vdesk_xfer_rect(struct vdesk_xfer *x, const struct drm_rect *clip)
{
	struct drm_rect r = *clip;
	u64 res_area = (u64)x->res_width * x->res_height;
	unsigned int cost;
	u32 y, h, w, band;
	bool by_rows;

	/* the damage helpers clip to the plane's source: the resource */
	if (!drm_rect_intersect(&r, &DRM_RECT_INIT(-x->dx, -x->dy, x->res_width,
						   x->res_height)))
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
		    x->area + (u64)w * h > res_area)
			vdesk_xfer_flush(x);
		cost = vdesk_rect_cost(x, r.x1, y, w, h, &by_rows);
		if (x->nsegs + cost <= x->vd->payload_max) {
			vdesk_add_rect(x, r.x1, y, w, h, by_rows);
			return;
		}
		if (x->nrects) {
			vdesk_xfer_flush(x);
			continue;
		}
		/* alone it is still too big: send the largest band that fits */
		band = vdesk_largest_band(x, r.x1, y, w, h);
		if (!band) {
			drm_err_ratelimited(&x->vd->drm,
					    "one row needs more than %u descriptors\n",
					    x->vd->payload_max);
			x->err = -E2BIG;
			return;
		}
		vdesk_rect_cost(x, r.x1, y, w, band, &by_rows);
		vdesk_add_rect(x, r.x1, y, w, band, by_rows);
		vdesk_xfer_flush(x);
		y += band;
		h -= band;
	}
}

int vdesk_xfer_end(struct vdesk_xfer *x)
	__releases(&x->vd->xfer_lock)
{
	vdesk_xfer_flush(x);
	mutex_unlock(&x->vd->xfer_lock);
	return x->err;
}
