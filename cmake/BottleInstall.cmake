# Installs the executables and exports bottle::bottle for find_package(bottle).
include(CMakePackageConfigHelpers)

install(TARGETS bottle EXPORT bottleTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS bottle-cli bottle-dashboard bottle-egress RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS pty-resize RUNTIME DESTINATION ${BOTTLE_LIBEXEC_RELDIR})

install(EXPORT bottleTargets NAMESPACE bottle:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bottle)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/bottleConfig.cmake.in
  ${PROJECT_BINARY_DIR}/bottleConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bottle)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bottleConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/bottleConfig.cmake ${PROJECT_BINARY_DIR}/bottleConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bottle)
