/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests of mcx-server's body parsers: Content-Type parameters,
 * multipart/mixed splitting (good, CRLF and LF, malformed, truncated at
 * every length), message/sip bodies and mcptt-info extraction.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server-body.h"

#define INFO_OK                                                                                    \
    "<?xml version=\"1.0\"?><mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\"><mcptt-Params>"         \
    "<mcptt-access-token type=\"Normal\"><mcpttString> aaa.bbb.ccc </mcpttString>"                 \
    "</mcptt-access-token><mcptt-client-id type=\"Normal\"><mcpttString>mcx-ue</mcpttString>"      \
    "</mcptt-client-id></mcptt-Params></mcpttinfo>"

#define MP                                                                                         \
    "preamble\r\n--b1\r\nContent-Type: application/poc-settings+xml\r\n\r\n<poc/>\r\n"             \
    "--b1\r\nContent-Type: application/vnd.3gpp.mcptt-info+xml\r\n\r\n" INFO_OK "\r\n--b1--\r\n"

static void test_ctype(void **state)
{
    char mime[SERVER_MIME_MAX], bd[SERVER_BOUNDARY_MAX + 1];
    const char *s = "Multipart/Mixed ; charset=utf-8; boundary=\"a b;c\"";
    assert_int_equal(server_ctype_parse(s, strlen(s), mime, sizeof(mime), bd, sizeof(bd)), 0);
    assert_string_equal(mime, "multipart/mixed");
    assert_string_equal(bd, "a b;c");
    s = "multipart/mixed;boundary=xyz";
    assert_int_equal(server_ctype_parse(s, strlen(s), mime, sizeof(mime), bd, sizeof(bd)), 0);
    assert_string_equal(bd, "xyz");
    const char *bad[] = {"",
                         "multipart",
                         "/mixed",
                         "multipart/",
                         "a/b;",
                         "a/b; x",
                         "a/b; boundary=\"open",
                         "a/b; boundary=",
                         "a/b; boundary=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                         "a/b c"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(
            server_ctype_parse(bad[i], strlen(bad[i]), mime, sizeof(mime), bd, sizeof(bd)),
            -EINVAL);
}

static void test_multipart(void **state)
{
    server_part_t p[4];
    unsigned n;
    assert_int_equal(server_multipart_split(MP, strlen(MP), "b1", p, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(p[0].mime, "application/poc-settings+xml");
    assert_int_equal(p[0].len, 6);
    assert_memory_equal(p[0].body, "<poc/>", 6);
    assert_string_equal(p[1].mime, MIME_MCPTT_INFO);
    assert_int_equal(p[1].len, strlen(INFO_OK));
    /* bare LF line ends */
    const char *lf = "--b1\nContent-Type: text/x\n\nhello\n--b1--";
    assert_int_equal(server_multipart_split(lf, strlen(lf), "b1", p, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].len, 5);
    /* a boundary that only prefixes a longer one is not a delimiter */
    const char *pre = "--b1\r\n\r\nx\r\n--b12\r\ny\r\n--b1--";
    assert_int_equal(server_multipart_split(pre, strlen(pre), "b1", p, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(p[0].mime, "text/plain");
    assert_int_equal(p[0].len, strlen("x\r\n--b12\r\ny"));
    /* too many parts */
    const char *many = "--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--";
    assert_int_equal(server_multipart_split(many, strlen(many), "b", p, 2, &n), -E2BIG);
}

static void test_multipart_malformed(void **state)
{
    server_part_t p[4];
    unsigned n;
    const char *bad[] = {
        "",
        "no delimiter at all",
        "--b1\r\nContent-Type: a/b\r\n\r\nunterminated",
        "--b1--",
        "--b1\r\nContent-Type a/b\r\n\r\nx\r\n--b1--",
        "--b1\r\nContent-Type: a/b\r\nContent-Type: a/c\r\n\r\nx\r\n--b1--",
        "--b1\r\nContent-Type: /\r\n\r\nx\r\n--b1--",
        "--b1xyz\r\n\r\nx\r\n--b1--",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(server_multipart_split(bad[i], strlen(bad[i]), "b1", p, 4, &n), -EBADMSG);
    assert_int_equal(server_multipart_split(MP, strlen(MP), "", p, 4, &n), -EBADMSG);
    /* Every truncation of a good body: never a crash, never a read past the end
     * (the copy is exactly the truncated length, so ASan would see it). */
    size_t len = strlen(MP);
    for (size_t cut = 0; cut <= len; cut++) {
        char *c = malloc(cut ? cut : 1);
        memcpy(c, MP, cut);
        int rv = server_multipart_split(c, cut, "b1", p, 4, &n);
        assert_true(rv == 0 || rv == -EBADMSG);
        const char *x;
        size_t xl;
        rv = server_find_mcptt_info(MIME_MULTIPART, "b1", c, cut, &x, &xl);
        assert_true(rv == 0 || rv == -EBADMSG || rv == -ENOENT);
        free(c);
    }
}

static void test_sipfrag(void **state)
{
    const char *m = "REGISTER sip:alpha.test SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4\r\n"
                    "c: multipart/mixed;boundary=b1\r\nContent-Length: 10\r\n\r\n" MP;
    server_part_t p;
    char bd[SERVER_BOUNDARY_MAX + 1];
    assert_int_equal(server_sipfrag_body(m, strlen(m), &p, bd, sizeof(bd)), 0);
    assert_string_equal(p.mime, MIME_MULTIPART);
    assert_string_equal(bd, "b1");
    assert_int_equal(p.len, strlen(MP));
    const char *x;
    size_t xl;
    assert_int_equal(server_find_mcptt_info(p.mime, bd, p.body, p.len, &x, &xl), 0);
    assert_int_equal(xl, strlen(INFO_OK));
    const char *bad[] = {"", "REGISTER\r\n\r\n", "garbage without line end",
                         "REGISTER sip:a SIP/2.0\r\nVia: x\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(server_sipfrag_body(bad[i], strlen(bad[i]), &p, bd, sizeof(bd)), -EBADMSG);
}

static server_info_status_t info(const char *xml, char *tok, char *cid)
{
    char why[200];
    return server_mcptt_info_parse(xml, strlen(xml), tok, 64, cid, 64, why, sizeof(why));
}

static void test_mcptt_info(void **state)
{
    char tok[64], cid[64];
    assert_int_equal(info(INFO_OK, tok, cid), SERVER_INFO_OK);
    assert_string_equal(tok, "aaa.bbb.ccc");
    assert_string_equal(cid, "mcx-ue");
    assert_int_equal(info("<mcpttinfo", tok, cid), SERVER_INFO_MALFORMED);
    assert_int_equal(info("<mcpttinfo xmlns=\"urn:x\"/>", tok, cid), SERVER_INFO_MALFORMED);
    assert_int_equal(info("<mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\"/>", tok, cid),
                     SERVER_INFO_NO_TOKEN);
    char enc[1024];
    snprintf(enc, sizeof(enc), "%s", INFO_OK);
    memcpy(strstr(enc, "\"Normal\""), "\"Crypto\"", 8);
    assert_int_equal(info(enc, tok, cid), SERVER_INFO_MALFORMED);
    const char *e = "<mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\"><mcptt-Params>"
                    "<mcptt-access-token type=\"Encrypted\"><mcpttString>x</mcpttString>"
                    "</mcptt-access-token></mcptt-Params></mcpttinfo>";
    assert_int_equal(info(e, tok, cid), SERVER_INFO_ENCRYPTED);
    assert_string_equal(tok, "");
    const char *dtd = "<!DOCTYPE mcpttinfo [<!ENTITY t \"x\">]>"
                      "<mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\"><mcptt-Params>"
                      "<mcptt-access-token><mcpttString>&t;</mcpttString>"
                      "</mcptt-access-token></mcptt-Params></mcpttinfo>";
    assert_int_equal(info(dtd, tok, cid), SERVER_INFO_MALFORMED);
    char big[300];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char doc[600];
    snprintf(doc, sizeof(doc),
             "<mcpttinfo xmlns=\"urn:3gpp:ns:mcpttInfo:1.0\"><mcptt-Params>"
             "<mcptt-access-token><mcpttString>%s</mcpttString></mcptt-access-token>"
             "</mcptt-Params></mcpttinfo>",
             big);
    assert_int_equal(info(doc, tok, cid), SERVER_INFO_MALFORMED); /* longer than tok */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctype),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_multipart_malformed),
        cmocka_unit_test(test_sipfrag),
        cmocka_unit_test(test_mcptt_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
