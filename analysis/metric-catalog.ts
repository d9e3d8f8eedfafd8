/**
 * Every metric a suite may name, with its unit and meaning. Suites are validated against this catalog, so a
 * criterion on an unknown metric or with the wrong unit is an input error at load time, not a surprise at run time.
 */
export interface MetricInfo {
  unit: string;
  description: string;
}

export const METRICS = {
  'detection.precision': { unit: '1', description: 'Matched detected events / detected events (all classes).' },
  'detection.recall': { unit: '1', description: 'Matched true events / true events (all classes).' },
  'detection.f1': { unit: '1', description: 'Harmonic mean of detection precision and recall.' },
  'detection.macro_f1': { unit: '1', description: 'Mean over true classes of per-class identification F1.' },
  'detection.ev_recall': { unit: '1', description: 'Matched true EV events / true EV events.' },
  'identification.accuracy': { unit: '1', description: 'Matched events whose identified class is the true class.' },
  'identification.ev_accuracy': { unit: '1', description: 'Matched EV events identified as the right EV charger.' },
  'latency.p50_s': { unit: 's', description: 'Median detection latency of matched events.' },
  'latency.p95_s': { unit: 's', description: '95th percentile detection latency.' },
  'latency.p99_s': { unit: 's', description: '99th percentile detection latency.' },
  'latency.max_s': { unit: 's', description: 'Worst detection latency.' },
  'energy.total_error_pct': { unit: '%', description: 'Metered total import energy vs the true total.' },
  'energy.ev_error_pct_max': { unit: '%', description: 'Worst per-session EV energy error (billed vs true).' },
  'energy.fraction_assigned': { unit: '1', description: 'Fraction of total energy assigned correctly (NILMTK).' },
  'energy.assigned_accuracy': {
    unit: '1',
    description:
      'Energy per class assigned by the meter vs true: 1 − Σ|assigned − true| / (2 Σ true) (Kolter & Johnson 2011).',
  },
  'energy.nde': { unit: '1', description: 'Normalised disaggregation error sqrt(Σ(ŷ−y)²/Σy²).' },
  'metrology.max_error_ratio': {
    unit: '1',
    description: 'Worst |error| / MID maximum permissible error over the test points (≤ 1 passes).',
  },
  'metrology.max_error_pct': { unit: '%', description: 'Worst |energy error| over the test points.' },
  'metrology.max_expanded_uncertainty_pct': {
    unit: '%',
    description: "Largest expanded uncertainty (GUM, k = 2) of a test point's energy error.",
  },
  'metrology.points_not_accepted': {
    unit: 'count',
    description:
      "Test points the suite's decision rule does not accept (guarded: |e| + U > MPE, a conditional pass included; simple: |e| > MPE).",
  },
  'metrology.points_beyond_mpe': {
    unit: 'count',
    description:
      'Test points whose |error| exceeds the MPE (ILAC-G8 fail or conditional fail): refused by every decision rule.',
  },
  'metrology.conditional_passes_refused': {
    unit: 'count',
    description:
      'Test points within the MPE only without their uncertainty (|e| ≤ MPE < |e| + U: an ILAC-G8 conditional pass) that guarded acceptance refuses; 0 under simple acceptance.',
  },
  'metrology.creep_pulses': { unit: 'count', description: 'Pulses counted at no load during the creep test.' },
  'metrology.max_error_shift_pct': {
    unit: '%',
    description: "Largest change of a point's error under a disturbance, against the same point without it.",
  },
  'metrology.starting_gaps': {
    unit: 'count',
    description:
      'Halves of the starting test at Ist in which the meter registered nothing (0: it started and kept registering).',
  },
  'ocpp.transactions': { unit: 'count', description: 'Charging transactions the station reported.' },
  'ocpp.sessions_missing': {
    unit: 'count',
    description: 'EV sessions with an accepted token that the station ran no transaction for.',
  },
  'ocpp.sessions_double': { unit: 'count', description: 'Sessions the station reported as more than one transaction.' },
  'ocpp.unexpected_transactions': { unit: 'count', description: 'Transactions that match no EV session.' },
  'ocpp.refused_token_charged': {
    unit: 'count',
    description: 'Transactions for a token the back office did not accept (Blocked, Expired, Invalid, Unknown).',
  },
  'ocpp.not_ended': { unit: 'count', description: 'Transactions never ended (no StopTransaction or Ended event).' },
  'ocpp.ocmf_conformance_failures': {
    unit: 'count',
    description: 'Transactions whose signed meter values break the OCMF specification (any issue).',
  },
  'ocpp.ocmf_compatibility_failures': {
    unit: 'count',
    description:
      'Transactions a transparency verifier could not show as verified (unreadable, key, signature, begin/end, identification).',
  },
  'ocpp.register_not_monotonic': {
    unit: 'count',
    description: 'Transactions whose energy register went back between meter values (OCPP MeterValues).',
  },
  'ocpp.call_errors': {
    unit: 'count',
    description: 'CALLERRORs the bench sent the station (malformed or invalid calls).',
  },
  'ocpp.duplicate_messages': {
    unit: 'count',
    description: 'Transaction messages the station repeated (taken once; informative).',
  },
  'ocpp.meter_values_interval_ratio_max': {
    unit: '1',
    description: 'Longest gap between a transaction’s meter values ÷ the interval the bench set the station to.',
  },
  'ocpp.offline_messages': {
    unit: 'count',
    description: 'Transaction messages the station marked as sent from its offline queue (2.0.1 offline).',
  },
  'ocpp.outages': { unit: 'count', description: 'Network outages the bench staged (the station cut off).' },
  'ocpp.bench_restarts': {
    unit: 'count',
    description: "Restarts of the bench's central system staged mid-case (its memory rebuilt from the wire log).",
  },
  'ocpp.boot_notifications': {
    unit: 'count',
    description: 'Cases in which the station had sent its BootNotification on the run connection (1 per case).',
  },
  'ocpp.identity_mismatches': {
    unit: 'count',
    description:
      "Fields of the rig file's nameplate (vendor, model, serial, firmware) that the station's own BootNotification contradicts.",
  },
  'ocpp.remote_stops': { unit: 'count', description: 'Remote stops the bench sent a station during the case.' },
  'ocpp.remote_stops_not_honoured': {
    unit: 'count',
    description:
      'Remote stops the station refused, or after which the transaction did not end as remotely stopped (1.6 reason / 2.0.1 stoppedReason Remote).',
  },
  'ocpp.reconnections': { unit: 'count', description: 'Times the station connected again during the case.' },
  'ocpp.energy_error_pct_max': {
    unit: '%',
    description: 'Worst per-transaction error of the signed energy (end − begin) against the true session energy.',
  },
  'billing.expected': { unit: 'count', description: 'Billing records the ground truth expects.' },
  'billing.missing': { unit: 'count', description: 'Expected records never seen on the ledger.' },
  'billing.duplicates': { unit: 'count', description: 'Records that landed more than once.' },
  'billing.rejected': { unit: 'count', description: 'Records the meter emitted that the ledger refused.' },
  'billing.invalid_signature': { unit: 'count', description: 'Records whose signature is not the meter key.' },
  'billing.sequence_errors': { unit: 'count', description: 'Gaps or reorderings in the per-meter sequence.' },
  'billing.payer_mismatch': { unit: 'count', description: 'Records billed to the wrong payer.' },
  'billing.host_mismatch': { unit: 'count', description: 'Records naming the wrong host meter.' },
  'billing.time_mismatch': { unit: 'count', description: 'Records whose start/end is outside tolerance.' },
  'billing.energy_mismatch': { unit: 'count', description: 'Records whose energy is outside the class limit.' },
  'billing.cost_mismatch': { unit: 'count', description: 'Records whose cost differs from the recomputed tariff.' },
  'billing.v2g_uncredited': { unit: 'count', description: 'Export sessions without the export credited.' },
  'billing.tampered': {
    unit: 'count',
    description: 'Landed records whose content differs from what the meter signed.',
  },
  'billing.unattested': { unit: 'count', description: 'Records from a meter whose firmware is not attested.' },
  'billing.evidence_mismatch': {
    unit: 'count',
    description:
      "A charging station's records that cite no verified OCMF transaction of the run, another station key, or other energy or times than the station signed.",
  },
  'reports.missing': { unit: 'count', description: 'Periodic reports missing against the configured interval.' },
  'clock.max_offset_s': { unit: 's', description: 'Worst meter clock offset from the bench clock.' },
  'privacy.leaks': { unit: 'count', description: 'Outputs carrying raw waveforms or clear-text payer ids.' },
  'log.events_logged': { unit: '1', description: 'Fraction of detected events present in the meter log.' },
  'failure.reported': { unit: 'count', description: 'Failure messages the meter reported for injected faults.' },
  'storage.records_recovered': { unit: '1', description: 'Fraction of records stored during an outage delivered.' },
} as const satisfies Record<string, MetricInfo>;

export type MetricName = keyof typeof METRICS;

export function metricInfo(name: string): MetricInfo | undefined {
  return (METRICS as Record<string, MetricInfo>)[name];
}
