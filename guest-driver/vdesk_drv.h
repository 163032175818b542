/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-desk: paravirtual display driver, shared definitions.
 */
#ifndef _VDESK_DRV_H
#define _VDESK_DRV_H

#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/wait.h>
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

/*
 * The DRM driver's name (DRM_IOCTL_VERSION, drm_info) is not the module's:
 * fbdev names its framebuffer "<name>drmfb" in 16 bytes (/proc/fb, uAPI),
 * which "virtio_desk" does not fit.
 */
#define DRIVER_NAME	"virtiodesk"
#define DRIVER_DESC	"virtio-desk paravirtual display"
#define DRIVER_DATE	"20261122"
#define DRIVER_MAJOR	1
#define DRIVER_MINOR	0

/* Most rects we put in one request, whatever the device allows. */
#define VDESK_RECTS_CAP		1024
/* Most descriptors we put in one request, whatever the device allows. */
#define VDESK_SEGS_CAP		4096
/*
 * How long a request may take before we give up on the device: well below
 * the 10 s after which the atomic helpers report a flip_done timeout.
 */
#define VDESK_TIMEOUT_MS	5000

struct vdesk_input;

/* How a transfer lays out the payload of a rect (debugfs xfer_layout). */
enum vdesk_xfer_layout {
	VDESK_XFER_AUTO,	/* whichever needs fewer descriptors, per rect */
	VDESK_XFER_RANGE,	/* one byte range over all rows: stride = pitch */
	VDESK_XFER_ROWS,	/* one range per row: stride = row bytes */
};

/* A TRANSFER_RECTS command with its rects. */
struct vdesk_xfer_cmd {
	struct virtio_desk_transfer_rects hdr;
	struct virtio_desk_xfer_rect rects[];
};

/*
 * A host resource: the image the device keeps for one output.  Plane states
 * hold references; the last one queues RESOURCE_DESTROY.
 */
struct vdesk_res {
	struct kref ref;
	struct vdesk_device *vd;
	struct list_head node;	/* vd->res_list: re-created after a reset */
	u32 epoch;		/* vd->res_epoch when last re-created */
	u32 id;
	u32 format;
	u32 width;
	u32 height;
	u64 hostmem;		/* its cost in max_hostmem */
};

struct vdesk_plane_state {
	struct drm_plane_state base;
	struct vdesk_res *res;	/* what this state shows, NULL if invisible */
	/* vdesk_watch.c's commit: send what the output kept, nothing changed */
	bool send_held;
};

static inline struct vdesk_plane_state *
to_vdesk_plane_state(struct drm_plane_state *state)
{
	return container_of(state, struct vdesk_plane_state, base);
}

/* Damage rects an unwatched output keeps; more become their bounding box. */
#define VDESK_HELD_MAX 16

struct vdesk_output {
	struct drm_plane plane;
	struct drm_plane cursor_plane;	/* with VIRTIO_DESK_F_CURSOR */
	struct drm_crtc crtc;
	struct drm_encoder encoder;
	struct drm_connector connector;
	unsigned int index;
	u32 scanout_res;	/* resource the device shows, 0 = disabled */

	/*
	 * vblank timer, running while vblank interrupts are enabled.  period
	 * is 0 once disabled: disable_vblank runs under the vblank core's
	 * locks, which the callback takes, so it cannot wait for the callback
	 * (hrtimer_cancel) and lets the callback stop itself instead.
	 */
	struct hrtimer vblank_timer;
	spinlock_t vblank_lock;		/* period */
	ktime_t period;

	/* last request before the commit being applied (atomic_begin) */
	u64 commit_seq;
	/* the commit's event, sent once the device has answered seq (vq_lock) */
	struct drm_pending_vblank_event *event;
	u64 event_seq;
	bool event_paced;	/* on the next vblank, not at once */

	/*
	 * The last cursor sent (image with its pixels and the position, for
	 * vdesk_cursor_restore()), under vd->cursor_mutex; NULL without
	 * F_CURSOR.
	 */
	struct virtio_desk_cursor_define *cursor;
	bool cursor_defined;

	/*
	 * VIRTIO_DESK_F_WATCH (vdesk_watch.c): while nobody watches the
	 * output, its damage since the last transfer is kept here instead of
	 * sent, in framebuffer coordinates.  Only the plane's updates use
	 * held, and the atomic helpers run those one after the other.
	 */
	bool watched;		/* always, without F_WATCH */
	unsigned int nheld;
	struct drm_rect held[VDESK_HELD_MAX];
};

/* Counters of the robustness paths, in debugfs (vdesk_stats), for tests. */
struct vdesk_stats {
	atomic_t vblank_cancel_busy;	/* disable_vblank met a running callback */
	atomic_t stalls;		/* the watchdog gave up waiting for answers */
	atomic_t stall_ends;		/* a stalled device answered again */
	atomic_t recoveries;		/* device re-initialised after a reset/stall */
	atomic_t recoveries_skipped;	/* queued recovery found it already done */
	atomic_t resyncs;		/* whole-output transfers after a failed one */
	atomic_t queue_waits;		/* waited for ring room or DMA mappings */
	atomic_t cursor_dropped;	/* cursor updates while its queue was down */
	atomic_t held_updates;		/* plane updates kept, nobody watching */
	atomic_t held_sent;		/* outputs' kept damage sent when watched */
};

struct vdesk_device {
	struct drm_device drm;
	struct virtio_device *vdev;

	/*
	 * The virtqueues, owned by vdesk_vq.c: made by vdesk_vqs_find() and
	 * deleted by vdesk_vqs_del(), which NULLs them.  Each queue's user
	 * checks the queue is up under the queue's own lock (vq_up under
	 * vq_lock, cursor_up under cursor_lock, the input queues' ready flags)
	 * before touching it, so nothing reaches a deleted queue.
	 */
	struct virtqueue *vq;

	/* configuration space, read at probe */
	u32 num_outputs;
	u32 max_rects;
	u32 max_segments;
	u32 max_dimension;
	u32 max_resources;
	u64 max_hostmem;

	/*
	 * Control queue: requests are queued without waiting; the answers are
	 * collected in the virtqueue callback.  vq_lock protects the queue,
	 * the in-flight list, the state below and the outputs' events.
	 */
	spinlock_t vq_lock;
	struct list_head inflight;	/* oldest first */
	struct list_head answered;	/* waiting for answered_work */
	u64 seq;			/* of the last queued request */
	u64 answers;			/* answers collected so far */
	bool vq_up;			/* the queue exists and the device runs */
	bool stalled;			/* no answer for VDESK_TIMEOUT_MS */
	unsigned long stalled_since;	/* jiffies */
	u32 resets;			/* device resets so far (vdesk_vq_reclaim) */
	u32 recover_resets;		/* resets when recover_work was queued */
	bool recover_after_stall;	/* why it was queued */
	wait_queue_head_t vq_space;	/* answers came, or the queue went */
	struct work_struct answered_work;
	struct delayed_work watchdog;
	/* outputs whose host image may differ from their framebuffer */
	unsigned long stale_outputs;

	/* transfer staging, serialized by xfer_lock */
	struct mutex xfer_lock;
	struct vdesk_xfer_cmd *xfer_cmd;	/* with rects_max rects */
	struct scatterlist *payload;	/* payload descriptors */
	unsigned int payload_cap;	/* entries allocated in payload */
	unsigned int rects_cap;		/* rects allocated in xfer_cmd */
	unsigned int payload_max;	/* entries usable in payload */
	unsigned int rects_max;		/* rects usable in one request */
	u32 max_seg_size;		/* bytes one DMA mapping may cover */
	u32 xfer_fault;			/* debugfs: transfers to send to a bad id */

	/* display info and layout (F_LAYOUT), protected by info_lock */
	spinlock_t info_lock;
	struct virtio_desk_output_info info[VIRTIO_DESK_MAX_OUTPUTS];
	struct virtio_desk_output_position layout[VIRTIO_DESK_MAX_OUTPUTS];
	struct work_struct config_work;
	struct work_struct watch_work;	/* the watched bits changed */

	/* host resources, kept within max_resources and max_hostmem */
	struct ida res_ida;
	spinlock_t res_lock;		/* res_count, hostmem_used, res_list */
	u32 res_count;
	u64 hostmem_used;
	struct list_head res_list;	/* every live struct vdesk_res */
	u32 res_epoch;			/* restores so far */

	/* re-initialising after a reset the device had behind our back */
	struct work_struct recover_work;
	bool recovering;		/* freeze and restore keep the atomic state */

	/*
	 * For tests, in the DRM device's debugfs directory: false leaves
	 * refusing resources beyond the limits to the device; the payload
	 * layout of transfers.
	 */
	bool check_limits;
	u32 xfer_layout;		/* enum vdesk_xfer_layout */

	struct vdesk_output *outputs;
	/* connector property: a hotplug may bring a new preferred mode */
	struct drm_property *hotplug_mode_update_property;
	struct vfsmount *gemfs;		/* huge-page tmpfs for dumb buffers, or NULL */

	/* input (VIRTIO_DESK_F_INPUT), NULL without it */
	struct virtqueue *evq;
	struct virtqueue *stq;
	struct vdesk_input *input;

	/* cursor (VIRTIO_DESK_F_CURSOR), NULL without it */
	struct virtqueue *cursorq;
	spinlock_t cursor_lock;		/* cursorq, cursor_up, cursor_answers */
	bool cursor_up;
	u64 cursor_answers;
	wait_queue_head_t cursor_space;	/* answers came, or the queue went */
	struct mutex cursor_mutex;	/* the outputs' cursor */

	struct vdesk_stats stats;
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
	struct mutex lock;		/* pinning on first use */
	bool pinned;
	unsigned int nsegs;
	struct vdesk_seg *segs;
};

static inline struct vdesk_fb *to_vdesk_fb(struct drm_framebuffer *fb)
{
	return container_of(fb, struct vdesk_fb, base);
}

/* vdesk_drv.c */
int vdesk_read_config(struct vdesk_device *vd);

/* vdesk_vq.c */
void vdesk_vq_init(struct vdesk_device *vd);
int vdesk_vqs_find(struct vdesk_device *vd);
void vdesk_vqs_start(struct vdesk_device *vd);
void vdesk_vqs_del(struct vdesk_device *vd);
void vdesk_vq_recover(struct vdesk_device *vd);
bool vdesk_vq_recover_needed(struct vdesk_device *vd, bool *after_stall);
bool vdesk_vq_wait_idle(struct vdesk_device *vd, unsigned int ms);
void vdesk_vq_done(struct virtqueue *vq);
void vdesk_output_stale(struct vdesk_device *vd, unsigned int output);
bool vdesk_output_take_stale(struct vdesk_device *vd, unsigned int output);
int vdesk_queue(struct vdesk_device *vd, const void *cmd, size_t len,
		unsigned int npay, struct drm_framebuffer *fb);
u64 vdesk_last_seq(struct vdesk_device *vd);
const char *vdesk_err_name(u32 type);
void vdesk_output_event(struct vdesk_device *vd, struct vdesk_output *out,
			struct drm_pending_vblank_event *event, u64 seq,
			bool paced);
int vdesk_get_display_info(struct vdesk_device *vd);
const struct drm_edid *vdesk_get_edid(struct vdesk_device *vd, u32 output);
int vdesk_get_input_info(struct vdesk_device *vd, u32 device,
			 struct virtio_desk_resp_input_info *info);
int vdesk_resource_create(struct vdesk_device *vd, u32 id, u32 format,
			  u32 width, u32 height);
int vdesk_resource_destroy(struct vdesk_device *vd, u32 id);
int vdesk_set_scanout(struct vdesk_device *vd, u32 output, u32 res_id,
		      u32 width, u32 height);

/* vdesk_xfer.c: damage clips of a framebuffer into an output's resource */
struct vdesk_xfer {
	struct vdesk_device *vd;
	struct vdesk_fb *fb;
	u32 res_id;
	u32 res_width, res_height;
	s32 dx, dy;		/* resource position of framebuffer pixel 0,0 */
	u32 cpp;
	u32 pitch;
	u64 base;
	unsigned int nrects;
	unsigned int nsegs;
	u64 payload_len;
	u64 area;	/* pixels in this request: at most the resource's */
	int err;
};

int vdesk_xfer_init(struct vdesk_device *vd);
int vdesk_xfer_limits(struct vdesk_device *vd);
void vdesk_xfer_begin(struct vdesk_xfer *x, struct vdesk_device *vd,
		      struct vdesk_fb *fb, const struct vdesk_res *res,
		      const struct drm_rect *src)
	__acquires(&vd->xfer_lock);
void vdesk_xfer_rect(struct vdesk_xfer *x, const struct drm_rect *clip);
int vdesk_xfer_end(struct vdesk_xfer *x)
	__releases(&x->vd->xfer_lock);

/* vdesk_watch.c: outputs nobody watches */
void vdesk_watch_init(struct vdesk_device *vd);
void vdesk_watch_work(struct work_struct *work);
bool vdesk_hold(struct vdesk_output *out, const struct drm_rect *src,
		bool whole, struct drm_plane_state *old,
		struct drm_plane_state *new);
void vdesk_send_held(struct vdesk_output *out, struct vdesk_xfer *x);

/* vdesk_input.c */
int vdesk_input_init(struct vdesk_device *vd);
void vdesk_input_remove(struct vdesk_device *vd);
void vdesk_input_event_done(struct virtqueue *vq);
void vdesk_input_status_done(struct virtqueue *vq);
void vdesk_input_suspend(struct vdesk_device *vd);
void vdesk_input_resume(struct vdesk_device *vd);

/* vdesk_pm.c: suspend, hibernation and recovery from a reset */
int vdesk_freeze(struct virtio_device *vdev);
int vdesk_restore(struct virtio_device *vdev);
void vdesk_recover_work(struct work_struct *work);

/* vdesk_cursor.c */
void vdesk_cursor_init(struct vdesk_device *vd);
void vdesk_cursor_done(struct virtqueue *vq);
void vdesk_cursor_start(struct vdesk_device *vd);
void vdesk_cursor_reclaim(struct vdesk_device *vd);
void vdesk_cursor_restore(struct vdesk_device *vd);
struct drm_plane *vdesk_cursor_plane_init(struct vdesk_device *vd,
					  struct vdesk_output *out);

/* vdesk_display.c: mode setting */
int vdesk_modeset_init(struct vdesk_device *vd);
int vdesk_fb_pin(struct vdesk_fb *vfb);

/* vdesk_plane.c: primary planes and their host resources */
#define VDESK_NUM_FORMATS 5
extern const u32 vdesk_formats[VDESK_NUM_FORMATS];
int vdesk_plane_init(struct vdesk_device *vd, struct vdesk_output *out);
void vdesk_res_put(struct vdesk_res *res);

/* vdesk_gem.c */
void vdesk_gemfs_init(struct vdesk_device *vd);
int vdesk_dumb_create(struct drm_file *file, struct drm_device *dev,
		      struct drm_mode_create_dumb *args);

#endif /* _VDESK_DRV_H */
