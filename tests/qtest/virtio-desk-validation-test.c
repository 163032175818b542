/*
 * QTest for virtio-desk-pci: one test per validation rule of
 * docs/specs/virtio-desk.rst, each showing the error status the guest gets
 * and that the device keeps working afterwards.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/resource.h>
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "libqos/qgraph.h"
#include "libqos/pci.h"
#include "libqos/virtio-desk-client.h"

static void test_bad_command(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_ctrl_hdr hdr = { .type = cpu_to_le32(0x0999) };
    uint8_t tiny[4] = { 0 };

    g_assert_cmphex(qdesk_cmd(&d, &hdr, sizeof(hdr)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    hdr = (struct virtio_desk_ctrl_hdr) {
        .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO),
        .flags = cpu_to_le32(1),
    };
    g_assert_cmphex(qdesk_cmd(&d, &hdr, sizeof(hdr)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    /* shorter than the header */
    g_assert_cmphex(qdesk_cmd(&d, tiny, sizeof(tiny)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/*
 * Every command's struct must be readable whole (one byte short is refused
 * before any field is used); bytes after it are ignored, except for
 * TRANSFER_RECTS, whose rects and payload follow.
 */
static void test_command_lengths(void *obj, void *data, QGuestAllocator *alloc)
{
    static const struct {
        uint32_t type;
        size_t len;
    } cmds[] = {
        { VIRTIO_DESK_CMD_RESOURCE_CREATE,
          sizeof(struct virtio_desk_resource_create) },
        { VIRTIO_DESK_CMD_RESOURCE_DESTROY,
          sizeof(struct virtio_desk_resource_destroy) },
        { VIRTIO_DESK_CMD_SET_SCANOUT, sizeof(struct virtio_desk_set_scanout) },
        { VIRTIO_DESK_CMD_TRANSFER_RECTS,
          sizeof(struct virtio_desk_transfer_rects) },
    };
    QDesk d = qdesk_start(obj, alloc);
    uint8_t req[64] = { 0 };
    struct virtio_desk_resource_create *create = (void *)req;
    struct virtio_desk_resource_destroy *destroy = (void *)req;
    struct virtio_desk_set_scanout *scanout = (void *)req;
    struct virtio_desk_resp_display_info info;
    QDeskSeg seg = { req, sizeof(req) };

    for (int i = 0; i < ARRAY_SIZE(cmds); i++) {
        memset(req, 0, sizeof(req));
        stl_le_p(req, cmds[i].type);
        /* with every field 0, a whole struct would be a different error */
        g_assert_cmphex(qdesk_cmd(&d, req, cmds[i].len - 1), ==,
                        VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
        g_assert_cmphex(qdesk_cmd(&d, req, sizeof(struct virtio_desk_ctrl_hdr)),
                        ==, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    }

    /* 64 bytes for each command: the tail is ignored, filled or not */
    memset(req, 0xa5, sizeof(req));
    *create = (struct virtio_desk_resource_create) {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_RESOURCE_CREATE),
        .resource_id = cpu_to_le32(7),
        .format = cpu_to_le32(VIRTIO_DESK_FORMAT_XRGB8888),
        .width = cpu_to_le32(32),
        .height = cpu_to_le32(16),
    };
    g_assert_cmphex(qdesk_cmd(&d, req, sizeof(req)), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    *scanout = (struct virtio_desk_set_scanout) {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_SET_SCANOUT),
        .resource_id = cpu_to_le32(7),
        .src = { .width = cpu_to_le32(32), .height = cpu_to_le32(16) },
    };
    g_assert_cmphex(qdesk_cmd(&d, req, sizeof(req)), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    memset(req, 0xa5, sizeof(req));
    stl_le_p(req, VIRTIO_DESK_CMD_GET_DISPLAY_INFO);
    stl_le_p(req + 4, 0);
    g_assert_cmpuint(qdesk_submit(&d, &seg, 1, &info, sizeof(info), false),
                     ==, sizeof(info));
    g_assert_cmphex(le32_to_cpu(info.hdr.type), ==,
                    VIRTIO_DESK_RESP_OK_DISPLAY_INFO);
    g_assert_cmpuint(le32_to_cpu(info.outputs[0].width), ==, 1280);
    g_assert_cmpuint(le32_to_cpu(info.outputs[0].enabled), ==, 1);
    memset(req, 0xa5, sizeof(req));
    *destroy = (struct virtio_desk_resource_destroy) {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_RESOURCE_DESTROY),
        .resource_id = cpu_to_le32(7),
    };
    g_assert_cmphex(qdesk_cmd(&d, req, sizeof(req)), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_destroy(&d, 7), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    qdesk_stop(&d);
}

/* A request is executed only if its answer can be delivered. */
static void test_bad_response_buffer(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_ctrl_hdr req = {
        .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO),
    };
    struct virtio_desk_resource_create create = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_RESOURCE_CREATE),
        .resource_id = cpu_to_le32(1),
        .format = cpu_to_le32(VIRTIO_DESK_FORMAT_XRGB8888),
        .width = cpu_to_le32(8),
        .height = cpu_to_le32(8),
    };
    uint8_t small[sizeof(struct virtio_desk_resp_display_info) - 1];
    QDeskSeg seg = { &req, sizeof(req) };
    QDeskSeg create_seg = { &create, sizeof(create) };

    /* room for an error header but not for the display info */
    g_assert_cmpuint(qdesk_submit(&d, &seg, 1, small, sizeof(small), false),
                     ==, 8);
    g_assert_cmphex(ldl_le_p(small), ==, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    /* no room for any answer: completed with nothing written ... */
    g_assert_cmpuint(qdesk_submit(&d, &seg, 1, NULL, 0, false), ==, 0);
    g_assert_cmpuint(qdesk_submit(&d, &create_seg, 1, small, 7, false), ==, 0);
    g_assert_cmpuint(qdesk_submit(&d, &create_seg, 1, NULL, 0, false), ==, 0);
    /* ... and not executed: resource 1 was never created */
    g_assert_cmphex(qdesk_destroy(&d, 1), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    /* no readable descriptor at all */
    g_assert_cmpuint(qdesk_submit(&d, NULL, 0, small, 8, false), ==, 8);
    g_assert_cmphex(ldl_le_p(small), ==, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

static void test_create_invalid(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    const uint32_t xrgb = VIRTIO_DESK_FORMAT_XRGB8888;
    struct virtio_desk_resource_destroy padded_destroy = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_RESOURCE_DESTROY),
        .resource_id = cpu_to_le32(1),
        .padding = cpu_to_le32(1),
    };

    g_assert_cmphex(qdesk_create(&d, 0, xrgb, 8, 8), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qdesk_create(&d, 1, xrgb, 8, 8), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_create(&d, 1, xrgb, 8, 8), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qdesk_create(&d, 2, 0x20203859 /* 'Y8  ' */, 8, 8), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qdesk_create(&d, 2, 0, 8, 8), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qdesk_create(&d, 2, xrgb, 0, 8), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qdesk_create(&d, 2, xrgb, 8, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qdesk_create(&d, 2, xrgb, 16385, 1), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qdesk_create(&d, 2, xrgb, 1, 16385), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    /* width * height * 4 wraps 32 bits */
    g_assert_cmphex(qdesk_create(&d, 2, xrgb, 0xffffffff, 0xffffffff), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    /* 16384 x 16384 x 4 = 1 GiB > max_hostmem */
    g_assert_cmphex(qdesk_create(&d, 2, xrgb, 16384, 16384), ==,
                    VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY);
    g_assert_cmphex(qdesk_destroy(&d, 99), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qdesk_cmd(&d, &padded_destroy, sizeof(padded_destroy)),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qdesk_destroy(&d, 1), ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_destroy(&d, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/* Host memory is bounded: by bytes, by count, and nothing leaks. */
static void test_create_limits(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    const uint32_t xrgb = VIRTIO_DESK_FORMAT_XRGB8888;
    uint32_t id;

    /* 4 x 64 MiB fill max_hostmem exactly; the 5th does not fit */
    for (id = 1; id <= 4; id++) {
        g_assert_cmphex(qdesk_create(&d, id, xrgb, 4096, 4096), ==,
                        VIRTIO_DESK_RESP_OK_NODATA);
    }
    g_assert_cmphex(qdesk_create(&d, 5, xrgb, 4096, 4096), ==,
                    VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY);
    /* failed creates consumed nothing: freeing one makes room for one */
    g_assert_cmphex(qdesk_destroy(&d, 4), ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_create(&d, 5, xrgb, 4096, 4096), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    for (id = 1; id <= 5; id++) {
        if (id != 4) {
            g_assert_cmphex(qdesk_destroy(&d, id), ==,
                            VIRTIO_DESK_RESP_OK_NODATA);
        }
    }

    /* count: max_resources small ones, then one more fails */
    for (id = 1; id <= 1024; id++) {
        g_assert_cmphex(qdesk_create(&d, id, xrgb, 1, 1), ==,
                        VIRTIO_DESK_RESP_OK_NODATA);
    }
    g_assert_cmphex(qdesk_create(&d, 1025, xrgb, 1, 1), ==,
                    VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY);
    for (id = 1; id <= 1024; id++) {
        g_assert_cmphex(qdesk_destroy(&d, id), ==, VIRTIO_DESK_RESP_OK_NODATA);
    }
    /* everything came back */
    g_assert_cmphex(qdesk_create(&d, 1, xrgb, 8192, 8192), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

static uint64_t qemu_status_kib(QDesk *d, const char *field)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status",
                                            (int)qtest_pid(d->qts));
    g_autofree char *status = NULL;
    const char *line;

    g_assert(g_file_get_contents(path, &status, NULL, NULL));
    line = strstr(status, field);
    g_assert(line);
    return g_ascii_strtoull(line + strlen(field), NULL, 10);
}

static uint64_t qemu_rss_kib(QDesk *d)
{
    return qemu_status_kib(d, "VmRSS:");
}

/* Fill all of a 4096x4096 resource from a 1 MiB payload: 64 bands. */
static void fill_4k(QDesk *d, uint32_t id, const uint8_t *payload)
{
    struct virtio_desk_xfer_rect r[64];

    for (int i = 0; i < 64; i++) {
        r[i] = qdesk_xrect(0, i * 64, 4096, 64, 4096 * 4, 0);
    }
    g_assert_cmphex(qdesk_transfer(d, id, 64, r, sizeof(r), payload, MiB, 0),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
}

/*
 * A guest that fills max_hostmem with pixels and keeps asking for more
 * leaves QEMU's resident memory within max_hostmem plus a small constant,
 * and gets it all back when it destroys its resources.
 */
static void test_hostmem_rss(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    const uint32_t xrgb = VIRTIO_DESK_FORMAT_XRGB8888;
    g_autofree uint8_t *payload = NULL;
    uint64_t before, peak = 0;

#ifdef QEMU_SANITIZE_ADDRESS
    /* ASan's quarantine and shadow memory make RSS say nothing here */
    g_test_skip("RSS is not meaningful under AddressSanitizer");
    qdesk_stop(&d);
    return;
#endif
    payload = g_malloc(MiB);
    before = qemu_rss_kib(&d);

    memset(payload, 0x5a, MiB);
    for (int round = 0; round < 3; round++) {
        for (uint32_t id = 1; id <= 4; id++) {
            g_assert_cmphex(qdesk_create(&d, id, xrgb, 4096, 4096), ==,
                            VIRTIO_DESK_RESP_OK_NODATA);
            fill_4k(&d, id, payload);
        }
        for (uint32_t id = 5; id <= 40; id++) {
            g_assert_cmphex(qdesk_create(&d, id, xrgb, 4096, 4096), ==,
                            VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY);
        }
        peak = MAX(peak, qemu_rss_kib(&d));
        for (uint32_t id = 1; id <= 4; id++) {
            g_assert_cmphex(qdesk_destroy(&d, id), ==,
                            VIRTIO_DESK_RESP_OK_NODATA);
        }
    }
    g_test_message("QEMU RSS %" PRIu64 " KiB before, peak %" PRIu64
                   " KiB, after %" PRIu64 " KiB", before, peak,
                   qemu_rss_kib(&d));
    /* the pixels really were resident: the bound is what held them */
    g_assert_cmpuint(peak, >=, before + 200 * 1024);
    g_assert_cmpuint(peak, <=, before + 256 * 1024 + 32 * 1024);
    g_assert_cmpuint(qemu_rss_kib(&d), <=, before + 32 * 1024);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/*
 * The host may fail to allocate a resource that fits max_hostmem: here
 * QEMU's address space is capped just above what it uses (a soft
 * RLIMIT_AS set from outside with prlimit), so pixman's allocation of
 * 64 MiB fails.  The guest gets OUT_OF_MEMORY, the failed create consumes
 * nothing, and the same create succeeds once the cap is lifted.
 */
static void test_host_alloc_failure(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    const uint32_t xrgb = VIRTIO_DESK_FORMAT_XRGB8888;
    struct rlimit cap, old;

#ifdef QEMU_SANITIZE_ADDRESS
    /* ASan's allocator aborts instead of returning NULL */
    g_test_skip("allocation failure cannot be provoked under AddressSanitizer");
    qdesk_stop(&d);
    return;
#endif
    g_assert_cmpint(prlimit(qtest_pid(d.qts), RLIMIT_AS, NULL, &old), ==, 0);
    cap.rlim_cur = (qemu_status_kib(&d, "VmSize:") + 32 * 1024) * KiB;
    cap.rlim_max = old.rlim_max;
    g_assert_cmpint(prlimit(qtest_pid(d.qts), RLIMIT_AS, &cap, NULL), ==, 0);

    g_assert_cmphex(qdesk_create(&d, 1, xrgb, 4096, 4096), ==,
                    VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY);
    g_assert_cmphex(qdesk_create(&d, 2, xrgb, 16, 16), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);

    g_assert_cmpint(prlimit(qtest_pid(d.qts), RLIMIT_AS, &old, NULL), ==, 0);
    /*
     * Nothing of the failed create was kept: id 1 is free, and three
     * 64 MiB resources plus one a row short still fit beside the 1 KiB one.
     */
    for (uint32_t id = 1; id <= 4; id++) {
        g_assert_cmphex(qdesk_create(&d, id == 2 ? 5 : id, xrgb, 4096,
                                     id == 4 ? 4095 : 4096),
                        ==, VIRTIO_DESK_RESP_OK_NODATA);
    }
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

static void test_scanout_invalid(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);

    g_assert_cmphex(qdesk_create(&d, 1, VIRTIO_DESK_FORMAT_XRGB8888, 64, 32),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 1, 1, 0, 0, 64, 32), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID);
    g_assert_cmphex(qdesk_scanout(&d, 0xffffffff, 1, 0, 0, 64, 32), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID);
    /* the output is checked first, also when disabling */
    g_assert_cmphex(qdesk_scanout(&d, 1, 0, 0, 0, 0, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID);
    g_assert_cmphex(qdesk_scanout(&d, 0xffffffff, 0, 0, 0, 0, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID);
    g_assert_cmphex(qdesk_scanout(&d, 0, 2, 0, 0, 64, 32), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0, 0, 32), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0, 64, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 1, 0, 64, 32), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 1, 64, 32), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    /* x + width wraps 32 bits */
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0xffffffff, 0, 2, 32), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0xfffffff0, 64, 0x20), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/* Returns a transfer's answer for one rect over a 16x16 resource id 1. */
static uint32_t transfer_one(QDesk *d, struct virtio_desk_xfer_rect r,
                             size_t payload_len)
{
    g_autofree uint8_t *payload = g_malloc0(MAX(payload_len, 1));

    return qdesk_transfer(d, 1, 1, &r, sizeof(r), payload, payload_len, 0);
}

static void test_transfer_invalid(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_xfer_rect r[2];
    uint8_t payload[64 * 16] = { 0 };

    g_assert_cmphex(qdesk_create(&d, 1, VIRTIO_DESK_FORMAT_XRGB8888, 16, 16),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
    r[0] = qdesk_xrect(0, 0, 16, 16, 64, 0);

    /* resource */
    g_assert_cmphex(qdesk_transfer(&d, 2, 1, r, sizeof(r[0]), payload,
                                  sizeof(payload), 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    /* rect count */
    g_assert_cmphex(qdesk_transfer(&d, 1, 0, r, 0, payload, sizeof(payload), 0),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qdesk_transfer(&d, 1, 1025, r, sizeof(r[0]), payload,
                                  sizeof(payload), 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qdesk_transfer(&d, 1, 0xffffffff, r, sizeof(r[0]), payload,
                                  sizeof(payload), 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    /* rect array shorter than num_rects says (no payload to misread) */
    g_assert_cmphex(qdesk_transfer(&d, 1, 2, r, sizeof(r[0]), NULL, 0, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);

    /* rects */
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 0, 0, 16, 64, 0), 1024), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 0, 16, 0, 64, 0), 1024), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(1, 0, 16, 16, 64, 0), 1024), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 15, 16, 2, 64, 0), 1024), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0xfffffff8, 0, 16, 1, 64, 0), 1024),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 0xffffffff, 1, 2, 64, 0), 1024),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_RECT);

    /* padding */
    r[0] = qdesk_xrect(0, 0, 16, 16, 64, 0);
    r[0].padding = cpu_to_le32(0x80000000);
    g_assert_cmphex(transfer_one(&d, r[0], 1024), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);

    /* stride below the row size */
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 0, 16, 16, 63, 0), 1024), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 0, 16, 16, 0, 0), 1024), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);

    /* payload: one byte short, offset past it, offset + size wraps */
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 0, 16, 16, 64, 0), 1023), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 0, 16, 16, 64, 1), 1024), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 0, 1, 1, 4, 2048), 1024), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 0, 1, 1, 4, UINT64_MAX - 1),
                                 1024), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    /* (height - 1) * stride overflows 32 bits, but not the device's math */
    g_assert_cmphex(transfer_one(&d, qdesk_xrect(0, 0, 16, 16, 0xffffffff, 0), 1024),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);

    /* rects covering more pixels than the resource: bounded host work */
    r[0] = qdesk_xrect(0, 0, 16, 16, 64, 0);
    r[1] = qdesk_xrect(0, 0, 1, 1, 64, 0);
    g_assert_cmphex(qdesk_transfer(&d, 1, 2, r, sizeof(r), payload,
                                  sizeof(payload), 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

static void register_virtio_desk_validation_test(void)
{
    qos_add_test("bad-command", "virtio-desk-pci", test_bad_command, NULL);
    qos_add_test("command-lengths", "virtio-desk-pci", test_command_lengths,
                 NULL);
    qos_add_test("bad-response-buffer", "virtio-desk-pci",
                 test_bad_response_buffer, NULL);
    qos_add_test("create-invalid", "virtio-desk-pci", test_create_invalid,
                 NULL);
    qos_add_test("create-limits", "virtio-desk-pci", test_create_limits, NULL);
    qos_add_test("hostmem-rss", "virtio-desk-pci", test_hostmem_rss, NULL);
    qos_add_test("host-alloc-failure", "virtio-desk-pci",
                 test_host_alloc_failure, NULL);
    qos_add_test("scanout-invalid", "virtio-desk-pci", test_scanout_invalid,
                 NULL);
    qos_add_test("transfer-invalid", "virtio-desk-pci", test_transfer_invalid,
                 NULL);
}

libqos_init(register_virtio_desk_validation_test);
