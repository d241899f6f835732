// Writes chaos/experiment.schema.json and chaos/gameday.schema.json from the TypeBox source.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemaOf } from './experiment/json-schema.js';

for (const kind of ['experiment', 'gameday'] as const) {
  const file = join(import.meta.dirname, '..', `${kind}.schema.json`);
  writeFileSync(file, jsonSchemaOf(kind));
  process.stdout.write(`wrote ${file}\n`);
}
