# ctest driver for the fixture_h5py test (cmake -P): the C++ writer produces probe files
# (FixtureH5py.WritesPythonProbe with KCS_H5PY_OUT set), then h5py + numpy read and check them.
#
# -D variables: TEST_EXE (the fixture_test executable), PYTHON (an interpreter with h5py and
# numpy, /usr/bin/python3 by default), SCRIPT (tests/fixture_h5py_test.py), OUT_DIR (scratch).
# A missing h5py fails the test with instructions; KCS_ALLOW_NO_H5PY=1 in the environment turns
# that into a skip (the test's SKIP_REGULAR_EXPRESSION matches "KCS_SKIP:").
foreach(var TEST_EXE PYTHON SCRIPT OUT_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "fixture_h5py_test.cmake: -D${var}=... is required")
  endif()
endforeach()

execute_process(COMMAND "${PYTHON}" -c "import h5py, numpy"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  string(STRIP "${err}" err)
  if("$ENV{KCS_ALLOW_NO_H5PY}" STREQUAL "1")
    message("KCS_SKIP: ${PYTHON} cannot import h5py/numpy (${err}); skipped because KCS_ALLOW_NO_H5PY=1")
    return()
  endif()
  message(FATAL_ERROR
    "${PYTHON} cannot import h5py and numpy:\n  ${err}\n"
    "Install Debian's python3-h5py and python3-numpy (the project setup does), point "
    "-DKCS_H5PY_PYTHON at an interpreter that has them, or set KCS_ALLOW_NO_H5PY=1 to skip this test.")
endif()

file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}")
set(ENV{KCS_H5PY_OUT} "${OUT_DIR}")
execute_process(COMMAND "${TEST_EXE}" --gtest_filter=FixtureH5py.WritesPythonProbe RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TEST_EXE} --gtest_filter=FixtureH5py.WritesPythonProbe failed (exit ${rc})")
endif()

set(files "${OUT_DIR}/probe_q8.h5" "${OUT_DIR}/probe_all.h5" "${OUT_DIR}/probe_q8_outputs.h5")
foreach(f ${files})
  if(NOT EXISTS "${f}")
    message(FATAL_ERROR "the C++ probe did not write ${f}")
  endif()
endforeach()
execute_process(COMMAND "${PYTHON}" "${SCRIPT}" ${files} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${SCRIPT} found problems in the files written by the C++ fixture writer (exit ${rc})")
endif()
