import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import {
  type ConditionalWriteMode,
  type ListOptions,
  type ListPage,
  type ObjectHead,
  type ObjectStore,
  PreconditionFailedError,
  type PutOptions,
  type StoredObject,
  StoreUnavailableError,
} from '../ports/object-store.ts';
import { awsClientSpeedOptions } from './client-options.ts';
import { errorName, httpStatusOf, isUnavailable } from './errors.ts';

export interface S3StoreOptions {
  bucket: string;
  client: S3Client;
  conditionalWrites?: ConditionalWriteMode;
}

export interface S3ClientOptions {
  region: string;
  /** Overrides `AWS_ENDPOINT_URL_S3` (which the SDK also reads by itself). */
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: S3ClientConfig['credentials'];
}

export function createS3Client(options: S3ClientOptions): S3Client {
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Default CRC32 trailers use aws-chunked uploads that several S3-compatible stores reject; checksums are
    // still sent where an operation requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...awsClientSpeedOptions,
  });
  client.middlewareStack.add(unsignedPayloadOverTls, { step: 'build', name: 'unsignedPayloadOverTls' });
  return client;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Signs a put's body as `UNSIGNED-PAYLOAD` instead of hashing it (SigV4 otherwise hashes every buffered body: about
 * 1 ms of CPU per 400 KB model input), where the transport already guards the bytes: HTTPS, or a loopback endpoint
 * (the local servers). Over plain HTTP to another host the payload hash stays in the signature.
 */
const unsignedPayloadOverTls =
  <A extends { request: unknown }, R>(next: (args: A) => Promise<R>, context: { commandName?: string }) =>
  (args: A): Promise<R> => {
    const request = args.request as { protocol?: string; hostname?: string; headers?: Record<string, string> };
    if (
      context.commandName === 'PutObjectCommand' &&
      request.headers &&
      (request.protocol === 'https:' || LOOPBACK_HOSTS.has(request.hostname ?? ''))
    )
      request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    return next(args);
  };

const unquote = (etag: string | undefined) => (etag ?? '').replaceAll('"', '');

export class S3ObjectStore implements ObjectStore {
  readonly conditionalWrites: ConditionalWriteMode;
  private readonly bucket: string;
  private readonly client: S3Client;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.client = options.client;
    this.conditionalWrites = options.conditionalWrites ?? 'native';
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    if (this.conditionalWrites === 'emulated') await this.checkPrecondition(key, options);
    const native = this.conditionalWrites === 'native';
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentType: options.contentType,
      CacheControl: options.cacheControl,
      ...(native && options.ifNoneMatch ? { IfNoneMatch: options.ifNoneMatch } : {}),
      ...(native && options.ifMatch ? { IfMatch: `"${unquote(options.ifMatch)}"` } : {}),
    });
    const res = await this.call(key, () => this.client.send(command));
    return { etag: unquote(res.ETag) };
  }

  async get(key: string): Promise<StoredObject | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body = res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
      return {
        key,
        body,
        etag: unquote(res.ETag),
        size: res.ContentLength ?? body.byteLength,
        ...(res.ContentType ? { contentType: res.ContentType } : {}),
        ...(res.LastModified ? { lastModified: res.LastModified } : {}),
      };
    } catch (err) {
      if (isMissing(err)) return null;
      throw this.translate(key, err);
    }
  }

  async head(key: string): Promise<ObjectHead | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        key,
        etag: unquote(res.ETag),
        size: res.ContentLength ?? 0,
        ...(res.ContentType ? { contentType: res.ContentType } : {}),
        ...(res.LastModified ? { lastModified: res.LastModified } : {}),
      };
    } catch (err) {
      if (isMissing(err)) return null;
      throw this.translate(key, err);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const res = await this.call(prefix, () =>
      this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          StartAfter: options.startAfter,
          ContinuationToken: options.continuationToken,
          MaxKeys: options.maxKeys,
        }),
      ),
    );
    return {
      items: (res.Contents ?? []).map((o) => ({
        key: o.Key ?? '',
        etag: unquote(o.ETag),
        size: o.Size ?? 0,
        ...(o.LastModified ? { lastModified: o.LastModified } : {}),
      })),
      ...(res.IsTruncated && res.NextContinuationToken ? { continuationToken: res.NextContinuationToken } : {}),
    };
  }

  async delete(key: string): Promise<void> {
    await this.call(key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  async ping(): Promise<void> {
    await this.call(this.bucket, () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  private async checkPrecondition(key: string, options: PutOptions): Promise<void> {
    if (!options.ifNoneMatch && !options.ifMatch) return;
    const current = await this.head(key);
    if (options.ifNoneMatch && current) throw new PreconditionFailedError(key);
    if (options.ifMatch && (!current || current.etag !== unquote(options.ifMatch)))
      throw new PreconditionFailedError(key);
  }

  private async call<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.translate(key, err);
    }
  }

  private translate(key: string, err: unknown): Error {
    const status = httpStatusOf(err);
    if (status === 412 || status === 409 || errorName(err) === 'PreconditionFailed')
      return new PreconditionFailedError(key);
    if (isUnavailable(err))
      return new StoreUnavailableError(`object store unavailable (${errorName(err) || status})`, { cause: err });
    return err instanceof Error ? err : new Error(String(err));
  }
}

function isMissing(err: unknown): boolean {
  const status = httpStatusOf(err);
  return status === 404 || errorName(err) === 'NoSuchKey' || errorName(err) === 'NotFound';
}
