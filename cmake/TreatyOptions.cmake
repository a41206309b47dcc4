# Project-wide compile settings. The Boost.MPL limits must be identical in
# every translation unit that includes Boost (one-definition rule), so they
# are set here once, for every target, before any Boost header is seen.
add_compile_options(-Wall -Wextra)
add_compile_definitions(
  BOOST_MPL_CFG_NO_PREPROCESSED_HEADERS
  BOOST_MPL_LIMIT_VECTOR_SIZE=50
  BOOST_MPL_LIMIT_MAP_SIZE=50
  BOOST_BIND_GLOBAL_PLACEHOLDERS
  BOOST_ALLOW_DEPRECATED_HEADERS
)
# Heavy MSM translation units need more than the default template depth.
add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-ftemplate-depth=2048>)
