// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

// TreatyPins: the ordering contract of Treaty's `ethereum` ledger
// (docs/protocol.md). Its model is Hyperledger FireFly's BatchPin: a member
// sends a batch of masked pins in one transaction, and the event the
// contract emits is the whole ordered record every member follows; the
// chain orders the batches, the contract keeps no state per pin.
//
// Membership is enforced here, by an allow-list fixed at deployment (the
// network file's members), rather than left to the nodes to filter: a
// non-member cannot even pay to put a pin in the order, so no node has to
// skip foreign events and a misconfigured node fails at its first
// transaction instead of pinning into the void.
contract TreatyPins {
    uint256 internal constant MAX_PINS = 4096;
    uint256 internal constant MAX_BATCH_REF_BYTES = 128;

    mapping(address => bool) private isMember;
    address[] private memberList;

    // One batch: its author, the block's time (the ledger time of every pin
    // in it), the hash of the batch, where the batch is in the data
    // exchange, and its masked pins in order.
    event BatchPin(address indexed author, uint256 timestamp, bytes32 batchHash, string batchRef, bytes32[] pins);

    constructor(address[] memory members_) {
        for (uint256 i = 0; i < members_.length; i++) {
            address m = members_[i];
            require(m != address(0), "TreatyPins: zero address member");
            require(!isMember[m], "TreatyPins: duplicate member");
            isMember[m] = true;
            memberList.push(m);
        }
    }

    // An empty `pins` is allowed: a "tick" moves the ledger time forward on
    // a chain that mines only when there are transactions.
    function pinBatch(bytes32 batchHash, string calldata batchRef, bytes32[] calldata pins) external {
        require(isMember[msg.sender], "TreatyPins: sender is not a member");
        require(pins.length <= MAX_PINS, "TreatyPins: too many pins");
        require(bytes(batchRef).length <= MAX_BATCH_REF_BYTES, "TreatyPins: batchRef too long");
        emit BatchPin(msg.sender, block.timestamp, batchHash, batchRef, pins);
    }

    function members() external view returns (address[] memory) {
        return memberList;
    }
}
