# `cmake --install` + an exported package, so that an out-of-tree backend does
#   find_package(kcs REQUIRED)
#   target_link_libraries(my_backend_test PRIVATE kcs::kcs)      # runner, fixtures, backends
#   target_link_libraries(my_plugin PRIVATE kcs::plugin_headers) # just kcs/plugin.h (C ABI)
# and finds the `kcs` program as kcs::kcs_cli. Headers install under <prefix>/include with the
# paths the sources use ("kcs/backend.h", "conformance/runner/runner.h"). The library still reads
# catalogs and committed bundles from the source tree it was built from unless KCS_CATALOG_DIR /
# KCS_BUNDLE_DIR say otherwise; they are installed to <prefix>/share/kcs for that.
include(CMakePackageConfigHelpers)

add_library(kcs_plugin_headers INTERFACE)
add_library(kcs::plugin_headers ALIAS kcs_plugin_headers)
set_target_properties(kcs_plugin_headers PROPERTIES EXPORT_NAME plugin_headers)
target_include_directories(kcs_plugin_headers INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                                        $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
add_library(kcs::kcs ALIAS kcs)

install(TARGETS kcs kcs_cli kcs_plugin_headers EXPORT kcsTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/kcs DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(dir conformance/compare conformance/fixture conformance/runner conformance/suites fixtures/generators
            reports decl reference optimized)
  install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${dir} FILES_MATCHING PATTERN "*.h")
endforeach()
install(DIRECTORY fixtures/catalog fixtures/bundles DESTINATION ${CMAKE_INSTALL_DATADIR}/kcs)
install(FILES examples/plugin/kcs_example_plugin.c DESTINATION ${CMAKE_INSTALL_DATADIR}/kcs/examples/plugin)
install(EXPORT kcsTargets NAMESPACE kcs:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kcs)
set(KCS_DATA_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/kcs)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/kcsConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/kcsConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kcs PATH_VARS KCS_DATA_INSTALL_DIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/kcsConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/kcsConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/kcsConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kcs)
