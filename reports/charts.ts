import type { CaseAnalysis } from '../analysis/case-analysis.js';
import type { ReportCase } from './model.js';

/** A Vega-Lite spec; charts are declared as data and rendered to SVG by Vega (no hand-drawn geometry). */
export type VegaLiteSpec = Record<string, unknown>;

const WIDTH = 640;
/** d3-format for numeric axes: 4 significant digits, thousands grouped, trailing zeros trimmed (0.18, 8,000). */
const AXIS_FORMAT = ',.4~r';

/**
 * Every chart's shared look: rounded axis labels (no 0.179999999 from binning or float steps), and labels never
 * clipped: the view pads itself to its axes' labels, a numeric axis's end labels sit inside its range, and long
 * class names are cut with an ellipsis at a set length instead.
 */
const CONFIG = {
  autosize: { type: 'pad', contains: 'padding' },
  padding: 8,
  config: { axis: { labelLimit: 140 }, axisQuantitative: { labelFlush: true } },
};

/** A case's kind decides which charts mean something for it (from the metrics its criteria judge). */
function caseKinds(c: ReportCase): { detection: boolean; energy: boolean } {
  const metrics = c.criteria.map((cr) => cr.metric);
  const detection = metrics.some((m) => /^(detection|identification|latency)\./.test(m));
  return { detection, energy: detection || metrics.some((m) => m.startsWith('energy.') || m.startsWith('metrology.')) };
}

/**
 * The charts that fit a case: the power timeline wherever power was measured; the confusion matrix and latency
 * only for detection and identification cases; energy per class only where there is energy to show; the
 * metrology error chart where there are test points.
 */
export function caseCharts(c: ReportCase): VegaLiteSpec[] {
  const a = c.analysis;
  if (!a) return [];
  const kind = caseKinds(c);
  const latencyLimit = c.criteria.find((cr) => cr.metric.startsWith('latency.') && typeof cr.limit === 'number')
    ?.limit as number | undefined;
  const specs = [
    powerTimelineSpec(a),
    kind.detection ? confusionSpec(a) : undefined,
    kind.detection ? latencySpec(a, latencyLimit) : undefined,
    kind.energy ? energySpec(a) : undefined,
  ];
  return specs.filter((s): s is VegaLiteSpec => s !== undefined);
}

export function powerTimelineSpec(a: CaseAnalysis): VegaLiteSpec | undefined {
  if (a.timeline.power.length === 0) return undefined;
  const events = [
    ...a.timeline.truth.map((e) => ({
      t: e.t,
      meterId: e.meterId,
      label: `${e.class} ${e.direction}`,
      source: 'true',
    })),
    ...a.timeline.detected.map((e) => ({
      t: e.tMeter ?? e.tObserved,
      meterId: e.meterId,
      label: `${e.class} ${e.direction}`,
      source: 'detected',
    })),
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...CONFIG,
    title: 'Power timeline with true and detected events',
    width: WIDTH,
    height: 220,
    layer: [
      {
        data: { values: a.timeline.power },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1 },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'time (s)', axis: { format: AXIS_FORMAT } },
          y: { field: 'p', type: 'quantitative', title: 'active power (W)', axis: { format: AXIS_FORMAT } },
          color: { field: 'meterId', type: 'nominal', title: 'meter' },
        },
      },
      {
        data: { values: events },
        mark: { type: 'rule', strokeDash: [4, 2] },
        encoding: {
          x: { field: 't', type: 'quantitative' },
          strokeDash: { field: 'source', type: 'nominal', title: 'event' },
          stroke: { field: 'source', type: 'nominal', scale: { range: ['#2a9d8f', '#e76f51'] } },
          tooltip: [{ field: 'label' }, { field: 't' }, { field: 'meterId' }],
        },
      },
    ],
  };
}

export function confusionSpec(a: CaseAnalysis): VegaLiteSpec | undefined {
  const conf = a.detection?.confusion;
  if (!conf || Object.keys(conf).length === 0) return undefined;
  const cells = Object.entries(conf).flatMap(([t, row]) =>
    Object.entries(row).map(([d, n]) => ({ true: t, detected: d, n })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...CONFIG,
    title: 'Confusion matrix (true × identified class)',
    data: { values: cells },
    width: { step: 44 },
    height: { step: 26 },
    encoding: {
      x: { field: 'detected', type: 'nominal', title: 'identified as', axis: { labelAngle: -40 } },
      y: { field: 'true', type: 'nominal', title: 'true class' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: { color: { field: 'n', type: 'quantitative', scale: { scheme: 'blues' }, legend: null } },
      },
      { mark: { type: 'text', fontSize: 11 }, encoding: { text: { field: 'n', type: 'quantitative' } } },
    ],
  };
}

export function latencySpec(a: CaseAnalysis, limitS?: number): VegaLiteSpec | undefined {
  const values = a.detection?.latency.values ?? [];
  if (values.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...CONFIG,
    title: `Detection latency (to the bench receiving the event; matched on the ${a.detection!.clock} clock)`,
    width: WIDTH,
    height: 160,
    layer: [
      {
        data: { values: values.map((s) => ({ s })) },
        mark: 'bar',
        encoding: {
          x: {
            field: 's',
            type: 'quantitative',
            // At least 10 ms a bin: latencies a hair apart (float noise) must not make bins 1e-15 s wide.
            bin: { maxbins: 30, minstep: 0.01, nice: true },
            title: 'latency (s)',
            axis: { format: AXIS_FORMAT },
          },
          y: { aggregate: 'count', type: 'quantitative', title: 'events', axis: { format: 'd', tickMinStep: 1 } },
        },
      },
      ...(limitS === undefined
        ? []
        : [
            {
              data: { values: [{ limit: limitS }] },
              mark: { type: 'rule', color: 'red' },
              encoding: { x: { field: 'limit', type: 'quantitative' } },
            },
          ]),
    ],
  };
}

/** A power factor as meter test plans write it: 1, 0.5 ind (inductive), 0.8 cap (capacitive, negative here). */
export function pfLabel(pf: number): string {
  if (pf < 0) return `PF ${fmtPf(-pf)} cap`;
  return pf >= 0.9999 ? 'PF 1' : `PF ${fmtPf(pf)} ind`;
}
const fmtPf = (pf: number) => String(Number(pf.toFixed(2)));

/**
 * The error curve of a metrology case: error against load current (log scale) per power factor, each point with
 * its expanded uncertainty as an error bar (e ± U), inside the MPE envelope of the class (a step at Itr).
 */
function errorCurveSpec(m: NonNullable<CaseAnalysis['metrology']>): VegaLiteSpec {
  return errorCurveOverlaySpec([{ run: '', metrology: m }]);
}

/**
 * Error curves of several runs (or vendors) on one chart, for `bench compare`: colour per run, shape per power
 * factor, each point's e ± U, and the MPE envelope of the first run's class. With one unnamed run it is the case's
 * own error curve (colour per power factor).
 */
export function errorCurveOverlaySpec(
  runs: ReadonlyArray<{ run: string; metrology: NonNullable<CaseAnalysis['metrology']> }>,
): VegaLiteSpec {
  const overlay = runs.length > 1 || runs[0]?.run !== '';
  const pts = runs.flatMap(({ run, metrology }) =>
    metrology.points.map((p) => ({
      run,
      point: p.id,
      current: p.currentA,
      pf: pfLabel(p.pf),
      error: p.errorPct,
      low: p.errorPct - (p.expandedPct ?? 0),
      high: p.errorPct + (p.expandedPct ?? 0),
    })),
  );
  const first = runs[0]!.metrology;
  const envelope = [...first.points]
    .sort((x, y) => x.currentA - y.currentA)
    .flatMap((p) => [
      { current: p.currentA, limit: p.mpePct, side: '+MPE' },
      { current: p.currentA, limit: -p.mpePct, side: '−MPE' },
    ]);
  const x = { field: 'current', type: 'quantitative', title: 'current (A)', scale: { type: 'log' } };
  const colour = overlay
    ? { field: 'run', type: 'nominal', title: 'run' }
    : { field: 'pf', type: 'nominal', title: 'power factor' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...CONFIG,
    title: `Error curve${overlay ? 's' : ''}: error ± U vs current, MID class ${first.midClass} MPE envelope`,
    width: overlay ? 560 : 420,
    height: 220,
    layer: [
      {
        data: { values: envelope },
        mark: { type: 'line', color: 'red', interpolate: 'step-after', strokeDash: [4, 3] },
        encoding: {
          x,
          y: { field: 'limit', type: 'quantitative', title: 'error (%)', axis: { format: AXIS_FORMAT } },
          detail: { field: 'side', type: 'nominal' },
        },
      },
      {
        data: { values: pts },
        mark: { type: 'rule' },
        encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: colour },
      },
      {
        data: { values: pts },
        mark: { type: 'point', filled: true, size: 50 },
        encoding: {
          x,
          y: { field: 'error', type: 'quantitative' },
          color: colour,
          shape: { field: 'pf', type: 'nominal', title: 'power factor' },
        },
      },
    ],
  };
}

export function energySpec(a: CaseAnalysis): VegaLiteSpec | undefined {
  if (a.metrology && a.metrology.points.length > 0) return errorCurveSpec(a.metrology);
  const e = a.energy;
  if (!e) return undefined;
  // No energy flowed (a no-load creep test): an empty bar chart says nothing.
  const total = [...Object.values(e.perClassTruthWh), ...Object.values(e.perClassEstimateWh)].reduce(
    (sum, wh) => sum + Math.abs(wh),
    0,
  );
  if (!(total > 0)) return undefined;
  const rows = Object.keys({ ...e.perClassTruthWh, ...e.perClassEstimateWh }).flatMap((k) => [
    { class: k, source: 'true', wh: e.perClassTruthWh[k] ?? 0 },
    { class: k, source: 'assigned by meter', wh: e.perClassEstimateWh[k] ?? 0 },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...CONFIG,
    title: 'Energy per class: true vs assigned by the meter',
    data: { values: rows },
    width: { step: 18 },
    height: 200,
    mark: 'bar',
    encoding: {
      x: { field: 'class', type: 'nominal', axis: { labelAngle: -40 } },
      xOffset: { field: 'source' },
      y: { field: 'wh', type: 'quantitative', title: 'energy (Wh)', axis: { format: AXIS_FORMAT } },
      color: { field: 'source', type: 'nominal' },
    },
  };
}

/** Renders a Vega-Lite spec to an SVG string in-process (Vega's headless renderer, no canvas, no network). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
