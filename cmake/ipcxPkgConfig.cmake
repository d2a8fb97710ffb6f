# ipcxPkgConfig.cmake: installs ipcx.pc. The file is written at install time, not at configure
# time, so `cmake --install build --prefix DIR` yields a .pc that names DIR. It must never bake
# the configure-time prefix into a package installed somewhere else.

# ipcx_install_pkgconfig(<template>): template is cmake/ipcx.pc.in. Packages the static library
# needs (liburing when IPCX_WITH_URING) go to Requires.private, for `pkg-config --static`.
function(ipcx_install_pkgconfig template)
    set(stage "${PROJECT_BINARY_DIR}/pkgconfig/ipcx.pc")
    set(requires_private "")
    if(IPCX_WITH_URING)
        set(requires_private "liburing")
    endif()
    install(CODE "
        set(IPCX_PC_TEMPLATE \"${template}\")
        set(IPCX_PC_REQUIRES_PRIVATE \"${requires_private}\")
        set(IPCX_PC_STAGE \"${stage}\")
        set(IPCX_PC_VERSION \"${PROJECT_VERSION}\")
        set(IPCX_PC_LIBDIR_REL \"${CMAKE_INSTALL_LIBDIR}\")
        set(IPCX_PC_INCLUDEDIR_REL \"${CMAKE_INSTALL_INCLUDEDIR}\")
        include(\"${PROJECT_SOURCE_DIR}/cmake/ipcxPkgConfigInstall.cmake\")
    " COMPONENT ipcx_development)
endfunction()
