/**
 * `oci fsck [IMAGE]`: the repository's fsck, then, for every tagged image
 * (or the one named), composefs-rs 0.9's OCI checks (`oci_fsck`): the
 * manifest's and config's content against their digests, the config ref,
 * each layer's named ref, stream and object, a seal image named by the
 * config, an artifact's layer refs. Problems are reported with
 * composefs-rs's kinds.
 *
 * Beyond composefs-rs: each layer stream's tar structure is walked to its
 * end (no object is read), so a damaged or cut-short layer stream is
 * reported by name (`layer-stream-invalid`) — also the layer streams no
 * tag reaches, such as the one cfsctl 0.9 leaves behind when its import
 * stops at a name that is not UTF-8 — and every composefs image the config
 * names must be present and linked under images/ (`composefs-image-missing`).
 */
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CfskitError, NotFoundError, systemError } from '../../common/index.js';
import { decodeTag, fsck, objectRelPath, toObjectId, type FsckReport, type ObjectId, type Repository } from '../repository/index.js';
import { CONTENT_TYPES, reassemble } from '../splitstream/index.js';
import { isImageConfigType, parseConfig, parseManifest, type ImageManifest } from './documents.js';
import { TAG_PREFIX, configContentId, layerContentId, manifestContentId, sha256Digest } from './identifiers.js';
import { isImageRefName } from './image-refs.js';
import { boundedDocumentSink, resolveImageName } from './images.js';
import { checkLayerStream } from './layer-entries.js';

export type OciProblemKind =
  | 'manifest-read-failed'
  | 'manifest-digest-mismatch'
  | 'manifest-parse-failed'
  | 'config-ref-missing'
  | 'config-read-failed'
  | 'config-digest-mismatch'
  | 'config-parse-failed'
  | 'layer-ref-missing'
  | 'layer-stream-missing'
  | 'layer-check-failed'
  | 'layer-object-missing'
  | 'layer-stream-invalid'
  | 'seal-image-missing'
  | 'composefs-image-missing'
  | 'artifact-layer-ref-missing'
  | 'artifact-layer-object-missing'
  | 'ref-resolve-failed'
  | 'invalid-ref-name';

export interface OciProblem {
  readonly kind: OciProblemKind;
  /** The image's tag (or `@DIGEST`). */
  readonly name: string;
  /** What composefs-rs prints after the name (digests, diff_id, detail). */
  readonly detail: string;
}

export interface OciFsckReport {
  readonly ok: boolean;
  readonly repo: FsckReport;
  readonly imagesChecked: number;
  readonly imagesCorrupted: number;
  readonly problems: readonly OciProblem[];
}

export interface OciFsckOptions {
  /** Only this image (a tag or `@DIGEST`). */
  readonly image?: string;
  readonly metadataOnly?: boolean;
}

/** As composefs-rs prints it: `fsck: <kind>: <name>: <detail>`. */
export const describeOciProblem = (p: OciProblem): string => `fsck: ${p.kind}: ${p.name}${p.detail ? `: ${p.detail}` : ''}`;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A small stream's document (bounded) and named refs, by content ID or object ID. */
async function readDocumentStream(repo: Repository, name: string, contentType: bigint): Promise<{ json: Buffer; refs: Map<string, ObjectId> }> {
  const stream = await repo.streams.open(name, { contentType });
  try {
    if (stream.reader.info.objectRefs.length !== 1) throw new Error(`Expected exactly 1 external object in splitstream, got ${stream.reader.info.objectRefs.length}`);
    const out = boundedDocumentSink(name);
    await reassemble(stream.reader, (id) => repo.streams.openObject(toObjectId(id), false), out.sink);
    return { json: out.bytes(), refs: new Map([...stream.reader.info.namedRefs].map(([k, v]) => [k, toObjectId(v)])) };
  } finally {
    await stream.close();
  }
}

async function hasObject(repo: Repository, id: ObjectId): Promise<string | undefined> {
  try {
    const handle = await repo.streams.openObject(id, false);
    await handle.close();
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}

class ImageCheck {
  readonly problems: OciProblem[] = [];

  constructor(
    private readonly repo: Repository,
    private readonly name: string,
    /** Layer streams walked so far (by any image), not to walk twice. */
    private readonly walked: Set<ObjectId>,
  ) {}

  private add(kind: OciProblemKind, detail: string): void {
    this.problems.push({ kind, name: this.name, detail });
  }

  async run(manifestDigest: string): Promise<void> {
    let manifest;
    try {
      manifest = await readDocumentStream(this.repo, manifestContentId(manifestDigest), CONTENT_TYPES.ociManifest);
    } catch (err) {
      return this.add('manifest-read-failed', messageOf(err));
    }
    const computed = sha256Digest(manifest.json);
    if (computed !== manifestDigest) return this.add('manifest-digest-mismatch', `expected ${manifestDigest}, got ${computed}`);
    let parsed: ImageManifest;
    try {
      parsed = parseManifest(manifest.json, manifestContentId(manifestDigest));
    } catch (err) {
      return this.add('manifest-parse-failed', messageOf(err));
    }
    const configDigest = parsed.config.digest;
    const configStream = manifest.refs.get(`config:${configDigest}`);
    if (configStream === undefined) return this.add('config-ref-missing', configDigest);
    let config;
    try {
      config = await readDocumentStream(this.repo, configStream, CONTENT_TYPES.ociConfig);
    } catch (err) {
      return this.add('config-read-failed', messageOf(err));
    }
    const configComputed = sha256Digest(config.json);
    if (configComputed !== configDigest) return this.add('config-digest-mismatch', `expected ${configDigest}, got ${configComputed}`);
    if (isImageConfigType(parsed.config.mediaType)) await this.container(configDigest, config.json, config.refs);
    else await this.artifact(parsed, manifest.refs);
  }

  private async container(configDigest: string, json: Buffer, refs: ReadonlyMap<string, ObjectId>): Promise<void> {
    let diffIds: readonly string[];
    let seal: string | undefined;
    try {
      diffIds = parseConfig(json, configContentId(configDigest)).diffIds;
      seal = sealOf(json);
    } catch (err) {
      return this.add('config-parse-failed', messageOf(err));
    }
    for (const diffId of diffIds) {
      const layerStream = refs.get(diffId);
      if (layerStream === undefined) {
        this.add('layer-ref-missing', diffId);
        continue;
      }
      if ((await this.repo.streams.has(layerContentId(diffId))) === undefined) this.add('layer-stream-missing', diffId);
      const missing = await hasObject(this.repo, layerStream);
      if (missing !== undefined) {
        this.add('layer-object-missing', `${diffId}: ${missing}`);
        continue;
      }
      await this.walkLayer(diffId, layerStream);
    }
    if (seal !== undefined) {
      try {
        await this.repo.images.resolve(seal);
      } catch (err) {
        this.add('seal-image-missing', `${seal}: ${messageOf(err)}`);
      }
    }
    for (const [ref, id] of refs) {
      if (!isImageRefName(ref)) continue;
      const missing = (await hasObject(this.repo, id)) ?? (await this.repo.images.resolve(id).then(() => undefined, messageOf));
      if (missing !== undefined) this.add('composefs-image-missing', `${ref}: ${objectRelPath(id)}: ${missing}`);
    }
  }

  async walkLayer(diffId: string, streamId: ObjectId): Promise<void> {
    if (this.walked.has(streamId)) return;
    this.walked.add(streamId);
    let stream;
    try {
      stream = await this.repo.streams.open(streamId, { contentType: CONTENT_TYPES.ociLayer });
    } catch (err) {
      return this.add('layer-stream-invalid', `${diffId}: ${messageOf(err)}`);
    }
    try {
      const walked = await checkLayerStream(stream.reader);
      if ('problem' in walked) this.add('layer-stream-invalid', `${diffId}: ${walked.problem}`);
    } finally {
      await stream.close();
    }
  }

  private async artifact(manifest: ImageManifest, refs: ReadonlyMap<string, ObjectId>): Promise<void> {
    for (const layer of manifest.layers) {
      const id = refs.get(layer.digest);
      if (id === undefined) {
        this.add('artifact-layer-ref-missing', layer.digest);
        continue;
      }
      const missing = await hasObject(this.repo, id);
      if (missing !== undefined) this.add('artifact-layer-object-missing', `${layer.digest}: ${missing}`);
    }
  }
}

/**
 * The tag links as they are (`name` still encoded), resolved or not:
 * a broken one is the repository fsck's to report, and its image's.
 */
async function tagLinks(repo: Repository): Promise<{ name: string; target: string }[]> {
  const base = join(repo.path, 'streams/refs', TAG_PREFIX);
  let names: string[];
  try {
    names = await readdir(base);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw systemError(err, base, 'readdir');
  }
  const links: { name: string; target: string }[] = [];
  for (const name of names.sort()) {
    const target = await readlink(join(base, name)).catch(() => '');
    links.push({ name, target });
  }
  return links;
}

/** The config label that names a sealed image's composefs image. */
function sealOf(json: Buffer): string | undefined {
  const doc = JSON.parse(json.toString('utf8')) as { config?: { Labels?: Record<string, unknown> } };
  const seal = doc.config?.Labels?.['containers.composefs.fsverity'];
  return typeof seal === 'string' ? seal : undefined;
}

export async function ociFsck(repo: Repository, options: OciFsckOptions = {}): Promise<OciFsckReport> {
  const repoReport = await fsck(repo, { metadataOnly: options.metadataOnly === true });
  const problems: OciProblem[] = [];
  let imagesChecked = 0;
  let imagesCorrupted = 0;
  const walked = new Set<ObjectId>();
  const check = async (name: string, digest: () => Promise<string>): Promise<void> => {
    imagesChecked++;
    let manifestDigest: string;
    try {
      manifestDigest = await digest();
    } catch (err) {
      if (!(err instanceof CfskitError)) throw err;
      imagesCorrupted++;
      problems.push({ kind: 'ref-resolve-failed', name, detail: messageOf(err) });
      return;
    }
    const c = new ImageCheck(repo, name, walked);
    await c.run(manifestDigest);
    if (c.problems.length > 0) imagesCorrupted++;
    problems.push(...c.problems);
  };
  if (options.image !== undefined) {
    const name = options.image;
    await check(name, () => resolveImageName(repo, name));
  } else {
    for (const ref of await tagLinks(repo)) {
      const name = decodeTag(ref.name);
      if (name.startsWith('@')) {
        imagesChecked++;
        imagesCorrupted++;
        problems.push({ kind: 'invalid-ref-name', name, detail: "leading '@' is reserved for digest references" });
        continue;
      }
      await check(name, async () => {
        const digest = /^(?:\.\.\/)*oci-manifest-(sha256:[0-9a-f]{64})$/.exec(ref.target)?.[1];
        if (digest === undefined) throw new NotFoundError(`streams/refs/${TAG_PREFIX}${ref.name}`, `points to ${ref.target}, not a manifest`);
        return digest;
      });
    }
  }
  if (options.image === undefined) problems.push(...(await strayLayers(repo, walked)));
  return { ok: repoReport.ok && problems.length === 0, repo: repoReport, imagesChecked, imagesCorrupted, problems };
}

/** The layer streams no tagged image reached, walked too; problems name the stream. */
async function strayLayers(repo: Repository, walked: Set<ObjectId>): Promise<OciProblem[]> {
  const problems: OciProblem[] = [];
  let names: string[];
  try {
    names = (await readdir(join(repo.path, 'streams'))).filter((n) => n.startsWith('oci-layer-')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return problems;
    throw systemError(err, join(repo.path, 'streams'), 'readdir');
  }
  for (const name of names) {
    const id = await repo.streams.has(name).catch(() => undefined);
    if (id === undefined) continue; // a broken link: the repository fsck's
    const c = new ImageCheck(repo, `streams/${name}`, walked);
    await c.walkLayer(name.slice('oci-layer-'.length), id);
    problems.push(...c.problems);
  }
  return problems;
}
