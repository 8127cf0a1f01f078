/* test_arena.c: the bump allocator (common/arena.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dolen/arena.h"

Test(arena, strings_survive_until_free)
{
    dl_arena *a = dl_arena_new(64);
    cr_assert_not_null(a);
    char *p[1000];
    for (int i = 0; i < 1000; i++) {
        char s[32];
        snprintf(s, sizeof s, "slf-%d", i);
        p[i] = dl_arena_strdup(a, s);
        cr_assert_not_null(p[i]);
    }
    for (int i = 0; i < 1000; i++) {
        char s[32];
        snprintf(s, sizeof s, "slf-%d", i);
        cr_assert_str_eq(p[i], s);
    }
    cr_assert_geq(dl_arena_used(a), 1000 * 6);
    dl_arena_free(a);
    dl_arena_free(NULL);
}

Test(arena, allocations_are_aligned_and_big_ones_fit)
{
    dl_arena *a = dl_arena_new(0);
    for (int i = 1; i < 50; i++) {
        void *p = dl_arena_alloc(a, (size_t)i * 3);
        cr_assert_eq((uintptr_t)p % _Alignof(max_align_t), 0);
    }
    char *big = dl_arena_alloc(a, 1 << 20);
    cr_assert_not_null(big);
    memset(big, 1, 1 << 20);
    char *after = dl_arena_strndup(a, "abcdef", 3);
    cr_assert_str_eq(after, "abc");
    cr_assert_null(dl_arena_alloc(a, SIZE_MAX));
    dl_arena_free(a);
}
