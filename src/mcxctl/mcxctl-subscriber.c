/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `mcxctl subscriber add|show|list|update|delete`: provisioning of the SIP
 * database (lib/store). Every value is checked, naming the option at fault,
 * before the store is opened; OPc (Milenage) and HA1 (Digest) are derived
 * with lib/auth. K, OP, OPc, passwords and HA1 are never printed or logged.
 */
#include "mcxctl-nouns.h"

#include "mcx-auth.h"
#include "mcx-core.h"
#include "mcx-store.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    O_HELP = 'h',
    O_DB = 256,
    O_IMPI,
    O_IMPU,
    O_BARRED_IMPU,
    O_K,
    O_OP,
    O_OPC,
    O_AMF,
    O_SQN,
    O_PASSWORD,
    O_HA1_MD5,
    O_REALM,
    O_SCHEME,
    O_IFC_FILE,
};

#define BIT(o) (1u << ((o)-O_DB))
#define FIELD_OPTS                                                                                 \
    (BIT(O_IMPU) | BIT(O_BARRED_IMPU) | BIT(O_K) | BIT(O_OP) | BIT(O_OPC) | BIT(O_AMF) |           \
     BIT(O_SQN) | BIT(O_PASSWORD) | BIT(O_HA1_MD5) | BIT(O_REALM) | BIT(O_SCHEME) |                \
     BIT(O_IFC_FILE))
#define REPEATABLE (BIT(O_IMPU) | BIT(O_BARRED_IMPU))

static const struct option long_opts[] = {
    {"db", required_argument, NULL, O_DB},
    {"impi", required_argument, NULL, O_IMPI},
    {"impu", required_argument, NULL, O_IMPU},
    {"barred-impu", required_argument, NULL, O_BARRED_IMPU},
    {"k", required_argument, NULL, O_K},
    {"op", required_argument, NULL, O_OP},
    {"opc", required_argument, NULL, O_OPC},
    {"amf", required_argument, NULL, O_AMF},
    {"sqn", required_argument, NULL, O_SQN},
    {"password", required_argument, NULL, O_PASSWORD},
    {"ha1-md5", required_argument, NULL, O_HA1_MD5},
    {"realm", required_argument, NULL, O_REALM},
    {"scheme", required_argument, NULL, O_SCHEME},
    {"ifc-file", required_argument, NULL, O_IFC_FILE},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* The command line as given; nothing converted yet. */
typedef struct {
    unsigned seen; /* BIT() of every option given */
    const char *impi;
    const char *impu[MCX_STORE_MAX_IMPU];
    unsigned n_impu;
    const char *barred[MCX_STORE_MAX_IMPU];
    unsigned n_barred;
    const char *k, *op, *opc, *amf, *sqn, *password, *ha1_md5, *realm, *scheme, *ifc_file;
} args_t;

/* Converted values. Holds secrets: wipe with values_final(). */
typedef struct {
    uint8_t k[16], op[16], opc[16], amf[2];
    uint64_t sqn;
    char *password; /* malloc'd copy */
    char ha1_md5[33];
    mcx_auth_scheme_t scheme;
    char *ifc; /* malloc'd, MCX_STORE_IFC_MAX bytes */
} values_t;

static void help(FILE *f)
{
    fprintf(f,
            "Usage: mcxctl --db PATH subscriber VERB [OPTIONS]\n"
            "\n"
            "Subscribers of the SIP database: a private identity (IMPI), its public\n"
            "identities (IMPUs), IMS AKA and/or SIP Digest credentials, and iFC.\n"
            "\n"
            "Verbs:\n"
            "  add     --impi I --impu U [--impu U2 ...] [credentials] [--scheme S]\n"
            "          [--barred-impu U ...] [--ifc-file PATH]\n"
            "  update  --impi I and only the options to change (same options as add)\n"
            "  show    --impi I     every field; keys and HA1 only as \"set\"/\"not set\"\n"
            "  list                 one line per subscriber: IMPI, default IMPU, scheme,\n"
            "                       number of IMPUs, number registered\n"
            "  delete  --impi I\n"
            "\n"
            "Options:\n"
            "  --db PATH            the SIP database (SQLite file); add creates it\n"
            "  --impi I             private identity, e.g. alice@alpha.example\n"
            "  --impu U             public identity (sip:, sips: or tel: URI), repeatable;\n"
            "                       the first is the default IMPU\n"
            "  --barred-impu U      a barred public identity, repeatable; listed after\n"
            "                       the --impu ones. At most %d IMPUs in all. On update,\n"
            "                       --impu/--barred-impu replace the whole list.\n"
            "  --k HEX              AKA key K, 32 hex digits\n"
            "  --op HEX             operator key OP, 32 hex digits; OPc = OP xor AES_K(OP)\n"
            "                       is computed and stored, OP is not\n"
            "  --opc HEX            OPc itself, 32 hex digits (instead of --op)\n"
            "  --amf HEX            AMF, 4 hex digits (default 8000)\n"
            "  --sqn N              last SQN issued, 0..2^48-1, decimal or 0x hex\n"
            "                       (default 0). On update it may also go down.\n"
            "  --password P         SIP Digest password; HA1 (MD5 and SHA-256) of\n"
            "                       IMPI:realm:P is stored, not P. \"-\" reads one line\n"
            "                       from standard input (keeps it out of `ps`).\n"
            "  --ha1-md5 HEX        HA1 MD5 directly, 32 hex digits (instead of --password)\n"
            "  --realm R            Digest realm (default: the IMPI after '@'); needs\n"
            "                       --password or --ha1-md5, since HA1 depends on it\n"
            "  --scheme S           default scheme: aka (Digest-AKAv1-MD5) or digest\n"
            "                       (SIP Digest); default aka if --k is given, else digest\n"
            "  --ifc-file PATH      XML with one or more <InitialFilterCriteria> elements\n"
            "                       (an XML declaration is allowed); an empty file clears\n"
            "  -h, --help           this text\n"
            "\n"
            "Credentials: --k with --op or --opc for IMS AKA; --password or --ha1-md5 for\n"
            "SIP Digest; a subscriber may have both. On update, --k needs --op or --opc\n"
            "again (OPc depends on K); --op alone uses the stored K.\n"
            "\n"
            "Exit status: 0 done; 1 a bad value or a refused operation, with one line on\n"
            "stderr naming the option, and nothing changed; 2 usage error.\n"
            "\n"
            "Example:\n"
            "  mcxctl --db sipdb.sqlite subscriber add --impi alice@alpha.example \\\n"
            "      --impu sip:alice@alpha.example --impu tel:+15550001 \\\n"
            "      --k 465b5ce8b199b49faa5f0a2ee238a6bc \\\n"
            "      --op cdc202d5123e20f62b6d676ac72cb318 --password -\n",
            MCX_STORE_MAX_IMPU);
}

static const char *opt_name(int code)
{
    for (const struct option *o = long_opts; o->name; o++) {
        if (o->val == code)
            return o->name;
    }
    return "?";
}

/*
 * Parse the options of `verb` into *a. Returns MCXCTL_OK, MCXCTL_USAGE, or
 * -1 when --help was printed (the caller then exits 0).
 */
static int parse(mcxctl_t *ctl, const char *verb, unsigned allowed, int argc, char **argv,
                 args_t *a)
{
    memset(a, 0, sizeof(*a));
    allowed |= BIT(O_DB);
    optind = 0; /* glibc: start afresh on the new argv */
    opterr = 0;
    int c;
    /* ":" first: a missing value is reported as ':', an unknown option as '?'. */
    while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        if (c == O_HELP) {
            help(stdout);
            return -1;
        }
        if (c < O_DB) {
            mcxctl_err("subscriber %s: %s: %s", verb, argv[optind - 1],
                       c == ':' ? "needs a value" : "unknown option");
            return MCXCTL_USAGE;
        }
        if (!(allowed & BIT(c))) {
            mcxctl_err("subscriber %s: --%s is not an option of %s", verb, opt_name(c), verb);
            return MCXCTL_USAGE;
        }
        if ((a->seen & BIT(c)) && !(REPEATABLE & BIT(c))) {
            mcxctl_err("subscriber %s: --%s given twice", verb, opt_name(c));
            return MCXCTL_USAGE;
        }
        a->seen |= BIT(c);
        switch (c) {
        case O_DB:
            ctl->db = optarg;
            break;
        case O_IMPI:
            a->impi = optarg;
            break;
        case O_IMPU:
        case O_BARRED_IMPU:
            if (a->n_impu + a->n_barred >= MCX_STORE_MAX_IMPU) {
                mcxctl_err("--%s: at most %d public identities", opt_name(c), MCX_STORE_MAX_IMPU);
                return MCXCTL_USAGE;
            }
            if (c == O_IMPU)
                a->impu[a->n_impu++] = optarg;
            else
                a->barred[a->n_barred++] = optarg;
            break;
        case O_K:
            a->k = optarg;
            break;
        case O_OP:
            a->op = optarg;
            break;
        case O_OPC:
            a->opc = optarg;
            break;
        case O_AMF:
            a->amf = optarg;
            break;
        case O_SQN:
            a->sqn = optarg;
            break;
        case O_PASSWORD:
            a->password = optarg;
            break;
        case O_HA1_MD5:
            a->ha1_md5 = optarg;
            break;
        case O_REALM:
            a->realm = optarg;
            break;
        case O_SCHEME:
            a->scheme = optarg;
            break;
        case O_IFC_FILE:
            a->ifc_file = optarg;
            break;
        }
    }
    if (optind < argc) {
        mcxctl_err("subscriber %s: unexpected argument '%s'", verb, argv[optind]);
        return MCXCTL_USAGE;
    }
    if (!ctl->db) {
        mcxctl_err("subscriber %s: --db PATH is required", verb);
        return MCXCTL_USAGE;
    }
    if ((allowed & BIT(O_IMPI)) && !a->impi) {
        mcxctl_err("subscriber %s: --impi is required", verb);
        return MCXCTL_USAGE;
    }
    return MCXCTL_OK;
}

/* Combinations of options that make no sense whatever the store holds. */
static int check_combinations(const char *verb, const args_t *a)
{
    const char *why = NULL;
    if (a->op && a->opc)
        why = "--op and --opc exclude each other";
    else if (a->k && !a->op && !a->opc)
        why = "--k needs --op or --opc (OPc depends on K)";
    else if (a->password && a->ha1_md5)
        why = "--password and --ha1-md5 exclude each other";
    else if (a->realm && !a->password && !a->ha1_md5)
        why = "--realm needs --password or --ha1-md5 (HA1 depends on the realm)";
    if (why) {
        mcxctl_err("subscriber %s: %s", verb, why);
        return MCXCTL_USAGE;
    }
    return MCXCTL_OK;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

static int hex_arg(const char *opt, const char *s, uint8_t *out, size_t len)
{
    const char *h = s;
    if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
        h += 2;
    size_t n = strlen(h);
    /* Counts and positions only: the value may be a key. */
    if (n != 2 * len) {
        mcxctl_err("%s: expected %zu hex digits, got %zu", opt, 2 * len, n);
        return MCXCTL_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)h[i])) {
            mcxctl_err("%s: expected %zu hex digits, character %zu is not a hex digit", opt,
                       2 * len, i + 1);
            return MCXCTL_FAIL;
        }
    }
    return mcx_hex_decode(h, out, len) == 0 ? MCXCTL_OK : MCXCTL_FAIL;
}

static int sqn_arg(const char *s, uint64_t *out)
{
    const char *p = s;
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        base = 16;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = 0;
    /* strtoull would accept a sign and leading spaces; a SQN has neither. */
    if (isxdigit((unsigned char)p[0]))
        v = strtoull(p, &end, base);
    if (!end || *end != '\0' || errno != 0 || v > MCX_SQN_MAX) {
        mcxctl_err("--sqn: expected a number 0..%" PRIu64 ", got '%s'", (uint64_t)MCX_SQN_MAX, s);
        return MCXCTL_FAIL;
    }
    *out = v;
    return MCXCTL_OK;
}

/* "-" reads one line from standard input. */
static int password_arg(const char *s, char **out)
{
    if (strcmp(s, "-") != 0) {
        *out = strdup(s);
    } else {
        size_t cap = 0;
        char *line = NULL;
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) {
            free(line);
            mcxctl_err("--password: nothing to read on standard input");
            return MCXCTL_FAIL;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        *out = line;
    }
    if (!*out) {
        mcxctl_err("--password: out of memory");
        return MCXCTL_FAIL;
    }
    if ((*out)[0] == '\0') {
        mcxctl_err("--password: empty");
        return MCXCTL_FAIL;
    }
    return MCXCTL_OK;
}

/*
 * Read the iFC file into out[MCX_STORE_IFC_MAX]: the elements only, without
 * a byte-order mark or XML declaration, trimmed. The store checks the XML.
 */
static int ifc_arg(const char *path, char *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        mcxctl_err("--ifc-file: %s: %s", path, strerror(errno));
        return MCXCTL_FAIL;
    }
    size_t n = fread(out, 1, MCX_STORE_IFC_MAX, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        mcxctl_err("--ifc-file: %s: read error", path);
        return MCXCTL_FAIL;
    }
    if (n >= MCX_STORE_IFC_MAX) {
        mcxctl_err("--ifc-file: %s: larger than %d bytes", path, MCX_STORE_IFC_MAX - 1);
        return MCXCTL_FAIL;
    }
    if (memchr(out, '\0', n)) {
        mcxctl_err("--ifc-file: %s: contains a NUL byte", path);
        return MCXCTL_FAIL;
    }
    out[n] = '\0';

    char *p = out;
    if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    p += strspn(p, " \t\r\n");
    if (strncmp(p, "<?xml", 5) == 0 && isspace((unsigned char)p[5])) {
        char *end = strstr(p, "?>");
        if (!end) {
            mcxctl_err("--ifc-file: %s: unterminated XML declaration", path);
            return MCXCTL_FAIL;
        }
        p = end + 2;
        p += strspn(p, " \t\r\n");
    }
    size_t len = strlen(p);
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;
    memmove(out, p, len);
    out[len] = '\0';
    return MCXCTL_OK;
}

static void values_final(values_t *v)
{
    if (v->password) {
        explicit_bzero(v->password, strlen(v->password));
        free(v->password);
    }
    free(v->ifc);
    explicit_bzero(v, sizeof(*v));
}

/* Convert every value given; nothing here needs the store. */
static int values_init(const args_t *a, values_t *v)
{
    memset(v, 0, sizeof(*v));
    int rv = MCXCTL_OK;
    if (rv == MCXCTL_OK && a->k)
        rv = hex_arg("--k", a->k, v->k, sizeof(v->k));
    if (rv == MCXCTL_OK && a->op)
        rv = hex_arg("--op", a->op, v->op, sizeof(v->op));
    if (rv == MCXCTL_OK && a->opc)
        rv = hex_arg("--opc", a->opc, v->opc, sizeof(v->opc));
    if (rv == MCXCTL_OK && a->amf)
        rv = hex_arg("--amf", a->amf, v->amf, sizeof(v->amf));
    if (rv == MCXCTL_OK && a->sqn)
        rv = sqn_arg(a->sqn, &v->sqn);
    if (rv == MCXCTL_OK && a->ha1_md5) {
        uint8_t raw[16];
        rv = hex_arg("--ha1-md5", a->ha1_md5, raw, sizeof(raw));
        if (rv == MCXCTL_OK)
            mcx_hex_encode(raw, sizeof(raw), v->ha1_md5); /* lower case, as stored */
        explicit_bzero(raw, sizeof(raw));
    }
    if (rv == MCXCTL_OK && a->scheme && mcx_store_scheme_parse(a->scheme, &v->scheme) != 0) {
        mcxctl_err("--scheme: expected aka or digest, got '%s'", a->scheme);
        rv = MCXCTL_FAIL;
    }
    if (rv == MCXCTL_OK && a->ifc_file) {
        v->ifc = malloc(MCX_STORE_IFC_MAX);
        if (!v->ifc) {
            mcxctl_err("--ifc-file: out of memory");
            rv = MCXCTL_FAIL;
        } else {
            rv = ifc_arg(a->ifc_file, v->ifc);
        }
    }
    if (rv == MCXCTL_OK && a->password)
        rv = password_arg(a->password, &v->password);
    if (rv != MCXCTL_OK)
        values_final(v);
    return rv;
}

static int copy_arg(const char *opt, char *dst, const char *src, size_t cap)
{
    if (mcx_strlcpy(dst, src, cap) != 0) {
        mcxctl_err("%s: longer than %zu bytes", opt, cap - 1);
        return MCXCTL_FAIL;
    }
    return MCXCTL_OK;
}

/*
 * Apply the options to `sub`: a zeroed record for add, the stored one for
 * update. Checks that depend on what is stored are made here.
 */
static int apply(const args_t *a, const values_t *v, mcx_subscriber_t *sub, bool is_update)
{
    int rv = MCXCTL_OK;
    if (!is_update)
        rv = copy_arg("--impi", sub->impi, a->impi, sizeof(sub->impi));

    if (rv == MCXCTL_OK && (a->n_impu || a->n_barred)) {
        if (a->n_impu == 0) {
            mcxctl_err("--barred-impu: needs at least one --impu (the default IMPU)");
            return MCXCTL_FAIL;
        }
        sub->n_impus = 0;
        for (unsigned i = 0; i < a->n_impu + a->n_barred && rv == MCXCTL_OK; i++) {
            bool barred = i >= a->n_impu;
            mcx_store_impu_t *u = &sub->impus[sub->n_impus++];
            rv = copy_arg(barred ? "--barred-impu" : "--impu", u->impu,
                          barred ? a->barred[i - a->n_impu] : a->impu[i], sizeof(u->impu));
            u->barred = barred;
            u->reg_state = MCX_REG_NOT_REGISTERED;
        }
    }
    if (rv != MCXCTL_OK)
        return rv;

    /* IMS AKA */
    if ((a->op || a->opc) && !a->k && !sub->has_aka) {
        mcxctl_err("--%s: the subscriber has no K; give --k too", a->op ? "op" : "opc");
        return MCXCTL_FAIL;
    }
    if (a->k) {
        if (!sub->has_aka) {
            sub->amf[0] = 0x80; /* TS 33.102 Annex H: AMF separation bit set */
            sub->amf[1] = 0x00;
        }
        memcpy(sub->k, v->k, sizeof(sub->k));
        sub->has_aka = true;
    }
    if (a->op && mcx_milenage_opc(sub->k, v->op, sub->opc) != 0) {
        mcxctl_err("--op: computing OPc failed");
        return MCXCTL_FAIL;
    }
    if (a->opc)
        memcpy(sub->opc, v->opc, sizeof(sub->opc));
    if ((a->amf || a->sqn) && !sub->has_aka) {
        mcxctl_err("--%s: the subscriber has no AKA credentials; give --k too",
                   a->amf ? "amf" : "sqn");
        return MCXCTL_FAIL;
    }
    if (a->amf)
        memcpy(sub->amf, v->amf, sizeof(sub->amf));
    if (a->sqn)
        sub->sqn = v->sqn;

    /* SIP Digest: HA1 = H(IMPI ":" realm ":" password), RFC 2617 §3.2.2.2. */
    if (a->password || a->ha1_md5) {
        const char *realm = a->realm;
        if (!realm && sub->has_digest && sub->digest_realm[0])
            realm = sub->digest_realm;
        if (!realm) {
            realm = strchr(sub->impi, '@');
            if (!realm || realm[1] == '\0') {
                mcxctl_err("--realm: required, the IMPI has no domain after '@'");
                return MCXCTL_FAIL;
            }
            realm++;
        }
        if (realm != sub->digest_realm) {
            rv = copy_arg("--realm", sub->digest_realm, realm, sizeof(sub->digest_realm));
            if (rv != MCXCTL_OK)
                return rv;
        }
        if (a->password) {
            size_t pwlen = strlen(v->password);
            if (mcx_digest_ha1(MCX_DIGEST_MD5, sub->impi, sub->digest_realm,
                               (const uint8_t *)v->password, pwlen, sub->ha1_md5,
                               sizeof(sub->ha1_md5)) != 0 ||
                mcx_digest_ha1(MCX_DIGEST_SHA256, sub->impi, sub->digest_realm,
                               (const uint8_t *)v->password, pwlen, sub->ha1_sha256,
                               sizeof(sub->ha1_sha256)) != 0) {
                mcxctl_err("--password: computing HA1 failed");
                return MCXCTL_FAIL;
            }
        } else {
            memcpy(sub->ha1_md5, v->ha1_md5, sizeof(sub->ha1_md5));
            sub->ha1_sha256[0] = '\0'; /* cannot be derived from an MD5 HA1 */
        }
        sub->has_digest = true;
    }

    if (a->scheme)
        sub->default_scheme = v->scheme;
    else if (!is_update)
        sub->default_scheme = sub->has_aka ? MCX_SCHEME_AKAV1_MD5 : MCX_SCHEME_SIP_DIGEST;

    if (a->ifc_file)
        memcpy(sub->ifc_xml, v->ifc, strlen(v->ifc) + 1);
    return MCXCTL_OK;
}

/*
 * The store names record fields ("impus[1]: ..."); the operator typed
 * options. Say it in the operator's words.
 */
static void store_err(const char *err)
{
    static const struct {
        const char *field, *opt;
    } map[] = {
        {"impi", "--impi"},
        {"impus", "--impu"},
        {"sqn", "--sqn"},
        {"digest_realm", "--realm"},
        {"ha1_md5", "--ha1-md5"},
        {"ha1_sha256", "--password"},
        {"default_scheme", "--scheme"},
        {"ifc_xml", "--ifc-file"},
    };
    size_t n = strcspn(err, ":[");
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strlen(map[i].field) == n && strncmp(err, map[i].field, n) == 0) {
            const char *rest = strchr(err, ':');
            mcxctl_err("%s%s", map[i].opt, rest ? rest : "");
            return;
        }
    }
    mcxctl_err("%s", err);
}

/* ------------------------------------------------------------------------ */
/* Verbs                                                                    */
/* ------------------------------------------------------------------------ */

static int open_store(const mcxctl_t *ctl, bool create, mcx_store_t **st)
{
    /* Only add may create a database; a typo in --db should not leave an empty one. */
    if (!create && access(ctl->db, F_OK) != 0) {
        mcxctl_err("--db: %s: %s", ctl->db, strerror(errno));
        return MCXCTL_FAIL;
    }
    mcx_store_config_t cfg = {.backend = "sqlite", .sync = MCX_STORE_SYNC_FULL};
    if (mcx_strlcpy(cfg.path, ctl->db, sizeof(cfg.path)) != 0) {
        mcxctl_err("--db: path too long");
        return MCXCTL_FAIL;
    }
    char err[256] = "";
    if (mcx_store_open(&cfg, st, err, sizeof(err)) != 0) {
        mcxctl_err("--db: %s", err);
        return MCXCTL_FAIL;
    }
    return MCXCTL_OK;
}

static mcx_subscriber_t *sub_alloc(void)
{
    mcx_subscriber_t *sub = calloc(1, sizeof(*sub));
    if (!sub)
        mcxctl_err("out of memory");
    return sub;
}

static void sub_free(mcx_subscriber_t *sub)
{
    if (sub) {
        explicit_bzero(sub, sizeof(*sub));
        free(sub);
    }
}

static int cmd_add(mcxctl_t *ctl, int argc, char **argv)
{
    args_t a;
    int rv = parse(ctl, "add", BIT(O_IMPI) | FIELD_OPTS, argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    if (a.n_impu == 0) {
        mcxctl_err("subscriber add: at least one --impu is required");
        return MCXCTL_USAGE;
    }
    if (!a.k && (a.op || a.opc || a.amf || a.sqn)) {
        mcxctl_err("subscriber add: --op, --opc, --amf and --sqn need --k");
        return MCXCTL_USAGE;
    }
    if (!a.k && !a.password && !a.ha1_md5) {
        mcxctl_err("subscriber add: no credentials: give --k with --op or --opc, "
                   "and/or --password or --ha1-md5");
        return MCXCTL_USAGE;
    }
    rv = check_combinations("add", &a);
    if (rv)
        return rv;

    values_t v;
    rv = values_init(&a, &v);
    if (rv)
        return rv;
    mcx_subscriber_t *sub = sub_alloc();
    mcx_store_t *st = NULL;
    char err[256] = "";
    if (!sub)
        rv = MCXCTL_FAIL;
    if (rv == MCXCTL_OK)
        rv = apply(&a, &v, sub, false);
    /* Check everything before the store (and its file) exists. */
    if (rv == MCXCTL_OK && mcx_store_subscriber_validate(sub, err, sizeof(err)) != 0) {
        store_err(err);
        rv = MCXCTL_FAIL;
    }
    if (rv == MCXCTL_OK)
        rv = open_store(ctl, true, &st);
    if (rv == MCXCTL_OK && mcx_store_subscriber_add(st, sub, err, sizeof(err)) != 0) {
        store_err(err);
        rv = MCXCTL_FAIL;
    }
    if (rv == MCXCTL_OK)
        printf("added %s\n", sub->impi);
    mcx_store_close(st);
    sub_free(sub);
    values_final(&v);
    return rv;
}

static int cmd_update(mcxctl_t *ctl, int argc, char **argv)
{
    args_t a;
    int rv = parse(ctl, "update", BIT(O_IMPI) | FIELD_OPTS, argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    if ((a.seen & FIELD_OPTS) == 0) {
        mcxctl_err("subscriber update: nothing to change; give at least one option besides "
                   "--impi");
        return MCXCTL_USAGE;
    }
    rv = check_combinations("update", &a);
    if (rv)
        return rv;

    values_t v;
    rv = values_init(&a, &v);
    if (rv)
        return rv;
    mcx_subscriber_t *sub = sub_alloc();
    mcx_store_t *st = NULL;
    char err[256] = "";
    if (!sub)
        rv = MCXCTL_FAIL;
    if (rv == MCXCTL_OK)
        rv = open_store(ctl, false, &st);
    if (rv == MCXCTL_OK) {
        int e = mcx_store_subscriber_get(st, a.impi, sub);
        if (e != 0) {
            mcxctl_err("--impi: %s: %s", a.impi,
                       e == -ENOENT || e == -EINVAL ? "no such subscriber" : strerror(-e));
            rv = MCXCTL_FAIL;
        }
    }
    if (rv == MCXCTL_OK)
        rv = apply(&a, &v, sub, true);
    if (rv == MCXCTL_OK && mcx_store_subscriber_validate(sub, err, sizeof(err)) != 0) {
        store_err(err);
        rv = MCXCTL_FAIL;
    }
    if (rv == MCXCTL_OK && mcx_store_subscriber_update(st, sub, err, sizeof(err)) != 0) {
        store_err(err);
        rv = MCXCTL_FAIL;
    }
    /* update never lowers the SQN (it may race with the SIP database); --sqn is explicit. */
    if (rv == MCXCTL_OK && a.sqn) {
        int e = mcx_store_sqn_set(st, a.impi, v.sqn);
        if (e != 0) {
            mcxctl_err("--sqn: %s", strerror(-e));
            rv = MCXCTL_FAIL;
        }
    }
    if (rv == MCXCTL_OK)
        printf("updated %s\n", sub->impi);
    mcx_store_close(st);
    sub_free(sub);
    values_final(&v);
    return rv;
}

static int cmd_delete(mcxctl_t *ctl, int argc, char **argv)
{
    args_t a;
    int rv = parse(ctl, "delete", BIT(O_IMPI), argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    mcx_store_t *st = NULL;
    rv = open_store(ctl, false, &st);
    if (rv == MCXCTL_OK) {
        int e = mcx_store_subscriber_delete(st, a.impi);
        if (e != 0) {
            mcxctl_err("--impi: %s: %s", a.impi,
                       e == -ENOENT || e == -EINVAL ? "no such subscriber" : strerror(-e));
            rv = MCXCTL_FAIL;
        } else {
            printf("deleted %s\n", a.impi);
        }
    }
    mcx_store_close(st);
    return rv;
}

static const char *set_or_not(bool set)
{
    return set ? "set" : "not set";
}

/* Print the iFC text indented under its heading, line by line. */
static void print_ifc(const char *xml)
{
    if (xml[0] == '\0') {
        printf("iFC               none\n");
        return;
    }
    printf("iFC               %zu bytes:\n", strlen(xml));
    const char *p = xml;
    while (*p) {
        size_t n = strcspn(p, "\n");
        printf("    %.*s\n", (int)n, p);
        p += n;
        if (*p == '\n')
            p++;
    }
}

static void print_subscriber(const mcx_subscriber_t *s)
{
    printf("IMPI              %s\n", s->impi);
    for (unsigned i = 0; i < s->n_impus; i++) {
        const mcx_store_impu_t *u = &s->impus[i];
        printf("IMPU              %s%s%s\n", u->impu, i == 0 ? "  (default)" : "",
               u->barred ? "  (barred)" : "");
        printf("  state           %s\n", mcx_store_reg_state_name(u->reg_state));
        /* TS 29.228: one S-CSCF serves all the IMPUs of a subscription that it serves. */
        bool served = u->reg_state != MCX_REG_NOT_REGISTERED && s->scscf_name[0] != '\0';
        printf("  S-CSCF          %s\n", served ? s->scscf_name : "-");
    }
    printf("default scheme    %s\n", mcx_store_scheme_name(s->default_scheme));
    printf("IMS AKA           %s\n", s->has_aka ? "yes" : "no");
    printf("  K               %s\n", set_or_not(s->has_aka));
    printf("  OPc             %s\n", set_or_not(s->has_aka));
    if (s->has_aka) {
        printf("  AMF             %02x%02x\n", s->amf[0], s->amf[1]);
        printf("  SQN             %" PRIu64 " (0x%012" PRIx64 ")\n", s->sqn, s->sqn);
    }
    printf("SIP Digest        %s\n", s->has_digest ? "yes" : "no");
    if (s->has_digest)
        printf("  realm           %s\n", s->digest_realm);
    printf("  HA1 MD5         %s\n", set_or_not(s->has_digest && s->ha1_md5[0]));
    printf("  HA1 SHA-256     %s\n", set_or_not(s->has_digest && s->ha1_sha256[0]));
    printf("S-CSCF            %s\n", s->scscf_name[0] ? s->scscf_name : "none");
    print_ifc(s->ifc_xml);
}

static int cmd_show(mcxctl_t *ctl, int argc, char **argv)
{
    args_t a;
    int rv = parse(ctl, "show", BIT(O_IMPI), argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    mcx_subscriber_t *sub = sub_alloc();
    mcx_store_t *st = NULL;
    rv = sub ? open_store(ctl, false, &st) : MCXCTL_FAIL;
    if (rv == MCXCTL_OK) {
        int e = mcx_store_subscriber_get(st, a.impi, sub);
        if (e == 0) {
            print_subscriber(sub);
        } else {
            mcxctl_err("--impi: %s: %s", a.impi,
                       e == -ENOENT || e == -EINVAL ? "no such subscriber" : strerror(-e));
            rv = MCXCTL_FAIL;
        }
    }
    mcx_store_close(st);
    sub_free(sub);
    return rv;
}

typedef struct {
    mcx_store_t *st;
    mcx_subscriber_t *sub;
} list_ctx_t;

static int list_one(void *arg, const char *impi)
{
    list_ctx_t *c = arg;
    int rv = mcx_store_subscriber_get(c->st, impi, c->sub);
    if (rv == -ENOENT)
        return 0; /* deleted since the page was read */
    if (rv)
        return rv;
    unsigned registered = 0;
    for (unsigned i = 0; i < c->sub->n_impus; i++)
        registered += c->sub->impus[i].reg_state == MCX_REG_REGISTERED;
    printf("%s  %s  %s  impus=%u  registered=%u\n", impi,
           c->sub->n_impus ? c->sub->impus[0].impu : "-",
           mcx_store_scheme_name(c->sub->default_scheme), c->sub->n_impus, registered);
    return 0;
}

static int cmd_list(mcxctl_t *ctl, int argc, char **argv)
{
    args_t a;
    int rv = parse(ctl, "list", 0, argc, argv, &a);
    if (rv)
        return rv < 0 ? MCXCTL_OK : rv;
    list_ctx_t c = {.sub = sub_alloc()};
    rv = c.sub ? open_store(ctl, false, &c.st) : MCXCTL_FAIL;
    if (rv == MCXCTL_OK) {
        int e = mcx_store_subscriber_list(c.st, list_one, &c);
        if (e != 0) {
            mcxctl_err("list: %s", strerror(-e));
            rv = MCXCTL_FAIL;
        }
    }
    mcx_store_close(c.st);
    sub_free(c.sub);
    return rv;
}

int mcxctl_subscriber_main(mcxctl_t *ctl, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(mcxctl_t *ctl, int argc, char **argv);
    } verbs[] = {
        {"add", cmd_add},       {"show", cmd_show},     {"list", cmd_list},
        {"update", cmd_update}, {"delete", cmd_delete},
    };
    if (argc < 2) {
        help(stderr);
        return MCXCTL_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        help(stdout);
        return MCXCTL_OK;
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(verbs[i].name, verb) == 0)
            return verbs[i].fn(ctl, argc - 1, argv + 1);
    }
    mcxctl_err("subscriber: unknown verb '%s'; try 'mcxctl subscriber --help'", verb);
    return MCXCTL_USAGE;
}
