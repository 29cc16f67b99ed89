/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ISIM emulation for mcx-ue: challenge verdicts over lib/auth and the SEQ_MS
 * state file. The file is text so that an operator or a test can read and
 * edit it:  "ind_bits N" then one "seq_ms SLOT SEQ" line per slot.
 */
#include "ue-isim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/mcx-core.h"

static size_t slots_of(const ue_isim_t *isim)
{
    return (size_t)1 << isim->ind_bits;
}

/* Parse one unsigned decimal number that must be <= max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int load_file(ue_isim_t *isim, FILE *fp, char *err, size_t errlen)
{
    char line[256];
    unsigned lineno = 0;
    bool seen_bits = false;
    uint64_t seq_max = MCX_SQN_MAX >> isim->ind_bits;

    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(fp)) {
            snprintf(err, errlen, "%s:%u: line too long", isim->path, lineno);
            return -EINVAL;
        }
        line[strcspn(line, "\r\n")] = '\0';
        char *save = NULL;
        char *key = strtok_r(line, " \t", &save);
        if (!key || key[0] == '#')
            continue;
        char *a = strtok_r(NULL, " \t", &save);
        char *b = strtok_r(NULL, " \t", &save);
        char *extra = strtok_r(NULL, " \t", &save);
        uint64_t v1, v2;
        if (!strcmp(key, "ind_bits") && a && !b) {
            if (parse_u64(a, 10, &v1) || v1 != isim->ind_bits) {
                snprintf(err, errlen, "%s:%u: ind_bits %s does not match the configured %u",
                         isim->path, lineno, a, isim->ind_bits);
                return -EINVAL;
            }
            seen_bits = true;
        } else if (!strcmp(key, "seq_ms") && a && b && !extra) {
            if (!seen_bits) {
                snprintf(err, errlen, "%s:%u: seq_ms before ind_bits", isim->path, lineno);
                return -EINVAL;
            }
            if (parse_u64(a, slots_of(isim) - 1, &v1) || parse_u64(b, seq_max, &v2)) {
                snprintf(err, errlen, "%s:%u: seq_ms needs a slot < %zu and a SEQ <= %" PRIu64,
                         isim->path, lineno, slots_of(isim), seq_max);
                return -EINVAL;
            }
            isim->seq_ms[v1] = v2;
        } else {
            snprintf(err, errlen, "%s:%u: expected 'ind_bits N' or 'seq_ms SLOT SEQ'", isim->path,
                     lineno);
            return -EINVAL;
        }
    }
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: read error", isim->path);
        return -EIO;
    }
    if (!seen_bits) {
        snprintf(err, errlen, "%s: no ind_bits line", isim->path);
        return -EINVAL;
    }
    return 0;
}

int ue_isim_open(ue_isim_t *isim, const uint8_t k[16], const uint8_t opc[16], const char *path,
                 unsigned ind_bits, unsigned delta_log2, char *err, size_t errlen)
{
    if (!isim || !k || !opc || !path || ind_bits > 10 || delta_log2 < 1 || delta_log2 > 47) {
        snprintf(err, errlen, "invalid ISIM arguments");
        return -EINVAL;
    }
    memset(isim, 0, sizeof(*isim));
    memcpy(isim->k, k, sizeof(isim->k));
    memcpy(isim->opc, opc, sizeof(isim->opc));
    isim->ind_bits = ind_bits;
    isim->delta = UINT64_C(1) << delta_log2;
    if (mcx_strlcpy(isim->path, path, sizeof(isim->path))) {
        snprintf(err, errlen, "sqn_file: path too long");
        return -ENAMETOOLONG;
    }
    FILE *fp = fopen(path, "r");
    if (!fp) {
        if (errno == ENOENT)
            return 0;
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    int rv = load_file(isim, fp, err, errlen);
    fclose(fp);
    return rv;
}

void ue_isim_close(ue_isim_t *isim)
{
    OPENSSL_cleanse(isim->k, sizeof(isim->k));
    OPENSSL_cleanse(isim->opc, sizeof(isim->opc));
}

int ue_isim_save(const ue_isim_t *isim)
{
    char tmp[sizeof(isim->path) + 16];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", isim->path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    FILE *fp = fdopen(fd, "w");
    if (!fp) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return -e;
    }
    fprintf(fp,
            "# mcx-ue ISIM state: SEQ_MS per IND slot (TS 33.102 Annex C.2.2).\n"
            "# Rewritten after every accepted challenge; edit only while mcx-ue is stopped.\n"
            "ind_bits %u\n",
            isim->ind_bits);
    for (size_t i = 0; i < slots_of(isim); i++)
        fprintf(fp, "seq_ms %zu %" PRIu64 "\n", i, isim->seq_ms[i]);
    int rv = 0;
    if (fflush(fp) || fsync(fileno(fp)))
        rv = -errno;
    if (fclose(fp) && !rv)
        rv = -errno;
    if (!rv && rename(tmp, isim->path))
        rv = -errno;
    if (rv) {
        unlink(tmp);
        return rv;
    }
    /* Make the rename itself durable. */
    char dir[sizeof(isim->path)];
    mcx_strlcpy(dir, isim->path, sizeof(dir));
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

uint64_t ue_isim_sqn_ms(const ue_isim_t *isim)
{
    uint64_t best = 0;
    size_t best_i = 0;
    for (size_t i = 0; i < slots_of(isim); i++) {
        if (isim->seq_ms[i] > best) {
            best = isim->seq_ms[i];
            best_i = i;
        }
    }
    return best ? (best << isim->ind_bits) | best_i : 0;
}

int ue_isim_advance(ue_isim_t *isim, uint64_t n)
{
    uint64_t seq_max = MCX_SQN_MAX >> isim->ind_bits;
    uint64_t highest = 0;
    for (size_t i = 0; i < slots_of(isim); i++)
        if (isim->seq_ms[i] > highest)
            highest = isim->seq_ms[i];
    if (n > seq_max || highest > seq_max - n)
        return -EINVAL;
    for (size_t i = 0; i < slots_of(isim); i++)
        isim->seq_ms[i] = highest + n;
    return ue_isim_save(isim);
}

void ue_aka_result_wipe(ue_aka_result_t *res)
{
    OPENSSL_cleanse(res->res, sizeof(res->res));
    OPENSSL_cleanse(res->ck, sizeof(res->ck));
    OPENSSL_cleanse(res->ik, sizeof(res->ik));
    OPENSSL_cleanse(res->auts, sizeof(res->auts));
}

int ue_isim_challenge(ue_isim_t *isim, const uint8_t rand[16], const uint8_t autn[16],
                      ue_aka_result_t *out)
{
    memset(out, 0, sizeof(*out));
    int rv =
        mcx_aka_ue_challenge(isim->k, isim->opc, rand, autn, &out->sqn, out->res, out->ck, out->ik);
    if (rv == -EBADMSG) {
        ue_aka_result_wipe(out);
        out->verdict = UE_AKA_MAC_FAILURE;
        return 0;
    }
    if (rv)
        return rv;

    /* Judge freshness on a copy: the state changes only once it is saved. */
    uint64_t trial[UE_ISIM_MAX_SLOTS];
    size_t bytes = slots_of(isim) * sizeof(uint64_t);
    memcpy(trial, isim->seq_ms, bytes);
    if (mcx_aka_ue_sqn_ok(trial, isim->ind_bits, isim->delta, out->sqn)) {
        uint64_t keep[UE_ISIM_MAX_SLOTS];
        memcpy(keep, isim->seq_ms, bytes);
        memcpy(isim->seq_ms, trial, bytes);
        rv = ue_isim_save(isim);
        if (rv) {
            memcpy(isim->seq_ms, keep, bytes);
            ue_aka_result_wipe(out);
            return rv;
        }
        out->verdict = UE_AKA_OK;
        return 0;
    }

    ue_aka_result_wipe(out);
    out->verdict = UE_AKA_SYNC_FAILURE;
    out->sqn_ms = ue_isim_sqn_ms(isim);
    return mcx_aka_ue_auts(isim->k, isim->opc, rand, out->sqn_ms, out->auts);
}
