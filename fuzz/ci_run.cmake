# The bounded fuzz run of the `fuzz_bundle_reader` and `fuzz_outputs_reader` ctests (fuzz/README.md, "In CI").
#   cmake -DEXE=<bundle_reader_fuzz|outputs_reader_fuzz> -DSEEDS=<fixtures/bundles|fuzz/seeds/outputs> -DWORK=<build tree dir> -DSEED=<n>
#         -DRUNS=<n> -DSECONDS=<n> -DLSAN_SUPP=<fuzz/lsan.supp> -P ci_run.cmake
# Reproducible: the corpus starts from the committed seeds only (WORK/corpus is emptied first), and
# the mutation sequence is fixed by -seed, so any run is a prefix of the same sequence of inputs,
# cut at RUNS executions or SECONDS, whichever comes first. The full log is WORK/last_run.log.
foreach(v EXE SEEDS WORK SEED RUNS SECONDS LSAN_SUPP)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "ci_run.cmake: -D${v}=... missing")
  endif()
endforeach()
get_filename_component(name ${EXE} NAME)
file(REMOVE_RECURSE ${WORK}/corpus)
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
set(log ${WORK}/last_run.log)
set(ENV{LSAN_OPTIONS} "suppressions=${LSAN_SUPP}")
# malloc(SIZE_MAX) that libhdf5 asks for on some corrupt files returns NULL, as it does outside
# ASan (the library then fails cleanly); real memory growth still stops the run at -rss_limit_mb.
set(ENV{ASAN_OPTIONS} "allocator_may_return_null=1")
execute_process(COMMAND ${EXE} -seed=${SEED} -runs=${RUNS} -max_total_time=${SECONDS} -timeout=20
                        -rss_limit_mb=2048 -malloc_limit_mb=1048576 -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/
                        ${WORK}/corpus ${SEEDS}
                RESULT_VARIABLE rc OUTPUT_FILE ${log} ERROR_FILE ${log})
# Read as one string: the log has unbalanced '[' (libFuzzer's address ranges), which would
# break a CMake list of its lines.
file(READ ${log} text)
string(REGEX MATCHALL "Done [0-9]+ runs in [0-9]+ second\\(s\\)|stat::[a-z_]+: *[0-9]+" stats "${text}")
string(JOIN "\n" stats ${stats})
set(artifact "")
string(REGEX MATCHALL "Test unit written to [^\n]+" written "${text}")
if(written)
  list(GET written -1 last)
  string(REGEX REPLACE "^Test unit written to " "" artifact "${last}")
endif()
if(rc EQUAL 0)
  file(GLOB corpus ${WORK}/corpus/*)
  list(LENGTH corpus n)
  message(STATUS "${name} -seed=${SEED}: no crash; ${n} new corpus inputs\n${stats}")
  return()
endif()
# The sanitizer report (the stack is at the end of the log), then the one line that matters.
string(LENGTH "${text}" n)
if(n GREATER 12000)
  math(EXPR from "${n} - 12000")
  string(SUBSTRING "${text}" ${from} -1 text)
endif()
message("...\n${text}\n")
# message() without a mode prints the line unwrapped (FATAL_ERROR rewraps its text).
if(artifact)
  message("${name} failed (exit ${rc}) on ${artifact}; replay: "
          "LSAN_OPTIONS=suppressions=${LSAN_SUPP} ${EXE} ${artifact}")
else()
  message("${name} failed (exit ${rc}) without writing an input; log: ${log}; "
          "rerun: LSAN_OPTIONS=suppressions=${LSAN_SUPP} ${EXE} -seed=${SEED} -runs=${RUNS} ${SEEDS}")
endif()
message(FATAL_ERROR "${name} failed")
