/* dolen/phonetic.h: phonetic codes of names (Soundex, NYSIIS, Double Metaphone).
 * Part of hashing/; prepare derives these features from each normalised name part
 * before keyed encoding. See docs/phonetic.md for definitions and variants. */
#ifndef DOLEN_PHONETIC_H
#define DOLEN_PHONETIC_H

#include <stddef.h>

/* Common contract of the three coders.
 * - Input: LEN bytes at IN (no terminator needed; IN may be NULL when LEN is 0).
 *   Meant for normalised names: upper-case ASCII letters, maybe spaces between
 *   parts. Lower-case a-z are treated as A-Z. What other bytes do is said per
 *   function; no input is an error.
 * - Output: a NUL-terminated code written into the caller's buffer; the return
 *   value is its length (strlen). 0 and "" when the input yields no code.
 * - No allocation, no global state, linear in LEN: safe to call from any number
 *   of threads at once. */

/* Size of the buffer dl_soundex() needs: 4 characters and the NUL. */
#define DL_SOUNDEX_SIZE 5

/* American Soundex: the first letter, then up to three digits, padded with '0'
 * ("ASHCRAFT" -> "A261"). H and W are transparent (letters with equal codes on
 * both sides are coded once); vowels and Y separate them. Bytes that are not
 * letters are never coded but separate like a vowel, so the parts of a
 * multi-part name are coded as written side by side with a break between; leading
 * non-letters are skipped. Returns 4, or 0 (OUT = "") when IN has no letter. */
size_t dl_soundex(const char *in, size_t len, char out[DL_SOUNDEX_SIZE]);

/* NYSIIS (New York State Identification and Intelligence System) code, as the
 * jellyfish library computes it: no truncation when MAX_LEN is 0; MAX_LEN = 6
 * gives the original 1970 code length. Only letters take part: other bytes
 * (spaces, hyphens, ...) are dropped first, so "MAC DONALD" codes as
 * "MACDONALD". The code is cut to MAX_LEN (when not 0) and to OUTSZ - 1
 * characters; OUTSZ must be at least 1 (OUTSZ = LEN + 1 never cuts, as the code
 * is never longer than the letters). Returns the length written, 0 when IN
 * has no letter. */
size_t dl_nysiis(const char *in, size_t len, size_t max_len, char *out, size_t outsz);

/* Size of each of the two buffers dl_dmetaphone() needs for MAX_LEN = 4. */
#define DL_DMETAPHONE_SIZE 5

/* Double Metaphone (Lawrence Philips, 2000) primary and alternate codes, as
 * Apache commons-codec's DoubleMetaphone computes them. ALTERNATE equals
 * PRIMARY when the name has no alternate pronunciation. Each code is cut to
 * MAX_LEN characters (commons-codec's default is 4; 0 = no limit) and to
 * OUTSZ - 1; both buffers have OUTSZ bytes, OUTSZ >= 1. The algorithm runs over
 * the bytes as given (after trimming leading and trailing bytes <= ' ' and
 * upper-casing a-z): spaces and punctuation are not coded but are seen by the
 * context rules ("VAN ", "SAN "), exactly as in commons-codec; prepare feeds
 * letter-only parts. Codes use the letters A F H J K L M N P R S T X and '0'
 * (for "TH"); an alternate may hold a space where commons-codec puts one (a final J).
 * Returns the length of PRIMARY; 0 when there is nothing to code. */
size_t dl_dmetaphone(const char *in, size_t len, size_t max_len, char *primary,
                     char *alternate, size_t outsz);

#endif
