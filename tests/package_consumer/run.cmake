# ctest driver: install the built tree into a temporary prefix, then configure,
# build and run the consumer project against it.
set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} COMMAND_ERROR_IS_FATAL ANY
                OUTPUT_QUIET)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${prefix}
                COMMAND_ERROR_IS_FATAL ANY OUTPUT_QUIET)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build COMMAND_ERROR_IS_FATAL ANY OUTPUT_QUIET)
execute_process(COMMAND ${WORK_DIR}/build/consumer OUTPUT_VARIABLE printed COMMAND_ERROR_IS_FATAL ANY)
set(expected "docker exec -w /home/node -u node bottle-consumer codex --version \n")
if(NOT printed STREQUAL expected)
  message(FATAL_ERROR "consumer printed '${printed}', expected '${expected}'")
endif()
foreach(installed bin/bottle-cli bin/bottle-dashboard libexec/bottle/pty-resize)
  if(NOT EXISTS ${prefix}/${installed})
    message(FATAL_ERROR "install is missing ${installed}")
  endif()
endforeach()
message(STATUS "package consumer OK: ${printed}")
