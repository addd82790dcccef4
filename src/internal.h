/* internal.h - helpers shared between libelites' files but not exported
 * (the qdi_ prefix; the installed library exports only ^qd_ symbols). */
#ifndef ELITES_INTERNAL_H
#define ELITES_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include "elites.h"

#define QDI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Formats v in the fewest significant digits that read back (strtod) as v
 * exactly, the nearest such decimal to v (src/dtoa_short.c), laid out as
 * printf's %.15g (up to 15 digits) or %.17g (16, 17) would; "nan", "inf",
 * "-inf" for non-finite values. buf needs 32 bytes. */
char *qdi_format_double(char *buf, double v);
/* The same as qdi_format_double; returns the length written (without the
 * terminating NUL, which it writes). */
size_t qdi_dtoa(char *buf, double v);
/* The shortest round-trip decimal of finite v: |v| = f 10^e, f without
 * trailing zeros (f = 0, e = 0 for zeros); -1 for inf and nan. */
int qdi_dtoa_digits(double v, uint64_t *f, int *e);
/* The same text as snprintf(buf, 32, "%.*g", prec, v) (prec up to 17), and
 * as "%.*f" with `decimals` places (0 to 17; buf QDI_FORMAT_F_MAX bytes, the
 * longest "%.17f" fits), without printf's cost for most values
 * (src/dtoa_printf.c: outputs of up to 14 significant digits, the rest
 * through snprintf); they return the length written. */
#define QDI_FORMAT_F_MAX 352
size_t qdi_format_g(char *buf, double v, int prec);
size_t qdi_format_f(char *buf, double v, int decimals);
/* printf's "%a" of v (glibc's text: "0x1.8p+1", "0x0p+0", "-0x0.0000000000001p-1022")
 * without printf; buf needs 32 bytes. Returns the length. */
size_t qdi_format_a(char *buf, double v);

/* Exact doubles in JSON (checkpoints): a number item printed as
 * qdi_format_double does (cJSON's own printing accepts a last digit that is
 * one ulp off), or the string "nan", "inf", "-inf". NULL when out of memory. */
cJSON *qdi_json_double(double v);
/* An array of n exact doubles (as qdi_json_double). */
cJSON *qdi_json_doubles(const double *v, size_t n);
/* Reads a number written by qdi_json_double (printed and parsed, or still
 * in memory); QD_EFORMAT if item is not one. */
int qdi_json_get_double(const cJSON *item, double *v);
/* Reads an array of exactly n numbers into v; QD_EFORMAT otherwise (v may
 * be partly written). */
int qdi_json_get_doubles(const cJSON *array, double *v, size_t n);
/* Nonzero when item is a number and a whole one in [lo, hi]: what a count
 * or a size read from a file must be checked to be before it is cast to an
 * integer type (a cast of an out-of-range double is undefined). */
int qdi_json_is_whole(const cJSON *item, double lo, double hi);
/* 2^53: the largest count a double holds with every smaller one exact. */
#define QDI_JSON_COUNT_MAX 9007199254740992.0

/* Frees the text of a's elites that its JSON and CSV writers keep for each
 * other (archive/elite_text.c; rebuilt by the next writer that needs it). */
void qdi_archive_drop_text(const qd_archive *a);
/* Lets a's writers use up to n threads (qdi_parallel_for) for the work of a
 * save; 0 or 1 (the default) keeps them on the caller's. Results do not
 * depend on it. */
void qdi_archive_set_threads(qd_archive *a, size_t n);
/* A uniformly drawn elite's genome, as qd_archive_sample then
 * qd_archive_elite would give it from the same draw of rng, without
 * reading the elite's other fields (a mutator's ask: each is a cache miss);
 * NULL when the archive is empty or holds no real genomes. Points into the
 * archive: valid until its next change. */
const double *qdi_archive_sample_x(const qd_archive *a, gsl_rng *rng);
/* Formats a's elites' text now if it is not current, and keeps writers
 * from building or dropping it until qdi_archive_drop_text: writers on
 * several threads may then read a at once (without the text, when it
 * could not be kept, each formats its elites itself). */
void qdi_archive_freeze_text(const qd_archive *a);

/* printf into a fixed buffer, always terminated. */
void qdi_set_error(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void qdi_vset_error(char *buf, size_t len, const char *fmt, va_list ap);

/* A file written to "<path>.tmp.XXXXXX" and renamed over path on commit, so
 * a reader never sees a half-written file. */
typedef struct qdi_atomic_file {
    FILE *fp; /* closing it closes fd */
    int fd;
    char *path;
    char *tmp;
    char *buf; /* fp's buffer */
} qdi_atomic_file;

/* Opens the temp file next to path. Write errors of the atomic-file
 * functions return QD_ENOSPC when the disk or quota is full, else QD_EIO. */
int qdi_atomic_open(qdi_atomic_file *f, const char *path, char *err, size_t errlen);
/* Flushes, fsyncs and renames; on any error removes the temp file. */
int qdi_atomic_commit(qdi_atomic_file *f, char *err, size_t errlen);
/* Removes the temp file (after an error). Safe after commit. */
void qdi_atomic_abort(qdi_atomic_file *f);
/* Writes n in decimal to fp, as fprintf's "%llu" or "%zu" (without its
 * cost: the writers print a few per elite and per metrics row). */
void qdi_put_u64(FILE *fp, uint64_t n);
/* Writes a whole string atomically. */
int qdi_write_file_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen);
/* Reads a whole file; the caller frees *out. */
int qdi_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen);
/* mkdir -p. */
int qdi_mkdir_p(const char *path, char *err, size_t errlen);
/* fsyncs a folder (its entries: renames made durable); -1 on error. */
int qdi_fsync_dir(const char *dir);
/* Removes a folder and the files in it (no subfolders); errors ignored. */
void qdi_remove_dir(const char *dir);
/* The output files a run writes into its folder (NULL-terminated). */
extern const char *const qdi_output_files[];

/* Copies url into out (len bytes) with any user:password@ replaced by
 * "[redacted]@": what logs and shared files show of a URL. */
void qdi_redact_url(char *out, size_t len, const char *url);
/* A deep copy of a config tree with every URL's credentials redacted (and
 * any "api_key" value), for the files a run writes; the caller owns it;
 * NULL when out of memory. */
cJSON *qdi_redacted_copy(const cJSON *config);
/* The LLM client's server URLs, redacted and comma-separated, into out
 * (len bytes): what a message about failing requests names (llm.c). */
void qdi_llm_shown_urls(const qd_llm *llm, char *out, size_t len);

/* UTF-8 (utf8.c). 1 if text is valid UTF-8, else 0 and *bad (may be
 * NULL) the offset of the first invalid byte. */
int qdi_utf8_valid(const char *text, size_t *bad);
/* A copy of text with each invalid byte replaced by U+FFFD; the caller
 * frees it; NULL when out of memory. */
char *qdi_utf8_fix(const char *text);
/* Replaces the malloc'd *text by its fixed copy when it is not valid. */
int qdi_utf8_sanitize(char **text);
/* The same in a fixed buffer of len bytes (the end cut if it grows). */
void qdi_utf8_sanitize_buf(char *buf, size_t len);

/* Runs fn(arg, i) once for every i in [0, n) on up to nthreads threads
 * (QDI_PARALLEL_MAX at most), the caller one of them, and returns when all
 * have run; nthreads 0 or 1 runs them in order on the caller. Pieces must
 * not depend on each other's order. */
#define QDI_PARALLEL_MAX 16
void qdi_parallel_for(size_t n, size_t nthreads, void (*fn)(void *arg, size_t i), void *arg);

/* Seconds on CLOCK_MONOTONIC: the clock of qd_worker.deadline, job
 * timeouts, grace periods and latencies. */
double qdi_now(void);

/* A 64-bit seed derived from a run seed and a stream number (splitmix64). */
uint64_t qdi_seed_mix(uint64_t seed, uint64_t stream);
/* Reseeds a GSL RNG from a 64-bit seed (mt19937 takes 32 bits: folded;
 * xoshiro256++ all 64, through splitmix64). */
void qdi_rng_seed(gsl_rng *rng, uint64_t seed);
/* Reads the run's "rng" key: "mt19937" (default) or "xoshiro256++". */
int qdi_rng_read(qd_config *cfg, const gsl_rng_type **type);
/* One standard normal by the ziggurat (ziggurat.c) from a xoshiro256++
 * state; the solved constants r and v of its 128 layers. */
double qdi_ziggurat(uint64_t s[4]);
void qdi_ziggurat_constants(double *r, double *v);

/* Places an elite directly into a cell with a given threshold (loading). */
int qdi_archive_restore(qd_archive *a, size_t cell, const qd_solution *sol, double threshold);

/* Writes an archive's SVG heatmap to fp (fp NULL: only checks the options);
 * name is the file named in error messages. */
int qdi_heatmap_write(FILE *fp, const qd_archive *a, const qd_heatmap_options *opt, const char *name, char *err,
                      size_t errlen);
/* A growable string (strbuf.c): start it as {0}; the caller frees s. After
 * a failed allocation `failed` is set and further appends do nothing. */
typedef struct qdi_strbuf {
    char *s;
    size_t len, cap;
    int failed;
} qdi_strbuf;
/* Appends s (copied) to b. */
void qdi_strbuf_put(qdi_strbuf *b, const char *s);

/* The heatmap's colour scale for an archive: the options' vmin/vmax where
 * set, else the elites' objectives, bounded by the objective range. */
void qdi_heatmap_color_range(const qd_archive *a, const qd_heatmap_options *o, double *vmin, double *vmax);
/* The CVT centroids (cells * m, malloc'd, the caller frees) from the
 * archive's description, or NULL (not a CVT archive, or no memory). */
double *qdi_heatmap_centroids(const qd_archive *a);
/* The heatmap's axes as JSON, one object per measure: {"edges": [...],
 * "uniform": bool} for a grid, {"lo", "hi"} otherwise; the caller owns it
 * (NULL when out of memory or a grid has no bins). */
cJSON *qdi_heatmap_axes_json(const qd_archive *a);
/* Expands a prompt template: "{name}" becomes the value of the field of that
 * name (n names and values), "{{" and "}}" braces. *out is malloc'd. An
 * unknown field or a lone "{" is QD_EINVAL with the reason in err. */
int qdi_template_expand(const char *tmpl, const char *const *names, const char *const *values, size_t n, char **out,
                        char *err, size_t errlen);

/* A string or a list of at least min strings at key (an absent key is an
 * error when required, else *out is NULL with *n 0). *out is a malloc'd,
 * NULL-terminated copy (qdi_strings_free). */
int qdi_config_strings(qd_config *cfg, const char *key, int required, size_t min, char ***out, size_t *n);
/* Frees a NULL-terminated string list. Accepts NULL. */
void qdi_strings_free(char **list);

/* Sends one line to the log handler (qd_set_log_handler). */
void qdi_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes s (NULL: nothing) with XML's special characters escaped, for SVG
 * and HTML text and attribute values. */
void qdi_xml_text(FILE *fp, const char *s);

/* Writes a CSV field, quoted when it holds a comma, quote or newline. */
void qdi_csv_field(FILE *fp, const char *s);

/* Built-in plug-in tables. */
extern const qd_archive_type qdi_archive_grid;
extern const qd_archive_type qdi_archive_cvt;
extern const qd_mutator_type qdi_mutator_gaussian;
extern const qd_mutator_type qdi_mutator_isoline;
extern const qd_mutator_type qdi_mutator_cmaes;
extern const qd_evaluator_type qdi_evaluator_sphere;
extern const qd_evaluator_type qdi_evaluator_rastrigin;
extern const qd_evaluator_type qdi_evaluator_arm;
extern const qd_evaluator_type qdi_evaluator_qdhf;
extern const qd_mutator_type qdi_mutator_llm;
extern const qd_mutator_type qdi_mutator_network;
extern const qd_mutator_type qdi_mutator_llmatic;
extern const qd_evaluator_type qdi_evaluator_ai_feedback;
extern const qd_evaluator_type qdi_evaluator_command;
extern const qd_evaluator_type qdi_evaluator_nas;

/* Builds a mutator or evaluator that may use the search's LLM client (llm
 * may be NULL); qd_mutator_new / qd_evaluator_new pass NULL (and seed 1
 * for the evaluator's ev->seed). The mutator's stream is of rng_type (NULL:
 * mt19937). */
int qdi_mutator_new(qd_config *cfg, const qd_space *space, size_t index, uint64_t seed, qd_llm *llm,
                    const gsl_rng_type *rng_type, qd_mutator **out);
int qdi_evaluator_new(qd_config *cfg, qd_llm *llm, uint64_t seed, qd_evaluator **out);

#endif
