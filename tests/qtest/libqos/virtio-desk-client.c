/*
 * virtio-desk protocol client for qtests: the driver side of the control,
 * event, status and cursor queues, QMP input injection and screendumps.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/bswap.h"
#include "qapi/error.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "virtio-desk-client.h"
#include "hw/display/bochs-vbe.h"
#include "standard-headers/linux/virtio_ring.h"

QDesk qdesk_start_features(void *obj, QGuestAllocator *alloc, uint64_t accept)
{
    QVirtioDeskPCI *pci = obj;
    QDesk d = {
        .qts = pci->pci_vdev.pdev->bus->qts,
        .pci = pci,
        .vdev = pci->desk.vdev,
        .alloc = alloc,
    };
    uint64_t features = qvirtio_get_features(d.vdev);

    features &= ~(QVIRTIO_F_BAD_FEATURE | (1ull << VIRTIO_RING_F_EVENT_IDX));
    features &= accept | ~0xffffffull;
    qvirtio_set_features(d.vdev, features);
    d.vq = qvirtqueue_setup(d.vdev, alloc, VIRTIO_DESK_QUEUE_CONTROL);
    /* where the device has them, even if not negotiated: tests misuse them */
    if (qvirtio_get_features(d.vdev) & (1ull << VIRTIO_DESK_F_INPUT)) {
        d.event_vq = qvirtqueue_setup(d.vdev, alloc, VIRTIO_DESK_QUEUE_EVENT);
        d.status_vq = qvirtqueue_setup(d.vdev, alloc, VIRTIO_DESK_QUEUE_STATUS);
        d.event_bufs = guest_alloc(alloc, d.event_vq->size *
                                   sizeof(struct virtio_desk_input_event));
    }
    if (qvirtio_get_features(d.vdev) & (1ull << VIRTIO_DESK_F_CURSOR)) {
        d.cursor_vq = qvirtqueue_setup(d.vdev, alloc, VIRTIO_DESK_QUEUE_CURSOR);
    }
    qvirtio_set_driver_ok(d.vdev);
    return d;
}

QDesk qdesk_start(void *obj, QGuestAllocator *alloc)
{
    return qdesk_start_features(obj, alloc,
                                ~(1ull << VIRTIO_DESK_F_WATCH));
}

void qdesk_stop(QDesk *d)
{
    const QVirtioBus *bus = d->vdev->bus;

    qvirtqueue_cleanup(bus, d->vq, d->alloc);
    if (d->event_vq) {
        qvirtqueue_cleanup(bus, d->event_vq, d->alloc);
        qvirtqueue_cleanup(bus, d->status_vq, d->alloc);
        guest_free(d->alloc, d->event_bufs);
    }
    if (d->cursor_vq) {
        qvirtqueue_cleanup(bus, d->cursor_vq, d->alloc);
    }
    *d = (QDesk) { .qts = d->qts, .pci = d->pci, .vdev = d->vdev };
}

/*
 * Send one request made of @nseg readable segments (one descriptor each,
 * through an indirect table if @indirect) and a writable response buffer of
 * @resp_len bytes; returns the length the device says it wrote.
 */
static uint32_t qdesk_submit_on(QDesk *d, QVirtQueue *vq, const QDeskSeg *segs,
                                int nseg, void *resp, size_t resp_len,
                                bool indirect)
{
    g_autofree uint64_t *addr = g_new0(uint64_t, nseg);
    uint64_t resp_addr = 0;
    uint32_t head = 0, len;
    QVRingIndirectDesc *ind = NULL;

    for (int i = 0; i < nseg; i++) {
        addr[i] = guest_alloc(d->alloc, segs[i].len);
        qtest_memwrite(d->qts, addr[i], segs[i].data, segs[i].len);
    }
    if (resp_len) {
        resp_addr = guest_alloc(d->alloc, resp_len);
        qtest_memset(d->qts, resp_addr, 0xa5, resp_len);
    }

    if (indirect) {
        ind = qvring_indirect_desc_setup(d->qts, d->vdev, d->alloc,
                                         nseg + !!resp_len);
        for (int i = 0; i < nseg; i++) {
            qvring_indirect_desc_add(d->vdev, d->qts, ind, addr[i],
                                     segs[i].len, false);
        }
        if (resp_len) {
            qvring_indirect_desc_add(d->vdev, d->qts, ind, resp_addr,
                                     resp_len, true);
        }
        head = qvirtqueue_add_indirect(d->qts, vq, ind);
    } else {
        for (int i = 0; i < nseg; i++) {
            uint32_t idx = qvirtqueue_add(d->qts, vq, addr[i], segs[i].len,
                                          false, i + 1 < nseg || resp_len);
            if (i == 0) {
                head = idx;
            }
        }
        if (resp_len) {
            uint32_t idx = qvirtqueue_add(d->qts, vq, resp_addr, resp_len,
                                          true, false);
            if (!nseg) {
                head = idx;
            }
        }
    }

    qvirtqueue_kick(d->qts, d->vdev, vq, head);
    qvirtio_wait_used_elem(d->qts, d->vdev, vq, head, &len,
                           QDESK_TIMEOUT_US);
    qvirtqueue_reset_pool(vq);

    if (resp_len) {
        qtest_memread(d->qts, resp_addr, resp, resp_len);
        guest_free(d->alloc, resp_addr);
    }
    for (int i = 0; i < nseg; i++) {
        guest_free(d->alloc, addr[i]);
    }
    if (ind) {
        guest_free(d->alloc, ind->desc);
        g_free(ind);
    }
    return len;
}

uint32_t qdesk_submit(QDesk *d, const QDeskSeg *segs, int nseg, void *resp,
                      size_t resp_len, bool indirect)
{
    return qdesk_submit_on(d, d->vq, segs, nseg, resp, resp_len, indirect);
}

uint32_t qdesk_submit_vq(QDesk *d, QVirtQueue *vq, const QDeskSeg *segs,
                         int nseg, void *resp, size_t resp_len)
{
    return qdesk_submit_on(d, vq, segs, nseg, resp, resp_len, false);
}

static uint32_t qdesk_cmd_on(QDesk *d, QVirtQueue *vq, const QDeskSeg *segs,
                             int nseg)
{
    struct virtio_desk_ctrl_hdr resp;

    g_assert_cmpuint(qdesk_submit_vq(d, vq, segs, nseg, &resp, sizeof(resp)),
                     ==, sizeof(resp));
    g_assert_cmpuint(le32_to_cpu(resp.flags), ==, 0);
    return le32_to_cpu(resp.type);
}

/* Send a request of @nseg segments; return the response type. */
uint32_t qdesk_cmd_segs(QDesk *d, const QDeskSeg *segs, int nseg)
{
    return qdesk_cmd_on(d, d->vq, segs, nseg);
}

uint32_t qdesk_cursor_cmd_segs(QDesk *d, const QDeskSeg *segs, int nseg)
{
    g_assert(d->cursor_vq);
    return qdesk_cmd_on(d, d->cursor_vq, segs, nseg);
}

static struct virtio_desk_cursor_pos qdesk_cursor_pos(uint32_t type,
                                                      uint32_t output,
                                                      int32_t x, int32_t y,
                                                      bool visible)
{
    return (struct virtio_desk_cursor_pos) {
        .hdr.type = cpu_to_le32(type),
        .output_id = cpu_to_le32(output),
        .visible = cpu_to_le32(visible),
        .x = cpu_to_le32(x),
        .y = cpu_to_le32(y),
    };
}

uint32_t qdesk_cursor_move(QDesk *d, uint32_t output, int32_t x, int32_t y,
                           bool visible)
{
    struct virtio_desk_cursor_pos req =
        qdesk_cursor_pos(VIRTIO_DESK_CMD_CURSOR_MOVE, output, x, y, visible);
    QDeskSeg seg = { &req, sizeof(req) };

    return qdesk_cursor_cmd_segs(d, &seg, 1);
}

uint32_t qdesk_cursor_define(QDesk *d, uint32_t output, int32_t x, int32_t y,
                             uint32_t w, uint32_t h, uint32_t hot_x,
                             uint32_t hot_y, const uint32_t *argb)
{
    struct virtio_desk_cursor_define req = {
        .pos = qdesk_cursor_pos(VIRTIO_DESK_CMD_CURSOR_DEFINE, output, x, y,
                                true),
        .width = cpu_to_le32(w),
        .height = cpu_to_le32(h),
        .hot_x = cpu_to_le32(hot_x),
        .hot_y = cpu_to_le32(hot_y),
    };
    g_autofree uint32_t *le = g_new(uint32_t, (size_t)w * h);
    QDeskSeg segs[] = { { &req, sizeof(req) }, { le, (size_t)w * h * 4 } };

    for (size_t i = 0; i < (size_t)w * h; i++) {
        le[i] = cpu_to_le32(argb[i]);
    }
    return qdesk_cursor_cmd_segs(d, segs, ARRAY_SIZE(segs));
}

uint32_t *qdesk_cursor_image(uint32_t w, uint32_t h, uint32_t seed)
{
    uint32_t *argb = g_new(uint32_t, (size_t)w * h);

    for (uint32_t i = 0; i < w * h; i++) {
        argb[i] = (i * 0x9e3779b1u) ^ (seed * 0x01010101u);
    }
    return argb;
}

uint32_t qdesk_cmd(QDesk *d, const void *req, size_t len)
{
    QDeskSeg seg = { req, len };

    return qdesk_cmd_segs(d, &seg, 1);
}

uint32_t qdesk_create(QDesk *d, uint32_t id, uint32_t format,
                      uint32_t width, uint32_t height)
{
    struct virtio_desk_resource_create req = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_RESOURCE_CREATE),
        .resource_id = cpu_to_le32(id),
        .format = cpu_to_le32(format),
        .width = cpu_to_le32(width),
        .height = cpu_to_le32(height),
    };

    return qdesk_cmd(d, &req, sizeof(req));
}

uint32_t qdesk_destroy(QDesk *d, uint32_t id)
{
    struct virtio_desk_resource_destroy req = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_RESOURCE_DESTROY),
        .resource_id = cpu_to_le32(id),
    };

    return qdesk_cmd(d, &req, sizeof(req));
}

uint32_t qdesk_scanout(QDesk *d, uint32_t output, uint32_t id,
                       uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    struct virtio_desk_set_scanout req = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_SET_SCANOUT),
        .output_id = cpu_to_le32(output),
        .resource_id = cpu_to_le32(id),
        .src = { cpu_to_le32(x), cpu_to_le32(y), cpu_to_le32(w), cpu_to_le32(h) },
    };

    return qdesk_cmd(d, &req, sizeof(req));
}

struct virtio_desk_xfer_rect qdesk_xrect(uint32_t x, uint32_t y, uint32_t w,
                                         uint32_t h, uint32_t stride,
                                         uint64_t offset)
{
    return (struct virtio_desk_xfer_rect) {
        .r = { cpu_to_le32(x), cpu_to_le32(y), cpu_to_le32(w), cpu_to_le32(h) },
        .stride = cpu_to_le32(stride),
        .offset = cpu_to_le64(offset),
    };
}

/*
 * TRANSFER_RECTS with the header and rects in one descriptor and the
 * payload split into descriptors of @chunk bytes (0: one descriptor).
 */
uint32_t qdesk_transfer(QDesk *d, uint32_t id, uint32_t num_rects,
                        const struct virtio_desk_xfer_rect *rects,
                        size_t rects_len, const void *payload,
                        size_t payload_len, size_t chunk)
{
    struct virtio_desk_transfer_rects hdr = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_TRANSFER_RECTS),
        .resource_id = cpu_to_le32(id),
        .num_rects = cpu_to_le32(num_rects),
    };
    g_autofree uint8_t *head = g_malloc(sizeof(hdr) + rects_len);
    g_autofree QDeskSeg *segs = NULL;
    int nseg = 1;

    memcpy(head, &hdr, sizeof(hdr));
    memcpy(head + sizeof(hdr), rects, rects_len);
    chunk = chunk ? chunk : MAX(payload_len, 1);
    segs = g_new(QDeskSeg, 1 + DIV_ROUND_UP(payload_len, chunk));
    segs[0] = (QDeskSeg) { head, sizeof(hdr) + rects_len };
    for (size_t off = 0; off < payload_len; off += chunk) {
        segs[nseg++] = (QDeskSeg) { (const uint8_t *)payload + off,
                                    MIN(chunk, payload_len - off) };
    }
    return qdesk_cmd_segs(d, segs, nseg);
}

/* The device still answers a well-formed request. */
void qdesk_assert_alive(QDesk *d)
{
    struct virtio_desk_ctrl_hdr req = {
        .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO),
    };
    struct virtio_desk_resp_display_info resp;
    QDeskSeg seg = { &req, sizeof(req) };

    g_assert_cmpuint(qdesk_submit(d, &seg, 1, &resp, sizeof(resp), false),
                     ==, sizeof(resp));
    g_assert_cmphex(le32_to_cpu(resp.hdr.type), ==,
                    VIRTIO_DESK_RESP_OK_DISPLAY_INFO);
}

/* --- input ------------------------------------------------------------- */

void qdesk_event_post(QDesk *d, unsigned int n, uint32_t len)
{
    const uint64_t slot = sizeof(struct virtio_desk_input_event);

    g_assert(n <= d->event_vq->size && len <= slot);
    qvirtqueue_reset_pool(d->event_vq);
    for (unsigned int i = 0; i < n; i++) {
        uint32_t head = qvirtqueue_add(d->qts, d->event_vq,
                                       d->event_bufs + i * slot, len,
                                       true, false);
        qvirtqueue_kick(d->qts, d->vdev, d->event_vq, head);
    }
}

bool qdesk_event_pending(QDesk *d)
{
    QVirtQueue *vq = d->event_vq;
    uint16_t idx = qtest_readw(d->qts, vq->used +
                               offsetof(struct vring_used, idx));

    return idx != vq->last_used_idx;
}

void qdesk_event_read(QDesk *d, unsigned int n,
                      struct virtio_desk_input_event *ev, uint32_t *lens)
{
    gint64 start = g_get_monotonic_time();

    for (unsigned int i = 0; i < n; i++) {
        uint32_t idx, len;

        while (!qvirtqueue_get_buf(d->qts, d->event_vq, &idx, &len)) {
            g_assert(g_get_monotonic_time() - start <= QDESK_TIMEOUT_US);
            qtest_clock_step(d->qts, 100);
        }
        qtest_memread(d->qts, d->event_bufs + idx * sizeof(*ev), &ev[i],
                      sizeof(*ev));
        if (lens) {
            lens[i] = len;
        }
    }
}

uint32_t qdesk_status_submit(QDesk *d, const void *msg, size_t len,
                             void *resp, size_t resp_len)
{
    uint64_t msg_addr = guest_alloc(d->alloc, len);
    uint64_t resp_addr = guest_alloc(d->alloc, resp_len);
    uint32_t head, used;

    qtest_memwrite(d->qts, msg_addr, msg, len);
    qvirtqueue_reset_pool(d->status_vq);
    head = qvirtqueue_add(d->qts, d->status_vq, msg_addr, len, false, true);
    qvirtqueue_add(d->qts, d->status_vq, resp_addr, resp_len, true, false);
    qvirtqueue_kick(d->qts, d->vdev, d->status_vq, head);
    qvirtio_wait_used_elem(d->qts, d->vdev, d->status_vq, head, &used,
                           QDESK_TIMEOUT_US);
    qtest_memread(d->qts, resp_addr, resp, resp_len);
    guest_free(d->alloc, msg_addr);
    guest_free(d->alloc, resp_addr);
    return used;
}

uint32_t qdesk_status_send(QDesk *d, const void *msg, size_t len)
{
    struct virtio_desk_ctrl_hdr resp;

    g_assert_cmpuint(qdesk_status_submit(d, msg, len, &resp, sizeof(resp)),
                     ==, sizeof(resp));
    return le32_to_cpu(resp.type);
}

void qdesk_expect_events(QDesk *d, const QDeskEv *want, unsigned int n)
{
    g_autofree struct virtio_desk_input_event *ev =
        g_new(struct virtio_desk_input_event, n);

    qdesk_event_read(d, n, ev, NULL);
    for (unsigned int i = 0; i < n; i++) {
        g_assert_cmpuint(le16_to_cpu(ev[i].device), ==, want[i].device);
        g_assert_cmpuint(le16_to_cpu(ev[i].output), ==, 0);
        g_assert_cmpuint(le16_to_cpu(ev[i].type), ==, want[i].type);
        g_assert_cmpuint(le16_to_cpu(ev[i].code), ==, want[i].code);
        g_assert_cmpint((int32_t)le32_to_cpu(ev[i].value), ==, want[i].value);
        g_assert_cmpuint(ev[i].padding, ==, 0);
    }
    g_assert_false(qdesk_event_pending(d));
}

void qdesk_send_events(QTestState *qts, int head, const char *events)
{
    g_autofree char *list = g_strdup_printf("[%s]", events);
    QObject *obj = qobject_from_json(list, &error_abort);

    if (head < 0) {
        qtest_qmp_assert_success(qts, "{'execute': 'input-send-event', "
                                 "'arguments': {'events': %p}}", obj);
    } else {
        qtest_qmp_assert_success(qts, "{'execute': 'input-send-event', "
                                 "'arguments': {'device': %s, 'head': %d, "
                                 "'events': %p}}", QVIRTIO_DESK_ID, head, obj);
    }
}

char *qdesk_key_event(const char *qcode, bool down)
{
    return g_strdup_printf("{'type': 'key', 'data': {'down': %s, 'key': "
                           "{'type': 'qcode', 'data': '%s'}}}",
                           down ? "true" : "false", qcode);
}

void qdesk_send_key(QTestState *qts, const char *qcode, bool down)
{
    g_autofree char *key = qdesk_key_event(qcode, down);

    qdesk_send_events(qts, -1, key);
}

/* --- screen ------------------------------------------------------------ */

char *qdesk_screendump_begin(QTestState *qts, int head)
{
    char *path = NULL;
    int fd = g_file_open_tmp("virtio-desk-XXXXXX.ppm", &path, NULL);

    g_assert(fd >= 0);
    close(fd);
    qtest_qmp_send(qts,
        "{'execute': 'screendump', 'arguments': "
        "{'filename': %s, 'device': %s, 'head': %d, 'format': 'ppm'}}",
        path, QVIRTIO_DESK_ID, head);
    return path;
}

QDeskImage qdesk_screendump_end(QTestState *qts, char *path)
{
    g_autofree char *data = NULL;
    QDict *resp = qtest_qmp_receive(qts);
    QDeskImage img;
    int consumed = 0;
    size_t len, row;

    g_assert(qdict_haskey(resp, "return"));
    qobject_unref(resp);
    g_assert(g_file_get_contents(path, &data, &len, NULL));
    unlink(path);
    g_free(path);
    g_assert_cmpint(sscanf(data, "P6 %u %u 255%n", &img.width, &img.height,
                           &consumed), ==, 2);
    /*
     * QEMU 10.0's ppm_save() writes pixman's line stride, padded to 4 bytes,
     * rather than width * 3: accept exactly that and drop the padding.
     */
    row = ROUND_UP(img.width * 3, 4);
    g_assert_cmpuint(len, ==, consumed + 1 + row * img.height);
    img.rgb = g_malloc(img.width * img.height * 3);
    for (uint32_t y = 0; y < img.height; y++) {
        memcpy(img.rgb + y * img.width * 3, data + consumed + 1 + y * row,
               img.width * 3);
    }
    return img;
}

QDeskImage qdesk_screendump(QTestState *qts, int head)
{
    return qdesk_screendump_end(qts, qdesk_screendump_begin(qts, head));
}

/* Expected RGB of one pixel stored in @format at @p. */
static void pixel_to_rgb(uint32_t format, const uint8_t *p, uint8_t *rgb)
{
    uint32_t v = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
    uint16_t v16 = p[0] | p[1] << 8;

    switch (format) {
    case VIRTIO_DESK_FORMAT_XRGB8888:
    case VIRTIO_DESK_FORMAT_ARGB8888:
        rgb[0] = v >> 16, rgb[1] = v >> 8, rgb[2] = v;
        break;
    case VIRTIO_DESK_FORMAT_XBGR8888:
    case VIRTIO_DESK_FORMAT_ABGR8888:
        rgb[0] = v, rgb[1] = v >> 8, rgb[2] = v >> 16;
        break;
    case VIRTIO_DESK_FORMAT_RGB565:
        /* pixman widens by replicating the top bits */
        rgb[0] = (v16 >> 11) << 3 | (v16 >> 13);
        rgb[1] = ((v16 >> 5) & 0x3f) << 2 | ((v16 >> 9) & 0x3);
        rgb[2] = (v16 & 0x1f) << 3 | ((v16 >> 2) & 0x7);
        break;
    default:
        g_assert_not_reached();
    }
}

uint32_t qdesk_format_bpp(uint32_t format)
{
    return format == VIRTIO_DESK_FORMAT_RGB565 ? 2 : 4;
}

QDeskFb qdesk_fb_new(uint32_t format, uint32_t width, uint32_t height,
                     uint32_t pitch)
{
    QDeskFb fb = { format, width, height, pitch, qdesk_format_bpp(format) };

    fb.data = g_malloc0((size_t)pitch * height);
    return fb;
}

void qdesk_fb_paint(QDeskFb *fb, uint32_t x, uint32_t y, uint32_t w,
                    uint32_t h, uint32_t seed)
{
    for (uint32_t j = y; j < y + h; j++) {
        for (uint32_t i = x; i < x + w; i++) {
            uint8_t *p = fb->data + (size_t)j * fb->pitch + (size_t)i * fb->bpp;

            for (uint32_t b = 0; b < fb->bpp; b++) {
                p[b] = (i * 7 + j * 13 + b * 61 + seed * 101) & 0xff;
            }
        }
    }
}

uint32_t qdesk_fb_send(QDesk *d, const QDeskFb *fb, uint32_t id,
                       const uint32_t (*r)[4], int n, size_t chunk)
{
    g_autofree struct virtio_desk_xfer_rect *rects =
        g_new(struct virtio_desk_xfer_rect, n);

    for (int i = 0; i < n; i++) {
        rects[i] = qdesk_xrect(r[i][0], r[i][1], r[i][2], r[i][3], fb->pitch,
                               (uint64_t)r[i][1] * fb->pitch +
                               r[i][0] * fb->bpp);
    }
    return qdesk_transfer(d, id, n, rects, n * sizeof(*rects), fb->data,
                          (size_t)fb->pitch * fb->height, chunk);
}

void qdesk_assert_screen(QDesk *d, int head, const QDeskFb *shown,
                         uint32_t sx, uint32_t sy, uint32_t w, uint32_t h)
{
    qdesk_assert_image(qdesk_screendump(d->qts, head), shown, sx, sy, w, h);
}

void qdesk_assert_image(QDeskImage img, const QDeskFb *shown,
                        uint32_t sx, uint32_t sy, uint32_t w, uint32_t h)
{
    g_assert_cmpuint(img.width, ==, w);
    g_assert_cmpuint(img.height, ==, h);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *p = shown->data + (size_t)(sy + y) * shown->pitch +
                               (size_t)(sx + x) * shown->bpp;
            const uint8_t *got = img.rgb + ((size_t)y * w + x) * 3;
            uint8_t want[3];

            pixel_to_rgb(shown->format, p, want);
            if (memcmp(got, want, 3)) {
                g_error("pixel %u,%u: got %02x%02x%02x want %02x%02x%02x",
                        x, y, got[0], got[1], got[2], want[0], want[1], want[2]);
            }
        }
    }
    g_free(img.rgb);
}

/* --- VGA (virtio-desk-vga) --------------------------------------------- */

#define VBE_PORT_INDEX 0x1ce
#define VBE_PORT_DATA  0x1cf
#define VGA_ATTR_INDEX 0x3c0
#define VGA_INPUT_STATUS_1 0x3da  /* reading it resets the attr flip-flop */
#define VGA_DAC_WRITE_INDEX 0x3c8
#define VGA_DAC_DATA 0x3c9

#define VGA_INDEX 1               /* in VGA memory at 0, 0 */
#define VGA_PIXEL 0xff0000u       /* palette entry VGA_INDEX: 6-bit 63, 0, 0 */

static void vbe_write(QTestState *qts, uint16_t index, uint16_t value)
{
    qtest_outw(qts, VBE_PORT_INDEX, index);
    qtest_outw(qts, VBE_PORT_DATA, value);
}

static uint16_t vbe_read(QTestState *qts, uint16_t index)
{
    qtest_outw(qts, VBE_PORT_INDEX, index);
    return qtest_inw(qts, VBE_PORT_DATA);
}

void qdesk_vga_set_mode(QDesk *d)
{
    QTestState *qts = d->qts;
    QPCIDevice *pdev = d->pci->pci_vdev.pdev;
    QPCIBar vram;

    g_assert_cmphex(vbe_read(qts, VBE_DISPI_INDEX_ID), ==, VBE_DISPI_ID5);
    vbe_write(qts, VBE_DISPI_INDEX_XRES, QDESK_VGA_W);
    vbe_write(qts, VBE_DISPI_INDEX_YRES, QDESK_VGA_H);
    vbe_write(qts, VBE_DISPI_INDEX_BPP, 8);
    vbe_write(qts, VBE_DISPI_INDEX_ENABLE,
              VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    /* the palette address source bit: display on */
    qtest_inb(qts, VGA_INPUT_STATUS_1);
    qtest_outb(qts, VGA_ATTR_INDEX, 0x20);
    qtest_outb(qts, VGA_DAC_WRITE_INDEX, VGA_INDEX);
    qtest_outb(qts, VGA_DAC_DATA, 63);
    qtest_outb(qts, VGA_DAC_DATA, 0);
    qtest_outb(qts, VGA_DAC_DATA, 0);
    vram = qpci_iomap(pdev, 0, NULL);
    qpci_io_writeb(pdev, vram, 0, VGA_INDEX);
}

/* Output 0 shows QEMU's placeholder for a disabled output, not VGA's mode. */
void qdesk_assert_vga_hidden(QDesk *d)
{
    QDeskImage img = qdesk_screendump(d->qts, 0);

    g_assert_false(img.width == QDESK_VGA_W && img.height == QDESK_VGA_H);
    g_free(img.rgb);
}

void qdesk_assert_vga_shown(QDesk *d)
{
    QDeskImage img = qdesk_screendump(d->qts, 0);

    g_assert_cmpuint(img.width, ==, QDESK_VGA_W);
    g_assert_cmpuint(img.height, ==, QDESK_VGA_H);
    g_assert_cmphex(img.rgb[0] << 16 | img.rgb[1] << 8 | img.rgb[2], ==,
                    VGA_PIXEL);
    g_assert_cmphex(img.rgb[3 * QDESK_VGA_W], ==, 0);
    g_free(img.rgb);
}
