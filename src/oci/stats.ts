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

  /** Adds another import's counts (a layer imported on its own). */
  merge(other: ImportStats): void {
    for (const [key, value] of Object.entries(other.toJSON())) {
      if (key !== 'layers' && key !== 'layersAlreadyPresent') (this as unknown as Record<string, number>)[key] = ((this as unknown as Record<string, number>)[key] ?? 0) + value;
    }
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(Object.entries(this).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }

  /** One line, as cfsctl 0.9 prints its stats (composefs-rs `ImportStats`'s Display). */
  summary(): string {
    if (this.objectsReflinked > 0 || this.objectsHardlinked > 0) {
      const objects = [
        ...(this.objectsReflinked > 0 ? [`${this.objectsReflinked} reflinked`] : []),
        ...(this.objectsHardlinked > 0 ? [`${this.objectsHardlinked} hardlinked`] : []),
        `${this.objectsCopied} copied`,
        `${this.objectsAlreadyPresent} already present`,
      ];
      const bytes = [
        ...(this.objectsReflinked > 0 ? [`${humanBytes(this.bytesReflinked)} reflinked`] : []),
        ...(this.objectsHardlinked > 0 ? [`${humanBytes(this.bytesHardlinked)} hardlinked`] : []),
        `${humanBytes(this.bytesCopied)} copied`,
        `${humanBytes(this.bytesInlined)} inlined`,
      ];
      return `${objects.join(' + ')} objects; ${bytes.join(', ')}`;
    }
    return (
      `${this.objectsCopied} new + ${this.objectsAlreadyPresent} already present objects; ` +
      `${humanBytes(this.bytesCopied)} stored, ${humanBytes(this.bytesInlined)} inlined`
    );
  }
}

/** indicatif's `HumanBytes`: binary prefixes, two decimals. */
export function humanBytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  if (n < 1024) return `${n} B`;
  let value = n;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
}
