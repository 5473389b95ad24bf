# Runs the fuzz target once on every file of DIR (no fuzzing); fails on the first crash, or on an
# input that takes over 5 s (each takes ~50 ms; a regression of the 11 GB-allocation timeout
# took 13 s under ASan) or 2 GB of memory, as the campaigns run.
file(GLOB inputs LIST_DIRECTORIES false ${DIR}/*)
list(FILTER inputs EXCLUDE REGEX "README")
if(NOT inputs)
  message(STATUS "no regression inputs in ${DIR}")
  return()
endif()
execute_process(COMMAND ${EXE} -timeout=5 -rss_limit_mb=2048 ${inputs} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  get_filename_component(name ${EXE} NAME)
  message(FATAL_ERROR "${name} failed on a regression input (exit ${rc})")
endif()
