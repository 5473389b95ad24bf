# The whole ctest suite (nightly tier excluded) built with the `asan` preset (ASan + UBSan, -O1
# -g1) in a nested tree, as one ctest of the Release tree, so that CI (`tools/dev.sh test` = the
# release preset) runs it. docs/sanitizers.md says why the preset is -O1 -g1: it halves the build
# time of -O2 -g on 2 cores, which is what makes the sanitized run fit the CI budget, and keeps
# file:line in sanitizer reports.
# Usage: cmake -DSRC=<source dir> -DBIN=<nested build dir> [-DLAUNCHER=ccache] -P asan_ci.cmake
cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)
if(jobs GREATER 2)
  set(jobs 2)  # the CI machine has 2 cores; more only oversubscribes a shared one
endif()
# Tests share the 2 cores two at a time: spinning OpenMP workers would burn the other test's core.
if(NOT DEFINED ENV{OMP_WAIT_POLICY})
  set(ENV{OMP_WAIT_POLICY} PASSIVE)
endif()
set(launcher "")
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
function(step what)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${SRC} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "asan_ci: ${what} failed (exit ${rc}); rerun it alone: KCS_PRESET=asan tools/dev.sh test")
  endif()
endfunction()
step(configure ${CMAKE_COMMAND} --preset asan -B ${BIN} ${launcher})
step(build ${CMAKE_COMMAND} --build ${BIN} -j ${jobs})
step(ctest ${CMAKE_CTEST_COMMAND} --test-dir ${BIN} -LE nightly -j ${jobs} --output-on-failure)
