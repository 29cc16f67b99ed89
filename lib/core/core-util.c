/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Hex, bounded string copy, the monotonic clock, daemon signal handling and
 * the daemons' common command line.
 */
#include "mcx-core.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

int mcx_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mcx_hex_decode(const char *hex, uint8_t *out, size_t len)
{
    if (!hex)
        return -EINVAL;
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    if (strlen(hex) != 2 * len)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        int hi = mcx_hex_digit((unsigned char)hex[2 * i]);
        int lo = mcx_hex_digit((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

char *mcx_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
    return out;
}

int mcx_strlcpy(char *dst, const char *src, size_t size)
{
    if (size == 0)
        return -ENAMETOOLONG;
    size_t n = strlen(src);
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return -ENAMETOOLONG;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

uint64_t mcx_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

int mcx_signals_block(void)
{
    sigset_t set;
    signal_set(&set);
    signal(SIGPIPE, SIG_IGN);
    int rv = pthread_sigmask(SIG_BLOCK, &set, NULL);
    return rv ? -rv : 0;
}

int mcx_signals_wait(void)
{
    sigset_t set;
    signal_set(&set);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}

int mcx_daemon_args(int argc, char **argv, void (*usage)(FILE *fp), const char **config,
                    bool *check)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *config = NULL;
    *check = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'k':
            *check = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!*config || optind != argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}
