# ipcxVersion.cmake: reads the library version from the IPCX_VERSION_* macros in include/ipcx.h,
# the one place it lives. It must never guess: a header it cannot parse stops the configure.

# ipcx_read_version(<header> <out-var>): sets <out-var> to "MAJOR.MINOR.PATCH" in the caller's scope.
function(ipcx_read_version header out_var)
    if(NOT EXISTS "${header}")
        message(FATAL_ERROR "ipcx: cannot read the version: ${header} does not exist")
    endif()
    set(parts "")
    foreach(part MAJOR MINOR PATCH)
        file(STRINGS "${header}" line
             REGEX "^[ \t]*#[ \t]*define[ \t]+IPCX_VERSION_${part}[ \t]+[0-9]+")
        if(NOT line)
            message(FATAL_ERROR "ipcx: no '#define IPCX_VERSION_${part} <number>' in ${header}")
        endif()
        list(GET line 0 line)
        string(REGEX REPLACE "^[ \t]*#[ \t]*define[ \t]+IPCX_VERSION_${part}[ \t]+([0-9]+).*$" "\\1"
               value "${line}")
        list(APPEND parts "${value}")
    endforeach()
    list(JOIN parts "." version)
    set(${out_var} "${version}" PARENT_SCOPE)
endfunction()
