/* outdir.c - the output folder before a run: created, probed by writing
 * and removing a file (a file in its place, a read-only or full disk is
 * found before the first evaluation, not when the search ends), and swept
 * of the temporary files a killed run left behind: the NAME.tmp.XXXXXX of
 * an atomic write, the NAME.tmp of an unfinished output set (search_save.c)
 * and a checkpoint.tmp/ folder. Only names the run itself writes are
 * touched; other files in the folder are left alone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

const char *const qdi_output_files[] = {"archive.json", "archive.csv", "metrics.csv",    "heatmap.svg",
                                        "report.html",  "llm.json",    "failures.jsonl", NULL};

/* Nonzero if name is NAME.tmp or NAME.tmp.XXXXXX (six characters) of an output. */
static int leftover_name(const char *name)
{
    for (const char *const *f = qdi_output_files; *f; f++) {
        size_t n = strlen(*f);
        if (strncmp(name, *f, n) != 0 || strncmp(name + n, ".tmp", 4) != 0)
            continue;
        if (name[n + 4] == '\0' || (name[n + 4] == '.' && strlen(name + n + 5) == 6))
            return 1;
    }
    return 0;
}

static size_t sweep(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat st;
    char path[4096];
    size_t removed = 0;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISREG(st.st_mode) && leftover_name(e->d_name) && unlink(path) == 0)
            removed++;
        else if (S_ISDIR(st.st_mode) && strcmp(e->d_name, "checkpoint.tmp") == 0) {
            qdi_remove_dir(path);
            removed++;
        }
    }
    closedir(d);
    return removed;
}

int qd_output_prepare(const char *dir, size_t *removed, char *err, size_t errlen)
{
    size_t n = strlen(dir) + 32;
    char *probe = malloc(n), why[1024];
    int rc, fd;
    if (removed)
        *removed = 0;
    if (!probe) {
        qdi_set_error(err, errlen, "%s: out of memory", dir);
        return QD_ENOMEM;
    }
    if ((rc = qdi_mkdir_p(dir, why, sizeof why))) {
        qdi_set_error(err, errlen, "output folder %s cannot be used: %s", dir, why);
        free(probe);
        return rc;
    }
    snprintf(probe, n, "%s/.elites-probe-XXXXXX", dir);
    fd = mkstemp(probe);
    if (fd < 0 || write(fd, "probe\n", 6) != 6 || fsync(fd) != 0) {
        int e = errno;
        qdi_set_error(err, errlen, "output folder %s cannot be written: %s", dir, strerror(e));
        if (fd >= 0) {
            close(fd);
            unlink(probe);
        }
        free(probe);
        return e == ENOSPC || e == EDQUOT ? QD_ENOSPC : QD_EIO;
    }
    close(fd);
    if (unlink(probe) != 0) {
        qdi_set_error(err, errlen, "output folder %s: cannot remove the probe file %s: %s", dir, probe,
                      strerror(errno));
        free(probe);
        return QD_EIO;
    }
    free(probe);
    n = sweep(dir);
    if (removed)
        *removed = n;
    return QD_OK;
}
