/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `mcxctl xcap put|get|list|delete`: operator provisioning of an XCAP store
 * (mcx-gms's or mcx-cms's database) through lib/xcap, with the same
 * validation the daemon applies to a PUT for the AUIDs registered here
 * (groups from src/mcx-gms/gms-auid.c, the CMS AUIDs from src/mcx-cms).
 */
#include "mcxctl-nouns.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gms-auid.h"
#include "xcap/mcx-xcap.h"
#ifdef MCXCTL_WITH_CMS
#include "cms-auids.h"
#endif

enum { O_DB = 256, O_AUID, O_USER, O_GLOBAL, O_DOC, O_FILE, O_IF_MATCH, O_IF_NONE_MATCH };

static const struct option xcap_opts[] = {
    {"db", required_argument, NULL, O_DB},
    {"auid", required_argument, NULL, O_AUID},
    {"user", required_argument, NULL, O_USER},
    {"global", no_argument, NULL, O_GLOBAL},
    {"doc", required_argument, NULL, O_DOC},
    {"file", required_argument, NULL, O_FILE},
    {"if-match", required_argument, NULL, O_IF_MATCH},
    {"if-none-match", required_argument, NULL, O_IF_NONE_MATCH},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *auid, *user, *doc, *file, *if_match, *if_none_match;
    bool global;
} xargs_t;

static void xcap_usage(FILE *f)
{
    fprintf(f,
            "Usage: mcxctl --db FILE xcap VERB [OPTIONS]\n"
            "\n"
            "  put    --auid A (--user XUI | --global) --doc NAME --file F\n"
            "         [--if-match ETAG] [--if-none-match ETAG|*]\n"
            "         validate F as the daemon would (409-class reasons are printed) and\n"
            "         store it; prints \"created|replaced <ETag>\"\n"
            "  get    --auid A (--user XUI | --global) --doc NAME   document on stdout\n"
            "  list   [--auid A] [--user XUI | --global]            one line per document\n"
            "  delete --auid A (--user XUI | --global) --doc NAME [--if-match ETAG]\n"
            "\n"
            "XUI is the MC service ID (sip:alice@alpha.test); group documents are\n"
            "--global --doc byGroupID/<group-URI>. Validated AUIDs:\n");
    fprintf(f, "  " GMS_AUID "\n");
#ifdef MCXCTL_WITH_CMS
    fprintf(f, "  " CMS_AUID_USER_PROFILE "\n  " CMS_AUID_UE_CONFIG "\n  " CMS_AUID_UE_INIT_CONFIG
               "\n  " CMS_AUID_SERVICE_CONFIG "\n  " CMS_AUID_FUNCTIONAL_ALIAS "\n");
#endif
}

static int open_store(mcxctl_t *ctl, bool create, mcx_xcap_t **x)
{
    char err[512];
    if (ctl->db == NULL) {
        mcxctl_err("xcap: --db FILE is required");
        return MCXCTL_USAGE;
    }
    struct stat st;
    if (!create && stat(ctl->db, &st) != 0) {
        mcxctl_err("xcap: %s: no such store", ctl->db);
        return MCXCTL_FAIL;
    }
    mcx_xcap_conf_t conf = {.db_path = ctl->db};
    if (mcx_xcap_open(&conf, x, err, sizeof(err)) < 0) {
        mcxctl_err("xcap: %s: %s", ctl->db, err);
        return MCXCTL_FAIL;
    }
    if (gms_xcap_register(*x, NULL, err, sizeof(err)) < 0) {
        mcxctl_err("xcap: %s", err);
        mcx_xcap_close(*x);
        return MCXCTL_FAIL;
    }
#ifdef MCXCTL_WITH_CMS
    if (cms_xcap_register(*x, NULL, err, sizeof(err)) < 0) {
        mcxctl_err("xcap: %s", err);
        mcx_xcap_close(*x);
        return MCXCTL_FAIL;
    }
#endif
    return MCXCTL_OK;
}

static int loc_from(const xargs_t *a, const char *verb, mcx_xcap_loc_t *loc)
{
    if (a->auid == NULL || a->doc == NULL || (a->user == NULL) == !a->global) {
        mcxctl_err("xcap %s: needs --auid, --doc and one of --user XUI / --global", verb);
        return MCXCTL_USAGE;
    }
    int rc = mcx_xcap_loc_set(loc, a->auid, a->global ? MCX_XCAP_GLOBAL : MCX_XCAP_USERS,
                              a->user, a->doc);
    if (rc < 0) {
        mcxctl_err("xcap %s: %s", verb, rc == -ENAMETOOLONG ? "a name is too long" : "bad name");
        return MCXCTL_FAIL;
    }
    /* The same rules as an XCAP URI: no '.', '..', empty segment, control characters. */
    char path[MCX_XCAP_PATH_MAX + 1024], why[128];
    snprintf(path, sizeof(path), "/%s/%s%s%s/%s", loc->auid, a->global ? "global" : "users",
             a->global ? "" : "/", a->global ? "" : loc->xui, loc->doc);
    mcx_xcap_loc_t check;
    unsigned st = mcx_xcap_parse_uri(NULL, path, &check, why, sizeof(why));
    if (st != 0 || strcmp(check.doc, loc->doc) != 0 || strcmp(check.xui, loc->xui) != 0) {
        mcxctl_err("xcap %s: bad document location: %s", verb, st ? why : "'%' in a name");
        return MCXCTL_FAIL;
    }
    return MCXCTL_OK;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        if (cap >= 16 * 1024 * 1024) {
            free(b);
            b = NULL;
            errno = EFBIG;
            break;
        }
        char *nb = realloc(b, cap * 2 + 1);
        if (nb == NULL) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    bool bad = ferror(f);
    fclose(f);
    if (b == NULL || bad) {
        free(b);
        return NULL;
    }
    b[n] = '\0';
    *len = n;
    return b;
}

static const char *err_name(mcx_xcap_err_t e)
{
    switch (e) {
    case MCX_XCAP_ERR_NOT_WELL_FORMED: return "not-well-formed";
    case MCX_XCAP_ERR_SCHEMA: return "schema-validation-error";
    case MCX_XCAP_ERR_CONSTRAINT: return "constraint-failure";
    case MCX_XCAP_ERR_PRECONDITION: return "precondition failed";
    case MCX_XCAP_ERR_NOT_FOUND: return "not found";
    default: return "refused";
    }
}

static int do_put(mcx_xcap_t *x, const xargs_t *a, const mcx_xcap_loc_t *loc)
{
    if (a->file == NULL) {
        mcxctl_err("xcap put: --file F is required");
        return MCXCTL_USAGE;
    }
    if (mcx_xcap_find(x, loc->auid) == NULL) {
        mcxctl_err("xcap put: AUID %s is not known to mcxctl (see 'mcxctl xcap --help')",
                   loc->auid);
        return MCXCTL_FAIL;
    }
    size_t len = 0;
    char *body = read_file(a->file, &len);
    if (body == NULL) {
        mcxctl_err("xcap put: %s: %s", a->file, strerror(errno));
        return MCXCTL_FAIL;
    }
    mcx_xcap_result_t res = {0};
    int rc = 0;
#ifdef MCXCTL_WITH_CMS
    /* CMS documents also depend on other stored documents (docs/cms.md). */
    if (strncmp(loc->auid, "org.3gpp.", 9) == 0 || strcmp(loc->auid, CMS_AUID_FUNCTIONAL_ALIAS) == 0) {
        rc = mcx_xcap_validate(x, loc, body, len, &res);
        if (rc == 0)
            rc = cms_xcap_check_put(x, NULL, loc, body, len, &res);
    }
#endif
    char etag[MCX_XCAP_ETAG_MAX] = "";
    bool created = false;
    if (rc == 0)
        rc = mcx_xcap_put(x, loc, body, len, a->if_match, a->if_none_match, NULL, etag,
                          &created, &res);
    free(body);
    if (rc < 0) {
        mcxctl_err("xcap put: %s: %s%s%s (%u)", a->file, err_name(res.err),
                   res.phrase[0] ? ": " : "", res.phrase, res.status);
        return MCXCTL_FAIL;
    }
#ifdef MCXCTL_WITH_CMS
    if (strcmp(loc->auid, CMS_AUID_FUNCTIONAL_ALIAS) == 0) {
        char err[256];
        if (cms_alias_status_rebuild(x, err, sizeof(err)) < 0)
            mcxctl_err("xcap put: stored, but the alias status was not rebuilt: %s", err);
    }
#endif
    printf("%s %s\n", created ? "created" : "replaced", etag);
    return MCXCTL_OK;
}

static int do_get(mcx_xcap_t *x, const mcx_xcap_loc_t *loc)
{
    char *body = NULL;
    size_t len = 0;
    char etag[MCX_XCAP_ETAG_MAX];
    int rc = mcx_xcap_get(x, loc, &body, &len, etag, NULL, 0);
    if (rc == -ENOENT) {
        mcxctl_err("xcap get: no such document");
        return MCXCTL_FAIL;
    }
    if (rc < 0) {
        mcxctl_err("xcap get: store error");
        return MCXCTL_FAIL;
    }
    fwrite(body, 1, len, stdout);
    free(body);
    return MCXCTL_OK;
}

static int list_line(void *ud, const mcx_xcap_entry_t *e)
{
    const char *want_global = ud;
    if (want_global && e->loc->tree != MCX_XCAP_GLOBAL)
        return 0;
    char when[32] = "";
    time_t t = (time_t)e->updated;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (e->loc->tree == MCX_XCAP_GLOBAL)
        printf("%s/global/%s\t%s\t%zu\t%s\n", e->loc->auid, e->loc->doc, e->etag, e->size,
               when);
    else
        printf("%s/users/%s/%s\t%s\t%zu\t%s\n", e->loc->auid, e->loc->xui, e->loc->doc,
               e->etag, e->size, when);
    return 0;
}

static int do_delete(mcx_xcap_t *x, const xargs_t *a, const mcx_xcap_loc_t *loc)
{
    mcx_xcap_result_t res = {0};
    int rc = mcx_xcap_delete(x, loc, a->if_match, &res);
    if (rc == -ENOENT) {
        mcxctl_err("xcap delete: no such document");
        return MCXCTL_FAIL;
    }
    if (rc < 0) {
        mcxctl_err("xcap delete: %s", res.phrase[0] ? res.phrase : "store error");
        return MCXCTL_FAIL;
    }
#ifdef MCXCTL_WITH_CMS
    if (strcmp(loc->auid, CMS_AUID_FUNCTIONAL_ALIAS) == 0) {
        char err[256];
        if (cms_alias_status_rebuild(x, err, sizeof(err)) < 0)
            mcxctl_err("xcap delete: done, but the alias status was not rebuilt: %s", err);
    }
#endif
    printf("deleted\n");
    return MCXCTL_OK;
}

int mcxctl_xcap_main(mcxctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        xcap_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? MCXCTL_USAGE : MCXCTL_OK;
    }
    const char *verb = argv[1];
    xargs_t a = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, ":h", xcap_opts, NULL)) != -1) {
        switch (c) {
        case O_DB: ctl->db = optarg; break;
        case O_AUID: a.auid = optarg; break;
        case O_USER: a.user = optarg; break;
        case O_GLOBAL: a.global = true; break;
        case O_DOC: a.doc = optarg; break;
        case O_FILE: a.file = optarg; break;
        case O_IF_MATCH: a.if_match = optarg; break;
        case O_IF_NONE_MATCH: a.if_none_match = optarg; break;
        case 'h':
            xcap_usage(stdout);
            return MCXCTL_OK;
        default:
            mcxctl_err("xcap %s: %s: %s", verb, (argv + 1)[optind - 1],
                       c == ':' ? "needs a value" : "unknown option");
            return MCXCTL_USAGE;
        }
    }
    if (optind < argc - 1) {
        mcxctl_err("xcap %s: unexpected argument '%s'", verb, argv[optind + 1]);
        return MCXCTL_USAGE;
    }
    bool is_put = strcmp(verb, "put") == 0, is_get = strcmp(verb, "get") == 0;
    bool is_list = strcmp(verb, "list") == 0, is_del = strcmp(verb, "delete") == 0;
    if (!is_put && !is_get && !is_list && !is_del) {
        mcxctl_err("xcap: unknown verb '%s'; try 'mcxctl xcap --help'", verb);
        return MCXCTL_USAGE;
    }
    mcx_xcap_loc_t loc;
    if (!is_list) {
        int rc = loc_from(&a, verb, &loc);
        if (rc != MCXCTL_OK)
            return rc;
    } else if (a.user && a.global) {
        mcxctl_err("xcap list: --user and --global exclude each other");
        return MCXCTL_USAGE;
    }
    mcx_xcap_t *x = NULL;
    int rc = open_store(ctl, is_put, &x);
    if (rc != MCXCTL_OK)
        return rc;
    if (is_put)
        rc = do_put(x, &a, &loc);
    else if (is_get)
        rc = do_get(x, &loc);
    else if (is_del)
        rc = do_delete(x, &a, &loc);
    else if (mcx_xcap_list(x, a.auid, a.global ? "" : a.user, list_line,
                           a.global ? (void *)"global" : NULL) < 0) {
        mcxctl_err("xcap list: store error");
        rc = MCXCTL_FAIL;
    }
    mcx_xcap_close(x);
    return rc;
}
