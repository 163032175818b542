// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-desk: input (VIRTIO_DESK_F_INPUT).
 *
 * Two input devices, a keyboard and a pointer, registered with what
 * GET_INPUT_INFO reports.  The event queue is kept full of device-writable
 * buffers of one struct virtio_desk_input_event each; every used buffer is
 * handed to input_event() of the device it names and queued again.  LED
 * changes go out on the status queue from preallocated buffers, so the
 * input core's atomic ->event() never sleeps.
 *
 * Locking: evq_lock covers the event queue and is held around input_event()
 * (it nests outside the input devices' event_lock); sts_lock covers the
 * status queue and is taken from ->event() (inside the keyboard's
 * event_lock).  The two are never held together.
 */

#include <linux/cache.h>
#include <linux/input.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include <drm/drm_print.h>

#include "vdesk_drv.h"

static_assert(sizeof(struct virtio_desk_input_event) == 16);
static_assert(sizeof(struct virtio_desk_get_input_info) == 16);
static_assert(sizeof(struct virtio_desk_input_absinfo) == 24);
static_assert(sizeof(struct virtio_desk_resp_input_info) == 216);

/* Event buffers kept available to the device (at most the ring size). */
#define VDESK_EVT_BUFS		256
/* Status messages in flight at once; more LED changes wait in led_dirty. */
#define VDESK_STS_BUFS		8

/*
 * Buffers the device writes get a cache line each: with the DMA API
 * (VIRTIO_F_ACCESS_PLATFORM) two mappings must not share one.
 */
struct vdesk_sts_buf {
	struct virtio_desk_input_event ev;	/* device-readable */
	struct virtio_desk_ctrl_hdr resp;	/* device-writable */
} ____cacheline_aligned;

struct vdesk_evt_buf {
	struct virtio_desk_input_event ev;	/* device-writable */
} ____cacheline_aligned;

struct vdesk_input {
	struct vdesk_device *vd;
	struct input_dev *idev[VIRTIO_DESK_INPUT_DEVICES];

	spinlock_t evq_lock;		/* the event queue and the fields below */
	bool evq_ready;
	struct vdesk_evt_buf *evts;
	struct virtio_desk_input_event **done;	/* used, not yet requeued */
	unsigned int nevts;

	spinlock_t sts_lock;		/* the status queue and the fields below */
	bool sts_ready;
	struct vdesk_sts_buf *sts;
	unsigned long sts_free;		/* bitmap of free sts[] entries */
	unsigned long led_dirty;	/* LED_* whose state is not sent yet */
	unsigned long led_want;		/* LED_* state to send */
};

/* --- event queue ------------------------------------------------------------ */

/* Called with evq_lock held. */
static void vdesk_input_queue_evt(struct vdesk_input *vi,
				  struct virtio_desk_input_event *evt)
{
	struct scatterlist sg;

	sg_init_one(&sg, evt, sizeof(*evt));
	virtqueue_add_inbuf(vi->vd->evq, &sg, 1, evt, GFP_ATOMIC);
}

void vdesk_input_event_done(struct virtqueue *vq)
{
	struct vdesk_device *vd = vq->vdev->priv;
	struct vdesk_input *vi = vd->input;
	struct virtio_desk_input_event *evt;
	unsigned long flags;
	unsigned int len, n = 0;
	u16 dev;

	if (!vi)
		return;
	spin_lock_irqsave(&vi->evq_lock, flags);
	/*
	 * At most one ring's worth per call: buffers go back only afterwards,
	 * so a flood reaches the evdev clients in chunks their buffers hold.
	 */
	while (vi->evq_ready && n < vi->nevts &&
	       (evt = virtqueue_get_buf(vq, &len)) != NULL) {
		dev = le16_to_cpu(evt->device);
		if (len == sizeof(*evt) && dev < VIRTIO_DESK_INPUT_DEVICES)
			input_event(vi->idev[dev], le16_to_cpu(evt->type),
				    le16_to_cpu(evt->code),
				    (s32)le32_to_cpu(evt->value));
		else
			dev_warn_ratelimited(&vd->vdev->dev,
					     "bad input event: %u bytes, device %u\n",
					     len, dev);
		vi->done[n++] = evt;
	}
	if (vi->evq_ready && n) {
		while (n)
			vdesk_input_queue_evt(vi, vi->done[--n]);
		virtqueue_kick(vq);
	}
	spin_unlock_irqrestore(&vi->evq_lock, flags);
}

/* --- status queue ----------------------------------------------------------- */

/* Send what LED changes fit in free buffers.  Called with sts_lock held. */
static void vdesk_input_send_leds(struct vdesk_input *vi)
{
	struct scatterlist out, in, *sgs[] = { &out, &in };
	struct vdesk_sts_buf *sb;
	unsigned int led, slot;
	bool kick = false;
	int ret;

	while (vi->sts_ready && vi->led_dirty && vi->sts_free) {
		led = __ffs(vi->led_dirty);
		slot = __ffs(vi->sts_free);
		sb = &vi->sts[slot];
		sb->ev = (struct virtio_desk_input_event) {
			.device = cpu_to_le16(VIRTIO_DESK_INPUT_KEYBOARD),
			.type = cpu_to_le16(EV_LED),
			.code = cpu_to_le16(led),
			.value = cpu_to_le32(test_bit(led, &vi->led_want)),
		};
		sb->resp.type = 0;
		sg_init_one(&out, &sb->ev, sizeof(sb->ev));
		sg_init_one(&in, &sb->resp, sizeof(sb->resp));
		ret = virtqueue_add_sgs(vi->vd->stq, sgs, 1, 1, sb, GFP_ATOMIC);
		if (ret) {
			/* the ring is full: send when a buffer comes back */
			if (!virtqueue_is_broken(vi->vd->stq))
				dev_warn_ratelimited(&vi->vd->vdev->dev,
						     "cannot queue LED status: %d\n", ret);
			break;
		}
		__clear_bit(led, &vi->led_dirty);
		__clear_bit(slot, &vi->sts_free);
		kick = true;
	}
	if (kick)
		virtqueue_kick(vi->vd->stq);
}

void vdesk_input_status_done(struct virtqueue *vq)
{
	struct vdesk_device *vd = vq->vdev->priv;
	struct vdesk_input *vi = vd->input;
	struct vdesk_sts_buf *sb;
	unsigned long flags;
	unsigned int len;
	u32 type;

	if (!vi)
		return;
	spin_lock_irqsave(&vi->sts_lock, flags);
	while ((sb = virtqueue_get_buf(vq, &len)) != NULL) {
		type = le32_to_cpu(sb->resp.type);
		if (len < sizeof(sb->resp) || type != VIRTIO_DESK_RESP_OK_NODATA)
			dev_err_ratelimited(&vd->vdev->dev,
					    "LED %u status: device answered %#x (%u bytes)\n",
					    le16_to_cpu(sb->ev.code), type, len);
		__set_bit(sb - vi->sts, &vi->sts_free);
	}
	vdesk_input_send_leds(vi);
	spin_unlock_irqrestore(&vi->sts_lock, flags);
}

/* input_dev->event: atomic context, the device's event_lock held. */
static int vdesk_input_dev_event(struct input_dev *idev, unsigned int type,
				 unsigned int code, int value)
{
	struct vdesk_input *vi = input_get_drvdata(idev);
	unsigned long flags;

	if (type != EV_LED || code >= BITS_PER_LONG)
		return -EINVAL;
	spin_lock_irqsave(&vi->sts_lock, flags);
	__assign_bit(code, &vi->led_want, value);
	__set_bit(code, &vi->led_dirty);
	vdesk_input_send_leds(vi);
	spin_unlock_irqrestore(&vi->sts_lock, flags);
	return 0;
}

/* --- input devices ----------------------------------------------------------- */

static void vdesk_input_set_bits(unsigned long *dst, const void *src,
				 unsigned int src_bits, unsigned int max)
{
	const u8 *bytes = src;
	unsigned int n;

	for (n = 0; n < src_bits && n <= max; n++)
		if (bytes[n / 8] & BIT(n % 8))
			__set_bit(n, dst);
}

static void vdesk_input_set_abs(struct input_dev *idev, unsigned int axis,
				const struct virtio_desk_input_absinfo *a)
{
	input_set_abs_params(idev, axis, (s32)le32_to_cpu(a->min),
			     (s32)le32_to_cpu(a->max), (s32)le32_to_cpu(a->fuzz),
			     (s32)le32_to_cpu(a->flat));
	input_abs_set_res(idev, axis, (s32)le32_to_cpu(a->res));
}

static struct input_dev *vdesk_input_create(struct vdesk_input *vi, u32 which,
					    const struct virtio_desk_resp_input_info *info)
{
	struct device *parent = &vi->vd->vdev->dev;
	struct input_dev *idev;
	__le32 bits32;
	u64 abs_bits;
	int ret;

	idev = devm_input_allocate_device(parent);
	if (!idev)
		return ERR_PTR(-ENOMEM);
	idev->name = devm_kasprintf(parent, GFP_KERNEL, "%.*s",
				    (int)sizeof(info->name), info->name);
	idev->phys = devm_kasprintf(parent, GFP_KERNEL, "virtio-desk/%s/input%u",
				    dev_name(parent), which);
	if (!idev->name || !idev->phys)
		return ERR_PTR(-ENOMEM);
	idev->id.bustype = le16_to_cpu(info->bustype);
	idev->id.vendor = le16_to_cpu(info->vendor);
	idev->id.product = le16_to_cpu(info->product);
	idev->id.version = le16_to_cpu(info->version);

	/* the bitmaps are little-endian bit strings, like key_bits */
	bits32 = info->ev_bits;
	vdesk_input_set_bits(idev->evbit, &bits32, 32, EV_MAX);
	bits32 = info->rel_bits;
	vdesk_input_set_bits(idev->relbit, &bits32, 16, REL_MAX);
	bits32 = info->led_bits;
	vdesk_input_set_bits(idev->ledbit, &bits32, 16, LED_MAX);
	vdesk_input_set_bits(idev->keybit, info->key_bits, 8 * sizeof(info->key_bits), KEY_MAX);
	/* only X and Y come with ranges (input_set_abs_params sets EV_ABS) */
	abs_bits = le64_to_cpu(info->abs_bits);
	if (abs_bits & BIT_ULL(ABS_X))
		vdesk_input_set_abs(idev, ABS_X, &info->abs_x);
	if (abs_bits & BIT_ULL(ABS_Y))
		vdesk_input_set_abs(idev, ABS_Y, &info->abs_y);

	/*
	 * evdev gives each client room for 8 "packets" of this many events:
	 * let that be 8 event-queue interrupts' worth, so a reader that falls
	 * behind a flood for a moment does not see SYN_DROPPED.
	 */
	idev->hint_events_per_packet = vi->nevts;
	input_set_drvdata(idev, vi);
	if (test_bit(EV_LED, idev->evbit))
		idev->event = vdesk_input_dev_event;

	ret = input_register_device(idev);
	if (ret)
		return ERR_PTR(ret);
	return idev;
}

/*
 * Fill the event queue and send the LED changes not sent yet, on queues
 * that hold none of our buffers (new, or just found again after a reset).
 */
static void vdesk_input_start(struct vdesk_input *vi)
{
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&vi->sts_lock, flags);
	vi->sts_free = GENMASK(VDESK_STS_BUFS - 1, 0);
	vi->sts_ready = true;
	vdesk_input_send_leds(vi);
	spin_unlock_irqrestore(&vi->sts_lock, flags);
	spin_lock_irqsave(&vi->evq_lock, flags);
	vi->evq_ready = true;
	for (i = 0; i < vi->nevts; i++)
		vdesk_input_queue_evt(vi, &vi->evts[i].ev);
	virtqueue_kick(vi->vd->evq);
	spin_unlock_irqrestore(&vi->evq_lock, flags);
}

/* Stop using the queues, which are about to go: the input devices stay. */
static void vdesk_input_stop(struct vdesk_input *vi)
{
	unsigned long flags;

	spin_lock_irqsave(&vi->evq_lock, flags);
	vi->evq_ready = false;
	spin_unlock_irqrestore(&vi->evq_lock, flags);
	spin_lock_irqsave(&vi->sts_lock, flags);
	vi->sts_ready = false;
	spin_unlock_irqrestore(&vi->sts_lock, flags);
}

/* Before the device is reset for suspend or hibernation. */
void vdesk_input_suspend(struct vdesk_device *vd)
{
	if (vd->input)
		vdesk_input_stop(vd->input);
}

/*
 * On the new queues after a reset: the device forgot the LEDs, so every
 * LED the keyboard has goes out again with the state the VT last set.
 */
void vdesk_input_resume(struct vdesk_device *vd)
{
	struct vdesk_input *vi = vd->input;
	struct input_dev *kbd;
	unsigned long flags;

	/* restored onto a device without F_INPUT: the input devices stay idle */
	if (!vi || !vd->evq)
		return;
	kbd = vi->idev[VIRTIO_DESK_INPUT_KEYBOARD];
	spin_lock_irqsave(&vi->sts_lock, flags);
	vi->led_dirty |= kbd->ledbit[0];
	spin_unlock_irqrestore(&vi->sts_lock, flags);
	vdesk_input_start(vi);
}

/*
 * Called once the device is ready (GET_INPUT_INFO goes over the control
 * queue).  On failure the display works without input.
 */
int vdesk_input_init(struct vdesk_device *vd)
{
	struct device *dev = &vd->vdev->dev;
	struct virtio_desk_resp_input_info *info;
	struct vdesk_input *vi;
	unsigned int i;
	int ret;

	vi = devm_kzalloc(dev, sizeof(*vi), GFP_KERNEL);
	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!vi || !info) {
		ret = -ENOMEM;
		goto out;
	}
	vi->vd = vd;
	spin_lock_init(&vi->evq_lock);
	spin_lock_init(&vi->sts_lock);
	vi->nevts = min_t(unsigned int, VDESK_EVT_BUFS, virtqueue_get_vring_size(vd->evq));
	vi->evts = devm_kcalloc(dev, vi->nevts, sizeof(*vi->evts), GFP_KERNEL);
	vi->done = devm_kcalloc(dev, vi->nevts, sizeof(*vi->done), GFP_KERNEL);
	vi->sts = devm_kcalloc(dev, VDESK_STS_BUFS, sizeof(*vi->sts), GFP_KERNEL);
	if (!vi->evts || !vi->done || !vi->sts) {
		ret = -ENOMEM;
		goto out;
	}
	vi->sts_free = GENMASK(VDESK_STS_BUFS - 1, 0);

	for (i = 0; i < VIRTIO_DESK_INPUT_DEVICES; i++) {
		ret = vdesk_get_input_info(vd, i, info);
		if (ret)
			goto out;
		vi->idev[i] = vdesk_input_create(vi, i, info);
		if (IS_ERR(vi->idev[i])) {
			ret = PTR_ERR(vi->idev[i]);
			vi->idev[i] = NULL;
			goto out;
		}
	}

	vd->input = vi;
	/* the keyboard handlers set the LEDs at connect: send that state */
	vdesk_input_start(vi);
	ret = 0;
out:
	if (ret) {
		dev_err(dev, "no input devices: %d\n", ret);
		for (i = 0; vi && i < VIRTIO_DESK_INPUT_DEVICES; i++)
			if (vi->idev[i])
				input_unregister_device(vi->idev[i]);
	}
	kfree(info);
	return ret;
}

/*
 * Stop feeding events and LED changes, then unregister the input devices;
 * the caller resets the device afterwards.
 */
void vdesk_input_remove(struct vdesk_device *vd)
{
	struct vdesk_input *vi = vd->input;
	unsigned int i;

	if (!vi)
		return;
	vdesk_input_stop(vi);
	for (i = 0; i < VIRTIO_DESK_INPUT_DEVICES; i++)
		input_unregister_device(vi->idev[i]);
}
