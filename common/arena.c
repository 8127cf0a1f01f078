/* arena.c: chunked bump allocator.
 * Part of common/; many small strings cost one malloc per chunk, not per string. */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/arena.h"

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    alignas(max_align_t) unsigned char data[];
} chunk;

struct dl_arena {
    chunk *head;
    size_t chunk_size;
    size_t used;
};

dl_arena *dl_arena_new(size_t chunk_size)
{
    dl_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    return a;
}

void dl_arena_free(dl_arena *a)
{
    if (!a)
        return;
    for (chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *dl_arena_alloc(dl_arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    if (size > SIZE_MAX - align)
        return NULL;
    size = (size + align - 1) & ~(align - 1);
    chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t want = size > a->chunk_size ? size : a->chunk_size;
        if (want > SIZE_MAX - sizeof(chunk))
            return NULL;
        chunk *n = malloc(sizeof(chunk) + want);
        if (!n)
            return NULL;
        n->size = want;
        n->used = 0;
        /* A big one-off allocation goes behind the current chunk so the
         * current chunk's free space is not wasted. */
        if (c && size > a->chunk_size) {
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    a->used += size;
    return p;
}

char *dl_arena_strndup(dl_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = dl_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *dl_arena_strdup(dl_arena *a, const char *s)
{
    return dl_arena_strndup(a, s, strlen(s));
}

size_t dl_arena_used(const dl_arena *a)
{
    return a->used;
}
