/* cmd_extract.c: `dolen extract`, the data bank's anonymised linked extracts.
 * Part of cli/; parses options, loads the project key, runs dl_extract_run(),
 * prints the per-dataset summary and the published overlap table. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dolen/extract.h"
#include "dolen/key.h"
#include "dolen/outfile.h"

const char dl_help_extract[] =
    "usage: dolen extract -c LINKDIR/clusters.csv.gz -k project.key -o OUTDIR [options]\n"
    "                     A.content.csv.gz [B.content.csv.gz ...]\n"
    "Make anonymised linked extracts for one research project. Each content file is\n"
    "joined to the clusters by SLF; the SLF is removed and the ALF replaced by ALF_E, a\n"
    "keyed hash under the project key (another project's key gives unrelated values).\n"
    "Before reading a row, the manifests prove the clusters come from the linkage run\n"
    "of these content files: link.manifest.json, links.csv.gz and review.csv.gz must be\n"
    "beside the clusters, NAME.manifest.json beside each content file.\n"
    "Writes into OUTDIR, only when every cell has passed the leak check (no SLF, ALF,\n"
    "token or identifying value of the inputs):\n"
    "  NAME.extract.csv.gz    ALF_E, ALF_MTCH_PCT (6 decimals), ALF_STS, content columns;\n"
    "                         every content row, unlinked ones with an empty ALF_E\n"
    "  overlap.csv/.json      people in each combination of datasets, small cells\n"
    "                         suppressed and the rest rounded\n"
    "  extract.manifest.json  SHA-256 of every file, project key fingerprint, the link\n"
    "                         run's manifest hash, row accounting\n"
    "ALF_STS: 0 unlinked, 1 linked with exact agreement on the spec's first comparison,\n"
    "         2 linked probabilistically, 3 in the review band only (docs/extract.md)\n"
    "options:\n"
    "  -c, --clusters FILE     clusters.csv.gz of the linkage run\n"
    "  -k, --key FILE          the project key (dolen keygen; mode 0600)\n"
    "  -o, --out DIR           output folder (created if missing)\n"
    "  --coarsen COL=UNIT      write date column COL as its week (the Monday), month or\n"
    "                          year; UNIT is week, month or year (repeatable)\n"
    "  --drop COL              leave column COL out (repeatable)\n"
    "  --identifying COL       COL holds clear identifiers: leave it out and fail the run\n"
    "                          if any of its values appears in any output cell\n"
    "                          (repeatable)\n"
    "  --ids FILE              an ids file of the run: the leak check also looks for its\n"
    "                          tokens (repeatable; without it, SLFs, ALFs and identifying\n"
    "                          values only)\n"
    "  --min-cell N            counts from 1 to N-1 are suppressed (default 10; 0: none)\n"
    "  --round N               other counts to the nearest N (default 5; 1: exact)\n"
    "  --suppress-zero         suppress counts of 0 too\n"
    "  -q, --quiet             print nothing but errors\n"
    "examples:\n"
    "  dolen extract -c linked/clusters.csv.gz -k project.key -o extract \\\n"
    "      prepared/gp.content.csv.gz prepared/la_carers.content.csv.gz\n"
    "  dolen extract -c linked/clusters.csv.gz -k project.key -o extract \\\n"
    "      --coarsen week_of_birth=month --identifying address --min-cell 5 \\\n"
    "      prepared/*.content.csv.gz\n"
    "exit: 0 done (warnings on stderr and in the manifest), 1 usage error, 2 bad key or\n"
    "      inputs (another run's clusters, duplicate SLFs, a leak-check hit), 3 internal\n"
    "      or I/O failure\n";

#define MAX_COLS 256

static const dl_cli_opt opts[] = {
    {"clusters", 'c', true},   {"key", 'k', true},          {"out", 'o', true},
    {"coarsen", 0, true},      {"drop", 0, true},           {"identifying", 0, true},
    {"ids", 0, true},          {"min-cell", 0, true},       {"round", 0, true},
    {"suppress-zero", 0, false}, {"quiet", 'q', false},     {NULL, 0, false},
};

static void print_table(const dl_extract_result *r, const dl_sdc_rule *rule)
{
    printf("people by the datasets they appear in (x: in it; counts below %llu suppressed, "
           "others rounded to %llu):\n",
           (unsigned long long)(rule->min_cell > 1 ? rule->min_cell : 1),
           (unsigned long long)(rule->round > 1 ? rule->round : 1));
    for (size_t d = 0; d < r->n_datasets; d++)
        printf("  %s", r->datasets[d].name);
    printf("  people\n");
    for (size_t i = 0; i < r->n_combos; i++) {
        for (size_t d = 0; d < r->n_datasets; d++)
            printf("  %*s", (int)strlen(r->datasets[d].name), ((i + 1) >> d & 1) ? "x" : ".");
        if (r->suppressed[i])
            printf("  <%llu\n", (unsigned long long)(rule->min_cell > 1 ? rule->min_cell : 1));
        else
            printf("  %llu\n", (unsigned long long)r->shown[i]);
    }
}

int dl_cmd_extract(int argc, char **argv)
{
    static dl_cli_state st = DL_CLI_STATE_INIT;
    static const char *coarsen_cols[MAX_COLS], *drop[MAX_COLS], *ident[MAX_COLS],
        *ids[MAX_COLS];
    static char coarsen_buf[MAX_COLS][128];
    static dl_coarsen coarsen[MAX_COLS];
    dl_extract_opts o = DL_EXTRACT_OPTS_INIT;
    const char *key_path = NULL, *arg;
    unsigned long long v;
    size_t nc = 0, nd = 0, ni = 0, nids = 0;
    int i;
    while ((i = dl_cli_getopt("extract", argc, argv, opts, &st, &arg)) != -1) {
        switch (i) {
        case 0:
            o.clusters = arg;
            break;
        case 1:
            key_path = arg;
            break;
        case 2:
            o.outdir = arg;
            break;
        case 3: {
            const char *eq = strchr(arg, '=');
            if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof coarsen_buf[0])
                return dl_cli_usage_error("extract", "--coarsen needs COLUMN=week|month|year, "
                                                     "not '%s'",
                                          arg);
            if (!dl_coarsen_parse(eq + 1, &coarsen[nc]) || coarsen[nc] == DL_COARSEN_NONE)
                return dl_cli_usage_error("extract",
                                          "--coarsen %s: unit must be week, month or year",
                                          arg);
            if (nc == MAX_COLS)
                return dl_cli_usage_error("extract", "too many --coarsen options");
            memcpy(coarsen_buf[nc], arg, (size_t)(eq - arg));
            coarsen_buf[nc][eq - arg] = '\0';
            coarsen_cols[nc] = coarsen_buf[nc];
            nc++;
            break;
        }
        case 4:
        case 5:
        case 6: {
            const char **list = i == 4 ? drop : i == 5 ? ident : ids;
            size_t *n = i == 4 ? &nd : i == 5 ? &ni : &nids;
            if (*n == MAX_COLS)
                return dl_cli_usage_error("extract", "too many --%s options", opts[i].name);
            list[(*n)++] = arg;
            break;
        }
        case 7:
            if (!dl_cli_parse_uint("extract", "min-cell", arg, 0, 1000000000, &v))
                return DL_EXIT_USAGE;
            o.sdc.min_cell = v;
            break;
        case 8:
            if (!dl_cli_parse_uint("extract", "round", arg, 1, 1000000000, &v))
                return DL_EXIT_USAGE;
            o.sdc.round = v;
            break;
        case 9:
            o.sdc.suppress_zero = true;
            break;
        case 10:
            dl_cli_quiet = true;
            break;
        default:
            return DL_EXIT_USAGE;
        }
    }
    if (!o.clusters)
        return dl_cli_usage_error("extract", "no clusters file (-c LINKDIR/clusters.csv.gz)");
    if (!key_path)
        return dl_cli_usage_error("extract", "no project key (-k FILE)");
    if (!o.outdir)
        return dl_cli_usage_error("extract", "no output folder (-o DIR)");
    if (st.n_operands == 0)
        return dl_cli_usage_error("extract", "no content files");
    if (st.n_operands > DL_EXTRACT_MAX_FILES)
        return dl_cli_usage_error("extract", "%d content files (at most %d)", st.n_operands,
                                  DL_EXTRACT_MAX_FILES);
    o.n_content = (size_t)st.n_operands;
    o.content = (const char *const *)st.operands;
    o.n_coarsen = nc, o.coarsen_columns = coarsen_cols, o.coarsen = coarsen;
    o.n_drop = nd, o.drop = drop;
    o.n_identifying = ni, o.identifying = ident;
    o.n_ids = nids, o.ids = ids;

    dl_error err = DL_ERROR_INIT;
    dl_key *key = NULL;
    if (dl_key_load(key_path, &key, &err) != DL_OK)
        return dl_cli_fail(&err);
    o.project_key = key;
    dl_outfile_cleanup_on_signals();
    dl_extract_result *r = NULL;
    dl_status s = dl_extract_run(&o, &r, &err);
    dl_key_free(key);
    if (s != DL_OK)
        return dl_cli_fail(&err);
    if (!dl_cli_quiet) {
        for (size_t w = 0; w < r->n_warnings; w++)
            dl_cli_warn("%s", r->warnings[w]);
        for (size_t d = 0; d < r->n_datasets; d++) {
            const dl_extract_dataset *x = &r->datasets[d];
            fprintf(stderr,
                    "extract: %s: %llu rows in, %llu out: %llu linked exactly, %llu "
                    "probabilistically, %llu review, %llu unlinked\n",
                    x->name, (unsigned long long)x->rows_in, (unsigned long long)x->rows_out,
                    (unsigned long long)x->status[DL_ALF_STS_EXACT],
                    (unsigned long long)x->status[DL_ALF_STS_PROB],
                    (unsigned long long)x->status[DL_ALF_STS_REVIEW],
                    (unsigned long long)x->status[DL_ALF_STS_UNLINKED]);
        }
        fprintf(stderr,
                "extract: leak check passed (%llu cells); project key %s; link manifest "
                "%.12s...\n",
                (unsigned long long)r->cells_checked, r->project_fingerprint,
                r->link_manifest_sha256);
        print_table(r, &o.sdc);
    }
    dl_extract_result_free(r);
    return DL_EXIT_OK;
}
