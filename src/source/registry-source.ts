/**
 * `docker://HOST/REPO[:TAG|@DIGEST]`: the manifest the registry gives for
 * the tag or digest (an index is resolved for the platform, its entries
 * fetched by digest) and blobs straight from the registry.
 */
import {
  findCredentials, RegistryClient, tlsOptionsFor, parseRegistryReference,
  type Credentials, type RetryPolicy, type TlsSettings,
} from '../registry/index.js';
import type { BlobDescriptor, ImageSource, ResolvedManifest } from './image-source.js';
import type { Platform } from './platform.js';
import { resolveToManifest } from './select.js';

export interface RegistrySourceOptions {
  /** `--creds`; else the auth files are searched. */
  readonly credentials?: Credentials;
  /** `--authfile` (default `$REGISTRY_AUTH_FILE`). */
  readonly authFile?: string;
  /** `--tls-verify`, `--cert-dir`. */
  readonly tls?: Partial<TlsSettings>;
  readonly retry?: RetryPolicy;
}

export class RegistrySource implements ImageSource {
  private constructor(
    readonly name: string,
    private readonly client: RegistryClient,
  ) {}

  static async open(name: string, options: RegistrySourceOptions = {}): Promise<RegistrySource> {
    const ref = parseRegistryReference(name);
    const credentials = options.credentials ?? (await findCredentials(ref.registry, ref.repository, options.authFile !== undefined ? { authFile: options.authFile } : {}));
    const tls = await tlsOptionsFor(ref.registry, { verify: options.tls?.verify ?? true, ...(options.tls?.certDir !== undefined ? { certDir: options.tls.certDir } : {}) });
    const client = new RegistryClient(ref, { tls, ...(credentials ? { credentials } : {}), ...(options.retry ? { retry: options.retry } : {}) }, name);
    return new RegistrySource(name, client);
  }

  async resolve(platform: Platform): Promise<ResolvedManifest> {
    const top = await this.client.manifest(this.client.ref.manifestRef);
    const read = async (d: BlobDescriptor): Promise<Buffer> => (await this.client.manifest(d.digest, { digest: d.digest, size: d.size })).bytes;
    return resolveToManifest(top, platform, read, this.name);
  }

  blob(d: BlobDescriptor): AsyncIterable<Uint8Array> {
    return this.client.blob(d.digest, d.size);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
