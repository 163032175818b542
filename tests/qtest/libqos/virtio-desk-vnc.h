/*
 * A VNC client for virtio-desk qtests: what QEMU's VNC server sends a real
 * viewer, over a Unix socket.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LIBQOS_VIRTIO_DESK_VNC_H
#define TESTS_LIBQOS_VIRTIO_DESK_VNC_H

/* RFB pseudo-encodings the tests announce */
#define QDESK_VNC_EXTENDED_DESKTOP_SIZE (-308)
#define QDESK_VNC_ALPHA_CURSOR          (-314)

/*
 * QOSGraphTestOptions.before: a VNC server on a new Unix socket showing
 * output @arg (a head number cast to a pointer; NULL: output 0) of the
 * device QVIRTIO_DESK_ID; returns the socket's path, removed after the test.
 */
void *qdesk_vnc_add(GString *cmd_line, void *arg);
/* The command line option qdesk_vnc_add() adds for @sock and @head. */
char *qdesk_vnc_option(const char *sock, int head);
/* A new socket path in a new directory, both gone after the test. */
const char *qdesk_vnc_socket_path(void);

/* RFB 3.8 up to ServerInit, then SetEncodings with @n @encodings. */
int qdesk_vnc_connect(const char *sock, const int32_t *encodings, int n);
void qdesk_vnc_read(int fd, void *buf, size_t len);
void qdesk_vnc_write(int fd, const void *buf, size_t len);

/* A cursor as an AlphaCursor client gets it. */
typedef struct QDeskVncCursor {
    uint32_t hot_x, hot_y, width, height;
    uint32_t *argb;         /* width * height, 0xAARRGGBB; g_free() it */
} QDeskVncCursor;

/*
 * Read the next server message, which must be a FramebufferUpdate with one
 * AlphaCursor rect (the client asked for no framebuffer update), and
 * return that cursor.
 */
QDeskVncCursor qdesk_vnc_read_cursor(int fd);
/* Nothing from the server within @ms milliseconds? */
bool qdesk_vnc_quiet(int fd, int ms);

#endif
