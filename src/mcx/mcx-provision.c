/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Provisioning of a topology's subscribers into the SIP database store,
 * with mcxctl's rules (lib/store directly): OPc computed from OP, HA1 (MD5 and
 * SHA-256) of IMPI:realm:password stored instead of the password, default
 * scheme AKA when there is a K. A subscriber already in the store (a second
 * `mcx up` on the same run directory) is updated, never with a lower SQN.
 * Subscribers of MC users get the MC iFC. The application plane (IdMS users
 * and client, CMS and GMS documents) is provisioned by running mcxctl.
 */
#include "mcx-orch.h"
#include "mcx-auth.h"
#include "mcx-store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

int mcx_provision_system(const mcx_topo_system_t *s, const char *db, const char *ifc, char *err,
                         size_t errlen)
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
        if (ifc && mcx_topo_user_of_impi(s, impi) &&
            mcx_strlcpy(sub->ifc_xml, ifc, sizeof(sub->ifc_xml))) {
            snprintf(err, errlen, "mc-ifc.xml: larger than %zu bytes", sizeof(sub->ifc_xml) - 1);
            rv = -E2BIG;
            break;
        }
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

/* ------------------------------------------------------------------------ */
/* The MC iFC                                                               */
/* ------------------------------------------------------------------------ */

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = malloc(MCX_STORE_IFC_MAX + 1);
    size_t n = buf ? fread(buf, 1, MCX_STORE_IFC_MAX + 1, fp) : 0;
    fclose(fp);
    if (!buf || n > MCX_STORE_IFC_MAX) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

char *mcx_render_mc_ifc(const mcx_topo_system_t *s, char *err, size_t errlen)
{
    char tmpl[PATH_MAX];
    mcx_pathf(tmpl, sizeof(tmpl), "%s/mc-ifc.xml.in", mcx_kamailio_dir());
    char *text = slurp(tmpl);
    if (!text) {
        snprintf(err, errlen, "%s: %s", tmpl, access(tmpl, F_OK) ? "not there" : "unreadable");
        return NULL;
    }
    /* The values the template may ask for; only those it uses are given. */
    char uri[MCX_TOPO_ID + 32], psi[MCX_TOPO_ID + 32], port[8];
    snprintf(uri, sizeof(uri), "sip:127.0.0.1:%u", s->server.sip_port);
    mcx_topo_server_psi(s, psi, sizeof(psi));
    snprintf(port, sizeof(port), "%u", s->server.sip_port);
    const mcx_render_var_t all[] = {
        {"MCX_SERVER_URI", uri}, {"SERVER_URI", uri},   {"AS_URI", uri},
        {"SERVER_NAME", uri},    {"MCX_SERVER_PSI", psi}, {"SERVER_PSI", psi},
        {"PSI", psi},            {"REALM", s->realm},   {"HOME_DOMAIN", s->realm},
        {"SERVER_PORT", port},   {"SERVER_ADDR", "127.0.0.1"},
    };
    mcx_render_var_t used[sizeof(all) / sizeof(all[0])];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        char ph[64];
        snprintf(ph, sizeof(ph), "@%s@", all[i].name);
        if (strstr(text, ph))
            used[n++] = all[i];
    }
    char *out = NULL, why[256];
    int rv = mcx_render_text(text, used, n, &out, why, sizeof(why));
    free(text);
    if (rv) {
        snprintf(err, errlen, "%s: %s", tmpl, why);
        return NULL;
    }
    /* The store keeps the elements only: drop an XML declaration, trim. */
    char *p = out + strspn(out, " \t\r\n");
    if (!strncmp(p, "<?xml", 5)) {
        char *end = strstr(p, "?>");
        p = end ? end + 2 : p;
        p += strspn(p, " \t\r\n");
    }
    size_t len = strlen(p);
    while (len && strchr(" \t\r\n", p[len - 1]))
        len--;
    memmove(out, p, len);
    out[len] = '\0';
    return out;
}

/* ------------------------------------------------------------------------ */
/* mcxctl                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Run argv (absolute argv[0]) with `input` (or nothing) on its stdin; its
 * stdout+stderr into out. Exit status or -errno.
 */
static int run_tool_in(char *const argv[], const char *input, char *out, size_t outlen)
{
    int pfd[2], ifd[2];
    if (pipe2(pfd, O_CLOEXEC))
        return -errno;
    if (pipe2(ifd, O_CLOEXEC)) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        return -e;
    }
    /* A password line is far below the pipe's buffer: written before the fork. */
    if (input) {
        size_t n = strlen(input);
        if (write(ifd[1], input, n) != (ssize_t)n || write(ifd[1], "\n", 1) != 1) {
            close(ifd[0]);
            close(ifd[1]);
            close(pfd[0]);
            close(pfd[1]);
            return -EIO;
        }
    }
    close(ifd[1]);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        close(ifd[0]);
        return -e;
    }
    if (pid == 0) {
        dup2(ifd[0], 0);
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    close(ifd[0]);
    size_t n = 0;
    for (;;) {
        char buf[512];
        ssize_t r = read(pfd[0], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r && n + 1 < outlen; i++)
            out[n++] = buf[i];
    }
    if (outlen)
        out[n] = '\0';
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (outlen)
        out[strcspn(out, "\n")] = '\0'; /* the first line says it */
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int run_tool(char *const argv[], char *out, size_t outlen)
{
    return run_tool_in(argv, NULL, out, outlen);
}

/* Is the mcxctl noun implemented? (The scaffolding answers "not built yet".) */
static bool noun_built(const char *mcxctl, const char *noun)
{
    char out[512];
    char *const argv[] = {(char *)mcxctl, (char *)noun, "--help", NULL};
    int rv = run_tool(argv, out, sizeof(out));
    return rv == 0 && !strstr(out, "not built");
}

#define MC_SCOPES                                                                               \
    "openid 3gpp:mc:ptt_service 3gpp:mc:ptt_config_management_service "                         \
    "3gpp:mc:ptt_group_management_service 3gpp:mc:ptt_key_management_service"

int mcx_provision_idms(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, FILE *out,
                       char *err, size_t errlen)
{
    char mcxctl[PATH_MAX];
    if (mcx_find_program("mcxctl", mcxctl, sizeof(mcxctl))) {
        fprintf(out, "mcx: %s: mcxctl not built: skipping IdMS provisioning\n", s->name);
        return 0;
    }
    if (!noun_built(mcxctl, "user") || !noun_built(mcxctl, "client")) {
        fprintf(out, "mcx: %s: mcxctl user/client not built: skipping IdMS provisioning\n",
                s->name);
        return 0;
    }
    char o[512];
    char *db = (char *)p->idms_db;
    /* The client: added once, left as it is on a later `mcx up` (a delete
     * and add would revoke its refresh tokens). */
    char *show[] = {mcxctl, "--db", db, "client", "show", "--client-id", "mcx-ue", NULL};
    if (run_tool(show, o, sizeof(o)) != 0) {
        char *add[] = {mcxctl, "--db", db, "client", "add", "--client-id", "mcx-ue",
                       "--redirect-uri", "org.mcxcore.ue:/oauth2redirect", "--scope", MC_SCOPES,
                       NULL};
        if (run_tool(add, o, sizeof(o)) != 0) {
            snprintf(err, errlen, "mcxctl client add mcx-ue: %s", o[0] ? o : "failed");
            return -EIO;
        }
    }
    /* Users: add, or update password and MCPTT ID when there already. The
     * password goes through stdin, never the command line. */
    for (unsigned i = 0; i < s->n_users; i++) {
        const mcx_topo_user_t *u = &s->users[i];
        char *argv[] = {mcxctl, "--db", db, "user", "add", "--username", (char *)u->username,
                        "--password", "-", "--mcptt-id", (char *)u->mcptt_id, NULL};
        int rv = run_tool_in(argv, u->password, o, sizeof(o));
        if (rv > 0 && strstr(o, "exist")) {
            argv[4] = "update";
            rv = run_tool_in(argv, u->password, o, sizeof(o));
        }
        if (rv) {
            snprintf(err, errlen, "mcxctl user add %s: %s", u->username, o[0] ? o : "failed");
            return -EIO;
        }
    }
    fprintf(out, "mcx: %s: IdMS: client mcx-ue and %u user(s) provisioned\n", s->name,
            s->n_users);
    return 0;
}

/* Write `text` to a temporary file under dir and `mcxctl xcap put` it. */
static int xcap_put(const char *mcxctl, const char *db, const char *dir, const char *auid,
                    const char *user, const char *doc, const char *file, char *text, char *err,
                    size_t errlen)
{
    char tmp[PATH_MAX];
    if (!file && !text) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (!file) {
        mcx_pathf(tmp, sizeof(tmp), "%s/xcap-put.xml", dir);
        FILE *fp = fopen(tmp, "w");
        bool ok = fp && fputs(text, fp) >= 0;
        ok = fp && fclose(fp) == 0 && ok;
        free(text);
        if (!ok) {
            snprintf(err, errlen, "%s: cannot write", tmp);
            return -EIO;
        }
        file = tmp;
    }
    char *argv[] = {(char *)mcxctl, "--db", (char *)db, "xcap", "put", "--auid", (char *)auid,
                    user ? "--user" : "--global", (char *)user, "--doc", (char *)doc, "--file",
                    (char *)file, NULL};
    if (!user) /* --global takes no value: close the gap */
        memmove(&argv[8], &argv[9], sizeof(argv) - 9 * sizeof(argv[0]));
    char out[512];
    int rv = run_tool(argv, out, sizeof(out));
    if (rv) {
        snprintf(err, errlen, "mcxctl xcap put %s %s %s: %s", auid, user ? user : "global", doc,
                 out[0] ? out : "failed");
        return -EIO;
    }
    return 0;
}

int mcx_provision_xcap(const mcx_topo_system_t *s, const mcx_sys_paths_t *p, FILE *out,
                       char *err, size_t errlen)
{
    char mcxctl[PATH_MAX];
    if (mcx_find_program("mcxctl", mcxctl, sizeof(mcxctl)) || !noun_built(mcxctl, "xcap")) {
        fprintf(out, "mcx: %s: mcxctl xcap not built: skipping CMS and GMS documents\n",
                s->name);
        return 0;
    }
    int rv = 0;
    unsigned docs = 0;
    for (unsigned i = 0; !rv && i < s->n_users; i++) {
        const mcx_topo_user_t *u = &s->users[i];
        for (unsigned k = 0; !rv && k < u->n_profiles; k++) {
            char doc[64];
            snprintf(doc, sizeof(doc), "user-profile-%u.xml", k);
            bool builtin = !strcmp(u->profiles[k], "builtin");
            rv = xcap_put(mcxctl, p->cms_db, p->dir, "org.3gpp.mcptt.user-profile", u->mcptt_id,
                          doc, builtin ? NULL : u->profiles[k],
                          builtin ? mcx_render_user_profile(s, u, k) : NULL, err, errlen);
            docs++;
        }
        if (!rv)
            rv = xcap_put(mcxctl, p->cms_db, p->dir, "org.3gpp.mcptt.ue-config", u->mcptt_id,
                          "ue-config.xml", NULL, mcx_render_ue_config(s), err, errlen);
        docs++;
    }
    if (!rv)
        rv = xcap_put(mcxctl, p->cms_db, p->dir, "org.3gpp.mcptt.service-config", NULL,
                      "service-config.xml", NULL, mcx_render_service_config(s), err, errlen);
    docs++;
    for (unsigned g = 0; !rv && g < s->n_groups; g++) {
        char doc[MCX_TOPO_ID + 16];
        snprintf(doc, sizeof(doc), "byGroupID/%s", s->groups[g].uri);
        rv = xcap_put(mcxctl, p->gms_db, p->dir, "org.openmobilealliance.groups", NULL, doc,
                      NULL, mcx_render_group_doc(s, &s->groups[g]), err, errlen);
    }
    if (!rv)
        fprintf(out, "mcx: %s: CMS: %u document(s), GMS: %u group(s) provisioned\n", s->name,
                docs, s->n_groups);
    return rv;
}
