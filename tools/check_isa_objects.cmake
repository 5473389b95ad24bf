# Fails when an ISA object file defines a weak (inline / template) symbol: the linker may keep
# that copy, compiled with AVX-512, for callers on CPUs without it.
# Usage: cmake -DNM=nm -DOBJECTS="a.o;b.o" -P check_isa_objects.cmake
set(bad "")
foreach(obj ${OBJECTS})
  execute_process(COMMAND ${NM} -C --defined-only ${obj} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm failed on ${obj}")
  endif()
  string(REPLACE "\n" ";" lines "${syms}")
  foreach(l ${lines})
    # DW.ref.__gxx_personality_v0 (emitted with -fPIC / sanitizers) is a pointer to the C++
    # personality routine, not code compiled for an ISA: harmless whichever copy the linker keeps.
    if(l MATCHES "^[0-9a-f]+ [WVu] " AND NOT l MATCHES " DW\\.ref\\.__gxx_personality_v0$")
      string(APPEND bad "\n  ${obj}: ${l}")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "ISA objects define weak symbols (make these functions static or move them out):${bad}")
endif()
list(LENGTH OBJECTS n)
message(STATUS "${n} ISA object files define no weak symbols")
