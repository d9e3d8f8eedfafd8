// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts-shanghai/access/Ownable.sol";

/// @title MeterRegistry
/// @notice Owner-curated list of meter signing addresses, each bound to a host pseudonym and a firmware hash.
/// A meter may bill only while it is registered, not revoked, and its firmware hash is approved (attested).
/// Host ids are pseudonyms (salted keccak256), never names.
contract MeterRegistry is Ownable {
    enum Status {
        Ok,
        NotRegistered,
        Revoked,
        FirmwareNotAttested
    }

    struct Meter {
        bytes32 host;
        bytes32 firmwareHash;
        uint64 registeredAt;
        uint64 revokedAt;
    }

    mapping(address meter => Meter) private _meters;
    mapping(bytes32 firmwareHash => bool) public firmwareApproved;
    uint256 public meterCount;

    event MeterRegistered(address indexed meter, bytes32 host, bytes32 firmwareHash);
    event MeterRevoked(address indexed meter);
    event MeterFirmwareUpdated(address indexed meter, bytes32 firmwareHash);
    event FirmwareApprovalSet(bytes32 indexed firmwareHash, bool approved);

    error ZeroAddress();
    error ZeroPseudonym();
    error MeterAlreadyRegistered(address meter);
    error UnknownMeter(address meter);
    error MeterAlreadyRevoked(address meter);

    constructor(address initialOwner) Ownable(initialOwner) {}

    function registerMeter(address meter, bytes32 host, bytes32 firmwareHash) external onlyOwner {
        if (meter == address(0)) revert ZeroAddress();
        if (host == bytes32(0)) revert ZeroPseudonym();
        if (_meters[meter].registeredAt != 0) revert MeterAlreadyRegistered(meter);
        _meters[meter] = Meter(host, firmwareHash, uint64(block.timestamp), 0);
        meterCount += 1;
        emit MeterRegistered(meter, host, firmwareHash);
    }

    /// @notice Permanent: a revoked signing key never bills again; register a new key instead.
    function revokeMeter(address meter) external onlyOwner {
        Meter storage m = _meters[meter];
        if (m.registeredAt == 0) revert UnknownMeter(meter);
        if (m.revokedAt != 0) revert MeterAlreadyRevoked(meter);
        m.revokedAt = uint64(block.timestamp);
        emit MeterRevoked(meter);
    }

    /// @notice Records the firmware a registered meter now runs (after an update); it must be approved to bill.
    function updateMeterFirmware(address meter, bytes32 firmwareHash) external onlyOwner {
        Meter storage m = _meters[meter];
        if (m.registeredAt == 0) revert UnknownMeter(meter);
        m.firmwareHash = firmwareHash;
        emit MeterFirmwareUpdated(meter, firmwareHash);
    }

    /// @notice Attests (or withdraws the attestation of) a firmware build, for every meter running it.
    function setFirmwareApproval(bytes32 firmwareHash, bool approved) external onlyOwner {
        firmwareApproved[firmwareHash] = approved;
        emit FirmwareApprovalSet(firmwareHash, approved);
    }

    function meterInfo(address meter) external view returns (Meter memory) {
        return _meters[meter];
    }

    /// @notice What the billing ledger asks before accepting a record.
    function status(address meter) external view returns (Status, bytes32 host) {
        Meter storage m = _meters[meter];
        if (m.registeredAt == 0) return (Status.NotRegistered, bytes32(0));
        if (m.revokedAt != 0) return (Status.Revoked, m.host);
        if (!firmwareApproved[m.firmwareHash]) return (Status.FirmwareNotAttested, m.host);
        return (Status.Ok, m.host);
    }
}
