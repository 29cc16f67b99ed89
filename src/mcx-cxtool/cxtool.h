/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-cxtool internals: the tool's configuration, the JSON <-> Diameter
 * conversions (cxtool-json.c) and the human-readable ladder (cxtool-ladder.c).
 * The tool is a Cx client for tests and demos; it is not a daemon.
 */
#ifndef CXTOOL_H
#define CXTOOL_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "diameter/mcx-diameter.h"
#include "diameter/cx/mcx-diameter-cx.h"

enum { CXTOOL_WAIT_ANY = 0, CXTOOL_WAIT_ALL = 1 };

typedef struct {
    char destination_realm[MCX_DIAM_NAME_MAX]; /* default Destination-Realm; "" = own realm */
    char destination_host[MCX_DIAM_NAME_MAX];  /* default Destination-Host; "" = none */
    char server_name[MCX_DIAM_NAME_MAX];       /* default Server-Name; "" = sip:scscf.<realm> */
    uint32_t connect_timeout_ms; /* how long to wait for peers to be open */
    uint32_t answer_timeout_ms;  /* per request */
    int wait;                    /* CXTOOL_WAIT_ANY / _ALL */
} cxtool_opts_t;

typedef struct {
    mcx_diam_config_t diam;
    cxtool_opts_t cx;
} cxtool_config_t;

/*
 * Build a Cx request from one JSON object (see --help for the fields).
 * On success returns 0 and *out (caller owns; freed by fd_msg_send or
 * fd_msg_free) and *cmd ("MAR"...; static). On a bad request returns
 * -EINVAL with a reason in `err`; -ENOMEM / -EIO on freeDiameter failures.
 */
int cxtool_request_build(json_t *req, const cxtool_config_t *cfg, struct msg **out,
                         const char **cmd, char *err, size_t errlen);

/*
 * The JSON form of a whole message: {"cmd", "result_code",
 * "experimental_result_code", "experimental_vendor", "e_bit", "avps"}.
 * `msg` is borrowed. Returns a new reference or NULL on ENOMEM.
 */
json_t *cxtool_msg_dump(struct msg *msg);

/* Short command name for a Cx command code and direction ("MAR", "MAA", "CMD-999-A"). */
const char *cxtool_cmd_name(uint32_t code, bool request, char *buf, size_t len);

/* Ladder lines: `self` is the label of this node, dumps come from cxtool_msg_dump. */
void cxtool_ladder_request(FILE *fp, const char *self, json_t *dump);
void cxtool_ladder_answer(FILE *fp, const char *self, json_t *dump);
void cxtool_ladder_error(FILE *fp, const char *self, const char *cmd, const char *error);

#endif /* CXTOOL_H */
