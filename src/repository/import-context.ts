/**
 * State shared by the objects of one import: which (source device,
 * repository device) pairs cannot reflink, so each pair is probed once.
 */
export class ImportContext {
  private readonly noReflink = new Set<string>();

  reflinkKnownUnsupported(src: bigint, dst: bigint): boolean {
    return this.noReflink.has(`${src}:${dst}`);
  }

  /** Source devices known not to reflink into `dst`. */
  devicesWithoutReflink(dst: bigint): bigint[] {
    const suffix = `:${dst}`;
    return [...this.noReflink].filter((k) => k.endsWith(suffix)).map((k) => BigInt(k.slice(0, -suffix.length)));
  }

  markReflinkUnsupported(src: bigint, dst: bigint): void {
    this.noReflink.add(`${src}:${dst}`);
  }
}
