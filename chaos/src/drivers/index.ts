import type { Fault, Platform } from '../experiment/schema.js';
import { localDriver } from './local.js';
import type { Driver } from './types.js';

/** A platform whose driver has not been built yet refuses every fault, so validation says so. */
function notYet(platform: Platform): Driver {
  return {
    platform,
    unsupported: (fault: Fault) =>
      `the ${platform} driver is not built yet, so ${fault.type} cannot run there`,
    inject: async () => {
      throw new Error(`the ${platform} driver is not built yet`);
    },
  };
}

const DRIVERS: Record<Platform, Driver> = {
  local: localDriver,
  kubernetes: notYet('kubernetes'),
  aws: notYet('aws'),
};

export function driverFor(platform: Platform): Driver {
  return DRIVERS[platform];
}

export type { ActiveFault, Driver, Effect } from './types.js';
