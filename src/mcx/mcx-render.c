/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Rendering for `mcx up`: every daemon's configuration generated from the
 * topology (mcx-sipdb and mcx-dproxy YAML) and the Kamailio templates of
 * configs/kamailio/ by plain @NAME@ substitution, where a placeholder without
 * a value and a value no placeholder uses are both errors.
 */
#include "mcx-orch.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* A growable string                                                        */
/* ------------------------------------------------------------------------ */

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *p, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->oom = true; /* our own lines are short; a long one is a bug, not input */
        return;
    }
    sb_add(b, tmp, (size_t)n);
}

static char *sb_take(sbuf_t *b)
{
    if (b->oom || !b->s) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

/* ------------------------------------------------------------------------ */
/* @NAME@ substitution                                                      */
/* ------------------------------------------------------------------------ */

/* Length of the placeholder name at p (just after an '@'), 0 if none. */
static size_t placeholder_len(const char *p)
{
    if (!isupper((unsigned char)p[0]))
        return 0;
    size_t n = 1;
    while (isupper((unsigned char)p[n]) || isdigit((unsigned char)p[n]) || p[n] == '_')
        n++;
    return p[n] == '@' ? n : 0;
}

int mcx_render_text(const char *text, const mcx_render_var_t *vars, size_t n, char **out,
                    char *err, size_t errlen)
{
    sbuf_t b = {0};
    bool used[n ? n : 1];
    memset(used, 0, sizeof(used));
    unsigned line = 1;

    const char *p = text;
    while (*p) {
        const char *at = strpbrk(p, "@\n");
        if (!at) {
            sb_add(&b, p, strlen(p));
            break;
        }
        sb_add(&b, p, (size_t)(at - p));
        if (*at == '\n') {
            line++;
            sb_add(&b, "\n", 1);
            p = at + 1;
            continue;
        }
        size_t len = placeholder_len(at + 1);
        if (!len) {
            sb_add(&b, "@", 1);
            p = at + 1;
            continue;
        }
        size_t i;
        for (i = 0; i < n; i++)
            if (strlen(vars[i].name) == len && !strncmp(vars[i].name, at + 1, len))
                break;
        if (i == n) {
            snprintf(err, errlen, "line %u: no value for @%.*s@", line, (int)len, at + 1);
            free(b.s);
            return -EINVAL;
        }
        used[i] = true;
        sb_add(&b, vars[i].value, strlen(vars[i].value));
        p = at + 1 + len + 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!used[i]) {
            snprintf(err, errlen, "value for @%s@ is never used", vars[i].name);
            free(b.s);
            return -EINVAL;
        }
    }
    if (!b.s)
        sb_add(&b, "", 0);
    *out = sb_take(&b);
    return *out ? 0 : -ENOMEM;
}

static int read_file(const char *path, char **out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -errno;
    sbuf_t b = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
        sb_add(&b, buf, n);
    int e = ferror(fp) ? -EIO : 0;
    fclose(fp);
    if (!e && !b.s)
        sb_add(&b, "", 0);
    *out = sb_take(&b);
    if (e) {
        free(*out);
        return e;
    }
    return *out ? 0 : -ENOMEM;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return -errno;
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, fp) == n;
    ok = (fclose(fp) == 0) && ok;
    if (!ok || chmod(tmp, mode) != 0 || rename(tmp, path) != 0) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        return -e;
    }
    return 0;
}

int mcx_render_file(const char *tmpl, const char *out, const mcx_render_var_t *vars, size_t n,
                    char *err, size_t errlen)
{
    char *text = NULL, *res = NULL, why[512];
    int rv = read_file(tmpl, &text);
    if (rv) {
        snprintf(err, errlen, "%s: cannot read: %s", tmpl, strerror(-rv));
        return rv;
    }
    rv = mcx_render_text(text, vars, n, &res, why, sizeof(why));
    free(text);
    if (rv) {
        snprintf(err, errlen, "%s: %s", tmpl, why);
        return rv;
    }
    rv = write_file(out, res, 0644);
    free(res);
    if (rv)
        snprintf(err, errlen, "%s: cannot write: %s", out, strerror(-rv));
    return rv;
}

/* ------------------------------------------------------------------------ */
/* Generated files                                                          */
/* ------------------------------------------------------------------------ */

void mcx_render_paths(const char *run_dir, const mcx_topo_system_t *s, mcx_sys_paths_t *p)
{
    memset(p, 0, sizeof(*p));
    mcx_pathf(p->dir, sizeof(p->dir), "%s/%s", run_dir, s->name);
    mcx_pathf(p->db, sizeof(p->db), "%s/sipdb.sqlite", p->dir);
    for (unsigned i = 0; i < s->sipdb.count && i < MCX_TOPO_MAX_SIPDB; i++) {
        char id[MCX_TOPO_ID];
        mcx_topo_sipdb_id(s, i, id, sizeof(id));
        id[strcspn(id, ".")] = '\0';
        mcx_pathf(p->sipdb_conf[i], PATH_MAX, "%s/%s.yaml", p->dir, id);
        mcx_pathf(p->sipdb_log[i], PATH_MAX, "%s/%s.log", p->dir, id);
    }
    mcx_pathf(p->dproxy_conf, PATH_MAX, "%s/dproxy.yaml", p->dir);
    mcx_pathf(p->dproxy_log, PATH_MAX, "%s/dproxy.log", p->dir);
    mcx_pathf(p->scscf_cfg, PATH_MAX, "%s/scscf.cfg", p->dir);
    mcx_pathf(p->scscf_cdp, PATH_MAX, "%s/scscf-cdp.xml", p->dir);
    mcx_pathf(p->scscf_log, PATH_MAX, "%s/scscf.log", p->dir);
    mcx_pathf(p->scscf_run, PATH_MAX, "%s/scscf", p->dir);
    mcx_pathf(p->scscf_pid, PATH_MAX, "%s/scscf/kamailio.pid", p->dir);
    static const char *const d[] = {"idms", "cms", "gms", "server"};
    char *conf[] = {p->idms_conf, p->cms_conf, p->gms_conf, p->server_conf};
    char *log[] = {p->idms_log, p->cms_log, p->gms_log, p->server_log};
    char *db[] = {p->idms_db, p->cms_db, p->gms_db, p->server_db};
    for (unsigned i = 0; i < 4; i++) {
        mcx_pathf(conf[i], PATH_MAX, "%s/%s.yaml", p->dir, d[i]);
        mcx_pathf(log[i], PATH_MAX, "%s/%s.log", p->dir, d[i]);
        mcx_pathf(db[i], PATH_MAX, "%s/%s.sqlite", p->dir, d[i]);
    }
    mcx_pathf(p->idms_key, PATH_MAX, "%s/idms-signing-key.pem", p->dir);
    mcx_pathf(p->idms_jwks, PATH_MAX, "%s/idms-jwks.json", p->dir);
    mcx_pathf(p->nginx_dir, PATH_MAX, "%s/nginx", p->dir);
    mcx_pathf(p->nginx_conf, PATH_MAX, "%s/nginx.conf", p->dir);
    mcx_pathf(p->nginx_error_log, PATH_MAX, "%s/nginx-error.log", p->dir);
    mcx_pathf(p->nginx_access_log, PATH_MAX, "%s/nginx-access.log", p->dir);
    mcx_pathf(p->nginx_pid, PATH_MAX, "%s/nginx/nginx.pid", p->dir);
    mcx_pathf(p->nginx_log, PATH_MAX, "%s/nginx.log", p->dir);
    mcx_pathf(p->ifc, PATH_MAX, "%s/mc-ifc.xml", p->dir);
    mcx_certs_paths(run_dir, p->dir, &p->certs);
}

/* Every name we put in YAML is checked by mcx_topo_validate(); paths are quoted. */
static void yaml_quoted(sbuf_t *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_add(b, "\\", 1);
        sb_add(b, s, 1);
    }
    sb_add(b, "\"", 1);
}

char *mcx_render_sipdb_yaml(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, unsigned i)
{
    sbuf_t b = {0};
    char id[MCX_TOPO_ID], proxy[MCX_TOPO_ID], scscf[MCX_TOPO_ID + 16];
    mcx_topo_sipdb_id(s, i, id, sizeof(id));
    mcx_topo_dproxy_id(s, proxy, sizeof(proxy));
    mcx_topo_scscf_uri(s, scscf, sizeof(scscf));
    sb_printf(&b, "# Generated by mcx up for system %s: SIP database %u of %u.\n", s->name,
              i + 1, s->sipdb.count);
    sb_printf(&b, "diameter:\n  identity: %s\n  realm: %s\n  listen: 127.0.0.1\n"
                  "  port: %u\n  watchdog_seconds: 30\n  reconnect_seconds: 1\n"
                  "  log_level: warn\n  accept:\n    - %s\n",
              id, s->realm, s->sipdb_ports[i], proxy);
    sb_printf(&b, "store:\n  backend: sqlite\n  path: ");
    yaml_quoted(&b, p->db);
    /* Instances sharing the store each draw SQNs from their own IND slot. */
    sb_printf(&b, "\nsipdb:\n  ind: %u\n  log_level: %s\n  server_names:\n    - %s\n", i,
              mcx_topo_log_levels[s->sipdb.log_level], scscf);
    return sb_take(&b);
}

char *mcx_render_dproxy_yaml(const mcx_topo_system_t *s)
{
    sbuf_t b = {0};
    char proxy[MCX_TOPO_ID], host[MCX_TOPO_ID];
    mcx_topo_dproxy_id(s, proxy, sizeof(proxy));
    mcx_topo_scscf_host(s, host, sizeof(host));
    sb_printf(&b, "# Generated by mcx up for system %s: the Diameter proxy.\n", s->name);
    /* notice: freeDiameter's peer state lines are what `mcx up` waits for. */
    sb_printf(&b, "diameter:\n  identity: %s\n  realm: %s\n  listen: 127.0.0.1\n  port: %u\n"
                  "  watchdog_seconds: 6\n  reconnect_seconds: 1\n  log_level: notice\n"
                  "  peers:\n",
              proxy, s->realm, s->dproxy.port);
    for (unsigned i = 0; i < s->sipdb.count; i++) {
        char id[MCX_TOPO_ID];
        mcx_topo_sipdb_id(s, i, id, sizeof(id));
        sb_printf(&b, "    - { identity: %s, address: 127.0.0.1, port: %u, realm: %s }\n", id,
                  s->sipdb_ports[i], s->realm);
    }
    /* The proxy connects to the S-CSCF (docs/sip-core.md: cdp only listens). */
    sb_printf(&b, "    - { identity: %s, address: 127.0.0.1, port: %u, realm: %s }\n", host,
              s->scscf.diameter_port, s->realm);
    sb_printf(&b, "dproxy:\n  log_level: %s\n  advertise: [cx]\n  load_balance: true\n"
                  "  routes:\n",
              mcx_topo_log_levels[s->dproxy.log_level]);
    for (unsigned i = 0; i < s->sipdb.count; i++) {
        char id[MCX_TOPO_ID];
        mcx_topo_sipdb_id(s, i, id, sizeof(id));
        sb_printf(&b, "    - { realm: %s, application: cx, peer: %s, priority: 10 }\n", s->realm,
                  id);
    }
    return sb_take(&b);
}

/* http:, log_level:, store: of every HTTP daemon (the contract's common keys). */
static void http_common(sbuf_t *b, const char *what, const mcx_topo_system_t *s, unsigned port,
                        int log_level, const char *db)
{
    sb_printf(b, "# Generated by mcx up for system %s (realm %s): %s.\n", s->name, s->realm,
              what);
    sb_printf(b, "log_level: %s\nhttp:\n  listen: 127.0.0.1\n  port: %u\nstore:\n  path: ",
              mcx_topo_log_levels[log_level], port);
    yaml_quoted(b, db);
    sb_add(b, "\n", 1);
}

char *mcx_render_idms_yaml(const mcx_topo_system_t *s, const mcx_sys_paths_t *p)
{
    sbuf_t b = {0};
    char issuer[MCX_TOPO_ID + 32];
    mcx_topo_public_url(s, "idms", issuer, sizeof(issuer));
    http_common(&b, "the identity management server (mcx-idms)", s, s->idms.port,
                s->idms.log_level, p->idms_db);
    sb_printf(&b, "idms:\n  issuer: \"%s\"\n  audiences:\n    - cms.%s\n    - gms.%s\n"
                  "    - mcptt.%s\n  signing_key: ",
              issuer, s->realm, s->realm, s->realm);
    yaml_quoted(&b, p->idms_key);
    sb_printf(&b, "\n  jwks_out: ");
    yaml_quoted(&b, p->idms_jwks);
    sb_printf(&b, "\n  access_token_lifetime: %u\n  refresh_token_lifetime: %u\n"
                  "  code_lifetime: %u\n",
              s->idms.access_token_lifetime, s->idms.refresh_token_lifetime,
              s->idms.code_lifetime);
    return sb_take(&b);
}

char *mcx_render_rs_yaml(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, const char *what)
{
    sbuf_t b = {0};
    char issuer[MCX_TOPO_ID + 32], root[MCX_TOPO_ID + 32];
    mcx_topo_public_url(s, "idms", issuer, sizeof(issuer));
    bool cms = !strcmp(what, "cms"), gms = !strcmp(what, "gms");
    if (cms) {
        http_common(&b, "the configuration management server (mcx-cms)", s, s->cms.port,
                    s->cms.log_level, p->cms_db);
    } else if (gms) {
        http_common(&b, "the group management server (mcx-gms)", s, s->gms.port,
                    s->gms.log_level, p->gms_db);
    } else {
        http_common(&b, "the MC service server (mcx-server)", s, s->server.http_port,
                    s->server.log_level, p->server_db);
    }
    /* Tokens of this system's IdMS only; the next issue adds partners here. */
    sb_printf(&b, "auth:\n  audience: %s.%s\n  leeway: 30\n  trust:\n    - issuer: \"%s\"\n"
                  "      jwks_file: ",
              cms ? "cms" : gms ? "gms" : "mcptt", s->realm, issuer);
    yaml_quoted(&b, p->idms_jwks);
    sb_add(&b, "\n", 1);
    if (cms || gms) {
        mcx_topo_public_url(s, what, root, sizeof(root));
        sb_printf(&b, "%s:\n  xcap_root: \"%s\"\n", what, root);
    } else {
        char psi[MCX_TOPO_ID + 32];
        mcx_topo_server_psi(s, psi, sizeof(psi));
        sb_printf(&b, "sip:\n  listen: 127.0.0.1\n  port: %u\n"
                      "server:\n  psi: \"%s\"\n  cms_url: \"http://127.0.0.1:%u\"\n",
                  s->server.sip_port, psi, s->cms.port);
    }
    return sb_take(&b);
}

/* XML text: escape what would end an attribute or element. */
static void xml_text(sbuf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sb_add(b, "&amp;", 5); break;
        case '<': sb_add(b, "&lt;", 4); break;
        case '>': sb_add(b, "&gt;", 4); break;
        case '"': sb_add(b, "&quot;", 6); break;
        default: sb_add(b, s, 1);
        }
    }
}

char *mcx_render_user_profile(const mcx_topo_system_t *s, const mcx_topo_user_t *u,
                              unsigned index)
{
    (void)s;
    sbuf_t b = {0};
    sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<mcptt-user-profile xmlns=\"urn:3gpp:mcptt:user-profile:1.0\" XUI-URI=\"");
    xml_text(&b, u->mcptt_id);
    sb_printf(&b, "\" user-profile-index=\"%u\">\n  <Name>", index);
    xml_text(&b, u->username);
    sb_printf(&b, "</Name>\n  <Common index=\"0\">\n    <MCPTTUserID>\n      <uri-entry>");
    xml_text(&b, u->mcptt_id);
    sb_printf(&b, "</uri-entry>\n    </MCPTTUserID>\n  </Common>\n"
                  "  <OnNetwork index=\"0\">\n    <MCPTTGroupInfo>\n");
    for (unsigned g = 0; g < u->n_groups; g++) {
        sb_printf(&b, "      <entry>\n        <uri-entry>");
        xml_text(&b, u->groups[g]);
        sb_printf(&b, "</uri-entry>\n      </entry>\n");
    }
    sb_printf(&b, "    </MCPTTGroupInfo>\n  </OnNetwork>\n</mcptt-user-profile>\n");
    return sb_take(&b);
}

char *mcx_render_group_doc(const mcx_topo_system_t *s, const mcx_topo_group_t *g)
{
    sbuf_t b = {0};
    sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<group xmlns=\"urn:oma:xml:poc:list-service\">\n  <list-service uri=\"");
    xml_text(&b, g->uri);
    sb_printf(&b, "\">\n");
    if (g->display_name[0]) {
        sb_printf(&b, "    <display-name>");
        xml_text(&b, g->display_name);
        sb_printf(&b, "</display-name>\n");
    }
    sb_printf(&b, "    <list>\n");
    for (unsigned m = 0; m < g->n_members; m++) {
        const char *id = mcx_topo_member_id(s, g->members[m]);
        sb_printf(&b, "      <entry uri=\"");
        xml_text(&b, id ? id : g->members[m]);
        sb_printf(&b, "\"/>\n");
    }
    sb_printf(&b, "    </list>\n  </list-service>\n</group>\n");
    return sb_take(&b);
}

char *mcx_render_ue_config(const mcx_topo_system_t *s)
{
    sbuf_t b = {0};
    sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<mcptt-UE-configuration xmlns=\"urn:3gpp:mcptt:mcpttUEConfig:1.0\" "
                  "domain=\"%s\">\n  <Common/>\n</mcptt-UE-configuration>\n",
              s->realm);
    return sb_take(&b);
}

char *mcx_render_service_config(const mcx_topo_system_t *s)
{
    sbuf_t b = {0};
    sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<service-configuration-info xmlns=\"urn:3gpp:ns:mcpttServiceConfig:1.0\" "
                  "domain=\"%s\">\n  <service-configuration-params/>\n"
                  "</service-configuration-info>\n",
              s->realm);
    return sb_take(&b);
}

int mcx_render_nginx(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, const char *tmpl,
                     char *err, size_t errlen)
{
    char https[8], idms[8], cms[8], gms[8], temp[PATH_MAX];
    snprintf(https, sizeof(https), "%u", s->https_port);
    snprintf(idms, sizeof(idms), "%u", s->idms.port);
    snprintf(cms, sizeof(cms), "%u", s->cms.port);
    snprintf(gms, sizeof(gms), "%u", s->gms.port);
    mcx_pathf(temp, sizeof(temp), "%s/temp", p->nginx_dir);
    const mcx_render_var_t v[] = {
        {"SYSTEM", s->name},         {"REALM", s->realm},
        {"RUN_DIR", p->dir},         {"PID_FILE", p->nginx_pid},
        {"ERROR_LOG", p->nginx_error_log}, {"ACCESS_LOG", p->nginx_access_log},
        {"TEMP_DIR", temp},          {"MAX_BODY", "1m"},
        {"IDMS_PORT", idms},         {"CMS_PORT", cms},
        {"GMS_PORT", gms},           {"HTTPS_PORT", https},
        {"CERT", p->certs.cert},     {"KEY", p->certs.key},
    };
    return mcx_render_file(tmpl, p->nginx_conf, v, sizeof(v) / sizeof(v[0]), err, errlen);
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    if (mcx_strlcpy(tmp, dir, sizeof(tmp)))
        return -ENAMETOOLONG;
    for (char *q = tmp + 1; *q; q++) {
        if (*q == '/') {
            *q = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -errno;
            *q = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int write_text(const char *path, char *text, char *err, size_t errlen)
{
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    int rv = write_file(path, text, 0644);
    free(text);
    if (rv)
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(-rv));
    return rv;
}

int mcx_render_system(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, const char *kam_dir,
                      char *err, size_t errlen)
{
    char temp[PATH_MAX];
    mcx_pathf(temp, sizeof(temp), "%s/temp", p->nginx_dir);
    const char *dirs[] = {p->scscf_run, temp};
    int rv;
    for (unsigned i = 0; i < 2; i++) {
        if ((rv = mkdir_p(dirs[i]))) {
            snprintf(err, errlen, "%s: cannot create: %s", dirs[i], strerror(-rv));
            return rv;
        }
    }
    if ((rv = write_text(p->idms_conf, mcx_render_idms_yaml(s, p), err, errlen)) ||
        (rv = write_text(p->cms_conf, mcx_render_rs_yaml(s, p, "cms"), err, errlen)) ||
        (rv = write_text(p->gms_conf, mcx_render_rs_yaml(s, p, "gms"), err, errlen)) ||
        (rv = write_text(p->server_conf, mcx_render_rs_yaml(s, p, "server"), err, errlen)))
        return rv;
    char ntmpl[PATH_MAX];
    mcx_pathf(ntmpl, sizeof(ntmpl), "%s/nginx.conf.in", mcx_nginx_dir());
    if ((rv = mcx_render_nginx(s, p, ntmpl, err, errlen)))
        return rv;
    for (unsigned i = 0; i < s->sipdb.count; i++)
        if ((rv = write_text(p->sipdb_conf[i], mcx_render_sipdb_yaml(s, p, i), err, errlen)))
            return rv;
    if ((rv = write_text(p->dproxy_conf, mcx_render_dproxy_yaml(s), err, errlen)))
        return rv;

    char host[MCX_TOPO_ID], uri[MCX_TOPO_ID + 16], proxy[MCX_TOPO_ID];
    char sip_port[8], cdp_port[8], proxy_port[8], debug[8];
    char tmpl[PATH_MAX], xsd[PATH_MAX];
    mcx_topo_scscf_host(s, host, sizeof(host));
    mcx_topo_scscf_uri(s, uri, sizeof(uri));
    mcx_topo_dproxy_id(s, proxy, sizeof(proxy));
    snprintf(sip_port, sizeof(sip_port), "%u", s->scscf.sip_port);
    snprintf(cdp_port, sizeof(cdp_port), "%u", s->scscf.diameter_port);
    snprintf(proxy_port, sizeof(proxy_port), "%u", s->dproxy.port);
    snprintf(debug, sizeof(debug), "%d", (int)s->scscf.debug);
    snprintf(xsd, sizeof(xsd), "%s/CxDataType.xsd", kam_dir);

    const mcx_render_var_t cdp[] = {
        {"DIAMETER_ID", host},       {"REALM", s->realm},        {"DIAMETER_ADDR", "127.0.0.1"},
        {"DIAMETER_PORT", cdp_port}, {"DPROXY_ID", proxy},       {"DPROXY_REALM", s->realm},
        {"DPROXY_PORT", proxy_port},
    };
    snprintf(tmpl, sizeof(tmpl), "%s/scscf-cdp.xml.in", kam_dir);
    if ((rv = mcx_render_file(tmpl, p->scscf_cdp, cdp, sizeof(cdp) / sizeof(cdp[0]), err,
                              errlen)))
        return rv;

    const mcx_render_var_t cfg[] = {
        {"SIP_ADDR", "127.0.0.1"},
        {"SIP_PORT", sip_port},
        {"SCSCF_HOST", host},
        {"SCSCF_NAME", uri},
        {"HOME_DOMAIN", s->realm},
        {"CX_REALM", s->realm},
        {"DPROXY_ID", proxy},
        {"CDP_CONFIG", p->scscf_cdp},
        {"USER_DATA_XSD", xsd},
        {"DEFAULT_ALGORITHM", mcx_topo_algorithms[s->scscf.default_algorithm]},
        {"RUN_DIR", p->scscf_run},
        {"DEBUG", debug},
    };
    snprintf(tmpl, sizeof(tmpl), "%s/scscf.cfg.in", kam_dir);
    return mcx_render_file(tmpl, p->scscf_cfg, cfg, sizeof(cfg) / sizeof(cfg[0]), err, errlen);
}
