/**
 * Sums one metric over the series of a Prometheus text exposition (a service's `/metrics`)
 * whose labels include every `labels` pair; 0 when none matches. Probes, fault checks and
 * tests read a service's own figures through this one reader.
 */
export function sumSeries(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const set = match[2] ?? '';
    if (wanted.every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(match[3]);
  }
  return sum;
}
