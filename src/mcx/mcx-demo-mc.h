/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `mcx demo`, second part: one MC service user walks the on-network
 * lifecycle of TS 23.280 10.1.1.1 with mcx-ue against what `mcx up` started,
 * and the MC service server's status API gives its verdict. Shared between
 * mcx-demo.c (the ladder) and mcx-demo-mc.c (running and judging the steps).
 */
#ifndef MCX_DEMO_MC_H
#define MCX_DEMO_MC_H

#include "mcx-orch.h"

/* Steps of the lifecycle; 0 is "not part of it". */
enum {
    MCX_MC_NONE = 0,
    MCX_MC_IDM,      /* 1 user authentication, CSC-1 */
    MCX_MC_CMC,      /* 2 configuration, CSC-4 */
    MCX_MC_GMC,      /* 3 groups, CSC-2 */
    MCX_MC_REGISTER, /* 4 SIP registration, SIP-1 + AAA-1 */
    MCX_MC_SVCAUTH,  /* 5 service authorization, SIP-2 (+ CSC-5) */
    MCX_MC_DEREG,    /* 6 de-registration */
    MCX_MC_N
};

typedef struct {
    double t_start;      /* wall clock: the UE started */
    double t_status;     /* the status API was asked while registered */
    double t_dereg;      /* SIGTERM sent: de-registration starts */
    double t_end;        /* the UE exited */
    int failed;          /* 0 every step succeeded, else the first failed step */
    char reason[512];    /* why it failed */
    char ue_out[PATH_MAX];
    char mcptt_id[MCX_TOPO_ID];
    int status_during, status_after;   /* HTTP status of GET /users/<id> */
    char body_during[1024], body_after[1024];
} mcx_demo_mc_t;

/* "user authentication", ... for steps 1..6; "" otherwise. */
const char *mcx_demo_mc_title(int step);
/* The reference points, short ("CSC-1, HTTP-1/HTTP-2"). */
const char *mcx_demo_mc_ref(int step);
/* The reference points and what crosses them, one line. */
const char *mcx_demo_mc_refs(int step);

/*
 * Append the `mc:` section of user `u` of system `s` to a UE configuration
 * (public URLs through nginx, the run directory's CA, a state dir).
 */
int mcx_demo_mc_write_conf(FILE *fp, const mcx_topo_system_t *s, const mcx_topo_user_t *u,
                           const char *run_dir);

/*
 * Run `ue_bin -c cfg` (staying registered), wait for the service
 * authorization, ask the MC server's status API, SIGTERM the UE (it removes
 * the publication and de-registers), ask again. Prints every step with the
 * UE's own lines and the verdicts. Returns 0, or the number of the first
 * failed step (r->failed, r->reason), or -EINTR when interrupted.
 */
int mcx_demo_mc_run(const mcx_topo_system_t *s, const mcx_topo_user_t *u, const char *ue_bin,
                    const char *cfg, const char *run_dir, mcx_demo_mc_t *r);

#endif /* MCX_DEMO_MC_H */
