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
///
/// Three record forms, told apart by the signed `version` field (the off-chain types are in billing/billing-record.ts):
/// - version 1: import energy only (`bandMilliWh` empty); its struct hash is the original 12-field BillingRecord, so
///   records signed before per-band energy still land;
/// - version 2: also the import energy drawn in each tariff band (`bandMilliWh[b]`, at most 16 bands, adding up to
///   `importMilliWh`); hashed as BillingRecord(..., uint8 version, uint64[] bandMilliWh) with the array encoded as
///   EIP-712 says: keccak256 of its elements, each padded to 32 bytes;
/// - version 3: a charging station's transaction billed by the bench as its central system: the version-2 fields, then
///   `stationKey` (SHA-256 of the station key's SPKI DER) and `ocmfHash` (the digest of the transaction's OCMF
///   records) that the billed energy was verified against. Versions 1 and 2 carry zero words there: those words are
///   not in their struct hash, so anything else would reach the event log unsigned.
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
        uint8 version;
        uint64[] bandMilliWh;
        bytes32 stationKey;
        bytes32 ocmfHash;
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
        uint8 version;
        uint64[] bandMilliWh;
        bytes32 stationKey;
        bytes32 ocmfHash;
    }

    bytes32 public constant RECORD_TYPEHASH = keccak256(
        "BillingRecord(address meter,uint64 seq,bytes32 payer,bytes32 host,uint64 start,uint64 end,uint64 importMilliWh,uint64 exportMilliWh,int128 costMicro,uint32 tariffVersion,bytes32 loadClass,bool attributed)"
    );
    bytes32 public constant RECORD_V2_TYPEHASH = keccak256(
        "BillingRecord(address meter,uint64 seq,bytes32 payer,bytes32 host,uint64 start,uint64 end,uint64 importMilliWh,uint64 exportMilliWh,int128 costMicro,uint32 tariffVersion,bytes32 loadClass,bool attributed,uint8 version,uint64[] bandMilliWh)"
    );
    bytes32 public constant RECORD_V3_TYPEHASH = keccak256(
        "BillingRecord(address meter,uint64 seq,bytes32 payer,bytes32 host,uint64 start,uint64 end,uint64 importMilliWh,uint64 exportMilliWh,int128 costMicro,uint32 tariffVersion,bytes32 loadClass,bool attributed,uint8 version,uint64[] bandMilliWh,bytes32 stationKey,bytes32 ocmfHash)"
    );
    bytes32 public constant BATCH_TYPEHASH =
        keccak256("BillingBatch(address meter,uint64 firstSeq,uint32 count,bytes32 root)");
    uint256 public constant MAX_BATCH = 1024;
    /// The TariffRegistry's band limit.
    uint256 public constant MAX_BANDS = 16;

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
    error UnknownVersion(uint8 version);
    error BandEnergy(uint8 version, uint256 bands, uint256 sum, uint64 importMilliWh);
    error StationFields(uint8 version);

    constructor(MeterRegistry registry_) EIP712("BenchBillingLedger", "1") {
        registry = registry_;
    }

    function submit(BillingRecord calldata r, bytes calldata signature) external {
        bytes32 digest = _hashTypedDataV4(hashRecord(r));
        address signer = ECDSA.recover(digest, signature);
        if (signer != r.meter) revert InvalidSignature(r.meter, signer);
        _checkMeter(r.meter, r.host);
        _checkTimes(r);
        _checkBands(r.version, r.bandMilliWh, r.importMilliWh);
        uint64 expected = lastSeq[r.meter] + 1;
        if (r.seq != expected) revert SequenceMismatch(r.meter, expected, r.seq);
        lastSeq[r.meter] = expected;
        _emitRecorded(r.meter, expected);
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
            _checkBands(e.version, e.bandMilliWh, e.importMilliWh);
            nodes[i] = _hashEntry(meter, firstSeq + uint64(i), host, e);
        }
        bytes32 root = merkleRoot(nodes);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(BATCH_TYPEHASH, meter, firstSeq, uint32(n), root)));
        address signer = ECDSA.recover(digest, signature);
        if (signer != meter) revert InvalidSignature(meter, signer);
        lastSeq[meter] = firstSeq + uint64(n) - 1;
        emit BatchRecorded(meter, firstSeq, uint32(n), root, signature);
    }

    /// @notice EIP-712 struct hash of a record (also the Merkle leaf of the batch path), by its version.
    function hashRecord(BillingRecord calldata r) public pure returns (bytes32 h) {
        uint8 version = r.version;
        uint64[] calldata bands = r.bandMilliWh;
        bytes32 stationKey = r.stationKey;
        bytes32 ocmfHash = r.ocmfHash;
        bytes32 typehash = _typehash(version, bands.length, stationKey, ocmfHash, r.importMilliWh);
        // The 12 static fields are the first 12 words of the calldata struct, in EIP-712 order (built in scratch
        // memory above the free-memory pointer, as in _hashEntry).
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typehash)
            calldatacopy(add(ptr, 0x20), r, 0x180)
            switch version
            case 1 { h := keccak256(ptr, 0x1a0) }
            default {
                mstore(add(ptr, 0x1a0), version)
                let n := mul(bands.length, 0x20)
                calldatacopy(add(ptr, 0x1e0), bands.offset, n)
                mstore(add(ptr, 0x1c0), keccak256(add(ptr, 0x1e0), n))
                switch version
                case 2 { h := keccak256(ptr, 0x1e0) }
                default {
                    mstore(add(ptr, 0x1e0), stationKey)
                    mstore(add(ptr, 0x200), ocmfHash)
                    h := keccak256(ptr, 0x220)
                }
            }
        }
    }

    /// @dev The record's struct hash, built in scratch memory above the free-memory pointer (not allocated, so the
    /// loop does not grow memory): typehash, meter, seq, payer, host, then the entry's remaining 8 words as given;
    /// versions 2 and 3 add the version word and the hash of the band energies, version 3 the station fields.
    /// Non-canonical calldata words change the hash, so they can only break the batch signature, never forge it.
    function _hashEntry(address meter, uint64 seq, bytes32 host, BatchEntry calldata e) private pure returns (bytes32 h) {
        uint8 version = e.version;
        uint64[] calldata bands = e.bandMilliWh;
        bytes32 stationKey = e.stationKey;
        bytes32 ocmfHash = e.ocmfHash;
        bytes32 typehash = _typehash(version, bands.length, stationKey, ocmfHash, e.importMilliWh);
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typehash)
            mstore(add(ptr, 0x20), meter)
            mstore(add(ptr, 0x40), seq)
            mstore(add(ptr, 0x60), calldataload(e))
            mstore(add(ptr, 0x80), host)
            calldatacopy(add(ptr, 0xa0), add(e, 0x20), 0x100)
            switch version
            case 1 { h := keccak256(ptr, 0x1a0) }
            default {
                mstore(add(ptr, 0x1a0), version)
                let n := mul(bands.length, 0x20)
                calldatacopy(add(ptr, 0x1e0), bands.offset, n)
                mstore(add(ptr, 0x1c0), keccak256(add(ptr, 0x1e0), n))
                switch version
                case 2 { h := keccak256(ptr, 0x1e0) }
                default {
                    mstore(add(ptr, 0x1e0), stationKey)
                    mstore(add(ptr, 0x200), ocmfHash)
                    h := keccak256(ptr, 0x220)
                }
            }
        }
    }

    /// @dev The typehash of a record's form; reverts on an unknown version, on band energies in a version-1 record
    /// and on station fields outside version 3 (the band sums are _checkBands's).
    function _typehash(uint8 version, uint256 bands, bytes32 stationKey, bytes32 ocmfHash, uint64 importMilliWh)
        private
        pure
        returns (bytes32)
    {
        if (version == 0 || version > 3) revert UnknownVersion(version);
        if (version == 1 && bands != 0) revert BandEnergy(version, bands, 0, importMilliWh);
        if (version != 3 && (stationKey != bytes32(0) || ocmfHash != bytes32(0))) revert StationFields(version);
        return version == 1 ? RECORD_TYPEHASH : version == 2 ? RECORD_V2_TYPEHASH : RECORD_V3_TYPEHASH;
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

    /// @dev Emits BillingRecorded(meter, seq, record, signature) with the call's own arguments as the event data:
    /// the ABI encoding of (BillingRecord, bytes) is the same in calldata and in a log, so copying it saves
    /// re-encoding the record (~2,000 gas with its band array). Every value word in it is bound by the signature
    /// checked above (a non-canonical word changes the struct hash) and the offsets lead a decoder to the same words
    /// the contract read, so the log decodes to exactly the record that was verified.
    function _emitRecorded(address meter, uint64 seq) private {
        bytes32 topic = BillingRecorded.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let n := sub(calldatasize(), 4)
            calldatacopy(ptr, 4, n)
            log3(ptr, n, topic, meter, seq)
        }
    }

    function _checkTimes(BillingRecord calldata r) private pure {
        if (r.end < r.start) revert InvalidTimes(r.start, r.end);
    }

    /// @dev Version 1 carries no band energies; versions 2 and 3 carry 1..MAX_BANDS of them, adding up to the import.
    function _checkBands(uint8 version, uint64[] calldata bands, uint64 importMilliWh) private pure {
        uint256 n = bands.length;
        if (version == 1) {
            if (n != 0) revert BandEnergy(version, n, 0, importMilliWh);
            return;
        }
        if (version != 2 && version != 3) revert UnknownVersion(version);
        uint256 sum = 0;
        for (uint256 i = 0; i < n; ++i) sum += bands[i];
        if (n == 0 || n > MAX_BANDS || sum != importMilliWh) revert BandEnergy(version, n, sum, importMilliWh);
    }
}
