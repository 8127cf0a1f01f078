/* spec_parse.h: what the three parts of the spec loader share. Part of
 * config/: spec_yaml.c turns YAML into a tree of positioned nodes and checked
 * values, spec_load.c reads the encoding sections (input, fields, clk,
 * content) and drives the whole, spec_link.c reads the linkage sections
 * (comparisons, blocking, training, thresholds, clustering). Internal: only
 * config/ includes it. */
#ifndef DL_SPEC_PARSE_H
#define DL_SPEC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/arena.h"
#include "dolen/error.h"
#include "dolen/spec.h"

/* Longest spec, dataset, comparison or level name: they appear in file
 * names and reports. */
#define SPEC_MAX_NAME 64

/* libyaml's event stream turned into a tree with positions, so the checks
 * can look keys up in any order and still point at the exact spot. It is
 * built from events rather than with yaml_parser_load() because the document
 * API resolves aliases silently and drops the anchor marks that must be
 * rejected. */
typedef enum { YN_SCALAR, YN_SEQ, YN_MAP } yn_kind;

typedef struct ynode {
    yn_kind kind;
    bool plain;    /* scalar written without quotes (may be a number, null...) */
    const char *s; /* scalar text, NUL-terminated */
    size_t len;
    uint32_t line, col; /* 1-based */
    size_t n;           /* children; a mapping holds key, value, key, value... */
    struct ynode *first, *last, *next;
} ynode;

/* One load: where errors go and which arenas hold what. */
typedef struct spec_ctx {
    const char *path; /* for messages */
    dl_error *err;
    dl_arena *tmp;   /* the tree, freed after loading */
    dl_arena *arena; /* the spec's strings and arrays */
    dl_spec *spec;
} spec_ctx;

/* ---- spec_yaml.c: the tree and checked values ------------------------------
 * Every function that fails fills c->err (DL_EINPUT with the node's line and
 * column, or DL_ENOMEM) and returns its code. */

/* Parse TEXT (LEN bytes) into *ROOT, allocated in c->tmp; *ROOT is NULL for
 * an empty document. Anchors, aliases, tags and multiple documents are
 * refused. */
dl_status dl__y_build_tree(spec_ctx *c, const char *text, size_t len, ynode **root);

dl_status dl__y_fail_at(spec_ctx *c, uint64_t line, uint64_t col, const char *fmt, ...)
    DL_PRINTF(4, 5);
/* At node N (NULL: no position). */
dl_status dl__y_fail(spec_ctx *c, const ynode *n, const char *fmt, ...) DL_PRINTF(3, 4);
dl_status dl__y_nomem(spec_ctx *c);

/* A scalar shown in a message: at most 40 bytes, non-printing bytes as '?'.
 * Spec text is configuration, never data, so quoting it is safe. */
const char *dl__y_show(const ynode *n, char out[48]);
/* "a mapping", "a list", "'text'": what N is, for messages. */
const char *dl__y_describe(const ynode *n);
bool dl__y_is_null(const ynode *n);
/* N exists and is not null. */
bool dl__y_present(const ynode *n);

/* Check that every key of mapping M is one of KEYS (NK of them), each at most
 * once, and put the value of KEYS[i] in vals[i] and the key node in
 * knodes[i] (NULL when absent; KNODES may be NULL). WHAT names the mapping
 * in messages. */
dl_status dl__y_check_map(spec_ctx *c, const ynode *m, const char *what,
                          const char *const *keys, size_t nk, const ynode **vals,
                          const ynode **knodes);
/* KEY is required in mapping M (WHAT) but absent. */
dl_status dl__y_missing(spec_ctx *c, const ynode *m, const char *key, const char *what);

/* Typed values of key KEY (for messages), checked against their ranges. */
dl_status dl__y_get_string(spec_ctx *c, const ynode *n, const char *key, const char **out);
dl_status dl__y_get_uint(spec_ctx *c, const ynode *n, const char *key, uint64_t min,
                         uint64_t max, uint64_t *out);
dl_status dl__y_get_unsigned(spec_ctx *c, const ynode *n, const char *key, unsigned min,
                             unsigned max, unsigned *out);
dl_status dl__y_get_bool(spec_ctx *c, const ynode *n, const char *key, bool *out);
/* A number in the open interval (0, 1), or (0, 1] when ONE_OK. */
dl_status dl__y_get_fraction(spec_ctx *c, const ynode *n, const char *key, bool one_ok,
                             double *out);
/* One of NAMES (NN of them) as its index; an unknown value gets the nearest
 * name suggested. */
dl_status dl__y_get_enum(spec_ctx *c, const ynode *n, const char *key,
                         const char *const *names, size_t nn, int *out);
/* N is a list of MIN..MAX items of OF (for messages). */
dl_status dl__y_expect_list(spec_ctx *c, const ynode *n, const char *of, size_t min,
                            size_t max);

/* [A-Za-z0-9_.-]{1,SPEC_MAX_NAME}: names that appear in file names and
 * reports. */
bool dl__y_is_label_name(const char *s);
/* [a-z][a-z0-9_]{0,31}: field names become column names FIELD.FEATURE. */
bool dl__y_is_field_name(const char *s);
/* "YYYY-MM-DD", a real calendar date from year 1000, as YYYYMMDD. */
bool dl__y_parse_iso_date(const char *s, int32_t *out);

/* ---- spec_load.c: fields, for the linkage sections ------------------------- */

/* Index of field NAME in c->spec, or -1. */
int dl__spec_find_field(const dl_spec *s, const char *name);
/* "unknown field NAME in IN" at N, with the nearest field name suggested. */
dl_status dl__spec_unknown_field(spec_ctx *c, const ynode *n, const char *name,
                                 const char *in);
bool dl__spec_has_feature(const dl_spec_field *f, dl_feature_kind k);

/* ---- spec_link.c: the linkage sections ------------------------------------- */

/* Each reads its section's node into c->spec; fields are already read. */
dl_status dl__spec_parse_comparisons(spec_ctx *c, const ynode *n);
/* COMPARISONS_KEY: the comparisons key, for the message when the rules are
 * missing (NULL when there are no comparisons). */
dl_status dl__spec_parse_blocking(spec_ctx *c, const ynode *m,
                                  const ynode *comparisons_key);
dl_status dl__spec_parse_training(spec_ctx *c, const ynode *m);
dl_status dl__spec_parse_thresholds(spec_ctx *c, const ynode *m);
/* *METHOD_NODE and *SPINE_NODE: where the method and spine were given (or
 * NULL), for the checks that need the link type too. */
dl_status dl__spec_parse_clustering(spec_ctx *c, const ynode *m, const ynode **method_node,
                                    const ynode **spine_node);

#endif
