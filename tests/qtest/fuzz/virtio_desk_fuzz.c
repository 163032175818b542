/*
 * virtio-desk fuzz target: structured requests on all four virtqueues.
 *
 * The input is a sequence of records; each becomes one descriptor chain,
 * or one input event injected the way a VNC client would:
 *
 *   u8 queue   0 control, 1 event, 2 status, 3 inject a key or pointer
 *              event, 4 cursor (queue 3), 5 a UI asks for the picture of
 *              an output, as a VNC client connecting (modulo 6)
 *   u8 ndesc   descriptors in the chain (queues), the event (3), or the
 *              output (5)
 *   ndesc times:
 *     u8 write    bit 0: device-writable; bit 1: through an indirect table
 *                 (taken from the first descriptor only)
 *     u16 len     little-endian
 *     len bytes   the contents, for readable descriptors only
 *
 * A chain is kicked and the main loop run after every record, so valid
 * request streams (tests/qtest/fuzz/virtio-desk-corpus.py writes some) lead
 * the fuzzer deep into the command handlers.  Runs are separated by a
 * device reset.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"

#include "tests/qtest/libqtest.h"
#include "tests/qtest/libqos/virtio-desk.h"
#include "ui/console.h"
#include "ui/input.h"
#include "fuzz.h"
#include "qos_fuzz.h"

#define MAX_DESC 64

/* What a VNC or SPICE client could send; the fuzz target links QEMU. */
static void virtio_desk_fuzz_input(uint8_t which)
{
    switch (which % 6) {
    case 0:
        qemu_input_event_send_key_qcode(NULL, Q_KEY_CODE_A, true);
        break;
    case 1:
        qemu_input_event_send_key_qcode(NULL, Q_KEY_CODE_A, false);
        break;
    case 2:
        qemu_input_queue_btn(NULL, INPUT_BUTTON_LEFT, which & 0x80);
        break;
    case 3:
        qemu_input_queue_btn(NULL, INPUT_BUTTON_WHEEL_UP, true);
        break;
    case 4:
        qemu_input_queue_abs(NULL, INPUT_AXIS_X, which, 0, 255);
        break;
    default:
        qemu_input_queue_rel(NULL, INPUT_AXIS_Y, (int8_t)which);
        break;
    }
    qemu_input_event_sync();
}

static bool take(const uint8_t **data, size_t *size, void *out, size_t n)
{
    if (*size < n) {
        return false;
    }
    memcpy(out, *data, n);
    *data += n;
    *size -= n;
    return true;
}

static void virtio_desk_fuzz_chain(QTestState *s, QVirtioDevice *dev,
                                   QVirtQueue *vq, uint8_t ndesc,
                                   const uint8_t **data, size_t *size)
{
    QVRingIndirectDesc *ind = NULL;
    uint64_t addr[MAX_DESC];
    uint32_t head = 0;
    int n = 0;

    ndesc = MAX(1, ndesc % MAX_DESC);
    for (int i = 0; i < ndesc; i++) {
        uint8_t write;
        uint16_t len;

        if (!take(data, size, &write, 1) || !take(data, size, &len, 2)) {
            break;
        }
        len = le16_to_cpu(len) % 8192 + 1;
        if (i == 0 && (write & 2) && vq->indirect) {
            ind = qvring_indirect_desc_setup(s, dev, fuzz_qos_alloc, ndesc);
        }
        addr[n] = guest_alloc(fuzz_qos_alloc, len);
        if (!(write & 1)) {
            size_t have = MIN(len, *size);

            qtest_memwrite(s, addr[n], *data, have);
            *data += have;
            *size -= have;
        }
        if (ind) {
            qvring_indirect_desc_add(dev, s, ind, addr[n], len, write & 1);
        } else {
            uint32_t idx = qvirtqueue_add(s, vq, addr[n], len, write & 1,
                                          i + 1 < ndesc);
            if (i == 0) {
                head = idx;
            }
        }
        n++;
    }
    if (!n) {
        return;
    }
    if (ind) {
        /* a short record leaves the table's tail unused: end the chain */
        ind->elem = ind->index;
        head = qvirtqueue_add_indirect(s, vq, ind);
    }
    qvirtqueue_kick(s, dev, vq, head);
    flush_events(s);
    qvirtqueue_reset_pool(vq);
    for (int i = 0; i < n; i++) {
        guest_free(fuzz_qos_alloc, addr[i]);
    }
    if (ind) {
        guest_free(fuzz_qos_alloc, ind->desc);
        g_free(ind);
    }
}

static void virtio_desk_fuzz(QTestState *s, const unsigned char *data,
                             size_t size)
{
    QVirtioDesk *desk = fuzz_qos_obj;
    QVirtioDevice *dev = desk->vdev;
    QVirtQueue *vq[4];
    uint64_t features;
    uint8_t queue, ndesc;

    /*
     * Each run starts from a device reset (which frees every resource and
     * clears a broken state), not a machine reset: the latter would also
     * unmap the PCI BARs that libqos mapped once in pre_fuzz.
     */
    qvirtio_start_device(dev);
    features = qvirtio_get_features(dev);
    features &= ~(QVIRTIO_F_BAD_FEATURE | (1ull << VIRTIO_RING_F_EVENT_IDX));
    qvirtio_set_features(dev, features);
    for (int i = 0; i < 4; i++) {
        vq[i] = qvirtqueue_setup(dev, fuzz_qos_alloc, i);
    }
    qvirtio_set_driver_ok(dev);

    while (take(&data, &size, &queue, 1) && take(&data, &size, &ndesc, 1)) {
        queue %= 6;
        if (queue == 3) {
            virtio_desk_fuzz_input(ndesc);
            flush_events(s);
            continue;
        }
        if (queue == 5) {
            /* the console of head ndesc % 16; F_WATCH's pull, if any */
            graphic_hw_update(qemu_console_lookup_by_index(ndesc % 16));
            flush_events(s);
            continue;
        }
        virtio_desk_fuzz_chain(s, dev, vq[queue == 4 ? 3 : queue], ndesc,
                               &data, &size);
    }
    flush_events(s);
    for (int i = 0; i < 4; i++) {
        qvirtqueue_cleanup(dev->bus, vq[i], fuzz_qos_alloc);
    }
}

static void virtio_desk_pre_fuzz(QTestState *s)
{
    qos_init_path(s);
}

static void register_virtio_desk_fuzz_targets(void)
{
    fuzz_add_qos_target(&(FuzzTarget){
                .name = "virtio-desk-fuzz",
                .description = "Fuzz virtio-desk with structured requests on "
                               "its control, event, status and cursor queues",
                .pre_fuzz = &virtio_desk_pre_fuzz,
                .fuzz = virtio_desk_fuzz,},
                "virtio-desk",
                NULL);
}

fuzz_target_init(register_virtio_desk_fuzz_targets);
