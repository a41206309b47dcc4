# Project-wide compile settings. The Boost.MPL limits must be identical in
# every translation unit that includes Boost (one-definition rule), so they
# are set here once, for every target, before any Boost header is seen.
# `treatyc build` passes the same list to the compiler it runs.
add_compile_options(-Wall -Wextra)
set(TREATY_BOOST_DEFINITIONS
  BOOST_MPL_CFG_NO_PREPROCESSED_HEADERS
  BOOST_MPL_LIMIT_VECTOR_SIZE=50
  BOOST_MPL_LIMIT_MAP_SIZE=50
  BOOST_BIND_GLOBAL_PLACEHOLDERS
  BOOST_ALLOW_DEPRECATED_HEADERS)
add_compile_definitions(${TREATY_BOOST_DEFINITIONS})
list(TRANSFORM TREATY_BOOST_DEFINITIONS PREPEND "-D" OUTPUT_VARIABLE TREATY_BOOST_FLAGS)
list(JOIN TREATY_BOOST_FLAGS " " TREATY_BOOST_FLAGS)
# Heavy MSM translation units need more than the default template depth.
set(TREATY_MSM_TEMPLATE_DEPTH 2048)
