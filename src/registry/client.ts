/**
 * A client of the OCI distribution API for pulling: the version check
 * (`/v2/`), which tells the authentication scheme; bearer tokens fetched
 * from the realm the challenge names (with the credentials, if any) and
 * basic authentication; manifests by tag or digest; blobs as streams that
 * follow redirects to blob storage (without sending the registry's
 * credentials there) and resume where they broke off, with a bounded
 * number of attempts and a growing pause between them.
 *
 * Plain HTTP only with `--tls-verify=false`, and only when HTTPS fails, as
 * containers/image does for insecure registries.
 */
import { createHash } from 'node:crypto';
import { AuthError, IntegrityError, InputError, NotFoundError, SystemError } from '../../common/index.js';
import type { Credentials } from './auth-file.js';
import { parseChallenges, type Challenge } from './challenge.js';
import { discardBody, HttpClient, networkError, readBody, type HttpResponse } from './http.js';
import type { RegistryReference } from './reference.js';
import type { TlsOptions } from './tls.js';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

const MAX_MANIFEST = 4 << 20;
const MAX_TOKEN_RESPONSE = 1 << 20;
const MAX_ERROR_BODY = 64 << 10;
const MAX_REDIRECTS = 5;

export interface RetryPolicy {
  /** Tries of one request or blob, the first included. */
  readonly attempts: number;
  /** The pause before the second try; doubled each time after. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, firstDelayMs: 250, maxDelayMs: 4000 };

export interface RegistryClientOptions {
  readonly credentials?: Credentials;
  readonly tls: TlsOptions;
  readonly retry?: RetryPolicy;
}

export interface FetchedManifest {
  readonly bytes: Buffer;
  /** The Content-Type the registry gave. */
  readonly mediaType: string | undefined;
  readonly digest: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Connection failures that may pass: a connection lost or stalled. Not a
 * registry that is down (refused, no such host) or a TLS mismatch, which
 * another try would only repeat.
 */
const TRANSIENT = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'EIO']);

/** Failures worth another try: transient network errors, the server's 5xx and 429, a short body. */
function retryable(err: unknown): boolean {
  if (err instanceof RetryableStatus || err instanceof TruncatedBlob) return true;
  return err instanceof SystemError && TRANSIENT.has(err.errno);
}

class RetryableStatus extends Error {}
class TruncatedBlob extends Error {
  constructor(readonly received: number) {
    super('truncated');
  }
}

/** The registry's own words from an error body (`{"errors":[{code,message}]}`). */
async function errorDetail(res: HttpResponse, input: string): Promise<string> {
  let body: Buffer;
  try {
    body = await readBody(res, MAX_ERROR_BODY, input);
  } catch {
    return `HTTP ${res.status}`;
  }
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    const first = doc.errors?.[0];
    if (first) return `HTTP ${res.status} ${first.code ?? ''}${first.message ? `: ${first.message}` : ''}`.trim();
  } catch {
    // Not JSON: the status says enough.
  }
  return `HTTP ${res.status}`;
}

export class RegistryClient {
  readonly #http: HttpClient;
  readonly #retry: RetryPolicy;
  #base: URL | undefined;
  #challenge: Challenge | undefined;
  #token: string | undefined;

  constructor(
    readonly ref: RegistryReference,
    private readonly options: RegistryClientOptions,
    /** Names the image in messages (`docker://…`). */
    readonly label: string,
  ) {
    this.#http = new HttpClient(options.tls, `registry ${ref.registry}`);
    this.#retry = options.retry ?? DEFAULT_RETRY;
  }

  close(): void {
    this.#http.close();
  }

  /** `/v2/`: where the API is (https, or http if insecure) and how it authenticates. */
  async #ping(): Promise<URL> {
    if (this.#base) return this.#base;
    const schemes = this.options.tls.rejectUnauthorized ? ['https'] : ['https', 'http'];
    const failures: { url: URL; error: unknown }[] = [];
    for (const scheme of schemes) {
      const base = new URL(`${scheme}://${this.ref.apiHost}/v2/`);
      let res: HttpResponse;
      try {
        res = await this.#withRetries(() => this.#http.request(base));
      } catch (error) {
        failures.push({ url: base, error });
        continue;
      }
      await discardBody(res);
      if (res.status === 401) {
        this.#challenge = parseChallenges(res.headers['www-authenticate'])[0];
      } else if (res.status !== 200) {
        throw new InputError(`registry ${this.ref.registry}`, `${base.href} answered HTTP ${res.status}: not an OCI distribution registry?`);
      }
      this.#base = base;
      return base;
    }
    // Each failure in Node's words (the cause), the last one's errno.
    const words = failures.map(({ url, error }) => {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error);
      return `${url.href}: ${cause}`;
    });
    let detail = words.join('; ');
    if (/wrong version number|EPROTO/.test(detail)) detail += ' (a plain-HTTP registry? --tls-verify=false allows that)';
    const last = failures.at(-1)?.error;
    throw new SystemError(last instanceof SystemError ? last.errno : 'EIO', 'connect', `registry ${this.ref.registry}`, detail);
  }

  async #authorization(refresh: boolean): Promise<string | undefined> {
    const creds = this.options.credentials;
    const scheme = this.#challenge?.scheme;
    if (scheme === 'basic') {
      if (!creds) throw new AuthError(this.label, `registry ${this.ref.registry} wants credentials (give --creds or log in to an auth file)`);
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    if (scheme === 'bearer') {
      if (this.#token === undefined || refresh) this.#token = await this.#fetchToken();
      return `Bearer ${this.#token}`;
    }
    return undefined;
  }

  async #fetchToken(): Promise<string> {
    const params = this.#challenge?.params ?? {};
    if (!params.realm) throw new InputError(`registry ${this.ref.registry}`, 'its Bearer challenge names no realm');
    let realm: URL;
    try {
      realm = new URL(params.realm);
    } catch {
      throw new InputError(`registry ${this.ref.registry}`, `its token realm "${params.realm}" is not a URL`);
    }
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', `repository:${this.ref.repository}:pull`);
    const creds = this.options.credentials;
    const headers: Record<string, string> = creds ? { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` } : {};
    const res = await this.#withRetries(() => this.#http.request(realm, headers));
    const input = `token service ${realm.origin}`;
    if (res.status === 401 || res.status === 403) {
      await discardBody(res);
      throw new AuthError(
        this.label,
        creds ? `the credentials from ${creds.source} were refused (HTTP ${res.status} from ${realm.origin})` : `anonymous access refused (HTTP ${res.status} from ${realm.origin}): give --creds or log in`,
      );
    }
    if (res.status !== 200) throw new InputError(input, await errorDetail(res, input));
    const body = await readBody(res, MAX_TOKEN_RESPONSE, input);
    let doc: { token?: unknown; access_token?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new InputError(input, 'its answer is not JSON');
    }
    const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : doc.access_token;
    if (typeof token !== 'string' || token === '') throw new InputError(input, 'its answer holds no token');
    return token;
  }

  async #withRetries<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (!retryable(err) || n >= this.#retry.attempts) throw err;
        await sleep(this.#delay(n));
      }
    }
  }

  #delay(attempt: number): number {
    return Math.min(this.#retry.maxDelayMs, this.#retry.firstDelayMs * 2 ** (attempt - 1));
  }

  /**
   * GET `path` below /v2/ with authentication, following redirects. A
   * 401 gets one fresh token; 5xx and 429 answers throw RetryableStatus.
   */
  async #get(path: string, headers: Record<string, string>): Promise<HttpResponse> {
    const base = await this.#ping();
    for (let refresh = false; ; refresh = true) {
      const auth = await this.#authorization(refresh);
      let url = new URL(path, base);
      let res: HttpResponse;
      for (let hops = 0; ; hops++) {
        // The registry's credentials go to the registry only.
        const sameOrigin = url.origin === base.origin;
        res = await this.#http.request(url, { ...headers, ...(auth && sameOrigin ? { authorization: auth } : {}) });
        const location = res.headers.location;
        if (res.status < 300 || res.status >= 400 || res.status === 304 || location === undefined) break;
        await discardBody(res);
        if (hops >= MAX_REDIRECTS) throw new InputError(this.label, `more than ${MAX_REDIRECTS} redirects from ${new URL(path, base).href}`);
        url = new URL(location, url);
      }
      if (res.status === 401 && !refresh && this.#challenge?.scheme === 'bearer') {
        await discardBody(res);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        const detail = await errorDetail(res, this.label);
        const creds = this.options.credentials;
        throw new AuthError(this.label, creds ? `the credentials from ${creds.source} were refused (${detail})` : `access refused (${detail}): give --creds or log in`);
      }
      if (res.status >= 500 || res.status === 429) {
        await discardBody(res);
        throw new RetryableStatus(`HTTP ${res.status} from ${res.url.href}`);
      }
      return res;
    }
  }

  /** A manifest (or index) by tag or digest; a digest is checked. */
  async manifest(reference: string, expected?: { digest: string; size?: number }): Promise<FetchedManifest> {
    const path = `${this.ref.repository}/manifests/${reference}`;
    const res = await this.#withRetries(() => this.#get(path, { accept: MANIFEST_ACCEPT }));
    const what = expected ? `manifest ${expected.digest}` : `manifest ${reference}`;
    if (res.status === 404) throw new NotFoundError(this.label, `${what}: not in the registry (${await errorDetail(res, this.label)})`);
    if (res.status !== 200) throw new InputError(this.label, `${what}: ${await errorDetail(res, this.label)}`);
    const bytes = await readBody(res, MAX_MANIFEST, `${this.label}: ${what}`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const want = expected?.digest ?? (reference.includes(':') ? reference : undefined);
    if (want !== undefined && want !== digest) throw new IntegrityError(`${this.label}: ${what}`, `its bytes have digest ${digest}, not ${want}`);
    if (expected?.size !== undefined && expected.size !== bytes.length) {
      throw new IntegrityError(`${this.label}: ${what}`, `is ${bytes.length} bytes, not the ${expected.size} its descriptor says`);
    }
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest) {
      throw new IntegrityError(`${this.label}: ${what}`, `the registry says its digest is ${claimed}, its bytes have ${digest}`);
    }
    const type = res.headers['content-type']?.split(';')[0]?.trim();
    return { bytes, mediaType: type, digest };
  }

  /**
   * A blob's bytes as they arrive. A broken connection, a 5xx or a short
   * body resumes from the byte reached (a Range request; a server that
   * ignores it is read from the start and the bytes already seen
   * skipped), up to the retry policy's attempts in all. At most `size`
   * bytes are taken (one more if the server sends more, so the caller
   * can tell).
   */
  async *blob(digest: string, size: number): AsyncGenerator<Uint8Array> {
    const state = { offset: 0 };
    for (let attempt = 1; ; attempt++) {
      try {
        yield* this.#blobAttempt(digest, size, state);
        if (state.offset >= size) return;
        throw new TruncatedBlob(state.offset);
      } catch (err) {
        if (retryable(err) && attempt < this.#retry.attempts) {
          await sleep(this.#delay(attempt));
          continue;
        }
        const input = `${this.label}: blob ${digest}`;
        if (err instanceof TruncatedBlob) throw new IntegrityError(input, `ended after ${state.offset} of its ${size} bytes (${attempt} attempts)`);
        if (err instanceof RetryableStatus) throw new InputError(input, `${err.message} (${attempt} attempts)`);
        if (err instanceof SystemError && TRANSIENT.has(err.errno)) {
          const cause = err.cause instanceof Error ? err.cause.message : err.message;
          throw new SystemError(err.errno, err.syscall, input, `broke off after ${state.offset} of its ${size} bytes (${attempt} attempts): ${cause}`);
        }
        throw err;
      }
    }
  }

  /** One request for the rest of a blob, from `state.offset`. */
  async *#blobAttempt(digest: string, size: number, state: { offset: number }): AsyncGenerator<Uint8Array> {
    const path = `${this.ref.repository}/blobs/${digest}`;
    const res = await this.#get(path, state.offset > 0 ? { range: `bytes=${state.offset}-` } : {});
    // Released however this attempt ends, the consumer stopping included.
    try {
      if (res.status === 404) throw new NotFoundError(this.label, `blob ${digest}: not in the registry (${await errorDetail(res, this.label)})`);
      let skip = 0;
      if (res.status === 206 && state.offset > 0) {
        const start = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1];
        if (start === undefined || Number(start) > state.offset) throw new InputError(this.label, `blob ${digest}: the registry resumed it at the wrong place`);
        skip = state.offset - Number(start);
      } else if (res.status === 200) {
        skip = state.offset;
      } else {
        throw new InputError(this.label, `blob ${digest}: ${await errorDetail(res, this.label)}`);
      }
      const chunks = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (err) {
          throw networkError(this.label, res.url, err);
        }
        if (next.done) return;
        let piece: Uint8Array = next.value;
        if (skip > 0) {
          const drop = Math.min(skip, piece.length);
          skip -= drop;
          piece = piece.subarray(drop);
          if (piece.length === 0) continue;
        }
        if (state.offset + piece.length > size) piece = piece.subarray(0, size + 1 - state.offset);
        state.offset += piece.length;
        yield piece;
        if (state.offset > size) return;
      }
    } finally {
      res.body.destroy();
    }
  }
}
