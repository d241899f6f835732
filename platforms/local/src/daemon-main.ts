// The lab daemon's process entry; `cloudcafe lab up` spawns `node --import tsx` on this file.
import { main } from './daemon.js';

await main();
