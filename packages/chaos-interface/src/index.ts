// What the chaos core and every platform agree on (docs/architecture.md, "Packages"): the fault
// vocabulary, the driver a platform implements, and the target a run is judged on. Platforms
// import this and the shared packages, never the core; the core imports the platforms only
// in the CLI's wiring (chaos/src/drivers/index.ts).
export * from './driver.js';
export * from './fault.js';
export * from './target.js';
