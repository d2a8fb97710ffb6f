# ipcxCriterionShim.cmake: a stand-in for the part of Criterion the tests use, for ThreadSanitizer
# builds only. Criterion cannot run under TSan: its sandbox (BoxFort) maps an arena at fixed
# addresses inside the range TSan reserves for shadow memory, and aborts with "Could not
# initialize inheritable arena" (Snaipe/Criterion#274, open). The shim keeps the same source
# (Test, ParameterizedTest, cr_assert*, cr_expect*, cr_log_*, cr_skip_test) and runs each test,
# and each parameter, in its own fork()ed child, one after another, so TSan sees only the code
# under test. It must never be used outside a TSan build: the real Criterion is the reference.
#
# ipcx_criterion_shim(<out-target>): defines a static library <out-target> from
# tests/tsan-shim/ (headers criterion/*.h and a runner providing main()); link it instead of
# criterion. A test that needs more of Criterion than this fails to compile in the TSan build
# only; then extend the shim there.

function(ipcx_criterion_shim target)
    set(dir "${PROJECT_SOURCE_DIR}/tests/tsan-shim")
    add_library(${target} STATIC "${dir}/shim_main.c")
    target_include_directories(${target} PUBLIC "${dir}/include")
    target_compile_definitions(${target} PRIVATE _GNU_SOURCE)
endfunction()
