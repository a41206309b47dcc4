# treaty_add_definitions(TARGET DEFINITIONS file.yaml...)
#
# Compiles process definitions into Boost.MSM machines at build time, the
# way protobuf_generate does for .proto files: for each YAML file, treatyc
# emits the machine header and a unit that registers it in the global
# registry when the program starts. TARGET is an OBJECT library, so linking
# it into an executable keeps the registrations (a static archive would let
# the linker drop them). One generated machine per translation unit keeps
# peak compile memory bounded (~1 GB for 50 rows).
function(treaty_add_definitions TARGET)
  cmake_parse_arguments(ARG "" "" "DEFINITIONS" ${ARGN})
  if(NOT ARG_DEFINITIONS)
    message(FATAL_ERROR "treaty_add_definitions(${TARGET}) needs DEFINITIONS")
  endif()
  set(gen_dir ${CMAKE_CURRENT_BINARY_DIR}/${TARGET}_gen)
  file(MAKE_DIRECTORY ${gen_dir})
  set(units)
  foreach(def ${ARG_DEFINITIONS})
    get_filename_component(abs ${def} ABSOLUTE)
    get_filename_component(stem ${def} NAME_WE)
    string(MAKE_C_IDENTIFIER ${stem} stem)
    set(header ${gen_dir}/${stem}.msm.h)
    set(unit ${gen_dir}/${stem}.register.cc)
    add_custom_command(
      OUTPUT ${header} ${unit}
      COMMAND treatyc compile ${abs} -o ${header} --registration ${unit}
      DEPENDS treatyc ${abs}
      COMMENT "treatyc: compiling ${def} to Boost.MSM"
      VERBATIM)
    list(APPEND units ${unit})
  endforeach()
  add_library(${TARGET} OBJECT ${units})
  target_link_libraries(${TARGET} PUBLIC treaty_definitions)
  # Boost 1.74's MSM back-end is not valid C++20 (template-id constructors).
  set_target_properties(${TARGET} PROPERTIES CXX_STANDARD 17)
  target_compile_options(${TARGET} PRIVATE -ftemplate-depth=${TREATY_MSM_TEMPLATE_DEPTH})
endfunction()
