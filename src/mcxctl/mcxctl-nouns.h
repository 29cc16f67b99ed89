/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What mcxctl-main.c shares with the files that implement one noun each
 * (`mcxctl subscriber ...`, later `user`, `group`): the global options, the
 * exit codes and the one-line error printer.
 */
#ifndef MCXCTL_NOUNS_H
#define MCXCTL_NOUNS_H

#include <stdio.h>

/* Exit status of every mcxctl command. */
enum {
    MCXCTL_OK = 0,    /* done */
    MCXCTL_FAIL = 1,  /* a bad value or a refused operation; nothing was changed */
    MCXCTL_USAGE = 2, /* unknown command or option, missing option */
};

/* Options given before the noun; a noun may also accept them after the verb. */
typedef struct {
    const char *db; /* --db PATH, NULL when not given */
} mcxctl_t;

/*
 * A noun's entry point: argv[0] is the noun, argv[1] the verb. Returns an
 * exit status. `ctl` and argv are borrowed.
 */
typedef int (*mcxctl_noun_fn)(mcxctl_t *ctl, int argc, char **argv);

int mcxctl_subscriber_main(mcxctl_t *ctl, int argc, char **argv);
int mcxctl_user_main(mcxctl_t *ctl, int argc, char **argv);   /* mcxctl-idms.c */
int mcxctl_client_main(mcxctl_t *ctl, int argc, char **argv); /* mcxctl-idms.c */
int mcxctl_xcap_main(mcxctl_t *ctl, int argc, char **argv);   /* mcxctl-xcap.c */

/* Print "mcxctl: <message>" as one line on stderr. */
void mcxctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* MCXCTL_NOUNS_H */
