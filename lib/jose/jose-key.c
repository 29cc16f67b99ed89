/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/jose signing side: the IdMS's EC P-256 key (PEM on disk, created
 * 0600 at first start), its RFC 7638 kid, its public JWKS, and ES256
 * compact JWS signing through cjose.
 */
#include <cjose/cjose.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jose-private.h"
#include "mcx-jose.h"

struct mcx_jose_key {
    cjose_jwk_t *jwk; /* private, for cjose_jws_sign */
    char kid[48];
    char x[48], y[48];
};

static int no_password(char *buf, int size, int rwflag, void *u)
{
    return 0; /* an encrypted key is refused, never prompted for */
}

/* Build our key from an OpenSSL EC P-256 private key. */
static int key_from_pkey(EVP_PKEY *pk, mcx_jose_key_t **out, char *err, size_t errlen)
{
    char group[32] = "";
    size_t glen = 0;
    if (!EVP_PKEY_is_a(pk, "EC") ||
        !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        &glen) ||
        strcmp(group, "prime256v1") != 0) {
        snprintf(err, errlen, "not an EC P-256 private key");
        return -EINVAL;
    }
    BIGNUM *bx = NULL, *by = NULL, *bd = NULL;
    uint8_t x[32], y[32], d[32];
    int rv = -EINVAL;
    mcx_jose_key_t *k = NULL;
    if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx) ||
        !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by) ||
        !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bd) ||
        BN_bn2binpad(bx, x, 32) != 32 || BN_bn2binpad(by, y, 32) != 32 ||
        BN_bn2binpad(bd, d, 32) != 32) {
        snprintf(err, errlen, "cannot read the EC key parameters");
        goto done;
    }
    k = calloc(1, sizeof(*k));
    if (!k) {
        rv = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    cjose_jwk_ec_keyspec spec = {
        .crv = CJOSE_JWK_EC_P_256, .d = d, .dlen = 32, .x = x, .xlen = 32, .y = y, .ylen = 32,
    };
    cjose_err cerr = {0};
    k->jwk = cjose_jwk_create_EC_spec(&spec, &cerr);
    if (!k->jwk) {
        snprintf(err, errlen, "cjose refused the key: %s",
                 cerr.message ? cerr.message : "unknown error");
        goto done;
    }
    jose_b64url_encode(x, 32, k->x);
    jose_b64url_encode(y, 32, k->y);
    if (jose_ec_thumbprint(k->x, k->y, k->kid, sizeof(k->kid))) {
        snprintf(err, errlen, "cannot compute the key thumbprint");
        goto done;
    }
    *out = k;
    k = NULL;
    rv = 0;
done:
    OPENSSL_cleanse(d, sizeof(d));
    BN_free(bx);
    BN_free(by);
    BN_clear_free(bd);
    mcx_jose_key_free(k);
    return rv;
}

static int key_load(const char *path, mcx_jose_key_t **out, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "re");
    if (!fp) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0 && (sb.st_mode & 077))
        MCX_WARN("jose: signing key %s is readable by group or others (mode %03o)", path,
                 (unsigned)(sb.st_mode & 0777));
    EVP_PKEY *pk = PEM_read_PrivateKey(fp, NULL, no_password, NULL);
    fclose(fp);
    if (!pk) {
        snprintf(err, errlen, "%s: not a PEM private key", path);
        return -EINVAL;
    }
    char why[128];
    int rv = key_from_pkey(pk, out, why, sizeof(why));
    EVP_PKEY_free(pk);
    if (rv)
        snprintf(err, errlen, "%s: %s", path, why);
    return rv;
}

/*
 * Write a new key: a private temp file (O_EXCL, 0600) linked to `path`, so a
 * key that appeared meanwhile is never overwritten (-EEXIST then).
 */
static int key_create(const char *path, char *err, size_t errlen)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    if (!pk) {
        snprintf(err, errlen, "cannot generate an EC P-256 key");
        return -EIO;
    }
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
        EVP_PKEY_free(pk);
        snprintf(err, errlen, "%s: path too long", path);
        return -ENAMETOOLONG;
    }
    unlink(tmp); /* a leftover of a crashed start with our pid */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        EVP_PKEY_free(pk);
        snprintf(err, errlen, "%s: %s", tmp, strerror(e));
        return -e;
    }
    FILE *fp = fdopen(fd, "w");
    int ok = fp && PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL) == 1 &&
             fflush(fp) == 0 && fsync(fd) == 0;
    if (fp)
        ok = (fclose(fp) == 0) && ok;
    else
        close(fd);
    EVP_PKEY_free(pk);
    if (!ok) {
        unlink(tmp);
        snprintf(err, errlen, "%s: cannot write the key", tmp);
        return -EIO;
    }
    int rv = 0;
    if (link(tmp, path) != 0) {
        rv = -errno;
        if (rv == -EPERM || rv == -EOPNOTSUPP) /* no hard links here: plain rename */
            rv = rename(tmp, path) ? -errno : 0;
        if (rv && rv != -EEXIST)
            snprintf(err, errlen, "%s: %s", path, strerror(-rv));
    }
    unlink(tmp);
    if (rv == 0)
        MCX_NOTICE("jose: created signing key %s", path);
    return rv;
}

int mcx_jose_key_load_or_create(const char *path, mcx_jose_key_t **out, char *err,
                                size_t errlen)
{
    if (!path || !*path || !out) {
        snprintf(err, errlen, "no key path");
        return -EINVAL;
    }
    *out = NULL;
    if (access(path, F_OK) != 0) {
        if (errno != ENOENT) {
            int e = errno;
            snprintf(err, errlen, "%s: %s", path, strerror(e));
            return -e;
        }
        int rv = key_create(path, err, errlen);
        if (rv && rv != -EEXIST)
            return rv;
    }
    return key_load(path, out, err, errlen);
}

void mcx_jose_key_free(mcx_jose_key_t *key)
{
    if (!key)
        return;
    if (key->jwk)
        cjose_jwk_release(key->jwk);
    free(key);
}

const char *mcx_jose_key_kid(const mcx_jose_key_t *key)
{
    return key ? key->kid : NULL;
}

char *mcx_jose_key_jwks(const mcx_jose_key_t *key)
{
    if (!key)
        return NULL;
    json_t *doc = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:s}]}", "keys", "kty", "EC",
                            "crv", "P-256", "x", key->x, "y", key->y, "kid", key->kid, "use",
                            "sig", "alg", "ES256");
    if (!doc)
        return NULL;
    char *s = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    return s;
}

int mcx_jose_key_write_jwks(const mcx_jose_key_t *key, const char *path, char *err,
                            size_t errlen)
{
    char *text = mcx_jose_key_jwks(key);
    if (!text) {
        snprintf(err, errlen, "cannot build the JWKS");
        return -ENOMEM;
    }
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
        free(text);
        snprintf(err, errlen, "%s: path too long", path);
        return -ENAMETOOLONG;
    }
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(text);
        snprintf(err, errlen, "%s: %s", tmp, strerror(e));
        return -e;
    }
    size_t len = strlen(text), off = 0;
    int rv = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rv = -errno;
            break;
        }
        off += (size_t)w;
    }
    if (!rv && (write(fd, "\n", 1) != 1 || fsync(fd) != 0))
        rv = -EIO;
    if (close(fd) != 0 && !rv)
        rv = -EIO;
    free(text);
    if (!rv && rename(tmp, path) != 0)
        rv = -errno;
    if (rv) {
        unlink(tmp);
        snprintf(err, errlen, "%s: %s", path, strerror(-rv));
    }
    return rv;
}

int mcx_jose_sign(const mcx_jose_key_t *key, const char *typ, const json_t *claims, char **out)
{
    if (!key || !claims || !out || !json_is_object(claims))
        return -EINVAL;
    *out = NULL;
    json_t *hdr = json_object();
    if (!hdr)
        return -ENOMEM;
    int rv = -ENOMEM;
    char *payload = NULL;
    cjose_jws_t *jws = NULL;
    if (json_object_set_new(hdr, "alg", json_string("ES256")) ||
        (typ && json_object_set_new(hdr, "typ", json_string(typ))) ||
        json_object_set_new(hdr, "kid", json_string(key->kid)))
        goto done;
    payload = json_dumps(claims, JSON_COMPACT);
    if (!payload)
        goto done;
    cjose_err cerr = {0};
    jws = cjose_jws_sign(key->jwk, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    const char *ser = NULL;
    if (!jws || !cjose_jws_export(jws, &ser, &cerr) || !ser) {
        MCX_ERR("jose: signing failed: %s", cerr.message ? cerr.message : "unknown error");
        rv = -EIO;
        goto done;
    }
    *out = strdup(ser);
    rv = *out ? 0 : -ENOMEM;
done:
    if (jws)
        cjose_jws_release(jws);
    free(payload);
    json_decref(hdr);
    return rv;
}
