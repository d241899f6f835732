export {
  ACKNOWLEDGEMENTS_FORMAT,
  type AcknowledgedOrder,
  type AcknowledgementFile,
  collectAcknowledgements,
  parseAcknowledgements,
  readAcknowledgements,
} from './acknowledgements.js';
export {
  defaultApiAddress,
  K6_EXIT_CODES,
  K6LiveApi,
  type K6LiveMetric,
  type K6Result,
  type K6Run,
  type K6RunOptions,
  type K6Summary,
  type K6SummaryMetric,
  k6Binary,
  runK6,
  startK6,
} from './runner.js';
export {
  isLoadScenario,
  isLoopbackUrl,
  LOAD_SCENARIOS,
  type LoadEnvironmentOptions,
  type LoadScenario,
  loadEnvironment,
  scenarioScript,
} from './scenarios.js';
