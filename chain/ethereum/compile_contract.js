// Compiles TreatyPins.sol with the pinned npm solc (solc-js) through its
// standard-JSON API and writes TreatyPins.abi (JSON) and TreatyPins.bin
// (creation bytecode, hex without 0x) into OUTDIR. The build runs it
// (chain/CMakeLists.txt); the standard-JSON input names the source
// "TreatyPins.sol" whatever the checkout's path, so the metadata hash at
// the end of the bytecode, and so the bytecode, do not depend on where the
// tree is built.
//
// Usage: node compile_contract.js SOLC_MODULE_DIR SOURCE.sol OUTDIR
'use strict';

const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write('compile_contract: ' + message + '\n');
  process.exit(1);
}

if (process.argv.length !== 5) fail('usage: node compile_contract.js SOLC_MODULE_DIR SOURCE.sol OUTDIR');
const [solcDir, sourcePath, outDir] = process.argv.slice(2);
const solc = require(path.resolve(solcDir));
const contractName = 'TreatyPins';
const sourceName = contractName + '.sol';

const input = {
  language: 'Solidity',
  sources: {[sourceName]: {content: fs.readFileSync(sourcePath, 'utf8')}},
  settings: {
    // Pinned rather than solc's default, so a solc upgrade does not change
    // which opcodes the deployed code needs from the chain.
    evmVersion: 'cancun',
    optimizer: {enabled: true, runs: 200},
    outputSelection: {[sourceName]: {[contractName]: ['abi', 'evm.bytecode.object']}},
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of output.errors || []) {
  process.stderr.write((e.formattedMessage || e.message) + '\n');
  // Warnings fail the build too: the contract is small enough to keep clean.
  failed = true;
}
if (failed) fail('solc ' + solc.version() + ' reported the messages above');

const contract = output.contracts && output.contracts[sourceName] && output.contracts[sourceName][contractName];
if (!contract || !contract.evm || !/^[0-9a-f]+$/.test(contract.evm.bytecode.object))
  fail('solc produced no bytecode for ' + contractName);
fs.mkdirSync(outDir, {recursive: true});
fs.writeFileSync(path.join(outDir, contractName + '.abi'), JSON.stringify(contract.abi));
fs.writeFileSync(path.join(outDir, contractName + '.bin'), contract.evm.bytecode.object);
