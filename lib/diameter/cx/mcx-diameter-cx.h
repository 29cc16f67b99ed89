/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The Cx/Dx application (TS 29.228 procedures, TS 29.229 encoding) in the
 * freeDiameter dictionary: application 16777216 of vendor 3GPP (10415), the
 * UAR/SAR/LIR/MAR/RTR/PPR commands and every AVP mcxcore reads or writes.
 * Handles are resolved once by mcx_cx_dict_init() and are read-only after.
 */
#ifndef MCX_DIAMETER_CX_H
#define MCX_DIAMETER_CX_H

#include "diameter/mcx-diameter.h"

#define MCX_3GPP_VENDOR_ID 10415
#define MCX_CX_APP_ID 16777216

/* Command codes (TS 29.229 §6.1). */
enum {
    MCX_CX_CMD_UAR = 300,
    MCX_CX_CMD_SAR = 301,
    MCX_CX_CMD_LIR = 302,
    MCX_CX_CMD_MAR = 303,
    MCX_CX_CMD_RTR = 304,
    MCX_CX_CMD_PPR = 305,
};

/* AVP codes, vendor 10415 unless noted (TS 29.229 §6.3). */
enum {
    MCX_CX_AVP_VISITED_NETWORK_IDENTIFIER = 600,
    MCX_CX_AVP_PUBLIC_IDENTITY = 601,
    MCX_CX_AVP_SERVER_NAME = 602,
    MCX_CX_AVP_SERVER_CAPABILITIES = 603,
    MCX_CX_AVP_MANDATORY_CAPABILITY = 604,
    MCX_CX_AVP_OPTIONAL_CAPABILITY = 605,
    MCX_CX_AVP_USER_DATA = 606,
    MCX_CX_AVP_SIP_NUMBER_AUTH_ITEMS = 607,
    MCX_CX_AVP_SIP_AUTHENTICATION_SCHEME = 608,
    MCX_CX_AVP_SIP_AUTHENTICATE = 609,
    MCX_CX_AVP_SIP_AUTHORIZATION = 610,
    MCX_CX_AVP_SIP_AUTHENTICATION_CONTEXT = 611,
    MCX_CX_AVP_SIP_AUTH_DATA_ITEM = 612,
    MCX_CX_AVP_SIP_ITEM_NUMBER = 613,
    MCX_CX_AVP_SERVER_ASSIGNMENT_TYPE = 614,
    MCX_CX_AVP_DEREGISTRATION_REASON = 615,
    MCX_CX_AVP_REASON_CODE = 616,
    MCX_CX_AVP_REASON_INFO = 617,
    MCX_CX_AVP_USER_AUTHORIZATION_TYPE = 623,
    MCX_CX_AVP_USER_DATA_ALREADY_AVAILABLE = 624,
    MCX_CX_AVP_CONFIDENTIALITY_KEY = 625,
    MCX_CX_AVP_INTEGRITY_KEY = 626,
    MCX_CX_AVP_SUPPORTED_FEATURES = 628,
    MCX_CX_AVP_FEATURE_LIST_ID = 629,
    MCX_CX_AVP_FEATURE_LIST = 630,
    MCX_CX_AVP_ASSOCIATED_IDENTITIES = 632,
    MCX_CX_AVP_ORIGINATING_REQUEST = 633,
    MCX_CX_AVP_WILDCARDED_PUBLIC_IDENTITY = 634,
    MCX_CX_AVP_SIP_DIGEST_AUTHENTICATE = 635,
    MCX_CX_AVP_UAR_FLAGS = 637,
    MCX_CX_AVP_MULTIPLE_REGISTRATION_INDICATION = 648,
    MCX_CX_AVP_SESSION_PRIORITY = 650,
    MCX_CX_AVP_ALTERNATE_DIGEST_ALGORITHM = 662,
    MCX_CX_AVP_ALTERNATE_DIGEST_HA1 = 663,
    /* IETF (vendor 0), RFC 4740 / RFC 5090 code space, inside SIP-Digest-Authenticate */
    MCX_AVP_DIGEST_REALM = 104,
    MCX_AVP_DIGEST_QOP = 110,
    MCX_AVP_DIGEST_ALGORITHM = 111,
    MCX_AVP_DIGEST_HA1 = 121,
};

/* Server-Assignment-Type (TS 29.229 §6.3.15). */
enum {
    MCX_SAT_NO_ASSIGNMENT = 0,
    MCX_SAT_REGISTRATION = 1,
    MCX_SAT_RE_REGISTRATION = 2,
    MCX_SAT_UNREGISTERED_USER = 3,
    MCX_SAT_TIMEOUT_DEREGISTRATION = 4,
    MCX_SAT_USER_DEREGISTRATION = 5,
    MCX_SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME = 6,
    MCX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME = 7,
    MCX_SAT_ADMINISTRATIVE_DEREGISTRATION = 8,
    MCX_SAT_AUTHENTICATION_FAILURE = 9,
    MCX_SAT_AUTHENTICATION_TIMEOUT = 10,
    MCX_SAT_DEREGISTRATION_TOO_MUCH_DATA = 11,
    MCX_SAT_AAA_USER_DATA_REQUEST = 12,
    MCX_SAT_PGW_UPDATE = 13,
    MCX_SAT_RESTORATION = 14,
    MCX_SAT_MAX = 14,
};

/* User-Authorization-Type (TS 29.229 §6.3.24). */
enum {
    MCX_UAT_REGISTRATION = 0,
    MCX_UAT_DE_REGISTRATION = 1,
    MCX_UAT_REGISTRATION_AND_CAPABILITIES = 2,
};

/* Experimental-Result-Code values, vendor 10415 (TS 29.229 §6.2). */
enum {
    MCX_CX_FIRST_REGISTRATION = 2001,
    MCX_CX_SUBSEQUENT_REGISTRATION = 2002,
    MCX_CX_UNREGISTERED_SERVICE = 2003,
    MCX_CX_SUCCESS_SERVER_NAME_NOT_STORED = 2004,
    MCX_CX_ERROR_USER_UNKNOWN = 5001,
    MCX_CX_ERROR_IDENTITIES_DONT_MATCH = 5002,
    MCX_CX_ERROR_IDENTITY_NOT_REGISTERED = 5003,
    MCX_CX_ERROR_ROAMING_NOT_ALLOWED = 5004,
    MCX_CX_ERROR_IDENTITY_ALREADY_REGISTERED = 5005,
    MCX_CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED = 5006,
    MCX_CX_ERROR_IN_ASSIGNMENT_TYPE = 5007,
    MCX_CX_ERROR_TOO_MUCH_DATA = 5008,
    MCX_CX_ERROR_NOT_SUPPORTED_USER_DATA = 5009,
};

/* SIP-Authentication-Scheme strings (TS 29.229 §6.3.9). */
#define MCX_CX_SCHEME_AKAV1 "Digest-AKAv1-MD5"
#define MCX_CX_SCHEME_SIP_DIGEST "SIP Digest"
#define MCX_CX_SCHEME_UNKNOWN "Unknown"

extern struct dict_object *mcx_cx_vendor, *mcx_cx_app;
extern struct dict_object *mcx_cx_cmd_uar, *mcx_cx_cmd_uaa, *mcx_cx_cmd_sar, *mcx_cx_cmd_saa,
    *mcx_cx_cmd_lir, *mcx_cx_cmd_lia, *mcx_cx_cmd_mar, *mcx_cx_cmd_maa;
extern struct dict_object *mcx_cx_avp_visited_network_identifier, *mcx_cx_avp_public_identity,
    *mcx_cx_avp_server_name, *mcx_cx_avp_server_capabilities,
    *mcx_cx_avp_mandatory_capability, *mcx_cx_avp_optional_capability, *mcx_cx_avp_user_data,
    *mcx_cx_avp_sip_number_auth_items, *mcx_cx_avp_sip_authentication_scheme,
    *mcx_cx_avp_sip_authenticate, *mcx_cx_avp_sip_authorization,
    *mcx_cx_avp_sip_authentication_context, *mcx_cx_avp_sip_auth_data_item,
    *mcx_cx_avp_sip_item_number, *mcx_cx_avp_server_assignment_type,
    *mcx_cx_avp_user_authorization_type, *mcx_cx_avp_user_data_already_available,
    *mcx_cx_avp_confidentiality_key, *mcx_cx_avp_integrity_key,
    *mcx_cx_avp_supported_features, *mcx_cx_avp_feature_list_id, *mcx_cx_avp_feature_list,
    *mcx_cx_avp_associated_identities, *mcx_cx_avp_originating_request,
    *mcx_cx_avp_wildcarded_public_identity, *mcx_cx_avp_sip_digest_authenticate,
    *mcx_cx_avp_uar_flags, *mcx_cx_avp_multiple_registration_indication,
    *mcx_cx_avp_session_priority, *mcx_cx_avp_deregistration_reason, *mcx_cx_avp_reason_code,
    *mcx_cx_avp_reason_info, *mcx_cx_avp_alternate_digest_algorithm,
    *mcx_cx_avp_alternate_digest_ha1, *mcx_avp_digest_realm, *mcx_avp_digest_qop,
    *mcx_avp_digest_algorithm, *mcx_avp_digest_ha1;

/*
 * Define the Cx application, its commands, AVPs and (deliberately permissive)
 * rules in freeDiameter's dictionary, reusing objects that already exist with
 * the same definition. Call after mcx_diam_init() and before
 * mcx_diam_start(), from the main thread. Returns 0 or -errno.
 */
int mcx_cx_dict_init(void);

/* Readable name of a Server-Assignment-Type value, or "?" if out of range. */
const char *mcx_cx_sat_name(int32_t sat);

#endif /* MCX_DIAMETER_CX_H */
