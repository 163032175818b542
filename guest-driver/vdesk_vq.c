// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: the control queue and its commands.
 *
 * Requests are queued without waiting for the device: a page flip returns
 * as soon as its transfer is in the ring, and the guest draws its next
 * frame while the host copies this one.  Each request owns a copy of its
 * command and room for the answer, and holds a reference to the
 * framebuffer its payload points at, so those pages stay pinned until the
 * device has answered (or has been reset).  The virtqueue callback collects
 * the answers in order and sends the commit events whose requests are all
 * answered; the rest (checking answers, dropping framebuffers) is done in
 * process context by answered_work.
 *
 * Commands whose answer the caller needs (display and input info, resource
 * creation) wait for it.  A request that stays unanswered for
 * VDESK_TIMEOUT_MS makes the driver stop waiting for the device (it is
 * "stalled"): every later request fails at once and every event is sent,
 * so no client hangs.  The watchdog keeps polling the ring; once the device
 * has answered everything again (a host that was stopped or very slow), or
 * has lost DRIVER_OK (a reset behind our back), recover_work resets and
 * re-initialises it (vdesk_pm.c), which rebuilds everything it shows.
 *
 * The queues' lifetime is owned here: vdesk_vqs_find() makes them,
 * vdesk_vqs_start() lets requests in once the device is ready, and
 * vdesk_vqs_del() takes every buffer back after a reset and deletes them.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <drm/drm_drv.h>
#include <drm/drm_edid.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>
#include <drm/drm_vblank.h>

#include "vdesk_drv.h"

struct vdesk_req {
	struct list_head node;		/* vd->inflight, then vd->answered */
	struct drm_framebuffer *fb;	/* the payload's pages, or NULL */
	struct completion *waiter;	/* a caller waiting for the answer */
	bool answered;
	unsigned long queued;		/* jiffies */
	u64 seq;
	u32 type;			/* command */
	u32 expect;			/* the answer that means success */
	u32 cmd_len;
	u32 resp_len;
	struct virtio_desk_ctrl_hdr *resp;	/* after cmd */
	u8 cmd[];
};

static struct vdesk_req *vdesk_req_new(const void *cmd, size_t cmd_len,
				       size_t resp_len, u32 expect)
{
	struct vdesk_req *req;

	/* command structs are multiples of 8 bytes: resp stays aligned */
	req = kzalloc(struct_size(req, cmd, cmd_len + resp_len), GFP_KERNEL);
	if (!req)
		return NULL;
	memcpy(req->cmd, cmd, cmd_len);
	req->type = le32_to_cpu(((const struct virtio_desk_ctrl_hdr *)cmd)->type);
	req->expect = expect;
	req->cmd_len = cmd_len;
	req->resp_len = resp_len;
	req->resp = (void *)(req->cmd + cmd_len);
	return req;
}

static void vdesk_req_free(struct vdesk_req *req)
{
	if (req->fb)
		drm_framebuffer_put(req->fb);
	kfree(req);
}

/* --- answers and events ------------------------------------------------------- */

static const char * const vdesk_err_names[] = {
	[VIRTIO_DESK_RESP_ERR_INVALID_COMMAND - 0x1200] = "INVALID_COMMAND",
	[VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY - 0x1200] = "OUT_OF_MEMORY",
	[VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID - 0x1200] = "INVALID_OUTPUT_ID",
	[VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID - 0x1200] = "INVALID_RESOURCE_ID",
	[VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER - 0x1200] = "INVALID_PARAMETER",
	[VIRTIO_DESK_RESP_ERR_INVALID_RECT - 0x1200] = "INVALID_RECT",
	[VIRTIO_DESK_RESP_ERR_INVALID_LENGTH - 0x1200] = "INVALID_LENGTH",
};

/* The name of an error answer, for the log. */
const char *vdesk_err_name(u32 type)
{
	u32 err = type - 0x1200;

	return err < ARRAY_SIZE(vdesk_err_names) && vdesk_err_names[err] ?
	       vdesk_err_names[err] : "unknown";
}

static int vdesk_req_result(struct vdesk_device *vd, struct vdesk_req *req)
{
	u32 type = le32_to_cpu(req->resp->type);

	if (type == req->expect)
		return 0;
	drm_err_ratelimited(&vd->drm, "command %#x failed: %#x (%s)\n",
			    req->type, type, vdesk_err_name(type));
	return type == VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

/*
 * An output whose last transfer failed or was refused: its next update
 * sends the whole visible area, since the host image may be anything.
 */
void vdesk_output_stale(struct vdesk_device *vd, unsigned int output)
{
	set_bit(output, &vd->stale_outputs);
}

/* Whether the output's next update must be whole (and it is no more). */
bool vdesk_output_take_stale(struct vdesk_device *vd, unsigned int output)
{
	if (!test_and_clear_bit(output, &vd->stale_outputs))
		return false;
	atomic_inc(&vd->stats.resyncs);
	return true;
}

static void vdesk_event_send(struct vdesk_output *out)
{
	struct drm_crtc *crtc = &out->crtc;

	spin_lock(&crtc->dev->event_lock);
	if (out->event_paced)
		drm_crtc_arm_vblank_event(crtc, out->event);
	else
		drm_crtc_send_vblank_event(crtc, out->event);
	spin_unlock(&crtc->dev->event_lock);
	out->event = NULL;
}

/*
 * Send the events whose requests are all answered, or all of them while
 * the device is stalled or gone.  Called with vq_lock.
 */
static void vdesk_events_send(struct vdesk_device *vd)
{
	struct vdesk_req *oldest;
	u64 done = vd->seq;
	unsigned int i;

	lockdep_assert_held(&vd->vq_lock);
	oldest = list_first_entry_or_null(&vd->inflight, struct vdesk_req, node);
	if (oldest && vd->vq_up && !vd->stalled)
		done = oldest->seq - 1;
	for (i = 0; vd->outputs && i < vd->num_outputs; i++) {
		struct vdesk_output *out = &vd->outputs[i];

		if (out->event && out->event_seq <= done)
			vdesk_event_send(out);
	}
}

/* The sequence number of the last request queued so far. */
u64 vdesk_last_seq(struct vdesk_device *vd)
{
	unsigned long flags;
	u64 seq;

	spin_lock_irqsave(&vd->vq_lock, flags);
	seq = vd->seq;
	spin_unlock_irqrestore(&vd->vq_lock, flags);
	return seq;
}

/*
 * The commit's event of an output: sent once every request up to seq is
 * answered, at once or (paced) on the next vblank.  A paced event carries
 * the vblank reference its caller took.
 */
void vdesk_output_event(struct vdesk_device *vd, struct vdesk_output *out,
			struct drm_pending_vblank_event *event, u64 seq,
			bool paced)
{
	unsigned long flags;

	spin_lock_irqsave(&vd->vq_lock, flags);
	WARN_ON(out->event);
	out->event = event;
	out->event_seq = seq;
	out->event_paced = paced;
	vdesk_events_send(vd);
	spin_unlock_irqrestore(&vd->vq_lock, flags);
}

/* --- recovery ----------------------------------------------------------------- */

/*
 * Have recover_work reset and re-initialise the device, unless it is reset
 * before the work runs (a suspend, or a recovery already under way): the
 * work compares the count of resets.  Called with vq_lock.
 */
static void vdesk_recover_locked(struct vdesk_device *vd, bool after_stall)
{
	lockdep_assert_held(&vd->vq_lock);
	vd->recover_resets = vd->resets;
	vd->recover_after_stall = after_stall;
	queue_work(system_freezable_wq, &vd->recover_work);
}

/* The device asks for a reset (NEEDS_RESET). */
void vdesk_vq_recover(struct vdesk_device *vd)
{
	unsigned long flags;

	spin_lock_irqsave(&vd->vq_lock, flags);
	vdesk_recover_locked(vd, false);
	spin_unlock_irqrestore(&vd->vq_lock, flags);
}

/*
 * For recover_work: false if the device was reset since the recovery was
 * asked for; else whether it was asked for after a stall.
 */
bool vdesk_vq_recover_needed(struct vdesk_device *vd, bool *after_stall)
{
	bool needed;

	spin_lock_irq(&vd->vq_lock);
	needed = vd->recover_resets == vd->resets;
	*after_stall = vd->recover_after_stall;
	spin_unlock_irq(&vd->vq_lock);
	if (!needed)
		atomic_inc(&vd->stats.recoveries_skipped);
	return needed;
}

/* A function level reset behind our back takes DRIVER_OK away. */
static bool vdesk_device_was_reset(struct vdesk_device *vd)
{
	u8 status = vd->vdev->config->get_status(vd->vdev);

	return !(status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	       (status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* --- answers ---------------------------------------------------------------------- */

void vdesk_vq_done(struct virtqueue *vq)
{
	struct vdesk_device *vd = vq->vdev->priv;
	struct vdesk_req *req;
	unsigned long flags;
	unsigned int len, stalled_ms = 0;
	bool answered = false;

	spin_lock_irqsave(&vd->vq_lock, flags);
	do {
		virtqueue_disable_cb(vq);
		while ((req = virtqueue_get_buf(vq, &len))) {
			vd->answers++;
			list_del(&req->node);
			req->answered = true;
			if (req->waiter) {
				complete(req->waiter);
			} else {
				list_add_tail(&req->node, &vd->answered);
				answered = true;
			}
		}
	} while (!virtqueue_enable_cb(vq));
	/*
	 * A stalled device that has answered everything is back.  Requests
	 * were refused meanwhile (transfers, scanouts, destroys), so its
	 * state is not ours: reset it and build it again.
	 */
	if (vd->stalled && list_empty(&vd->inflight)) {
		vd->stalled = false;
		stalled_ms = jiffies_to_msecs(jiffies - vd->stalled_since) + 1;
		atomic_inc(&vd->stats.stall_ends);
		vdesk_recover_locked(vd, true);
	}
	vdesk_events_send(vd);
	spin_unlock_irqrestore(&vd->vq_lock, flags);

	wake_up_all(&vd->vq_space);
	if (answered)
		schedule_work(&vd->answered_work);
	if (stalled_ms)
		drm_info(&vd->drm, "device answers again after %u ms\n", stalled_ms);
}

static void vdesk_answered_work(struct work_struct *work)
{
	struct vdesk_device *vd = container_of(work, struct vdesk_device,
					       answered_work);
	struct vdesk_req *req, *tmp;
	LIST_HEAD(answered);
	unsigned int i;

	spin_lock_irq(&vd->vq_lock);
	list_splice_init(&vd->answered, &answered);
	spin_unlock_irq(&vd->vq_lock);
	list_for_each_entry_safe(req, tmp, &answered, node) {
		/* which output the transfer was for is not kept: all of them */
		if (vdesk_req_result(vd, req) &&
		    req->type == VIRTIO_DESK_CMD_TRANSFER_RECTS)
			for (i = 0; i < vd->num_outputs; i++)
				vdesk_output_stale(vd, i);
		vdesk_req_free(req);
	}
}

/* --- a device that does not answer ---------------------------------------------- */

/* How often a stalled device is looked at again. */
#define VDESK_POLL_MS	500

/*
 * Called with vq_lock when a request stayed unanswered too long: stop
 * waiting for the device.  The requests stay posted, with their
 * framebuffers, until it answers or is reset (vdesk_vq_reclaim): it may
 * still read them.  Returns true when this is news for the log.
 */
static bool vdesk_stall_locked(struct vdesk_device *vd)
{
	struct vdesk_req *req;

	lockdep_assert_held(&vd->vq_lock);
	if (!vd->vq_up || vd->stalled)
		return false;
	vd->stalled = true;
	vd->stalled_since = jiffies;
	atomic_inc(&vd->stats.stalls);
	list_for_each_entry(req, &vd->inflight, node) {
		if (req->waiter) {
			complete(req->waiter);
			req->waiter = NULL;
		}
	}
	vdesk_events_send(vd);
	/* for the answers, or a reset: see vdesk_watchdog() */
	mod_delayed_work(system_wq, &vd->watchdog, msecs_to_jiffies(VDESK_POLL_MS));
	/*
	 * The virtio core stops the queue when the device goes away (system
	 * shutdown, surprise removal): nothing to say then.
	 */
	return !virtqueue_is_broken(vd->vq);
}

static void vdesk_report_stall(struct vdesk_device *vd, u32 type)
{
	bool reset = vdesk_device_was_reset(vd);

	wake_up_all(&vd->vq_space);
	drm_err(&vd->drm, "device does not answer command %#x%s, giving up on it\n",
		type, reset ? " (it was reset)" : "");
	if (reset)
		vdesk_vq_recover(vd);
}

/*
 * Runs while requests are in flight.  It collects answers whose interrupt
 * went missing, stalls the device when the oldest request is too old, and
 * while stalled looks for a reset behind our back (vdesk_vq_done() sees
 * the device answering again).
 */
static void vdesk_watchdog(struct work_struct *work)
{
	struct vdesk_device *vd = container_of(to_delayed_work(work),
					       struct vdesk_device, watchdog);
	unsigned long timeout = msecs_to_jiffies(VDESK_TIMEOUT_MS);
	struct vdesk_req *oldest;
	bool up, report = false, stalled;
	u32 type = 0;

	/* vdesk_vq_reclaim() takes the queue down, then waits for us */
	spin_lock_irq(&vd->vq_lock);
	up = vd->vq_up;
	spin_unlock_irq(&vd->vq_lock);
	if (!up)
		return;
	vdesk_vq_done(vd->vq);

	spin_lock_irq(&vd->vq_lock);
	oldest = list_first_entry_or_null(&vd->inflight, struct vdesk_req, node);
	stalled = vd->vq_up && vd->stalled;
	if (stalled) {
		mod_delayed_work(system_wq, &vd->watchdog,
				 msecs_to_jiffies(VDESK_POLL_MS));
	} else if (oldest && vd->vq_up) {
		if (time_after_eq(jiffies, oldest->queued + timeout)) {
			type = oldest->type;
			report = vdesk_stall_locked(vd);
		} else {
			mod_delayed_work(system_wq, &vd->watchdog,
					 oldest->queued + timeout - jiffies);
		}
	}
	spin_unlock_irq(&vd->vq_lock);
	if (report)
		vdesk_report_stall(vd, type);
	else if (stalled && vdesk_device_was_reset(vd))
		vdesk_vq_recover(vd);
}

/* --- queueing -------------------------------------------------------------------- */

/*
 * Put a request in the ring: its command, npay entries of vd->payload (the
 * caller holds xfer_lock then), room for the answer.  Waits only for room.
 */
static int vdesk_req_queue(struct vdesk_device *vd, struct vdesk_req *req,
			   unsigned int npay)
{
	struct scatterlist cmd_sg, resp_sg, *sgs[3];
	unsigned long flags, deadline;
	unsigned int nout = 0;
	bool busy, waited = false;
	u64 answers;
	int ret;

	sg_init_one(&cmd_sg, req->cmd, req->cmd_len);
	sgs[nout++] = &cmd_sg;
	if (npay) {
		sg_mark_end(&vd->payload[npay - 1]);
		sgs[nout++] = vd->payload;
	}
	sg_init_one(&resp_sg, req->resp, req->resp_len);
	sgs[nout] = &resp_sg;
	deadline = jiffies + msecs_to_jiffies(VDESK_TIMEOUT_MS);

	for (;;) {
		spin_lock_irqsave(&vd->vq_lock, flags);
		if (!vd->vq_up || virtqueue_is_broken(vd->vq))
			ret = -ENODEV;
		else if (vd->stalled)
			ret = -EIO;
		else
			ret = virtqueue_add_sgs(vd->vq, sgs, nout, 1, req,
						GFP_ATOMIC);
		answers = vd->answers;
		busy = !list_empty(&vd->inflight);
		if (!ret) {
			if (!busy)
				mod_delayed_work(system_wq, &vd->watchdog,
						 msecs_to_jiffies(VDESK_TIMEOUT_MS));
			req->seq = ++vd->seq;
			req->queued = jiffies;
			list_add_tail(&req->node, &vd->inflight);
			/* under the lock: the queue may be deleted after it */
			virtqueue_kick(vd->vq);
		}
		spin_unlock_irqrestore(&vd->vq_lock, flags);
		/*
		 * The ring is full, or there is no indirect table (GFP_ATOMIC)
		 * or DMA mapping (swiotlb's bounce space) to be had: answers
		 * free them, if any are coming.
		 */
		if (!(ret == -ENOSPC || (ret == -ENOMEM && busy)))
			break;
		if (time_after(jiffies, deadline)) {
			ret = -ENOMEM;
			break;
		}
		if (!waited)
			atomic_inc(&vd->stats.queue_waits);
		waited = true;
		wait_event_timeout(vd->vq_space, READ_ONCE(vd->answers) != answers ||
				   READ_ONCE(vd->stalled) || !READ_ONCE(vd->vq_up),
				   msecs_to_jiffies(10));
	}
	if (npay)
		sg_unmark_end(&vd->payload[npay - 1]);
	/* a stalled or gone device was said once, where it was found */
	if (ret && ret != -EIO && ret != -ENODEV)
		drm_err_ratelimited(&vd->drm, "cannot queue command %#x: %d\n",
				    req->type, ret);
	return ret;
}

/*
 * Queue a command that needs no answer but success, with npay payload
 * entries that point into fb (a reference is held until the answer).
 */
int vdesk_queue(struct vdesk_device *vd, const void *cmd, size_t len,
		unsigned int npay, struct drm_framebuffer *fb)
{
	struct vdesk_req *req;
	int ret;

	req = vdesk_req_new(cmd, len, sizeof(struct virtio_desk_ctrl_hdr),
			    VIRTIO_DESK_RESP_OK_NODATA);
	if (!req)
		return -ENOMEM;
	if (fb) {
		drm_framebuffer_get(fb);
		req->fb = fb;
	}
	ret = vdesk_req_queue(vd, req, npay);
	if (ret)
		vdesk_req_free(req);
	return ret;
}

/* Send a command and wait for its answer, copied to resp. */
static int vdesk_call(struct vdesk_device *vd, const void *cmd, size_t len,
		      void *resp, size_t resp_len, u32 expect)
{
	DECLARE_COMPLETION_ONSTACK(done);
	struct vdesk_req *req;
	bool answered, gone, report = false;
	u32 type;
	int ret;

	req = vdesk_req_new(cmd, len, resp_len, expect);
	if (!req)
		return -ENOMEM;
	type = req->type;
	req->waiter = &done;
	ret = vdesk_req_queue(vd, req, 0);
	if (ret) {
		vdesk_req_free(req);
		return ret;
	}
	wait_for_completion_timeout(&done, msecs_to_jiffies(VDESK_TIMEOUT_MS));

	spin_lock_irq(&vd->vq_lock);
	answered = req->answered;
	gone = !vd->vq_up || virtqueue_is_broken(vd->vq);
	if (!answered) {
		/* still posted: the callback or the reclaim frees it */
		req->waiter = NULL;
		report = vdesk_stall_locked(vd);
	}
	spin_unlock_irq(&vd->vq_lock);
	if (report)
		vdesk_report_stall(vd, type);
	if (!answered)
		return gone ? -ENODEV : -ETIMEDOUT;

	ret = vdesk_req_result(vd, req);
	if (!ret && resp)
		memcpy(resp, req->resp, resp_len);
	vdesk_req_free(req);
	return ret;
}

/* --- queue lifetime --------------------------------------------------------------- */

/*
 * The control queue, the event and status queues with F_INPUT, and the
 * cursor queue with F_CURSOR; the ones the device does not have are NULL.
 * The cursor queue is queue 3 even without F_INPUT: queues 1 and 2 are
 * then set up too, and left unused.
 */
int vdesk_vqs_find(struct vdesk_device *vd)
{
	struct virtqueue_info info[] = {
		[VIRTIO_DESK_QUEUE_CONTROL] = { "control", vdesk_vq_done },
		[VIRTIO_DESK_QUEUE_EVENT] = { "event", vdesk_input_event_done },
		[VIRTIO_DESK_QUEUE_STATUS] = { "status", vdesk_input_status_done },
		[VIRTIO_DESK_QUEUE_CURSOR] = { "cursor", vdesk_cursor_done },
	};
	struct virtqueue *vqs[ARRAY_SIZE(info)] = {};
	bool input = virtio_has_feature(vd->vdev, VIRTIO_DESK_F_INPUT);
	bool cursor = virtio_has_feature(vd->vdev, VIRTIO_DESK_F_CURSOR);
	int ret;

	ret = virtio_find_vqs(vd->vdev, cursor ? 4 : input ? 3 : 1, vqs, info, NULL);
	if (ret)
		return ret;
	vd->vq = vqs[VIRTIO_DESK_QUEUE_CONTROL];
	vd->evq = input ? vqs[VIRTIO_DESK_QUEUE_EVENT] : NULL;
	vd->stq = input ? vqs[VIRTIO_DESK_QUEUE_STATUS] : NULL;
	vd->cursorq = cursor ? vqs[VIRTIO_DESK_QUEUE_CURSOR] : NULL;
	return 0;
}

/* Once the device is ready (DRIVER_OK): requests may go out. */
void vdesk_vqs_start(struct vdesk_device *vd)
{
	spin_lock_irq(&vd->vq_lock);
	WARN_ON(!list_empty(&vd->inflight));
	vd->vq_up = true;
	vd->stalled = false;
	spin_unlock_irq(&vd->vq_lock);
	vdesk_cursor_start(vd);
}

/*
 * After the device was reset (it reads nothing any more): no request goes
 * out from now on; free what it never answered, send every event still
 * waiting.
 */
static void vdesk_vq_reclaim(struct vdesk_device *vd)
{
	struct vdesk_req *req, *tmp;
	LIST_HEAD(unanswered);

	spin_lock_irq(&vd->vq_lock);
	vd->vq_up = false;
	vd->stalled = false;
	vd->resets++;
	spin_unlock_irq(&vd->vq_lock);
	/* it polls the queue: not any more once this returns */
	cancel_delayed_work_sync(&vd->watchdog);
	spin_lock_irq(&vd->vq_lock);
	while ((req = virtqueue_detach_unused_buf(vd->vq))) {
		list_del(&req->node);
		if (req->waiter) {
			/* its caller frees it, and sees an empty answer */
			req->answered = true;
			complete(req->waiter);
		} else {
			list_add_tail(&req->node, &unanswered);
		}
	}
	vdesk_events_send(vd);
	spin_unlock_irq(&vd->vq_lock);
	wake_up_all(&vd->vq_space);
	flush_work(&vd->answered_work);
	list_for_each_entry_safe(req, tmp, &unanswered, node)
		vdesk_req_free(req);
}

/*
 * After virtio_reset_device(): take every buffer back and delete the
 * queues.  Safe to call again, or when they were never made (a restore
 * that failed).
 */
void vdesk_vqs_del(struct vdesk_device *vd)
{
	if (!vd->vq)
		return;
	vdesk_vq_reclaim(vd);
	vdesk_cursor_reclaim(vd);
	vd->vdev->config->del_vqs(vd->vdev);
	vd->vq = NULL;
	vd->evq = NULL;
	vd->stq = NULL;
	vd->cursorq = NULL;
}

static bool vdesk_vq_idle(struct vdesk_device *vd)
{
	bool idle;

	spin_lock_irq(&vd->vq_lock);
	idle = list_empty(&vd->inflight) || !vd->vq_up || vd->stalled;
	spin_unlock_irq(&vd->vq_lock);
	return idle;
}

/*
 * Wait until the device has answered every request queued so far (or we
 * stopped waiting for it); false if it is still busy after ms.
 */
bool vdesk_vq_wait_idle(struct vdesk_device *vd, unsigned int ms)
{
	return wait_event_timeout(vd->vq_space, vdesk_vq_idle(vd),
				  msecs_to_jiffies(ms)) > 0;
}

/* At probe, before the queues are made. */
void vdesk_vq_init(struct vdesk_device *vd)
{
	spin_lock_init(&vd->vq_lock);
	INIT_LIST_HEAD(&vd->inflight);
	INIT_LIST_HEAD(&vd->answered);
	init_waitqueue_head(&vd->vq_space);
	INIT_WORK(&vd->answered_work, vdesk_answered_work);
	INIT_DELAYED_WORK(&vd->watchdog, vdesk_watchdog);
}

/* --- commands -------------------------------------------------------------------- */

/*
 * A query that is a bare header and whose answer is the header and a table
 * with an entry per output (display info, layout): the table is copied to
 * @dst under info_lock.
 */
static int vdesk_get_output_table(struct vdesk_device *vd, u32 cmd, u32 ok,
				  void *dst, size_t len)
{
	struct virtio_desk_ctrl_hdr hdr = { .type = cpu_to_le32(cmd) };
	unsigned long flags;
	u8 *resp;
	int ret;

	resp = kmalloc(sizeof(hdr) + len, GFP_KERNEL);
	if (!resp)
		return -ENOMEM;
	ret = vdesk_call(vd, &hdr, sizeof(hdr), resp, sizeof(hdr) + len, ok);
	if (!ret) {
		spin_lock_irqsave(&vd->info_lock, flags);
		memcpy(dst, resp + sizeof(hdr), len);
		spin_unlock_irqrestore(&vd->info_lock, flags);
	}
	kfree(resp);
	return ret;
}

static_assert(sizeof(struct virtio_desk_resp_display_info) ==
	      sizeof(struct virtio_desk_ctrl_hdr) + sizeof_field(struct vdesk_device, info));
static_assert(sizeof(struct virtio_desk_resp_layout) ==
	      sizeof(struct virtio_desk_ctrl_hdr) + sizeof_field(struct vdesk_device, layout));

/* The outputs' preferred modes, and where the UI places them (F_LAYOUT). */
int vdesk_get_display_info(struct vdesk_device *vd)
{
	int ret;

	ret = vdesk_get_output_table(vd, VIRTIO_DESK_CMD_GET_DISPLAY_INFO,
				     VIRTIO_DESK_RESP_OK_DISPLAY_INFO,
				     vd->info, sizeof(vd->info));
	if (!ret && virtio_has_feature(vd->vdev, VIRTIO_DESK_F_LAYOUT))
		ret = vdesk_get_output_table(vd, VIRTIO_DESK_CMD_GET_LAYOUT,
					     VIRTIO_DESK_RESP_OK_LAYOUT,
					     vd->layout, sizeof(vd->layout));
	return ret;
}

int vdesk_get_input_info(struct vdesk_device *vd, u32 device,
			 struct virtio_desk_resp_input_info *info)
{
	struct virtio_desk_get_input_info cmd = {
		.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_GET_INPUT_INFO),
		.device = cpu_to_le32(device),
	};

	return vdesk_call(vd, &cmd, sizeof(cmd), info, sizeof(*info),
			  VIRTIO_DESK_RESP_OK_INPUT_INFO);
}

/* The EDID of an output's monitor (F_EDID), NULL if there is none; drm_edid_free() it. */
const struct drm_edid *vdesk_get_edid(struct vdesk_device *vd, u32 output)
{
	struct virtio_desk_get_edid cmd = {
		.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_GET_EDID),
		.output_id = cpu_to_le32(output),
	};
	struct virtio_desk_resp_edid *resp;
	const struct drm_edid *edid = NULL;
	u32 size;

	resp = kmalloc(sizeof(*resp), GFP_KERNEL);
	if (!resp)
		return NULL;
	if (!vdesk_call(vd, &cmd, sizeof(cmd), resp, sizeof(*resp),
			VIRTIO_DESK_RESP_OK_EDID)) {
		size = le32_to_cpu(resp->size);
		if (size >= EDID_LENGTH && size <= sizeof(resp->edid))
			edid = drm_edid_alloc(resp->edid, size);
	}
	kfree(resp);
	return edid;
}

/* Waits: a mode set fails right there if the device has no room for it. */
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

	return vdesk_call(vd, &cmd, sizeof(cmd), NULL,
			  sizeof(struct virtio_desk_ctrl_hdr),
			  VIRTIO_DESK_RESP_OK_NODATA);
}

int vdesk_resource_destroy(struct vdesk_device *vd, u32 id)
{
	struct virtio_desk_resource_destroy cmd = {
		.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_RESOURCE_DESTROY),
		.resource_id = cpu_to_le32(id),
	};

	return vdesk_queue(vd, &cmd, sizeof(cmd), 0, NULL);
}

/* Show all of resource res_id (width x height) on an output; 0 disables it. */
int vdesk_set_scanout(struct vdesk_device *vd, u32 output, u32 res_id,
		      u32 width, u32 height)
{
	struct virtio_desk_set_scanout cmd = {
		.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_SET_SCANOUT),
		.output_id = cpu_to_le32(output),
		.resource_id = cpu_to_le32(res_id),
		.src.width = cpu_to_le32(res_id ? width : 0),
		.src.height = cpu_to_le32(res_id ? height : 0),
	};

	return vdesk_queue(vd, &cmd, sizeof(cmd), 0, NULL);
}
