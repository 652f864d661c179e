/**
 * HTTP(S) requests on Node's own stack, with keep-alive connections to
 * the registry and whatever blob storage it redirects to. Failures to
 * connect become SystemErrors naming the registry; a connection idle for
 * a minute is dropped as ETIMEDOUT.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { InputError, SystemError } from '../../common/index.js';
import type { TlsOptions } from './tls.js';

export const IDLE_TIMEOUT_MS = 60_000;
const MAX_SOCKETS = 16;

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
  readonly url: URL;
}

export class HttpClient {
  readonly #http = new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  readonly #https: HttpsAgent;

  constructor(
    tls: TlsOptions,
    /** Names the registry in errors. */
    private readonly label: string,
  ) {
    this.#https = new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS, ...tls });
  }

  request(url: URL, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET'): Promise<HttpResponse> {
    const secure = url.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers: { 'user-agent': 'cfskit', ...headers }, agent: secure ? this.#https : this.#http }, (res) => {
        res.setTimeout(IDLE_TIMEOUT_MS, () => res.destroy(networkError(this.label, url, timeoutError())));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
      });
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(timeoutError()));
      req.on('error', (err) => reject(networkError(this.label, url, err)));
      req.end();
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

function timeoutError(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`);
  err.code = 'ETIMEDOUT';
  return err;
}

/** A connection-level failure as a SystemError naming the registry and host. */
export function networkError(label: string, url: URL, err: unknown): SystemError {
  if (err instanceof SystemError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e.code === 'string' ? e.code : 'EIO';
  const error = new SystemError(code, url.protocol === 'https:' ? 'https' : 'http', label, `${url.host}: ${e.message ?? String(err)}`);
  // Node's own words, for messages that quote them.
  Object.defineProperty(error, 'cause', { value: err instanceof Error ? err : new Error(String(err)) });
  return error;
}

/** The whole body, refusing more than `limit` bytes. */
export async function readBody(res: HttpResponse, limit: number, input: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw new InputError(input, `the registry sent ${declared} bytes, more than ${limit} allowed here`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw new InputError(input, `the registry sent more than ${limit} bytes, more than allowed here`);
      chunks.push(chunk);
    }
  } catch (err) {
    res.body.destroy();
    throw err instanceof InputError ? err : networkError(input, res.url, err);
  }
  return Buffer.concat(chunks);
}

/** Reads and drops a body, so its connection can be reused. */
export async function discardBody(res: HttpResponse): Promise<void> {
  res.body.resume();
  await new Promise<void>((resolve) => {
    res.body.on('end', resolve);
    res.body.on('error', () => resolve());
    res.body.on('close', resolve);
  });
}
