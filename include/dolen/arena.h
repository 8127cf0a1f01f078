/* dolen/arena.h: bump allocation of many small objects, freed all at once.
 * Part of common/; holds SLF strings, spec names and other small pieces. */
#ifndef DOLEN_ARENA_H
#define DOLEN_ARENA_H

#include <stddef.h>

typedef struct dl_arena dl_arena;

/* A new arena whose chunks are at least CHUNK bytes (0: 64 KiB).
 * Returns NULL when out of memory. Free with dl_arena_free(). */
dl_arena *dl_arena_new(size_t chunk);

/* Free every chunk and the arena. NULL is a no-op. */
void dl_arena_free(dl_arena *a);

/* SIZE bytes aligned for any type, valid until dl_arena_free(). NULL when out
 * of memory. Not thread-safe: one arena per thread. */
void *dl_arena_alloc(dl_arena *a, size_t size);

/* A NUL-terminated copy of the LEN bytes at S (which need no terminator). */
char *dl_arena_strndup(dl_arena *a, const char *s, size_t len);
char *dl_arena_strdup(dl_arena *a, const char *s);

/* Bytes handed out so far (for memory reports). */
size_t dl_arena_used(const dl_arena *a);

#endif
