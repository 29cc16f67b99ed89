/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `mcxctl user ...` and `mcxctl client ...`: provisioning of the identity
 * management server's store (src/mcx-idms/idms-store.c, the same schema the
 * daemon uses). Every value is checked before the store is opened; password
 * hashes are never printed.
 */
#include "mcxctl-nouns.h"

#include "idms-store.h"
#include "mcx-core.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    O_HELP = 'h',
    O_DB = 256,
    O_USERNAME,
    O_PASSWORD,
    O_MCPTT_ID,
    O_MCDATA_ID,
    O_MCVIDEO_ID,
    O_ENABLE,
    O_DISABLE,
    O_CLIENT_ID,
    O_REDIRECT_URI,
    O_SCOPE,
};

#define BIT(o) (1u << ((o)-O_DB))
#define USER_FIELDS                                                                                \
    (BIT(O_PASSWORD) | BIT(O_MCPTT_ID) | BIT(O_MCDATA_ID) | BIT(O_MCVIDEO_ID) | BIT(O_ENABLE) |    \
     BIT(O_DISABLE))
#define CLIENT_FIELDS (BIT(O_REDIRECT_URI) | BIT(O_SCOPE) | BIT(O_ENABLE) | BIT(O_DISABLE))

static const struct option long_opts[] = {
    {"db", required_argument, NULL, O_DB},
    {"username", required_argument, NULL, O_USERNAME},
    {"password", required_argument, NULL, O_PASSWORD},
    {"mcptt-id", required_argument, NULL, O_MCPTT_ID},
    {"mcdata-id", required_argument, NULL, O_MCDATA_ID},
    {"mcvideo-id", required_argument, NULL, O_MCVIDEO_ID},
    {"enable", no_argument, NULL, O_ENABLE},
    {"disable", no_argument, NULL, O_DISABLE},
    {"client-id", required_argument, NULL, O_CLIENT_ID},
    {"redirect-uri", required_argument, NULL, O_REDIRECT_URI},
    {"scope", required_argument, NULL, O_SCOPE},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct {
    unsigned seen;
    const char *username, *password, *mcptt_id, *mcdata_id, *mcvideo_id;
    const char *client_id, *scope;
    const char *redirect[IDMS_MAX_REDIRECT];
    unsigned n_redirect;
} args_t;

static void user_help(FILE *f)
{
    fprintf(f,
            "Usage: mcxctl --db PATH user VERB [OPTIONS]\n"
            "\n"
            "Users of the identity management server (mcx-idms): a username, a password\n"
            "(stored as a PBKDF2-HMAC-SHA256 hash) and the user's MC service IDs, which the\n"
            "IdMS puts in its tokens.\n"
            "\n"
            "Verbs:\n"
            "  add     --username U --password P --mcptt-id sip:U@REALM\n"
            "          [--mcdata-id sip:..] [--mcvideo-id sip:..] [--disable]\n"
            "  update  --username U and only what changes: --password, --mcptt-id,\n"
            "          --mcdata-id, --mcvideo-id (\"\" clears the last two), --enable, --disable\n"
            "  show    --username U   every field; the password only as \"set\"\n"
            "  list                   one line per user: username, MCPTT ID, enabled\n"
            "  delete  --username U   also revokes the user's refresh tokens\n"
            "\n"
            "  --password -  reads the password from one line of standard input.\n"
            "\n"
            "Exit status: 0 done; 1 a bad value or a refused operation, with one line on\n"
            "stderr, and nothing changed; 2 usage error.\n"
            "\n"
            "Example:\n"
            "  mcxctl --db idms.db user add --username alice --password - \\\n"
            "      --mcptt-id sip:alice@alpha.test\n");
}

static void client_help(FILE *f)
{
    fprintf(f,
            "Usage: mcxctl --db PATH client VERB [OPTIONS]\n"
            "\n"
            "OIDC clients of the identity management server (mcx-idms). Clients are public\n"
            "(native apps, PKCE S256 mandatory); a redirect URI must match exactly.\n"
            "\n"
            "Verbs:\n"
            "  add     --client-id ID --redirect-uri URI [--redirect-uri URI2 ...]\n"
            "          --scope \"openid 3gpp:mc:ptt_service ...\" [--disable]\n"
            "  show    --client-id ID\n"
            "  list    one line per client: client_id, enabled, redirect URIs\n"
            "  delete  --client-id ID   also revokes the client's refresh tokens\n"
            "\n"
            "Scopes (TS 33.180): openid, 3gpp:mc:ptt_service,\n"
            "3gpp:mc:ptt_config_management_service, 3gpp:mc:ptt_group_management_service,\n"
            "3gpp:mc:ptt_key_management_service. The allowed scope must include openid; a\n"
            "token carries the requested scopes that are allowed.\n"
            "\n"
            "Exit status: 0 done; 1 a bad value or a refused operation, with one line on\n"
            "stderr, and nothing changed; 2 usage error.\n"
            "\n"
            "Example:\n"
            "  mcxctl --db idms.db client add --client-id mcx-ue \\\n"
            "      --redirect-uri org.mcxcore.ue:/oauth2redirect \\\n"
            "      --scope \"openid 3gpp:mc:ptt_service 3gpp:mc:ptt_config_management_service\"\n");
}

static const char *opt_name(int code)
{
    for (const struct option *o = long_opts; o->name; o++) {
        if (o->val == code)
            return o->name;
    }
    return "?";
}

/* MCXCTL_OK, MCXCTL_USAGE, or -1 when --help was printed. */
static int parse(mcxctl_t *ctl, const char *noun, const char *verb, unsigned allowed,
                 unsigned required, int argc, char **argv, args_t *a)
{
    memset(a, 0, sizeof(*a));
    allowed |= BIT(O_DB) | required;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        if (c == O_HELP) {
            (strcmp(noun, "user") == 0 ? user_help : client_help)(stdout);
            return -1;
        }
        if (c < O_DB) {
            mcxctl_err("%s %s: %s: %s", noun, verb, argv[optind - 1],
                       c == ':' ? "needs a value" : "unknown option");
            return MCXCTL_USAGE;
        }
        if (!(allowed & BIT(c))) {
            mcxctl_err("%s %s: --%s is not an option of %s", noun, verb, opt_name(c), verb);
            return MCXCTL_USAGE;
        }
        if ((a->seen & BIT(c)) && c != O_REDIRECT_URI) {
            mcxctl_err("%s %s: --%s given twice", noun, verb, opt_name(c));
            return MCXCTL_USAGE;
        }
        a->seen |= BIT(c);
        switch (c) {
        case O_DB:
            ctl->db = optarg;
            break;
        case O_USERNAME:
            a->username = optarg;
            break;
        case O_PASSWORD:
            a->password = optarg;
            break;
        case O_MCPTT_ID:
            a->mcptt_id = optarg;
            break;
        case O_MCDATA_ID:
            a->mcdata_id = optarg;
            break;
        case O_MCVIDEO_ID:
            a->mcvideo_id = optarg;
            break;
        case O_CLIENT_ID:
            a->client_id = optarg;
            break;
        case O_SCOPE:
            a->scope = optarg;
            break;
        case O_REDIRECT_URI:
            if (a->n_redirect >= IDMS_MAX_REDIRECT) {
                mcxctl_err("--redirect-uri: at most %d", IDMS_MAX_REDIRECT);
                return MCXCTL_USAGE;
            }
            a->redirect[a->n_redirect++] = optarg;
            break;
        default:
            break;
        }
    }
    if (optind < argc) {
        mcxctl_err("%s %s: unexpected argument '%s'", noun, verb, argv[optind]);
        return MCXCTL_USAGE;
    }
    if (!ctl->db) {
        mcxctl_err("%s %s: --db PATH is required", noun, verb);
        return MCXCTL_USAGE;
    }
    for (int o = O_USERNAME; o <= O_SCOPE; o++) {
        if ((required & BIT(o)) && !(a->seen & BIT(o))) {
            mcxctl_err("%s %s: --%s is required", noun, verb, opt_name(o));
            return MCXCTL_USAGE;
        }
    }
    if ((a->seen & BIT(O_ENABLE)) && (a->seen & BIT(O_DISABLE))) {
        mcxctl_err("%s %s: --enable and --disable exclude each other", noun, verb);
        return MCXCTL_USAGE;
    }
    return MCXCTL_OK;
}

static int open_store(const mcxctl_t *ctl, bool create, sqlite3 **db)
{
    /* Only add creates a database; a typo in --db must not leave an empty one. */
    if (!create && access(ctl->db, F_OK) != 0) {
        mcxctl_err("--db: %s: %s", ctl->db, strerror(errno));
        return MCXCTL_FAIL;
    }
    char err[512] = "";
    if (idms_store_open(ctl->db, db, err, sizeof(err)) != 0) {
        mcxctl_err("--db: %s", err);
        return MCXCTL_FAIL;
    }
    return MCXCTL_OK;
}

/* Map the store's field names to the options the operator typed. */
static void store_err(const char *err)
{
    static const struct {
        const char *field, *opt;
    } map[] = {
        {"username", "--username"},         {"password", "--password"},
        {"mcptt_id", "--mcptt-id"},         {"mcdata_id", "--mcdata-id"},
        {"mcvideo_id", "--mcvideo-id"},     {"client_id", "--client-id"},
        {"redirect_uri", "--redirect-uri"}, {"scope", "--scope"},
    };
    size_t n = strcspn(err, ":[");
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strlen(map[i].field) == n && strncmp(err, map[i].field, n) == 0) {
            mcxctl_err("%s%s", map[i].opt, err + n);
            return;
        }
    }
    mcxctl_err("%s", err);
}

static int copy_arg(const char *opt, char *dst, const char *src, size_t size)
{
    if (mcx_strlcpy(dst, src, size) != 0) {
        mcxctl_err("--%s: longer than %zu characters", opt, size - 1);
        return MCXCTL_FAIL;
    }
    return MCXCTL_OK;
}

/* ------------------------------------------------------------------------ */
/* user                                                                     */
/* ------------------------------------------------------------------------ */

/* The password from the command line or one line of standard input; hashed. */
static int password_hash(const char *arg, char *out, size_t outlen)
{
    char *pw = NULL;
    if (strcmp(arg, "-") != 0) {
        pw = strdup(arg);
    } else {
        size_t cap = 0;
        ssize_t n = getline(&pw, &cap, stdin);
        if (n < 0) {
            free(pw);
            mcxctl_err("--password: nothing to read on standard input");
            return MCXCTL_FAIL;
        }
        while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
            pw[--n] = '\0';
    }
    if (!pw) {
        mcxctl_err("--password: out of memory");
        return MCXCTL_FAIL;
    }
    int rv = MCXCTL_OK;
    if (pw[0] == '\0') {
        mcxctl_err("--password: empty");
        rv = MCXCTL_FAIL;
    } else if (strlen(pw) >= 1024) {
        mcxctl_err("--password: longer than 1023 characters");
        rv = MCXCTL_FAIL;
    } else if (idms_password_hash(pw, out, outlen) != 0) {
        mcxctl_err("--password: hashing failed");
        rv = MCXCTL_FAIL;
    }
    explicit_bzero(pw, strlen(pw));
    free(pw);
    return rv;
}

/* Apply the given options to *u (validated afterwards as a whole). */
static int user_apply(const args_t *a, idms_user_t *u)
{
    int rv = MCXCTL_OK;
    if (a->mcptt_id)
        rv = copy_arg("mcptt-id", u->mcptt_id, a->mcptt_id, sizeof(u->mcptt_id));
    if (rv == MCXCTL_OK && a->mcdata_id)
        rv = copy_arg("mcdata-id", u->mcdata_id, a->mcdata_id, sizeof(u->mcdata_id));
    if (rv == MCXCTL_OK && a->mcvideo_id)
        rv = copy_arg("mcvideo-id", u->mcvideo_id, a->mcvideo_id, sizeof(u->mcvideo_id));
    if (a->seen & BIT(O_ENABLE))
        u->enabled = true;
    if (a->seen & BIT(O_DISABLE))
        u->enabled = false;
    if (rv == MCXCTL_OK && a->password)
        rv = password_hash(a->password, u->pwhash, sizeof(u->pwhash));
    return rv;
}

static int user_add(mcxctl_t *ctl, int argc, char **argv)
{
    args_t a;
    int rv = parse(ctl, "user", "add", USER_FIELDS,
                   BIT(O_USERNAME) | BIT(O_PASSWORD) | BIT(O_MCPTT_ID), argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    idms_user_t u = {.enabled = true};
    char err[512] = "";
    rv = copy_arg("username", u.username, a.username, sizeof(u.username));
    /* Validate names before paying for the hash (and reading stdin). */
    if (rv == MCXCTL_OK) {
        idms_user_t probe = u;
        rv = user_apply(
            &(args_t){.mcptt_id = a.mcptt_id, .mcdata_id = a.mcdata_id, .mcvideo_id = a.mcvideo_id},
            &probe);
        strcpy(probe.pwhash, "pbkdf2-sha256$");
        if (rv == MCXCTL_OK && idms_user_validate(&probe, err, sizeof(err)) != 0) {
            store_err(err);
            rv = MCXCTL_FAIL;
        }
    }
    if (rv == MCXCTL_OK)
        rv = user_apply(&a, &u);
    if (rv == MCXCTL_OK && idms_user_validate(&u, err, sizeof(err)) != 0) {
        store_err(err);
        rv = MCXCTL_FAIL;
    }
    sqlite3 *db = NULL;
    if (rv == MCXCTL_OK)
        rv = open_store(ctl, true, &db);
    if (rv == MCXCTL_OK) {
        int e = idms_user_add(db, &u);
        if (e == -EEXIST) {
            mcxctl_err("--username: %s: already exists", u.username);
            rv = MCXCTL_FAIL;
        } else if (e) {
            mcxctl_err("user add: %s", strerror(-e));
            rv = MCXCTL_FAIL;
        } else {
            printf("added user %s (%s)\n", u.username, u.mcptt_id);
        }
    }
    idms_store_close(db);
    explicit_bzero(&u, sizeof(u));
    return rv;
}

static int user_update(mcxctl_t *ctl, int argc, char **argv)
{
    args_t a;
    int rv = parse(ctl, "user", "update", USER_FIELDS, BIT(O_USERNAME), argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    if (!(a.seen & USER_FIELDS)) {
        mcxctl_err("user update: nothing to change; give at least one option besides "
                   "--username");
        return MCXCTL_USAGE;
    }
    sqlite3 *db = NULL;
    idms_user_t u;
    char err[512] = "";
    rv = open_store(ctl, false, &db);
    if (rv == MCXCTL_OK) {
        int e = idms_user_get(db, a.username, &u);
        if (e) {
            mcxctl_err("--username: %s: %s", a.username,
                       e == -ENOENT ? "no such user" : strerror(-e));
            rv = MCXCTL_FAIL;
        }
    }
    if (rv == MCXCTL_OK)
        rv = user_apply(&a, &u);
    if (rv == MCXCTL_OK && idms_user_validate(&u, err, sizeof(err)) != 0) {
        store_err(err);
        rv = MCXCTL_FAIL;
    }
    if (rv == MCXCTL_OK) {
        int e = idms_user_update(db, &u);
        if (e) {
            mcxctl_err("user update: %s", e == -ENOENT ? "no such user" : strerror(-e));
            rv = MCXCTL_FAIL;
        } else {
            printf("updated user %s\n", u.username);
        }
    }
    idms_store_close(db);
    explicit_bzero(&u, sizeof(u));
    return rv;
}

/* show and delete name one user or client by its key: parse that option,
 * open the store, run the action, and report a failure in one shape. */
typedef int (*keyed_fn)(sqlite3 *db, const char *key);

static int keyed(mcxctl_t *ctl, const char *noun, const char *verb, keyed_fn fn, int argc,
                 char **argv)
{
    bool user = !strcmp(noun, "user");
    args_t a;
    int rv = parse(ctl, noun, verb, 0, user ? BIT(O_USERNAME) : BIT(O_CLIENT_ID), argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    const char *key = user ? a.username : a.client_id;
    sqlite3 *db = NULL;
    rv = open_store(ctl, false, &db);
    if (rv == MCXCTL_OK) {
        int e = fn(db, key);
        if (e) {
            if (e == -ENOENT)
                mcxctl_err("--%s: %s: no such %s", user ? "username" : "client-id", key, noun);
            else
                mcxctl_err("--%s: %s: %s", user ? "username" : "client-id", key, strerror(-e));
            rv = MCXCTL_FAIL;
        }
    }
    idms_store_close(db);
    return rv;
}

static int show_user(sqlite3 *db, const char *username)
{
    idms_user_t u;
    int e = idms_user_get(db, username, &u);
    if (!e) {
        printf("username          %s\n", u.username);
        printf("password          %s\n", u.pwhash[0] ? "set" : "not set");
        printf("MCPTT ID          %s\n", u.mcptt_id);
        printf("MCData ID         %s\n", u.mcdata_id[0] ? u.mcdata_id : "-");
        printf("MCVideo ID        %s\n", u.mcvideo_id[0] ? u.mcvideo_id : "-");
        printf("enabled           %s\n", u.enabled ? "yes" : "no");
        unsigned fails = 0;
        int64_t last = 0;
        if (idms_login_failures(db, u.username, &fails, &last) == 0)
            printf("failed logins     %u\n", fails);
    }
    explicit_bzero(&u, sizeof(u));
    return e;
}

static int delete_user(sqlite3 *db, const char *username)
{
    int e = idms_user_delete(db, username);
    if (!e)
        printf("deleted user %s\n", username);
    return e;
}

static int user_show(mcxctl_t *ctl, int argc, char **argv)
{
    return keyed(ctl, "user", "show", show_user, argc, argv);
}

static int user_delete(mcxctl_t *ctl, int argc, char **argv)
{
    return keyed(ctl, "user", "delete", delete_user, argc, argv);
}

static int user_line(void *ud, const idms_user_t *u)
{
    printf("%s  %s  %s\n", u->username, u->mcptt_id, u->enabled ? "enabled" : "disabled");
    return 0;
}

static int user_list(mcxctl_t *ctl, int argc, char **argv)
{
    args_t a;
    int rv = parse(ctl, "user", "list", 0, 0, argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    sqlite3 *db = NULL;
    rv = open_store(ctl, false, &db);
    if (rv == MCXCTL_OK) {
        int e = idms_user_list(db, user_line, NULL);
        if (e) {
            mcxctl_err("user list: %s", strerror(-e));
            rv = MCXCTL_FAIL;
        }
    }
    idms_store_close(db);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* client                                                                   */
/* ------------------------------------------------------------------------ */

static int client_add(mcxctl_t *ctl, int argc, char **argv)
{
    args_t a;
    int rv = parse(ctl, "client", "add", CLIENT_FIELDS,
                   BIT(O_CLIENT_ID) | BIT(O_REDIRECT_URI) | BIT(O_SCOPE), argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    idms_client_t *c = calloc(1, sizeof(*c));
    if (!c) {
        mcxctl_err("out of memory");
        return MCXCTL_FAIL;
    }
    char err[700] = "";
    c->enabled = !(a.seen & BIT(O_DISABLE));
    rv = copy_arg("client-id", c->client_id, a.client_id, sizeof(c->client_id));
    if (rv == MCXCTL_OK)
        rv = copy_arg("scope", c->scope, a.scope, sizeof(c->scope));
    for (unsigned i = 0; rv == MCXCTL_OK && i < a.n_redirect; i++)
        rv = copy_arg("redirect-uri", c->redirect_uris[i], a.redirect[i], IDMS_URI_MAX);
    c->n_redirect = a.n_redirect;
    if (rv == MCXCTL_OK && idms_client_validate(c, err, sizeof(err)) != 0) {
        store_err(err);
        rv = MCXCTL_FAIL;
    }
    sqlite3 *db = NULL;
    if (rv == MCXCTL_OK)
        rv = open_store(ctl, true, &db);
    if (rv == MCXCTL_OK) {
        int e = idms_client_add(db, c);
        if (e == -EEXIST) {
            mcxctl_err("--client-id: %s: already exists", c->client_id);
            rv = MCXCTL_FAIL;
        } else if (e) {
            mcxctl_err("client add: %s", strerror(-e));
            rv = MCXCTL_FAIL;
        } else {
            printf("added client %s\n", c->client_id);
        }
    }
    idms_store_close(db);
    free(c);
    return rv;
}

static void print_client(const idms_client_t *c)
{
    printf("client_id         %s\n", c->client_id);
    for (unsigned i = 0; i < c->n_redirect; i++)
        printf("redirect_uri      %s\n", c->redirect_uris[i]);
    printf("scope             %s\n", c->scope);
    printf("auth method       none (public client, PKCE S256)\n");
    printf("enabled           %s\n", c->enabled ? "yes" : "no");
}

static int show_client(sqlite3 *db, const char *client_id)
{
    idms_client_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int e = idms_client_get(db, client_id, c);
    if (!e)
        print_client(c);
    free(c);
    return e;
}

static int delete_client(sqlite3 *db, const char *client_id)
{
    int e = idms_client_delete(db, client_id);
    if (!e)
        printf("deleted client %s\n", client_id);
    return e;
}

static int client_show(mcxctl_t *ctl, int argc, char **argv)
{
    return keyed(ctl, "client", "show", show_client, argc, argv);
}

static int client_delete(mcxctl_t *ctl, int argc, char **argv)
{
    return keyed(ctl, "client", "delete", delete_client, argc, argv);
}

static int client_line(void *ud, const idms_client_t *c)
{
    printf("%s  %s ", c->client_id, c->enabled ? "enabled" : "disabled");
    for (unsigned i = 0; i < c->n_redirect; i++)
        printf(" %s", c->redirect_uris[i]);
    printf("\n");
    return 0;
}

static int client_list(mcxctl_t *ctl, int argc, char **argv)
{
    args_t a;
    int rv = parse(ctl, "client", "list", 0, 0, argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    sqlite3 *db = NULL;
    rv = open_store(ctl, false, &db);
    if (rv == MCXCTL_OK) {
        int e = idms_client_list(db, client_line, NULL);
        if (e) {
            mcxctl_err("client list: %s", strerror(-e));
            rv = MCXCTL_FAIL;
        }
    }
    idms_store_close(db);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    int (*fn)(mcxctl_t *ctl, int argc, char **argv);
} verb_t;

static int dispatch(const char *noun, const verb_t *verbs, size_t n, void (*help)(FILE *),
                    mcxctl_t *ctl, int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return MCXCTL_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        help(stdout);
        return MCXCTL_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(verbs[i].name, verb) == 0)
            return verbs[i].fn(ctl, argc - 1, argv + 1);
    }
    mcxctl_err("%s: unknown verb '%s'; try 'mcxctl %s --help'", noun, verb, noun);
    return MCXCTL_USAGE;
}

int mcxctl_user_main(mcxctl_t *ctl, int argc, char **argv)
{
    static const verb_t verbs[] = {
        {"add", user_add},   {"update", user_update}, {"show", user_show},
        {"list", user_list}, {"delete", user_delete},
    };
    return dispatch("user", verbs, sizeof(verbs) / sizeof(verbs[0]), user_help, ctl, argc, argv);
}

int mcxctl_client_main(mcxctl_t *ctl, int argc, char **argv)
{
    static const verb_t verbs[] = {
        {"add", client_add},
        {"show", client_show},
        {"list", client_list},
        {"delete", client_delete},
    };
    return dispatch("client", verbs, sizeof(verbs) / sizeof(verbs[0]), client_help, ctl, argc,
                    argv);
}
