/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The --ladder view of mcx-cxtool: one readable line per message that
 * crossed the wire, made from the JSON dumps (cxtool-json.c). Key material
 * (XRES, CK, IK, HA1) is shortened: it is test material, never to be shown whole.
 */
#include "cxtool.h"

#include <string.h>

static json_t *find(json_t *avps, uint32_t code, uint32_t vendor)
{
    size_t i;
    json_t *a;
    json_array_foreach(avps, i, a) {
        if (json_integer_value(json_object_get(a, "code")) == code &&
            json_integer_value(json_object_get(a, "vendor")) == vendor)
            return a;
    }
    return NULL;
}

/* Text of an AVP value for display: string, number or short hex. */
static void value_text(json_t *a, char *out, size_t len)
{
    json_t *v = json_object_get(a, "value");
    json_t *hex = json_object_get(a, "hex");
    if (json_is_string(v))
        snprintf(out, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(hex))
        snprintf(out, len, "0x%s", json_string_value(hex));
    else
        snprintf(out, len, "(%lld octets, undecoded)",
                 (long long)json_integer_value(json_object_get(a, "length")));
}

static void show(FILE *fp, json_t *avps, uint32_t code, uint32_t vendor, const char *label)
{
    size_t i;
    json_t *a;
    char buf[512];
    json_array_foreach(avps, i, a) {
        if (json_integer_value(json_object_get(a, "code")) == code &&
            json_integer_value(json_object_get(a, "vendor")) == vendor) {
            value_text(a, buf, sizeof(buf));
            /* Quote text with blanks so the line stays unambiguous. */
            fprintf(fp, strpbrk(buf, " \t") ? " %s=\"%s\"" : " %s=%s", label, buf);
        }
    }
}

/* First `keep` octets of a hex AVP then an ellipsis; or a substring of hex. */
static void show_hex(FILE *fp, json_t *a, const char *label, size_t off, size_t n, bool secret)
{
    if (!a)
        return;
    const char *hex = json_string_value(json_object_get(a, "hex"));
    if (!hex)
        hex = json_string_value(json_object_get(a, "value"));
    if (!hex)
        return;
    size_t hl = strlen(hex);
    if (off * 2 >= hl) {
        fprintf(fp, " %s=(missing)", label);
        return;
    }
    size_t take = n * 2;
    if (off * 2 + take > hl)
        take = hl - off * 2;
    /* RAND and AUTN are public; keys and XRES are shortened to 4 octets. */
    size_t shown = secret && take > 8 ? 8 : (take > 16 ? 16 : take);
    fprintf(fp, " %s=%.*s%s", label, (int)shown, hex + off * 2, shown < take ? "…" : "");
}

void cxtool_ladder_request(FILE *fp, const char *self, json_t *dump)
{
    json_t *avps = json_object_get(dump, "avps");
    const char *cmd = json_string_value(json_object_get(dump, "cmd"));
    char realm[300] = "?";
    json_t *dr = find(avps, MCX_AVP_DESTINATION_REALM, 0);
    if (dr)
        value_text(dr, realm, sizeof(realm));
    fprintf(fp, "%s ──%s──▶ realm %s", self, cmd ? cmd : "?", realm);
    show(fp, avps, MCX_AVP_DESTINATION_HOST, 0, " host");
    fprintf(fp, "  ");
    show(fp, avps, MCX_AVP_USER_NAME, 0, "User-Name");
    show(fp, avps, MCX_CX_AVP_PUBLIC_IDENTITY, MCX_3GPP_VENDOR_ID, "Public-Identity");
    json_t *item = find(avps, MCX_CX_AVP_SIP_AUTH_DATA_ITEM, MCX_3GPP_VENDOR_ID);
    if (item) {
        json_t *ia = json_object_get(item, "avps");
        show(fp, ia, MCX_CX_AVP_SIP_AUTHENTICATION_SCHEME, MCX_3GPP_VENDOR_ID, "scheme");
        json_t *authz = find(ia, MCX_CX_AVP_SIP_AUTHORIZATION, MCX_3GPP_VENDOR_ID);
        if (authz) {
            fprintf(fp, " resync:");
            show_hex(fp, authz, "RAND", 0, 16, false);
            show_hex(fp, authz, "AUTS", 16, 14, false);
        }
    }
    show(fp, avps, MCX_CX_AVP_SIP_NUMBER_AUTH_ITEMS, MCX_3GPP_VENDOR_ID, "items");
    json_t *sat = find(avps, MCX_CX_AVP_SERVER_ASSIGNMENT_TYPE, MCX_3GPP_VENDOR_ID);
    if (sat) {
        json_int_t v = json_integer_value(json_object_get(sat, "value"));
        fprintf(fp, " type=%s(%lld)", mcx_cx_sat_name((int32_t)v), (long long)v);
    }
    show(fp, avps, MCX_CX_AVP_USER_DATA_ALREADY_AVAILABLE, MCX_3GPP_VENDOR_ID,
         "user-data-available");
    show(fp, avps, MCX_CX_AVP_VISITED_NETWORK_IDENTIFIER, MCX_3GPP_VENDOR_ID, "visited");
    show(fp, avps, MCX_CX_AVP_USER_AUTHORIZATION_TYPE, MCX_3GPP_VENDOR_ID, "auth-type");
    show(fp, avps, MCX_CX_AVP_ORIGINATING_REQUEST, MCX_3GPP_VENDOR_ID, "originating");
    show(fp, avps, MCX_CX_AVP_SERVER_NAME, MCX_3GPP_VENDOR_ID, "Server-Name");
    fprintf(fp, "\n");
    fflush(fp);
}

static const char *result_name(json_int_t code, bool experimental)
{
    if (experimental) {
        switch (code) {
        case 2001: return "FIRST_REGISTRATION";
        case 2002: return "SUBSEQUENT_REGISTRATION";
        case 2003: return "UNREGISTERED_SERVICE";
        case 2004: return "SUCCESS_SERVER_NAME_NOT_STORED";
        case 5001: return "ERROR_USER_UNKNOWN";
        case 5002: return "ERROR_IDENTITIES_DONT_MATCH";
        case 5003: return "ERROR_IDENTITY_NOT_REGISTERED";
        case 5004: return "ERROR_ROAMING_NOT_ALLOWED";
        case 5005: return "ERROR_IDENTITY_ALREADY_REGISTERED";
        case 5006: return "ERROR_AUTH_SCHEME_NOT_SUPPORTED";
        case 5007: return "ERROR_IN_ASSIGNMENT_TYPE";
        case 5008: return "ERROR_TOO_MUCH_DATA";
        case 5009: return "ERROR_NOT_SUPPORTED_USER_DATA";
        default: return "";
        }
    }
    switch (code) {
    case 2001: return "SUCCESS";
    case 2002: return "LIMITED_SUCCESS";
    case 3001: return "COMMAND_UNSUPPORTED";
    case 3002: return "UNABLE_TO_DELIVER";
    case 3003: return "REALM_NOT_SERVED";
    case 3004: return "TOO_BUSY";
    case 3005: return "LOOP_DETECTED";
    case 3007: return "APPLICATION_UNSUPPORTED";
    case 3008: return "INVALID_HDR_BITS";
    case 3009: return "INVALID_AVP_BITS";
    case 3010: return "UNKNOWN_PEER";
    case 5001: return "AVP_UNSUPPORTED";
    case 5003: return "AUTHORIZATION_REJECTED";
    case 5004: return "INVALID_AVP_VALUE";
    case 5005: return "MISSING_AVP";
    case 5008: return "AVP_NOT_ALLOWED";
    case 5009: return "AVP_OCCURS_TOO_MANY_TIMES";
    case 5012: return "UNABLE_TO_COMPLY";
    case 5014: return "INVALID_AVP_LENGTH";
    default: return "";
    }
}

static void ladder_item(FILE *fp, json_t *item)
{
    json_t *ia = json_object_get(item, "avps");
    json_t *num = find(ia, MCX_CX_AVP_SIP_ITEM_NUMBER, MCX_3GPP_VENDOR_ID);
    if (num)
        fprintf(fp, " [%lld]", (long long)json_integer_value(json_object_get(num, "value")));
    else
        fprintf(fp, " [-]");
    json_t *scheme = find(ia, MCX_CX_AVP_SIP_AUTHENTICATION_SCHEME, MCX_3GPP_VENDOR_ID);
    const char *sname = scheme ? json_string_value(json_object_get(scheme, "value")) : NULL;
    if (sname && strcmp(sname, MCX_CX_SCHEME_AKAV1))
        fprintf(fp, " \"%s\"", sname);
    json_t *auth = find(ia, MCX_CX_AVP_SIP_AUTHENTICATE, MCX_3GPP_VENDOR_ID);
    show_hex(fp, auth, "RAND", 0, 16, false);
    show_hex(fp, auth, "AUTN", 16, 16, false);
    show_hex(fp, find(ia, MCX_CX_AVP_SIP_AUTHORIZATION, MCX_3GPP_VENDOR_ID), "XRES", 0, 16,
             true);
    show_hex(fp, find(ia, MCX_CX_AVP_CONFIDENTIALITY_KEY, MCX_3GPP_VENDOR_ID), "CK", 0, 16,
             true);
    show_hex(fp, find(ia, MCX_CX_AVP_INTEGRITY_KEY, MCX_3GPP_VENDOR_ID), "IK", 0, 16, true);
    json_t *dig = find(ia, MCX_CX_AVP_SIP_DIGEST_AUTHENTICATE, MCX_3GPP_VENDOR_ID);
    if (dig) {
        json_t *da = json_object_get(dig, "avps");
        show(fp, da, MCX_AVP_DIGEST_REALM, 0, "realm");
        show(fp, da, MCX_AVP_DIGEST_QOP, 0, "qop");
        show(fp, da, MCX_AVP_DIGEST_ALGORITHM, 0, "algorithm");
        show_hex(fp, find(da, MCX_AVP_DIGEST_HA1, 0), "HA1", 0, 32, true);
    }
}

void cxtool_ladder_answer(FILE *fp, const char *self, json_t *dump)
{
    static bool noted;
    json_t *avps = json_object_get(dump, "avps");
    const char *cmd = json_string_value(json_object_get(dump, "cmd"));
    char origin[300] = "?";
    json_t *oh = find(avps, MCX_AVP_ORIGIN_HOST, 0);
    if (oh)
        value_text(oh, origin, sizeof(origin));
    fprintf(fp, "%s ◀─%s── %s ", self, cmd ? cmd : "?", origin);

    json_t *rc = json_object_get(dump, "result_code");
    json_t *erc = json_object_get(dump, "experimental_result_code");
    if (json_is_integer(rc))
        fprintf(fp, " %lld %s", (long long)json_integer_value(rc),
                result_name(json_integer_value(rc), false));
    if (json_is_integer(erc))
        fprintf(fp, " %lld %s (3GPP)", (long long)json_integer_value(erc),
                result_name(json_integer_value(erc), true));
    if (!json_is_integer(rc) && !json_is_integer(erc))
        fprintf(fp, " (no result code)");
    fprintf(fp, " ");
    show(fp, avps, MCX_AVP_ERROR_MESSAGE, 0, "Error-Message");
    json_t *failed = find(avps, MCX_AVP_FAILED_AVP, 0);
    if (failed) {
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(failed, "avps"), i, a) {
            json_t *n = json_object_get(a, "name");
            if (json_is_string(n))
                fprintf(fp, " Failed-AVP=%s", json_string_value(n));
            else
                fprintf(fp, " Failed-AVP=%lld/%lld",
                        (long long)json_integer_value(json_object_get(a, "code")),
                        (long long)json_integer_value(json_object_get(a, "vendor")));
        }
    }
    show(fp, avps, MCX_AVP_USER_NAME, 0, "User-Name");
    show(fp, avps, MCX_CX_AVP_SERVER_NAME, MCX_3GPP_VENDOR_ID, "Server-Name");
    json_t *caps = find(avps, MCX_CX_AVP_SERVER_CAPABILITIES, MCX_3GPP_VENDOR_ID);
    if (caps)
        show(fp, json_object_get(caps, "avps"), MCX_CX_AVP_SERVER_NAME, MCX_3GPP_VENDOR_ID,
             "capability");
    json_t *ud = find(avps, MCX_CX_AVP_USER_DATA, MCX_3GPP_VENDOR_ID);
    if (ud) {
        const char *hex = json_string_value(json_object_get(ud, "hex"));
        fprintf(fp, " User-Data=%zu octets", hex ? strlen(hex) / 2 : (size_t)0);
    }
    show(fp, avps, MCX_CX_AVP_SIP_NUMBER_AUTH_ITEMS, MCX_3GPP_VENDOR_ID, "items");
    size_t i;
    json_t *a;
    bool secret = false;
    json_array_foreach(avps, i, a) {
        if (json_integer_value(json_object_get(a, "code")) == MCX_CX_AVP_SIP_AUTH_DATA_ITEM &&
            json_integer_value(json_object_get(a, "vendor")) == MCX_3GPP_VENDOR_ID) {
            ladder_item(fp, a);
            secret = true;
        }
    }
    fprintf(fp, "\n");
    if (secret && !noted) {
        fprintf(fp, "%*s(XRES, CK, IK and HA1 are test-only material, shown truncated)\n",
                (int)strlen(self) + 1, "");
        noted = true;
    }
    fflush(fp);
}

void cxtool_ladder_error(FILE *fp, const char *self, const char *cmd, const char *error)
{
    fprintf(fp, "%s ◀─✗──  %s: %s\n", self, cmd ? cmd : "?", error);
    fflush(fp);
}
