/*
 * virtio-desk: copying a request's payload out of its descriptor chain
 *
 * Self-contained on purpose: bench/copybench.c times this very function
 * outside QEMU.  The includer provides struct iovec, memcpy() and the
 * fixed-width integer types (qemu/osdep.h in QEMU, the C library's
 * headers in the benchmark).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_DISPLAY_VIRTIO_DESK_COPY_H
#define HW_DISPLAY_VIRTIO_DESK_COPY_H

/*
 * Copy @len bytes at @offset of the chain's readable bytes to @dst.  The
 * caller has checked the range.  *idx and *base remember where the last
 * copy ended, so consecutive rows of a rect cost O(1) to find.
 */
static inline void virtio_desk_copy_from_chain(const struct iovec *iov,
                                               unsigned int *idx,
                                               size_t *base, size_t offset,
                                               uint8_t *dst, size_t len)
{
    size_t skip;

    if (offset < *base) {
        *idx = 0;
        *base = 0;
    }
    while (offset - *base >= iov[*idx].iov_len) {
        *base += iov[*idx].iov_len;
        (*idx)++;
    }
    skip = offset - *base;
    while (len) {
        size_t avail = iov[*idx].iov_len - skip;
        size_t n = len < avail ? len : avail;

        memcpy(dst, (uint8_t *)iov[*idx].iov_base + skip, n);
        dst += n;
        len -= n;
        if (len) {
            *base += iov[*idx].iov_len;
            (*idx)++;
            skip = 0;
        }
    }
}

#endif
