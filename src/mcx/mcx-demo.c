/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `mcx demo`: placeholder until the demo lands.
 */
#include "mcx-orch.h"

int mcx_demo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "mcx demo: not there yet\n");
    return 1;
}
