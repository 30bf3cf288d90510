/** A test-only little-endian byte builder, independent of the codec under test. */
export class Bytes {
  private readonly out: number[] = [];

  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }

  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }

  i64(v: bigint | number): this {
    let x = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 8; i++) {
      this.u8(Number(x & 0xffn));
      x >>= 8n;
    }
    return this;
  }

  i8(v: number): this {
    return this.u8(v < 0 ? 256 + v : v);
  }

  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.u8(0);
    return this;
  }

  str(s: string): this {
    const b = new TextEncoder().encode(s);
    this.u8(b.length);
    for (const x of b) this.u8(x);
    return this;
  }

  header(blockLength: number, templateId: number, schemaId = 1, version = 0): this {
    return this.u16(blockLength).u16(templateId).u16(schemaId).u16(version);
  }

  build(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}
