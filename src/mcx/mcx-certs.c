/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Certificates of a deployment, made with the OpenSSL 3 C API at `mcx up`:
 * one CA per run directory (EC P-256, 10 years) and per system a server
 * certificate for its nginx (loopback, localhost, the realm and the idms/cms/
 * gms hosts of the realm). Existing files are reused; private keys are 0600.
 */
#include "mcx-orch.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CA_DAYS (10 * 365 + 3)
#define SERVER_DAYS 825

static int ossl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    snprintf(err, errlen, "%s: %s", what, buf[0] ? buf : "OpenSSL failure");
    return -EIO;
}

void mcx_certs_paths(const char *run_dir, const char *sys_dir, mcx_cert_paths_t *p)
{
    memset(p, 0, sizeof(*p));
    mcx_pathf(p->ca_cert, sizeof(p->ca_cert), "%s/ca.pem", run_dir);
    mcx_pathf(p->ca_key, sizeof(p->ca_key), "%s/ca-key.pem", run_dir);
    if (sys_dir) {
        mcx_pathf(p->cert, sizeof(p->cert), "%s/server-cert.pem", sys_dir);
        mcx_pathf(p->key, sizeof(p->key), "%s/server-key.pem", sys_dir);
    }
}

/* ---- files ----------------------------------------------------------------- */

static int write_key(const char *path, EVP_PKEY *key, char *err, size_t errlen)
{
    char tmp[PATH_MAX + 8];
    if (mcx_pathf(tmp, sizeof(tmp), "%s.tmp", path))
        return -ENAMETOOLONG;
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", tmp, strerror(e));
        return -e;
    }
    FILE *fp = fdopen(fd, "w");
    if (!fp) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return -e;
    }
    int ok = PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
    ok = (fclose(fp) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return ossl_err(err, errlen, path);
    }
    return 0;
}

static int write_cert(const char *path, X509 *x, char *err, size_t errlen)
{
    char tmp[PATH_MAX + 8];
    if (mcx_pathf(tmp, sizeof(tmp), "%s.tmp", path))
        return -ENAMETOOLONG;
    FILE *fp = fopen(tmp, "w");
    if (!fp) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", tmp, strerror(e));
        return -e;
    }
    int ok = PEM_write_X509(fp, x);
    ok = (fclose(fp) == 0) && ok;
    if (!ok || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return ossl_err(err, errlen, path);
    }
    return 0;
}

static X509 *load_cert(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    return x;
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    return k;
}

/* ---- building certificates -------------------------------------------------- */

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A certificate for `key` named `cn`, valid `days`, not signed yet. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, long days)
{
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    bool ok = x && bn && X509_set_version(x, 2) &&
              BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
              BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
              X509_gmtime_adj(X509_getm_notBefore(x), -300) &&
              X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) &&
              X509_set_pubkey(x, key);
    BN_free(bn);
    X509_NAME *name = ok ? X509_get_subject_name(x) : NULL;
    ok = ok && name &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"mcxcore",
                                    -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int make_ca(const mcx_cert_paths_t *p, char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key)
        return ossl_err(err, errlen, "CA key");
    X509 *x = new_cert(key, "mcxcore deployment CA", CA_DAYS);
    bool ok = x && X509_set_issuer_name(x, X509_get_subject_name(x)) &&
              !add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
              !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
              !add_ext(x, x, NID_subject_key_identifier, "hash") &&
              !add_ext(x, x, NID_authority_key_identifier, "keyid:always") &&
              X509_sign(x, key, EVP_sha256()) > 0;
    int rv = ok ? 0 : ossl_err(err, errlen, "CA certificate");
    /* Key first: a certificate without its key would be reused and useless. */
    if (!rv)
        rv = write_key(p->ca_key, key, err, errlen);
    if (!rv)
        rv = write_cert(p->ca_cert, x, err, errlen);
    X509_free(x);
    EVP_PKEY_free(key);
    return rv;
}

static int make_server(const mcx_cert_paths_t *p, X509 *ca, EVP_PKEY *ca_key, const char *realm,
                       char *err, size_t errlen)
{
    char san[4 * MCX_TOPO_ID + 128];
    snprintf(san, sizeof(san),
             "IP:127.0.0.1,DNS:localhost,DNS:%s,DNS:idms.%s,DNS:cms.%s,DNS:gms.%s", realm, realm,
             realm, realm);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key)
        return ossl_err(err, errlen, "server key");
    X509 *x = new_cert(key, realm, SERVER_DAYS);
    bool ok = x && X509_set_issuer_name(x, X509_get_subject_name(ca)) &&
              !add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") &&
              !add_ext(x, ca, NID_key_usage, "critical,digitalSignature") &&
              !add_ext(x, ca, NID_ext_key_usage, "serverAuth") &&
              !add_ext(x, ca, NID_subject_key_identifier, "hash") &&
              !add_ext(x, ca, NID_authority_key_identifier, "keyid:always") &&
              !add_ext(x, ca, NID_subject_alt_name, san) && X509_sign(x, ca_key, EVP_sha256()) > 0;
    int rv = ok ? 0 : ossl_err(err, errlen, "server certificate");
    if (!rv)
        rv = write_key(p->key, key, err, errlen);
    if (!rv)
        rv = write_cert(p->cert, x, err, errlen);
    X509_free(x);
    EVP_PKEY_free(key);
    return rv;
}

/* ---- checking --------------------------------------------------------------- */

int mcx_certs_verify(const char *ca_path, const char *cert_path, const char *host, char *err,
                     size_t errlen)
{
    X509 *ca = load_cert(ca_path), *x = load_cert(cert_path);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rv = 0;
    if (!ca || !x) {
        snprintf(err, errlen, "%s: cannot read the certificate", !ca ? ca_path : cert_path);
        rv = -EINVAL;
    } else if (!store || !ctx || !X509_STORE_add_cert(store, ca) ||
               !X509_STORE_CTX_init(ctx, store, x, NULL)) {
        rv = ossl_err(err, errlen, cert_path);
    } else {
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
        if (X509_verify_cert(ctx) != 1) {
            snprintf(err, errlen, "%s: %s", cert_path,
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
            rv = -EINVAL;
        } else if (host && X509_check_host(x, host, 0, 0, NULL) != 1) {
            snprintf(err, errlen, "%s: not valid for %s", cert_path, host);
            rv = -EINVAL;
        }
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(ca);
    X509_free(x);
    ERR_clear_error();
    return rv;
}

/* Does the key file hold the private key of the certificate? */
static bool key_matches(const char *cert_path, const char *key_path)
{
    X509 *x = load_cert(cert_path);
    EVP_PKEY *k = load_key(key_path);
    bool ok = x && k && X509_check_private_key(x, k) == 1;
    X509_free(x);
    EVP_PKEY_free(k);
    ERR_clear_error();
    return ok;
}

int mcx_certs_ensure(const mcx_cert_paths_t *p, const char *realm, bool *made, char *err,
                     size_t errlen)
{
    int rv = 0;
    if (made)
        *made = false;
    bool have_ca = access(p->ca_cert, F_OK) == 0;
    if (have_ca && !key_matches(p->ca_cert, p->ca_key)) {
        snprintf(err, errlen, "%s: present, but %s is not its key (remove both to start over)",
                 p->ca_cert, p->ca_key);
        return -EINVAL;
    }
    if (!have_ca) {
        if ((rv = make_ca(p, err, errlen)))
            return rv;
        if (made)
            *made = true;
    }
    if (!p->cert[0])
        return 0;
    /* Reuse the server certificate while it chains to this CA and names the realm. */
    char why[512];
    char host[MCX_TOPO_ID + 8];
    snprintf(host, sizeof(host), "idms.%s", realm);
    if (access(p->cert, F_OK) == 0 && key_matches(p->cert, p->key) &&
        mcx_certs_verify(p->ca_cert, p->cert, host, why, sizeof(why)) == 0)
        return 0;
    X509 *ca = load_cert(p->ca_cert);
    EVP_PKEY *ca_key = load_key(p->ca_key);
    if (!ca || !ca_key)
        rv = ossl_err(err, errlen, p->ca_cert);
    else
        rv = make_server(p, ca, ca_key, realm, err, errlen);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    if (!rv && made)
        *made = true;
    return rv;
}
