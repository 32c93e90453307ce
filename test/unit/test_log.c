/*
 * test_log.c - log lines: made harmless, filtered by level, and written
 * whole and in order by threads logging at once
 *
 * stderr is pointed at a temporary file and read back. Several threads
 * log at once (each line is one write(2), not stdio's locked stream), and
 * each thread's lines must come out whole, once, in its order.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define THREADS 4
#define LINES   3000

static char log_path[] = "/tmp/test_log.XXXXXX";
static int saved_stderr = -1;

static int setup(void **state)
{
    int fd = mkstemp(log_path);

    (void)state;
    if (fd < 0 || (saved_stderr = dup(STDERR_FILENO)) < 0 || dup2(fd, STDERR_FILENO) < 0)
        return -1;
    close(fd);
    log_open("t", true, false);
    return 0;
}

static int teardown(void **state)
{
    char buf[4096];
    size_t n;
    FILE *f;

    (void)state;
    fflush(stderr);
    /* what is left there (cmocka's word on a failure too) to the real stderr */
    if ((f = fopen(log_path, "r")) != NULL) {
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            if (write(saved_stderr, buf, n) < 0)
                break;
        fclose(f);
    }
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    unlink(log_path);
    return 0;
}

/* What stderr got since the last call (the file is emptied). */
static char *take(void)
{
    FILE *f = fopen(log_path, "r");
    char *text;
    long n;

    fflush(stderr);
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    assert_int_equal(ftruncate(STDERR_FILENO, 0), 0);
    assert_int_equal(lseek(STDERR_FILENO, 0, SEEK_SET), 0);
    return text;
}

/* stderr got exactly WANT since the last look */
static void expect(const char *want)
{
    char *text = take();

    assert_string_equal(text, want);
    free(text);
}

static void test_harmless(void **state)
{
    char line[] = "a\nforged: line\x7f", *big = malloc(5000), *text;

    (void)state;
    assert_non_null(big);
    log_set_level(HM_LOG_INFO);
    log_line(HM_LOG_INFO, "Q1\r", line);
    expect("t: info: Q1?: a?forged: line?\n");
    memset(big, 'x', 4999);
    big[4999] = '\0';
    log_line(HM_LOG_WARNING, "Q2", big);
    text = take();
    /* cut at 2000 bytes, the end shown as "..." */
    assert_int_equal(strlen(text), strlen("t: warning: Q2: ") + 2000 + 1);
    assert_string_equal(text + strlen(text) - 5, "x...\n");
    free(text);
    free(big);
    log_line(HM_LOG_ERROR, "Q3", NULL);
    expect("t: error: Q3: out of memory\n");
}

static void test_join(void **state)
{
    const char *part[] = {"client=", "", "mx[192.0.2.1]", " login=", "janed"};
    char *s;

    (void)state;
    s = log_join(part, 5);
    assert_non_null(s);
    assert_string_equal(s, "client=mx[192.0.2.1] login=janed");
    free(s);
    s = log_join(part, 0);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void test_level(void **state)
{
    (void)state;
    log_set_level(HM_LOG_WARNING);
    assert_false(log_level_enabled(HM_LOG_INFO));
    log_info("dropped %d", 1);
    log_warning("kept %d", 2);
    log_set_level(HM_LOG_INFO);
    log_info("kept %d", 3);
    expect("t: warning: kept 2\nt: info: kept 3\n");
}

static void *logger(void *arg)
{
    int t = (int)(intptr_t)arg, i;
    char line[64];

    for (i = 0; i < LINES; i++) {
        snprintf(line, sizeof line, "thread %d line %d", t, i);
        if (i % 2)
            log_line(HM_LOG_INFO, "QID", line);
        else
            log_msg(HM_LOG_INFO, "%s", line);
    }
    return NULL;
}

/* Every thread's lines are there, whole, once, in the order it logged them. */
static void check_all(const char *text)
{
    int next[THREADS] = {0}, t, i, n = 0;
    const char *p = text, *eol;
    char line[128];

    for (; (eol = strchr(p, '\n')) != NULL; p = eol + 1, n++) {
        assert_true((size_t)(eol - p) < sizeof line);
        memcpy(line, p, (size_t)(eol - p));
        line[eol - p] = '\0';
        if (sscanf(line, "t: info: thread %d line %d", &t, &i) != 2)
            assert_int_equal(sscanf(line, "t: info: QID: thread %d line %d", &t, &i), 2);
        assert_true(t >= 0 && t < THREADS);
        assert_int_equal(i, next[t]);
        assert_int_equal(i % 2 == 1, strstr(line, "QID: ") != NULL);
        next[t]++;
    }
    assert_string_equal(p, "");
    assert_int_equal(n, THREADS * LINES);
}

static void test_threads(void **state)
{
    pthread_t th[THREADS];
    char *text;
    int t;

    (void)state;
    log_set_level(HM_LOG_INFO);
    for (t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, logger, (void *)(intptr_t)t), 0);
    for (t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    text = take();
    check_all(text);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_harmless),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_level),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
