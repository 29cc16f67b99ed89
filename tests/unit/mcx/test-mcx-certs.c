/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The certificates `mcx up` makes: the server certificate chains to the
 * deployment CA (X509_verify_cert, TLS server purpose), names loopback and
 * the realm's hosts and nothing else, keys are 0600, and a second run reuses
 * the files; a server certificate of another CA is replaced.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mcx-orch.h"

static char dir[256];
static char err[1024];

static X509 *load(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(x);
    return x;
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/mcx-certs-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_chain_verifies(void **state)
{
    mcx_cert_paths_t p;
    mcx_certs_paths(dir, dir, &p);
    bool made = false;
    if (mcx_certs_ensure(&p, "alpha.test", &made, err, sizeof(err)))
        fail_msg("%s", err);
    assert_true(made);

    X509 *ca = load(p.ca_cert), *x = load(p.cert);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    int ok = X509_verify_cert(ctx);
    if (ok != 1)
        fail_msg("verify: %s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));

    /* Names: loopback, localhost, the realm and its idms/cms/gms hosts. */
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    const char *good[] = {"localhost", "alpha.test", "idms.alpha.test", "cms.alpha.test",
                          "gms.alpha.test"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(X509_check_host(x, good[i], 0, 0, NULL), 1);
    assert_int_not_equal(X509_check_host(x, "beta.test", 0, 0, NULL), 1);
    assert_int_not_equal(X509_check_host(x, "x.idms.alpha.test", 0, 0, NULL), 1);
    /* The CA is a CA, the server certificate is not. */
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_check_ca(x), 0);
    /* EC P-256. */
    EVP_PKEY *pub = X509_get0_pubkey(x);
    char group[32] = "";
    size_t glen = 0;
    assert_int_equal(EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof(group), &glen), 1);
    assert_string_equal(group, "prime256v1");

    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(ca);
    X509_free(x);

    struct stat st;
    assert_int_equal(stat(p.ca_key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(p.key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(mcx_certs_verify(p.ca_cert, p.cert, "idms.alpha.test", err, sizeof(err)), 0);
}

static void test_reused(void **state)
{
    mcx_cert_paths_t p;
    mcx_certs_paths(dir, dir, &p);
    bool made = true;
    if (mcx_certs_ensure(&p, "alpha.test", &made, err, sizeof(err)))
        fail_msg("%s", err);
    X509 *a = load(p.cert), *ca1 = load(p.ca_cert);
    assert_int_equal(mcx_certs_ensure(&p, "alpha.test", &made, err, sizeof(err)), 0);
    assert_false(made);
    X509 *b = load(p.cert), *ca2 = load(p.ca_cert);
    assert_int_equal(X509_cmp(a, b), 0);
    assert_int_equal(X509_cmp(ca1, ca2), 0);
    X509_free(a);
    X509_free(b);
    X509_free(ca1);
    X509_free(ca2);
}

static void test_other_ca_replaced(void **state)
{
    /* A server certificate signed by another CA is made again for this one. */
    char other[300];
    snprintf(other, sizeof(other), "%s/other", dir);
    assert_int_equal(mkdir(other, 0755), 0);
    mcx_cert_paths_t o, p;
    mcx_certs_paths(other, other, &o);
    assert_int_equal(mcx_certs_ensure(&o, "alpha.test", NULL, err, sizeof(err)), 0);
    mcx_certs_paths(dir, dir, &p);
    assert_int_equal(mcx_certs_ensure(&p, "alpha.test", NULL, err, sizeof(err)), 0);
    assert_int_not_equal(mcx_certs_verify(o.ca_cert, p.cert, NULL, err, sizeof(err)), 0);
    /* Put the foreign one in place. */
    char cmd[4 * PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s' '%s'", o.cert, p.cert, o.key, p.key);
    assert_int_equal(system(cmd), 0);
    bool made = false;
    assert_int_equal(mcx_certs_ensure(&p, "alpha.test", &made, err, sizeof(err)), 0);
    assert_true(made);
    assert_int_equal(mcx_certs_verify(p.ca_cert, p.cert, "gms.alpha.test", err, sizeof(err)), 0);
    /* Another realm: the certificate does not name it, so it is made again. */
    assert_int_equal(mcx_certs_ensure(&p, "beta.test", &made, err, sizeof(err)), 0);
    assert_true(made);
    assert_int_equal(mcx_certs_verify(p.ca_cert, p.cert, "cms.beta.test", err, sizeof(err)), 0);
}

static void test_ca_without_its_key(void **state)
{
    mcx_cert_paths_t p;
    mcx_certs_paths(dir, NULL, &p);
    assert_int_equal(mcx_certs_ensure(&p, "alpha.test", NULL, err, sizeof(err)), 0);
    assert_int_equal(unlink(p.ca_key), 0);
    assert_int_equal(mcx_certs_ensure(&p, "alpha.test", NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "ca-key.pem"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_ca_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_without_its_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
