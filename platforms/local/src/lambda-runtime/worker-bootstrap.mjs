// The first module of every instance (a worker thread). Workers do not inherit the parent's
// tsx loader, so each registers its own before importing the TypeScript instance code; this
// file is plain JavaScript for that reason alone. Everything after this line is TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./instance.ts');
