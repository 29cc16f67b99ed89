/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue's IdM client (CSC-1): OIDC discovery, the authorization code flow
 * with PKCE S256 (RFC 7636) and the IdMS's username/password form (TS 24.482
 * 6.2), the token and refresh_token grants (RFC 6749 4.1.3, 6). Redirects are
 * never followed: the 302 to the native redirect URI is read and checked here.
 */
#include "ue-idm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/mcx-core.h"

#define FORM_CT "Content-Type: application/x-www-form-urlencoded"
#define ACR "3gpp:acr:password"

/* ----------------------------------------------------------------------- */
/* base64url, PKCE                                                         */
/* ----------------------------------------------------------------------- */

int ue_b64url_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
    size_t need = 4 * ((len + 2) / 3) + 1;
    if (need > outlen || len > 1u << 20)
        return -ENOSPC;
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return 0;
}

int ue_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen, size_t *outn)
{
    if (len % 4 == 1 || len > 1u << 20)
        return -EINVAL;
    size_t padded = (len + 3) / 4 * 4;
    if (padded / 4 * 3 > outlen)
        return -ENOSPC;
    char *tmp = malloc(padded + 1);
    if (!tmp)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (c == '+' || c == '/' || c == '=')
            c = '!'; /* not base64url: make the decoder refuse it */
        tmp[i] = c;
    }
    for (size_t i = len; i < padded; i++)
        tmp[i] = '=';
    tmp[padded] = '\0';
    int n = padded ? EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded) : 0;
    free(tmp);
    if (n < 0)
        return -EINVAL;
    n -= (int)(padded - len); /* EVP_DecodeBlock counts the padding as zero octets */
    *outn = (size_t)n;
    return 0;
}

int ue_pkce_challenge(const char *verifier, char *out, size_t outlen)
{
    uint8_t md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return -EIO;
    return ue_b64url_encode(md, 32, out, outlen);
}

static int random_b64url(size_t bytes, char *out, size_t outlen)
{
    uint8_t b[32];
    if (bytes > sizeof(b) || mcx_random_bytes(b, bytes))
        return -EIO;
    int rv = ue_b64url_encode(b, bytes, out, outlen);
    OPENSSL_cleanse(b, sizeof(b));
    return rv;
}

/* ----------------------------------------------------------------------- */
/* helpers                                                                 */
/* ----------------------------------------------------------------------- */

void ue_idm_init(ue_idm_t *idm, const ue_mc_conf_t *mc, FILE *out)
{
    memset(idm, 0, sizeof(*idm));
    idm->mc = mc;
    idm->out = out;
    idm->http.ca_file = mc->ca_file;
    idm->http.timeout_s = mc->http_timeout_s;
}

static void wipe_str(char **p)
{
    if (*p) {
        OPENSSL_cleanse(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

void ue_idm_final(ue_idm_t *idm)
{
    wipe_str(&idm->access_token);
    wipe_str(&idm->refresh_token);
    wipe_str(&idm->id_token);
}

uint32_t ue_idm_seconds_left(const ue_idm_t *idm)
{
    if (!idm->access_token)
        return 0;
    uint64_t age = (mcx_now_us() - idm->obtained_us) / 1000000u;
    return age >= idm->expires_in ? 0 : (uint32_t)(idm->expires_in - age);
}

/* Append "&name=value" (value percent-encoded) to buf. */
static int form_add(char *buf, size_t buflen, const char *name, const char *value)
{
    size_t used = strlen(buf);
    size_t vlen = strlen(value) * 3 + 1;
    char *enc = malloc(vlen);
    if (!enc)
        return -ENOMEM;
    int rv = ue_http_escape(value, enc, vlen);
    if (!rv) {
        int n = snprintf(buf + used, buflen - used, "%s%s=%s", used ? "&" : "", name, enc);
        rv = n < 0 || (size_t)n >= buflen - used ? -ENOSPC : 0;
    }
    OPENSSL_cleanse(enc, vlen);
    free(enc);
    return rv;
}

/* A short description of an RFC 6749 JSON error body, or of the status. */
static void describe_error(const ue_http_resp_t *r, char *out, size_t outlen)
{
    json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;
    const char *d = j ? json_string_value(json_object_get(j, "error_description")) : NULL;
    if (e)
        snprintf(out, outlen, "error=%s%s%s", e, d ? " error_description=\"" : "", d ? d : "");
    else
        snprintf(out, outlen, "(no OAuth error in the body)");
    if (e && d) {
        size_t n = strlen(out);
        if (n + 1 < outlen) {
            out[n] = '"';
            out[n + 1] = '\0';
        }
    }
    json_decref(j);
}

/*
 * The IdMS answers a refused login with its form again; show the user what
 * it says: the text of the first element whose class mentions "error", else
 * an OAuth JSON error, else the page title.
 */
static void describe_form_error(const ue_http_resp_t *r, char *out, size_t outlen)
{
    out[0] = '\0';
    if (r->body && strstr(r->content_type, "json")) {
        describe_error(r, out, outlen);
        return;
    }
    if (!r->body || !r->body_len || r->body_len > (1u << 20))
        return;
    htmlDocPtr doc = htmlReadMemory(r->body, (int)r->body_len, NULL, "UTF-8",
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    if (!doc)
        return;
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);
    const char *queries[] = {"//*[contains(@class,'error')]", "//*[@role='alert']", "//title"};
    for (size_t i = 0; xc && i < 3 && !out[0]; i++) {
        xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)queries[i], xc);
        if (o && o->nodesetval && o->nodesetval->nodeNr > 0) {
            xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
            if (t) {
                /* collapse white space */
                size_t k = 0;
                bool sp = true;
                for (const xmlChar *p = t; *p && k + 1 < outlen; p++) {
                    bool ws = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
                    if (ws && sp)
                        continue;
                    out[k++] = ws ? ' ' : (char)*p;
                    sp = ws;
                }
                while (k > 0 && out[k - 1] == ' ')
                    k--;
                out[k] = '\0';
                xmlFree(t);
            }
        }
        xmlXPathFreeObject(o);
    }
    xmlXPathFreeContext(xc);
    xmlFreeDoc(doc);
}

/* Decode the claims (middle part) of a compact JWS; NULL when malformed. No verification. */
static json_t *jwt_claims(const char *jwt)
{
    const char *a = strchr(jwt, '.');
    const char *b = a ? strchr(a + 1, '.') : NULL;
    if (!b)
        return NULL;
    size_t len = (size_t)(b - a - 1);
    uint8_t *buf = malloc(len + 4);
    size_t n = 0;
    json_t *j = NULL;
    if (buf && !ue_b64url_decode(a + 1, len, buf, len + 4, &n))
        j = json_loadb((const char *)buf, n, 0, NULL);
    free(buf);
    return json_is_object(j) ? j : (json_decref(j), NULL);
}

static void short_token(const char *tok, char *out, size_t outlen)
{
    snprintf(out, outlen, "%.10s...", tok ? tok : "");
}

static int save_state(ue_idm_t *idm)
{
    const char *dir = idm->mc->state_dir;
    if (!dir[0])
        return 0;
    if (mkdir(dir, 0700) && errno != EEXIST)
        return -errno;
    char path[UE_PATH_MAX + 32], tmp[UE_PATH_MAX + 40];
    snprintf(path, sizeof(path), "%s/tokens.json", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    json_t *j = json_pack("{s:s, s:s?, s:s?, s:s, s:i}", "access_token", idm->access_token,
                          "refresh_token", idm->refresh_token, "id_token", idm->id_token, "scope",
                          idm->scope, "expires_in", (json_int_t)idm->expires_in);
    if (!j)
        return -ENOMEM;
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return -ENOMEM;
    int rv = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rv = -errno;
    } else {
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t)len || fsync(fd))
            rv = -EIO;
        close(fd);
        if (!rv && rename(tmp, path))
            rv = -errno;
        if (rv)
            unlink(tmp);
    }
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    return rv;
}

/* ----------------------------------------------------------------------- */
/* discovery                                                               */
/* ----------------------------------------------------------------------- */

static int copy_endpoint(json_t *j, const char *name, char *out, size_t outlen, bool plain)
{
    const char *v = json_string_value(json_object_get(j, name));
    if (!v || (strncmp(v, "https://", 8) && !(plain && !strncmp(v, "http://", 7))))
        return -EINVAL;
    return mcx_strlcpy(out, v, outlen) ? -ENOSPC : 0;
}

int ue_idm_discover(ue_idm_t *idm)
{
    char url[UE_URL_MAX + 64];
    snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", idm->mc->idms_url);
    ue_http_resp_t r = {0};
    int rv = ue_http_request(&idm->http, "GET", url, NULL, NULL, 0, &r);
    if (rv) {
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: discovery GET %s: %s", url, r.err);
        ue_http_resp_free(&r);
        return -EACCES;
    }
    json_t *j = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
    rv = -EACCES;
    if (r.status != 200) {
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: discovery GET %s: %ld", url, r.status);
    } else if (!json_is_object(j)) {
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: discovery document is not a JSON object");
    } else if (!json_string_value(json_object_get(j, "issuer")) ||
               strcmp(json_string_value(json_object_get(j, "issuer")), idm->mc->idms_url)) {
        /* OpenID Connect Discovery 1.0 §4.3: the issuer must be the URL we asked. */
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: discovery issuer \"%s\" is not %s",
                json_string_value(json_object_get(j, "issuer"))
                    ? json_string_value(json_object_get(j, "issuer"))
                    : "(none)",
                idm->mc->idms_url);
    } else if (copy_endpoint(j, "authorization_endpoint", idm->authorization_endpoint,
                             sizeof(idm->authorization_endpoint), idm->mc->allow_plain_http) ||
               copy_endpoint(j, "token_endpoint", idm->token_endpoint,
                             sizeof(idm->token_endpoint), idm->mc->allow_plain_http)) {
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: discovery document lacks an https "
                          "authorization_endpoint or token_endpoint");
    } else {
        json_t *m = json_object_get(j, "code_challenge_methods_supported");
        bool s256 = !json_is_array(m);
        size_t i;
        json_t *v;
        json_array_foreach(m, i, v)
        {
            if (json_is_string(v) && !strcmp(json_string_value(v), "S256"))
                s256 = true;
        }
        if (!s256) {
            ue_fail(idm->out, "CSC-1 IdM client -> IdMS: the IdMS does not offer PKCE S256");
        } else {
            mcx_strlcpy(idm->issuer, idm->mc->idms_url, sizeof(idm->issuer));
            ue_say(idm->out, "CSC-1 IdM client -> IdMS: discovery GET %s 200: issuer %s", url,
                   idm->issuer);
            ue_say(idm->out, "    authorization_endpoint %s", idm->authorization_endpoint);
            ue_say(idm->out, "    token_endpoint %s", idm->token_endpoint);
            rv = 0;
        }
    }
    json_decref(j);
    ue_http_resp_free(&r);
    return rv;
}

/* ----------------------------------------------------------------------- */
/* tokens                                                                  */
/* ----------------------------------------------------------------------- */

static char *dup_json_str(json_t *j, const char *name)
{
    const char *v = json_string_value(json_object_get(j, name));
    return v && v[0] ? strdup(v) : NULL;
}

/* Take a token response; `nonce` is checked in the ID token when given. */
static int take_tokens(ue_idm_t *idm, const char *what, const ue_http_resp_t *r,
                       const char *nonce)
{
    char desc[600];
    if (r->status != 200) {
        describe_error(r, desc, sizeof(desc));
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: %s %ld: %s", what, r->status, desc);
        return -EACCES;
    }
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    const char *tt = json_string_value(json_object_get(j, "token_type"));
    char *at = dup_json_str(j, "access_token");
    if (!json_is_object(j) || !at || !tt || strcasecmp(tt, "Bearer")) {
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: %s 200 without a Bearer access_token", what);
        wipe_str(&at);
        json_decref(j);
        return -EACCES;
    }
    json_t *claims = jwt_claims(at);
    if (!claims) {
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: %s: the access token is not a JWT", what);
        wipe_str(&at);
        json_decref(j);
        return -EACCES;
    }
    char *idt = dup_json_str(j, "id_token");
    char *rt = dup_json_str(j, "refresh_token");
    json_int_t exp = json_integer_value(json_object_get(j, "expires_in"));
    const char *scope = json_string_value(json_object_get(j, "scope"));

    wipe_str(&idm->access_token);
    idm->access_token = at;
    if (rt) { /* RFC 6749 §6: the old refresh token stays when no new one comes */
        wipe_str(&idm->refresh_token);
        idm->refresh_token = rt;
    }
    if (idt) {
        wipe_str(&idm->id_token);
        idm->id_token = idt;
    }
    idm->obtained_us = mcx_now_us();
    idm->expires_in = exp > 0 && exp < 100000000 ? (uint32_t)exp : 0;
    mcx_strlcpy(idm->scope, scope ? scope : json_string_value(json_object_get(claims, "scope"))
                                               ? json_string_value(json_object_get(claims, "scope"))
                                               : idm->mc->scopes,
                sizeof(idm->scope));
    const char *s;
    s = json_string_value(json_object_get(claims, "jti"));
    mcx_strlcpy(idm->jti, s ? s : "", sizeof(idm->jti));
    s = json_string_value(json_object_get(claims, "sub"));
    mcx_strlcpy(idm->sub, s ? s : idm->mc->username, sizeof(idm->sub));
    s = json_string_value(json_object_get(claims, "mcptt_id"));
    mcx_strlcpy(idm->mcptt_id, s ? s : "", sizeof(idm->mcptt_id));
    if (!idm->expires_in) {
        json_int_t e = json_integer_value(json_object_get(claims, "exp"));
        json_int_t iat = json_integer_value(json_object_get(claims, "iat"));
        if (e > iat && iat > 0)
            idm->expires_in = (uint32_t)(e - iat);
    }
    json_decref(claims);
    json_decref(j);

    char pfx[24];
    short_token(idm->access_token, pfx, sizeof(pfx));
    ue_say(idm->out,
           "CSC-1 IdM client -> IdMS: %s 200: access token for %s (scopes %s, expires in %u s)",
           what, idm->sub, idm->scope, idm->expires_in);
    ue_say(idm->out, "    access token %s jti %s mcptt_id %s; refresh token %s; ID token %s", pfx,
           idm->jti[0] ? idm->jti : "(none)", idm->mcptt_id[0] ? idm->mcptt_id : "(none)",
           idm->refresh_token ? "kept" : "none", idm->id_token ? "kept" : "none");

    if (nonce && idm->id_token) {
        json_t *ic = jwt_claims(idm->id_token);
        const char *n = ic ? json_string_value(json_object_get(ic, "nonce")) : NULL;
        const char *iss = ic ? json_string_value(json_object_get(ic, "iss")) : NULL;
        json_t *aud = ic ? json_object_get(ic, "aud") : NULL;
        bool aud_ok = json_is_string(aud) && !strcmp(json_string_value(aud), idm->mc->client_id);
        size_t i;
        json_t *v;
        json_array_foreach(aud, i, v)
        {
            if (json_is_string(v) && !strcmp(json_string_value(v), idm->mc->client_id))
                aud_ok = true;
        }
        if (!ic || !n || strcmp(n, nonce) || !iss || strcmp(iss, idm->issuer) || !aud_ok) {
            ue_fail(idm->out,
                    "CSC-1 IdM client: the ID token does not match the request "
                    "(nonce %s, iss %s, aud %s)",
                    n && !strcmp(n, nonce) ? "ok" : "WRONG",
                    iss && !strcmp(iss, idm->issuer) ? "ok" : "WRONG", aud_ok ? "ok" : "WRONG");
            json_decref(ic);
            return -EACCES;
        }
        const char *acr = json_string_value(json_object_get(ic, "acr"));
        ue_say(idm->out, "    ID token: sub %s, nonce matches, acr %s",
               json_string_value(json_object_get(ic, "sub"))
                   ? json_string_value(json_object_get(ic, "sub"))
                   : "(none)",
               acr ? acr : "(none)");
        json_decref(ic);
    }
    int rv = save_state(idm);
    if (rv)
        ue_say(idm->out, "    (cannot save the tokens in %s: %s)", idm->mc->state_dir,
               strerror(-rv));
    return 0;
}

/* ----------------------------------------------------------------------- */
/* authorization code flow                                                 */
/* ----------------------------------------------------------------------- */

/* Read the redirect in `loc`: 0 with the code, or -EACCES (printed). */
static int read_redirect(ue_idm_t *idm, const char *loc, const char *state, char *code,
                         size_t codelen)
{
    const char *ru = idm->mc->redirect_uri;
    size_t rl = strlen(ru);
    if (strncmp(loc, ru, rl) || (loc[rl] != '?' && loc[rl] != '\0')) {
        ue_fail(idm->out, "CSC-1 IdM client: redirect to \"%.200s\", not to our redirect_uri %s",
                loc, ru);
        return -EACCES;
    }
    const char *q = loc[rl] == '?' ? loc + rl + 1 : "";
    char got_state[256] = "", err[128] = "", desc[512] = "";
    ue_http_query_param(q, "state", got_state, sizeof(got_state));
    if (!ue_http_query_param(q, "error", err, sizeof(err))) {
        ue_http_query_param(q, "error_description", desc, sizeof(desc));
        ue_fail(idm->out,
                "CSC-1 IdM client <- IdMS: authorization refused: error=%s%s%s%s (state %s)", err,
                desc[0] ? " error_description=\"" : "", desc, desc[0] ? "\"" : "",
                strcmp(got_state, state) ? "MISMATCH" : "ok");
        return -EACCES;
    }
    if (strcmp(got_state, state)) {
        /* RFC 6749 §10.12: a response to some other request (CSRF). */
        ue_fail(idm->out, "CSC-1 IdM client: the redirect's state does not match ours");
        return -EACCES;
    }
    if (ue_http_query_param(q, "code", code, codelen) || !code[0]) {
        ue_fail(idm->out, "CSC-1 IdM client: the redirect carries neither code nor error");
        return -EACCES;
    }
    return 0;
}

int ue_idm_login(ue_idm_t *idm)
{
    const ue_mc_conf_t *mc = idm->mc;
    char verifier[64], challenge[64], state[32], nonce[32];
    if (random_b64url(32, verifier, sizeof(verifier)) || random_b64url(16, state, sizeof(state)) ||
        random_b64url(16, nonce, sizeof(nonce)) ||
        ue_pkce_challenge(verifier, challenge, sizeof(challenge))) {
        ue_fail(idm->out, "CSC-1 IdM client: no randomness for PKCE");
        return -EACCES;
    }
    char params[4096] = "";
    if (form_add(params, sizeof(params), "response_type", "code") ||
        form_add(params, sizeof(params), "client_id", mc->client_id) ||
        form_add(params, sizeof(params), "redirect_uri", mc->redirect_uri) ||
        form_add(params, sizeof(params), "scope", mc->scopes) ||
        form_add(params, sizeof(params), "state", state) ||
        form_add(params, sizeof(params), "nonce", nonce) ||
        form_add(params, sizeof(params), "code_challenge", challenge) ||
        form_add(params, sizeof(params), "code_challenge_method", "S256") ||
        form_add(params, sizeof(params), "acr_values", ACR)) {
        ue_fail(idm->out, "CSC-1 IdM client: authorization request too long");
        return -EACCES;
    }

    /* 1. GET the authorization endpoint: the IdMS shows its login form. */
    char url[UE_URL_MAX + 4200];
    snprintf(url, sizeof(url), "%s?%s", idm->authorization_endpoint, params);
    ue_http_resp_t r = {0};
    int rv = ue_http_request(&idm->http, "GET", url, NULL, NULL, 0, &r);
    char desc[600];
    if (rv) {
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: authorization request: %s", r.err);
        ue_http_resp_free(&r);
        return -EACCES;
    }
    if (r.status == 302 || r.status == 303) {
        char code[8];
        rv = read_redirect(idm, r.location, state, code, sizeof(code));
        ue_http_resp_free(&r);
        if (!rv)
            ue_fail(idm->out, "CSC-1 IdM client: a code without a login");
        return -EACCES;
    }
    if (r.status != 200) {
        describe_form_error(&r, desc, sizeof(desc));
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: authorization request %ld: %s", r.status,
                desc);
        ue_http_resp_free(&r);
        return -EACCES;
    }
    ue_say(idm->out,
           "CSC-1 IdM client -> IdMS: authorization request (client_id %s, scope \"%s\", "
           "PKCE S256, acr %s) 200 login form",
           mc->client_id, mc->scopes, ACR);
    ue_http_resp_free(&r);

    /* 2. POST the form with the credentials and the request's parameters. */
    char form[4096 + 3 * 2 * UE_ID_MAX] = "";
    rv = form_add(form, sizeof(form), "username", mc->username);
    if (!rv)
        rv = form_add(form, sizeof(form), "password", mc->password);
    if (!rv) {
        size_t used = strlen(form);
        if (snprintf(form + used, sizeof(form) - used, "&%s", params) >= (int)(sizeof(form) - used))
            rv = -ENOSPC;
    }
    if (rv) {
        OPENSSL_cleanse(form, sizeof(form));
        ue_fail(idm->out, "CSC-1 IdM client: login form too long");
        return -EACCES;
    }
    const char *hdrs[] = {FORM_CT, NULL};
    memset(&r, 0, sizeof(r));
    rv = ue_http_request(&idm->http, "POST", idm->authorization_endpoint, hdrs, form,
                         strlen(form), &r);
    OPENSSL_cleanse(form, sizeof(form));
    if (rv) {
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: login: %s", r.err);
        ue_http_resp_free(&r);
        return -EACCES;
    }
    if (r.status != 302 && r.status != 303) {
        describe_form_error(&r, desc, sizeof(desc));
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: login as %s refused: %ld%s%s%s", mc->username,
                r.status, r.status == 401 ? " (credentials not accepted)" : "",
                desc[0] ? ": " : "", desc);
        ue_http_resp_free(&r);
        return -EACCES;
    }
    char code[1024];
    rv = read_redirect(idm, r.location, state, code, sizeof(code));
    ue_http_resp_free(&r);
    if (rv)
        return rv;
    char cpfx[24];
    short_token(code, cpfx, sizeof(cpfx));
    ue_say(idm->out,
           "CSC-1 IdM client -> IdMS: login as %s %d -> %s?code=%s (state matches)",
           mc->username, 302, mc->redirect_uri, cpfx);

    /* 3. Redeem the code with the PKCE verifier. */
    char tok[8192] = "";
    rv = form_add(tok, sizeof(tok), "grant_type", "authorization_code");
    if (!rv)
        rv = form_add(tok, sizeof(tok), "code", code);
    if (!rv)
        rv = form_add(tok, sizeof(tok), "redirect_uri", mc->redirect_uri);
    if (!rv)
        rv = form_add(tok, sizeof(tok), "client_id", mc->client_id);
    if (!rv)
        rv = form_add(tok, sizeof(tok), "code_verifier", verifier);
    OPENSSL_cleanse(code, sizeof(code));
    OPENSSL_cleanse(verifier, sizeof(verifier));
    if (rv) {
        ue_fail(idm->out, "CSC-1 IdM client: token request too long");
        return -EACCES;
    }
    memset(&r, 0, sizeof(r));
    rv = ue_http_request(&idm->http, "POST", idm->token_endpoint, hdrs, tok, strlen(tok), &r);
    OPENSSL_cleanse(tok, sizeof(tok));
    if (rv) {
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: token request: %s", r.err);
        ue_http_resp_free(&r);
        return -EACCES;
    }
    rv = take_tokens(idm, "token", &r, nonce);
    ue_http_resp_free(&r);
    return rv;
}

int ue_idm_refresh(ue_idm_t *idm)
{
    if (!idm->refresh_token) {
        ue_fail(idm->out, "CSC-1 IdM client: no refresh token to refresh with");
        return -EACCES;
    }
    char body[8192] = "";
    int rv = form_add(body, sizeof(body), "grant_type", "refresh_token");
    if (!rv)
        rv = form_add(body, sizeof(body), "refresh_token", idm->refresh_token);
    if (!rv)
        rv = form_add(body, sizeof(body), "client_id", idm->mc->client_id);
    if (rv) {
        OPENSSL_cleanse(body, sizeof(body));
        ue_fail(idm->out, "CSC-1 IdM client: refresh request too long");
        return -EACCES;
    }
    const char *hdrs[] = {FORM_CT, NULL};
    ue_http_resp_t r = {0};
    rv = ue_http_request(&idm->http, "POST", idm->token_endpoint, hdrs, body, strlen(body), &r);
    OPENSSL_cleanse(body, sizeof(body));
    if (rv) {
        ue_fail(idm->out, "CSC-1 IdM client -> IdMS: refresh: %s", r.err);
        ue_http_resp_free(&r);
        return -EACCES;
    }
    rv = take_tokens(idm, "refresh_token grant", &r, NULL);
    ue_http_resp_free(&r);
    return rv;
}
