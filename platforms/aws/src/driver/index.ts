// The aws platform's side of the chaos interface: its FIS driver. A subpath of its own
// (`@cloudcafe/aws-platform/driver`) so the orchestrator never loads the CDK app to run a fault.
export { awsDriver } from './driver.js';
export { fisTemplate, isoDuration } from './template.js';
