/*
 * virtio-desk: who watches the outputs (VIRTIO_DESK_F_WATCH)
 *
 * A copy into the host's image is wasted while nothing looks at it.  QEMU's
 * UIs ask a console for its picture with graphic_hw_update() while they
 * show it: VNC on each refresh with a client connected (every 30 ms, at
 * least every GUI_REFRESH_INTERVAL_IDLE = 3 s when idle) and at once when
 * one connects, SPICE, D-Bus listeners, GTK and SDL windows on each of
 * theirs, screendump once.  That call, the console's gfx_update, is how the
 * device knows somebody watches: an output is watched from a pull until
 * watch-timeout-ms have passed without one, and during a migration, whose
 * stream carries the images.
 *
 * The driver learns it from the config space (watched, EVENT_WATCH) and
 * keeps the damage of unwatched outputs instead of transferring it.  A
 * pull of an unwatched output sets its bit; the consoles update
 * asynchronously (gfx_update_async), so a screendump waits until the
 * driver has transferred what it kept and said so with OUTPUTS_CURRENT, or
 * pull-timeout-ms have passed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "hw/virtio/virtio.h"
#include "virtio-desk-internal.h"
#include "migration/misc.h"
#include "migration/vmstate.h"
#include "system/runstate.h"
#include "ui/console.h"
#include "trace.h"

static bool virtio_desk_watch_negotiated(VirtIODesk *s)
{
    return virtio_vdev_has_feature(VIRTIO_DEVICE(s), VIRTIO_DESK_F_WATCH);
}

/* Tell the driver, if it listens, that the watched bits are now @watched. */
static void virtio_desk_set_watched(VirtIODesk *s, uint32_t watched)
{
    if (watched == s->watched) {
        return;
    }
    trace_virtio_desk_watched(s->watched, watched);
    s->watched = watched;
    if (virtio_desk_watch_negotiated(s)) {
        s->events_read |= VIRTIO_DESK_EVENT_WATCH;
        virtio_notify_config(VIRTIO_DEVICE(s));
    }
}

/* The console's update of output @i is complete: wake its screendumps. */
static void virtio_desk_pull_done(VirtIODesk *s, uint32_t i)
{
    s->outputs[i].pull_deadline_ms = 0;
    graphic_hw_update_done(s->outputs[i].con);
}

/*
 * Once a pull has waited pull-timeout-ms, and watch-timeout-ms after the
 * last pull: the next thing the timer has to do.
 */
static void virtio_desk_watch_timer(void *opaque)
{
    VirtIODesk *s = opaque;
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    int64_t next = INT64_MAX;
    uint32_t watched = s->watched;

    for (uint32_t i = 0; i < s->max_outputs; i++) {
        VirtIODeskOutput *out = &s->outputs[i];
        int64_t unwatch = out->watch_seen_ms + s->watch_timeout_ms;

        if (out->pull_deadline_ms && now >= out->pull_deadline_ms) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "virtio-desk: output %u: no OUTPUTS_CURRENT within "
                          "%u ms of a pull: its picture may be stale\n",
                          i, s->pull_timeout_ms);
            trace_virtio_desk_pull_timeout(i);
            virtio_desk_pull_done(s, i);
        }
        if (out->pull_deadline_ms) {
            next = MIN(next, out->pull_deadline_ms);
        }
        if (!(watched & BIT(i)) || s->migrating) {
            continue;
        }
        if (now >= unwatch) {
            watched &= ~BIT(i);
        } else {
            next = MIN(next, unwatch);
        }
    }
    virtio_desk_set_watched(s, watched);
    if (next != INT64_MAX) {
        timer_mod(s->watch_timer, next);
    }
}

/*
 * The console of output @i asks for its picture (its gfx_update).  Returns
 * whether the update is complete now; if not, graphic_hw_update_done()
 * follows when the driver has answered.  Cheap when the output is watched
 * already: SPICE asks every 30 ms.
 */
bool virtio_desk_output_pull(VirtIODesk *s, uint32_t i)
{
    VirtIODeskOutput *out = &s->outputs[i];
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

    out->watch_seen_ms = now;
    if (s->watched & BIT(i)) {
        return !out->pull_deadline_ms;
    }
    trace_virtio_desk_pull(i);
    virtio_desk_set_watched(s, s->watched | BIT(i));
    /*
     * Wait for the driver's OUTPUTS_CURRENT only if it keeps damage and
     * can answer: not before it negotiated F_WATCH, not while the VM is
     * stopped.
     */
    if (virtio_desk_watch_negotiated(s) && runstate_is_running()) {
        out->pull_deadline_ms = now + s->pull_timeout_ms;
    }
    virtio_desk_watch_timer(s);
    return !out->pull_deadline_ms;
}

/* OUTPUTS_CURRENT: the driver has sent all it kept for @outputs. */
void virtio_desk_outputs_current(VirtIODesk *s, uint32_t outputs)
{
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        if ((outputs & BIT(i)) && s->outputs[i].pull_deadline_ms) {
            virtio_desk_pull_done(s, i);
        }
    }
}

void virtio_desk_cmd_outputs_current(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_outputs_current *req = &cmd->req.outputs_current;
    uint32_t outputs = le32_to_cpu(req->outputs);

    trace_virtio_desk_outputs_current(outputs);
    if (req->padding) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "padding not zero");
        return;
    }
    if (outputs & ~MAKE_64BIT_MASK(0, s->max_outputs)) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID,
                         "outputs 0x%x of %u", outputs, s->max_outputs);
        return;
    }
    virtio_desk_outputs_current(s, outputs);
}

/*
 * A migration's stream carries the images: keep them current while it
 * runs, as if somebody watched every output.
 */
static int virtio_desk_migration_notify(NotifierWithReturn *notifier,
                                        MigrationEvent *e, Error **errp)
{
    VirtIODesk *s = container_of(notifier, VirtIODesk, migration_notifier);
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

    s->migrating = e->type == MIG_EVENT_PRECOPY_SETUP;
    trace_virtio_desk_watch_migration(s->migrating);
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        s->outputs[i].watch_seen_ms = now;
    }
    if (s->migrating) {
        virtio_desk_set_watched(s, MAKE_64BIT_MASK(0, s->max_outputs));
    }
    virtio_desk_watch_timer(s);
    return 0;
}

void virtio_desk_watch_realize(VirtIODesk *s)
{
    s->watch_timer = timer_new_ms(QEMU_CLOCK_REALTIME,
                                  virtio_desk_watch_timer, s);
    migration_add_notifier(&s->migration_notifier,
                           virtio_desk_migration_notify);
}

void virtio_desk_watch_unrealize(VirtIODesk *s)
{
    migration_remove_notifier(&s->migration_notifier);
    timer_free(s->watch_timer);
}

/*
 * The watched bits describe the host's side and outlive a reset; pulls
 * waiting for the old driver end now.
 */
void virtio_desk_watch_reset(VirtIODesk *s)
{
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        if (s->outputs[i].pull_deadline_ms) {
            virtio_desk_pull_done(s, i);
        }
    }
}

/*
 * The driver's view of the watched bits travels with it; on the
 * destination the outputs stay watched for a watch-timeout-ms, until its
 * own UIs show whether anybody looks.
 */
static bool virtio_desk_watch_needed(void *opaque)
{
    return virtio_desk_watch_negotiated(opaque);
}

static int virtio_desk_watch_post_load(void *opaque, int version_id)
{
    VirtIODesk *s = opaque;
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

    s->watched &= MAKE_64BIT_MASK(0, s->max_outputs);
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        s->outputs[i].watch_seen_ms = now;
    }
    virtio_desk_watch_timer(s);
    return 0;
}

const VMStateDescription vmstate_virtio_desk_watch = {
    .name = "virtio-desk-device/watch",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = virtio_desk_watch_needed,
    .post_load = virtio_desk_watch_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(watched, VirtIODesk),
        VMSTATE_END_OF_LIST()
    }
};
