file(GLOB_RECURSE files
  "${SOURCE_DIR}/engine/*.cpp" "${SOURCE_DIR}/engine/*.h"
  "${SOURCE_DIR}/ui/*.cpp" "${SOURCE_DIR}/ui/*.h"
  "${SOURCE_DIR}/app/*.cpp" "${SOURCE_DIR}/app/*.h"
  "${SOURCE_DIR}/plugins/*.cpp" "${SOURCE_DIR}/plugins/*.h"
  "${SOURCE_DIR}/tests/*.cpp" "${SOURCE_DIR}/tests/*.h")
execute_process(COMMAND "${CLANG_FORMAT}" --dry-run --Werror ${files}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-format found unformatted code (run clang-format -i on these):\n${err}")
endif()
