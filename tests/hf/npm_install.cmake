# Run by the hf_npm_install test fixture (see hf_npm.cmake): installs the npm packages of
# tests/hf (SRC) into the build tree (DST) with `npm ci`, and copies the reference scripts.
# Arguments: -DSRC=... -DDST=... -DNPM=...
file(MAKE_DIRECTORY "${DST}")
configure_file("${SRC}/package.json" "${DST}/package.json" COPYONLY)
configure_file("${SRC}/package-lock.json" "${DST}/package-lock.json" COPYONLY)
file(GLOB scripts "${SRC}/*.mjs")
foreach(script IN LISTS scripts)
  file(COPY "${script}" DESTINATION "${DST}")
endforeach()

file(SHA256 "${SRC}/package-lock.json" wanted)
set(stamp "${DST}/node_modules/.expertscope-lock-sha256")
if(EXISTS "${stamp}")
  file(READ "${stamp}" installed)
  if(installed STREQUAL wanted)
    message(STATUS "hf_npm_install: ${DST}/node_modules is up to date")
    return()
  endif()
endif()

execute_process(COMMAND "${NPM}" ci --no-audit --no-fund
                WORKING_DIRECTORY "${DST}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "hf_npm_install: `npm ci` failed in ${DST} (it needs the npm registry)")
endif()
file(WRITE "${stamp}" "${wanted}")
