import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import kubectlLayer from '@aws-cdk/lambda-layer-kubectl-v33';
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as eksL1 from 'aws-cdk-lib/aws-eks';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import type { LabSettings } from '../config.js';
import { type KubernetesObject, REPO_ROOT, renderKustomization } from '../kustomize.js';
import {
  AWS_PLATFORM,
  CHAOS_TAG,
  CLUSTER_NAME,
  FAULT_SWEEPER,
  K8S_NAMESPACE,
  METRICS_NAMESPACE,
  ORDERS_DATABASE,
  SERVICE_NAMES,
  SERVICE_TAG,
  SERVICES,
  type ServiceName,
} from '../names.js';
import { DATA_PORTS, type DataStack } from './data-stack.js';
import type { EdgeStack } from './edge-stack.js';
import type { NetworkStack } from './network-stack.js';
import type { SecretsStack } from './secrets-stack.js';

export interface ComputeStackProps extends StackProps {
  readonly settings: LabSettings;
  readonly network: NetworkStack;
  readonly secrets: SecretsStack;
  readonly data: DataStack;
  readonly edge: EdgeStack;
}

/** The public SSM parameter holding the FIS Lambda extension's layer ARN in each region. */
export const FIS_EXTENSION_PARAMETER = '/aws/service/fis/lambda-extension/AWS-FIS-extension-x86_64/1.x.x';
/** The folder under the FIS config bucket the extension polls (AWS's documented default). */
export const FIS_CONFIG_PREFIX = 'FisConfigs/';
/** The overlay the EKS cluster runs (platforms/kubernetes/manifests/overlays/aws). */
export const EKS_OVERLAY = 'platforms/kubernetes/manifests/overlays/aws';

/** The part of a pod template whose images the stack rewrites. */
interface PodTemplate {
  readonly spec: { readonly containers: { image: string }[] };
}

/**
 * Where each service runs, as the design fixes it: order (and the payment HTTP front) on ECS
 * Fargate, inventory and menu on EKS from `platforms/kubernetes/manifests`, the payment charge path on
 * Lambda behind SQS, loyalty and analytics on EC2 Auto Scaling groups. Every workload is tagged
 * for chaos, gets a role with exactly the calls its code makes, and registers its
 * `/api/<segment>` route on the edge listener.
 */
export class ComputeStack extends Stack {
  readonly repositories: Record<ServiceName, ecr.Repository>;
  /** The Kubernetes fault sweeper's image (platforms/kubernetes/image/sweeper.Dockerfile). */
  readonly sweeperRepository: ecr.Repository;
  readonly ecsCluster: ecs.Cluster;
  readonly fargateServices: Partial<Record<ServiceName, ecs.FargateService>>;
  readonly eksCluster: eks.Cluster;
  readonly paymentFunction: nodejs.NodejsFunction;
  readonly autoScalingGroups: Partial<Record<ServiceName, autoscaling.AutoScalingGroup>>;
  readonly targetGroups: Record<ServiceName, elbv2.ApplicationTargetGroup>;

  private readonly settings: LabSettings;
  private readonly props: ComputeStackProps;

  constructor(scope: Construct, id: string, props: ComputeStackProps) {
    super(scope, id, props);
    this.settings = props.settings;
    this.props = props;
    const { vpc } = props.network;

    this.repositories = Object.fromEntries(
      SERVICE_NAMES.map((service) => [
        service,
        this.repository(`${service}Repository`, `cloudcafe/${service}`),
      ]),
    ) as Record<ServiceName, ecr.Repository>;
    this.sweeperRepository = this.repository('FaultSweeperRepository', FAULT_SWEEPER.image);

    this.targetGroups = Object.fromEntries(
      SERVICE_NAMES.map((service, i) => [service, this.route(service, i)]),
    ) as Record<ServiceName, elbv2.ApplicationTargetGroup>;

    this.ecsCluster = new ecs.Cluster(this, 'EcsCluster', {
      clusterName: CLUSTER_NAME,
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      enableFargateCapacityProviders: true,
    });
    this.fargateServices = { order: this.fargateService('order'), payment: this.fargateService('payment') };

    this.paymentFunction = this.createPaymentFunction();
    // The HTTP front starts the cold-start stress by invoking fresh instances of the function.
    this.paymentFunction.grantInvoke(this.taskRole('payment'));

    this.eksCluster = this.createEksCluster();

    this.autoScalingGroups = { loyalty: this.ec2Service('loyalty'), analytics: this.ec2Service('analytics') };

    new CfnOutput(this, 'EcsClusterName', { value: this.ecsCluster.clusterName });
    new CfnOutput(this, 'EksClusterName', { value: this.eksCluster.clusterName });
    new CfnOutput(this, 'PaymentFunctionName', { value: this.paymentFunction.functionName });
  }

  // ── Routing ──────────────────────────────────────────────────────────────────────────────

  /** A target group for the service and a listener rule sending `/api/<segment>/*` to it. */
  private route(service: ServiceName, index: number): elbv2.ApplicationTargetGroup {
    const { segment, runsOn, port } = SERVICES[service];
    const targetGroup = new elbv2.ApplicationTargetGroup(this, `${service}TargetGroup`, {
      vpc: this.props.network.vpc,
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      // ECS and EKS pods register by IP (awsvpc / VPC CNI); EC2 instances by instance id.
      targetType: runsOn === 'ec2' ? elbv2.TargetType.INSTANCE : elbv2.TargetType.IP,
      // Readiness: an instance that cannot serve (shutting down, its database gone) gets no
      // traffic. Never the deep /health, whose optional dependencies (menu's Redis) do not
      // stop a service from answering.
      healthCheck: {
        path: `/api/${segment}/health/ready`,
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
      },
      // Short drain: a killed task should leave the pool fast enough for the fault to show.
      deregistrationDelay: Duration.seconds(15),
    });
    new elbv2.ApplicationListenerRule(this, `${service}Route`, {
      listener: this.props.edge.listener,
      priority: 10 + index,
      conditions: [elbv2.ListenerCondition.pathPatterns([`/api/${segment}`, `/api/${segment}/*`])],
      action: elbv2.ListenerAction.forward([targetGroup]),
    });
    return targetGroup;
  }

  // ── Environment shared by every service ──────────────────────────────────────────────────

  /** Variables every service reads (packages/kit config) plus the names of its AWS resources. */
  private serviceEnvironment(service: ServiceName): Record<string, string> {
    const { data } = this.props;
    return {
      SERVICE_NAME: service,
      HOST: '0.0.0.0',
      PORT: String(SERVICES[service].port),
      PLATFORM: AWS_PLATFORM,
      AWS_REGION: this.region,
      METRICS_CLOUDWATCH: 'on',
      PAYMENT_REQUESTS_QUEUE_URL: data.paymentRequests.queueUrl,
      PAYMENT_RESULTS_QUEUE_URL: data.paymentResults.queueUrl,
      PAYMENT_DLQ_URL: data.paymentRequestsDlq.queueUrl,
      ORDER_EVENTS_STREAM: data.orderEvents.streamName,
      RECEIPTS_BUCKET: data.receipts.bucketName,
    };
  }

  /** Every service publishes its metrics, and only into the CloudCafe namespace. */
  private allowMetrics(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        // PutMetricData has no resource type; the namespace condition is how it is scoped.
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
      }),
    );
  }

  private readonly importedSecrets = new Map<secretsmanager.ISecret, secretsmanager.ISecret>();

  /**
   * Read access to one secret, granted on the reader's side only. `Secret.grantRead` would
   * also add the reader to the secrets key's policy (the grant goes through Secrets Manager),
   * which makes the secrets stack depend on this one; the key already trusts the account's IAM
   * policies, so a role policy is enough.
   */
  private grantSecret(secret: secretsmanager.ISecret, grantee: iam.IGrantable): void {
    this.secretReference(secret).grantRead(grantee);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.props.secrets.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
      }),
    );
  }

  /** The secret as seen from this stack, without its key (see {@link grantSecret}). */
  private secretReference(secret: secretsmanager.ISecret): secretsmanager.ISecret {
    let ref = this.importedSecrets.get(secret);
    if (!ref) {
      ref = secretsmanager.Secret.fromSecretAttributes(this, `${secret.node.id}Ref`, {
        secretCompleteArn: secret.secretArn,
      });
      this.importedSecrets.set(secret, ref);
    }
    return ref;
  }

  /** The AWS calls each service's code makes, and nothing else. */
  private grantServiceAccess(service: ServiceName, grantee: iam.IGrantable): void {
    const { data, secrets } = this.props;
    this.allowMetrics(grantee);
    this.grantSecret(secrets.adminToken, grantee);
    switch (service) {
      case 'order':
        this.grantSecret(secrets.auroraCredentials, grantee);
        this.grantSecret(secrets.serviceToken, grantee);
        data.paymentRequests.grantSendMessages(grantee);
        data.paymentResults.grantConsumeMessages(grantee);
        data.orderEvents.grantWrite(grantee);
        break;
      case 'payment':
        data.tables.payments.grantReadData(grantee);
        data.paymentRequests.grantSendMessages(grantee);
        break;
      case 'inventory':
        data.tables.inventory.grantReadWriteData(grantee);
        data.tables.reservations.grantReadWriteData(grantee);
        this.grantSecret(secrets.redisAuth, grantee);
        this.grantSecret(secrets.serviceToken, grantee);
        break;
      case 'menu':
        this.grantSecret(secrets.documentDbCredentials, grantee);
        this.grantSecret(secrets.redisAuth, grantee);
        break;
      case 'loyalty':
        data.orderEvents.grantRead(grantee);
        data.tables.kinesisLeases.grantReadWriteData(grantee);
        this.grantSecret(secrets.memoryDbCredentials, grantee);
        break;
      case 'analytics':
        data.orderEvents.grantRead(grantee);
        data.tables.kinesisLeases.grantReadWriteData(grantee);
        grantee.grantPrincipal.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['redshift-serverless:GetCredentials'],
            resources: [data.redshiftWorkgroup.attrWorkgroupWorkgroupArn],
          }),
        );
        break;
    }
  }

  // ── ECS Fargate ──────────────────────────────────────────────────────────────────────────

  private readonly taskRoles = new Map<ServiceName, iam.Role>();

  private taskRole(service: ServiceName): iam.Role {
    let role = this.taskRoles.get(service);
    if (!role) {
      role = new iam.Role(this, `${service}TaskRole`, {
        assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
        description: `CloudCafe ${service} task`,
      });
      this.taskRoles.set(service, role);
    }
    return role;
  }

  private fargateService(service: ServiceName): ecs.FargateService {
    const { data, secrets } = this.props;
    const { fargate } = this.settings.sizing;
    const taskRole = this.taskRole(service);
    this.grantServiceAccess(service, taskRole);
    const task = new ecs.FargateTaskDefinition(this, `${service}Task`, {
      cpu: fargate.cpu,
      memoryLimitMiB: fargate.memoryMiB,
      taskRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64 },
    });
    const dbSecrets: Record<string, ecs.Secret> =
      service === 'order'
        ? {
            DATABASE_USER: ecs.Secret.fromSecretsManager(
              this.secretReference(secrets.auroraCredentials),
              'username',
            ),
            DATABASE_PASSWORD: ecs.Secret.fromSecretsManager(
              this.secretReference(secrets.auroraCredentials),
              'password',
            ),
          }
        : {};
    const dbEnv: Record<string, string> =
      service === 'order'
        ? {
            DATABASE_HOST: data.aurora.clusterEndpoint.hostname,
            DATABASE_PORT: String(DATA_PORTS.postgres),
            DATABASE_NAME: ORDERS_DATABASE,
            DATABASE_SSLMODE: 'require',
          }
        : {};
    const { port } = SERVICES[service];
    task.addContainer('app', {
      image: ecs.ContainerImage.fromEcrRepository(this.repositories[service], this.settings.imageTag),
      essential: true,
      environment: { ...this.serviceEnvironment(service), ...dbEnv },
      secrets: {
        ADMIN_TOKEN: ecs.Secret.fromSecretsManager(this.secretReference(secrets.adminToken)),
        // The order service calls inventory's internal routes with it.
        ...(service === 'order' && {
          SERVICE_TOKEN: ecs.Secret.fromSecretsManager(this.secretReference(secrets.serviceToken)),
        }),
        ...dbSecrets,
      },
      portMappings: [{ containerPort: port }],
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: service,
        logGroup: new logs.LogGroup(this, `${service}Logs`, {
          retention: logs.RetentionDays.TWO_WEEKS,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      }),
      readonlyRootFilesystem: true,
      // Liveness only: ECS replaces a task whose container check fails, and a dependency
      // outage must make tasks unready (the target group's check), not restart them all.
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${port}/api/${SERVICES[service].segment}/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
        ],
        interval: Duration.seconds(15),
        startPeriod: Duration.seconds(30),
      },
    });
    // The agent reads the secrets above at task start with the execution role.
    this.grantSecret(secrets.adminToken, task.obtainExecutionRole());
    if (service === 'order') {
      this.grantSecret(secrets.auroraCredentials, task.obtainExecutionRole());
      this.grantSecret(secrets.serviceToken, task.obtainExecutionRole());
    }
    const fargateService = new ecs.FargateService(this, `${service}Service`, {
      serviceName: `cloudcafe-${service}`,
      cluster: this.ecsCluster,
      taskDefinition: task,
      desiredCount: fargate.tasks,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      circuitBreaker: { rollback: true },
      enableExecuteCommand: false,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      minHealthyPercent: 100,
      // Spot in the small lab: an interruption is one more fault, and it costs 70% less.
      capacityProviderStrategies: [
        { capacityProvider: this.settings.size === 'small' ? 'FARGATE_SPOT' : 'FARGATE', weight: 1 },
      ],
    });
    Tags.of(fargateService).add(CHAOS_TAG.key, CHAOS_TAG.value);
    Tags.of(fargateService).add(SERVICE_TAG, service);
    this.targetGroups[service].addTarget(fargateService);
    fargateService.connections.allowFrom(this.props.edge.alb, ec2.Port.tcp(port), 'from the public entry');
    // Rules are always added from the compute side: CDK then places the data store's ingress
    // rule in this stack, and the earlier stacks never reference this one (no cycles).
    if (service === 'order') fargateService.connections.allowToDefaultPort(data.aurora, 'order service');
    return fargateService;
  }

  // ── Lambda (payment) ─────────────────────────────────────────────────────────────────────

  private createPaymentFunction(): nodejs.NodejsFunction {
    const { data, secrets } = this.props;
    const entry = isAbsolute(this.settings.paymentEntry)
      ? this.settings.paymentEntry
      : join(REPO_ROOT, this.settings.paymentEntry);
    if (!existsSync(entry)) {
      throw new Error(
        `payment Lambda entry not found: ${entry}\n` +
          'The payment service (services/payment/src/handler.ts, exporting `handler`) must exist before ' +
          'the app can be synthesized; to try the app without it, point -c paymentEntry=… or ' +
          'CLOUDCAFE_PAYMENT_ENTRY at a stand-in handler.',
      );
    }
    const fisLayer = lambda.LayerVersion.fromLayerVersionArn(
      this,
      'FisExtension',
      // Resolved by CloudFormation at deploy time (a public SSM parameter): no lookup at synth.
      ssm.StringParameter.valueForStringParameter(this, FIS_EXTENSION_PARAMETER),
    );
    const fn = new nodejs.NodejsFunction(this, 'PaymentFunction', {
      functionName: 'cloudcafe-payment',
      entry,
      handler: 'handler',
      // Node 24: the newest Lambda runtime; Node 20 can no longer be created (deprecated 2026).
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.X86_64,
      memorySize: this.settings.sizing.lambda.memoryMiB,
      timeout: Duration.seconds(30),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        // esbuild from node_modules: no Docker on the machines that synthesize this app.
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node20',
        mainFields: ['module', 'main'],
        sourceMap: true,
        // ESM bundles still meet CommonJS dependencies that call require().
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        externalModules: ['@aws-sdk/*'],
      },
      layers: [fisLayer],
      environment: {
        // Lambda sets AWS_REGION itself and refuses it; HOST/PORT mean nothing to a handler.
        ...Object.fromEntries(
          Object.entries(this.serviceEnvironment('payment')).filter(
            ([k]) => !['AWS_REGION', 'HOST', 'PORT'].includes(k),
          ),
        ),
        NODE_OPTIONS: '--enable-source-maps',
        ADMIN_TOKEN_SECRET_ARN: secrets.adminToken.secretArn,
        PAYMENTS_TABLE: data.tables.payments.tableName,
        ...(this.settings.paymentGatewayUrl ? { PAYMENT_GATEWAY_URL: this.settings.paymentGatewayUrl } : {}),
        // The FIS Lambda extension: a wrapper around the runtime that reads faults from S3.
        AWS_LAMBDA_EXEC_WRAPPER: '/opt/aws-fis/bootstrap',
        AWS_FIS_CONFIGURATION_LOCATION: `${data.fisConfig.bucketArn}/${FIS_CONFIG_PREFIX}`,
      },
      logGroup: new logs.LogGroup(this, 'PaymentLogs', {
        retention: logs.RetentionDays.TWO_WEEKS,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      tracing: lambda.Tracing.ACTIVE,
    });
    Tags.of(fn).add(CHAOS_TAG.key, CHAOS_TAG.value);
    Tags.of(fn).add(SERVICE_TAG, 'payment');
    this.allowMetrics(fn);
    this.grantSecret(secrets.adminToken, fn);
    data.tables.payments.grantReadWriteData(fn);
    data.receipts.grantPut(fn);
    data.paymentResults.grantSendMessages(fn);
    // A transient failure about to spend its last receives is sent again as a fresh copy (ADR 0014).
    data.paymentRequests.grantSendMessages(fn);
    // The extension lists and reads its fault configuration, and only under its folder.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [data.fisConfig.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${FIS_CONFIG_PREFIX}*`] } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [data.fisConfig.arnForObjects(`${FIS_CONFIG_PREFIX}*`)],
      }),
    );
    data.key.grantDecrypt(fn);
    fn.addEventSource(
      new lambdaEvents.SqsEventSource(data.paymentRequests, {
        batchSize: 10,
        // A failed charge returns only its own message to the queue; the rest of the batch is
        // done. Without this one bad card would redeliver (and re-charge-check) nine good ones.
        reportBatchItemFailures: true,
      }),
    );
    return fn;
  }

  // ── EKS (inventory, menu) ────────────────────────────────────────────────────────────────

  private createEksCluster(): eks.Cluster {
    const { vpc } = this.props.network;
    const { data } = this.props;
    const { eks: size } = this.settings.sizing;
    const cluster = new eks.Cluster(this, 'EksCluster', {
      clusterName: CLUSTER_NAME,
      version: eks.KubernetesVersion.V1_33,
      vpc,
      vpcSubnets: [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
      defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
      endpointAccess: eks.EndpointAccess.PUBLIC_AND_PRIVATE,
      clusterLogging: [
        eks.ClusterLoggingTypes.API,
        eks.ClusterLoggingTypes.AUDIT,
        eks.ClusterLoggingTypes.AUTHENTICATOR,
        eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
        eks.ClusterLoggingTypes.SCHEDULER,
      ],
      kubectlProviderOptions: { kubectlLayer: new kubectlLayer.KubectlV33Layer(this, 'KubectlLayer') },
      // Registers the inventory and menu pods in the edge's IP target groups (TargetGroupBinding).
      albController: { version: eks.AlbControllerVersion.V2_17_1 },
    });
    const nodegroup = cluster.addNodegroupCapacity('Workers', {
      nodegroupName: 'cloudcafe-workers',
      instanceTypes: [new ec2.InstanceType(size.instanceType)],
      minSize: size.min,
      desiredSize: size.desired,
      maxSize: size.max,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      tags: { [CHAOS_TAG.key]: CHAOS_TAG.value },
    });
    // FIS pod faults and SSM CPU stress act on nodes through the agent.
    nodegroup.role.addManagedPolicy(
      iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore'),
    );

    new eks.Addon(this, 'PodIdentityAgent', { cluster, addonName: 'eks-pod-identity-agent' });
    // Network policies are enforced by the VPC CNI only when this is on.
    new eks.Addon(this, 'VpcCni', {
      cluster,
      addonName: 'vpc-cni',
      configurationValues: { enableNetworkPolicy: 'true' },
    });
    // Secrets Manager values reach pods as files and a synced Secret (SecretProviderClass in the overlay).
    const csi = cluster.addHelmChart('SecretsStoreCsi', {
      chart: 'secrets-store-csi-driver-provider-aws',
      repository: 'https://aws.github.io/secrets-store-csi-driver-provider-aws',
      version: '1.0.1',
      namespace: 'kube-system',
      values: { 'secrets-store-csi-driver': { install: true, syncSecret: { enabled: true } } },
    });

    for (const service of ['inventory', 'menu'] as const) {
      const role = new iam.Role(this, `${service}PodRole`, {
        assumedBy: new iam.ServicePrincipal('pods.eks.amazonaws.com'),
        description: `CloudCafe ${service} pods (EKS Pod Identity)`,
      });
      role.assumeRolePolicy?.addStatements(
        new iam.PolicyStatement({
          actions: ['sts:TagSession'],
          principals: [new iam.ServicePrincipal('pods.eks.amazonaws.com')],
        }),
      );
      this.grantServiceAccess(service, role);
      new eksL1.CfnPodIdentityAssociation(this, `${service}PodIdentity`, {
        clusterName: cluster.clusterName,
        namespace: K8S_NAMESPACE,
        serviceAccount: service,
        roleArn: role.roleArn,
      });
    }
    const pods = cluster.clusterSecurityGroup.connections;
    pods.allowTo(data.redisSecurityGroup, ec2.Port.tcp(DATA_PORTS.redis), 'inventory and menu pods');
    pods.allowToDefaultPort(data.documentDb, 'menu pods');
    for (const service of ['inventory', 'menu'] as const) {
      pods.allowFrom(this.props.edge.alb, ec2.Port.tcp(SERVICES[service].port), 'from the public entry');
    }

    const workloads = cluster.addManifest('Workloads', ...this.eksWorkloads());
    workloads.node.addDependency(csi);
    workloads.node.addDependency(nodegroup);
    return cluster;
  }

  /**
   * The aws overlay of platforms/kubernetes/manifests, rendered at synth, with what only CloudFormation
   * knows filled in: image URIs, the endpoints ConfigMap, and one TargetGroupBinding per
   * service so the ALB controller registers its pods with the edge.
   */
  private eksWorkloads(): Record<string, unknown>[] {
    const { data } = this.props;
    const objects: Record<string, unknown>[] = renderKustomization(EKS_OVERLAY).map((obj) =>
      this.withImages(obj),
    );
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cloudcafe-endpoints', namespace: K8S_NAMESPACE },
      data: {
        AWS_REGION: this.region,
        PLATFORM: AWS_PLATFORM,
        REDIS_HOST: data.redis.attrPrimaryEndPointAddress,
        REDIS_PORT: String(DATA_PORTS.redis),
        REDIS_TLS: 'on',
        MONGO_HOST: data.documentDb.clusterEndpoint.hostname,
        MONGO_PORT: String(DATA_PORTS.documentDb),
        MONGO_TLS: 'on',
        INVENTORY_TABLE: data.tables.inventory.tableName,
        RESERVATIONS_TABLE: data.tables.reservations.tableName,
      },
    });
    for (const service of ['inventory', 'menu'] as const) {
      objects.push({
        apiVersion: 'elbv2.k8s.aws/v1beta1',
        kind: 'TargetGroupBinding',
        metadata: { name: service, namespace: K8S_NAMESPACE },
        spec: {
          serviceRef: { name: service, port: 'http' },
          targetGroupARN: this.targetGroups[service].targetGroupArn,
          targetType: 'ip',
        },
      });
    }
    return objects;
  }

  /** An image repository: scanned, encrypted, the last ten images kept, emptied with the stack. */
  private repository(id: string, repositoryName: string): ecr.Repository {
    return new ecr.Repository(this, id, {
      repositoryName,
      imageScanOnPush: true,
      encryption: ecr.RepositoryEncryption.KMS,
      lifecycleRules: [{ maxImageCount: 10 }],
      emptyOnDelete: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /**
   * Points the `cloudcafe/<name>` images of Deployments (the services) and CronJobs (the fault
   * sweeper) at this account's ECR repositories.
   */
  private withImages(obj: KubernetesObject): KubernetesObject {
    const pod =
      obj.kind === 'Deployment'
        ? (obj.spec as { template: PodTemplate }).template
        : obj.kind === 'CronJob'
          ? (obj.spec as { jobTemplate: { spec: { template: PodTemplate } } }).jobTemplate.spec.template
          : undefined;
    const byImage = new Map<string, ecr.Repository>([
      ...SERVICE_NAMES.map((service) => [`cloudcafe/${service}`, this.repositories[service]] as const),
      [FAULT_SWEEPER.image, this.sweeperRepository],
    ]);
    for (const container of pod?.spec.containers ?? []) {
      const repository = byImage.get(container.image.replace(/:.*$/, ''));
      if (repository) container.image = repository.repositoryUriForTag(this.settings.imageTag);
    }
    return obj;
  }

  // ── EC2 (loyalty, analytics) ─────────────────────────────────────────────────────────────

  private ec2Service(service: ServiceName): autoscaling.AutoScalingGroup {
    const { vpc } = this.props.network;
    const { data, secrets } = this.props;
    const { ec2: size } = this.settings.sizing;
    const role = new iam.Role(this, `${service}InstanceRole`, {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `CloudCafe ${service} instances`,
      // The SSM agent: shell access without SSH, and FIS's AWSFIS-Run-* documents.
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    this.grantServiceAccess(service, role);
    this.repositories[service].grantPull(role);

    const env = { ...this.serviceEnvironment(service) };
    const secretEnv: Record<string, string> = { ADMIN_TOKEN: secrets.adminToken.secretArn };
    if (service === 'loyalty') {
      env.REDIS_HOST = data.memoryDb.attrClusterEndpointAddress;
      env.REDIS_PORT = String(DATA_PORTS.memoryDb);
      env.REDIS_TLS = 'on';
      env.REDIS_USER = 'loyalty';
      secretEnv.REDIS_PASSWORD = `${secrets.memoryDbCredentials.secretArn}:password`;
    } else {
      env.REDSHIFT_WORKGROUP = data.redshiftWorkgroup.workgroupName;
      env.REDSHIFT_DATABASE = 'cloudcafe_analytics';
    }
    const image = this.repositories[service].repositoryUriForTag(this.settings.imageTag);
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      'set -euo pipefail',
      'dnf install -y docker jq',
      'systemctl enable --now docker',
      `aws ecr get-login-password --region ${this.region} | docker login --username AWS --password-stdin ${Fn.select(0, Fn.split('/', image))}`,
      'envfile=/etc/cloudcafe.env; umask 077; : >"$envfile"',
      ...Object.entries(env).map(([k, v]) => `echo '${k}=${v}' >>"$envfile"`),
      // Secrets are read at boot with the instance role; they never appear in user data.
      ...Object.entries(secretEnv).map(([k, ref]) => {
        const [arn, field] = ref.split(/:(?=[a-z]+$)/);
        const query = field ? `| jq -r .${field}` : '';
        return `echo "${k}=$(aws secretsmanager get-secret-value --region ${this.region} --secret-id '${arn}' --query SecretString --output text ${query})" >>"$envfile"`;
      }),
      `docker run -d --name ${service} --restart always --network host --env-file "$envfile" ` +
        `--log-driver awslogs --log-opt awslogs-region=${this.region} --log-opt awslogs-group=/cloudcafe/${service} ` +
        `--log-opt awslogs-create-group=false ${image}`,
    );
    new logs.LogGroup(this, `${service}Logs`, {
      logGroupName: `/cloudcafe/${service}`,
      retention: logs.RetentionDays.TWO_WEEKS,
      removalPolicy: RemovalPolicy.DESTROY,
    }).grantWrite(role);

    const securityGroup = new ec2.SecurityGroup(this, `${service}SecurityGroup`, {
      vpc,
      description: `CloudCafe ${service} instances`,
      allowAllOutbound: true,
    });
    const asg = new autoscaling.AutoScalingGroup(this, `${service}Asg`, {
      autoScalingGroupName: `cloudcafe-${service}`,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: new ec2.LaunchTemplate(this, `${service}LaunchTemplate`, {
        instanceType: new ec2.InstanceType(size.instanceType),
        // Resolved from the public SSM parameter at deploy time: no AMI lookup at synth.
        machineImage: ec2.MachineImage.latestAmazonLinux2023(),
        role,
        userData,
        securityGroup,
        requireImdsv2: true,
        detailedMonitoring: true,
        blockDevices: [
          { deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(30, { encrypted: true }) },
        ],
      }),
      minCapacity: size.instances,
      desiredCapacity: size.instances,
      maxCapacity: size.instances * 2,
      // EC2 status only. The target group's check is readiness: with ELB checks here, a Redis
      // outage would make every loyalty instance unready and the group would replace them all,
      // which brings no Redis back. A dead process is restarted by Docker (--restart always).
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.minutes(3) }),
    });
    Tags.of(asg).add(CHAOS_TAG.key, CHAOS_TAG.value, { applyToLaunchedInstances: true });
    Tags.of(asg).add(SERVICE_TAG, service, { applyToLaunchedInstances: true });
    this.targetGroups[service].addTarget(asg);
    asg.connections.allowFrom(
      this.props.edge.alb,
      ec2.Port.tcp(SERVICES[service].port),
      'from the public entry',
    );
    if (service === 'loyalty') {
      asg.connections.allowTo(data.memoryDbSecurityGroup, ec2.Port.tcp(DATA_PORTS.memoryDb), 'loyalty');
    } else {
      asg.connections.allowTo(data.redshiftSecurityGroup, ec2.Port.tcp(DATA_PORTS.redshift), 'analytics');
    }
    return asg;
  }
}
