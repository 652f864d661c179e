/** composefs splitstreams: write them (byte-identical to composefs-rs), read them, reassemble the original. */
export { CONTENT_TYPES, describeContentType } from './content-type.js';
export { SplitstreamWriter, type FinishedSplitstream, type SplitstreamWriterOptions } from './writer.js';
export {
  openSplitstream,
  type SplitstreamChunk,
  type SplitstreamExpectations,
  type SplitstreamInfo,
  type SplitstreamReader,
} from './reader.js';
export { reassemble, type OpenObject } from './reassemble.js';
