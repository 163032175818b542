/*
 * A VNC client for virtio-desk qtests: what QEMU's VNC server sends a real
 * viewer, over a Unix socket.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <poll.h>
#include "../libqtest.h"
#include "qemu/bswap.h"
#include "qemu/sockets.h"
#include "qapi/error.h"
#include "virtio-desk.h"
#include "virtio-desk-vnc.h"

static void vnc_socket_cleanup(gpointer sock)
{
    g_autofree char *dir = g_path_get_dirname(sock);

    unlink(sock);
    rmdir(dir);
    g_free(sock);
}

const char *qdesk_vnc_socket_path(void)
{
    g_autofree char *dir = g_dir_make_tmp("virtio-desk-vnc-XXXXXX", NULL);
    char *sock;

    g_assert(dir);
    sock = g_build_filename(dir, "vnc.sock", NULL);
    g_test_queue_destroy(vnc_socket_cleanup, sock);
    return sock;
}

char *qdesk_vnc_option(const char *sock, int head)
{
    return g_strdup_printf("-vnc unix:%s,display=%s,head=%d", sock,
                           QVIRTIO_DESK_ID, head);
}

void *qdesk_vnc_add(GString *cmd_line, void *arg)
{
    const char *sock = qdesk_vnc_socket_path();
    g_autofree char *opt = qdesk_vnc_option(sock, GPOINTER_TO_INT(arg));

    g_string_append_printf(cmd_line, " %s", opt);
    return (void *)sock;
}

void qdesk_vnc_read(int fd, void *buf, size_t len)
{
    g_assert_cmpint(recv(fd, buf, len, MSG_WAITALL), ==, len);
}

void qdesk_vnc_write(int fd, const void *buf, size_t len)
{
    g_assert_cmpint(qemu_send_full(fd, buf, len), ==, len);
}

int qdesk_vnc_connect(const char *sock, const int32_t *encodings, int n)
{
    g_autofree uint8_t *set_encodings = g_malloc(4 + 4 * n);
    int fd = unix_connect(sock, &error_abort);
    char version[12];
    uint8_t ntypes, types[255], init[24];
    g_autofree char *name = NULL;

    qdesk_vnc_read(fd, version, sizeof(version));
    g_assert(!memcmp(version, "RFB 003.008\n", sizeof(version)));
    qdesk_vnc_write(fd, version, sizeof(version));
    qdesk_vnc_read(fd, &ntypes, 1);
    qdesk_vnc_read(fd, types, ntypes);
    g_assert(memchr(types, 1, ntypes));
    qdesk_vnc_write(fd, "\x01", 1);                 /* security type None */
    qdesk_vnc_read(fd, init, 4);                    /* SecurityResult */
    g_assert_cmpuint(ldl_be_p(init), ==, 0);
    qdesk_vnc_write(fd, "\x01", 1);                 /* ClientInit: shared */
    qdesk_vnc_read(fd, init, sizeof(init));         /* ServerInit, w/o name */
    name = g_malloc(ldl_be_p(init + 20));
    qdesk_vnc_read(fd, name, ldl_be_p(init + 20));

    set_encodings[0] = 2;                           /* SetEncodings */
    set_encodings[1] = 0;
    stw_be_p(set_encodings + 2, n);
    for (int i = 0; i < n; i++) {
        stl_be_p(set_encodings + 4 + 4 * i, encodings[i]);
    }
    qdesk_vnc_write(fd, set_encodings, 4 + 4 * n);
    return fd;
}

QDeskVncCursor qdesk_vnc_read_cursor(int fd)
{
    uint8_t hdr[4], rect[12], enc[4];
    QDeskVncCursor c;
    size_t n;

    qdesk_vnc_read(fd, hdr, sizeof(hdr));
    g_assert_cmpuint(hdr[0], ==, 0);                /* FramebufferUpdate */
    g_assert_cmpuint(lduw_be_p(hdr + 2), ==, 1);    /* one rect */
    qdesk_vnc_read(fd, rect, sizeof(rect));
    g_assert_cmpint((int32_t)ldl_be_p(rect + 8), ==, QDESK_VNC_ALPHA_CURSOR);
    c.hot_x = lduw_be_p(rect);
    c.hot_y = lduw_be_p(rect + 2);
    c.width = lduw_be_p(rect + 4);
    c.height = lduw_be_p(rect + 6);
    qdesk_vnc_read(fd, enc, sizeof(enc));
    g_assert_cmpint(ldl_be_p(enc), ==, 0);          /* the image is Raw */
    n = (size_t)c.width * c.height;
    c.argb = g_new(uint32_t, n);
    /* RGBA bytes, which QEMU sends as its little-endian 0xAARRGGBB words */
    qdesk_vnc_read(fd, c.argb, n * 4);
    for (size_t i = 0; i < n; i++) {
        c.argb[i] = le32_to_cpu(c.argb[i]);
    }
    return c;
}

bool qdesk_vnc_quiet(int fd, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, ms) == 0;
}
