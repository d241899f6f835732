// The public surface of @cloudcafe/kit. The Express adapter is `@cloudcafe/kit/express`.
export { type AdminAuth, createAdminAuth, createServiceAuth, serviceAuthHeaders } from './admin-auth.js';
export {
  AWS_APIS,
  AWS_CLIENT_DEFAULTS,
  type AwsApi,
  type AwsClients,
  type AwsClientsOptions,
  createAwsClients,
} from './aws.js';
export { countAwsCalls, validateExpressions, type WithMiddlewareStack } from './aws-middleware.js';
export {
  ADMIN_TOKEN_MIN_LENGTH,
  BaseConfigSchema,
  ConfigError,
  type KitConfig,
  loadConfig,
} from './config.js';
export { callDependency } from './dependency.js';
export {
  assertValidExpressions,
  ExpressionValidationError,
  expressionProblems,
} from './dynamodb/expressions.js';
export {
  CafeError,
  ERROR_CODES,
  type ErrorAnswer,
  ErrorBody,
  type ErrorCode,
  errorHeaders,
  errorResponses,
  toCafeError,
  toErrorAnswer,
} from './errors.js';
export * from './fastify/index.js';
export {
  FAULT_FLAGS,
  type FaultFlagDefinition,
  FLAG_NAMES,
  FLAG_TTL_BOUNDS,
  type FlagName,
  type FlagValue,
  type VariantName,
  valueOfLabel,
} from './flags/catalogue.js';
export { InjectedFaultError, type InjectedFaultsOptions, withInjectedFaults } from './flags/inject.js';
export {
  type CreateFlagStoreOptions,
  createFlagStore,
  FlagState,
  type FlagStore,
  flagNamed,
  SetFlagBody,
} from './flags/store.js';
export {
  CheckResult,
  createHealth,
  DEFAULT_CHECK_TIMEOUT_MS,
  type Health,
  type HealthAnswer,
  type HealthCheck,
  type HealthCheckOptions,
  HealthReport,
  LivenessReport,
} from './health.js';
export { buildOpenApiDocument, type RouteDoc } from './http/openapi.js';
export {
  defineRoute,
  type HttpMethod,
  type KitRoute,
  type RouteAnswer,
  type RouteContext,
  type RouteInput,
  type RouteSchema,
} from './http/routes.js';
export * from './kinesis/consumer.js';
export * from './kinesis/leases.js';
export {
  type CreateLoggerOptions,
  createLogger,
  type Logger,
  REDACTED,
  REDACTED_KEYS,
  redactSecrets,
  withContext,
} from './logger.js';
export {
  type CounterName,
  type GaugeName,
  type HistogramName,
  type LabelName,
  type LabelsOf,
  METRIC_CATALOGUE,
  type MetricDefinition,
  type MetricName,
} from './metrics/catalogue.js';
export {
  CLOUDWATCH_LIMITS,
  type CloudWatchExporter,
  type CloudWatchExporterOptions,
  createCloudWatchExporter,
  type FlushResult,
  METRICS_NAMESPACE,
} from './metrics/cloudwatch.js';
export { createEmfLogger, type EmfLogger, type EmfLoggerOptions } from './metrics/emf.js';
export { type ExposedSeries, readSeries, sumSeries } from './metrics/prometheus-text.js';
export {
  type CreateMetricsOptions,
  createMetrics,
  type Metrics,
  type MetricsSnapshot,
  type Platform,
} from './metrics/registry.js';
export { SERVICE_NAMES, SERVICES, type ServiceName, servicePrefix } from './services.js';
export {
  createShutdown,
  type HookReport,
  SHUTDOWN_PHASES,
  type Shutdown,
  type ShutdownHook,
  type ShutdownPhase,
  type ShutdownReport,
} from './shutdown.js';
export {
  createStressHarness,
  defineStressScenario,
  RUN_STATES,
  type RunState,
  STRESS_DEFAULT_MAX_RUN_MS,
  STRESS_MAX_RUN_MS,
  type StressContext,
  type StressHarness,
  StressRunView,
  type StressScenario,
  type StressScenarioDefinition,
  StressStarted,
} from './stress.js';
export {
  formatValidationIssues,
  parseWithSchema,
  SchemaValidationError,
  type ValidationProblem,
} from './validation.js';
