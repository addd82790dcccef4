/* nas_lang.c - the network language of LLMatic-style architecture search
 * (Nasir et al. 2023, "LLMatic: Neural Architecture Search via Large
 * Language Models and Quality Diversity Optimization"): one layer per line,
 * shapes inferred and checked line by line, parameters and FLOPs counted
 * statically, so a network an LLM wrote is rejected with the line and the
 * reason before any training starts.
 *
 * The parser is strict (every token known, every shape fitting); finding
 * the network in an LLM's reply is lenient (qdi_nas_extract skips code
 * fences and prose around it). FLOPs are 2 x the multiply-adds of conv and
 * dense layers (bias included) for one example; parameters are weights,
 * biases and batchnorm's gamma and beta (not its running statistics).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/nas.h"

const char qdi_nas_language[] =
    "A network is written one layer per line. The first line is \"input HxWxC\" (the shape of one "
    "example, e.g. \"input 8x8x1\"). Layers: \"conv F KxK [same] [act]\" (F filters, a KxK kernel, stride 1, "
    "no padding unless \"same\"), \"pool max S\" or \"pool avg S\" (SxS windows, stride S), \"flatten\" "
    "(HxWxC to a vector; needed before dense after conv or pool), \"dense N [act]\" (N units), \"dropout P\" "
    "(0 <= P < 1), \"batchnorm\", and \"residual begin\" ... \"residual end\" (adds the block's input to its "
    "output; both must have the same shape). act is relu, tanh, sigmoid or none (the default). The last line "
    "is \"dense K softmax\" with K the number of classes. Lines starting with # are comments.";

static const char *const kind_names[] = {"input", "conv", "pool", "flatten", "dense",
                                         "dropout", "batchnorm", "residual begin", "residual end"};
static const char *const act_names[] = {"none", "relu", "tanh", "sigmoid", "softmax"};

const char *qdi_nas_act_name(qdi_nas_act a)
{
    return act_names[a];
}

char *qdi_nas_shape_text(qdi_nas_shape s, char *buf)
{
    if (s.flat)
        snprintf(buf, 48, "%d", s.c);
    else
        snprintf(buf, 48, "%dx%dx%d", s.h, s.w, s.c);
    return buf;
}

size_t qdi_nas_shape_size(qdi_nas_shape s)
{
    return (size_t)s.h * (size_t)s.w * (size_t)s.c;
}

void qdi_nas_free(qdi_nas_net *net)
{
    if (!net)
        return;
    free(net->layers);
    net->layers = NULL;
    net->n = 0;
}

/* ---- tokens -------------------------------------------------------------- */

#define MAX_TOKENS 8

/* Splits a line (comment cut) into at most MAX_TOKENS words; returns the
 * count, or MAX_TOKENS + 1 when there are more. */
static int split(char *line, char **tok)
{
    int n = 0;
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    for (char *p = line; *p;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        if (n == MAX_TOKENS)
            return MAX_TOKENS + 1;
        tok[n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static int parse_int(const char *s, int lo, int hi, int *v)
{
    char *end;
    long x;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    x = strtol(s, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return -1;
    *v = (int)x;
    return 0;
}

/* "8x8x1" (3 numbers) or "3x3" (2) or "3" (1, when allowed). */
static int parse_dims(const char *s, int want, int *d)
{
    char tmp[64], *p, *save = NULL;
    int n = 0;
    if (strlen(s) >= sizeof tmp)
        return -1;
    strcpy(tmp, s);
    for (p = strtok_r(tmp, "x", &save); p; p = strtok_r(NULL, "x", &save)) {
        if (n == want || parse_int(p, 1, QDI_NAS_MAX_UNITS, &d[n]))
            return -1;
        n++;
    }
    if (s[0] == 'x' || s[strlen(s) - 1] == 'x' || strstr(s, "xx"))
        return -1;
    return n;
}

static int parse_act(const char *s, qdi_nas_act *a)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, act_names[i]) == 0) {
            *a = (qdi_nas_act)i;
            return 0;
        }
    return -1;
}

#define FAIL(...)                                   \
    do {                                            \
        qdi_set_error(err, errlen, __VA_ARGS__);    \
        return QD_EINVAL;                           \
    } while (0)

/* One line's tokens into a layer (no shapes yet). */
static int parse_layer(char **tok, int n, int line, qdi_nas_layer *L, char *err, size_t errlen)
{
    const char *k = tok[0];
    int d[3], nd, i = 1, pad = 0, has_act = 0;
    memset(L, 0, sizeof *L);
    L->line = line;
    L->partner = -1;
    if (strcmp(k, "input") == 0) {
        L->kind = QDI_NAS_INPUT;
        if (n < 2 || (nd = parse_dims(tok[1], 3, d)) < 0 || nd == 2)
            FAIL("line %d: input takes a shape HxWxC or a size N, got \"%s\"", line, n < 2 ? "" : tok[1]);
        L->out = nd == 3 ? (qdi_nas_shape){d[0], d[1], d[2], 0} : (qdi_nas_shape){1, 1, d[0], 1};
        i = 2;
    } else if (strcmp(k, "conv") == 0) {
        L->kind = QDI_NAS_CONV;
        if (n < 3 || parse_int(tok[1], 1, QDI_NAS_MAX_UNITS, &L->units))
            FAIL("line %d: conv takes a number of filters (1 to %d) and a kernel KxK, e.g. \"conv 16 3x3 relu\"", line,
                 QDI_NAS_MAX_UNITS);
        if ((nd = parse_dims(tok[2], 2, d)) < 1 || d[0] > 32 || (nd == 2 && d[1] > 32))
            FAIL("line %d: conv kernel \"%s\" is not KxK (1 to 32)", line, tok[2]);
        L->kh = d[0];
        L->kw = nd == 2 ? d[1] : d[0];
        for (i = 3; i < n; i++) {
            qdi_nas_act act;
            if ((strcmp(tok[i], "same") == 0 || strcmp(tok[i], "valid") == 0) && !pad) {
                L->same = tok[i][0] == 's';
                pad = 1;
            } else if (!has_act && parse_act(tok[i], &act) == 0) {
                L->act = act;
                has_act = 1;
            } else {
                FAIL("line %d: conv: unexpected \"%s\" (same, valid, relu, tanh, sigmoid, none)", line, tok[i]);
            }
        }
    } else if (strcmp(k, "pool") == 0) {
        L->kind = QDI_NAS_POOL;
        if (n < 3 || (strcmp(tok[1], "max") && strcmp(tok[1], "avg")) || parse_int(tok[2], 1, 32, &L->pool_size))
            FAIL("line %d: pool takes max or avg and a size, e.g. \"pool max 2\"", line);
        L->pool_max = strcmp(tok[1], "max") == 0;
        i = 3;
    } else if (strcmp(k, "flatten") == 0) {
        L->kind = QDI_NAS_FLATTEN;
    } else if (strcmp(k, "dense") == 0) {
        L->kind = QDI_NAS_DENSE;
        if (n < 2 || parse_int(tok[1], 1, QDI_NAS_MAX_UNITS, &L->units))
            FAIL("line %d: dense takes a number of units (1 to %d), e.g. \"dense 64 relu\"", line, QDI_NAS_MAX_UNITS);
        i = 2;
        if (n > 2) {
            if (parse_act(tok[2], &L->act))
                FAIL("line %d: unknown activation \"%s\" (relu, tanh, sigmoid, none, softmax)", line, tok[2]);
            i = 3;
        }
    } else if (strcmp(k, "dropout") == 0) {
        char *end;
        L->kind = QDI_NAS_DROPOUT;
        if (n < 2 || (L->rate = strtod(tok[1], &end), *end) || !(L->rate >= 0 && L->rate < 1))
            FAIL("line %d: dropout takes a probability 0 <= P < 1, got \"%s\"", line, n < 2 ? "" : tok[1]);
        i = 2;
    } else if (strcmp(k, "batchnorm") == 0) {
        L->kind = QDI_NAS_BATCHNORM;
    } else if (strcmp(k, "residual") == 0) {
        if (n < 2 || (strcmp(tok[1], "begin") && strcmp(tok[1], "end")))
            FAIL("line %d: residual takes begin or end", line);
        L->kind = strcmp(tok[1], "begin") == 0 ? QDI_NAS_RES_BEGIN : QDI_NAS_RES_END;
        i = 2;
    } else {
        FAIL("line %d: unknown layer \"%s\" (input, conv, pool, flatten, dense, dropout, batchnorm, residual)", line,
             k);
    }
    if (i < n)
        FAIL("line %d: unexpected \"%s\" after %s", line, tok[i], kind_names[L->kind]);
    return QD_OK;
}

int qdi_nas_parse(const char *text, qdi_nas_net *net, char *err, size_t errlen)
{
    char *copy, *line, *save = NULL, *tok[MAX_TOKENS];
    int lineno = 0, rc = QD_OK;
    size_t cap = 0;
    memset(net, 0, sizeof *net);
    if (!text || !(copy = strdup(text)))
        FAIL("no network text");
    /* strtok_r would merge empty lines and shift the numbers: walk by hand */
    for (line = copy; line && rc == QD_OK; line = save) {
        char *nl = strchr(line, '\n');
        int n;
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        if ((n = split(line, tok)) == 0)
            continue;
        if (n > MAX_TOKENS) {
            qdi_set_error(err, errlen, "line %d: too many words", lineno);
            rc = QD_EINVAL;
            break;
        }
        if (net->n == QDI_NAS_MAX_LAYERS) {
            qdi_set_error(err, errlen, "line %d: more than %d layers", lineno, QDI_NAS_MAX_LAYERS);
            rc = QD_EINVAL;
            break;
        }
        if (net->n == cap) {
            qdi_nas_layer *l = realloc(net->layers, (cap = cap ? 2 * cap : 16) * sizeof *l);
            if (!l) {
                rc = QD_ENOMEM;
                qdi_set_error(err, errlen, "out of memory");
                break;
            }
            net->layers = l;
        }
        rc = parse_layer(tok, n, lineno, &net->layers[net->n], err, errlen);
        if (rc == QD_OK)
            net->n++;
    }
    free(copy);
    if (rc == QD_OK && net->n == 0) {
        qdi_set_error(err, errlen, "empty network: no layer lines");
        rc = QD_EINVAL;
    }
    if (rc == QD_OK)
        rc = qdi_nas_check(net, err, errlen);
    if (rc != QD_OK)
        qdi_nas_free(net);
    return rc;
}

/* ---- shapes, parameters, FLOPs -------------------------------------------- */

/* The keyword of the layer that made a shape, for "dense after conv". */
static const char *maker(const qdi_nas_net *net, size_t i)
{
    while (i > 0 && (net->layers[i].kind == QDI_NAS_DROPOUT || net->layers[i].kind == QDI_NAS_BATCHNORM ||
                     net->layers[i].kind == QDI_NAS_RES_BEGIN || net->layers[i].kind == QDI_NAS_RES_END))
        i--;
    return kind_names[net->layers[i].kind];
}

int qdi_nas_check(qdi_nas_net *net, char *err, size_t errlen)
{
    int stack[QDI_NAS_MAX_LAYERS], top = 0;
    char a[48], b[48];
    qdi_nas_layer *last;
    net->params = net->flops = 0;
    net->depth = net->max_width = 0;
    if (net->n == 0)
        FAIL("empty network: no layer lines");
    if (net->layers[0].kind != QDI_NAS_INPUT)
        FAIL("line %d: a network starts with \"input HxWxC\", got %s", net->layers[0].line,
             kind_names[net->layers[0].kind]);
    net->layers[0].in = net->layers[0].out;
    for (size_t i = 1; i < net->n; i++) {
        qdi_nas_layer *L = &net->layers[i];
        qdi_nas_shape in = net->layers[i - 1].out, out = in;
        int line = L->line;
        L->in = in;
        L->params = L->flops = 0;
        switch (L->kind) {
        case QDI_NAS_INPUT:
            FAIL("line %d: a second input line (the first is line %d)", line, net->layers[0].line);
        case QDI_NAS_CONV:
            if (in.flat)
                FAIL("line %d: conv needs an HxWxC input: got %s (conv comes before flatten)", line,
                     qdi_nas_shape_text(in, a));
            if (!L->same && (L->kh > in.h || L->kw > in.w))
                FAIL("line %d: conv kernel %dx%d does not fit the input %s (add same, or use a smaller kernel)", line,
                     L->kh, L->kw, qdi_nas_shape_text(in, a));
            out = (qdi_nas_shape){L->same ? in.h : in.h - L->kh + 1, L->same ? in.w : in.w - L->kw + 1, L->units, 0};
            L->params = (long)L->kh * L->kw * in.c * L->units + L->units;
            L->flops = 2L * L->kh * L->kw * in.c * L->units * out.h * out.w;
            break;
        case QDI_NAS_POOL:
            if (in.flat)
                FAIL("line %d: pool needs an HxWxC input: got %s (pool comes before flatten)", line,
                     qdi_nas_shape_text(in, a));
            if (L->pool_size > in.h || L->pool_size > in.w)
                FAIL("line %d: pool %d does not fit the input %s", line, L->pool_size, qdi_nas_shape_text(in, a));
            out = (qdi_nas_shape){in.h / L->pool_size, in.w / L->pool_size, in.c, 0};
            break;
        case QDI_NAS_FLATTEN:
            if (in.flat)
                FAIL("line %d: flatten needs an HxWxC input: got %s (already flat)", line, qdi_nas_shape_text(in, a));
            out = (qdi_nas_shape){1, 1, in.h * in.w * in.c, 1};
            break;
        case QDI_NAS_DENSE:
            if (!in.flat)
                FAIL("line %d: dense after %s needs flatten: got %s", line, maker(net, i - 1),
                     qdi_nas_shape_text(in, a));
            out = (qdi_nas_shape){1, 1, L->units, 1};
            L->params = (long)in.c * L->units + L->units;
            L->flops = 2L * in.c * L->units;
            break;
        case QDI_NAS_DROPOUT:
            break;
        case QDI_NAS_BATCHNORM:
            L->params = 2L * in.c;
            break;
        case QDI_NAS_RES_BEGIN:
            stack[top++] = (int)i;
            break;
        case QDI_NAS_RES_END: {
            qdi_nas_layer *B;
            if (top == 0)
                FAIL("line %d: residual end without residual begin", line);
            B = &net->layers[stack[--top]];
            B->partner = (int)i;
            L->partner = stack[top];
            if (B->in.h != in.h || B->in.w != in.w || B->in.c != in.c || B->in.flat != in.flat)
                FAIL("line %d: residual end: the block's output %s differs from its input %s (line %d)", line,
                     qdi_nas_shape_text(in, a), qdi_nas_shape_text(B->in, b), B->line);
            break;
        }
        }
        if (L->act == QDI_ACT_SOFTMAX && i != net->n - 1)
            FAIL("line %d: softmax only on the last layer", line);
        if (out.h < 1 || out.w < 1)
            FAIL("line %d: %s leaves an empty output", line, kind_names[L->kind]);
        L->out = out;
        net->params += L->params;
        net->flops += L->flops;
        if (L->kind == QDI_NAS_CONV || L->kind == QDI_NAS_DENSE) {
            net->depth++;
            if (L->units > net->max_width)
                net->max_width = L->units;
        }
    }
    if (top > 0)
        FAIL("line %d: residual begin has no residual end", net->layers[stack[top - 1]].line);
    last = &net->layers[net->n - 1];
    if (last->kind != QDI_NAS_DENSE || last->act != QDI_ACT_SOFTMAX)
        FAIL("line %d: the network must end with \"dense K softmax\" (K classes), got %s", last->line,
             last->kind == QDI_NAS_DENSE ? "a dense layer without softmax" : kind_names[last->kind]);
    return QD_OK;
}

/* ---- printing -------------------------------------------------------------- */

char *qdi_nas_print(const qdi_nas_net *net)
{
    size_t cap = 64 * (net->n + 1), len = 0;
    char *s = malloc(cap), sh[48];
    if (!s)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < net->n; i++) {
        const qdi_nas_layer *L = &net->layers[i];
        char *p = s + len;
        size_t room = cap - len;
        int k = 0;
        switch (L->kind) {
        case QDI_NAS_INPUT:
            k = snprintf(p, room, "input %s", qdi_nas_shape_text(L->out, sh));
            break;
        case QDI_NAS_CONV:
            k = snprintf(p, room, "conv %d %dx%d%s", L->units, L->kh, L->kw, L->same ? " same" : "");
            break;
        case QDI_NAS_POOL:
            k = snprintf(p, room, "pool %s %d", L->pool_max ? "max" : "avg", L->pool_size);
            break;
        case QDI_NAS_FLATTEN:
            k = snprintf(p, room, "flatten");
            break;
        case QDI_NAS_DENSE:
            k = snprintf(p, room, "dense %d", L->units);
            break;
        case QDI_NAS_DROPOUT:
            k = snprintf(p, room, "dropout %.3g", L->rate);
            break;
        default:
            k = snprintf(p, room, "%s", kind_names[L->kind]);
        }
        len += (size_t)k;
        if ((L->kind == QDI_NAS_CONV || L->kind == QDI_NAS_DENSE) && L->act != QDI_ACT_NONE)
            len += (size_t)snprintf(s + len, cap - len, " %s", act_names[L->act]);
        len += (size_t)snprintf(s + len, cap - len, "\n");
    }
    return s;
}

/* ---- finding a network in an LLM's reply ----------------------------------- */

static const char *const keywords[] = {"input", "conv", "pool", "flatten", "dense",
                                       "dropout", "batchnorm", "residual", NULL};

/* Nonzero when the line's first word is a layer keyword (0: blank or
 * comment, -1: anything else). */
static int line_kind(const char *s, const char *end)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    if (s == end || *s == '#')
        return 0;
    for (size_t i = 0; keywords[i]; i++) {
        size_t n = strlen(keywords[i]);
        if ((size_t)(end - s) >= n && strncmp(s, keywords[i], n) == 0 &&
            ((size_t)(end - s) == n || isspace((unsigned char)s[n])))
            return i == 0 ? 2 : 1;
    }
    return -1;
}

/* Copies the lines [from, to) that hold layers, from the first input line on,
 * stopping at the first line that is not a layer. */
static char *take_layers(const char *from, const char *to)
{
    char *out = malloc((size_t)(to - from) + 2), *o = out;
    int started = 0;
    if (!out)
        return NULL;
    for (const char *s = from; s < to;) {
        const char *e = memchr(s, '\n', (size_t)(to - s));
        int k;
        if (!e)
            e = to;
        k = line_kind(s, e);
        if (!started && k == 2)
            started = 1;
        if (started) {
            if (k < 0)
                break;
            if (k > 0) {
                const char *a = s, *b = e;
                while (a < b && isspace((unsigned char)*a))
                    a++;
                while (b > a && isspace((unsigned char)b[-1]))
                    b--;
                memcpy(o, a, (size_t)(b - a));
                o += b - a;
                *o++ = '\n';
            }
        }
        s = e < to ? e + 1 : to;
    }
    *o = '\0';
    if (!started) {
        free(out);
        return NULL;
    }
    return out;
}

char *qdi_nas_extract(const char *reply)
{
    const char *s = reply, *end;
    if (!reply)
        return NULL;
    end = reply + strlen(reply);
    /* fenced blocks first: ```lang ... ``` */
    while ((s = strstr(s, "```")) != NULL) {
        const char *body = strchr(s + 3, '\n'), *close;
        if (!body)
            break;
        body++;
        close = strstr(body, "```");
        if (!close)
            close = end;
        char *net = take_layers(body, close);
        if (net)
            return net;
        if (close == end)
            break;
        s = close + 3;
    }
    return take_layers(reply, end);
}

int qdi_nas_parse_shape(const char *text, qdi_nas_shape *s)
{
    int d[3], n;
    if (!text || (n = parse_dims(text, 3, d)) < 0 || n == 2)
        return QD_EINVAL;
    *s = n == 3 ? (qdi_nas_shape){d[0], d[1], d[2], 0} : (qdi_nas_shape){1, 1, d[0], 1};
    return QD_OK;
}
