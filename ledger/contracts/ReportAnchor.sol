// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts-shanghai/access/Ownable.sol";

/// @title ReportAnchor
/// @notice Anchors the hash of a certification report (the run record's last hash) with its verdict, once per run.
contract ReportAnchor is Ownable {
    /// 1 PASS, 2 MARGINAL, 3 FAIL, 4 ERROR, 5 NOT RUN.
    struct Anchor {
        bytes32 reportHash;
        uint8 verdict;
        uint64 anchoredAt;
    }

    mapping(bytes32 runKey => Anchor) private _anchors;

    event ReportAnchored(bytes32 indexed runKey, bytes32 reportHash, uint8 verdict);

    error AlreadyAnchored(bytes32 runKey);
    error InvalidVerdict(uint8 verdict);
    error ZeroHash();

    constructor(address initialOwner) Ownable(initialOwner) {}

    function anchor(bytes32 runKey, bytes32 reportHash, uint8 verdict) external onlyOwner {
        if (reportHash == bytes32(0)) revert ZeroHash();
        if (verdict == 0 || verdict > 5) revert InvalidVerdict(verdict);
        if (_anchors[runKey].anchoredAt != 0) revert AlreadyAnchored(runKey);
        _anchors[runKey] = Anchor(reportHash, verdict, uint64(block.timestamp));
        emit ReportAnchored(runKey, reportHash, verdict);
    }

    function anchorOf(bytes32 runKey) external view returns (Anchor memory) {
        return _anchors[runKey];
    }
}
