import { AWS_ENGINES } from './aws.js';
import { ferretdb } from './ferretdb.js';
import { postgres } from './postgres.js';
import { redis } from './redis.js';
import { toxiproxy } from './toxiproxy.js';
import type { EngineSpec } from './types.js';

/** The engines in start order; the links (Toxiproxy) come first so services never wait on them. */
export const ENGINES: readonly EngineSpec[] = [toxiproxy, postgres, redis, ferretdb, ...AWS_ENGINES];
