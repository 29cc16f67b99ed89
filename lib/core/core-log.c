/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * One-line logging to stderr. Every line carries a UTC timestamp, the program
 * name and pid, and the level, so logs of several daemons can be merged.
 */
#include "mcx-core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "mcx";
static volatile int log_level = MCX_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "notice", "info", "debug"};

void mcx_log_init(const char *prog, mcx_log_level_t level)
{
    if (prog) {
        const char *slash = strrchr(prog, '/');
        log_prog = slash ? slash + 1 : prog;
    }
    log_level = level;
}

void mcx_log_set_level(mcx_log_level_t level)
{
    log_level = level;
}

mcx_log_level_t mcx_log_get_level(void)
{
    return (mcx_log_level_t)log_level;
}

int mcx_log_level_parse(const char *s, mcx_log_level_t *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (mcx_log_level_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

void mcx_vlog(mcx_log_level_t level, const char *fmt, va_list ap)
{
    if ((int)level > log_level)
        return;

    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

    static const char *const upper[] = {"ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};
    /* One fprintf per line: stdio locks the stream, so lines never interleave. */
    fprintf(stderr, "%s.%03ldZ %s[%d] %s %s\n", ts, (long)(tv.tv_usec / 1000), log_prog,
            (int)getpid(), upper[level], msg);
}

void mcx_log(mcx_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mcx_vlog(level, fmt, ap);
    va_end(ap);
}
