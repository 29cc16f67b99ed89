/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Placeholder until the idms nouns land (issue 4). */
#include "mcxctl-nouns.h"

int mcxctl_user_main(mcxctl_t *ctl, int argc, char **argv)
{
    mcxctl_err("user: not built yet");
    return MCXCTL_FAIL;
}

int mcxctl_client_main(mcxctl_t *ctl, int argc, char **argv)
{
    mcxctl_err("client: not built yet");
    return MCXCTL_FAIL;
}
