/*
 * lsan.c: linked into every test. Criterion 2.4's runner leaks one small
 * calloc per parameterized test (inside libcriterion, not in ipcx or the
 * tests); without this, AddressSanitizer builds fail whole executables at
 * exit. Read only by LeakSanitizer; harmless elsewhere.
 */
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}
