/* criterion.h (ipcx TSan shim: see tests/tsan-shim/README.md). */
#ifndef IPCX_CRITERION_SHIM_H
#define IPCX_CRITERION_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct criterion_test_params {
    size_t size;
    void *params;
    size_t length;
};

struct shim_test_opts {
    void (*init)(void);
    void (*fini)(void);
    double timeout;
    int signal;
    int exit_code;
    bool disabled;
    const char *description;
    int sentinel_;
};

struct shim_test {
    const char *suite;
    const char *name;
    void (*fn)(void);
    void (*pfn)(void *);
    struct criterion_test_params (*params)(void);
    struct shim_test_opts opts;
    struct shim_test *next;
};

void shim_register_(struct shim_test *t);
void shim_check_(int fatal, int ok, const char *file, int line, const char *expr, const char *fmt,
                 ...);
void shim_log_(const char *level, const char *fmt, ...);
void shim_skip_(const char *fmt, ...);

#define SHIM_CAT2_(a, b)            a##b
#define SHIM_ID_(suite, name, what) SHIM_CAT2_(shim_##what##_##suite##_, name)

#define Test(...) SHIM_TEST_(__VA_ARGS__, .sentinel_ = 0)
#define SHIM_TEST_(suite, name, ...)                                                               \
    static void SHIM_ID_(suite, name, fn)(void);                                                   \
    static struct shim_test SHIM_ID_(suite, name, t) = {                                           \
        #suite, #name, SHIM_ID_(suite, name, fn), NULL, NULL, {__VA_ARGS__}, NULL};                \
    __attribute__((constructor)) static void SHIM_ID_(suite, name, reg)(void)                      \
    {                                                                                              \
        shim_register_(&SHIM_ID_(suite, name, t));                                                 \
    }                                                                                              \
    static void SHIM_ID_(suite, name, fn)(void)

#define TestSuite(...) extern int shim_test_suite_unused_

#define ParameterizedTestParameters(suite, name)                                                   \
    static struct criterion_test_params SHIM_ID_(suite, name, params)(void)

#define cr_make_param_array(...) SHIM_PARAMS_(__VA_ARGS__, NULL)
#define SHIM_PARAMS_(type, array, len, ...)                                                        \
    ((struct criterion_test_params){sizeof(type), (void *)(array), (size_t)(len)})

#define ParameterizedTest(...) SHIM_PTEST_(__VA_ARGS__, .sentinel_ = 0)
#define SHIM_PTEST_(param, suite, name, ...)                                                       \
    static struct criterion_test_params SHIM_ID_(suite, name, params)(void);                       \
    static void SHIM_ID_(suite, name, pfn)(param);                                                 \
    static void SHIM_ID_(suite, name, pwrap)(void *p)                                              \
    {                                                                                              \
        SHIM_ID_(suite, name, pfn)(p);                                                             \
    }                                                                                              \
    static struct shim_test SHIM_ID_(suite, name, t) = {                                           \
        #suite,        #name, NULL, SHIM_ID_(suite, name, pwrap), SHIM_ID_(suite, name, params),   \
        {__VA_ARGS__}, NULL};                                                                      \
    __attribute__((constructor)) static void SHIM_ID_(suite, name, reg)(void)                      \
    {                                                                                              \
        shim_register_(&SHIM_ID_(suite, name, t));                                                 \
    }                                                                                              \
    static void SHIM_ID_(suite, name, pfn)(param)

/* Conditions: the optional message (format and arguments) follows, as in Criterion. */
#define SHIM_COND_(fatal, ...) SHIM_COND2_(fatal, __VA_ARGS__, "")
#define SHIM_COND2_(fatal, cond, ...)                                                              \
    shim_check_(fatal, !!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define SHIM_NOT_(fatal, ...) SHIM_NOT2_(fatal, __VA_ARGS__, "")
#define SHIM_NOT2_(fatal, cond, ...)                                                               \
    shim_check_(fatal, !(cond), __FILE__, __LINE__, "!(" #cond ")", __VA_ARGS__)
#define SHIM_CMP_(fatal, op, ...) SHIM_CMP2_(fatal, op, __VA_ARGS__, "")
#define SHIM_CMP2_(fatal, op, a, b, ...)                                                           \
    shim_check_(fatal, ((a)op(b)), __FILE__, __LINE__, #a " " #op " " #b, __VA_ARGS__)
#define SHIM_STR_(fatal, op, ...) SHIM_STR2_(fatal, op, __VA_ARGS__, "")
#define SHIM_STR2_(fatal, op, a, b, ...)                                                           \
    shim_check_(fatal, strcmp((a), (b)) op 0, __FILE__, __LINE__,                                  \
                "strcmp(" #a ", " #b ") " #op " 0", __VA_ARGS__)
#define SHIM_ARR_(fatal, op, ...) SHIM_ARR2_(fatal, op, __VA_ARGS__, "")
#define SHIM_ARR2_(fatal, op, a, b, n, ...)                                                        \
    shim_check_(fatal, memcmp((a), (b), (n)) op 0, __FILE__, __LINE__,                             \
                "memcmp(" #a ", " #b ", " #n ") " #op " 0", __VA_ARGS__)
#define SHIM_FEQ_(fatal, ...) SHIM_FEQ2_(fatal, __VA_ARGS__, "")
#define SHIM_FEQ2_(fatal, a, b, eps, ...)                                                          \
    shim_check_(fatal, (a) - (b) <= (eps) && (b) - (a) <= (eps), __FILE__, __LINE__, #a " ~= " #b, \
                __VA_ARGS__)

#define cr_assert(...)               SHIM_COND_(1, __VA_ARGS__)
#define cr_expect(...)               SHIM_COND_(0, __VA_ARGS__)
#define cr_assert_not(...)           SHIM_NOT_(1, __VA_ARGS__)
#define cr_expect_not(...)           SHIM_NOT_(0, __VA_ARGS__)
#define cr_assert_fail(...)          shim_check_(1, 0, __FILE__, __LINE__, "cr_assert_fail", "" __VA_ARGS__)
#define cr_expect_fail(...)          shim_check_(0, 0, __FILE__, __LINE__, "cr_expect_fail", "" __VA_ARGS__)
#define cr_assert_eq(...)            SHIM_CMP_(1, ==, __VA_ARGS__)
#define cr_expect_eq(...)            SHIM_CMP_(0, ==, __VA_ARGS__)
#define cr_assert_neq(...)           SHIM_CMP_(1, !=, __VA_ARGS__)
#define cr_expect_neq(...)           SHIM_CMP_(0, !=, __VA_ARGS__)
#define cr_assert_lt(...)            SHIM_CMP_(1, <, __VA_ARGS__)
#define cr_expect_lt(...)            SHIM_CMP_(0, <, __VA_ARGS__)
#define cr_assert_leq(...)           SHIM_CMP_(1, <=, __VA_ARGS__)
#define cr_expect_leq(...)           SHIM_CMP_(0, <=, __VA_ARGS__)
#define cr_assert_gt(...)            SHIM_CMP_(1, >, __VA_ARGS__)
#define cr_expect_gt(...)            SHIM_CMP_(0, >, __VA_ARGS__)
#define cr_assert_geq(...)           SHIM_CMP_(1, >=, __VA_ARGS__)
#define cr_expect_geq(...)           SHIM_CMP_(0, >=, __VA_ARGS__)
#define cr_assert_null(...)          SHIM_COND_(1, SHIM_FIRST_(__VA_ARGS__, 0) == NULL)
#define cr_expect_null(...)          SHIM_COND_(0, SHIM_FIRST_(__VA_ARGS__, 0) == NULL)
#define cr_assert_not_null(...)      SHIM_NOT_(1, SHIM_FIRST_(__VA_ARGS__, 0) == NULL)
#define cr_expect_not_null(...)      SHIM_NOT_(0, SHIM_FIRST_(__VA_ARGS__, 0) == NULL)
#define cr_assert_zero(...)          SHIM_COND_(1, SHIM_FIRST_(__VA_ARGS__, 0) == 0)
#define cr_expect_zero(...)          SHIM_COND_(0, SHIM_FIRST_(__VA_ARGS__, 0) == 0)
#define cr_assert_not_zero(...)      SHIM_COND_(1, SHIM_FIRST_(__VA_ARGS__, 0) != 0)
#define cr_expect_not_zero(...)      SHIM_COND_(0, SHIM_FIRST_(__VA_ARGS__, 0) != 0)
#define cr_assert_str_eq(...)        SHIM_STR_(1, ==, __VA_ARGS__)
#define cr_expect_str_eq(...)        SHIM_STR_(0, ==, __VA_ARGS__)
#define cr_assert_str_neq(...)       SHIM_STR_(1, !=, __VA_ARGS__)
#define cr_expect_str_neq(...)       SHIM_STR_(0, !=, __VA_ARGS__)
#define cr_assert_str_empty(...)     SHIM_COND_(1, SHIM_FIRST_(__VA_ARGS__, 0)[0] == '\0')
#define cr_expect_str_empty(...)     SHIM_COND_(0, SHIM_FIRST_(__VA_ARGS__, 0)[0] == '\0')
#define cr_assert_str_not_empty(...) SHIM_COND_(1, SHIM_FIRST_(__VA_ARGS__, 0)[0] != '\0')
#define cr_expect_str_not_empty(...) SHIM_COND_(0, SHIM_FIRST_(__VA_ARGS__, 0)[0] != '\0')
#define cr_assert_arr_eq(...)        SHIM_ARR_(1, ==, __VA_ARGS__)
#define cr_expect_arr_eq(...)        SHIM_ARR_(0, ==, __VA_ARGS__)
#define cr_assert_arr_neq(...)       SHIM_ARR_(1, !=, __VA_ARGS__)
#define cr_expect_arr_neq(...)       SHIM_ARR_(0, !=, __VA_ARGS__)
#define cr_assert_float_eq(...)      SHIM_FEQ_(1, __VA_ARGS__)
#define cr_expect_float_eq(...)      SHIM_FEQ_(0, __VA_ARGS__)
#define SHIM_FIRST_(a, ...)          a

#define cr_log_info(...)  shim_log_("info", __VA_ARGS__)
#define cr_log_warn(...)  shim_log_("warn", __VA_ARGS__)
#define cr_log_error(...) shim_log_("error", __VA_ARGS__)
#define cr_skip_test(...) shim_skip_("" __VA_ARGS__)

#endif /* IPCX_CRITERION_SHIM_H */
