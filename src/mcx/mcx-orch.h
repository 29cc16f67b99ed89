/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx, the orchestration program: what its files share. The topology (one
 * YAML file describing MC systems on loopback), the rendering of every
 * daemon's configuration from it, the child processes it starts and the state
 * file that lets a later `mcx down` / `mcx status` find them again.
 */
#ifndef MCX_ORCH_H
#define MCX_ORCH_H

#include "mcx-core.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ------------------------------------------------------------------------ */
/* Topology (mcx-topology.c)                                                */
/* ------------------------------------------------------------------------ */

#define MCX_TOPO_MAX_SYSTEMS 4
#define MCX_TOPO_MAX_SIPDB 8
#define MCX_TOPO_MAX_SUBS 32
#define MCX_TOPO_MAX_IMPUS 8
#define MCX_TOPO_ID 256
#define MCX_TOPO_NAME 32

typedef enum { MCX_TOPO_SCHEME_AUTO = 0, MCX_TOPO_SCHEME_AKA, MCX_TOPO_SCHEME_DIGEST } mcx_topo_scheme_t;

typedef struct {
    char impi[MCX_TOPO_ID];
    char impus[MCX_TOPO_MAX_IMPUS][MCX_TOPO_ID];
    unsigned n_impus;
    char k[40], op[40], opc[40], amf[8];
    int64_t sqn;
    char password[128];
    int scheme; /* mcx_topo_scheme_t */
} mcx_topo_sub_t;

#define MCX_TOPO_MAX_USERS 16
#define MCX_TOPO_MAX_GROUPS 16
#define MCX_TOPO_MAX_PROFILES 4
#define MCX_TOPO_MAX_USER_GROUPS 8
#define MCX_TOPO_MAX_MEMBERS 16

/* An MC service user: an IdMS account, CMS profiles, a SIP subscriber. */
typedef struct {
    char username[64];
    char password[128];
    char mcptt_id[MCX_TOPO_ID];       /* default sip:<username>@<realm> */
    char sip_identity[MCX_TOPO_ID];   /* impi of one of `subscribers:` */
    char profiles[MCX_TOPO_MAX_PROFILES][MCX_TOPO_ID]; /* "builtin" or a file path */
    unsigned n_profiles;
    char groups[MCX_TOPO_MAX_USER_GROUPS][MCX_TOPO_ID]; /* group URIs the profiles name */
    unsigned n_groups;
} mcx_topo_user_t;

/* A group document of the GMS. */
typedef struct {
    char uri[MCX_TOPO_ID];
    char display_name[128];
    char members[MCX_TOPO_MAX_MEMBERS][MCX_TOPO_ID]; /* MCPTT IDs or usernames */
    unsigned n_members;
} mcx_topo_group_t;

typedef struct {
    char name[MCX_TOPO_NAME];   /* directory name and first label of identities */
    char realm[MCX_TOPO_ID];    /* home domain and Diameter realm */
    uint32_t base_port;         /* 0: every port not given explicitly is picked free */
    struct {
        uint32_t count;
        uint32_t first_port;
        int log_level;          /* index into mcx_topo_log_levels */
    } sipdb;
    struct {
        uint32_t port;
        int log_level;
    } dproxy;
    struct {
        char name[MCX_TOPO_NAME]; /* host label: <name>.<realm> */
        uint32_t sip_port;
        uint32_t diameter_port;
        int default_algorithm;    /* index into mcx_topo_algorithms */
        int64_t debug;            /* Kamailio debug level -1..3 */
    } scscf;
    mcx_topo_sub_t subs[MCX_TOPO_MAX_SUBS];
    unsigned n_subs;

    /* Application plane: nginx (TLS, HTTP-1) in front of the HTTP daemons. */
    uint32_t https_port;
    struct {
        uint32_t port;
        int log_level;
        uint32_t access_token_lifetime;  /* seconds */
        uint32_t refresh_token_lifetime;
        uint32_t code_lifetime;
    } idms;
    struct {
        uint32_t port;
        int log_level;
    } cms, gms;
    struct {
        uint32_t sip_port;
        uint32_t http_port;
        int log_level;
    } server;
    mcx_topo_user_t users[MCX_TOPO_MAX_USERS];
    unsigned n_users;
    mcx_topo_group_t groups[MCX_TOPO_MAX_GROUPS];
    unsigned n_groups;

    /* Filled by mcx_topo_assign_ports(): the ports in use. */
    unsigned sipdb_ports[MCX_TOPO_MAX_SIPDB];
} mcx_topo_system_t;

typedef struct {
    mcx_topo_system_t systems[MCX_TOPO_MAX_SYSTEMS];
    unsigned n_systems;
} mcx_topo_t;

extern const char *const mcx_topo_log_levels[];  /* error warn notice info debug */
extern const char *const mcx_topo_algorithms[];  /* HSS-Selected AKAv1-MD5 3GPP-Digest */

/* The loader's table (exposed for documentation and tests). */
extern const mcx_conf_field_t mcx_topo_fields[];

/*
 * Load and check a topology from a file or a string (`name` labels errors).
 * `topo` is filled (the caller owns it; it is large, allocate it). On error
 * returns -EINVAL (or -errno for an unreadable file) and `err` holds
 * "<file>[:<line>]: <key.path>: <reason>".
 */
int mcx_topo_load_file(const char *path, mcx_topo_t *topo, char *err, size_t errlen);
int mcx_topo_load_string(const char *name, const char *text, mcx_topo_t *topo, char *err,
                         size_t errlen);

/* Checks beyond the table (names, hex keys, credentials, port clashes). */
int mcx_topo_validate(const mcx_topo_t *topo, const char *name, char *err, size_t errlen);

/*
 * Give every port its value: explicit ports stay, then base_port + offset
 * (S-CSCF SIP +0, S-CSCF Diameter +1, proxy +2, SIP databases +3...), else
 * `pick(arg)` (a free port, or 0 on failure). Fails with -EADDRINUSE / -ERANGE
 * and a message naming the key when two ports clash or exceed 65535.
 */
int mcx_topo_assign_ports(mcx_topo_t *topo, unsigned (*pick)(void *arg), void *arg, char *err,
                          size_t errlen);

/*
 * snprintf for paths: returns 0 or -ENAMETOOLONG. (A plain function so the
 * compiler does not warn about run directories near PATH_MAX; `mcx` refuses
 * run directories longer than MCX_RUN_DIR_MAX.)
 */
int mcx_pathf(char *out, size_t len, const char *fmt, ...);
#define MCX_RUN_DIR_MAX 3000

/* Names derived from a system: identities, S-CSCF host and name. */
void mcx_topo_scscf_host(const mcx_topo_system_t *s, char *out, size_t len);
void mcx_topo_scscf_uri(const mcx_topo_system_t *s, char *out, size_t len);
void mcx_topo_dproxy_id(const mcx_topo_system_t *s, char *out, size_t len);
void mcx_topo_sipdb_id(const mcx_topo_system_t *s, unsigned i, char *out, size_t len);
/* https://127.0.0.1:<https_port>/<what> (what: idms, cms, gms) */
void mcx_topo_public_url(const mcx_topo_system_t *s, const char *what, char *out, size_t len);
/* sip:mcptt-server@<realm> */
void mcx_topo_server_psi(const mcx_topo_system_t *s, char *out, size_t len);
/* The MCPTT ID a `groups[].members` entry names (a username is mapped). */
const char *mcx_topo_member_id(const mcx_topo_system_t *s, const char *member);
/* The user whose sip_identity is `impi`, or NULL. */
const mcx_topo_user_t *mcx_topo_user_of_impi(const mcx_topo_system_t *s, const char *impi);

/* ------------------------------------------------------------------------ */
/* Certificates (mcx-certs.c)                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    char ca_cert[PATH_MAX], ca_key[PATH_MAX]; /* RUN_DIR/ca.pem, ca-key.pem */
    char cert[PATH_MAX], key[PATH_MAX];       /* SYS_DIR/server-cert.pem, server-key.pem */
} mcx_cert_paths_t;

/* Fill the paths; sys_dir NULL leaves cert/key empty (CA only). */
void mcx_certs_paths(const char *run_dir, const char *sys_dir, mcx_cert_paths_t *p);

/*
 * Make what is missing: the CA (EC P-256, 10 years) when ca.pem does not
 * exist, the server certificate of `realm` (SAN IP:127.0.0.1, localhost,
 * realm, idms./cms./gms.<realm>) unless a valid one signed by this CA is
 * there. Keys are written 0600. *made tells whether anything was written.
 */
int mcx_certs_ensure(const mcx_cert_paths_t *p, const char *realm, bool *made, char *err,
                     size_t errlen);

/* X509_verify_cert of cert_path against the CA alone, and (unless NULL) its host name. */
int mcx_certs_verify(const char *ca_path, const char *cert_path, const char *host, char *err,
                     size_t errlen);

/* ------------------------------------------------------------------------ */
/* Rendering (mcx-render.c)                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;  /* placeholder name without the @ signs */
    const char *value;
} mcx_render_var_t;

/*
 * Replace every @NAME@ (NAME: [A-Z][A-Z0-9_]*) of `text` by its value.
 * A placeholder without a value, or a value that no placeholder used, is an
 * error (-EINVAL, `err` names it). On success *out is a new string the
 * caller frees.
 */
int mcx_render_text(const char *text, const mcx_render_var_t *vars, size_t n, char **out,
                    char *err, size_t errlen);

/* The same from file `tmpl` to file `out`; errors are prefixed with `tmpl`. */
int mcx_render_file(const char *tmpl, const char *out, const mcx_render_var_t *vars, size_t n,
                    char *err, size_t errlen);

/* Where the generated files of one system go, all under `dir`. */
typedef struct {
    char dir[PATH_MAX];
    char db[PATH_MAX];
    char sipdb_conf[MCX_TOPO_MAX_SIPDB][PATH_MAX];
    char sipdb_log[MCX_TOPO_MAX_SIPDB][PATH_MAX];
    char dproxy_conf[PATH_MAX], dproxy_log[PATH_MAX];
    char scscf_cfg[PATH_MAX], scscf_cdp[PATH_MAX], scscf_log[PATH_MAX];
    char scscf_run[PATH_MAX], scscf_pid[PATH_MAX];
    /* application plane */
    char idms_conf[PATH_MAX], idms_log[PATH_MAX], idms_db[PATH_MAX];
    char idms_key[PATH_MAX], idms_jwks[PATH_MAX];
    char cms_conf[PATH_MAX], cms_log[PATH_MAX], cms_db[PATH_MAX];
    char gms_conf[PATH_MAX], gms_log[PATH_MAX], gms_db[PATH_MAX];
    char server_conf[PATH_MAX], server_log[PATH_MAX], server_db[PATH_MAX];
    char nginx_dir[PATH_MAX], nginx_conf[PATH_MAX], nginx_error_log[PATH_MAX];
    char nginx_access_log[PATH_MAX], nginx_pid[PATH_MAX], nginx_log[PATH_MAX];
    char ifc[PATH_MAX];
    mcx_cert_paths_t certs;
} mcx_sys_paths_t;

void mcx_render_paths(const char *run_dir, const mcx_topo_system_t *s, mcx_sys_paths_t *p);

/* Text of the generated YAML configurations (caller frees). NULL on ENOMEM. */
char *mcx_render_sipdb_yaml(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, unsigned i);
char *mcx_render_dproxy_yaml(const mcx_topo_system_t *s);
char *mcx_render_idms_yaml(const mcx_topo_system_t *s, const mcx_sys_paths_t *p);
/* what: "cms", "gms" or "server" */
char *mcx_render_rs_yaml(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, const char *what);
/* nginx.conf.in from `tmpl` into p->nginx_conf */
int mcx_render_nginx(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, const char *tmpl,
                     char *err, size_t errlen);
/* The built-in documents (caller frees; NULL on ENOMEM). */
char *mcx_render_user_profile(const mcx_topo_system_t *s, const mcx_topo_user_t *u,
                              unsigned index);
char *mcx_render_group_doc(const mcx_topo_system_t *s, const mcx_topo_group_t *g);
char *mcx_render_ue_config(const mcx_topo_system_t *s);
char *mcx_render_service_config(const mcx_topo_system_t *s);
/* configs/nginx (or $MCX_NGINX_DIR) */
const char *mcx_nginx_dir(void);

/*
 * Write every configuration of system `s` into p->dir (created), rendering
 * the Kamailio templates found in `kam_dir`. Returns 0 or -errno with `err`.
 */
int mcx_render_system(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, const char *kam_dir,
                      char *err, size_t errlen);

/*
 * Provision the system's subscribers into p->db (mcxctl's rules). `ifc` is
 * the iFC XML given to the subscribers of MC users (NULL: none).
 */
int mcx_provision_system(const mcx_topo_system_t *s, const char *db, const char *ifc, char *err,
                         size_t errlen);

/*
 * Application-plane provisioning with mcxctl (IdMS users and the mcx-ue
 * client, CMS and GMS documents). A piece not built yet is skipped with a
 * line on `out`. Idempotent.
 */
int mcx_provision_idms(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, FILE *out,
                       char *err, size_t errlen);
int mcx_provision_xcap(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, FILE *out,
                       char *err, size_t errlen);
/* The mc-ifc.xml.in rendered for this system (caller frees), NULL + err when absent. */
char *mcx_render_mc_ifc(const mcx_topo_system_t *s, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Processes and state (mcx-proc.c)                                         */
/* ------------------------------------------------------------------------ */

typedef enum {
    MCX_PROBE_DIAMETER = 0, /* TCP connect */
    MCX_PROBE_SIP = 1,      /* OPTIONS answered 200 */
    MCX_PROBE_HTTP = 2,     /* GET http://127.0.0.1:port/healthz answered 200 */
    MCX_PROBE_HTTPS = 3,    /* GET https://127.0.0.1:port/idms/.well-known/openid-configuration
                             * answered 200, server certificate checked against `ca` */
    MCX_PROBE_TLS = 4,      /* as HTTPS, any HTTP answer counts (no IdMS behind it) */
} mcx_probe_t;

typedef struct {
    char system[MCX_TOPO_NAME];
    char name[64];        /* e.g. mcx-sipdb, mcx-dproxy, kamailio */
    char identity[MCX_TOPO_ID]; /* Diameter identity or SIP host */
    pid_t pid;
    unsigned long long start_time; /* /proc/PID/stat field 22: tells a reused pid apart */
    bool group;           /* signal the whole process group (Kamailio forks) */
    mcx_probe_t probe;
    unsigned port;
    char realm[MCX_TOPO_ID];
    char log[PATH_MAX];
    char ca[PATH_MAX];    /* HTTPS / TLS probes: the CA file; empty otherwise */
} mcx_proc_t;

#define MCX_STATE_MAX 64

typedef struct {
    mcx_proc_t procs[MCX_STATE_MAX];
    unsigned n;
} mcx_state_t;

/* Binaries: our own next to mcx (build tree or install dir), else $PATH. */
int mcx_find_program(const char *name, char *out, size_t len);
/* The Kamailio templates folder: $MCX_KAMAILIO_DIR, else the source tree's. */
const char *mcx_kamailio_dir(void);

/* A TCP (and UDP) port free on 127.0.0.1 now; 0 if none. `arg` unused. */
unsigned mcx_free_port(void *arg);

/*
 * Start argv[0] (an absolute path) in its own session, stdin from
 * /dev/null, stdout and stderr appended to `log`. Fills pid and start_time.
 */
int mcx_proc_spawn(mcx_proc_t *p, char *const argv[]);

/* Alive: the pid exists, is not a zombie, and is the process we started. */
bool mcx_proc_alive(const mcx_proc_t *p);

/*
 * SIGTERM (to the group if p->group), wait up to `timeout_ms`, then SIGKILL.
 * Reaps it when it is our child. Returns 0 when gone, -ESRCH if it was not
 * there (or is another process now).
 */
int mcx_proc_stop(const mcx_proc_t *p, unsigned timeout_ms);

/* Health probe: "ok" or a short reason in `out`. Returns true when healthy. */
bool mcx_proc_probe(const mcx_proc_t *p, char *out, size_t len);

/* SIP OPTIONS to 127.0.0.1:port: the status code, or -1 (no answer). */
int mcx_sip_options(unsigned port, const char *host, const char *realm, unsigned timeout_ms);
bool mcx_tcp_open(unsigned port);
/*
 * GET `url` with libcurl (TLS checked against `ca` when given): the HTTP
 * status, or -1 with a reason in `body`. The body (truncated) goes to `body`.
 */
int mcx_http_get(const char *url, const char *ca, unsigned timeout_ms, char *body, size_t len);

/* Does the file at `path` contain `needle`? */
bool mcx_file_contains(const char *path, const char *needle);
/*
 * Is freeDiameter's connection to `identity` open now, by the last state
 * change it logged for that peer (notice level logs every change into or out
 * of STATE_OPEN)? A peer that dropped and came back sits in STATE_REOPEN,
 * logged only when it leaves it, and answers to it are lost meanwhile.
 */
bool mcx_fd_peer_open(const char *log, const char *identity);

/* State file RUN_DIR/mcx.state. */
void mcx_state_path(const char *run_dir, char *out, size_t len);
int mcx_state_save(const char *run_dir, const mcx_state_t *st);
int mcx_state_load(const char *run_dir, mcx_state_t *st, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Commands (mcx-main.c, mcx-demo.c)                                        */
/* ------------------------------------------------------------------------ */

/* Set by SIGINT / SIGTERM while a command runs. */
extern volatile int mcx_interrupted;

typedef struct {
    char run_dir[PATH_MAX];
    bool quiet;           /* no table */
    unsigned timeout_s;   /* health wait */
} mcx_up_opts_t;

/*
 * Bring up every system of `topo` (ports already assigned) under run_dir,
 * recording each process in the state file as it starts. On failure, stops
 * whatever it started and returns -errno with one line in `err`.
 */
int mcx_up(mcx_topo_t *topo, const mcx_up_opts_t *o, mcx_state_t *st, char *err, size_t errlen);
int mcx_down(const char *run_dir, bool verbose);
void mcx_print_table(FILE *fp, const mcx_state_t *st, bool probe);
int mcx_demo(int argc, char **argv);

#endif /* MCX_ORCH_H */
