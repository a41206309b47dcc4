# treaty_npm_ci(SOURCE_DIR DEST_DIR WHAT): installs the npm packages pinned
# by SOURCE_DIR/package.json and its package-lock.json into DEST_DIR with
# `npm ci`, at configure time, again only when either file changed or
# DEST_DIR/node_modules is gone (a stamp holds the hashes of what was
# installed, written last, so an interrupted install is retried). WHAT names
# the packages in the status line. Needs TREATY_NPM.
function(treaty_npm_ci source_dir dest_dir what)
  set(stamp ${dest_dir}/treaty-npm.stamp)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${source_dir}/package.json
                                                                 ${source_dir}/package-lock.json)
  file(SHA256 ${source_dir}/package.json package_hash)
  file(SHA256 ${source_dir}/package-lock.json lock_hash)
  set(wanted "${package_hash} ${lock_hash}")
  set(installed "")
  if(EXISTS ${stamp})
    file(READ ${stamp} installed)
  endif()
  if(NOT installed STREQUAL wanted OR NOT IS_DIRECTORY ${dest_dir}/node_modules)
    message(STATUS "Installing the pinned ${what} into ${dest_dir}")
    file(REMOVE ${stamp})
    file(COPY ${source_dir}/package.json ${source_dir}/package-lock.json DESTINATION ${dest_dir})
    execute_process(COMMAND ${TREATY_NPM} ci --no-audit --no-fund --loglevel=error
                    WORKING_DIRECTORY ${dest_dir} RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
      message(FATAL_ERROR "npm ci of ${source_dir}/package-lock.json in ${dest_dir} failed (${result})")
    endif()
    file(WRITE ${stamp} "${wanted}")
  endif()
endfunction()
