/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The freeDiameter stack's lifecycle: the `diameter:` YAML section, its
 * rendering into freeDiameter's own configuration language, initialisation,
 * start and shutdown, and the bridge from freeDiameter's log into mcx_log.
 */
#include "mcx-diameter.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define D(f) offsetof(mcx_diam_config_t, f)
#define P(f) offsetof(mcx_diam_peer_t, f)

static const mcx_conf_field_t peer_fields[] = {
    {.key = "identity", .type = MCX_CONF_STRING, .offset = P(identity),
     .size = MCX_DIAM_NAME_MAX, .required = true},
    {.key = "address", .type = MCX_CONF_STRING, .offset = P(address), .size = 64,
     .required = true},
    {.key = "port", .type = MCX_CONF_UINT, .offset = P(port), .def = "3868", .min = 1,
     .max = 65535},
    {.key = "realm", .type = MCX_CONF_STRING, .offset = P(realm), .size = MCX_DIAM_NAME_MAX},
    {.key = "tls", .type = MCX_CONF_BOOL, .offset = P(tls), .def = "false"},
    {0},
};

static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};

const mcx_conf_field_t mcx_diam_conf_fields[] = {
    {.key = "identity", .type = MCX_CONF_STRING, .offset = D(identity),
     .size = MCX_DIAM_NAME_MAX, .required = true},
    {.key = "realm", .type = MCX_CONF_STRING, .offset = D(realm), .size = MCX_DIAM_NAME_MAX,
     .required = true},
    {.key = "listen", .type = MCX_CONF_STRING, .offset = D(listen), .size = 64,
     .def = "127.0.0.1"},
    {.key = "port", .type = MCX_CONF_UINT, .offset = D(port), .def = "3868", .min = 0,
     .max = 65535},
    {.key = "tls_port", .type = MCX_CONF_UINT, .offset = D(tls_port), .def = "0", .min = 0,
     .max = 65535},
    {.key = "tls_cert", .type = MCX_CONF_STRING, .offset = D(tls_cert), .size = 512},
    {.key = "tls_key", .type = MCX_CONF_STRING, .offset = D(tls_key), .size = 512},
    {.key = "tls_ca", .type = MCX_CONF_STRING, .offset = D(tls_ca), .size = 512},
    {.key = "watchdog_seconds", .type = MCX_CONF_UINT, .offset = D(tw_timer), .def = "30",
     .min = 6, .max = 3600},
    {.key = "reconnect_seconds", .type = MCX_CONF_UINT, .offset = D(tc_timer), .def = "30",
     .min = 1, .max = 3600},
    {.key = "threads", .type = MCX_CONF_UINT, .offset = D(app_threads), .def = "4", .min = 1,
     .max = 255},
    {.key = "log_level", .type = MCX_CONF_ENUM, .offset = D(log_level), .def = "warn",
     .enum_names = log_levels},
    {.key = "peers", .type = MCX_CONF_LIST, .offset = D(peers), .sub = peer_fields,
     .elem_size = sizeof(mcx_diam_peer_t), .cap = MCX_DIAM_MAX_PEERS,
     .count_offset = D(n_peers)},
    {.key = "accept", .type = MCX_CONF_STRLIST, .offset = D(accept), .size = MCX_DIAM_NAME_MAX,
     .cap = MCX_DIAM_MAX_ACCEPT, .count_offset = D(n_accept)},
    {0},
};

static bool numeric_address(const char *a)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1;
}

/* freeDiameter's lexer takes a quoted string with no escapes. */
static bool quotable(const char *s)
{
    return strchr(s, '"') == NULL && strchr(s, '\n') == NULL;
}

int mcx_diam_config_check(const mcx_diam_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg->identity[0] || !quotable(cfg->identity) || strchr(cfg->identity, ' ')) {
        snprintf(err, errlen, "diameter.identity: must be a non-empty FQDN");
        return -EINVAL;
    }
    if (!cfg->realm[0] || !quotable(cfg->realm) || strchr(cfg->realm, ' ')) {
        snprintf(err, errlen, "diameter.realm: must be a non-empty realm");
        return -EINVAL;
    }
    if (cfg->listen[0] && !numeric_address(cfg->listen)) {
        snprintf(err, errlen, "diameter.listen: '%s' is not a numeric IP address",
                 cfg->listen);
        return -EINVAL;
    }
    bool tls = cfg->tls_cert[0] || cfg->tls_key[0];
    if (tls && !(cfg->tls_cert[0] && cfg->tls_key[0])) {
        snprintf(err, errlen, "diameter.tls_cert and diameter.tls_key go together");
        return -EINVAL;
    }
    if (cfg->tls_port && !tls) {
        snprintf(err, errlen, "diameter.tls_port needs tls_cert and tls_key");
        return -EINVAL;
    }
    if (!quotable(cfg->tls_cert) || !quotable(cfg->tls_key) || !quotable(cfg->tls_ca)) {
        snprintf(err, errlen, "diameter.tls_*: file names may not contain '\"'");
        return -EINVAL;
    }
    for (unsigned i = 0; i < cfg->n_peers; i++) {
        const mcx_diam_peer_t *p = &cfg->peers[i];
        if (!p->identity[0] || !quotable(p->identity) || strchr(p->identity, ' ')) {
            snprintf(err, errlen, "diameter.peers[%u].identity: must be a non-empty FQDN", i);
            return -EINVAL;
        }
        if (!numeric_address(p->address)) {
            snprintf(err, errlen, "diameter.peers[%u].address: '%s' is not a numeric IP address",
                     i, p->address);
            return -EINVAL;
        }
        if (!quotable(p->realm)) {
            snprintf(err, errlen, "diameter.peers[%u].realm: may not contain '\"'", i);
            return -EINVAL;
        }
        if (p->tls && !tls) {
            snprintf(err, errlen, "diameter.peers[%u].tls: needs diameter.tls_cert and tls_key",
                     i);
            return -EINVAL;
        }
    }
    for (unsigned i = 0; i < cfg->n_accept; i++) {
        const char *a = cfg->accept[i];
        if (!a[0] || strpbrk(a, " \t\"\n")) {
            snprintf(err, errlen, "diameter.accept[%u]: '%s' is not an FQDN or *.domain", i, a);
            return -EINVAL;
        }
    }
    return 0;
}

/* A growable string, enough for rendering configuration text. */
typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} sbuf_t;

static void sb_printf(sbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf_t *sb, const char *fmt, ...)
{
    if (sb->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            sb->oom = true;
            return;
        }
        if ((size_t)n < sb->cap - sb->len) {
            sb->len += (size_t)n;
            return;
        }
        size_t ncap = (sb->cap + (size_t)n + 1) * 2;
        char *nb = realloc(sb->buf, ncap);
        if (!nb) {
            sb->oom = true;
            return;
        }
        sb->buf = nb;
        sb->cap = ncap;
    }
}

char *mcx_diam_render(const mcx_diam_config_t *cfg, const char *dir)
{
    sbuf_t sb = {.buf = malloc(1024), .cap = 1024};
    if (!sb.buf)
        return NULL;
    sb.buf[0] = '\0';
    bool tls = cfg->tls_cert[0] != '\0';

    sb_printf(&sb, "# Rendered by mcxcore from the daemon's diameter: section.\n");
    sb_printf(&sb, "Identity = \"%s\";\nRealm = \"%s\";\n", cfg->identity, cfg->realm);
    sb_printf(&sb, "Port = %u;\nSecPort = %u;\n", cfg->port, cfg->tls_port);
    /* No ListenOn: freeDiameter 1.2.1 silently drops loopback addresses
     * given that way and then listens on every address. mcx_diam_init()
     * adds diameter.listen to the endpoint list itself. */
    if (cfg->listen[0])
        sb_printf(&sb, "# listen address %s: set by mcxcore after parsing\n", cfg->listen);
    /* Loopback and containers: TCP only. SCTP is not used by mcxcore. */
    sb_printf(&sb, "No_SCTP;\n");
    sb_printf(&sb, "TwTimer = %u;\nTcTimer = %u;\n", cfg->tw_timer, cfg->tc_timer);
    sb_printf(&sb, "AppServThreads = %u;\n", cfg->app_threads ? cfg->app_threads : 4);
    if (!cfg->relay)
        sb_printf(&sb, "NoRelay;\n");
    if (tls) {
        sb_printf(&sb, "TLS_Cred = \"%s\", \"%s\";\n", cfg->tls_cert, cfg->tls_key);
        if (cfg->tls_ca[0])
            sb_printf(&sb, "TLS_CA = \"%s\";\n", cfg->tls_ca);
    }
    for (unsigned i = 0; i < cfg->n_ext; i++) {
        if (cfg->ext[i].conf_text)
            sb_printf(&sb, "LoadExtension = \"%s\" : \"%s/ext%u.conf\";\n", cfg->ext[i].path, dir,
                      i);
        else
            sb_printf(&sb, "LoadExtension = \"%s\";\n", cfg->ext[i].path);
    }
    for (unsigned i = 0; i < cfg->n_peers; i++) {
        const mcx_diam_peer_t *p = &cfg->peers[i];
        sb_printf(&sb, "ConnectPeer = \"%s\" { ConnectTo = \"%s\"; Port = %u; No_SCTP;%s", p->identity,
                  p->address, p->port, p->tls ? "" : " No_TLS;");
        if (p->realm[0])
            sb_printf(&sb, " Realm = \"%s\";", p->realm);
        sb_printf(&sb, " };\n");
    }
    if (sb.oom) {
        free(sb.buf);
        return NULL;
    }
    return sb.buf;
}

/* ------------------------------------------------------------------------ */

/* freeDiameter hands a custom logger every message: the threshold is ours. */
static int fd_log_threshold = FD_LOG_ERROR;

static void fd_log_bridge(int level, const char *fmt, va_list args)
{
    if (level < fd_log_threshold)
        return;
    mcx_log_level_t l;
    if (level >= FD_LOG_ERROR)
        l = MCX_LOG_ERROR;
    else if (level >= FD_LOG_NOTICE)
        l = MCX_LOG_NOTICE;
    else
        l = MCX_LOG_DEBUG;
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, args);
    mcx_log(l, "diameter: %s", msg);
}

static int write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -errno;
    size_t n = strlen(text);
    int rv = fwrite(text, 1, n, fp) == n ? 0 : -EIO;
    if (fclose(fp) != 0 && rv == 0)
        rv = -EIO;
    return rv;
}

static int render_acl(const mcx_diam_config_t *cfg, char **out)
{
    sbuf_t sb = {.buf = malloc(256), .cap = 256};
    if (!sb.buf)
        return -ENOMEM;
    sb.buf[0] = '\0';
    sb_printf(&sb, "# Peers allowed to connect (rendered by mcxcore).\n");
    for (unsigned i = 0; i < cfg->n_accept; i++)
        /* ALLOW_IPSEC lets a peer in over clear TCP (freeDiameter acl_wl):
         * Kamailio's Diameter stack offers no TLS. */
        sb_printf(&sb, "ALLOW_IPSEC %s\n", cfg->accept[i]);
    if (sb.oom) {
        free(sb.buf);
        return -ENOMEM;
    }
    *out = sb.buf;
    return 0;
}

struct dict_object *mcx_diam_avp_session_id, *mcx_diam_avp_origin_host,
    *mcx_diam_avp_origin_realm, *mcx_diam_avp_destination_host,
    *mcx_diam_avp_destination_realm, *mcx_diam_avp_user_name, *mcx_diam_avp_result_code,
    *mcx_diam_avp_experimental_result, *mcx_diam_avp_experimental_result_code,
    *mcx_diam_avp_vendor_id, *mcx_diam_avp_auth_application_id, *mcx_diam_avp_vsai,
    *mcx_diam_avp_auth_session_state, *mcx_diam_avp_failed_avp, *mcx_diam_avp_route_record,
    *mcx_diam_avp_error_message;

static int resolve_base(void)
{
    static const struct {
        const char *name;
        struct dict_object **out;
    } base[] = {
        {"Session-Id", &mcx_diam_avp_session_id},
        {"Origin-Host", &mcx_diam_avp_origin_host},
        {"Origin-Realm", &mcx_diam_avp_origin_realm},
        {"Destination-Host", &mcx_diam_avp_destination_host},
        {"Destination-Realm", &mcx_diam_avp_destination_realm},
        {"User-Name", &mcx_diam_avp_user_name},
        {"Result-Code", &mcx_diam_avp_result_code},
        {"Experimental-Result", &mcx_diam_avp_experimental_result},
        {"Experimental-Result-Code", &mcx_diam_avp_experimental_result_code},
        {"Vendor-Id", &mcx_diam_avp_vendor_id},
        {"Auth-Application-Id", &mcx_diam_avp_auth_application_id},
        {"Vendor-Specific-Application-Id", &mcx_diam_avp_vsai},
        {"Auth-Session-State", &mcx_diam_avp_auth_session_state},
        {"Failed-AVP", &mcx_diam_avp_failed_avp},
        {"Route-Record", &mcx_diam_avp_route_record},
        {"Error-Message", &mcx_diam_avp_error_message},
    };
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
        int rv = fd_dict_search(fd_g_config->cnf_dict, DICT_AVP, AVP_BY_NAME, base[i].name,
                                base[i].out, ENOENT);
        if (rv) {
            MCX_ERR("diameter: base dictionary has no AVP %s", base[i].name);
            return -rv;
        }
    }
    return 0;
}

/*
 * Listen on exactly `addr`. freeDiameter's own ListenOn filters loopback
 * addresses out (fd_ep_add_merge without EP_ACCEPTALL), which would leave
 * the endpoint list empty and the servers bound to every address.
 */
static int add_listen_address(const char *addr)
{
    if (!addr[0])
        return 0;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    int rv = getaddrinfo(addr, NULL, &hints, &ai);
    if (rv) {
        MCX_ERR("diameter.listen: '%s': %s", addr, gai_strerror(rv));
        return -EINVAL;
    }
    rv = fd_ep_add_merge(&fd_g_config->cnf_endpoints, ai->ai_addr, ai->ai_addrlen,
                         EP_FL_CONF | EP_ACCEPTALL);
    freeaddrinfo(ai);
    if (rv) {
        MCX_ERR("diameter.listen: cannot use '%s': %s", addr, strerror(rv));
        return -rv;
    }
    /* Listen on that family only, or freeDiameter adds a wildcard for the other. */
    if (strchr(addr, ':'))
        fd_g_config->cnf_flags.no_ip4 = 1;
    else
        fd_g_config->cnf_flags.no_ip6 = 1;
    return 0;
}

/* Identities of the configured peers, kept for mcx_diam_start(). */
static char (*peer_ids)[MCX_DIAM_NAME_MAX];
static unsigned n_peer_ids;

int mcx_diam_init(const mcx_diam_config_t *cfg)
{
    char err[256];
    int rv = mcx_diam_config_check(cfg, err, sizeof(err));
    if (rv) {
        MCX_ERR("%s", err);
        return rv;
    }

    /* freeDiameter prints through our logger from here on. */
    static const int fd_levels[] = {FD_LOG_ERROR, FD_LOG_ERROR, FD_LOG_NOTICE, FD_LOG_NOTICE,
                                    FD_LOG_DEBUG};
    fd_log_threshold = fd_levels[cfg->log_level < 0 || cfg->log_level > 4 ? 1 : cfg->log_level];
    fd_g_debug_lvl = fd_log_threshold;
    rv = fd_log_handler_register(fd_log_bridge);
    if (rv) {
        MCX_ERR("diameter: cannot register the log handler: %s", strerror(rv));
        return -rv;
    }
    rv = fd_core_initialize();
    if (rv) {
        MCX_ERR("diameter: fd_core_initialize failed: %s", strerror(rv));
        return -rv;
    }

    /* A private directory for the rendered files; removed once parsed. */
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/mcx-fd-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        rv = -errno;
        MCX_ERR("diameter: cannot create a temporary directory in %s: %s",
                tmp && tmp[0] ? tmp : "/tmp", strerror(errno));
        return rv;
    }

    /* The peer allow-list is one more extension: acl_wl with its file. */
    mcx_diam_config_t *full = malloc(sizeof(*full));
    char *conf = NULL, *acl = NULL;
    char path[600];
    if (!full) {
        rv = -ENOMEM;
        goto out;
    }
    memcpy(full, cfg, sizeof(*full));
    if (cfg->n_accept) {
        if (full->n_ext >= MCX_DIAM_MAX_EXT) {
            rv = -E2BIG;
            goto out;
        }
        rv = render_acl(cfg, &acl);
        if (rv)
            goto out;
        mcx_diam_ext_t *e = &full->ext[full->n_ext++];
        mcx_strlcpy(e->path, "acl_wl.fdx", sizeof(e->path));
        e->conf_text = acl;
    }
    for (unsigned i = 0; i < full->n_ext; i++) {
        if (!full->ext[i].conf_text)
            continue;
        snprintf(path, sizeof(path), "%s/ext%u.conf", dir, i);
        rv = write_file(path, full->ext[i].conf_text);
        if (rv)
            goto out;
    }
    conf = mcx_diam_render(full, dir);
    if (!conf) {
        rv = -ENOMEM;
        goto out;
    }
    snprintf(path, sizeof(path), "%s/freeDiameter.conf", dir);
    rv = write_file(path, conf);
    if (rv)
        goto out;
    rv = fd_core_parseconf(path);
    if (rv) {
        MCX_ERR("diameter: freeDiameter rejected the rendered configuration (%s)",
                strerror(rv));
        rv = -rv;
        goto out;
    }
    rv = add_listen_address(cfg->listen);
    if (!rv)
        rv = resolve_base();
    if (!rv && cfg->n_peers) {
        peer_ids = calloc(cfg->n_peers, sizeof(*peer_ids));
        if (!peer_ids)
            rv = -ENOMEM;
        for (unsigned i = 0; !rv && i < cfg->n_peers; i++)
            mcx_strlcpy(peer_ids[i], cfg->peers[i].identity, sizeof(peer_ids[i]));
        n_peer_ids = rv ? 0 : cfg->n_peers;
    }

out:
    for (unsigned i = 0; full && i <= full->n_ext; i++) {
        snprintf(path, sizeof(path), "%s/ext%u.conf", dir, i);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/freeDiameter.conf", dir);
    unlink(path);
    rmdir(dir);
    free(conf);
    free(acl);
    free(full);
    if (rv && rv != -EINVAL)
        MCX_ERR("diameter: initialisation failed: %s", strerror(-rv));
    return rv;
}

int mcx_diam_init_offline(const char *identity, const char *realm)
{
    fd_log_threshold = FD_LOG_FATAL;
    int rv = fd_log_handler_register(fd_log_bridge);
    if (!rv)
        rv = fd_core_initialize();
    if (rv)
        return -rv;
    /* What fd_core_parseconf would have set from Identity and Realm. */
    fd_g_config->cnf_diamid = strdup(identity);
    fd_g_config->cnf_diamrlm = strdup(realm);
    if (!fd_g_config->cnf_diamid || !fd_g_config->cnf_diamrlm)
        return -ENOMEM;
    fd_g_config->cnf_diamid_len = strlen(identity);
    fd_g_config->cnf_diamrlm_len = strlen(realm);
    return resolve_base();
}

/*
 * Without a hook for an event, freeDiameter 1.2.1 formats a summary of every
 * message for it under a process-wide lock, whatever the log level (measured:
 * 5% of mcx-sipdb's CPU, 16% of the proxy's). Registering a hook that does
 * nothing switches that off for the ordinary per-message events; errors,
 * drops and peer events keep freeDiameter's own reporting.
 */
static void quiet_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer,
                       void *other, struct fd_hook_permsgdata *pmd, void *regdata)
{
}

/*
 * freeDiameter 1.2.1 connects to a configured peer at once only if that
 * peer's state machine thread got going before fd_core_start(); otherwise
 * it first waits a random 0-4 s (p_psm.c). The thread leaves STATE_NEW
 * right after that check, so give it up to a second to do so.
 */
static void wait_peer_threads(void)
{
    uint64_t deadline = mcx_now_us() + 1000000;
    for (unsigned i = 0; i < n_peer_ids; i++) {
        struct peer_hdr *ph = NULL;
        if (fd_peer_getbyid((DiamId_t)peer_ids[i], strlen(peer_ids[i]), 0, &ph) || !ph)
            continue;
        while (fd_peer_get_state(ph) == STATE_NEW && mcx_now_us() < deadline)
            usleep(1000);
    }
}

int mcx_diam_start(void)
{
    wait_peer_threads();
    static struct fd_hook_hdl *quiet;
    if (!quiet && fd_log_threshold > FD_LOG_DEBUG) {
        int hr = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_RECEIVED, HOOK_MESSAGE_LOCAL,
                                            HOOK_MESSAGE_SENDING, HOOK_MESSAGE_SENT,
                                            HOOK_MESSAGE_ROUTING_FORWARD,
                                            HOOK_MESSAGE_ROUTING_LOCAL),
                                  quiet_hook, NULL, NULL, &quiet);
        if (hr)
            MCX_WARN("diameter: cannot register the quiet message hook: %s", strerror(hr));
    }
    int rv = fd_core_start();
    if (rv) {
        MCX_ERR("diameter: fd_core_start failed: %s", strerror(rv));
        return -rv;
    }
    rv = fd_core_waitstartcomplete();
    if (rv) {
        MCX_ERR("diameter: start did not complete: %s", strerror(rv));
        return -rv;
    }
    return 0;
}

static volatile sig_atomic_t abort_status;
static volatile sig_atomic_t sanitizer_died;

/* Present only in sanitizer builds: an error they report must not be masked. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void on_sanitizer_death(void)
{
    sanitizer_died = 1;
}

static void abort_in_shutdown(int sig)
{
    static const char msg[] = "freeDiameter aborted while shutting down (a known 1.2.1 race); "
                              "the work was already done\n";
    if (sanitizer_died) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)n;
    _exit(abort_status);
}

void mcx_diam_final_status(int status_on_abort)
{
    abort_status = status_on_abort;
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(on_sanitizer_death);
    signal(SIGABRT, abort_in_shutdown);
    fd_core_shutdown();
    fd_core_wait_shutdown_complete();
    signal(SIGABRT, SIG_DFL);
    free(peer_ids);
    peer_ids = NULL;
    n_peer_ids = 0;
}

void mcx_diam_final(void)
{
    mcx_diam_final_status(0);
}
