/* bench_qdaif.c - throughput of a QDAIF run (the opinions domain: LMX-near
 * mutator, AI-feedback evaluator) against the test server answering every
 * request after a fixed latency (50 ms by default), for 1..64 workers.
 *
 * Each worker runs one request at a time, so the ideal rate is workers /
 * latency requests per second; the bench reports the measured rate, its
 * share of the ideal and the framework's own CPU time per job (this
 * process: curl, JSON, prompts, archive; the server runs in another).
 * In batch mode an iteration ends when its slowest job does, so workers
 * idle at the end of each iteration; more jobs per worker and iteration
 * (batch = factor * workers) make that tail a smaller share.
 * Not part of make check. Run from the source tree:
 *   nice bench/bench_qdaif [latency_seconds [jobs_per_worker [factor]]]
 */
#include <sys/resource.h>
#include <time.h>
#include "tests/llmtest.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_sec +
           1e-6 * (double)u.ru_stime.tv_usec;
}

static const char *CONFIG =
    "{\"seed\": 1, \"iterations\": %ld, \"workers\": %ld, "
    "\"llm\": {\"url\": \"%s\", \"model\": \"test-openai\"}, "
    "\"evaluator\": {\"type\": \"ai_feedback\", \"top_logprobs\": 10, \"quality\": {\"question\": \"Determine "
    "whether or not the input text is closely related to the following topic: someone talking about whether or not "
    "they like to eat vegetables. Answer yes if it is about the topic, or no if not.\"}, \"measures\": [{\"name\": "
    "\"sentiment\", \"question\": \"Determine the sentiment of the given opinion on eating vegetables and "
    "plant-based foods (from the input text) by writing positive or negative in the output.\", \"labels\": "
    "[\"positive\", \"negative\"]}]}, "
    "\"archive\": {\"type\": \"grid\", \"dims\": [{\"edges\": [0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.10, "
    "0.20, 0.50, 0.80, 0.90, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 1]}]}, "
    "\"mutators\": [{\"type\": \"llm\", \"batch\": %ld, \"initial\": 16, \"template\": \"Here is a random opinion "
    "piece about eating vegetables and plant-based foods:\", \"seeds\": [\"Plant-based foods are a great source of "
    "healthy micronutrients.\", \"You should eat vegetables because they are good for you.\", \"I really do not "
    "like eating vegetables, they taste bland and boring.\"]}]}";

int main(int argc, char **argv)
{
    static const long workers[] = {1, 2, 4, 8, 16, 32, 64};
    double latency = argc > 1 ? atof(argv[1]) : 0.05;
    long per_worker = argc > 2 ? atol(argv[2]) : 64, factor = argc > 3 ? atol(argv[3]) : 32;
    char lat[32], json[8192], err[512];
    qdt_server srv;
    qd_global_init();
    snprintf(lat, sizeof lat, "%g", latency);
    if (qdt_server_start(&srv, "--latency", lat) != 0)
        return 1;
    if (factor < 1 || per_worker < factor) {
        fprintf(stderr, "usage: bench_qdaif [latency [jobs_per_worker [factor <= jobs_per_worker]]]\n");
        return 2;
    }
    printf("QDAIF opinions against the test server, %.0f ms per request, %ld jobs per worker, batch %ld x workers\n",
           latency * 1000, per_worker, factor);
    printf("%8s %7s %9s %10s %12s %9s %14s\n", "workers", "jobs", "requests", "seconds", "requests/s", "of ideal",
           "CPU ms per job");
    for (size_t i = 0; i < QDI_ARRAY_LEN(workers); i++) {
        long w = workers[i], batch = factor * w, iterations = per_worker / factor;
        qd_config *cfg;
        qd_search *s;
        qd_llm_stats st;
        if (iterations < 1)
            iterations = 1;
        snprintf(json, sizeof json, CONFIG, iterations, w, srv.url, batch);
        if (qd_config_parse(json, "bench", &cfg, err, sizeof err) != QD_OK || qd_search_new(cfg, &s) != QD_OK) {
            fprintf(stderr, "bench: %s%s\n", err, cfg ? qd_config_error(cfg) : "");
            qdt_server_stop(&srv);
            return 1;
        }
        double t0 = now(), c0 = cpu_seconds();
        while (!qd_search_done(s))
            if (qd_search_step(s) != QD_OK) {
                fprintf(stderr, "bench: %s\n", qd_search_error(s));
                break;
            }
        double dt = now() - t0, cpu = cpu_seconds() - c0;
        qd_llm_stats_get(qd_search_llm(s), &st);
        double jobs = (double)qd_search_counts(s)->asked, rate = (double)st.requests / dt;
        printf("%8ld %7.0f %9llu %10.2f %12.1f %8.1f%% %14.3f\n", w, jobs, (unsigned long long)st.requests, dt, rate,
               100.0 * rate / ((double)w / latency), 1000.0 * cpu / jobs);
        fflush(stdout);
        qd_search_free(s);
        qd_config_free(cfg);
    }
    qdt_server_stop(&srv);
    return 0;
}
