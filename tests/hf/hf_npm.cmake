# The Hugging Face reference packages (npm) for the parity tests, installed into the build
# tree by one CTest fixture, `hf_npm_install`, shared by every test that needs them:
#
#   include(${PROJECT_SOURCE_DIR}/tests/hf/hf_npm.cmake)
#   es_hf_npm_test(my_test)   # FIXTURES_REQUIRED hf_npm_install, and for the test's sources
#                             # ES_NODE (node's path, "" if missing), ES_HF_NPM_DIR (where
#                             # node_modules and the tests/hf/*.mjs scripts are) and
#                             # ES_HF_SOURCE_DIR (tests/hf in the source tree)
#
# The fixture copies package.json, package-lock.json and tests/hf/*.mjs there and runs
# `npm ci` (skipped while the installed lock file is unchanged). Tests skip when node or npm
# is missing.
include_guard(GLOBAL)

find_program(ES_NODE_PROGRAM node)
find_program(ES_NPM_PROGRAM npm)
set(ES_HF_NPM_DIR "${CMAKE_BINARY_DIR}/hf_npm")

if(ES_NODE_PROGRAM AND ES_NPM_PROGRAM)
  add_test(NAME hf_npm_install
           COMMAND "${CMAKE_COMMAND}" -DSRC=${CMAKE_CURRENT_LIST_DIR} -DDST=${ES_HF_NPM_DIR}
                   -DNPM=${ES_NPM_PROGRAM} -P "${CMAKE_CURRENT_LIST_DIR}/npm_install.cmake")
  set_tests_properties(hf_npm_install PROPERTIES FIXTURES_SETUP hf_npm_install TIMEOUT 900)
endif()

# es_hf_npm_test(TARGET): the test TARGET (made by es_add_qt_test) needs the packages.
function(es_hf_npm_test target)
  set(node "${ES_NODE_PROGRAM}")
  if(NOT ES_NODE_PROGRAM OR NOT ES_NPM_PROGRAM)
    set(node "")
  endif()
  target_compile_definitions(${target} PRIVATE ES_NODE="${node}" ES_HF_NPM_DIR="${ES_HF_NPM_DIR}"
                                               ES_HF_SOURCE_DIR="${PROJECT_SOURCE_DIR}/tests/hf")
  if(node)
    set_tests_properties(${target} PROPERTIES FIXTURES_REQUIRED hf_npm_install)
  endif()
endfunction()
