# The simulated env (tests/sim/*.c): an in-memory world with a fault-injecting disk, used by
# unit tests of the layers above os and, later, by the cluster simulator. It sees util only.
file(GLOB sim_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/sim/*.c)
# The cluster simulator's own files (stoa_sim*.c) are the stoa-sim executable, below.
list(FILTER sim_sources EXCLUDE REGEX "/stoa_sim[^/]*\\.c$")
# Test code includes it as "sim/<name>.h" through the views/tests directory.
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/views/tests)
file(CREATE_LINK ${CMAKE_SOURCE_DIR}/tests/sim ${CMAKE_BINARY_DIR}/views/tests/sim SYMBOLIC)
if(sim_sources)
  add_library(stoa_sim STATIC ${sim_sources})
  target_include_directories(stoa_sim PRIVATE ${CMAKE_BINARY_DIR}/views/util
                             ${CMAKE_BINARY_DIR}/views/tests)
  target_link_libraries(stoa_sim PUBLIC stoa_util)
  set(STOA_SIM_LIBRARY stoa_sim)
endif()

# The linearizability checker (tests/check, docs/checking.md): the library stoa_check (pure C,
# sees util only; included as "check/<name>.h"), the stoa-check tool over JSON-lines histories,
# and stoa-check-gen, the random history generator. Its tests are tests/unit/check/test_*.c
# (registered as check/test_<name>) and tests/check/test_stoa_check.py (check/cli).
file(CREATE_LINK ${CMAKE_SOURCE_DIR}/tests/check ${CMAKE_BINARY_DIR}/views/tests/check SYMBOLIC)
file(GLOB check_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/check/*.c)
list(FILTER check_sources EXCLUDE REGEX "/(main|gen_main)\\.c$")
if(NOT TARGET PkgConfig::JANSSON)
  pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
endif()
add_library(stoa_check STATIC ${check_sources})
target_include_directories(stoa_check PUBLIC ${CMAKE_BINARY_DIR}/views/util
                           ${CMAKE_BINARY_DIR}/views/tests)
target_link_libraries(stoa_check PUBLIC stoa_util PkgConfig::JANSSON)
add_executable(stoa-check ${CMAKE_SOURCE_DIR}/tests/check/main.c)
target_link_libraries(stoa-check PRIVATE stoa_check)
add_executable(stoa-check-gen ${CMAKE_SOURCE_DIR}/tests/check/gen_main.c)
target_link_libraries(stoa-check-gen PRIVATE stoa_check)
file(GLOB check_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/check/test_*.c)
foreach(test_source IN LISTS check_tests)
  get_filename_component(test_name ${test_source} NAME_WE)
  add_executable(unit_check_${test_name} ${test_source})
  target_link_libraries(unit_check_${test_name} PRIVATE stoa_check PkgConfig::CMOCKA)
  target_compile_options(unit_check_${test_name} PRIVATE -Wno-null-dereference)
  add_test(NAME check/${test_name} COMMAND unit_check_${test_name})
  set_tests_properties(check/${test_name} PROPERTIES TIMEOUT 300 LABELS unit)
endforeach()
add_test(NAME check/cli COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/check/test_stoa_check.py
         $<TARGET_FILE:stoa-check> $<TARGET_FILE:stoa-check-gen>)
set_tests_properties(check/cli PROPERTIES TIMEOUT 120 LABELS unit)

# Unit tests: tests/unit/<layer>/test_<module>.c, one cmocka executable each, compiled
# against the same include view as the layer it tests, registered with ctest.
foreach(layer IN LISTS STOA_LAYERS)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/${layer}/test_*.c)
  foreach(test_source IN LISTS tests)
    get_filename_component(test_name ${test_source} NAME_WE)
    set(target unit_${layer}_${test_name})
    add_executable(${target} ${test_source})
    target_include_directories(${target} PRIVATE ${CMAKE_BINARY_DIR}/views/${layer}
                               ${CMAKE_BINARY_DIR}/views/tests)
    target_link_libraries(${target} PRIVATE stoa_${layer} ${STOA_SIM_LIBRARY} PkgConfig::CMOCKA)
    # cmocka's failing assertions do not tell the compiler that they never return, so after
    # assert_non_null(p) an optimized build still "sees" a possible NULL p.
    target_compile_options(${target} PRIVATE -Wno-null-dereference)
    add_test(NAME ${layer}/${test_name} COMMAND ${target})
    set_tests_properties(${layer}/${test_name} PROPERTIES TIMEOUT 300 LABELS unit)
  endforeach()
endforeach()
# Unit tests of the client: src/cli is compiled into the stoa executable, not a layer library,
# so its tests (tests/unit/cli/test_*.c) link its sources as a library of their own, against
# the executable's include view (every layer), registered as cli/test_<module>.
file(GLOB cli_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/cli/*.c)
file(GLOB cli_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/cli/test_*.c)
if(cli_sources AND cli_tests)
  add_library(stoa_cli_for_tests STATIC ${cli_sources})
  target_include_directories(stoa_cli_for_tests PRIVATE ${CMAKE_BINARY_DIR}/views/bin)
  target_link_libraries(stoa_cli_for_tests PUBLIC stoa_server stoa_os stoa_util PkgConfig::LIBEDIT)
  foreach(test_source IN LISTS cli_tests)
    get_filename_component(test_name ${test_source} NAME_WE)
    add_executable(unit_cli_${test_name} ${test_source})
    target_include_directories(unit_cli_${test_name} PRIVATE ${CMAKE_BINARY_DIR}/views/bin)
    target_link_libraries(unit_cli_${test_name} PRIVATE stoa_cli_for_tests PkgConfig::CMOCKA)
    add_test(NAME cli/${test_name} COMMAND unit_cli_${test_name})
    set_tests_properties(cli/${test_name} PROPERTIES TIMEOUT 300 LABELS unit)
  endforeach()
endif()
# test_config checks that docs/config.md matches the schema, so it reads the source tree.
target_compile_definitions(unit_util_test_config PRIVATE STOA_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
# test_commands_doc checks that docs/commands.md matches the command table.
target_compile_definitions(unit_proto_test_commands_doc PRIVATE STOA_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
# test_peer loads the example configs of deploy/examples/three-nodes.
target_compile_definitions(unit_server_test_peer PRIVATE STOA_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

# The style check over src/, and a check that the style check itself catches each kind
# of planted violation (tests/style/planted/).
set(PYTHON /usr/bin/python3)
add_test(NAME style/check
  COMMAND ${PYTHON} ${CMAKE_SOURCE_DIR}/scripts/style_check.py --root ${CMAKE_SOURCE_DIR})
add_test(NAME style/catches_planted
  COMMAND ${PYTHON} ${CMAKE_SOURCE_DIR}/tests/style/test_style_check.py)
set_tests_properties(style/check style/catches_planted PROPERTIES LABELS style TIMEOUT 60)

# Integration tests: real stoa processes.
file(GLOB integration_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/test_*.py)
foreach(test_source IN LISTS integration_tests)
  get_filename_component(test_name ${test_source} NAME_WE)
  add_test(NAME integration/${test_name} COMMAND ${PYTHON} ${test_source})
  set_tests_properties(integration/${test_name} PROPERTIES
    LABELS integration TIMEOUT 300
    ENVIRONMENT "STOA_BIN=$<TARGET_FILE:stoa>;STOA_ENGINE_TOOL=$<TARGET_FILE:stoa-engine-tool>")
endforeach()

# Tools that drive the engine in a real process: the kill -9 test and bench/engine.sh.
add_executable(stoa-engine-tool ${CMAKE_SOURCE_DIR}/tests/tools/engine_tool.c)
target_include_directories(stoa-engine-tool PRIVATE ${CMAKE_BINARY_DIR}/views/bin)
target_link_libraries(stoa-engine-tool PRIVATE stoa_engine stoa_os stoa_util)
# The peer transport's throughput and round trip on loopback (docs/protocols/peer.md).
add_executable(stoa-peer-bench ${CMAKE_SOURCE_DIR}/tests/tools/peer_bench.c)
target_include_directories(stoa-peer-bench PRIVATE ${CMAKE_BINARY_DIR}/views/bin)
target_link_libraries(stoa-peer-bench PRIVATE stoa_server stoa_os stoa_util)

# Fuzz targets: tests/fuzz/fuzz_<name>.c, one per parser, each with a committed corpus in
# tests/fuzz/corpus/<name>/. stoa_fuzz_target(<name> <layer>) compiles the target against
# <layer>'s include view and:
#   - always builds fuzz_<name>_replay (the target plus tests/fuzz/replay_main.c), which runs
#     every corpus file through the target under this build's sanitizers, registered with
#     ctest as fuzz/<name>_corpus (label fuzz), so `make test` replays each corpus;
#   - with -DSTOA_FUZZ=ON and clang (`make fuzz-<name>`), also builds fuzz_<name> with
#     libFuzzer. The layers are then compiled with libFuzzer's coverage instrumentation.
option(STOA_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
if(STOA_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "STOA_FUZZ needs clang: configure with -DCMAKE_C_COMPILER=clang")
  endif()
  foreach(layer IN LISTS STOA_LAYERS)
    get_target_property(kind stoa_${layer} TYPE)
    if(NOT kind STREQUAL "INTERFACE_LIBRARY")
      # -O1: libFuzzer's recommended speed; the Debug build's assertions stay on. clang's
      # -Wcast-align also warns where the target allows unaligned access, which GCC's does not
      # (container-of casts in engine and util), so it is left to the GCC builds.
      target_compile_options(stoa_${layer} PRIVATE -fsanitize=fuzzer-no-link -O1
                             -Wno-cast-align)
    endif()
  endforeach()
endif()

function(stoa_fuzz_target name layer)
  set(source ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
  add_executable(fuzz_${name}_replay ${source} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
  target_include_directories(fuzz_${name}_replay PRIVATE ${CMAKE_BINARY_DIR}/views/${layer})
  target_link_libraries(fuzz_${name}_replay PRIVATE stoa_${layer})
  add_test(NAME fuzz/${name}_corpus
    COMMAND fuzz_${name}_replay ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  set_tests_properties(fuzz/${name}_corpus PROPERTIES LABELS fuzz TIMEOUT 300)
  if(STOA_FUZZ)
    add_executable(fuzz_${name} ${source})
    target_include_directories(fuzz_${name} PRIVATE ${CMAKE_BINARY_DIR}/views/${layer})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer -O1 -Wno-cast-align)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${name} PRIVATE stoa_${layer})
  endif()
endfunction()

stoa_fuzz_target(resp proto)
stoa_fuzz_target(resp_reply proto)
stoa_fuzz_target(geomys proto)
stoa_fuzz_target(http proto)
stoa_fuzz_target(multiverse9 proto)
stoa_fuzz_target(peer_frame proto)
stoa_fuzz_target(commands proto)
stoa_fuzz_target(paxos_message consensus)

# The deterministic cluster simulator (tests/sim/stoa_sim*.c, docs/simulation.md): whole replica
# groups (consensus, journal on sim_env, engine, clients) in one thread, one seed per run. It
# compiles its own copy of the consensus core with STOA_PLANTS, so `stoa-sim --plant BUG`
# switches on a known bug (src/consensus/plant.h) that the product can never contain; the
# core's objects in the executable take precedence over the stoa_consensus archive.
file(GLOB stoa_sim_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/sim/stoa_sim*.c)
file(GLOB stoa_sim_consensus_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/consensus/*.c)
add_executable(stoa-sim ${stoa_sim_sources} ${stoa_sim_consensus_sources})
target_compile_definitions(stoa-sim PRIVATE STOA_PLANTS=1)
target_include_directories(stoa-sim PRIVATE ${CMAKE_BINARY_DIR}/views/cluster
                           ${CMAKE_BINARY_DIR}/views/tests)
target_link_libraries(stoa-sim PRIVATE stoa_cluster stoa_engine stoa_sim stoa_check stoa_util)
# 500 seeds under make test (about 30 s in the ASan build, docs/simulation.md), each planted
# bug caught within 100 seeds, and the command line (replay, histories, usage).
add_test(NAME sim/seeds COMMAND stoa-sim --seeds 0..499 --quiet)
set_tests_properties(sim/seeds PROPERTIES LABELS unit TIMEOUT 600)
add_test(NAME sim/planted COMMAND /bin/sh ${CMAKE_SOURCE_DIR}/tests/sim/test_planted.sh
         $<TARGET_FILE:stoa-sim>)
set_tests_properties(sim/planted PROPERTIES LABELS unit TIMEOUT 600)
add_test(NAME sim/cli COMMAND /bin/sh ${CMAKE_SOURCE_DIR}/tests/sim/test_sim_cli.sh
         $<TARGET_FILE:stoa-sim> $<TARGET_FILE:stoa-check>)
set_tests_properties(sim/cli PROPERTIES LABELS unit TIMEOUT 300)

# The real-process nemesis (docs/nemesis.md), short: five members in network namespaces
# under kills, pauses, partitions, packet loss and clock jumps for 20 s, the histories checked
# by stoa-check. Skipped (77) where network namespaces cannot be made; `make nemesis` runs
# the long form on a Release build.
add_test(NAME nemesis/short COMMAND ${PYTHON} ${CMAKE_SOURCE_DIR}/tests/nemesis/nemesis.py
         --stoa $<TARGET_FILE:stoa> --checker $<TARGET_FILE:stoa-check> --duration 20 --quiet)
set_tests_properties(nemesis/short PROPERTIES LABELS integration TIMEOUT 300
                     SKIP_RETURN_CODE 77)
