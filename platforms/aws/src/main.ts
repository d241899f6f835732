/**
 * The CDK app entry (`cdk.json` runs it). Everything is in {@link buildCloudCafe}; this file
 * only creates the App, builds, and writes the cloud assembly.
 */
import { App } from 'aws-cdk-lib';
import { buildCloudCafe } from './app.js';

const app = new App();
buildCloudCafe(app);
app.synth();
