/** One series of a Prometheus text exposition: its labels and its value. */
export interface ExposedSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)$/;
const LABEL_PAIR = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Every series of one metric in a Prometheus text exposition (a service's `/metrics`), with
 * its labels. Probes, fault checks, the report's per-route charts and tests read a service's
 * own figures through this one reader.
 */
export function readSeries(text: string, name: string): ExposedSeries[] {
  const out: ExposedSeries[] = [];
  for (const line of text.split('\n')) {
    const match = SAMPLE_LINE.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL_PAIR))
      labels[key as string] = (value as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ labels, value: Number(match[3]) });
  }
  return out;
}

/** Sums one metric over the series whose labels include every `labels` pair; 0 when none matches. */
export function sumSeries(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  return readSeries(text, name)
    .filter((s) => wanted.every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
