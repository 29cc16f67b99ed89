/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-core: what every mcxcore library and daemon shares: logging, hex and
 * string helpers, the randomness seam and the table-driven YAML config loader.
 * Nothing here knows about Diameter, SIP or storage.
 */
#ifndef MCX_CORE_H
#define MCX_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum {
    MCX_LOG_ERROR = 0,
    MCX_LOG_WARN = 1,
    MCX_LOG_NOTICE = 2,
    MCX_LOG_INFO = 3,
    MCX_LOG_DEBUG = 4,
} mcx_log_level_t;

/*
 * Set the program name printed on every line and the most verbose level that
 * is printed. Call once from main() before any thread starts. `prog` is
 * borrowed and must outlive the process (a string literal or argv[0]).
 */
void mcx_log_init(const char *prog, mcx_log_level_t level);
void mcx_log_set_level(mcx_log_level_t level);
mcx_log_level_t mcx_log_get_level(void);

/* Parse "error|warn|notice|info|debug". Returns 0 or -EINVAL. */
int mcx_log_level_parse(const char *s, mcx_log_level_t *out);

/*
 * Print one line to stderr: "<UTC time> <prog>[<pid>] <LEVEL> <message>".
 * Safe from any thread; a line is never interleaved with another.
 * Never pass key material (K, OPc, CK, IK, passwords) to it.
 */
void mcx_log(mcx_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mcx_vlog(mcx_log_level_t level, const char *fmt, va_list ap);

#define MCX_ERR(...) mcx_log(MCX_LOG_ERROR, __VA_ARGS__)
#define MCX_WARN(...) mcx_log(MCX_LOG_WARN, __VA_ARGS__)
#define MCX_NOTICE(...) mcx_log(MCX_LOG_NOTICE, __VA_ARGS__)
#define MCX_INFO(...) mcx_log(MCX_LOG_INFO, __VA_ARGS__)
#define MCX_DEBUG(...)                                                         \
    do {                                                                       \
        if (mcx_log_get_level() >= MCX_LOG_DEBUG)                              \
            mcx_log(MCX_LOG_DEBUG, __VA_ARGS__);                               \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Hex and strings                                                          */
/* ------------------------------------------------------------------------ */

/* The value of the hex digit c (either case), or -1. */
int mcx_hex_digit(int c);

/*
 * Decode exactly `len` bytes from the hex string `hex` (upper or lower case,
 * no separators, optional "0x" prefix) into `out`.
 * Returns 0, or -EINVAL if `hex` is not exactly 2*len hex digits.
 */
int mcx_hex_decode(const char *hex, uint8_t *out, size_t len);

/*
 * Encode `len` bytes as lower-case hex into `out`, which must hold
 * 2*len + 1 bytes. Always NUL-terminates. Returns `out`.
 */
char *mcx_hex_encode(const uint8_t *in, size_t len, char *out);

/*
 * Copy `src` into `dst` of size `size`, always NUL-terminated.
 * Returns 0, or -ENAMETOOLONG if `src` did not fit (dst then holds a
 * truncated copy).
 */
int mcx_strlcpy(char *dst, const char *src, size_t size);

/* Monotonic clock in microseconds. */
uint64_t mcx_now_us(void);

/* ------------------------------------------------------------------------ */
/* Daemon signals                                                           */
/* ------------------------------------------------------------------------ */

/*
 * Block SIGINT, SIGTERM and SIGHUP in the calling thread, so that threads it
 * creates afterwards inherit the mask; ignore SIGPIPE. Call from main()
 * before starting any thread. Returns 0 or -errno.
 */
int mcx_signals_block(void);

/* Wait for one of the blocked signals; returns its number. */
int mcx_signals_wait(void);

/*
 * The command line every daemon takes: -c/--config FILE (required),
 * --check, -h/--help. `usage` prints the daemon's help to the stream it is
 * given. Returns -1 when the daemon should go on (*config and *check set),
 * otherwise the exit status: 0 after --help, 2 on a usage error.
 */
int mcx_daemon_args(int argc, char **argv, void (*usage)(FILE *fp), const char **config,
                    bool *check);

/* ------------------------------------------------------------------------ */
/* Randomness seam                                                          */
/* ------------------------------------------------------------------------ */

/*
 * Fill `buf` with `len` cryptographically strong random bytes.
 * Production builds link core-random.c (OpenSSL RAND_bytes); a test may link
 * its own definition instead. Returns 0 or -EIO.
 */
int mcx_random_bytes(uint8_t *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Table-driven YAML configuration                                          */
/* ------------------------------------------------------------------------ */

typedef enum {
    MCX_CONF_STRING,  /* char[size] at offset; size in .size */
    MCX_CONF_INT,     /* int64_t at offset, bounds .min .. .max */
    MCX_CONF_UINT,    /* uint32_t at offset, bounds .min .. .max */
    MCX_CONF_BOOL,    /* bool at offset */
    MCX_CONF_ENUM,    /* int at offset; .enum_names is a NULL-terminated list */
    MCX_CONF_MAP,     /* nested mapping; .sub describes it, offset of the sub-struct */
    MCX_CONF_LIST,    /* sequence of mappings; see below */
    MCX_CONF_STRLIST, /* sequence of scalars into char[cap][size] + count */
} mcx_conf_type_t;

typedef struct mcx_conf_field_s mcx_conf_field_t;

/*
 * One key of a mapping. A table is an array of these ended by an entry whose
 * .key is NULL. The loader rejects keys that are not in the table, values of
 * the wrong type or out of bounds, and missing required keys; each error
 * names the file, the line, the key path and the reason.
 *
 * MCX_CONF_LIST: the target is an array of `cap` elements of `elem_size`
 * bytes at `offset`, and the number of elements read is stored as an
 * unsigned int at `count_offset`. Each element is a mapping described by
 * `sub`; defaults of `sub` are applied to every element.
 * MCX_CONF_STRLIST: the target is char[cap][size] at `offset`, the count
 * an unsigned int at `count_offset`.
 */
struct mcx_conf_field_s {
    const char *key;
    mcx_conf_type_t type;
    size_t offset;
    size_t size;              /* STRING / STRLIST: buffer size per string */
    bool required;
    const char *def;          /* default as text, parsed like a YAML scalar; NULL = none */
    int64_t min, max;         /* INT / UINT bounds (inclusive); both 0 = unbounded */
    const char *const *enum_names;
    const mcx_conf_field_t *sub;
    size_t elem_size;         /* LIST */
    unsigned cap;             /* LIST / STRLIST capacity */
    size_t count_offset;      /* LIST / STRLIST */
    const char *help;         /* one line, for documentation */
};

/*
 * Load the YAML file at `path` into the struct at `base` following `table`.
 * Defaults are applied first, then the document. On error, returns
 * -EINVAL (bad document) or -errno (file not readable) and writes a message
 * of the form "<file>:<line>: <key.path>: <reason>" into `err`.
 */
int mcx_conf_load_file(const char *path, const mcx_conf_field_t *table, void *base,
                       char *err, size_t errlen);

/* As mcx_conf_load_file, from a NUL-terminated string; `name` labels errors. */
int mcx_conf_load_string(const char *name, const char *text, const mcx_conf_field_t *table,
                         void *base, char *err, size_t errlen);

/* Apply only the defaults of `table` to `base` (which must be zeroed first). */
int mcx_conf_apply_defaults(const mcx_conf_field_t *table, void *base, char *err,
                            size_t errlen);

#endif /* MCX_CORE_H */
