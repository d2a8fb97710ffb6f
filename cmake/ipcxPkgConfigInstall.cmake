# ipcxPkgConfigInstall.cmake: runs inside `cmake --install` (see ipcxPkgConfig.cmake), where
# CMAKE_INSTALL_PREFIX is the prefix actually being installed to. Writes and installs ipcx.pc.
# Never run it at configure time.

set(IPCX_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(kind LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${IPCX_PC_${kind}_REL}")
        set(IPCX_PC_${kind} "${IPCX_PC_${kind}_REL}")
    else()
        # A pkg-config variable reference, so the .pc stays editable by hand.
        set(IPCX_PC_${kind} "\${prefix}/${IPCX_PC_${kind}_REL}")
    endif()
endforeach()
if(IS_ABSOLUTE "${IPCX_PC_LIBDIR_REL}")
    set(_ipcx_pc_dest "${IPCX_PC_LIBDIR_REL}/pkgconfig")
else()
    set(_ipcx_pc_dest "${CMAKE_INSTALL_PREFIX}/${IPCX_PC_LIBDIR_REL}/pkgconfig")
endif()
configure_file("${IPCX_PC_TEMPLATE}" "${IPCX_PC_STAGE}" @ONLY)
file(INSTALL DESTINATION "${_ipcx_pc_dest}" TYPE FILE FILES "${IPCX_PC_STAGE}")
