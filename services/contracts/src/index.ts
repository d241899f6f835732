export * from './inventory-api.js';
export * from './messages.js';
export * from './resources.js';
