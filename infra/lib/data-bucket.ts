import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { keys } from '../../shared/storage/keys.ts';

export interface DataBucketProps {
  /** Days after which objects under `inputs/` expire; nothing else expires. */
  inputRetentionDays: number;
}

/**
 * The one bucket holding inputs, job records, idempotency records, usage, events and cancel markers.
 * Private, SSE-S3 encrypted, TLS only, owner-enforced (no ACLs); it is retained when the stack is deleted because
 * it holds billing records.
 */
export class DataBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-inputs',
          prefix: keys.kindPrefix('inputs'),
          expiration: Duration.days(props.inputRetentionDays),
        },
        // Uploads cut off mid-way leave invisible parts that are billed; applies to every prefix but deletes no object.
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
  }
}
