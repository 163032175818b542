/*
 * libqos driver for virtio-desk-pci
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LIBQOS_VIRTIO_DESK_H
#define TESTS_LIBQOS_VIRTIO_DESK_H

#include "qgraph.h"
#include "virtio.h"
#include "virtio-pci.h"
#include "standard-headers/linux/virtio_desk.h"

/* The qdev id tests use for screendump and QMP queries. */
#define QVIRTIO_DESK_ID "desk0"

typedef struct QVirtioDesk {
    QVirtioDevice *vdev;
} QVirtioDesk;

typedef struct QVirtioDeskPCI {
    QVirtioPCIDevice pci_vdev;
    QVirtioDesk desk;
} QVirtioDeskPCI;

/* --- driver side of the protocol, for tests ---------------------------- */

typedef struct QDesk {
    QTestState *qts;
    QVirtioDeskPCI *pci;
    QVirtioDevice *vdev;
    QGuestAllocator *alloc;
    QVirtQueue *vq;
    /* with VIRTIO_DESK_F_INPUT */
    QVirtQueue *event_vq;
    QVirtQueue *status_vq;
    uint64_t event_bufs;   /* one event-sized slot per event_vq descriptor */
} QDesk;

/* One device-readable piece of a request. */
typedef struct QDeskSeg {
    const void *data;
    size_t len;
} QDeskSeg;

/* Start the device accepting the device-specific features in @accept. */
QDesk qdesk_start_features(void *obj, QGuestAllocator *alloc, uint64_t accept);
/* ... accepting every feature the device offers. */
QDesk qdesk_start(void *obj, QGuestAllocator *alloc);
/* Free what qdesk_start() set up in the guest and the test. */
void qdesk_stop(QDesk *d);

uint32_t qdesk_submit(QDesk *d, const QDeskSeg *segs, int nseg, void *resp,
                      size_t resp_len, bool indirect);
uint32_t qdesk_cmd_segs(QDesk *d, const QDeskSeg *segs, int nseg);
uint32_t qdesk_cmd(QDesk *d, const void *req, size_t len);
uint32_t qdesk_create(QDesk *d, uint32_t id, uint32_t format,
                      uint32_t width, uint32_t height);
uint32_t qdesk_destroy(QDesk *d, uint32_t id);
uint32_t qdesk_scanout(QDesk *d, uint32_t output, uint32_t id,
                       uint32_t x, uint32_t y, uint32_t w, uint32_t h);
struct virtio_desk_xfer_rect qdesk_xrect(uint32_t x, uint32_t y, uint32_t w,
                                         uint32_t h, uint32_t stride,
                                         uint64_t offset);
uint32_t qdesk_transfer(QDesk *d, uint32_t id, uint32_t num_rects,
                        const struct virtio_desk_xfer_rect *rects,
                        size_t rects_len, const void *payload,
                        size_t payload_len, size_t chunk);
void qdesk_assert_alive(QDesk *d);

/* Input: make @n event buffers of @len bytes available (descriptors 0..n-1). */
void qdesk_event_post(QDesk *d, unsigned int n, uint32_t len);
/* Wait for @n used event buffers; returns their events (and lengths). */
void qdesk_event_read(QDesk *d, unsigned int n,
                      struct virtio_desk_input_event *ev, uint32_t *lens);
/* Is another used event buffer there right now? */
bool qdesk_event_pending(QDesk *d);
/* Press (@down) or release a key, by QKeyCode name, through QMP. */
void qdesk_send_key(QTestState *qts, const char *qcode, bool down);
/* One expected event: its device, type, code and value (output 0). */
typedef struct QDeskEv {
    uint16_t device, type, code;
    int32_t value;
} QDeskEv;
/* Read @n events and assert they are @want, and that no more are there. */
void qdesk_expect_events(QDesk *d, const QDeskEv *want, unsigned int n);
/* Send @len bytes on the status queue; returns the used length. */
uint32_t qdesk_status_submit(QDesk *d, const void *msg, size_t len,
                             void *resp, size_t resp_len);
/* ... with a full result buffer; returns the response type. */
uint32_t qdesk_status_send(QDesk *d, const void *msg, size_t len);

/* What QMP screendump shows of one output: 3 bytes a pixel, R G B. */
typedef struct QDeskImage {
    uint32_t width, height;
    uint8_t *rgb;           /* g_free() it */
} QDeskImage;

/* Screendump of output @head of the device with id QVIRTIO_DESK_ID. */
QDeskImage qdesk_screendump(QTestState *qts, int head);

/*
 * Migration: give qdesk_remember_cmdline as the test's QOSGraphTestOptions
 * .before; qdesk_migrate() then moves the machine to a new QEMU and returns
 * it, running.  The source stays stopped: the test must then call
 * qos_invalidate_command_line() so that the next test gets a new QEMU.
 */
void *qdesk_remember_cmdline(GString *cmd_line, void *arg);
QTestState *qdesk_migrate(QTestState *src);
/* Start a QEMU like the test's, plus @extra options, -incoming defer. */
QTestState *qdesk_incoming(const char *extra);
/* Wait for the migration on @qts to end: NULL if it completed, else why not. */
char *qdesk_migration_end(QTestState *qts);

#endif
