/**
 * What podman says while it pulls, as one union, from each of the three
 * ways it says it:
 *
 * - libpod `/libpod/images/pull` with `pullProgress=true` (podman 5.9 and
 *   later): `pullProgress` {status pulling|success|skipped, current,
 *   total, progressComponentID = the blob's digest};
 * - the Docker-compatible `/images/create` (podman 4 and later): `status`
 *   "Pulling fs layer", "Downloading" (progressDetail {current, total},
 *   about once a second while a blob streams), "Download complete",
 *   "Already exists", `id` the first 12 hex digits of the blob's digest;
 *   `error` / `errorDetail.message` when it fails;
 * - `podman pull` on stderr (not a terminal): "Copying blob sha256:…",
 *   "… skipped: already exists", "… done", then "Copying config" once
 *   every layer is in.
 *
 * Parsing is strict about shape and lenient about unknown statuses (a
 * newer podman adds some): a line that is not a JSON object is an error,
 * an unknown status is ignored.
 */
import { InputError } from '../../common/index.js';

/** A blob named by its digest (`sha256:…`) or by a hex prefix of it. */
export type BlobReport =
  | { readonly kind: 'started'; readonly blob: string; readonly total?: number }
  | { readonly kind: 'bytes'; readonly blob: string; readonly current: number; readonly total: number }
  | { readonly kind: 'done'; readonly blob: string }
  | { readonly kind: 'cached'; readonly blob: string }
  /** Every layer blob is in (podman went on to the config). */
  | { readonly kind: 'layers-done' }
  | { readonly kind: 'pulled'; readonly imageId: string }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'message'; readonly text: string };

type Json = Record<string, unknown>;

function object(line: string, source: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new InputError(source, `sent a line that is not JSON: ${line.slice(0, 200)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InputError(source, `sent a line that is not a JSON object: ${line.slice(0, 200)}`);
  return parsed as Json;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);

function errorOf(report: Json): string | undefined {
  const detail = report.errorDetail;
  const fromDetail = typeof detail === 'object' && detail !== null ? str((detail as Json).message) : undefined;
  const text = fromDetail ?? str(report.error);
  return text !== undefined && text !== '' ? text : undefined;
}

/** One line of `/images/create`. */
export function parseCompatReport(line: string): BlobReport[] {
  const report = object(line, 'podman /images/create');
  const error = errorOf(report);
  if (error !== undefined) return [{ kind: 'error', message: error }];
  const id = str(report.id) ?? '';
  const detail = typeof report.progressDetail === 'object' && report.progressDetail !== null ? (report.progressDetail as Json) : {};
  switch (str(report.status)) {
    case 'Pulling fs layer':
      return id ? [{ kind: 'started', blob: id }] : [];
    case 'Downloading':
      return id ? [{ kind: 'bytes', blob: id, current: num(detail.current), total: num(detail.total) }] : [];
    case 'Download complete':
      return id ? [{ kind: 'done', blob: id }] : [];
    case 'Already exists':
      return id ? [{ kind: 'cached', blob: id }] : [];
    default:
      return [];
  }
}

/** One line of `/libpod/images/pull`. */
export function parseLibpodReport(line: string): BlobReport[] {
  const report = object(line, 'podman /libpod/images/pull');
  const error = errorOf(report);
  if (error !== undefined) return [{ kind: 'error', message: error }];
  const out: BlobReport[] = [];
  const stream = str(report.stream)?.trim();
  if (stream) out.push(...parsePullLine(stream));
  const progress = typeof report.pullProgress === 'object' && report.pullProgress !== null ? (report.pullProgress as Json) : undefined;
  const blob = str(progress?.progressComponentID) ?? '';
  if (progress && blob) {
    switch (str(progress.status)) {
      case 'pulling':
        out.push({ kind: 'bytes', blob, current: num(progress.current), total: num(progress.total) });
        break;
      case 'success':
        out.push({ kind: 'done', blob });
        break;
      case 'skipped':
        out.push({ kind: 'cached', blob });
        break;
      default:
        break;
    }
  }
  const id = str(report.id);
  if (id && Array.isArray(report.images)) out.push({ kind: 'pulled', imageId: id.replace(/^sha256:/, '') });
  return out;
}

const COPYING_BLOB = /^Copying blob (?:sha256:)?([0-9a-f]{12,64})\b(.*)$/;

/** A status line as `podman pull` (or the libpod stream) prints it. */
export function parsePullLine(line: string): BlobReport[] {
  const text = line.trim();
  const blob = COPYING_BLOB.exec(text);
  if (blob) {
    const id = blob[1] ?? '';
    const rest = blob[2] ?? '';
    if (/skipped|already exists/.test(rest)) return [{ kind: 'cached', blob: id }];
    if (/\bdone\b/.test(rest)) return [{ kind: 'done', blob: id }];
    return [{ kind: 'started', blob: id }];
  }
  if (/^(Copying config|Writing manifest)/.test(text)) return [{ kind: 'layers-done' }];
  if (/^Error: /.test(text)) return [{ kind: 'error', message: text.slice('Error: '.length) }];
  return text === '' ? [] : [{ kind: 'message', text }];
}
