/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-store: the subscriber store of the SIP database (TS 23.280 7.4.3.1.3).
 * One API, backends behind a table of operations (store-backend.h): SQLite
 * today (WAL, versioned schema), PostgreSQL later for shared state.
 *
 * Threading: a store handle may be used from any number of threads at once.
 * Every write is one transaction; a function that returns 0 after a write has
 * made it durable against a crash of the process (SQLite WAL with
 * synchronous=NORMAL or FULL, see mcx_store_config_t).
 *
 * Errors: functions return 0 or a negative errno:
 *   -ENOENT  no such subscriber / identity
 *   -EEXIST  the IMPI, or one of the IMPUs, already exists
 *   -EINVAL  a value is malformed (the message says which, via *err when given)
 *   -ENODATA the subscriber has no credentials for the requested scheme
 *   -EIO     the backend failed (logged once by the store)
 */
#ifndef MCX_STORE_H
#define MCX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MCX_STORE_ID_MAX 256  /* IMPI, IMPU, realm, server name: bytes incl. NUL */
#define MCX_STORE_MAX_IMPU 16 /* public identities per subscriber */
#define MCX_STORE_IFC_MAX 65536 /* bytes of iFC XML */
#define MCX_STORE_MAX_SQN_BATCH 32 /* vectors one call may reserve */

typedef enum {
    MCX_SCHEME_AKAV1_MD5 = 0, /* "Digest-AKAv1-MD5" */
    MCX_SCHEME_SIP_DIGEST = 1, /* "SIP Digest" */
} mcx_auth_scheme_t;

/* TS 29.228 registration state of a public identity. */
typedef enum {
    MCX_REG_NOT_REGISTERED = 0,
    MCX_REG_REGISTERED = 1,
    MCX_REG_UNREGISTERED = 2, /* unregistered but served (S-CSCF name kept) */
} mcx_reg_state_t;

typedef struct {
    char impu[MCX_STORE_ID_MAX];
    bool barred;
    mcx_reg_state_t reg_state; /* ignored by add/update; filled by get */
} mcx_store_impu_t;

typedef struct {
    char impi[MCX_STORE_ID_MAX];
    unsigned n_impus;
    mcx_store_impu_t impus[MCX_STORE_MAX_IMPU]; /* impus[0] is the default IMPU */

    bool has_aka;
    uint8_t k[16];
    uint8_t opc[16];
    uint8_t amf[2];
    uint64_t sqn; /* last SQN issued (48 bits) */

    bool has_digest;
    char digest_realm[MCX_STORE_ID_MAX];
    char ha1_md5[33];    /* lower-case hex, "" if none */
    char ha1_sha256[65]; /* lower-case hex, "" if none */

    mcx_auth_scheme_t default_scheme;

    /* Zero or more <InitialFilterCriteria> elements as XML text, "" if none. */
    char ifc_xml[MCX_STORE_IFC_MAX];

    /* Serving S-CSCF (SIP URI) recorded by SAR; "" if none. Filled by get. */
    char scscf_name[MCX_STORE_ID_MAX];
} mcx_subscriber_t;

typedef enum {
    MCX_STORE_SYNC_NORMAL = 0, /* WAL + synchronous=NORMAL: durable across process crashes */
    MCX_STORE_SYNC_FULL = 1,   /* WAL + synchronous=FULL: durable across power loss too */
} mcx_store_sync_t;

typedef struct {
    char backend[16]; /* "sqlite" */
    char path[4096];  /* SQLite file; ":memory:" for tests */
    mcx_store_sync_t sync;
    unsigned busy_timeout_ms; /* wait for a lock held by another process; 0 = 5000 */
} mcx_store_config_t;

typedef struct mcx_store mcx_store_t;

/*
 * Open (creating and migrating the schema if needed). On success *out is a
 * new handle the caller frees with mcx_store_close(). `err` (may be NULL)
 * receives a one-line reason on failure.
 */
int mcx_store_open(const mcx_store_config_t *cfg, mcx_store_t **out, char *err, size_t errlen);
void mcx_store_close(mcx_store_t *st);

/* Current schema version of an open store, and the version this build writes. */
int mcx_store_schema_version(mcx_store_t *st);
int mcx_store_schema_latest(void);

/*
 * Check a subscriber record before it is stored: IMPI non-empty and without
 * spaces; 1..MCX_STORE_MAX_IMPU IMPUs, each a sip:, sips: or tel: URI, no
 * duplicates; at least one of has_aka / has_digest; the default scheme has
 * credentials; HA1 strings are lower-case hex of the right length; iFC XML
 * is empty or well-formed. Returns 0 or -EINVAL with a reason in `err`.
 * Fields of a scheme the record lacks (K, OPc, AMF, SQN without has_aka;
 * realm and HA1 without has_digest) are not checked, and add/update store
 * them empty. Non-empty iFC XML holds only <InitialFilterCriteria> elements
 * (and comments) at its top level.
 */
int mcx_store_subscriber_validate(const mcx_subscriber_t *sub, char *err, size_t errlen);

/* Add a subscriber (validated first). `sub` is borrowed. */
int mcx_store_subscriber_add(mcx_store_t *st, const mcx_subscriber_t *sub, char *err,
                             size_t errlen);

/*
 * Replace the provisioned data of an existing subscriber (same IMPI).
 * Registration state and S-CSCF name of IMPUs that remain are kept.
 * The stored SQN never goes down here: it becomes max(stored, sub->sqn), so a
 * read-modify-write racing with mcx_store_sqn_reserve() cannot hand an SQN
 * out twice. Lowering it is mcx_store_sqn_set()'s job.
 */
int mcx_store_subscriber_update(mcx_store_t *st, const mcx_subscriber_t *sub, char *err,
                                size_t errlen);

int mcx_store_subscriber_delete(mcx_store_t *st, const char *impi);

/* Fill *out (caller-provided, large: allocate it) for `impi`. -ENOENT if absent. */
int mcx_store_subscriber_get(mcx_store_t *st, const char *impi, mcx_subscriber_t *out);

/*
 * Find the IMPI that owns `impu`. -ENOENT if no subscriber has it, -ERANGE if
 * `impilen` cannot hold it.
 */
int mcx_store_impi_by_impu(mcx_store_t *st, const char *impu, char *impi, size_t impilen);

/*
 * Call `cb` for every subscriber IMPI in IMPI order; stops early and returns
 * the callback's value if it returns non-zero.
 */
int mcx_store_subscriber_list(mcx_store_t *st, int (*cb)(void *arg, const char *impi),
                              void *arg);

/*
 * Reserve `count` (1..MCX_STORE_MAX_SQN_BATCH) fresh sequence numbers for
 * `impi` in one atomic, durable step, and return them in sqns[0..count-1].
 * Each is mcx_sqn_next() of the one before, starting from the stored SQN or,
 * when `resync_sqn_ms` is non-NULL, from *resync_sqn_ms (TS 33.102 §6.3.5:
 * the network adopts SQN_MS). Across processes sharing the store the values
 * are never handed out twice. -ENOENT, -ENODATA (no AKA credentials).
 */
int mcx_store_sqn_reserve(mcx_store_t *st, const char *impi, unsigned count,
                          unsigned ind_bits, unsigned ind, const uint64_t *resync_sqn_ms,
                          uint64_t *sqns);

/*
 * Set the stored SQN (last issued) of `impi` to `sqn` (<= 2^48 - 1), also
 * downwards: an operator action, e.g. for a new USIM. -ENOENT, -ENODATA (no
 * AKA credentials), -EINVAL.
 */
int mcx_store_sqn_set(mcx_store_t *st, const char *impi, uint64_t sqn);

/*
 * Record registration state for `impu` of `impi` (or for all the
 * subscriber's IMPUs when `impu` is NULL) and the serving S-CSCF name:
 * `scscf_name` NULL keeps it, "" clears it. -ENOENT if impi/impu unknown.
 */
int mcx_store_reg_set(mcx_store_t *st, const char *impi, const char *impu,
                      mcx_reg_state_t state, const char *scscf_name);

/* Names for printing and parsing. */
const char *mcx_store_scheme_name(mcx_auth_scheme_t s);        /* "Digest-AKAv1-MD5", "SIP Digest" */
int mcx_store_scheme_parse(const char *s, mcx_auth_scheme_t *out); /* also "aka", "digest" */
const char *mcx_store_reg_state_name(mcx_reg_state_t s);

#endif /* MCX_STORE_H */
