# The whole ctest suite (nightly tier excluded) under ASan + UBSan, as one ctest of the Release
# tree, so that CI (`tools/dev.sh test` = the release preset) runs it. See docs/sanitizers.md for
# why it is built this way: -O1 without debug info halves the build time of the sanitized tree
# (measured on 2 cores: 156 s against 344 s for the RelWithDebInfo `asan` preset), which is what
# makes it fit the CI budget.
# Usage: cmake -DSRC=<source dir> -DBIN=<nested build dir> [-DLAUNCHER=ccache] -P asan_ci.cmake
cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)
if(jobs GREATER 2)
  set(jobs 2)  # the CI machine has 2 cores; more only oversubscribes a shared one
endif()
set(launcher "")
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "asan_ci: ${what} failed (exit ${rc})")
  endif()
endfunction()
step(configure ${CMAKE_COMMAND} -S ${SRC} -B ${BIN} -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1
     -DKCS_SANITIZE=ON -DKCS_BUILD_BENCH=OFF -DKCS_BUILD_FUZZ=OFF -DKCS_WERROR=OFF ${launcher})
step(build ${CMAKE_COMMAND} --build ${BIN} -j ${jobs})
# isa_objects is left to the Release tree: it inspects the objects that ship, and sanitizer
# instrumentation adds a weak DW.ref.__gxx_personality_v0 to every ISA object that the check
# (tools/check_isa_objects.cmake) does not yet tell apart from inline code.
step(ctest ${CMAKE_CTEST_COMMAND} --test-dir ${BIN} -LE nightly -E "^isa_objects$" -j ${jobs} --output-on-failure)
