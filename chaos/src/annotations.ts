import type { Window } from './report-html.js';

/**
 * A run's fault windows where people already look. `annotations.json` in the run folder is in
 * the shape Grafana's annotation API takes (`POST /api/annotations`: `time` and `timeEnd` in
 * epoch milliseconds, `text`, `tags`), one region per fault; `cloudcafe dashboards push --run`
 * draws the same windows as bands on the CloudWatch dashboards.
 */

export interface Annotation {
  /** Epoch milliseconds the fault was injected… */
  readonly time: number;
  /** …and reverted. */
  readonly timeEnd: number;
  readonly text: string;
  readonly tags: readonly string[];
}

export const ANNOTATIONS_FILE = 'annotations.json';

export function annotationsFor(windows: readonly Window[], origin: number, runId: string): Annotation[] {
  return windows.map((w) => ({
    time: origin + w.from,
    timeEnd: origin + w.to,
    text: `${w.experiment}: ${w.fault}${w.type ? ` (${w.type} on ${w.target ?? '?'})` : ''}${
      w.verified ? '' : ' — effect not verified'
    }`,
    tags: [
      'cloudcafe',
      'fault',
      `run:${runId}`,
      `experiment:${w.experiment}`,
      ...(w.type ? [`fault:${w.type}`] : []),
      ...(w.target ? [`target:${w.target}`] : []),
      w.verified ? 'verified' : 'unverified',
    ],
  }));
}

/**
 * A CloudWatch vertical band: an array of two edges, the first carrying the label. The dashboard
 * body reference ("Annotation Properties Format", GetMetricWidgetImage/Dashboard Body Structure)
 * describes a band as two linked `value`s (ISO 8601), start and end; there is no `endValue`.
 */
export type VerticalBand = readonly [
  { readonly label: string; readonly value: string; readonly color: string },
  { readonly value: string },
];

const BAND_COLOR = { verified: '#ff9900', unverified: '#d62728' } as const;

export function verticalBands(annotations: readonly Annotation[]): VerticalBand[] {
  return annotations.map((a) => [
    {
      label: a.text,
      value: new Date(a.time).toISOString(),
      color: a.tags.includes('unverified') ? BAND_COLOR.unverified : BAND_COLOR.verified,
    },
    { value: new Date(a.timeEnd).toISOString() },
  ]);
}

interface DashboardBody {
  start?: string;
  end?: string;
  widgets?: {
    type?: string;
    properties?: { annotations?: { vertical?: unknown[] } } & Record<string, unknown>;
  }[];
}

/** How far either side of the faults a dashboard shows, so the bands sit in context. */
const CONTEXT_MS = 5 * 60_000;

/**
 * The body with the run's fault windows as vertical bands on every metric graph (beside any
 * annotations the body already has), and the dashboard's time range set to the run, padded by
 * five minutes, so the bands are on screen when it opens. No annotations: the body unchanged.
 */
export function withFaultBands(body: string, annotations: readonly Annotation[]): string {
  if (annotations.length === 0) return body;
  const parsed = JSON.parse(body) as DashboardBody;
  const bands = verticalBands(annotations);
  for (const widget of parsed.widgets ?? []) {
    if (widget.type !== 'metric' || !widget.properties) continue;
    // only a time-series graph has a time axis to draw a band on (timeSeries is the default view)
    const view = widget.properties.view;
    if (view !== undefined && view !== 'timeSeries') continue;
    const annotationsOf = widget.properties.annotations ?? {};
    widget.properties.annotations = {
      ...annotationsOf,
      vertical: [...(annotationsOf.vertical ?? []), ...bands],
    };
  }
  parsed.start = new Date(Math.min(...annotations.map((a) => a.time)) - CONTEXT_MS).toISOString();
  parsed.end = new Date(Math.max(...annotations.map((a) => a.timeEnd)) + CONTEXT_MS).toISOString();
  return JSON.stringify(parsed);
}
