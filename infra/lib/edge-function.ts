import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Annotations, CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Answers 503 until the real bundle is built; lets `cdk synth` and the tests run without building the edge. */
export const PLACEHOLDER_EDGE_CODE = fileURLToPath(new URL('../assets/edge-placeholder', import.meta.url));

/** A Lambda Function URL carries at most 6 MB of request payload, and binary bodies arrive base64-encoded. */
export const LAMBDA_MAX_UPLOAD_BYTES = 4 * 1024 * 1024;

export interface EdgeFunctionProps {
  stage: string;
  /** Folder with index.mjs exporting `handler` (built by infra/scripts/build-edge.ts); falls back to the placeholder. */
  codePath: string;
  runtime: 'nodejs20.x' | 'nodejs22.x';
  memoryMb: number;
  reservedConcurrency: number;
  logRetentionDays: number;
  environment: Record<string, string>;
  /** Environment variable name → secret; the entry loads each into process.env before the edge starts. */
  secrets: Record<string, secretsmanager.ISecret>;
  statements: iam.PolicyStatement[];
}

/**
 * The Hono edge on Lambda behind a Function URL (auth NONE: the edge checks API keys itself). Secrets are not put
 * in the function configuration: the entry reads them through the AWS Parameters and Secrets extension at cold start.
 */
export class EdgeFunction extends Construct {
  readonly fn: lambda.Function;
  readonly url: lambda.FunctionUrl;
  readonly usesPlaceholder: boolean;

  constructor(scope: Construct, id: string, props: EdgeFunctionProps) {
    super(scope, id);
    this.usesPlaceholder = !existsSync(`${props.codePath}/index.mjs`);
    if (this.usesPlaceholder) {
      Annotations.of(this).addWarningV2(
        'yi-vl:edge-placeholder',
        `no edge bundle at ${props.codePath}: the function answers 503 until you run npm run build:edge and deploy`,
      );
    }
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const secretEnv = Object.fromEntries(
      Object.entries(props.secrets).map(([name, secret]) => [`${name}_SECRET_ARN`, secret.secretArn]),
    );
    this.fn = new lambda.Function(this, 'Function', {
      functionName: `${props.stage}-edge`,
      runtime: props.runtime === 'nodejs20.x' ? lambda.Runtime.NODEJS_20_X : lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.X86_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(this.usesPlaceholder ? PLACEHOLDER_EDGE_CODE : props.codePath),
      memorySize: props.memoryMb,
      timeout: Duration.seconds(60),
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrency > 0 ? props.reservedConcurrency : undefined,
      paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103, {
        cacheEnabled: true,
        cacheSize: 10,
        secretsManagerTtl: Duration.minutes(5),
        logLevel: lambda.ParamsAndSecretsLogLevel.WARN,
      }),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        MAX_UPLOAD_BYTES: String(LAMBDA_MAX_UPLOAD_BYTES),
        ...props.environment,
        ...secretEnv,
      },
    });
    for (const secret of Object.values(props.secrets)) secret.grantRead(this.fn);
    for (const statement of props.statements) this.fn.addToRolePolicy(statement);
    this.url = this.fn.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });
    new CfnOutput(this, 'Url', { value: this.url.url, description: 'API base URL (Lambda Function URL)' });
  }
}
