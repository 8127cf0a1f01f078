/* test_evaluate.c: dolen evaluate on hand-made cases with known precision and
 * recall (linkage/evaluate.c, cli/cmd_evaluate.c). tests/data/evaluate/README.md
 * draws the main case; the figures below were worked out by hand from it. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/evaluate.h"
#include "dolen/json.h"
#include "test_util.h"

#define EPS 1e-12
#define SLF(x) "000000000000000000000000000000" x
#define LINKS_HEADER "dataset_a,slf_a,dataset_b,slf_b,match_weight,match_probability,pattern\n"

static char *maps_ab[2];
static char *truth, *links, *review, *clusters;

static void load_paths(void)
{
    maps_ab[0] = tu_data("evaluate/A.slfmap.csv");
    maps_ab[1] = tu_data("evaluate/B.slfmap.csv");
    truth = tu_data("evaluate/truth.csv");
    links = tu_data("evaluate/links.csv");
    review = tu_data("evaluate/review.csv");
    clusters = tu_data("evaluate/clusters.csv");
}

static void free_paths(void)
{
    free(maps_ab[0]);
    free(maps_ab[1]);
    free(truth);
    free(links);
    free(review);
    free(clusters);
}

TestSuite(evaluate, .init = load_paths, .fini = free_paths);

static dl_eval_opts hand_opts(void)
{
    dl_eval_opts o = DL_EVAL_OPTS_INIT;
    o.truth = truth;
    o.n_maps = 2;
    o.maps = (const char *const *)maps_ab;
    return o;
}

static dl_eval *run_ok(const dl_eval_opts *o)
{
    dl_eval *e = NULL;
    dl_error err = DL_ERROR_INIT;
    dl_status s = dl_eval_run(o, &e, &err);
    cr_assert_eq(s, DL_OK, "%s:%llu:%llu: %s", err.file, (unsigned long long)err.line,
                 (unsigned long long)err.col, err.msg);
    cr_assert_not_null(e);
    return e;
}

static void assert_pairwise(const dl_eval_pairwise *m, uint64_t pairs, uint64_t tp,
                            uint64_t fp, uint64_t fn, double p, double r)
{
    cr_assert_eq(m->pairs, pairs, "pairs %llu", (unsigned long long)m->pairs);
    cr_assert_eq(m->tp, tp, "tp %llu", (unsigned long long)m->tp);
    cr_assert_eq(m->fp, fp, "fp %llu", (unsigned long long)m->fp);
    cr_assert_eq(m->fn, fn, "fn %llu", (unsigned long long)m->fn);
    cr_assert(fabs(m->precision - p) < EPS, "precision %g, expected %g", m->precision, p);
    cr_assert(fabs(m->recall - r) < EPS, "recall %g, expected %g", m->recall, r);
    cr_assert(fabs(m->f1 - 2 * p * r / (p + r)) < EPS, "f1 %g", m->f1);
}

/* Write TEXT to DIR/NAME; the path is malloc'd. */
static char *put(const char *dir, const char *name, const char *text)
{
    char *p = tu_join(dir, name);
    tu_write_str(p, text);
    return p;
}

static void expect_error(const dl_eval_opts *o, dl_status code, uint64_t line, uint64_t col,
                         const char *needle)
{
    dl_eval *e = (dl_eval *)1;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_eval_run(o, &e, &err), code, "got %s: %s", dl_status_name(err.code),
                 err.msg);
    cr_assert_null(e);
    cr_assert_eq(err.code, code);
    cr_assert_eq(err.line, line, "line %llu: %s", (unsigned long long)err.line, err.msg);
    cr_assert_eq(err.col, col, "col %llu: %s", (unsigned long long)err.col, err.msg);
    cr_assert(strstr(err.msg, needle), "message: %s", err.msg);
}

/* ---- the hand-made case ---------------------------------------------------- */

Test(evaluate, links_pairwise_precision_and_recall)
{
    dl_eval_opts o = hand_opts();
    o.links = links;
    o.review = review;
    o.clusters = clusters;
    dl_eval *e = run_ok(&o);
    const dl_eval_summary *s = dl_eval_summary_of(e);
    cr_assert_eq(s->records, 7);
    cr_assert_eq(s->datasets, 2);
    cr_assert_eq(s->persons, 4);
    cr_assert_eq(s->true_pairs, 4);
    cr_assert(s->has_links);
    /* a1-b1, a2-b2, a1-a4 true; a3-b3 false; a4-b1 missed: P = R = 3/4. */
    assert_pairwise(&s->links, 4, 3, 1, 1, 0.75, 0.75);
    cr_assert_eq(s->fn_review, 1);   /* a4-b1 is in the review file */
    cr_assert_eq(s->fn_unscored, 0);
    dl_eval_free(e);
}

Test(evaluate, clusters_pairwise_and_bcubed)
{
    dl_eval_opts o = hand_opts();
    o.links = links;
    o.clusters = clusters;
    dl_eval *e = run_ok(&o);
    const dl_eval_summary *s = dl_eval_summary_of(e);
    cr_assert(s->clusters_from_file);
    cr_assert_eq(s->clusters, 3);
    /* {a1,b1,a4}: 3 pairs, all true; {a2,b2,b3}: 3 pairs, a2-b2 true. */
    assert_pairwise(&s->cluster_pairs, 6, 4, 2, 0, 4.0 / 6, 1.0);
    /* Per record |C n P| / |C|: 1,1,1 (cluster 1); 2/3,2/3,1/3 (cluster 2); 1. */
    cr_assert(fabs(s->bcubed_precision - 17.0 / 21) < EPS, "%g", s->bcubed_precision);
    cr_assert(fabs(s->bcubed_recall - 1.0) < EPS, "%g", s->bcubed_recall);
    double f = 2 * (17.0 / 21) / (17.0 / 21 + 1);
    cr_assert(fabs(s->bcubed_f1 - f) < EPS);
    dl_eval_free(e);
}

Test(evaluate, components_of_links_stand_for_clusters)
{
    dl_eval_opts o = hand_opts();
    o.links = links;
    dl_eval *e = run_ok(&o);
    const dl_eval_summary *s = dl_eval_summary_of(e);
    cr_assert(!s->clusters_from_file);
    /* {a1,b1,a4}, {a2,b2}, {a3,b3}: 5 pairs, a3-b3 the false one. */
    cr_assert_eq(s->clusters, 3);
    assert_pairwise(&s->cluster_pairs, 5, 4, 1, 0, 0.8, 1.0);
    cr_assert(fabs(s->bcubed_precision - 6.0 / 7) < EPS, "%g", s->bcubed_precision);
    /* Without a review file the missed a4-b1 is not known to be scored. */
    cr_assert_eq(s->fn_review, 0);
    cr_assert_eq(s->fn_unscored, 1);
    dl_eval_free(e);
}

Test(evaluate, cross_only_counts_pairs_across_datasets)
{
    dl_eval_opts o = hand_opts();
    o.links = links;
    o.review = review;
    o.cross_only = true;
    dl_eval *e = run_ok(&o);
    const dl_eval_summary *s = dl_eval_summary_of(e);
    cr_assert_eq(s->true_pairs, 3);              /* a1-a4 no longer counts */
    cr_assert_eq(s->issues.links.same_dataset, 1);
    assert_pairwise(&s->links, 3, 2, 1, 1, 2.0 / 3, 2.0 / 3);
    cr_assert_eq(s->fn_review, 1);
    /* Components {a1,b1} {a2,b2} {a3,b3} {a4}: cross pairs 3, true 2. */
    cr_assert_eq(s->clusters, 4);
    assert_pairwise(&s->cluster_pairs, 3, 2, 1, 1, 2.0 / 3, 2.0 / 3);
    dl_eval_free(e);
}

Test(evaluate, cross_only_clusters_leave_out_pairs_within_a_dataset)
{
    dl_eval_opts o = hand_opts();
    o.clusters = clusters;
    o.cross_only = true;
    dl_eval *e = run_ok(&o);
    const dl_eval_summary *s = dl_eval_summary_of(e);
    cr_assert(!s->has_links);
    /* {a1,a4 | b1}: 2 cross pairs, both true; {a2 | b2,b3}: 2, one true. */
    assert_pairwise(&s->cluster_pairs, 4, 3, 1, 0, 0.75, 1.0);
    cr_assert_eq(dl_eval_n_thresholds(e), 0);
    dl_eval_free(e);
}

Test(evaluate, review_fn_judged_by_clusters_without_links)
{
    char *dir = tu_tmpdir();
    /* a4 alone: a1-a4 and a4-b1 are split; a4-b1 was scored (review). */
    char *cl = put(dir, "clusters.csv",
                   "dataset,slf,alf,match_probability\n"
                   "A," SLF("a1") ",1,0.9\nB," SLF("b1") ",1,0.9\nA," SLF("a4") ",2,0\n"
                   "A," SLF("a2") ",3,0.9\nB," SLF("b2") ",3,0.9\nB," SLF("b3") ",3,0.9\n");
    dl_eval_opts o = hand_opts();
    o.clusters = cl;
    o.review = review;
    dl_eval *e = run_ok(&o);
    const dl_eval_summary *s = dl_eval_summary_of(e);
    cr_assert_eq(s->issues.records_without_cluster, 1);  /* a3 */
    cr_assert_eq(s->clusters, 4);
    assert_pairwise(&s->cluster_pairs, 4, 2, 2, 2, 0.5, 0.5);
    cr_assert_eq(s->fn_review, 1);
    cr_assert_eq(s->fn_unscored, 1);
    dl_eval_free(e);
    tu_rmtree(dir);
    free(cl);
    free(dir);
}

Test(evaluate, precision_recall_table)
{
    dl_eval_opts o = hand_opts();
    o.links = links;
    o.review = review;
    dl_eval *e = run_ok(&o);
    cr_assert_eq(dl_eval_n_thresholds(e), 12);
    /* threshold, pairs, tp, complete (lowest probability in the files: 0.55) */
    static const struct {
        double t;
        uint64_t pairs, tp;
        bool complete;
    } want[] = {{0.999, 1, 1, true}, {0.99, 2, 2, true}, {0.95, 4, 3, true},
                {0.9, 4, 3, true},   {0.8, 4, 3, true},  {0.7, 4, 3, true},
                {0.6, 5, 4, true},   {0.5, 6, 4, false}, {0.4, 6, 4, false},
                {0.3, 6, 4, false},  {0.2, 6, 4, false}, {0.1, 6, 4, false}};
    for (size_t i = 0; i < 12; i++) {
        const dl_eval_threshold *t = dl_eval_threshold_at(e, i);
        cr_assert_eq(t->threshold, want[i].t, "row %zu: %g", i, t->threshold);
        cr_assert_eq(t->m.pairs, want[i].pairs, "row %zu", i);
        cr_assert_eq(t->m.tp, want[i].tp, "row %zu", i);
        cr_assert_eq(t->complete, want[i].complete, "row %zu", i);
        cr_assert(fabs(t->m.recall - (double)want[i].tp / 4) < EPS);
    }
    cr_assert_null(dl_eval_threshold_at(e, 12));
    dl_eval_free(e);
}

Test(evaluate, table_stops_at_half_without_review)
{
    dl_eval_opts o = hand_opts();
    o.links = links;
    dl_eval *e = run_ok(&o);
    cr_assert_eq(dl_eval_n_thresholds(e), 8);
    cr_assert_eq(dl_eval_threshold_at(e, 7)->threshold, 0.5);
    /* The lowest probability in the links file is 0.96: rows below it may
     * miss pairs never written. */
    cr_assert(dl_eval_threshold_at(e, 1)->complete);   /* 0.99 */
    cr_assert(!dl_eval_threshold_at(e, 2)->complete);  /* 0.95 */
    cr_assert(!dl_eval_threshold_at(e, 7)->complete);
    dl_eval_free(e);
}

Test(evaluate, link_report_thresholds_mark_complete_rows)
{
    char *dir = tu_tmpdir();
    char *rep = put(dir, "link-report.json", "{\"thresholds\": {\"match\": 0.95, \"review\": 0.5}}");
    dl_eval_opts o = hand_opts();
    o.links = links;
    o.review = review;
    o.link_report = rep;
    dl_eval *e = run_ok(&o);
    cr_assert_eq(dl_eval_threshold_at(e, 7)->threshold, 0.5);
    cr_assert(dl_eval_threshold_at(e, 7)->complete);
    cr_assert(!dl_eval_threshold_at(e, 8)->complete);
    dl_eval_free(e);
    o.review = NULL;   /* then the match threshold bounds the links file */
    e = run_ok(&o);
    cr_assert(dl_eval_threshold_at(e, 2)->complete);   /* 0.95 */
    cr_assert(!dl_eval_threshold_at(e, 3)->complete);  /* 0.9 */
    dl_eval_free(e);
    tu_rmtree(dir);
    free(rep);
    free(dir);
}

Test(evaluate, patterns_count_fp_and_scored_fn)
{
    dl_eval_opts o = hand_opts();
    o.links = links;
    o.review = review;
    dl_eval *e = run_ok(&o);
    cr_assert_eq(dl_eval_n_patterns(e), 5);
    static const struct {
        const char *p;
        uint64_t links, tp, fp, review, fn;
    } want[] = {{"2-2", 2, 2, 0, 0, 0},
                {"2-1", 1, 1, 0, 0, 0},
                {"1-1", 1, 0, 1, 0, 0},
                {"1-2", 0, 0, 0, 1, 1},
                {"0-1", 0, 0, 0, 1, 0}};
    for (size_t i = 0; i < 5; i++) {
        const dl_eval_pattern *p = dl_eval_pattern_at(e, i);
        cr_assert_str_eq(p->pattern, want[i].p);
        cr_assert_eq(p->links, want[i].links, "%s", p->pattern);
        cr_assert_eq(p->tp, want[i].tp, "%s", p->pattern);
        cr_assert_eq(p->fp, want[i].fp, "%s", p->pattern);
        cr_assert_eq(p->review, want[i].review, "%s", p->pattern);
        cr_assert_eq(p->fn, want[i].fn, "%s", p->pattern);
    }
    cr_assert_null(dl_eval_pattern_at(e, 5));
    dl_eval_free(e);
}

Test(evaluate, unjoinable_rows_are_counted)
{
    dl_eval_opts o = hand_opts();
    o.links = links;
    o.review = review;
    o.clusters = clusters;
    dl_eval *e = run_ok(&o);
    const dl_eval_issues *is = &dl_eval_summary_of(e)->issues;
    cr_assert_eq(is->map_rows, 7);
    cr_assert_eq(is->truth_rows, 9);
    cr_assert_eq(is->truth_without_record, 1);   /* A,a9 */
    cr_assert_eq(is->truth_other_datasets, 1);   /* C,c1 */
    cr_assert_eq(is->records_without_truth, 0);
    cr_assert_eq(is->links.rows, 6);
    cr_assert_eq(is->links.duplicate, 1);        /* b1-a1 after a1-b1 */
    cr_assert_eq(is->links.unknown_slf, 1);      /* ...ff is in no map */
    cr_assert_eq(is->links.other_datasets, 0);
    cr_assert_eq(is->review.rows, 2);
    cr_assert_eq(is->cluster_rows, 8);
    cr_assert_eq(is->cluster_other_datasets, 1);
    cr_assert_eq(is->records_without_cluster, 0);
    dl_eval_free(e);
}

/* ---- duplicates and missing truth --------------------------------------------- */

Test(evaluate, duplicate_ids_and_missing_truth_are_reported)
{
    char *dir = tu_tmpdir();
    char *map = put(dir, "D.slfmap.csv",
                    "id,slf\n"
                    "d1," SLF("01") "\n"
                    "d1," SLF("02") "\n"   /* the record id again: same person */
                    "d2," SLF("01") "\n"   /* the SLF again: skipped */
                    "d3," SLF("03") "\n"); /* no truth row */
    char *tr = put(dir, "truth.csv",
                   "dataset,record_id,person_id\n"
                   "D,d1,1\nD,d1,1\nD,d1,7\nD,d2,2\n");
    char *ln = put(dir, "links.csv",
                   LINKS_HEADER "D," SLF("01") ",D," SLF("02") ",3,0.9,1\n"
                   "D," SLF("01") ",D," SLF("01") ",3,0.9,1\n"
                   "E," SLF("01") ",D," SLF("02") ",3,0.9,1\n"
                   "D," SLF("03") ",D," SLF("02") ",3,0.9,0\n");
    dl_eval_opts o = DL_EVAL_OPTS_INIT;
    const char *maps[] = {map};
    o.truth = tr;
    o.maps = maps;
    o.n_maps = 1;
    o.links = ln;
    dl_eval *e = run_ok(&o);
    const dl_eval_summary *s = dl_eval_summary_of(e);
    const dl_eval_issues *is = &s->issues;
    cr_assert_eq(s->records, 3);
    cr_assert_eq(is->map_duplicate_ids, 1);
    cr_assert_eq(is->map_duplicate_slfs, 1);
    cr_assert_eq(is->truth_duplicates, 2);
    cr_assert_eq(is->truth_conflicts, 1);
    cr_assert_eq(is->truth_without_record, 1);  /* d2's row was skipped */
    cr_assert_eq(is->records_without_truth, 1); /* d3 */
    cr_assert_eq(is->links.self, 1);
    cr_assert_eq(is->links.other_datasets, 1);
    cr_assert_eq(s->persons, 2);
    cr_assert_eq(s->true_pairs, 1);             /* the two rows of d1 */
    assert_pairwise(&s->links, 2, 1, 1, 0, 0.5, 1.0);
    dl_eval_free(e);
    tu_rmtree(dir);
    free(map);
    free(tr);
    free(ln);
    free(dir);
}

Test(evaluate, febrl_ids_give_persons)
{
    char *dir = tu_tmpdir();
    char *map = put(dir, "febrl.slfmap.csv",
                    "rec_id,slf\n"
                    "rec-1-org," SLF("01") "\nrec-1-dup-0," SLF("02") "\nrec-2-org," SLF("03")
                    "\n105," SLF("04") "\n107," SLF("05") "\n113," SLF("06")
                    "\nrec-x," SLF("07") "\n");
    char *ln = put(dir, "links.csv",
                   LINKS_HEADER "febrl," SLF("01") ",febrl," SLF("02") ",9,0.99,1\n"
                   "febrl," SLF("04") ",febrl," SLF("06") ",9,0.99,1\n");
    dl_eval_opts o = DL_EVAL_OPTS_INIT;
    const char *maps[] = {map};
    o.truth_from = DL_EVAL_TRUTH_FEBRL;
    o.maps = maps;
    o.n_maps = 1;
    o.links = ln;
    dl_eval *e = run_ok(&o);
    const dl_eval_summary *s = dl_eval_summary_of(e);
    /* Persons 1 (two records), 2, 10 (105, 107), 11 (113), and rec-x alone. */
    cr_assert_eq(s->persons, 5);
    cr_assert_eq(s->issues.records_without_truth, 1);
    cr_assert_eq(s->true_pairs, 2);
    assert_pairwise(&s->links, 2, 1, 1, 1, 0.5, 0.5);
    dl_eval_free(e);
    tu_rmtree(dir);
    free(map);
    free(ln);
    free(dir);
}

Test(evaluate, no_pairs_leave_ratios_undefined)
{
    char *dir = tu_tmpdir();
    char *ln = put(dir, "links.csv", LINKS_HEADER);
    dl_eval_opts o = hand_opts();
    o.links = ln;
    dl_eval *e = run_ok(&o);
    const dl_eval_summary *s = dl_eval_summary_of(e);
    cr_assert_eq(s->links.pairs, 0);
    cr_assert(isnan(s->links.precision));
    cr_assert(fabs(s->links.recall) < EPS);
    dl_buf b = DL_BUF_INIT;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_eval_write_json(e, &b, &err), DL_OK);
    dl_json_doc *doc = NULL;
    cr_assert_eq(dl_json_parse(b.data, b.len, "r", &doc, &err), DL_OK, "%s", err.msg);
    const dl_json *l = dl_json_get(dl_json_root(doc), "links");
    cr_assert_eq(dl_json_type_of(dl_json_get(l, "precision")), DL_JSON_NULL);
    cr_assert_eq(dl_json_type_of(dl_json_get(l, "recall")), DL_JSON_NUMBER);
    dl_json_doc_free(doc);
    dl_buf_free(&b);
    dl_eval_free(e);
    tu_rmtree(dir);
    free(ln);
    free(dir);
}

/* ---- reports ------------------------------------------------------------------ */

Test(evaluate, json_report_holds_the_numbers)
{
    dl_eval_opts o = hand_opts();
    o.links = links;
    o.review = review;
    o.clusters = clusters;
    dl_eval *e = run_ok(&o);
    dl_buf b = DL_BUF_INIT;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_eval_write_json(e, &b, &err), DL_OK);
    dl_json_doc *doc = NULL;
    cr_assert_eq(dl_json_parse(b.data, b.len, "r", &doc, &err), DL_OK, "%s", err.msg);
    const dl_json *r = dl_json_root(doc);
    uint64_t u;
    double d;
    cr_assert(dl_json_uint64(dl_json_get(r, "true_pairs"), &u) && u == 4);
    const dl_json *l = dl_json_get(r, "links");
    cr_assert(dl_json_uint64(dl_json_get(l, "fp"), &u) && u == 1);
    cr_assert(dl_json_double(dl_json_get(l, "precision"), &d) && d == 0.75);
    cr_assert(dl_json_uint64(dl_json_get(l, "fn_in_review"), &u) && u == 1);
    cr_assert_eq(dl_json_len(dl_json_get(l, "thresholds")), 12);
    cr_assert_eq(dl_json_len(dl_json_get(r, "patterns")), 5);
    const dl_json *c = dl_json_get(r, "clusters");
    cr_assert_str_eq(dl_json_str(dl_json_get(c, "source"), NULL), "clusters");
    cr_assert(dl_json_double(dl_json_get(dl_json_get(c, "bcubed"), "recall"), &d) && d == 1);
    const dl_json *is = dl_json_get(r, "issues");
    cr_assert(dl_json_uint64(dl_json_get(dl_json_get(is, "links"), "unknown_slf"), &u) &&
              u == 1);
    cr_assert(dl_json_uint64(dl_json_get(dl_json_get(is, "truth"), "without_record"), &u) &&
              u == 1);
    dl_json_doc_free(doc);
    dl_buf_free(&b);
    dl_eval_free(e);
}

Test(evaluate, text_summary_names_the_issues)
{
    dl_eval_opts o = hand_opts();
    o.links = links;
    o.review = review;
    dl_eval *e = run_ok(&o);
    dl_buf b = DL_BUF_INIT;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_eval_write_text(e, &b, &err), DL_OK);
    cr_assert(strstr(b.data, "precision 0.7500  recall 0.7500"), "%s", b.data);
    cr_assert(strstr(b.data, "1 links rows with an SLF in no map"), "%s", b.data);
    cr_assert(strstr(b.data, "1 truth rows whose record is in no map"), "%s", b.data);
    cr_assert(strstr(b.data, "FP by pattern: 1-1 (1)"), "%s", b.data);
    cr_assert(strstr(b.data, "FN in review by pattern: 1-2 (1)"), "%s", b.data);
    /* Only complete rows of the table are shown. */
    cr_assert(strstr(b.data, ">= 0.6 "), "%s", b.data);
    cr_assert_null(strstr(b.data, ">= 0.5 "), "%s", b.data);
    dl_buf_free(&b);
    dl_eval_free(e);
}

/* ---- errors ------------------------------------------------------------------- */

Test(evaluate, malformed_slf_gives_line_and_column)
{
    char *dir = tu_tmpdir();
    char *ln = put(dir, "links.csv",
                   LINKS_HEADER "A," SLF("a1") ",B," SLF("b1") ",1,0.9,1\n"
                   "A,000000000000000000000000000000g1,B," SLF("b1") ",1,0.9,1\n");
    dl_eval_opts o = hand_opts();
    o.links = ln;
    expect_error(&o, DL_EINPUT, 3, 3 + 30, "malformed SLF");
    tu_write_str(ln, LINKS_HEADER "A," SLF("a1") ",B,abc,1,0.9,1\n");
    expect_error(&o, DL_EINPUT, 2, 38, "expected 32 hex digits, found 3");
    tu_rmtree(dir);
    free(ln);
    free(dir);
}

Test(evaluate, bad_probability_gives_line_and_column)
{
    char *dir = tu_tmpdir();
    char *ln = put(dir, "links.csv", LINKS_HEADER "A," SLF("a1") ",B," SLF("b1") ",1,1.5,1\n");
    dl_eval_opts o = hand_opts();
    o.links = ln;
    expect_error(&o, DL_EINPUT, 2, 73, "match_probability");
    tu_write_str(ln, LINKS_HEADER "A," SLF("a1") ",B," SLF("b1") ",1,,1\n");
    expect_error(&o, DL_EINPUT, 2, 73, "match_probability");
    tu_rmtree(dir);
    free(ln);
    free(dir);
}

Test(evaluate, missing_column_names_it)
{
    char *dir = tu_tmpdir();
    char *ln = put(dir, "links.csv", "dataset_a,slf_a,dataset_b,slf_b,match_probability\n");
    dl_eval_opts o = hand_opts();
    o.links = ln;
    expect_error(&o, DL_EINPUT, 1, 0, "no column 'pattern'");
    char *tr = put(dir, "truth.csv", "dataset,record,person_id\n");
    o.truth = tr;
    expect_error(&o, DL_EINPUT, 1, 0, "no column 'record_id'");
    tu_rmtree(dir);
    free(ln);
    free(tr);
    free(dir);
}

Test(evaluate, map_errors)
{
    char *dir = tu_tmpdir();
    char *bad = put(dir, "X.slfmap.csv", "id,slf,extra\n");
    char *rows = put(dir, "Y.slfmap.csv", "id,slf\ny1," SLF("01") "\ny2\n");
    char *noslf = put(dir, "Z.slfmap.csv", "id,hash\n");
    char *named = put(dir, "W.csv", "id,slf\n");
    dl_eval_opts o = hand_opts();
    o.links = links;
    const char *m1[] = {bad};
    o.maps = m1;
    o.n_maps = 1;
    expect_error(&o, DL_EINPUT, 1, 0, "expected 2");
    const char *m2[] = {rows};
    o.maps = m2;
    expect_error(&o, DL_EINPUT, 3, 1, "expected 2 fields");
    const char *m3[] = {noslf};
    o.maps = m3;
    expect_error(&o, DL_EINPUT, 1, 0, "no column 'slf'");
    const char *m4[] = {named};
    o.maps = m4;
    expect_error(&o, DL_EUSAGE, 0, 0, "NAME.slfmap.csv.gz");
    const char *m5[] = {maps_ab[0], maps_ab[0]};
    o.maps = m5;
    o.n_maps = 2;
    expect_error(&o, DL_EUSAGE, 0, 0, "a second map of dataset 'A'");
    tu_rmtree(dir);
    free(bad);
    free(rows);
    free(noslf);
    free(named);
    free(dir);
}

Test(evaluate, missing_file_is_bad_input)
{
    dl_eval_opts o = hand_opts();
    o.links = "/nonexistent/links.csv.gz";
    dl_eval *e = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_eval_run(&o, &e, &err), DL_EINPUT);
    cr_assert_str_eq(err.file, "/nonexistent/links.csv.gz");
    cr_assert_null(e);
}

Test(evaluate, link_report_without_thresholds)
{
    char *dir = tu_tmpdir();
    char *rep = put(dir, "link-report.json", "{\"thresholds\": {\"match\": 0.95}}");
    dl_eval_opts o = hand_opts();
    o.links = links;
    o.review = review;
    o.link_report = rep;
    expect_error(&o, DL_EINPUT, 1, 16, "thresholds.review");
    tu_rmtree(dir);
    free(rep);
    free(dir);
}

Test(evaluate, option_errors)
{
    dl_eval_opts o = hand_opts();
    expect_error(&o, DL_EUSAGE, 0, 0, "links or a clusters");
    o.links = links;
    o.n_maps = 0;
    expect_error(&o, DL_EUSAGE, 0, 0, "no SLF map");
    o = hand_opts();
    o.links = links;
    o.truth_from = DL_EVAL_TRUTH_FEBRL;
    expect_error(&o, DL_EUSAGE, 0, 0, "both");
    o.truth_from = DL_EVAL_TRUTH_FILE;
    o.truth = NULL;
    expect_error(&o, DL_EUSAGE, 0, 0, "no truth");
}

/* ---- the command ---------------------------------------------------------------- */

Test(evaluate, cli_prints_summary_and_writes_json)
{
    char *dir = tu_tmpdir();
    char *rep = tu_join(dir, "eval.json");
    char *out = NULL, *err = NULL;
    const char *av[] = {"evaluate", "--truth", truth, "--map", maps_ab[0], "-m", maps_ab[1],
                        "--links", links, "--review", review, "--clusters", clusters,
                        "-o", rep, NULL};
    cr_assert_eq(tu_dolen(av, &out, &err), 0, "stderr: %s", err);
    cr_assert(strstr(out, "7 records in 2 datasets, 4 persons, 4 true pairs"), "%s", out);
    cr_assert(strstr(out, "B-cubed"), "%s", out);
    char *json = tu_read(rep, NULL);
    cr_assert_not_null(json);
    cr_assert(strstr(json, "\"true_pairs\": 4"), "%s", json);
    free(json);
    free(out);
    free(err);
    tu_rmtree(dir);
    free(rep);
    free(dir);
}

Test(evaluate, cli_usage_and_input_errors)
{
    char *err = NULL;
    const char *av1[] = {"evaluate", "--map", maps_ab[0], "--links", links, NULL};
    cr_assert_eq(tu_dolen(av1, NULL, &err), 1);
    cr_assert(strstr(err, "no truth"), "%s", err);
    cr_assert(strstr(err, "see 'dolen evaluate --help'"), "%s", err);
    free(err);
    const char *av2[] = {"evaluate", "--truth-from-ids", "ferbl", "--map", maps_ab[0],
                         "--links", links, NULL};
    cr_assert_eq(tu_dolen(av2, NULL, &err), 1);
    cr_assert(strstr(err, "expected febrl"), "%s", err);
    free(err);
    const char *av3[] = {"evaluate", "--truth", "/nonexistent/truth.csv", "--map", maps_ab[0],
                         "--links", links, NULL};
    cr_assert_eq(tu_dolen(av3, NULL, &err), 2);
    cr_assert(strstr(err, "dolen: /nonexistent/truth.csv"), "%s", err);
    free(err);
    const char *av4[] = {"evaluate", "--truth", truth, "--map", truth, "--links", links, NULL};
    cr_assert_eq(tu_dolen(av4, NULL, &err), 1);
    cr_assert(strstr(err, "NAME.slfmap.csv.gz"), "%s", err);
    free(err);
}
