/** What an import did, in the terms composefs-rs's ImportStats uses. */
import type { StoreOutcome } from '../repository/index.js';

export class ImportStats {
  layers = 0;
  layersAlreadyPresent = 0;
  objectsReflinked = 0;
  objectsHardlinked = 0;
  objectsCopied = 0;
  objectsAlreadyPresent = 0;
  bytesReflinked = 0;
  bytesHardlinked = 0;
  bytesCopied = 0;
  bytesInlined = 0;

  object(outcome: StoreOutcome, size: number): void {
    switch (outcome) {
      case 'reflinked':
        this.objectsReflinked++;
        this.bytesReflinked += size;
        break;
      case 'hardlinked':
        this.objectsHardlinked++;
        this.bytesHardlinked += size;
        break;
      case 'copied':
      case 'written':
        this.objectsCopied++;
        this.bytesCopied += size;
        break;
      case 'already-present':
        this.objectsAlreadyPresent++;
        break;
      default: {
        const unknown: never = outcome;
        throw new Error(`unknown storage outcome ${String(unknown)}`);
      }
    }
  }

  /** Adds another import's counts to these. */
  add(other: ImportStats): void {
    for (const [key, value] of Object.entries(other)) {
      if (typeof value === 'number') (this as unknown as Record<string, number>)[key] = ((this as unknown as Record<string, number>)[key] ?? 0) + value;
    }
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(Object.entries(this).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }

  /** One line, as cfsctl prints its stats. */
  summary(): string {
    const fresh = this.objectsReflinked + this.objectsHardlinked + this.objectsCopied;
    return (
      `${fresh + this.objectsAlreadyPresent} (${this.objectsReflinked} reflinked, ${this.objectsHardlinked} hardlinked, ` +
      `${this.objectsCopied} copied, ${this.objectsAlreadyPresent} already present), ${this.bytesInlined} bytes inlined`
    );
  }
}
