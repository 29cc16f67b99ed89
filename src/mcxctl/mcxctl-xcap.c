/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Placeholder until the xcap nouns land (issue 4). */
#include "mcxctl-nouns.h"

int mcxctl_xcap_main(mcxctl_t *ctl, int argc, char **argv)
{
    mcxctl_err("xcap: not built yet");
    return MCXCTL_FAIL;
}
