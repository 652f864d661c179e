/**
 * The end of every pull, whatever the source: the config and manifest
 * streams (unless already there), then the composefs image, which also
 * sets the tag (composefs-rs's finalize_import); an image that cannot be
 * made leaves the image untagged. An artifact gets its tag directly.
 * Another xattr mode than the default makes that plain image as well as
 * the default one (cfsctl mounts only the default), and the bootable one
 * in that mode.
 */
import { DEFAULT_XATTR_MODE, type XattrMode } from '../../common/index.js';
import type { ObjectId, Repository } from '../repository/index.js';
import { ensureImage } from './ensure-image.js';
import { configContentId, manifestContentId, tagRef } from './identifiers.js';
import { writeConfigStream, writeManifestStream, type LayerRef } from './image-streams.js';
import type { ProgressSink } from './progress.js';

export interface ImageDocuments {
  readonly config: Buffer;
  readonly configDigest: string;
  readonly manifest: Buffer;
  readonly manifestDigest: string;
}

export interface FinishOptions {
  readonly tag: string;
  readonly bootable?: boolean;
  /** The xattr mode of the images made (default allowlist-only). */
  readonly xattrs?: XattrMode;
  readonly progress?: ProgressSink;
  /** For the progress events: the bytes the layers counted. */
  readonly bytesTotal: number;
  /** Told when each step is done (`cached`: there was nothing to write). */
  readonly step?: (step: 'config' | 'manifest' | 'image' | 'boot-image', cached: boolean) => void;
}

export interface FinishedImport {
  readonly manifestStream: ObjectId;
  readonly configStream: ObjectId;
  readonly composefsImage: ObjectId | undefined;
  readonly bootImage: ObjectId | undefined;
}

export async function finishImport(repo: Repository, docs: ImageDocuments, layers: readonly LayerRef[], options: FinishOptions): Promise<FinishedImport> {
  const at = { bytesDone: options.bytesTotal, bytesTotal: options.bytesTotal };
  options.progress?.({ stage: 'config', ...at });
  const existingConfig = await repo.streams.has(configContentId(docs.configDigest));
  const configStream = existingConfig ?? (await writeConfigStream(repo, docs.config, docs.configDigest, layers));
  options.step?.('config', existingConfig !== undefined);
  options.progress?.({ stage: 'manifest', ...at });
  const existingManifest = await repo.streams.has(manifestContentId(docs.manifestDigest));
  const manifestStream =
    existingManifest ?? (await writeManifestStream(repo, docs.manifest, docs.manifestDigest, { digest: docs.configDigest, streamId: configStream }, layers));
  options.step?.('manifest', existingManifest !== undefined);
  options.progress?.({ stage: 'image', ...at });
  const xattrs = options.xattrs ?? DEFAULT_XATTR_MODE;
  let ensured = await ensureImage(repo, `@${docs.manifestDigest}`, { tag: options.tag });
  if (ensured === undefined) await repo.streams.setRef(tagRef(options.tag), manifestContentId(docs.manifestDigest));
  else if (xattrs !== DEFAULT_XATTR_MODE) ensured = await ensureImage(repo, `@${docs.manifestDigest}`, { xattrs });
  options.step?.('image', ensured !== undefined && !ensured.created);
  const boot = options.bootable && ensured ? await ensureImage(repo, `@${docs.manifestDigest}`, { bootable: true, xattrs }) : undefined;
  if (options.bootable) options.step?.('boot-image', boot !== undefined && !boot.created);
  options.progress?.({ stage: 'done', ...at });
  const final = boot ?? ensured;
  return {
    manifestStream: final?.manifestStream ?? manifestStream,
    configStream: final?.configStream ?? configStream,
    composefsImage: ensured?.imageId,
    bootImage: boot?.imageId,
  };
}
