export { LOCAL_AWS_CREDENTIALS, LOCAL_AWS_REGION } from './aws-resources.js';
// the local platform's side of the chaos interface: its driver and the target a run judges
export { admin, localDriver, undoServiceFault } from './driver/local.js';
export { awsEndpointUrl, localAwsEnv } from './engines/aws.js';
export type { EngineSpec, LabPaths, ProcessSpec } from './engines/types.js';
export type { HeldFault, HeldFaultEntry } from './fault-deadlines.js';
export { PUBLIC_PATHS, ROUTES } from './gateway.js';
export {
  healLab,
  holdFault,
  type LabStatus,
  labDown,
  labStatus,
  labUp,
  logFile,
  releaseFault,
  signalProcess,
} from './lab-client.js';
export { LinkProbeError, linkRoundTrip, medianRoundTrip } from './link-probe.js';
export { adminTokenFile, labPaths, REPO_ROOT, serviceTokenFile } from './paths.js';
export { HOST, KUBE_CONTROL_PLANE_PORTS, PORTS, SERVICE_PORTS, type ServiceName } from './ports.js';
export { httpOk, tcpOpen, waitFor } from './probes.js';
export { type LabState, readLabState } from './state.js';
export type { ProcessState, ProcessStatus } from './supervisor.js';
export { labTarget } from './target.js';
export { type Dependency, type Link, linkName, linksFor, presentServices, SERVICES } from './topology.js';
export { type Proxy, type Toxic, type ToxicType, ToxiproxyClient } from './toxiproxy-client.js';
