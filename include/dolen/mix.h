/* dolen/mix.h: the 64-bit bit mixer hash tables and samplers share.
 * Part of common/; not a keyed hash: never use it where secrecy matters. */
#ifndef DOLEN_MIX_H
#define DOLEN_MIX_H

#include <stdint.h>

/* The splitmix64 finaliser (Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014): every input bit reaches
 * every output bit, so keys that are nearly alike (hand-made ids, counters)
 * still spread over a table. Tokens and SLFs are uniform already; mixing
 * them costs little and guards against crafted files. */
static inline uint64_t dl_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

#endif
