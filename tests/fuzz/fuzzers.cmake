# The fuzzers, one line each: treaty_fuzzer(NAME LIBRARY) builds
# tests/fuzz/NAME.cc with libFuzzer, linked with LIBRARY (one of the
# instrumented libraries of tests/fuzz/targets/CMakeLists.txt), and runs it
# for 20 s under ctest (label `fuzz`) from the seeds in tests/fuzz/seeds/NAME.
# Both CMake projects include this file and define treaty_fuzzer for their
# side: the fuzzers' own clang build (executables) and the main build
# (ctest entries). docs/fuzzing.md.
treaty_fuzzer(expr_fuzz fuzz_definitions)
treaty_fuzzer(definition_fuzz fuzz_definitions)
treaty_fuzzer(proposal_envelope_fuzz fuzz_wire)
treaty_fuzzer(member_message_fuzz fuzz_wire)
treaty_fuzzer(sequencer_frame_fuzz fuzz_wire)
treaty_fuzzer(block_fuzz fuzz_wire)
treaty_fuzzer(ethereum_abi_fuzz fuzz_ethereum)
