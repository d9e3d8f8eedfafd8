// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {ECDSA} from "@openzeppelin/contracts-shanghai/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts-shanghai/utils/cryptography/EIP712.sol";
import {Hashes} from "@openzeppelin/contracts-shanghai/utils/cryptography/Hashes.sol";
import {MeterRegistry} from "./MeterRegistry.sol";

/// @title BillingLedger
/// @notice Accepts EIP-712 signed billing records from registered, attested, non-revoked meters. Anyone (a relayer)
/// may pay the gas; only the meter's key signs. Each meter's records carry a strict sequence (seq == last + 1), so a
/// replayed, duplicated or skipped record cannot land.
///
/// Two paths:
/// - `submit`: one record and its signature; emits `BillingRecorded` with the full record and the signature.
/// - `submitBatch`: N consecutive records of one meter with one signature over a `BillingBatch` whose `root` is the
///   Merkle root of the records' EIP-712 struct hashes (leaves in sequence order; pairs hashed with OpenZeppelin's
///   commutative keccak256; an odd node is carried up unchanged). The records travel in calldata (available to any
///   verifier from the transaction) without the fields they share: meter, host and first sequence number once per
///   batch, the others implied (firstSeq + 1, + 2, ...). The contract rebuilds every leaf and the root, checks the batch signature and
///   emits one `BatchRecorded` event. Membership of a record is checked off chain with a Merkle proof.
contract BillingLedger is EIP712 {
    struct BillingRecord {
        address meter;
        uint64 seq;
        bytes32 payer;
        bytes32 host;
        uint64 start;
        uint64 end;
        uint64 importMilliWh;
        uint64 exportMilliWh;
        int128 costMicro;
        uint32 tariffVersion;
        bytes32 loadClass;
        bool attributed;
    }

    /// A record of a batch without the fields the batch states once (meter, host) or implies (seq).
    struct BatchEntry {
        bytes32 payer;
        uint64 start;
        uint64 end;
        uint64 importMilliWh;
        uint64 exportMilliWh;
        int128 costMicro;
        uint32 tariffVersion;
        bytes32 loadClass;
        bool attributed;
    }

    bytes32 public constant RECORD_TYPEHASH = keccak256(
        "BillingRecord(address meter,uint64 seq,bytes32 payer,bytes32 host,uint64 start,uint64 end,uint64 importMilliWh,uint64 exportMilliWh,int128 costMicro,uint32 tariffVersion,bytes32 loadClass,bool attributed)"
    );
    bytes32 public constant BATCH_TYPEHASH =
        keccak256("BillingBatch(address meter,uint64 firstSeq,uint32 count,bytes32 root)");
    uint256 public constant MAX_BATCH = 1024;

    MeterRegistry public immutable registry;

    /// Last accepted sequence number per meter (0 = none yet).
    mapping(address meter => uint64) public lastSeq;

    event BillingRecorded(address indexed meter, uint64 indexed seq, BillingRecord record, bytes signature);
    event BatchRecorded(address indexed meter, uint64 indexed firstSeq, uint32 count, bytes32 root, bytes signature);

    error InvalidSignature(address meter, address recovered);
    error MeterNotRegistered(address meter);
    error MeterIsRevoked(address meter);
    error FirmwareNotAttested(address meter);
    error HostMismatch(address meter, bytes32 registered, bytes32 host);
    error SequenceMismatch(address meter, uint64 expected, uint64 seq);
    error InvalidTimes(uint64 start, uint64 end);
    error BatchSize(uint256 count);

    constructor(MeterRegistry registry_) EIP712("BenchBillingLedger", "1") {
        registry = registry_;
    }

    function submit(BillingRecord calldata r, bytes calldata signature) external {
        bytes32 digest = _hashTypedDataV4(hashRecord(r));
        address signer = ECDSA.recover(digest, signature);
        if (signer != r.meter) revert InvalidSignature(r.meter, signer);
        _checkMeter(r.meter, r.host);
        _checkTimes(r);
        uint64 expected = lastSeq[r.meter] + 1;
        if (r.seq != expected) revert SequenceMismatch(r.meter, expected, r.seq);
        lastSeq[r.meter] = expected;
        emit BillingRecorded(r.meter, expected, r, signature);
    }

    function submitBatch(
        address meter,
        uint64 firstSeq,
        bytes32 host,
        BatchEntry[] calldata entries,
        bytes calldata signature
    ) external {
        uint256 n = entries.length;
        if (n == 0 || n > MAX_BATCH) revert BatchSize(n);
        _checkMeter(meter, host);
        uint64 expected = lastSeq[meter] + 1;
        if (firstSeq != expected) revert SequenceMismatch(meter, expected, firstSeq);
        bytes32[] memory nodes = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            BatchEntry calldata e = entries[i];
            if (e.end < e.start) revert InvalidTimes(e.start, e.end);
            nodes[i] = _hashEntry(meter, firstSeq + uint64(i), host, e);
        }
        bytes32 root = merkleRoot(nodes);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(BATCH_TYPEHASH, meter, firstSeq, uint32(n), root)));
        address signer = ECDSA.recover(digest, signature);
        if (signer != meter) revert InvalidSignature(meter, signer);
        lastSeq[meter] = firstSeq + uint64(n) - 1;
        emit BatchRecorded(meter, firstSeq, uint32(n), root, signature);
    }

    /// @notice EIP-712 struct hash of a record (also the Merkle leaf of the batch path).
    function hashRecord(BillingRecord calldata r) public pure returns (bytes32) {
        return keccak256(abi.encode(RECORD_TYPEHASH, r));
    }

    /// @dev The record's struct hash, built in scratch memory above the free-memory pointer (not allocated, so the
    /// loop does not grow memory): typehash, meter, seq, payer, host, then the entry's remaining 8 words as given.
    /// Non-canonical calldata words change the hash, so they can only break the batch signature, never forge it.
    function _hashEntry(address meter, uint64 seq, bytes32 host, BatchEntry calldata e) private pure returns (bytes32 h) {
        bytes32 typehash = RECORD_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typehash)
            mstore(add(ptr, 0x20), meter)
            mstore(add(ptr, 0x40), seq)
            mstore(add(ptr, 0x60), calldataload(e))
            mstore(add(ptr, 0x80), host)
            calldatacopy(add(ptr, 0xa0), add(e, 0x20), 0x100)
            h := keccak256(ptr, 0x1a0)
        }
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev Reduces the leaves in place, level by level; destroys `nodes`.
    function merkleRoot(bytes32[] memory nodes) internal pure returns (bytes32) {
        uint256 n = nodes.length;
        while (n > 1) {
            uint256 half = 0;
            for (uint256 i = 0; i < n; i += 2) {
                nodes[half] = i + 1 < n ? Hashes.commutativeKeccak256(nodes[i], nodes[i + 1]) : nodes[i];
                ++half;
            }
            n = half;
        }
        return nodes[0];
    }

    function _checkMeter(address meter, bytes32 host) private view {
        (MeterRegistry.Status status, bytes32 registeredHost) = registry.status(meter);
        if (status != MeterRegistry.Status.Ok) {
            if (status == MeterRegistry.Status.NotRegistered) revert MeterNotRegistered(meter);
            if (status == MeterRegistry.Status.Revoked) revert MeterIsRevoked(meter);
            revert FirmwareNotAttested(meter);
        }
        if (registeredHost != host) revert HostMismatch(meter, registeredHost, host);
    }

    function _checkTimes(BillingRecord calldata r) private pure {
        if (r.end < r.start) revert InvalidTimes(r.start, r.end);
    }
}
