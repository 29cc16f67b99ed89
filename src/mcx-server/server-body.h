/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Bodies mcx-server reads, as pure functions over byte ranges (no SIP
 * stack, no I/O; unit-tested and fuzzable): Content-Type values, RFC 2046
 * multipart/mixed, an embedded SIP request (message/sip, 24.379 option a)
 * and the mcptt-info document (urn:3gpp:ns:mcpttInfo:1.0).
 */
#ifndef SERVER_BODY_H
#define SERVER_BODY_H

#include <stdbool.h>
#include <stddef.h>

#define SERVER_MIME_MAX 128
#define SERVER_BOUNDARY_MAX 72 /* RFC 2046: 1..70 characters */
#define SERVER_MAX_PARTS 16

#define MIME_MCPTT_INFO "application/vnd.3gpp.mcptt-info+xml"
#define MIME_POC_SETTINGS "application/poc-settings+xml"
#define MIME_MULTIPART "multipart/mixed"
#define MIME_MESSAGE_SIP "message/sip"
#define MIME_IMS_XML "application/3gpp-ims+xml"
#define NS_MCPTT_INFO "urn:3gpp:ns:mcpttInfo:1.0"

/*
 * Parse a Content-Type value ("type/subtype; boundary=..."): the media type
 * lower-cased into mime, the boundary parameter (unquoted) into boundary
 * ("" when absent). Returns 0 or -EINVAL (malformed, too long).
 */
int server_ctype_parse(const char *s, size_t len, char *mime, size_t mimelen, char *boundary,
                       size_t blen);

/* One body part: its media type (lower case) and content, borrowed from the body. */
typedef struct {
    char mime[SERVER_MIME_MAX];
    const char *body;
    size_t len;
} server_part_t;

/*
 * Split a multipart body by `boundary` (RFC 2046 §5.1.1; CRLF or bare LF
 * line ends). A part without Content-Type is text/plain. Returns 0 with
 * *n parts, -EBADMSG when the body is not multipart of that boundary (no
 * delimiter, unterminated, bad part headers), -E2BIG past `max` parts.
 */
int server_multipart_split(const char *body, size_t len, const char *boundary, server_part_t *parts,
                           unsigned max, unsigned *n);

/*
 * The body of an embedded SIP request (message/sip): its Content-Type into
 * part->mime ("" when it has none) and the bytes after the blank line.
 * Returns 0 or -EBADMSG (not a SIP request, no end of headers).
 */
int server_sipfrag_body(const char *msg, size_t len, server_part_t *part, char *boundary,
                        size_t blen);

/*
 * Find the mcptt-info document in a body of type `mime` (with `boundary`
 * for multipart): the whole body, or the first mcptt-info part of a
 * multipart. Returns 0 with *xml and *xlen set, -ENOENT when there is none,
 * -EBADMSG when the multipart is malformed.
 */
int server_find_mcptt_info(const char *mime, const char *boundary, const char *body, size_t len,
                           const char **xml, size_t *xlen);

typedef enum {
    SERVER_INFO_OK = 0,
    SERVER_INFO_MALFORMED, /* not well-formed XML, wrong root or namespace */
    SERVER_INFO_NO_TOKEN,  /* no mcptt-access-token */
    SERVER_INFO_ENCRYPTED, /* type="Encrypted" (not supported) */
} server_info_status_t;

/*
 * Read mcptt-Params of an mcptt-info document: the access token and the
 * client id (type "Normal" only). Never follows DTDs or entities.
 */
server_info_status_t server_mcptt_info_parse(const char *xml, size_t len, char *token,
                                             size_t toklen, char *client_id, size_t cidlen,
                                             char *why, size_t whylen);

#endif /* SERVER_BODY_H */
