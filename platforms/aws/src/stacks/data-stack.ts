import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as docdb from 'aws-cdk-lib/aws-docdb';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as memorydb from 'aws-cdk-lib/aws-memorydb';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as redshift from 'aws-cdk-lib/aws-redshiftserverless';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { FactName } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import type { LabSettings } from '../config.js';
import {
  CHAOS_TAG,
  ORDERS_DATABASE,
  PAYMENT_MAX_RECEIVE_COUNT,
  QUEUES,
  SERVICE_TAG,
  STACK_OUTPUTS,
  STREAMS,
  TABLES,
} from '../names.js';
import type { NetworkStack } from './network-stack.js';
import type { SecretsStack } from './secrets-stack.js';

export interface DataStackProps extends StackProps {
  readonly settings: LabSettings;
  readonly network: NetworkStack;
  readonly secrets: SecretsStack;
}

/** Prefix of the ALB's access logs in the access-log bucket. */
export const ALB_LOG_PREFIX = 'alb';

/** Port numbers the data stores listen on; security groups open exactly these. */
export const DATA_PORTS = { postgres: 5432, documentDb: 27017, redis: 6379, memoryDb: 6379, redshift: 5439 };

/**
 * Everything that holds state. Encrypted at rest (KMS) and in transit (TLS required) everywhere;
 * databases sit in isolated subnets and each accepts connections only from security groups the
 * compute stack adds. A lab is torn down and rebuilt often, so stores are destroyed with the
 * stack (snapshots where the engine takes one) instead of being retained forever.
 */
export class DataStack extends Stack {
  readonly key: kms.Key;
  readonly aurora: rds.DatabaseCluster;
  readonly documentDb: docdb.DatabaseCluster;
  readonly redis: elasticache.CfnReplicationGroup;
  readonly redisSecurityGroup: ec2.SecurityGroup;
  readonly memoryDb: memorydb.CfnCluster;
  readonly memoryDbSecurityGroup: ec2.SecurityGroup;
  readonly redshiftWorkgroup: redshift.CfnWorkgroup;
  readonly redshiftNamespace: redshift.CfnNamespace;
  readonly redshiftSecurityGroup: ec2.SecurityGroup;
  readonly tables: Record<keyof typeof TABLES, dynamodb.Table>;
  readonly orderEvents: kinesis.Stream;
  readonly paymentRequests: sqs.Queue;
  readonly paymentRequestsDlq: sqs.Queue;
  readonly paymentResults: sqs.Queue;
  readonly receipts: s3.Bucket;
  /** Where the FIS Lambda extension reads the faults FIS writes (see the chaos stack). */
  readonly fisConfig: s3.Bucket;
  /** Server access logs of the buckets above and of the load balancer. */
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { vpc } = props.network;
    const { sizing } = props.settings;
    const dataSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const isolatedSubnetIds = vpc.isolatedSubnets.map((s) => s.subnetId);

    this.key = new kms.Key(this, 'DataKey', {
      description: 'CloudCafe data at rest (databases, tables, queues, stream)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // ── Buckets ────────────────────────────────────────────────────────────────────────────
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // S3 server access logs and ALB logs can only be delivered to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    // ALB access logs: CDK's logAccessLogs needs a concrete region, so the grant to the
    // region's ELB account is written here from a region map (resolved at deploy time).
    this.accessLogs.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlbAccessLogs',
        principals: [new iam.AccountPrincipal(this.regionalFact(FactName.ELBV2_ACCOUNT))],
        actions: ['s3:PutObject'],
        resources: [this.accessLogs.arnForObjects(`${ALB_LOG_PREFIX}/AWSLogs/${this.account}/*`)],
      }),
    );
    const bucket = (name: string, prefix: string) =>
      new s3.Bucket(this, name, {
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.key,
        bucketKeyEnabled: true,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        versioned: true,
        serverAccessLogsBucket: this.accessLogs,
        serverAccessLogsPrefix: `${prefix}/`,
        removalPolicy: RemovalPolicy.DESTROY,
        autoDeleteObjects: true,
      });
    this.receipts = bucket('Receipts', 'receipts');
    this.fisConfig = bucket('FisConfig', 'fis-config');

    // ── DynamoDB ───────────────────────────────────────────────────────────────────────────
    const table = (key: keyof typeof TABLES, timeToLiveAttribute?: string) =>
      new dynamodb.Table(this, `${key[0]?.toUpperCase()}${key.slice(1)}Table`, {
        tableName: TABLES[key].name,
        ...(timeToLiveAttribute && { timeToLiveAttribute }),
        partitionKey: { name: TABLES[key].partitionKey, type: dynamodb.AttributeType.STRING },
        // On demand: an idle lab pays for storage only, and a stress run is not throttled by
        // capacity someone forgot to raise.
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: this.key,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    this.tables = {
      inventory: table('inventory'),
      // Finished reservations carry `ttl` (epoch s): DynamoDB deletes them after the retention.
      reservations: table('reservations', 'ttl'),
      payments: table('payments'),
      // one item per consumer and shard: which loyalty or analytics instance reads it (ADR 0018)
      kinesisLeases: table('kinesisLeases'),
    };

    // ── Kinesis ────────────────────────────────────────────────────────────────────────────
    this.orderEvents = new kinesis.Stream(this, 'OrderEvents', {
      streamName: STREAMS.orderEvents,
      streamMode:
        sizing.kinesis.mode === 'on-demand' ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
      ...(sizing.kinesis.mode === 'provisioned' ? { shardCount: sizing.kinesis.shards } : {}),
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: this.key,
      retentionPeriod: Duration.hours(24),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // ── SQS ────────────────────────────────────────────────────────────────────────────────
    const queue = (id: string, props: sqs.QueueProps) =>
      new sqs.Queue(this, id, {
        fifo: true,
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.key,
        dataKeyReuse: Duration.hours(1),
        enforceSSL: true,
        removalPolicy: RemovalPolicy.DESTROY,
        ...props,
      });
    this.paymentRequestsDlq = queue('PaymentRequestsDlq', {
      queueName: QUEUES.paymentRequestsDlq,
      // Two weeks (the maximum) so a DLQ found after a weekend still has its messages.
      retentionPeriod: Duration.days(14),
    });
    this.paymentRequests = queue('PaymentRequests', {
      queueName: QUEUES.paymentRequests,
      // Six times the Lambda timeout (30 s), as AWS advises for SQS event sources, so a retried
      // batch is not redelivered while a slow invocation still holds it.
      visibilityTimeout: Duration.seconds(180),
      deadLetterQueue: { queue: this.paymentRequestsDlq, maxReceiveCount: PAYMENT_MAX_RECEIVE_COUNT },
    });
    this.paymentResults = queue('PaymentResults', {
      queueName: QUEUES.paymentResults,
      visibilityTimeout: Duration.seconds(60),
      deadLetterQueue: { queue: this.paymentRequestsDlq, maxReceiveCount: PAYMENT_MAX_RECEIVE_COUNT },
    });

    // ── Aurora PostgreSQL Serverless v2 (order) ────────────────────────────────────────────
    this.aurora = new rds.DatabaseCluster(this, 'Aurora', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({
        version: rds.AuroraPostgresEngineVersion.VER_16_13,
      }),
      // From the secrets stack by dynamic reference: attaching the secret to the cluster would
      // make the secrets stack depend on this one.
      credentials: rds.Credentials.fromPassword(
        'cloudcafe',
        props.secrets.auroraCredentials.secretValueFromJson('password'),
      ),
      defaultDatabaseName: ORDERS_DATABASE,
      writer: rds.ClusterInstance.serverlessV2('writer'),
      // A reader in the writer's promotion tier: the db-failover fault needs somewhere to fail to.
      readers: [rds.ClusterInstance.serverlessV2('reader', { scaleWithWriter: true })],
      // 0 ACU pauses the cluster when idle (billed for storage only) in the small lab.
      serverlessV2MinCapacity: sizing.aurora.minAcu,
      serverlessV2MaxCapacity: sizing.aurora.maxAcu,
      vpc,
      vpcSubnets: dataSubnets,
      storageEncrypted: true,
      storageEncryptionKey: this.key,
      iamAuthentication: true,
      parameters: { 'rds.force_ssl': '1' },
      cloudwatchLogsExports: ['postgresql'],
      backup: { retention: Duration.days(1) },
      deletionProtection: false,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    Tags.of(this.aurora).add(CHAOS_TAG.key, CHAOS_TAG.value);
    Tags.of(this.aurora).add(SERVICE_TAG, 'order');
    // for `cloudcafe target aws`: the audit reads the orders here (through a tunnel: it is private)
    new CfnOutput(this, STACK_OUTPUTS.ordersDatabaseHost, { value: this.aurora.clusterEndpoint.hostname });

    // ── DocumentDB (menu) ──────────────────────────────────────────────────────────────────
    this.documentDb = new docdb.DatabaseCluster(this, 'DocumentDb', {
      masterUser: {
        username: 'cloudcafe',
        password: props.secrets.documentDbCredentials.secretValueFromJson('password'),
      },
      instanceType: new ec2.InstanceType(sizing.documentDb.instanceType),
      instances: sizing.documentDb.instances,
      vpc,
      vpcSubnets: dataSubnets,
      storageEncrypted: true,
      kmsKey: this.key,
      // The default cluster parameter group already requires TLS; audit and profiler logs on.
      exportAuditLogsToCloudWatch: true,
      exportProfilerLogsToCloudWatch: true,
      backup: { retention: Duration.days(1) },
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    Tags.of(this.documentDb).add(SERVICE_TAG, 'menu');

    // ── ElastiCache Redis (menu and inventory read cache) ──────────────────────────────────
    this.redisSecurityGroup = new ec2.SecurityGroup(this, 'RedisSecurityGroup', {
      vpc,
      description: 'ElastiCache Redis: menu and inventory cache',
      allowAllOutbound: false,
    });
    const redisSubnets = new elasticache.CfnSubnetGroup(this, 'RedisSubnets', {
      description: 'CloudCafe cache subnets',
      subnetIds: isolatedSubnetIds,
    });
    this.redis = new elasticache.CfnReplicationGroup(this, 'Redis', {
      replicationGroupDescription: 'CloudCafe read cache (menu, inventory)',
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: sizing.redis.nodeType,
      numCacheClusters: sizing.redis.nodes,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      cacheSubnetGroupName: redisSubnets.ref,
      securityGroupIds: [this.redisSecurityGroup.securityGroupId],
      atRestEncryptionEnabled: true,
      kmsKeyId: this.key.keyId,
      transitEncryptionEnabled: true,
      authToken: props.secrets.redisAuth.secretValueFromJson('token').unsafeUnwrap(),
      port: DATA_PORTS.redis,
      snapshotRetentionLimit: 1,
    });
    Tags.of(this.redis).add(CHAOS_TAG.key, CHAOS_TAG.value);

    // ── MemoryDB (loyalty) ─────────────────────────────────────────────────────────────────
    this.memoryDbSecurityGroup = new ec2.SecurityGroup(this, 'MemoryDbSecurityGroup', {
      vpc,
      description: 'MemoryDB: loyalty balances',
      allowAllOutbound: false,
    });
    const memoryDbSubnets = new memorydb.CfnSubnetGroup(this, 'MemoryDbSubnets', {
      subnetGroupName: 'cloudcafe-loyalty',
      subnetIds: isolatedSubnetIds,
    });
    const loyaltyUser = new memorydb.CfnUser(this, 'MemoryDbLoyaltyUser', {
      userName: 'loyalty',
      // Keys and commands the loyalty service uses; no admin commands (FLUSHALL, CONFIG, …).
      accessString: 'on ~* &* +@all -@dangerous',
      authenticationMode: {
        Type: 'password',
        Passwords: [props.secrets.memoryDbCredentials.secretValueFromJson('password').unsafeUnwrap()],
      },
    });
    const acl = new memorydb.CfnACL(this, 'MemoryDbAcl', {
      aclName: 'cloudcafe-loyalty',
      userNames: ['loyalty'],
    });
    acl.addDependency(loyaltyUser);
    this.memoryDb = new memorydb.CfnCluster(this, 'MemoryDb', {
      clusterName: 'cloudcafe-loyalty',
      aclName: acl.aclName,
      nodeType: sizing.memoryDb.nodeType,
      numShards: 1,
      numReplicasPerShard: sizing.memoryDb.replicasPerShard,
      subnetGroupName: memoryDbSubnets.ref,
      securityGroupIds: [this.memoryDbSecurityGroup.securityGroupId],
      tlsEnabled: true,
      kmsKeyId: this.key.keyId,
      snapshotRetentionLimit: 1,
    });
    this.memoryDb.addDependency(acl);
    this.memoryDb.addDependency(memoryDbSubnets);

    // ── Redshift Serverless (analytics) ────────────────────────────────────────────────────
    this.redshiftSecurityGroup = new ec2.SecurityGroup(this, 'RedshiftSecurityGroup', {
      vpc,
      description: 'Redshift Serverless: analytics warehouse',
      allowAllOutbound: false,
    });
    this.redshiftNamespace = new redshift.CfnNamespace(this, 'RedshiftNamespace', {
      namespaceName: 'cloudcafe-analytics',
      dbName: 'cloudcafe_analytics',
      adminUsername: 'cloudcafe',
      // Redshift generates and keeps the admin password in Secrets Manager itself.
      manageAdminPassword: true,
      adminPasswordSecretKmsKeyId: props.secrets.key.keyId,
      kmsKeyId: this.key.keyId,
      logExports: ['connectionlog', 'userlog', 'useractivitylog'],
    });
    this.redshiftWorkgroup = new redshift.CfnWorkgroup(this, 'RedshiftWorkgroup', {
      workgroupName: 'cloudcafe-analytics',
      namespaceName: this.redshiftNamespace.namespaceName,
      // Billed per RPU-second while queries run: nothing while the lab is idle.
      baseCapacity: sizing.redshift.baseRpu,
      maxCapacity: sizing.redshift.maxRpu,
      publiclyAccessible: false,
      enhancedVpcRouting: true,
      subnetIds: props.network.analyticsSubnets.map((s) => s.subnetId),
      securityGroupIds: [this.redshiftSecurityGroup.securityGroupId],
      configParameters: [{ parameterKey: 'require_ssl', parameterValue: 'true' }],
    });
    this.redshiftWorkgroup.addDependency(this.redshiftNamespace);
  }
}
