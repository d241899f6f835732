export * from './inventory-api.js';
export * from './loyalty-points.js';
export * from './messages.js';
export * from './platform.js';
export * from './resources.js';
