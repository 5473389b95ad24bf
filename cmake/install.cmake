# `cmake --install`: the public interface only, and the data an installed kcs reads.
#   <prefix>/bin/kcs                         the command-line program (kcs::kcs_cli)
#   <prefix>/lib/libkcs.so                   the host C API (kcs::kcs; include/kcs/kcs.h)
#   <prefix>/include/kcs/kcs.h, plugin.h     the two C interfaces: calling kcs, and kcs calling a plug-in
#   <prefix>/share/kcs/catalog, bundles      case catalogs and committed bundles, found by an installed
#                                            kcs without environment variables (conformance/runner/data_dir.h)
#   <prefix>/lib/python3/dist-packages/kcs   the Python package (python/CMakeLists.txt)
# An out-of-tree project does
#   find_package(kcs REQUIRED)
#   target_link_libraries(my_tool PRIVATE kcs::kcs)               # kcs/kcs.h, libkcs.so
#   target_link_libraries(my_plugin PRIVATE kcs::plugin_headers)  # just kcs/plugin.h (C ABI)
# The C++ layers (reference/, optimized/, decl/, conformance/) are not installed: their headers are
# internal and change with the code. tests/find_package builds and runs such a project.
include(CMakePackageConfigHelpers)

add_library(kcs_plugin_headers INTERFACE)
add_library(kcs::plugin_headers ALIAS kcs_plugin_headers)
set_target_properties(kcs_plugin_headers PROPERTIES EXPORT_NAME plugin_headers)
target_include_directories(kcs_plugin_headers INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                                        $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(kcs_capi PROPERTIES EXPORT_NAME kcs)
target_include_directories(kcs_capi INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
add_library(kcs::kcs ALIAS kcs_capi)

install(TARGETS kcs_capi kcs_cli kcs_plugin_headers EXPORT kcsTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES include/kcs/kcs.h include/kcs/plugin.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kcs)
install(DIRECTORY fixtures/catalog fixtures/bundles DESTINATION ${CMAKE_INSTALL_DATADIR}/kcs)
install(FILES examples/plugin/kcs_example_plugin.c DESTINATION ${CMAKE_INSTALL_DATADIR}/kcs/examples/plugin)
install(EXPORT kcsTargets NAMESPACE kcs:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kcs)
set(KCS_DATA_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/kcs)
set(KCS_PYTHON_DIR ${KCS_PYTHON_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/kcsConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/kcsConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kcs
                              PATH_VARS KCS_DATA_INSTALL_DIR KCS_PYTHON_DIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/kcsConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/kcsConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/kcsConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kcs)
