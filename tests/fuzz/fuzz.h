/* fuzz.h - what the libFuzzer targets share: one-time set-up (the library's
 * global init, notes silenced, a private temp folder as the working folder,
 * removed at exit), the input as a C string, files written from input, and
 * a filter that keeps a fuzzed config from reaching outside that folder. */
#ifndef ELITES_FUZZ_H
#define ELITES_FUZZ_H

#define _GNU_SOURCE
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "src/internal.h"

static char fuzz_dir[64];

static inline int fuzz_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static inline void fuzz_cleanup(void)
{
    if (fuzz_dir[0] && chdir("/") == 0)
        nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fuzz_quiet(void *ctx, const char *line)
{
    (void)ctx, (void)line;
}

/* Global init, silent notes, and a fresh temp folder as working folder. */
static inline void fuzz_setup(void)
{
    snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/elites-fuzz-XXXXXX");
    if (!mkdtemp(fuzz_dir) || chdir(fuzz_dir) != 0) {
        perror("fuzz: temp folder");
        exit(1);
    }
    atexit(fuzz_cleanup);
    qd_global_init();
    qd_set_log_handler(fuzz_quiet, NULL);
}

/* The input as a NUL-terminated malloc'd string (the caller frees it). */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        exit(1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Writes size bytes to path (relative to the temp folder). */
static inline void fuzz_write(const char *path, const void *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, size, fp) != size || fclose(fp) != 0) {
        perror(path);
        exit(1);
    }
}

/* Splits [data, data + size) at the first occurrence of sep: the part
 * before it in *a, the rest in *b (empty when sep is absent). */
static inline void fuzz_split(const uint8_t *data, size_t size, const char *sep, const uint8_t **a, size_t *na,
                       const uint8_t **b, size_t *nb)
{
    size_t ls = strlen(sep);
    *a = data;
    *na = size;
    *b = data + size;
    *nb = 0;
    for (size_t i = 0; i + ls <= size; i++)
        if (memcmp(data + i, sep, ls) == 0) {
            *na = i;
            *b = data + i + ls;
            *nb = size - i - ls;
            return;
        }
}

/* Nonzero when no string in a config names a path outside the temp folder
 * (absolute, "..", "~") or a program other than "true" / "cat", so that
 * building the search can only create files here and run nothing harmful,
 * and no CVT archive needs a k-means over more than 5,000 samples.
 * URLs are let through: nothing is requested while a search is built. */
static inline int fuzz_config_safe(const cJSON *j, const char *key)
{
    const cJSON *e, *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (cJSON_IsObject(j) && cJSON_IsString(type) && strcmp(type->valuestring, "cvt") == 0) {
        /* a CVT's k-means (100,000 samples by default) takes seconds under
         * ASan: valid, but it would stall the fuzzer; keep it small */
        const cJSON *samples = cJSON_GetObjectItemCaseSensitive(j, "samples");
        if (!cJSON_IsNumber(samples) || samples->valuedouble > 5000)
            return 0;
    }
    if (cJSON_IsString(j)) {
        const char *s = j->valuestring;
        if (key && (strcmp(key, "url") == 0 || strcmp(key, "urls") == 0))
            return 1;
        return s[0] != '/' && s[0] != '~' && !strstr(s, "..");
    }
    cJSON_ArrayForEach(e, j) {
        const char *k = cJSON_IsArray(j) ? key : e->string;
        if (k && (strcmp(k, "command") == 0 || strcmp(k, "argv") == 0)) {
            const cJSON *p = cJSON_IsArray(e) ? e->child : e;
            if (!cJSON_IsString(p) || (strcmp(p->valuestring, "true") && strcmp(p->valuestring, "cat")))
                return 0;
        }
        if (!fuzz_config_safe(e, k))
            return 0;
    }
    return 1;
}

#endif
