/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Provisioning of a topology's subscribers into the SIP database store,
 * with mcxctl's rules (lib/store directly): OPc computed from OP, HA1 (MD5 and
 * SHA-256) of IMPI:realm:password stored instead of the password, default
 * scheme AKA when there is a K. A subscriber already in the store (a second
 * `mcx up` on the same run directory) is updated, never with a lower SQN.
 */
#include "mcx-orch.h"
#include "mcx-auth.h"
#include "mcx-store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int fill(const mcx_topo_sub_t *u, mcx_subscriber_t *sub, char *err, size_t errlen)
{
    memset(sub, 0, sizeof(*sub));
    mcx_strlcpy(sub->impi, u->impi, sizeof(sub->impi));
    for (unsigned i = 0; i < u->n_impus && i < MCX_STORE_MAX_IMPU; i++)
        mcx_strlcpy(sub->impus[i].impu, u->impus[i], sizeof(sub->impus[i].impu));
    sub->n_impus = u->n_impus;

    if (u->k[0]) {
        uint8_t op[16];
        sub->has_aka = true;
        /* Validated by mcx_topo_validate(); decoding cannot fail here. */
        mcx_hex_decode(u->k, sub->k, 16);
        mcx_hex_decode(u->amf, sub->amf, 2);
        if (u->opc[0]) {
            mcx_hex_decode(u->opc, sub->opc, 16);
        } else {
            mcx_hex_decode(u->op, op, 16);
            int rv = mcx_milenage_opc(sub->k, op, sub->opc);
            explicit_bzero(op, sizeof(op));
            if (rv) {
                snprintf(err, errlen, "%s: computing OPc failed", u->impi);
                return rv;
            }
        }
        sub->sqn = (uint64_t)u->sqn;
    }
    if (u->password[0]) {
        const char *realm = strchr(u->impi, '@') + 1;
        size_t n = strlen(u->password);
        sub->has_digest = true;
        mcx_strlcpy(sub->digest_realm, realm, sizeof(sub->digest_realm));
        if (mcx_digest_ha1(MCX_DIGEST_MD5, sub->impi, realm, (const uint8_t *)u->password, n,
                           sub->ha1_md5, sizeof(sub->ha1_md5)) ||
            mcx_digest_ha1(MCX_DIGEST_SHA256, sub->impi, realm, (const uint8_t *)u->password, n,
                           sub->ha1_sha256, sizeof(sub->ha1_sha256))) {
            snprintf(err, errlen, "%s: computing HA1 failed", u->impi);
            return -EIO;
        }
    }
    if (u->scheme == MCX_TOPO_SCHEME_AKA)
        sub->default_scheme = MCX_SCHEME_AKAV1_MD5;
    else if (u->scheme == MCX_TOPO_SCHEME_DIGEST)
        sub->default_scheme = MCX_SCHEME_SIP_DIGEST;
    else
        sub->default_scheme = sub->has_aka ? MCX_SCHEME_AKAV1_MD5 : MCX_SCHEME_SIP_DIGEST;
    return 0;
}

int mcx_provision_system(const mcx_topo_system_t *s, const char *db, char *err, size_t errlen)
{
    mcx_store_config_t cfg = {.backend = "sqlite", .sync = MCX_STORE_SYNC_FULL};
    if (mcx_strlcpy(cfg.path, db, sizeof(cfg.path))) {
        snprintf(err, errlen, "%s: path too long", db);
        return -ENAMETOOLONG;
    }
    mcx_subscriber_t *sub = calloc(1, sizeof(*sub));
    mcx_subscriber_t *old = calloc(1, sizeof(*old));
    mcx_store_t *st = NULL;
    char why[256] = "";
    int rv = (!sub || !old) ? -ENOMEM : 0;
    if (!rv && (rv = mcx_store_open(&cfg, &st, why, sizeof(why))))
        snprintf(err, errlen, "%s: %s", db, why);
    for (unsigned i = 0; !rv && i < s->n_subs; i++) {
        const char *impi = s->subs[i].impi;
        if ((rv = fill(&s->subs[i], sub, err, errlen)))
            break;
        if (mcx_store_subscriber_get(st, impi, old) == 0) {
            if (sub->has_aka && old->has_aka && old->sqn > sub->sqn)
                sub->sqn = old->sqn; /* an AKA sequence number never goes back */
            rv = mcx_store_subscriber_update(st, sub, why, sizeof(why));
        } else {
            rv = mcx_store_subscriber_add(st, sub, why, sizeof(why));
        }
        if (rv)
            snprintf(err, errlen, "systems: subscriber %s: %s", impi, why);
    }
    mcx_store_close(st);
    if (sub)
        explicit_bzero(sub, sizeof(*sub));
    if (old)
        explicit_bzero(old, sizeof(*old));
    free(sub);
    free(old);
    return rv;
}
