export { type BuildOptions, buildCloudCafe, type CloudCafeStacks } from './app.js';
export {
  type LabSettings,
  readSettings,
  SettingsError,
  SIZES,
  SIZING,
  type Size,
  type Sizing,
} from './config.js';
export { DASHBOARD_VARIABLES, placeholdersOf, readDashboards } from './dashboards.js';
export { kustomizeBinary, REPO_ROOT, renderKustomization } from './kustomize.js';
export * from './names.js';
export { FIS_TEMPLATE_NAMES } from './stacks/chaos-stack.js';
export { ALARM_NAMES } from './stacks/observability-stack.js';
