/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Helpers shared by the lib/store unit tests: a private temporary directory
 * per test holding the SQLite file, and a fully populated example subscriber.
 */
#ifndef TEST_STORE_COMMON_H
#define TEST_STORE_COMMON_H

#include "mcx-store.h"

typedef struct {
    char dir[512];
    char path[640];
} tmpdb_t;

/* Create a fresh directory; path names "store.sqlite" inside it (not created). */
void tmpdb_init(tmpdb_t *t);
/* Remove the database, its -wal and -shm files and the directory. */
void tmpdb_final(tmpdb_t *t);
/* Open (creating) the store at t->path; fails the test on error. */
mcx_store_t *tmpdb_open(const tmpdb_t *t);

/*
 * Fill *s with a valid subscriber "<name>@alpha.example" that has AKA and
 * digest credentials, two IMPUs (the second barred) and one iFC. `seed`
 * varies the key bytes.
 */
void example_subscriber(mcx_subscriber_t *s, const char *name, uint8_t seed);

/* Allocate a zeroed subscriber (they are large); fails the test on ENOMEM. */
mcx_subscriber_t *sub_new(void);

#endif /* TEST_STORE_COMMON_H */
