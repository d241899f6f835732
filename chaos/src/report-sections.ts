import { type Drift, driftLines } from './drift.js';
import type { MarginResult } from './margin.js';

/**
 * The report's sections for breaking points and the drift certificate, as HTML fragments that
 * report-html.ts places below its tables.
 */

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function marginsHtml(margins: readonly MarginResult[]): string {
  if (margins.length === 0) return '';
  const sections = margins.map((m) => {
    const rows = m.runs
      .map(
        (r) =>
          `<tr class="${r.verdict === 'passed' ? 'passed' : 'failed'}"><td>${r.dose}</td><td>${r.verdict}</td><td>${esc(
            r.reasons.join('; ') || '—',
          )}</td></tr>`,
      )
      .join('\n');
    const untried = m.doses.filter((d) => !m.runs.some((r) => r.dose === d));
    return `<p class="margin" data-experiment="${esc(m.experiment)}"><strong>${esc(m.sentence)}</strong></p>
<table>
<thead><tr><th>${esc(m.field)}</th><th>verdict</th><th>why</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>${untried.length > 0 ? `<p>not run (the search stopped first): ${untried.join(', ')}</p>` : ''}`;
  });
  return `<h2>Margins (breaking points)</h2>\n${sections.join('\n')}\n`;
}

export function driftHtml(drift: Drift | undefined): string {
  if (!drift) return '';
  const clean = drift.certified && drift.entries.length === 0;
  const items = driftLines(drift)
    .map((l) => `<li>${esc(l)}</li>`)
    .join('\n');
  return `<h2>Drift certificate</h2>
<div id="drift" class="${clean ? 'passed' : 'failed'}" data-entries="${drift.entries.length}"><ul>
${items}
</ul></div>
`;
}
