/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The production randomness source. Kept in its own file so that a test can
 * link a deterministic mcx_random_bytes() instead (a link-time seam).
 */
#include "mcx-core.h"

#include <errno.h>
#include <limits.h>
#include <openssl/rand.h>

int mcx_random_bytes(uint8_t *buf, size_t len)
{
    if (len > INT_MAX)
        return -EINVAL;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}
