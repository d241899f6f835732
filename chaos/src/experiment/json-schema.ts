import { Experiment, GameDay } from './schema.js';

/**
 * The experiment and game-day schemas as JSON Schema documents, for editors (the YAML files
 * point at chaos/experiment.schema.json). TypeBox schemas are JSON Schema already; this only
 * adds the header. `npm run schema -w @cloudcafe/chaos` writes the files; a test fails if they
 * drift from the TypeBox source.
 */
export function jsonSchemaOf(kind: 'experiment' | 'gameday'): string {
  const schema = kind === 'experiment' ? Experiment : GameDay;
  const doc = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://cloudcafe.dev/schemas/${kind}.schema.json`,
    title: kind === 'experiment' ? 'CloudCafe chaos experiment' : 'CloudCafe game day',
    ...schema,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
