// The kubernetes platform's side of the chaos interface: its driver (the manifests it acts on
// are in manifests/, deployed by the CDK's EKS stack or `kubectl apply -k`).
export { kubernetesDriver } from './driver.js';
