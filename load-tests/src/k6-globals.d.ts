/**
 * k6's console (its own, not Node's or the DOM's): @types/k6 leaves it out, and pulling in the
 * DOM or Node types to get it would declare globals k6 does not have.
 */
declare const console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
};
