# ipcxWarnings.cmake: the house warning set, applied per target so it never leaks into a parent
# project or onto exported targets. It must not weaken the set for library code.

set(IPCX_WARNING_FLAGS
    -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wvla -Wimplicit-fallthrough)

# ipcx_target_warnings(<target> [TEST]): TEST marks a Criterion test. Criterion 2.4's macros
# (Test, ParameterizedTest) pass the full set under gcc 12 and clang 14, so nothing is relaxed
# today; if a Criterion macro ever trips a warning, relax that one warning here, for TEST only.
# -Werror stays on whenever IPCX_WERROR is ON.
function(ipcx_target_warnings target)
    cmake_parse_arguments(arg "TEST" "" "" ${ARGN})
    set(flags ${IPCX_WARNING_FLAGS})
    if(IPCX_WERROR)
        list(APPEND flags -Werror)
    endif()
    target_compile_options(${target} PRIVATE ${flags})
endfunction()
