import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BacklogScaling } from './backlog-scaling.ts';

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?:[:@](.+))?$/;

/**
 * A private ECR image gets a pull grant on its repository for the execution role; any other registry is pulled as is
 * (public images, or add repositoryCredentials for a private non-ECR registry).
 */
export function containerImage(scope: Construct, uri: string): ecs.ContainerImage {
  const m = ECR_IMAGE.exec(uri);
  if (!m) return ecs.ContainerImage.fromRegistry(uri);
  const [, account, region, name, ref] = m;
  const partition = uri.includes('.amazonaws.com.cn/') ? 'aws-cn' : 'aws';
  const repository = ecr.Repository.fromRepositoryArn(
    scope,
    'WorkerRepository',
    `arn:${partition}:ecr:${region}:${account}:repository/${name}`,
  );
  return ecs.ContainerImage.fromEcrRepository(repository, ref ?? 'latest');
}

/** ECS waits at most this long after SIGTERM before SIGKILL (the ceiling ECS accepts for stopTimeout). */
export const ECS_MAX_STOP_TIMEOUT_SECONDS = 120;
export const WORKER_METRICS_PORT = 9464;

export interface GpuWorkersProps {
  stage: string;
  image: string;
  instanceType: string;
  rootVolumeGiB: number;
  memoryMiB: number;
  minWorkers: number;
  maxWorkers: number;
  jobsPerWorker: number;
  scaleInAfterIdleMinutes: number;
  logRetentionDays: number;
  jobQueue: sqs.IQueue;
  /** Batch items count toward the backlog the service scales on. */
  batchQueue: sqs.IQueue;
  environment: Record<string, string>;
  secrets: Record<string, secretsmanager.ISecret>;
  statements: iam.PolicyStatement[];
}

/**
 * GPU workers as an ECS service on GPU EC2 instances (one task = one GPU = one instance). A capacity provider with
 * managed scaling launches instances for pending tasks and removes idle ones, so zero tasks means zero instances.
 * The VPC has public subnets only and no NAT gateway (a NAT gateway costs money while idle); instances get public
 * addresses but accept no inbound traffic, and S3 traffic goes through a free gateway endpoint.
 */
export class GpuWorkers extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly service: ecs.Ec2Service;
  readonly taskDefinition: ecs.Ec2TaskDefinition;
  readonly scaling: BacklogScaling;

  constructor(scope: Construct, id: string, props: GpuWorkersProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 3,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 22 }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, clusterName: `${props.stage}-gpu` });

    const securityGroup = new ec2.SecurityGroup(this, 'InstanceSg', {
      vpc: this.vpc,
      description: 'GPU workers: no inbound, outbound to AWS APIs and webhook receivers',
      allowAllOutbound: true,
    });
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(props.instanceType),
      // The ECS-optimized GPU AMI ships the NVIDIA driver and container toolkit; the image brings CUDA 12 + cuDNN 9.
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.GPU),
      userData: ec2.UserData.forLinux(),
      securityGroup,
      // ECS adds the agent's permissions to this role. IMDSv2 with a hop limit of 1 keeps bridge-mode containers
      // from reaching instance metadata, so tasks only ever hold their task role.
      role: new iam.Role(this, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }),
      associatePublicIpAddress: true,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB, {
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            encrypted: true,
          }),
        },
      ],
    });
    const asg = new autoscaling.AutoScalingGroup(this, 'Instances', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate,
      minCapacity: 0,
      maxCapacity: props.maxWorkers,
    });
    const capacityProvider = new ecs.AsgCapacityProvider(this, 'Capacity', {
      autoScalingGroup: asg,
      enableManagedScaling: true,
      enableManagedTerminationProtection: true,
      enableManagedDraining: true,
      targetCapacityPercent: 100,
      minimumScalingStepSize: 1,
      maximumScalingStepSize: Math.max(1, props.maxWorkers),
    });
    this.cluster.addAsgCapacityProvider(capacityProvider);

    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'Task', { family: `${props.stage}-worker` });
    for (const statement of props.statements) this.taskDefinition.addToTaskRolePolicy(statement);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.taskDefinition.addContainer('worker', {
      image: containerImage(this, props.image),
      gpuCount: 1,
      memoryReservationMiB: props.memoryMiB,
      essential: true,
      stopTimeout: Duration.seconds(ECS_MAX_STOP_TIMEOUT_SECONDS),
      environment: {
        AWS_REGION: Stack.of(this).region,
        METRICS_PORT: String(WORKER_METRICS_PORT),
        WORKER_CONCURRENCY: '1',
        // In-flight jobs get until just before SIGKILL; a longer job is released and retried on another worker.
        SHUTDOWN_GRACE_SECONDS: String(ECS_MAX_STOP_TIMEOUT_SECONDS - 10),
        ...props.environment,
      },
      secrets: Object.fromEntries(
        Object.entries(props.secrets).map(([name, secret]) => [name, ecs.Secret.fromSecretsManager(secret)]),
      ),
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${WORKER_METRICS_PORT}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        // Image pull + model download + session creation.
        startPeriod: Duration.seconds(300),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'worker' }),
    });

    this.service = new ecs.Ec2Service(this, 'Service', {
      cluster: this.cluster,
      serviceName: `${props.stage}-worker`,
      taskDefinition: this.taskDefinition,
      desiredCount: props.minWorkers,
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      capacityProviderStrategies: [{ capacityProvider: capacityProvider.capacityProviderName, weight: 1 }],
      circuitBreaker: { rollback: true },
      placementConstraints: [ecs.PlacementConstraint.distinctInstances()],
    });
    const target = new appscaling.ScalableTarget(this, 'TaskCount', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      resourceId: `service/${this.cluster.clusterName}/${this.service.serviceName}`,
      scalableDimension: 'ecs:service:DesiredCount',
      minCapacity: props.minWorkers,
      maxCapacity: props.maxWorkers,
    });
    target.node.addDependency(this.service);
    this.scaling = new BacklogScaling(this, 'BacklogScaling', {
      target,
      queues: { jobs: props.jobQueue, batch: props.batchQueue },
      jobsPerWorker: props.jobsPerWorker,
      minWorkers: props.minWorkers,
      maxWorkers: props.maxWorkers,
      scaleInAfterIdleMinutes: props.scaleInAfterIdleMinutes,
    });
  }
}
