/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * jose-rate: how many access tokens per second lib/jose signs and verifies,
 * on one thread and on N threads sharing one key and one trust set.
 * "verify new" verifies tokens never seen before (the ECDSA check runs);
 * "verify again" the same token over and over (its signature is cached, as
 * for a client presenting its access token on every request).
 * Usage: jose-rate [seconds-per-phase] [threads]. Not run by `meson test`.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcx-jose.h"

#define ISS "https://127.0.0.1:8443/idms"

static mcx_jose_key_t *key;
static mcx_jose_trust_t *trust;
static json_t *claims;
static char *token;
static double seconds = 2.0;

static double now_s(void)
{
    return (double)mcx_now_us() / 1e6;
}

static void *sign_loop(void *arg)
{
    unsigned long *n = arg;
    double end = now_s() + seconds;
    while (now_s() < end) {
        for (int i = 0; i < 50; i++) {
            char *t = NULL;
            if (mcx_jose_sign(key, "at+jwt", claims, &t) != 0)
                abort();
            free(t);
        }
        *n += 50;
    }
    return NULL;
}

static void *verify_loop(void *arg)
{
    unsigned long *n = arg;
    mcx_jose_expect_t e = {.audience = "cms.alpha.test",
                           .scope = "3gpp:mc:ptt_config_management_service",
                           .typ = "at+jwt", .leeway_s = 30};
    double end = now_s() + seconds;
    while (now_s() < end) {
        for (int i = 0; i < 50; i++) {
            char why[128];
            if (mcx_jose_verify(trust, token, &e, NULL, why, sizeof(why)) != MCX_JOSE_OK) {
                fprintf(stderr, "verify: %s\n", why);
                abort();
            }
        }
        *n += 50;
    }
    return NULL;
}

/* Verify each of n distinct tokens once; returns tokens/s. */
static double fresh_rate(unsigned n)
{
    char **toks = calloc(n, sizeof(char *));
    if (!toks)
        abort();
    for (unsigned i = 0; i < n; i++) {
        char jti[32];
        snprintf(jti, sizeof(jti), "fresh-%u", i);
        json_object_set_new(claims, "jti", json_string(jti));
        if (mcx_jose_sign(key, "at+jwt", claims, &toks[i]) != 0)
            abort();
    }
    mcx_jose_expect_t e = {.audience = "cms.alpha.test", .typ = "at+jwt", .leeway_s = 30};
    double t0 = now_s();
    for (unsigned i = 0; i < n; i++) {
        char why[128];
        if (mcx_jose_verify(trust, toks[i], &e, NULL, why, sizeof(why)) != MCX_JOSE_OK) {
            fprintf(stderr, "verify: %s\n", why);
            abort();
        }
    }
    double rate = n / (now_s() - t0);
    for (unsigned i = 0; i < n; i++)
        free(toks[i]);
    free(toks);
    return rate;
}

static double run(void *(*fn)(void *), unsigned threads)
{
    pthread_t th[64];
    unsigned long counts[64] = {0};
    double t0 = now_s();
    for (unsigned i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, fn, &counts[i]);
    unsigned long total = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += counts[i];
    }
    return (double)total / (now_s() - t0);
}

int main(int argc, char **argv)
{
    unsigned threads = 2;
    if (argc > 1)
        seconds = atof(argv[1]);
    if (argc > 2)
        threads = (unsigned)atoi(argv[2]);
    if (seconds <= 0 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: jose-rate [seconds] [threads 1..64]\n");
        return 2;
    }
    mcx_log_init("jose-rate", MCX_LOG_WARN);
    char dir[] = "/tmp/jose-rate-XXXXXX", path[64], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/k.pem", dir);
    if (mcx_jose_key_load_or_create(path, &key, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    unlink(path);
    rmdir(dir);
    char *jwks = mcx_jose_key_jwks(key);
    trust = mcx_jose_trust_new();
    if (mcx_jose_trust_add_jwks(trust, ISS, jwks, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    free(jwks);
    json_int_t t = (json_int_t)time(NULL);
    claims = json_pack("{s:s, s:s, s:[s,s,s], s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", ISS,
                       "sub", "alice", "aud", "cms.alpha.test", "gms.alpha.test",
                       "mcptt.alpha.test", "client_id", "mcx-ue", "scope",
                       "openid 3gpp:mc:ptt_service 3gpp:mc:ptt_config_management_service "
                       "3gpp:mc:ptt_group_management_service",
                       "mcptt_id", "sip:alice@alpha.test", "iat", t, "nbf", t, "exp", t + 3600,
                       "jti", "0123456789abcdef0123456789abcdef");
    if (mcx_jose_sign(key, "at+jwt", claims, &token))
        return 1;
    printf("token %zu bytes\n", strlen(token));
    printf("sign   1 thread : %8.0f tokens/s\n", run(sign_loop, 1));
    printf("verify new   1 thread : %8.0f tokens/s\n", fresh_rate((unsigned)(seconds * 15000)));
    printf("verify again 1 thread : %8.0f tokens/s\n", run(verify_loop, 1));
    if (threads > 1) {
        printf("sign   %u threads: %8.0f tokens/s\n", threads, run(sign_loop, threads));
        printf("verify again %u threads: %8.0f tokens/s\n", threads, run(verify_loop, threads));
    }
    free(token);
    json_decref(claims);
    mcx_jose_trust_free(trust);
    mcx_jose_key_free(key);
    return 0;
}
