# ipcxSanitize.cmake: turns IPCX_SANITIZE and IPCX_FUZZ into compile and link flags for every
# target of this project (directory scope, so a parent project is never affected). It must never
# mix ThreadSanitizer with AddressSanitizer: the runtimes cannot share a process.
#
# Sets IPCX_SANITIZER_FLAGS: the flags a program linking an instrumented libipcx must also use
# (the install test passes them on to the example it builds).

set(IPCX_SANITIZER_FLAGS "")

if(IPCX_SANITIZE)
    string(REPLACE ";" "," _ipcx_san "${IPCX_SANITIZE}")
    string(REPLACE " " "" _ipcx_san "${_ipcx_san}")
    if(_ipcx_san MATCHES "thread" AND _ipcx_san MATCHES "address|leak|memory")
        message(FATAL_ERROR "ipcx: IPCX_SANITIZE=${_ipcx_san}: thread cannot be combined with "
                            "address/leak/memory; use two build directories")
    endif()
    list(APPEND IPCX_SANITIZER_FLAGS "-fsanitize=${_ipcx_san}" -fno-omit-frame-pointer)
    if(_ipcx_san MATCHES "undefined")
        # Make every UBSan finding fatal, whatever UBSAN_OPTIONS says, so ctest sees it.
        list(APPEND IPCX_SANITIZER_FLAGS -fno-sanitize-recover=all)
    endif()
    message(STATUS "ipcx: sanitizers: ${_ipcx_san}")
endif()

if(IPCX_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
        message(FATAL_ERROR "ipcx: IPCX_FUZZ=ON needs clang (libFuzzer); "
                            "configure with -DCMAKE_C_COMPILER=clang")
    endif()
    if(IPCX_SANITIZE MATCHES "thread")
        message(FATAL_ERROR "ipcx: IPCX_FUZZ=ON cannot be combined with IPCX_SANITIZE=thread")
    endif()
    # Everything gets coverage instrumentation and ASan+UBSan; only fuzz targets link libFuzzer.
    # UBSan findings abort, so libFuzzer records them as crashes instead of printing and going on.
    list(APPEND IPCX_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
         -fno-sanitize-recover=all)
    set(IPCX_FUZZ_COMPILE_FLAGS -fsanitize=fuzzer-no-link)
    set(IPCX_FUZZ_TARGET_FLAGS -fsanitize=fuzzer)
endif()

list(REMOVE_DUPLICATES IPCX_SANITIZER_FLAGS)
if(IPCX_SANITIZER_FLAGS)
    add_compile_options(${IPCX_SANITIZER_FLAGS} ${IPCX_FUZZ_COMPILE_FLAGS})
    add_link_options(${IPCX_SANITIZER_FLAGS})
endif()
