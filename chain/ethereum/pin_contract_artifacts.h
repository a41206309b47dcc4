// The pin contract as the build compiled it: solc's ABI JSON and creation
// bytecode for chain/ethereum/TreatyPins.sol, embedded by the build
// (chain/ethereum/embed_contract.cmake generates their definitions). Only
// PinContract reads them; it checks the ABI before using either.
//
// Thread-safety: constants.
#pragma once

#include <string_view>

namespace treaty::chain::eth {

// solc's "abi" output, a JSON array.
extern const std::string_view kTreatyPinsAbiJson;
// The creation bytecode, lowercase hex without 0x.
extern const std::string_view kTreatyPinsBytecodeHex;

}  // namespace treaty::chain::eth
