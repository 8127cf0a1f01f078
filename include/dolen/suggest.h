/* dolen/suggest.h: "did you mean" for unknown keys, options and names.
 * Part of common/; used by the spec loader and the command line. */
#ifndef DOLEN_SUGGEST_H
#define DOLEN_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance between A and B (bytes, unit costs), capped at CAP:
 * any distance above CAP is returned as CAP + 1. */
size_t dl_edit_distance(const char *a, const char *b, size_t cap);

/* The candidate nearest to WORD, or NULL when none is close enough to be a
 * plausible typo (distance at most 1 for short words, 2 up to 8 bytes, 3
 * beyond; case is ignored). Ties go to the earlier candidate. Borrowed: the
 * result points into CANDIDATES. */
const char *dl_suggest(const char *word, const char *const *candidates, size_t n);

#endif
