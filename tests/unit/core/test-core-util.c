/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/core string helpers: mcx_hex_decode / mcx_hex_encode edge cases and
 * mcx_strlcpy truncation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mcx-core.h"

static void test_hex_decode_ok(void **state)
{
    uint8_t out[4];
    assert_int_equal(mcx_hex_decode("00ff7a10", out, 4), 0);
    assert_memory_equal(out, "\x00\xff\x7a\x10", 4);
    assert_int_equal(mcx_hex_decode("ABcdEF09", out, 4), 0);
    assert_memory_equal(out, "\xab\xcd\xef\x09", 4);
    assert_int_equal(mcx_hex_decode("0x0102a0B0", out, 4), 0);
    assert_memory_equal(out, "\x01\x02\xa0\xb0", 4);
    assert_int_equal(mcx_hex_decode("0X0102a0B0", out, 4), 0);
    assert_memory_equal(out, "\x01\x02\xa0\xb0", 4);
    /* Zero bytes from an empty string. */
    assert_int_equal(mcx_hex_decode("", out, 0), 0);
    /* "0x" is taken as a prefix only when followed by the digits; "0x00" is one byte. */
    assert_int_equal(mcx_hex_decode("0x00", out, 1), 0);
    assert_int_equal(out[0], 0);
}

static void test_hex_decode_bad(void **state)
{
    uint8_t out[4];
    assert_int_equal(mcx_hex_decode(NULL, out, 4), -EINVAL);
    assert_int_equal(mcx_hex_decode("00ff7a1", out, 4), -EINVAL);    /* odd, short */
    assert_int_equal(mcx_hex_decode("00ff7a", out, 4), -EINVAL);     /* short */
    assert_int_equal(mcx_hex_decode("00ff7a1011", out, 4), -EINVAL); /* long */
    assert_int_equal(mcx_hex_decode("00ff7a1g", out, 4), -EINVAL);   /* not hex */
    assert_int_equal(mcx_hex_decode("g0ff7a10", out, 4), -EINVAL);
    assert_int_equal(mcx_hex_decode("00 f7a10", out, 4), -EINVAL); /* separator */
    assert_int_equal(mcx_hex_decode("00:ff:7a", out, 3), -EINVAL);
    assert_int_equal(mcx_hex_decode("0x0x0102", out, 3), -EINVAL); /* one prefix only */
    assert_int_equal(mcx_hex_decode("0x", out, 1), -EINVAL);
    assert_int_equal(mcx_hex_decode("-1020304", out, 4), -EINVAL);
    assert_int_equal(mcx_hex_decode("", out, 1), -EINVAL);
}

static void test_hex_encode(void **state)
{
    char out[9];
    memset(out, 'z', sizeof(out));
    assert_ptr_equal(mcx_hex_encode((const uint8_t *)"\x00\xff\x0a\xB0", 4, out), out);
    assert_string_equal(out, "00ff0ab0");
    memset(out, 'z', sizeof(out));
    assert_string_equal(mcx_hex_encode((const uint8_t *)"", 0, out), "");

    /* Round trip through every byte value. */
    uint8_t all[256], back[256];
    char hex[513];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    mcx_hex_encode(all, sizeof(all), hex);
    assert_int_equal(strlen(hex), 512);
    assert_int_equal(mcx_hex_decode(hex, back, sizeof(back)), 0);
    assert_memory_equal(all, back, sizeof(all));
}

static void test_strlcpy(void **state)
{
    char dst[6];
    assert_int_equal(mcx_strlcpy(dst, "abc", sizeof(dst)), 0);
    assert_string_equal(dst, "abc");
    /* Exactly size - 1 characters fit. */
    assert_int_equal(mcx_strlcpy(dst, "abcde", sizeof(dst)), 0);
    assert_string_equal(dst, "abcde");
    /* One more is truncated, still terminated. */
    assert_int_equal(mcx_strlcpy(dst, "abcdef", sizeof(dst)), -ENAMETOOLONG);
    assert_string_equal(dst, "abcde");
    assert_int_equal(mcx_strlcpy(dst, "", sizeof(dst)), 0);
    assert_string_equal(dst, "");
    assert_int_equal(mcx_strlcpy(dst, "x", 1), -ENAMETOOLONG);
    assert_int_equal(dst[0], '\0');
    /* size 0 writes nothing. */
    memcpy(dst, "keep!", 6);
    assert_int_equal(mcx_strlcpy(dst, "x", 0), -ENAMETOOLONG);
    assert_string_equal(dst, "keep!");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_decode_ok),
        cmocka_unit_test(test_hex_decode_bad),
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_strlcpy),
    };
    return cmocka_run_group_tests_name("core-util", tests, NULL, NULL);
}
