/**
 * IEC 62053-21 (static meters for active energy, classes 1 and 2), §8.3.2, test of no-load condition: with the
 * current circuit open and 115 % of the reference voltage applied, the meter's test output produces at most one
 * pulse in the test period. MI-003 §5.4 asks that a meter registers nothing between 0.8 Un and 1.1 Un; the type
 * test checks it above that range, as here.
 */
export const IEC_62053_21_NO_LOAD_VOLTAGE = 1.15;
export const IEC_62053_21_NO_LOAD_MAX_PULSES = 1;
export const IEC_62053_21_NO_LOAD_CLAUSE =
  'IEC 62053-21 §8.3.2 (no-load: at 115 % Un, no current, at most one pulse) for MID 2014/32/EU Annex V (MI-003) §5.4';
