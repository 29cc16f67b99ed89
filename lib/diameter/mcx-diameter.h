/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-diameter: the freeDiameter (libfdcore 1.2.1) stack as every mcxcore
 * Diameter node uses it: one YAML section rendered into a freeDiameter
 * configuration, the stack's lifecycle, its log bridged into ours, and
 * length-checked AVP helpers. The Cx dictionary is in cx/mcx-diameter-cx.h.
 *
 * freeDiameter keeps one stack per process (its globals); so does this API.
 */
#ifndef MCX_DIAMETER_H
#define MCX_DIAMETER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "core/mcx-core.h"

#define MCX_DIAM_NAME_MAX 256
#define MCX_DIAM_MAX_PEERS 32
#define MCX_DIAM_MAX_ACCEPT 32
#define MCX_DIAM_MAX_EXT 8

typedef struct {
    char identity[MCX_DIAM_NAME_MAX]; /* the peer's Diameter identity (its Origin-Host) */
    char address[64];                 /* numeric IP address to connect to */
    uint32_t port;
    char realm[MCX_DIAM_NAME_MAX];    /* optional; learnt from CER/CEA when empty */
    bool tls;                         /* false: clear TCP (No_TLS) */
} mcx_diam_peer_t;

typedef struct {
    char path[512];  /* extension .fdx (absolute, or relative to /usr/lib/freeDiameter) */
    char *conf_text; /* owned; written to a temporary file passed to the extension; may be NULL */
} mcx_diam_ext_t;

typedef struct {
    char identity[MCX_DIAM_NAME_MAX];
    char realm[MCX_DIAM_NAME_MAX];
    char listen[64];  /* numeric address to listen on; "" = all */
    uint32_t port;    /* clear TCP port; 0 = do not listen */
    uint32_t tls_port; /* TLS port; 0 = no TLS listener */
    char tls_cert[512], tls_key[512], tls_ca[512]; /* PEM files; empty = no TLS */
    uint32_t tw_timer; /* watchdog interval Tw, seconds (RFC 3539), >= 6 */
    uint32_t tc_timer; /* reconnect interval Tc, seconds */
    uint32_t app_threads; /* freeDiameter AppServThreads: concurrent request handlers */
    int log_level;     /* freeDiameter's own verbosity, as an mcx_log_level_t */

    unsigned n_peers;  /* peers this node connects to */
    mcx_diam_peer_t peers[MCX_DIAM_MAX_PEERS];

    /* Identities allowed to connect to us without being in `peers`
     * (freeDiameter acl_wl syntax: exact FQDN or "*.domain"). */
    unsigned n_accept;
    char accept[MCX_DIAM_MAX_ACCEPT][MCX_DIAM_NAME_MAX];

    /* Not from YAML: set by the daemon before mcx_diam_init(). */
    bool relay; /* false renders NoRelay (TS: a non-agent node) */
    unsigned n_ext;
    mcx_diam_ext_t ext[MCX_DIAM_MAX_EXT];
} mcx_diam_config_t;

/*
 * The YAML table of a `diameter:` section. Use it as the .sub of an
 * MCX_CONF_MAP field whose offset is that of an mcx_diam_config_t.
 */
extern const mcx_conf_field_t mcx_diam_conf_fields[];

/*
 * Check what the YAML table cannot: identity/realm non-empty, tls files
 * given together, peer addresses numeric. Returns 0 or -EINVAL with a
 * reason in `err`.
 */
int mcx_diam_config_check(const mcx_diam_config_t *cfg, char *err, size_t errlen);

/*
 * Render `cfg` as freeDiameter configuration text into a new string the
 * caller frees (used by mcx_diam_init and shown by daemons' --print-fd-conf).
 * Extension conf files are named `<dir>/ext<N>.conf`. Returns NULL on ENOMEM.
 */
char *mcx_diam_render(const mcx_diam_config_t *cfg, const char *dir);

/*
 * Initialise the stack: bridge its log into mcx_log, fd_core_initialize(),
 * render and parse the configuration (extension conf files are written to a
 * private temporary directory, removed before returning). Dictionary objects
 * and dispatch callbacks are registered after this and before
 * mcx_diam_start(). Call from the main thread, once. Returns 0 or -errno.
 */
int mcx_diam_init(const mcx_diam_config_t *cfg);

/*
 * Initialise only the dictionary side of freeDiameter (base protocol and the
 * handles above) and the local identity used in Origin-Host/Origin-Realm,
 * without configuration, peers or threads: for tools and fuzzers that parse
 * or build messages offline. Do not combine with mcx_diam_init() in one
 * process. `identity` and `realm` are copied. Returns 0 or -errno.
 */
int mcx_diam_init_offline(const char *identity, const char *realm);

/* fd_core_start() and wait until it has started. Returns 0 or -errno. */
int mcx_diam_start(void);

/*
 * Shut the stack down (DPR to peers) and wait. Safe to call once after init.
 * freeDiameter 1.2.1 sometimes trips an assertion of its own while it shuts
 * down (fifo.c, "++loops < 20"); by then the process's work is done, so that
 * abort is logged in one line and the process exits with `status_on_abort`
 * instead. An abort raised by a sanitizer is never masked.
 */
void mcx_diam_final(void);
void mcx_diam_final_status(int status_on_abort);

/* ---------------- AVP helpers (thread-safe; no logging) ---------------- */

/* `parent` is a struct msg * or a struct avp * (grouped): freeDiameter's msg_or_avp. */

int mcx_diam_add_u32(msg_or_avp *parent, struct dict_object *model, uint32_t v);
int mcx_diam_add_i32(msg_or_avp *parent, struct dict_object *model, int32_t v);
int mcx_diam_add_str(msg_or_avp *parent, struct dict_object *model, const char *s);
int mcx_diam_add_os(msg_or_avp *parent, struct dict_object *model, const uint8_t *data,
                    size_t len);
/* Add an empty grouped AVP; *out (borrowed, owned by parent) receives it. */
int mcx_diam_add_grouped(msg_or_avp *parent, struct dict_object *model, struct avp **out);

/*
 * Find the first direct child AVP of `parent` with (code, vendor), in
 * message or grouped AVP. Works on grouped AVPs, unlike fd_msg_search_avp in
 * 1.2.1. Returns 0 with *out set, or -ENOENT.
 */
int mcx_diam_find(msg_or_avp *parent, uint32_t code, uint32_t vendor, struct avp **out);

/* Count the direct children of `parent` with (code, vendor). */
unsigned mcx_diam_count(msg_or_avp *parent, uint32_t code, uint32_t vendor);

/*
 * The value of an AVP already parsed by the dictionary. Returns NULL when
 * freeDiameter did not decode it (unknown AVP).
 */
const union avp_value *mcx_diam_value(struct avp *avp);

/* Add Origin-Host and Origin-Realm with this node's identity and realm. */
int mcx_diam_add_origin(struct msg *m);

/* Add Vendor-Specific-Application-Id { Vendor-Id, Auth-Application-Id }. */
int mcx_diam_add_vsai(msg_or_avp *parent, uint32_t vendor, uint32_t auth_app);

/* Add Experimental-Result { Vendor-Id, Experimental-Result-Code }. */
int mcx_diam_add_exp_result(msg_or_avp *parent, uint32_t vendor, uint32_t code);

/*
 * Add Failed-AVP containing a copy of `offending` (code, flags, vendor,
 * value) or, when `offending` is NULL, an AVP of `model` with `example`
 * (may be NULL: zero-length data). RFC 6733 §7.5.
 */
int mcx_diam_add_failed_avp(struct msg *ans, struct avp *offending, struct dict_object *model,
                            const union avp_value *example);

/* Dictionary handles of base-protocol AVPs this project uses, resolved by mcx_diam_init. */
extern struct dict_object *mcx_diam_avp_session_id, *mcx_diam_avp_origin_host,
    *mcx_diam_avp_origin_realm, *mcx_diam_avp_destination_host,
    *mcx_diam_avp_destination_realm, *mcx_diam_avp_user_name, *mcx_diam_avp_result_code,
    *mcx_diam_avp_experimental_result, *mcx_diam_avp_experimental_result_code,
    *mcx_diam_avp_vendor_id, *mcx_diam_avp_auth_application_id, *mcx_diam_avp_vsai,
    *mcx_diam_avp_auth_session_state, *mcx_diam_avp_failed_avp, *mcx_diam_avp_route_record,
    *mcx_diam_avp_error_message;

/* Base protocol AVP codes (RFC 6733). */
enum {
    MCX_AVP_USER_NAME = 1,
    MCX_AVP_SESSION_ID = 263,
    MCX_AVP_ORIGIN_HOST = 264,
    MCX_AVP_VENDOR_ID = 266,
    MCX_AVP_RESULT_CODE = 268,
    MCX_AVP_AUTH_SESSION_STATE = 277,
    MCX_AVP_FAILED_AVP = 279,
    MCX_AVP_ERROR_MESSAGE = 281,
    MCX_AVP_ROUTE_RECORD = 282,
    MCX_AVP_DESTINATION_REALM = 283,
    MCX_AVP_DESTINATION_HOST = 293,
    MCX_AVP_ORIGIN_REALM = 296,
    MCX_AVP_EXPERIMENTAL_RESULT = 297,
    MCX_AVP_EXPERIMENTAL_RESULT_CODE = 298,
    MCX_AVP_AUTH_APPLICATION_ID = 258,
    MCX_AVP_VSAI = 260,
};

/* Base Result-Code values (RFC 6733 §7.1). */
enum {
    MCX_DIAM_SUCCESS = 2001,
    MCX_DIAM_COMMAND_UNSUPPORTED = 3001,
    MCX_DIAM_UNABLE_TO_DELIVER = 3002,
    MCX_DIAM_REALM_NOT_SERVED = 3003,
    MCX_DIAM_TOO_BUSY = 3004,
    MCX_DIAM_LOOP_DETECTED = 3005,
    MCX_DIAM_APPLICATION_UNSUPPORTED = 3007,
    MCX_DIAM_AUTHORIZATION_REJECTED = 5003,
    MCX_DIAM_INVALID_AVP_VALUE = 5004,
    MCX_DIAM_MISSING_AVP = 5005,
    MCX_DIAM_AVP_OCCURS_TOO_MANY_TIMES = 5009,
    MCX_DIAM_UNABLE_TO_COMPLY = 5012,
};

#endif /* MCX_DIAMETER_H */
