/*
 * QTest for virtio-desk-pci: the virtio transport as the guest can abuse it,
 * descriptor chains the virtio core rejects and the configuration space.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qemu/range.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "qobject/qdict.h"
#include "libqos/qgraph.h"
#include "libqos/pci.h"
#include "libqos/virtio-desk-client.h"
#include "libqos/virtio-desk-vnc.h"
#include "standard-headers/linux/input-event-codes.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "standard-headers/linux/virtio_ring.h"

#define CFG_WORDS (sizeof(struct virtio_desk_config) / 4)
#define INFO_LEN sizeof(struct virtio_desk_resp_display_info)

/* --- device state as the guest and QMP see it ----------------------------- */

static uint8_t status(QDesk *d)
{
    return d->vdev->bus->get_status(d->vdev);
}

/* Read, and so clear, the ISR (qdesk does not enable MSI-X). */
static uint8_t isr(QDesk *d)
{
    QVirtioPCIDevice *v = &d->pci->pci_vdev;

    return qpci_io_readb(v->pdev, v->bar, v->isr_cfg_offset);
}

/* Also a QMP round trip: QEMU is alive and its main loop has run. */
static bool broken(QDesk *d)
{
    QDict *resp = qtest_qmp_assert_success_ref(d->qts,
        "{'execute': 'x-query-virtio-status', 'arguments': {'path': %s}}",
        "/machine/peripheral/" QVIRTIO_DESK_ID "/virtio-backend");
    bool ret = qdict_get_bool(resp, "broken");

    qobject_unref(resp);
    return ret;
}

static uint16_t used_idx(QDesk *d, QVirtQueue *vq)
{
    return qtest_readw(d->qts, vq->used + offsetof(struct vring_used, idx));
}

/* Virtio reset, then the driver's initialization again. */
static void restart(QDesk *d, void *obj)
{
    QGuestAllocator *alloc = d->alloc;

    qdesk_stop(d);
    qvirtio_start_device(d->vdev);
    *d = qdesk_start(obj, alloc);
    g_assert_cmphex(status(d), ==, VIRTIO_CONFIG_S_ACKNOWLEDGE |
                    VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
                    VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_false(broken(d));
}

/* Each of the three queues serves a valid request. */
static void assert_queues_work(QDesk *d)
{
    struct virtio_desk_input_event led = {
        .device = cpu_to_le16(VIRTIO_DESK_INPUT_KEYBOARD),
        .type = cpu_to_le16(EV_LED),
        .code = cpu_to_le16(LED_NUML),
    };
    struct virtio_desk_input_event ev[2];

    qdesk_assert_alive(d);
    g_assert_cmphex(qdesk_create(d, 1, VIRTIO_DESK_FORMAT_XRGB8888, 8, 8), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_destroy(d, 1), ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_status_send(d, &led, sizeof(led)), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_event_post(d, 2, sizeof(ev[0]));
    qdesk_send_key(d->qts, "b", true);
    qdesk_event_read(d, 2, ev, NULL);
    g_assert_cmpuint(le16_to_cpu(ev[0].type), ==, EV_KEY);
    g_assert_cmpuint(le16_to_cpu(ev[0].code), ==, KEY_B);
    g_assert_cmpuint(le16_to_cpu(ev[1].type), ==, EV_SYN);
}

/* --- what QEMU prints ----------------------------------------------------- */

/* QEMU's stderr, where virtio_error() reports a broken chain. */
static char *qemu_stderr;

static void release_stderr(gpointer path)
{
    g_autofree char *log = NULL;

    /* pass it on, as if it had not been captured */
    if (g_file_get_contents(path, &log, NULL, NULL)) {
        fputs(log, stderr);
    }
    unlink(path);
    g_free(path);
}

/* QOSGraphTestOptions.before: send QEMU's stderr to a file. */
static void *capture_stderr(GString *cmd_line, void *arg)
{
    int fd = g_file_open_tmp("virtio-desk-stderr-XXXXXX", &qemu_stderr, NULL);

    g_assert(fd >= 0);
    close(fd);
    /* libqtest starts QEMU through the shell */
    g_string_append_printf(cmd_line, " 2>%s", qemu_stderr);
    g_test_queue_destroy(release_stderr, qemu_stderr);
    return arg;
}

/* QEMU has printed error_report(@msg). */
static void assert_reported(const char *msg)
{
    g_autofree char *log = NULL;
    g_autofree char *line = g_strdup_printf("%s\n", msg);

    g_assert(g_file_get_contents(qemu_stderr, &log, NULL, NULL));
    /*
     * The program name prefixes it, except during a QMP command (queue 1
     * is popped when input-send-event delivers an event).  On failure,
     * show all of it.
     */
    g_assert_cmpstr(strstr(log, line) ? line : log, ==, line);
}

/* --- descriptor chains ---------------------------------------------------- */

/* Addresses in case tables, resolved when the descriptors are written. */
enum {
    REQ = 1,    /* GET_DISPLAY_INFO, 8 bytes, then 8 zero bytes */
    RESP,       /* INFO_LEN bytes */
    TABLE,      /* room for an indirect table of 1025 entries */
    HOLE,       /* the first byte after guest RAM: nothing is mapped there */
    RAM_TAIL,   /* 16 bytes before HOLE */
};

#define N VRING_DESC_F_NEXT
#define W VRING_DESC_F_WRITE
#define I VRING_DESC_F_INDIRECT

typedef struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
} Desc;

typedef struct ChainCase {
    const char *name;
    int queue;
    uint16_t head;          /* what the avail ring offers */
    Desc ring[2];           /* descriptors 0 and 1 of the queue */
    Desc table[2];          /* the indirect table at TABLE */
    unsigned segments;      /* or a table of REQ, 1-byte pads, RESP */
    const char *error;      /* what virtio_error() says; NULL: accepted */
    uint32_t resp;          /* if accepted: the response type */
} ChainCase;

typedef struct Bufs {
    uint64_t req, resp, table, ram_end;
} Bufs;

static Bufs bufs_new(QDesk *d)
{
    struct virtio_desk_ctrl_hdr req[2] = {
        { .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO) },
    };
    QDict *mem = qtest_qmp_assert_success_ref(d->qts,
        "{'execute': 'query-memory-size-summary'}");
    Bufs b = {
        .req = guest_alloc(d->alloc, sizeof(req)),
        .resp = guest_alloc(d->alloc, INFO_LEN),
        .table = guest_alloc(d->alloc, 1025 * sizeof(struct vring_desc)),
        .ram_end = qdict_get_int(mem, "base-memory"),
    };

    qobject_unref(mem);
    /* pc: all of it below the PCI hole, so RAM is [0, ram_end) */
    g_assert_cmphex(b.ram_end, <, 0xb0000000);
    qtest_memwrite(d->qts, b.req, req, sizeof(req));
    return b;
}

static void bufs_free(QDesk *d, Bufs *b)
{
    guest_free(d->alloc, b->req);
    guest_free(d->alloc, b->resp);
    guest_free(d->alloc, b->table);
}

/*
 * Write descriptors @first.. of the table at @at.  Those without NEXT link
 * to the following one all the same, as qvring_init() left them: libqos
 * relies on that when it reuses the ring.
 */
static void write_descs(QDesk *d, uint64_t at, unsigned first, const Bufs *b,
                        const Desc *desc, unsigned n)
{
    const uint64_t addr[] = {
        [REQ] = b->req, [RESP] = b->resp, [TABLE] = b->table,
        [HOLE] = b->ram_end, [RAM_TAIL] = b->ram_end - 16,
    };
    g_autofree struct vring_desc *v = g_new(struct vring_desc, n);

    for (unsigned i = 0; i < n; i++) {
        v[i] = (struct vring_desc) {
            .addr = cpu_to_le64(addr[desc[i].addr]),
            .len = cpu_to_le32(desc[i].len),
            .flags = cpu_to_le16(desc[i].flags),
            .next = cpu_to_le16(desc[i].flags & N ? desc[i].next :
                                first + i + 1),
        };
    }
    qtest_memwrite(d->qts, at + first * sizeof(*v), v, n * sizeof(*v));
}

static void write_case(QDesk *d, QVirtQueue *vq, const Bufs *b,
                       const ChainCase *c)
{
    write_descs(d, vq->desc, 0, b, c->ring, 2);
    if (c->segments) {
        g_autofree Desc *segs = g_new(Desc, c->segments);

        for (unsigned i = 0; i < c->segments; i++) {
            segs[i] = (Desc) { REQ, i ? 1 : 8, N, i + 1 };
        }
        segs[c->segments - 1] = (Desc) { RESP, INFO_LEN, W };
        write_descs(d, b->table, 0, b, segs, c->segments);
    } else {
        write_descs(d, b->table, 0, b, c->table, 2);
    }
}

/* A valid GET_DISPLAY_INFO on the control queue, descriptors 8 and 9. */
static void offer_valid_request(QDesk *d, const Bufs *b)
{
    static const Desc valid[] = { { REQ, 8, N, 9 }, { RESP, INFO_LEN, W } };

    write_descs(d, d->vq->desc, 8, b, valid, 2);
    qvirtqueue_kick(d->qts, d->vdev, d->vq, 8);
}

static void expect_rejected(QDesk *d, QVirtQueue *vq, const Bufs *b,
                            const ChainCase *c)
{
    uint16_t used = used_idx(d, vq);

    isr(d);                             /* clear it */
    qvirtqueue_kick(d->qts, d->vdev, vq, c->head);
    if (vq == d->event_vq) {
        /* the device looks at event buffers only to deliver an event */
        g_assert_cmphex(status(d) & VIRTIO_CONFIG_S_NEEDS_RESET, ==, 0);
        qdesk_send_key(d->qts, "a", true);
    }
    g_assert_cmphex(status(d) & VIRTIO_CONFIG_S_NEEDS_RESET, ==,
                    VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmphex(isr(d) & VIRTIO_PCI_ISR_CONFIG, ==, VIRTIO_PCI_ISR_CONFIG);
    assert_reported(c->error);

    /* until a reset the device serves nothing, not even a valid request */
    offer_valid_request(d, b);
    qtest_clock_step(d->qts, 100 * 1000 * 1000);
    g_assert_true(broken(d));
    g_assert_cmpuint(used_idx(d, vq), ==, used);
    g_assert_cmpuint(used_idx(d, d->vq), ==, 0);
}

static void expect_accepted(QDesk *d, QVirtQueue *vq, const Bufs *b,
                            const ChainCase *c)
{
    uint32_t len;

    qvirtqueue_kick(d->qts, d->vdev, vq, c->head);
    qvirtio_wait_used_elem(d->qts, d->vdev, vq, c->head, &len,
                           QDESK_TIMEOUT_US);
    g_assert_cmphex(qtest_readl(d->qts, b->resp), ==, c->resp);
    g_assert_cmpuint(len, ==,
                     c->resp == VIRTIO_DESK_RESP_OK_DISPLAY_INFO ? INFO_LEN :
                     sizeof(struct virtio_desk_ctrl_hdr));
    g_assert_cmphex(status(d) & VIRTIO_CONFIG_S_NEEDS_RESET, ==, 0);
    g_assert_false(broken(d));
}

/*
 * The chain is rejected by the virtio core, with exactly the spec's message,
 * or accepted; either way the device works afterwards (after a reset if the
 * core flagged it).
 */
static void test_chain(void *obj, void *data, QGuestAllocator *alloc)
{
    const ChainCase *c = data;
    QDesk d = qdesk_start(obj, alloc);
    QVirtQueue *vqs[] = { d.vq, d.event_vq, d.status_vq };
    Bufs b = bufs_new(&d);

    write_case(&d, vqs[c->queue], &b, c);
    if (c->error) {
        expect_rejected(&d, vqs[c->queue], &b, c);
        restart(&d, obj);
    } else {
        expect_accepted(&d, vqs[c->queue], &b, c);
    }
    assert_queues_work(&d);
    bufs_free(&d, &b);
    qdesk_stop(&d);
}

#define CTRL VIRTIO_DESK_QUEUE_CONTROL
#define TOO_MANY "virtio: too many write descriptors in indirect table"

static const ChainCase chain_cases[] = {
    { "write-then-read", CTRL,
      .ring = { { RESP, INFO_LEN, W | N, 1 }, { REQ, 8 } },
      .error = "Incorrect order for descriptors" },
    { "event-write-then-read", VIRTIO_DESK_QUEUE_EVENT,
      .ring = { { RESP, 16, W | N, 1 }, { REQ, 8 } },
      .error = "Incorrect order for descriptors" },
    { "status-write-then-read", VIRTIO_DESK_QUEUE_STATUS,
      .ring = { { RESP, 8, W | N, 1 }, { REQ, 16 } },
      .error = "Incorrect order for descriptors" },
    /*
     * A 1024-entry ring (QEMU 10.0.13 makes every ring that size) fills
     * the 1024 iovecs before the loop check (more entries than the ring
     * has) can trigger: the message is misleading.
     */
    { "loop", CTRL,
      .ring = { { REQ, 8, N, 1 }, { REQ, 8, N, 0 } },
      .error = TOO_MANY },
    { "indirect-loop", CTRL,
      .ring = { { TABLE, 32, I } },
      .table = { { REQ, 8, N, 1 }, { REQ, 8, N, 0 } },
      .error = "Looped descriptor" },
    { "next-out-of-ring", CTRL,
      .ring = { { REQ, 8, N, 1024 } },
      .error = "Desc next is 1024" },
    { "indirect-next-out-of-table", CTRL,
      .ring = { { TABLE, 32, I } },
      .table = { { REQ, 8, N, 2 }, { RESP, INFO_LEN, W } },
      .error = "Desc next is 2" },
    { "avail-head-out-of-ring", CTRL, .head = 1024,
      .error = "Guest says index 1024 is available" },
    { "zero-length", CTRL,
      .ring = { { REQ, 0, N, 1 }, { RESP, INFO_LEN, W } },
      .error = "virtio: zero sized buffers are not allowed" },
    /* not RAM: bounced, and the bounce buffer holds 4 KiB */
    { "outside-ram", CTRL,
      .ring = { { HOLE, 4097, N, 1 }, { RESP, INFO_LEN, W } },
      .error = "virtio: bogus descriptor or out of resources" },
    /* ... so 4 KiB of nothing are accepted: they read as zeros */
    { "outside-ram-bounced", CTRL,
      .ring = { { HOLE, 4096, N, 1 }, { RESP, INFO_LEN, W } },
      .resp = VIRTIO_DESK_RESP_ERR_INVALID_COMMAND },
    { "indirect-empty", CTRL,
      .ring = { { TABLE, 0, I } },
      .error = "Invalid size for indirect buffer table" },
    { "indirect-misaligned", CTRL,
      .ring = { { TABLE, 24, I } },
      .error = "Invalid size for indirect buffer table" },
    { "indirect-off-ram-end", CTRL,
      .ring = { { RAM_TAIL, 32, I } },
      .error = "Cannot map indirect buffer" },
    /* mappable all the same (it reads as zeros): entry 0 has length 0 */
    { "indirect-outside-ram", CTRL,
      .ring = { { HOLE, 32, I } },
      .error = "virtio: zero sized buffers are not allowed" },
    /* the split ring ignores INDIRECT inside a table: a plain buffer */
    { "indirect-nested", CTRL,
      .ring = { { TABLE, 32, I } },
      .table = { { REQ, 16, I | N, 1 }, { RESP, INFO_LEN, W } },
      .resp = VIRTIO_DESK_RESP_OK_DISPLAY_INFO },
    /* QEMU's 1024 segments (twice max_segments), the response included */
    { "max-segments", CTRL,
      .ring = { { TABLE, 1024 * 16, I } }, .segments = 1024,
      .resp = VIRTIO_DESK_RESP_OK_DISPLAY_INFO },
    /* the 1025th is the (writable) response */
    { "too-many-segments", CTRL,
      .ring = { { TABLE, 1025 * 16, I } }, .segments = 1025,
      .error = TOO_MANY },
};

/* --- descriptors across guest RAM regions --------------------------------- */

/* Guest RAM in two regions (two NUMA nodes' memory), the second from here. */
#define RAM_SPLIT (64 * MiB)

/* QOSGraphTestOptions.before: RAM_SPLIT, and capture_stderr(). */
static void *two_ram_regions(GString *cmd_line, void *arg)
{
    g_string_append(cmd_line, " -m 128M"
                    " -object memory-backend-ram,id=ram0,size=64M"
                    " -object memory-backend-ram,id=ram1,size=64M"
                    " -numa node,memdev=ram0 -numa node,memdev=ram1");
    return capture_stderr(cmd_line, arg);
}

typedef struct CrossCase {
    const char *name;
    unsigned descs;         /* GET_DISPLAY_INFO: header, 1-byte pads, answer */
    unsigned crossing;      /* the last ones cross RAM_SPLIT */
    bool rejected;
} CrossCase;

/*
 * The virtio core maps a descriptor that crosses from one RAM region into
 * another as two segments, and a chain as at most 1024 (the device never
 * sees a chain it failed).  max_segments leaves room for that: a chain of
 * max_segments descriptors that all cross works; 1024 descriptors of which
 * one crosses break the device, a virtio_error.
 */
static void test_crossing(void *obj, void *data, QGuestAllocator *alloc)
{
    const CrossCase *c = data;
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_ctrl_hdr req = {
        .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO),
    };
    /* the allocator's memory, RAM_SPLIT inside */
    uint64_t span = guest_alloc(alloc, RAM_SPLIT);
    uint64_t table = guest_alloc(alloc, c->descs * sizeof(struct vring_desc));
    g_autofree struct vring_desc *desc = g_new(struct vring_desc, c->descs);
    uint64_t plain = span, resp;
    uint32_t len;

    g_assert_cmphex(span + 4096, <, RAM_SPLIT);
    g_assert_cmphex(span + RAM_SPLIT, >, RAM_SPLIT + 4096);
    g_assert_cmpuint(c->crossing, >=, 1);
    if (c->descs == c->crossing) {
        g_assert_cmpuint(c->descs, ==,
                         qvirtio_config_readl(d.vdev, QDESK_CFG(max_segments)));
    }
    /* the answer crosses half way, and so does the header if it crosses */
    resp = c->crossing == c->descs ? RAM_SPLIT - INFO_LEN / 2 : plain + 64;
    qtest_memwrite(d.qts, c->crossing == c->descs ? RAM_SPLIT - 4 : plain,
                   &req, sizeof(req));
    for (unsigned i = 0; i < c->descs; i++) {
        bool cross = i >= c->descs - c->crossing;
        uint64_t addr = cross ? RAM_SPLIT - 1 : plain;
        uint32_t n = cross ? 2 : 1;

        if (i == 0) {
            addr = cross ? RAM_SPLIT - 4 : plain;
            n = sizeof(req);
        } else if (i == c->descs - 1) {
            addr = cross ? RAM_SPLIT - INFO_LEN / 2 : resp;
            n = INFO_LEN;
        }
        desc[i] = (struct vring_desc) {
            .addr = cpu_to_le64(addr),
            .len = cpu_to_le32(n),
            .flags = cpu_to_le16(i + 1 < c->descs ? VRING_DESC_F_NEXT :
                                 VRING_DESC_F_WRITE),
            .next = cpu_to_le16(i + 1),
        };
    }
    qtest_memwrite(d.qts, table, desc, c->descs * sizeof(*desc));
    desc[0] = (struct vring_desc) {
        .addr = cpu_to_le64(table),
        .len = cpu_to_le32(c->descs * sizeof(*desc)),
        .flags = cpu_to_le16(VRING_DESC_F_INDIRECT),
        .next = cpu_to_le16(1),
    };
    qtest_memwrite(d.qts, d.vq->desc, desc, sizeof(*desc));
    qvirtqueue_kick(d.qts, d.vdev, d.vq, 0);

    if (c->rejected) {
        g_assert_cmphex(status(&d) & VIRTIO_CONFIG_S_NEEDS_RESET, ==,
                        VIRTIO_CONFIG_S_NEEDS_RESET);
        assert_reported(TOO_MANY);
        g_assert_true(broken(&d));
        restart(&d, obj);
    } else {
        qvirtio_wait_used_elem(d.qts, d.vdev, d.vq, 0, &len,
                               QDESK_TIMEOUT_US);
        g_assert_cmpuint(len, ==, INFO_LEN);
        g_assert_cmphex(qtest_readl(d.qts, resp), ==,
                        VIRTIO_DESK_RESP_OK_DISPLAY_INFO);
        qvirtqueue_reset_pool(d.vq);
        g_assert_false(broken(&d));
    }
    guest_free(alloc, span);
    guest_free(alloc, table);
    assert_queues_work(&d);
    qdesk_stop(&d);
}

static const CrossCase cross_cases[] = {
    /* 2 x 512 segments: the most QEMU maps */
    { "ram-regions-max-segments", 512, 512 },
    /* what max_segments said before: 1025 segments */
    { "ram-regions-1024-descriptors", 1024, 1, true },
};

/* --- a full ring ------------------------------------------------------------ */

/* The device's VIRTIO_DESK_BATCH: the requests one handler run takes. */
#define BATCH 64

/* QOSGraphTestOptions.before: capture_stderr(), tracing batch ends too. */
static void *capture_yields(GString *cmd_line, void *arg)
{
    g_string_append(cmd_line, " -trace virtio_desk_queue_yield");
    return capture_stderr(cmd_line, arg);
}

/* How many times QEMU traced a run of queue @queue that took @handled. */
static unsigned count_yields(int queue, unsigned handled)
{
    g_autofree char *log = NULL;
    g_autofree char *line = g_strdup_printf(
        "virtio_desk_queue_yield queue %d: %u requests handled", queue,
        handled);
    unsigned n = 0;

    g_assert(g_file_get_contents(qemu_stderr, &log, NULL, NULL));
    for (const char *p = log; (p = strstr(p, line)); p += strlen(line)) {
        n++;
    }
    return n;
}

typedef struct BatchCase {
    const char *name;
    int queue;
    unsigned requests;      /* offered at once, with one notification */
    unsigned bad_at;        /* if not 0, request bad_at has length 0 */
} BatchCase;

/* One valid request of the queue's kind, and the length of its answer. */
static size_t batch_request(int queue, uint8_t *req, uint32_t *resp_len)
{
    struct virtio_desk_ctrl_hdr info = {
        .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO),
    };
    struct virtio_desk_input_event led = {
        .device = cpu_to_le16(VIRTIO_DESK_INPUT_KEYBOARD),
        .type = cpu_to_le16(EV_LED),
        .code = cpu_to_le16(LED_CAPSL),
    };
    struct virtio_desk_cursor_pos move = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_CURSOR_MOVE),
        .x = cpu_to_le32(10),
        .y = cpu_to_le32(20),
    };

    *resp_len = sizeof(struct virtio_desk_ctrl_hdr);
    switch (queue) {
    case VIRTIO_DESK_QUEUE_CONTROL:
        *resp_len = INFO_LEN;
        memcpy(req, &info, sizeof(info));
        return sizeof(info);
    case VIRTIO_DESK_QUEUE_STATUS:
        memcpy(req, &led, sizeof(led));
        return sizeof(led);
    default:
        memcpy(req, &move, sizeof(move));
        return sizeof(move);
    }
}

/*
 * @c->requests requests, two descriptors each (request, answer), in the
 * available ring at once and one notification: every one is answered, in
 * runs of BATCH.  With @c->bad_at the virtio core breaks the device there:
 * what came before is answered, nothing after, and no bottom half spins on
 * the requests a broken device never pops.
 */
static void test_batch(void *obj, void *data, QGuestAllocator *alloc)
{
    const BatchCase *c = data;
    QDesk d = qdesk_start(obj, alloc);
    QVirtQueue *vqs[] = { d.vq, d.event_vq, d.status_vq, d.cursor_vq };
    QVirtQueue *vq = vqs[c->queue];
    unsigned answered = c->bad_at ? c->bad_at : c->requests;
    uint8_t req[64];
    uint32_t resp_len;
    size_t req_len = batch_request(c->queue, req, &resp_len);
    uint64_t req_addr = guest_alloc(alloc, req_len);
    uint64_t resp = guest_alloc(alloc, c->requests * resp_len);
    g_autofree struct vring_desc *desc =
        g_new(struct vring_desc, 2 * c->requests);
    uint16_t avail = qtest_readw(d.qts, vq->avail + 2);
    gint64 start = g_get_monotonic_time();

    g_assert_cmpuint(2 * c->requests, <=, vq->size);
    qtest_memwrite(d.qts, req_addr, req, req_len);
    qtest_memset(d.qts, resp, 0xa5, c->requests * resp_len);
    for (unsigned i = 0; i < c->requests; i++) {
        desc[2 * i] = (struct vring_desc) {
            .addr = cpu_to_le64(req_addr),
            .len = cpu_to_le32(i == c->bad_at && c->bad_at ? 0 : req_len),
            .flags = cpu_to_le16(VRING_DESC_F_NEXT),
            .next = cpu_to_le16(2 * i + 1),
        };
        /* as qvring_init() left it: libqos relies on that */
        desc[2 * i + 1] = (struct vring_desc) {
            .addr = cpu_to_le64(resp + i * resp_len),
            .len = cpu_to_le32(resp_len),
            .flags = cpu_to_le16(VRING_DESC_F_WRITE),
            .next = cpu_to_le16(2 * i + 2),
        };
        qtest_writew(d.qts, vq->avail + 4 + 2 * ((avail + i) % vq->size),
                     2 * i);
    }
    qtest_memwrite(d.qts, vq->desc, desc,
                   2 * c->requests * sizeof(*desc));
    qtest_writew(d.qts, vq->avail + 2, avail + c->requests);
    d.vdev->bus->virtqueue_kick(d.vdev, vq);

    while (used_idx(&d, vq) != (uint16_t)(vq->last_used_idx + answered)) {
        g_assert(g_get_monotonic_time() - start <= QDESK_TIMEOUT_US);
        g_usleep(1000);
    }
    for (unsigned i = 0; i < c->requests; i++) {
        uint32_t want = c->queue == VIRTIO_DESK_QUEUE_CONTROL ?
                        VIRTIO_DESK_RESP_OK_DISPLAY_INFO :
                        VIRTIO_DESK_RESP_OK_NODATA;

        g_assert_cmphex(qtest_readl(d.qts, resp + i * resp_len), ==,
                        i < answered ? want : 0xa5a5a5a5);
    }
    /* a run of BATCH, then one for each further BATCH that is left */
    g_assert_cmpuint(count_yields(c->queue, BATCH), ==,
                     (answered - 1) / BATCH);
    vq->last_used_idx += answered;
    guest_free(alloc, req_addr);
    guest_free(alloc, resp);

    if (c->bad_at) {
        /* QMP answers: the main loop is not stuck on the queue */
        g_assert_true(broken(&d));
        assert_reported("virtio: zero sized buffers are not allowed");
        qtest_clock_step(d.qts, 100 * 1000 * 1000);
        g_assert_cmpuint(used_idx(&d, vq), ==, vq->last_used_idx);
        restart(&d, obj);
    }
    assert_queues_work(&d);
    qdesk_stop(&d);
}

static const BatchCase batch_cases[] = {
    { "control", VIRTIO_DESK_QUEUE_CONTROL, 200 },
    { "status", VIRTIO_DESK_QUEUE_STATUS, 200 },
    { "cursor", VIRTIO_DESK_QUEUE_CURSOR, 200 },
    /* the first bottom-half run stops at the bad one, 6 requests in */
    { "control-broken", VIRTIO_DESK_QUEUE_CONTROL, 100, BATCH + 6 },
    { "cursor-broken", VIRTIO_DESK_QUEUE_CURSOR, 100, BATCH + 6 },
};

/* --- interrupts ------------------------------------------------------------ */

/* The device's VIRTIO_DESK_PCI_VECTORS: one a queue, one for the config. */
#define VECTORS 5

/*
 * An MSI-X vector for each queue and one for configuration changes, as
 * virtio-gpu-pci has; every queue signals through its own vector.  (The
 * other tests leave MSI-X disabled and get the legacy interrupt and ISR.)
 */
static void test_msix(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioDeskPCI *pci = obj;
    QVirtioPCIDevice *v = &pci->pci_vdev;
    QDesk d;

    qpci_device_enable(v->pdev);
    g_assert_cmpuint(qpci_msix_table_size(v->pdev), ==, VECTORS);
    qpci_msix_enable(v->pdev);
    qvirtio_pci_set_msix_configuration_vector(v, alloc, 0);
    d = qdesk_start(obj, alloc);
    {
        QVirtQueue *vqs[] = { d.vq, d.event_vq, d.status_vq, d.cursor_vq };

        for (int i = 0; i < ARRAY_SIZE(vqs); i++) {
            qvirtqueue_pci_msix_setup(v, container_of(vqs[i], QVirtQueuePCI,
                                                      vq), alloc, i + 1);
        }
    }
    assert_queues_work(&d);
    g_assert_cmphex(qdesk_cursor_move(&d, 0, 1, 2, true), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_false(broken(&d));
    qdesk_stop(&d);
    qpci_msix_disable(v->pdev);
}

/* --- x-stall: a host that does not serve the control queue ---------------- */

static void set_stall(QDesk *d, bool on)
{
    qtest_qmp_assert_success(d->qts,
        "{'execute': 'qom-set', 'arguments': {'path': %s, "
        "'property': 'x-stall', 'value': %i}}",
        "/machine/peripheral/" QVIRTIO_DESK_ID "/virtio-backend", on);
}

/*
 * While x-stall is set, a request stays in the ring unanswered however
 * long the main loop runs; cleared, it is answered, and so are the ones
 * after it (the guest tests stall the driver's watchdog with it).
 */
static void test_stall(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_ctrl_hdr req = {
        .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO),
    };
    struct virtio_desk_resp_display_info resp;
    uint64_t req_addr = guest_alloc(alloc, sizeof(req));
    uint64_t resp_addr = guest_alloc(alloc, sizeof(resp));
    uint16_t before = used_idx(&d, d.vq);
    uint32_t head, len;

    set_stall(&d, true);
    qtest_memwrite(d.qts, req_addr, &req, sizeof(req));
    head = qvirtqueue_add(d.qts, d.vq, req_addr, sizeof(req), false, true);
    qvirtqueue_add(d.qts, d.vq, resp_addr, sizeof(resp), true, false);
    qvirtqueue_kick(d.qts, d.vdev, d.vq, head);
    for (int i = 0; i < 20; i++) {
        qtest_clock_step(d.qts, 100 * 1000 * 1000);
        g_assert_false(broken(&d));
        g_assert_cmpuint(used_idx(&d, d.vq), ==, before);
    }
    set_stall(&d, false);
    qvirtio_wait_used_elem(d.qts, d.vdev, d.vq, head, &len, QDESK_TIMEOUT_US);
    qvirtqueue_reset_pool(d.vq);
    g_assert_cmpuint(len, ==, sizeof(resp));
    qtest_memread(d.qts, resp_addr, &resp, sizeof(resp));
    g_assert_cmphex(le32_to_cpu(resp.hdr.type), ==,
                    VIRTIO_DESK_RESP_OK_DISPLAY_INFO);
    guest_free(alloc, req_addr);
    guest_free(alloc, resp_addr);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/* --- configuration space -------------------------------------------------- */

static void read_config(QDesk *d, uint32_t *words)
{
    for (int i = 0; i < CFG_WORDS; i++) {
        words[i] = qvirtio_config_readl(d->vdev, i * 4);
    }
}

/* Write @byte to every byte of every RO field, with each access size. */
static void write_ro_fields(QDesk *d, uint8_t byte)
{
    QVirtioPCIDevice *v = &d->pci->pci_vdev;
    uint64_t val = byte * 0x0101010101010101ull;

    for (unsigned size = 1; size <= 8; size *= 2) {
        for (unsigned off = 0; off < sizeof(struct virtio_desk_config);
             off += size) {
            uint64_t at = v->device_cfg_offset + off;

            if (ranges_overlap(off, size, QDESK_CFG(events_clear), 4)) {
                continue;
            }
            switch (size) {
            case 1:
                qpci_io_writeb(v->pdev, v->bar, at, val);
                break;
            case 2:
                qpci_io_writew(v->pdev, v->bar, at, val);
                break;
            case 4:
                qpci_io_writel(v->pdev, v->bar, at, val);
                break;
            default:
                /* the region takes 4 bytes at most: QEMU splits it */
                qpci_io_writeq(v->pdev, v->bar, at, val);
                break;
            }
        }
    }
}

/* Every byte of the RO fields ignores 8-, 16-, 32- and 64-bit writes. */
static void test_config_readonly_all(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    uint32_t before[CFG_WORDS], after[CFG_WORDS];

    read_config(&d, before);
    write_ro_fields(&d, 0x00);
    write_ro_fields(&d, 0xff);
    read_config(&d, after);
    for (int i = 0; i < CFG_WORDS; i++) {
        g_assert_cmphex(after[i], ==, before[i]);
    }
    g_assert_cmphex(qvirtio_config_readq(d.vdev, QDESK_CFG(max_hostmem)), ==,
                    256 * MiB);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

#ifdef CONFIG_VNC

/* --- a VNC client that asks for a new desktop size ------------------------ */

/* RFB 3.8 up to ServerInit, then announce ExtendedDesktopSize. */
static int vnc_connect(const char *sock)
{
    static const int32_t encodings[] = { QDESK_VNC_EXTENDED_DESKTOP_SIZE };

    return qdesk_vnc_connect(sock, encodings, ARRAY_SIZE(encodings));
}

/* SetDesktopSize with one screen: QEMU calls the console's ui_info. */
static void vnc_set_desktop_size(int fd, uint16_t width, uint16_t height)
{
    uint8_t msg[8 + 16] = { 251 };

    stw_be_p(msg + 2, width);
    stw_be_p(msg + 4, height);
    msg[6] = 1;
    stw_be_p(msg + 8 + 8, width);
    stw_be_p(msg + 8 + 10, height);
    qdesk_vnc_write(fd, msg, sizeof(msg));
}

/* Screendump of output 0: its size, and whether a pixel has colour @rgb. */
static bool screen_shows(QDesk *d, const uint8_t *rgb, uint32_t *width,
                         uint32_t *height)
{
    QDeskImage img = qdesk_screendump(d->qts, 0);
    bool found = false;

    *width = img.width;
    *height = img.height;
    for (size_t i = 0; i < (size_t)img.width * img.height && !found; i++) {
        found = !memcmp(img.rgb + i * 3, rgb, 3);
    }
    g_free(img.rgb);
    return found;
}

/* GET_DISPLAY_INFO: output 0 is connected, with this preferred size. */
static void assert_preferred(QDesk *d, uint32_t width, uint32_t height)
{
    struct virtio_desk_ctrl_hdr req = {
        .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO),
    };
    struct virtio_desk_resp_display_info info;
    QDeskSeg seg = { &req, sizeof(req) };

    g_assert_cmpuint(qdesk_submit(d, &seg, 1, &info, sizeof(info), false), ==,
                     sizeof(info));
    g_assert_cmphex(le32_to_cpu(info.hdr.type), ==,
                    VIRTIO_DESK_RESP_OK_DISPLAY_INFO);
    g_assert_cmpuint(le32_to_cpu(info.outputs[0].width), ==, width);
    g_assert_cmpuint(le32_to_cpu(info.outputs[0].height), ==, height);
    g_assert_cmpuint(le32_to_cpu(info.outputs[0].enabled), ==, 1);
}

/* Output 0 shows a 64x32 resource of one colour. */
static void show_colour(QDesk *d, const uint8_t *rgb)
{
    g_autofree uint32_t *pixels = g_new(uint32_t, 64 * 32);
    struct virtio_desk_xfer_rect r = qdesk_xrect(0, 0, 64, 32, 64 * 4, 0);

    for (int i = 0; i < 64 * 32; i++) {
        pixels[i] = cpu_to_le32(rgb[0] << 16 | rgb[1] << 8 | rgb[2]);
    }
    g_assert_cmphex(qdesk_create(d, 1, VIRTIO_DESK_FORMAT_XRGB8888, 64, 32),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_transfer(d, 1, 1, &r, sizeof(r), pixels,
                                   64 * 32 * 4, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(d, 0, 1, 0, 0, 64, 32), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
}

/*
 * events_read and events_clear, with the display event a VNC client's
 * SetDesktopSize raises; then what a virtio reset does to them.
 */
static void test_config_events(void *obj, void *data, QGuestAllocator *alloc)
{
    static const uint8_t rgb[3] = { 0x12, 0x34, 0x56 };
    QDesk d = qdesk_start(obj, alloc);
    QVirtioPCIDevice *v = &d.pci->pci_vdev;
    uint64_t clear = v->device_cfg_offset + QDESK_CFG(events_clear);
    int vnc = vnc_connect(data);
    uint32_t width, height;

    /* a client that said nothing about its size changes nothing */
    g_assert_cmphex(qvirtio_config_readl(d.vdev, QDESK_CFG(events_read)),
                    ==, 0);
    assert_preferred(&d, 1280, 800);

    isr(&d);
    vnc_set_desktop_size(vnc, 1024, 768);
    qvirtio_wait_config_isr(d.vdev, QDESK_TIMEOUT_US);
    g_assert_cmphex(qvirtio_config_readl(d.vdev, QDESK_CFG(events_read)), ==,
                    VIRTIO_DESK_EVENT_DISPLAY);
    assert_preferred(&d, 1024, 768);

    /* RO fields, and 0 bits of events_clear, leave a pending event alone */
    write_ro_fields(&d, 0x00);
    write_ro_fields(&d, 0xff);
    qpci_io_writel(v->pdev, v->bar, clear, ~VIRTIO_DESK_EVENT_DISPLAY);
    g_assert_cmphex(qvirtio_config_readl(d.vdev, QDESK_CFG(events_read)), ==,
                    VIRTIO_DESK_EVENT_DISPLAY);
    g_assert_cmphex(qvirtio_config_readl(d.vdev, QDESK_CFG(events_clear)),
                    ==, 0);
    qpci_io_writeb(v->pdev, v->bar, clear, VIRTIO_DESK_EVENT_DISPLAY);
    g_assert_cmphex(qvirtio_config_readl(d.vdev, QDESK_CFG(events_read)),
                    ==, 0);

    /*
     * A write to events_clear acts once: a new event, then a write to
     * another field with no config read in between, keeps the event.
     */
    qpci_io_writel(v->pdev, v->bar, clear, VIRTIO_DESK_EVENT_DISPLAY);
    isr(&d);
    vnc_set_desktop_size(vnc, 800, 600);
    qvirtio_wait_config_isr(d.vdev, QDESK_TIMEOUT_US);
    qpci_io_writeb(v->pdev, v->bar,
                   v->device_cfg_offset + QDESK_CFG(num_outputs), 1);
    qpci_io_writeb(v->pdev, v->bar, clear + 1, 0);
    g_assert_cmphex(qvirtio_config_readl(d.vdev, QDESK_CFG(events_read)), ==,
                    VIRTIO_DESK_EVENT_DISPLAY);

    /*
     * Reset clears the event and disables the output: QEMU's placeholder
     * (of the last mode's size) replaces the resource.  The preferred size
     * is the host's and stays.
     */
    show_colour(&d, rgb);
    g_assert_true(screen_shows(&d, rgb, &width, &height));
    g_assert_cmpuint(width, ==, 64);
    g_assert_cmpuint(height, ==, 32);
    restart(&d, obj);
    g_assert_cmphex(qvirtio_config_readl(d.vdev, QDESK_CFG(events_read)),
                    ==, 0);
    g_assert_false(screen_shows(&d, rgb, &width, &height));
    g_assert_cmpuint(width, ==, 64);
    g_assert_cmpuint(height, ==, 32);
    assert_preferred(&d, 800, 600);
    close(vnc);
    qdesk_stop(&d);
}

#endif /* CONFIG_VNC */

static void register_virtio_desk_transport_test(void)
{
    for (int i = 0; i < ARRAY_SIZE(chain_cases); i++) {
        g_autofree char *name = g_strdup_printf("transport-%s",
                                                chain_cases[i].name);

        qos_add_test(name, "virtio-desk-pci", test_chain,
                     &(QOSGraphTestOptions) {
                         .before = capture_stderr,
                         .arg = (void *)&chain_cases[i],
                     });
    }
    for (int i = 0; i < ARRAY_SIZE(cross_cases); i++) {
        g_autofree char *name = g_strdup_printf("transport-%s",
                                                cross_cases[i].name);

        qos_add_test(name, "virtio-desk-pci", test_crossing,
                     &(QOSGraphTestOptions) {
                         .before = two_ram_regions,
                         .arg = (void *)&cross_cases[i],
                     });
    }
    for (int i = 0; i < ARRAY_SIZE(batch_cases); i++) {
        g_autofree char *name = g_strdup_printf("queue-batch-%s",
                                                batch_cases[i].name);

        qos_add_test(name, "virtio-desk-pci", test_batch,
                     &(QOSGraphTestOptions) {
                         .before = capture_yields,
                         .arg = (void *)&batch_cases[i],
                     });
    }
    qos_add_test("msix", "virtio-desk-pci", test_msix, NULL);
    qos_add_test("x-stall", "virtio-desk-pci", test_stall, NULL);
    qos_add_test("msix", "virtio-desk-vga", test_msix, NULL);
    qos_add_test("config-readonly-all", "virtio-desk-pci",
                 test_config_readonly_all, NULL);
#ifdef CONFIG_VNC
    qos_add_test("config-events", "virtio-desk-pci", test_config_events,
                 &(QOSGraphTestOptions) { .before = qdesk_vnc_add });
#endif
}

libqos_init(register_virtio_desk_transport_test);
