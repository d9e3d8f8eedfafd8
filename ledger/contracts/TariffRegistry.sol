// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts-shanghai/access/Ownable.sol";

/// @title TariffRegistry
/// @notice Versioned tariffs: time-of-use bands by weekday and hour, an EV incentive and a local-market price.
/// Every `setTariff` appends a new immutable version (1, 2, ...); billing records name the version they used.
/// Prices are micro-units of the currency per kWh. The cost formula lives off chain (ledger/tariff.ts) and is
/// recomputed by the verifier for every record.
contract TariffRegistry is Ownable {
    uint256 public constant HOURS_PER_WEEK = 168;
    uint256 public constant MAX_BANDS = 16;

    struct Tariff {
        /// Price per band (micro-units per kWh).
        int64[] bandPrices;
        /// 168 bytes: band index for weekday * 24 + hour of local time; weekday 0 = Monday.
        bytes schedule;
        /// Discount per kWh of EV charging energy (micro-units per kWh).
        int64 evIncentive;
        /// Local-market price per kWh credited for exported (V2G) energy.
        int64 marketPrice;
        /// Offset of local time from UTC, seconds.
        int32 utcOffsetSeconds;
        /// First unix second the tariff applies.
        uint64 validFrom;
    }

    Tariff[] private _versions;

    event TariffSet(uint32 indexed version, uint64 validFrom);

    error NoBands();
    error TooManyBands(uint256 count);
    error ScheduleLength(uint256 length);
    error UnknownBand(uint256 hourOfWeek, uint8 band);
    error NegativePrice(uint256 band);
    error UnknownVersion(uint32 version);

    constructor(address initialOwner) Ownable(initialOwner) {}

    function setTariff(Tariff calldata t) external onlyOwner returns (uint32 version) {
        uint256 bands = t.bandPrices.length;
        if (bands == 0) revert NoBands();
        if (bands > MAX_BANDS) revert TooManyBands(bands);
        if (t.schedule.length != HOURS_PER_WEEK) revert ScheduleLength(t.schedule.length);
        for (uint256 i = 0; i < bands; ++i) {
            if (t.bandPrices[i] < 0) revert NegativePrice(i);
        }
        for (uint256 h = 0; h < HOURS_PER_WEEK; ++h) {
            uint8 b = uint8(t.schedule[h]);
            if (b >= bands) revert UnknownBand(h, b);
        }
        Tariff storage s = _versions.push();
        s.bandPrices = t.bandPrices;
        s.schedule = t.schedule;
        s.evIncentive = t.evIncentive;
        s.marketPrice = t.marketPrice;
        s.utcOffsetSeconds = t.utcOffsetSeconds;
        s.validFrom = t.validFrom;
        version = uint32(_versions.length);
        emit TariffSet(version, t.validFrom);
    }

    function currentVersion() external view returns (uint32) {
        return uint32(_versions.length);
    }

    function tariff(uint32 version) external view returns (Tariff memory) {
        if (version == 0 || version > _versions.length) revert UnknownVersion(version);
        return _versions[version - 1];
    }
}
