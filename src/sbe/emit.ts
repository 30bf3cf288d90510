/**
 * SchemaModel → TypeScript source of flyweight decoders and encoders. A decoder wraps the frame's bytes
 * (a Uint8Array: no DataView per frame) and reads each field at its offset when asked (nothing is copied
 * or allocated per field; decimals come from a bounded string cache); groups and var data are
 * read in schema order through a shared `limit`, advancing by the blockLength found on the wire so that
 * messages from a newer schema version (appended fields) still decode.
 */
import type { EnumModel, FieldModel, GroupModel, MessageModel, Primitive, SchemaModel, VarDataModel } from './model.js';
import { SchemaError } from './parse.js';

interface Access {
  get: string;
  set: string;
  ts: 'number' | 'bigint';
  /** Whether the DataView call takes a littleEndian argument (multi-byte types). */
  endian: boolean;
  range?: [number, number];
}

const ACCESS: Record<Primitive, Access> = {
  char: { get: 'getUint8', set: 'setUint8', ts: 'number', endian: false, range: [0, 0xff] },
  int8: { get: 'getInt8', set: 'setInt8', ts: 'number', endian: false, range: [-0x80, 0x7f] },
  uint8: { get: 'getUint8', set: 'setUint8', ts: 'number', endian: false, range: [0, 0xff] },
  int16: { get: 'getInt16', set: 'setInt16', ts: 'number', endian: true, range: [-0x8000, 0x7fff] },
  uint16: { get: 'getUint16', set: 'setUint16', ts: 'number', endian: true, range: [0, 0xffff] },
  int32: { get: 'getInt32', set: 'setInt32', ts: 'number', endian: true, range: [-0x80000000, 0x7fffffff] },
  uint32: { get: 'getUint32', set: 'setUint32', ts: 'number', endian: true, range: [0, 0xffffffff] },
  int64: { get: 'getBigInt64', set: 'setBigInt64', ts: 'bigint', endian: true },
  uint64: { get: 'getBigUint64', set: 'setBigUint64', ts: 'bigint', endian: true },
  float: { get: 'getFloat32', set: 'setFloat32', ts: 'number', endian: true },
  double: { get: 'getFloat64', set: 'setFloat64', ts: 'number', endian: true },
};

/** Member names of the generated classes that a schema field must not shadow. */
const RESERVED = new Set(['wrap', 'wrapAndApplyHeader', 'view', 'buf', 'offset', 'end', 'limit', 'start', 'msg', 'count', 'index', 'next', 'hasNext', 'skipAll', 'blockLength', 'actingBlockLength', 'actingVersion', 'encodedLength', 'constructor']);

class Out {
  private readonly lines: string[] = [];
  private depth = 0;

  line(text = ''): this {
    this.lines.push(text === '' ? '' : '  '.repeat(this.depth) + text);
    return this;
  }

  open(text: string): this {
    this.line(text);
    this.depth += 1;
    return this;
  }

  close(text = '}'): this {
    this.depth -= 1;
    return this.line(text);
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

interface Ctx {
  schema: SchemaModel;
  /** Second argument of multi-byte DataView calls. */
  le: string;
  /** Names the generated code imports from runtime.ts (collected while emitting). */
  used: Set<string>;
}

function use(ctx: Ctx, name: string): string {
  ctx.used.add(name);
  return name;
}

/** A decoder's read of primitive `p` at `at` from the Uint8Array `buf` (runtime/bytes.ts readers). */
function read(ctx: Ctx, p: Primitive, buf: string, at: string): string {
  if (p === 'uint8' || p === 'char') return `${buf}[${at}]`;
  const name = p === 'int8' ? 'rdInt8' : `rd${cap(p)}${ctx.schema.littleEndian ? 'Le' : 'Be'}`;
  return `${use(ctx, name)}(${buf}, ${at})`;
}

function write(ctx: Ctx, p: Primitive, view: string, at: string, value: string): string {
  const a = ACCESS[p];
  return `${view}.${a.set}(${at}, ${value}${a.endian ? `, ${ctx.le}` : ''});`;
}

function enumOf(ctx: Ctx, name: string): EnumModel {
  const e = ctx.schema.enums.find((x) => x.name === name);
  if (!e) throw new SchemaError(`enum ${name} is not defined`);
  return e;
}

function checkNames(owner: string, names: string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new SchemaError(`${owner}: ${n} is not a valid identifier`);
    if (RESERVED.has(n) || seen.has(n)) throw new SchemaError(`${owner}: member name ${n} collides with another member`);
    seen.add(n);
  }
}

function emitEnum(out: Out, e: EnumModel): void {
  const entries = e.values.map((v) => `${v.name}: ${v.value}`).join(', ');
  const name = cap(e.name);
  out.line(`export const ${name} = { ${entries} } as const;`);
  out.line(`export type ${name} = (typeof ${name})[keyof typeof ${name}];`);
  const test = e.values.map((v) => `v === ${v.value}`).join(' || ');
  out.open(`export function is${name}(v: number): v is ${name} {`);
  out.line(`return ${test || 'false'};`);
  out.close();
  out.line();
}

// ---------------------------------------------------------------------------------------------- decoders

/** `this` for fields of the message itself, `this.msg` for the shared cursor when inside a group. */
interface Scope {
  owner: string;
  /** Expression for the message decoder/encoder (holder of limit/end). */
  msg: string;
}

function emitFieldGetters(ctx: Ctx, out: Out, owner: string, fields: FieldModel[]): void {
  for (const f of fields) {
    if (f.sinceVersion > 0) throw new SchemaError(`${owner}.${f.name}: sinceVersion is not supported yet`);
    const at = `this.offset + ${f.offset}`;
    if (f.presence === 'constant') {
      const type = f.enumName ? cap(f.enumName) : ACCESS[f.primitive].ts;
      const literal = f.enumName
        ? `${cap(f.enumName)}.${enumOf(ctx, f.enumName).values.find((v) => v.value === f.constantValue)!.name}`
        : ACCESS[f.primitive].ts === 'bigint'
          ? `${f.constantValue}n`
          : String(f.constantValue);
      out.line(`/** Constant (presence="constant"): not on the wire. */`);
      out.line(`${f.name}(): ${type} { return ${literal}; }`);
      continue;
    }
    if (f.enumName) {
      out.line(`${f.name}Raw(): number { return ${read(ctx, f.primitive, 'this.buf', at)}; }`);
      out.open(`${f.name}(): ${cap(f.enumName)} {`);
      out.line(`const v = this.${f.name}Raw();`);
      out.line(`if (!is${cap(f.enumName)}(v)) throw new ${use(ctx, 'SbeDecodeError')}('BAD_ENUM', \`${owner}.${f.name} = \${v} is not a ${cap(f.enumName)} value\`);`);
      out.line('return v;');
      out.close();
      continue;
    }
    out.line(`${f.name}(): ${ACCESS[f.primitive].ts} { return ${read(ctx, f.primitive, 'this.buf', at)}; }`);
    if (f.primitive === 'int64') {
      out.line(`/** Exact as a number, or VALUE_OUT_OF_RANGE beyond ±(2^53 - 1). */`);
      out.line(`${f.name}AsNumber(): number { return ${use(ctx, 'int64AsNumber')}(this.buf, ${at}, '${owner}.${f.name}', ${ctx.le}); }`);
    }
    if (f.exponentField) {
      if (f.primitive !== 'int64') throw new SchemaError(`${owner}.${f.name}: a mantissa must be int64`);
      const exp = f.exponentField.scope === 'self' ? `this.${f.exponentField.name}()` : `this.msg.${f.exponentField.name}()`;
      out.line(`/** Exact decimal string: mantissa × 10^${f.exponentField.name}. */`);
      out.line(`${f.name}Decimal(): string { return ${use(ctx, 'cachedMantissaAt')}(this.buf, ${at}, ${exp}, ${ctx.le}); }`);
    }
  }
}

function emitDataGetters(ctx: Ctx, out: Out, owner: string, scope: Scope, data: VarDataModel[]): void {
  for (const d of data) {
    const where = `${owner}.${d.name}`;
    const M = scope.msg === 'this' ? 'this' : 'm';
    out.line(`/** Byte length of ${d.name}; checks that the bytes are present. Does not advance. */`);
    out.open(`${d.name}Length(): number {`);
    if (scope.msg !== 'this') out.line(`const m = ${scope.msg};`);
    out.line(`const at = ${M}.limit;`);
    out.line(`if (at + ${d.lengthSize} > ${M}.end) throw ${use(ctx, 'truncated')}('${where} length', ${d.lengthSize}, ${M}.end - at);`);
    out.line(`const n = ${read(ctx, d.lengthPrimitive, `${M}.buf`, 'at')};`);
    const typeMax = ACCESS[d.lengthPrimitive].range?.[1] ?? Infinity;
    if (d.maxLength < typeMax) {
      out.line(`if (n > ${d.maxLength}) throw new ${use(ctx, 'SbeDecodeError')}('BAD_STRING', \`${where} length \${n} > ${d.maxLength}\`);`);
    }
    out.line(`if (at + ${d.lengthSize} + n > ${M}.end) throw truncated('${where}', ${d.lengthSize} + n, ${M}.end - at);`);
    out.line('return n;');
    out.close();
    out.line(`/** Offset of the first byte of ${d.name} in the buffer. */`);
    out.line(`${d.name}Offset(): number { return ${scope.msg}.limit + ${d.lengthSize}; }`);
    out.open(`skip${cap(d.name)}(): number {`);
    out.line(`const n = this.${d.name}Length();`);
    out.line(`${scope.msg}.limit += ${d.lengthSize} + n;`);
    out.line('return n;');
    out.close();
    out.line(`/** A view onto the bytes (no copy); advances past them. */`);
    out.open(`${d.name}Bytes(): Uint8Array {`);
    if (scope.msg !== 'this') out.line(`const m = ${scope.msg};`);
    out.line(`const n = this.${d.name}Length();`);
    out.line(`const bytes = ${M}.buf.subarray(${M}.limit + ${d.lengthSize}, ${M}.limit + ${d.lengthSize} + n);`);
    out.line(`${M}.limit += ${d.lengthSize} + n;`);
    out.line('return bytes;');
    out.close();
    if (d.characterEncoding?.toUpperCase() === 'UTF-8' || d.characterEncoding?.toUpperCase() === 'ASCII') {
      out.open(`${d.name}(): string {`);
      if (scope.msg !== 'this') out.line(`const m = ${scope.msg};`);
      out.line(`const n = this.${d.name}Length();`);
      out.line(`const s = ${use(ctx, 'decodeUtf8')}(${M}.buf, ${M}.limit + ${d.lengthSize}, n, 'BAD_STRING', '${where}');`);
      out.line(`${M}.limit += ${d.lengthSize} + n;`);
      out.line('return s;');
      out.close();
    }
  }
}

/** Statements that skip every group and var data field of a body, in schema order. */
function emitSkipBody(out: Out, groups: GroupModel[], data: VarDataModel[]): void {
  for (const g of groups) out.line(`this.${g.name}().skipAll();`);
  for (const d of data) out.line(`this.skip${cap(d.name)}();`);
}

function groupClass(prefix: string, g: GroupModel, kind: 'Decoder' | 'Encoder'): string {
  return `${prefix}${cap(g.name)}${kind}`;
}

function minTrailer(g: GroupModel): number {
  return g.groups.reduce((s, x) => s + x.dimension.size, 0) + g.data.reduce((s, d) => s + d.lengthSize, 0);
}

function emitGroupDecoder(ctx: Ctx, out: Out, msgClass: string, prefix: string, g: GroupModel, path: string): void {
  const cls = groupClass(prefix, g, 'Decoder');
  for (const nested of g.groups) emitGroupDecoder(ctx, out, msgClass, `${prefix}${cap(g.name)}`, nested, `${path}.${g.name}`);
  checkNames(`${path}.${g.name}`, [...g.fields.map((f) => f.name), ...g.groups.map((x) => x.name), ...g.data.map((d) => d.name)]);
  const where = `${path}.${g.name}`;
  const dim = g.dimension;
  const perEntry = minTrailer(g);
  if (g.blockLength + perEntry === 0) throw new SchemaError(`${where}: an empty group entry cannot be bounded`);
  out.line(`/** Repeating group ${where} (id ${g.id}, ${dim.name}). */`);
  out.open(`export class ${cls} {`);
  out.line(`static readonly HEADER_SIZE = ${dim.size};`);
  out.line(`static readonly BLOCK_LENGTH = ${g.blockLength};`);
  out.line(`static readonly MAX_COUNT = ${dim.numInGroup.max};`);
  out.line(`buf: Uint8Array = ${use(ctx, 'EMPTY_BYTES')};`);
  out.line('/** Start of the current entry. */');
  out.line('offset = 0;');
  out.line('/** Entry size on the wire (≥ BLOCK_LENGTH; larger when a newer schema appended fields). */');
  out.line('blockLength = 0;');
  out.line('count = 0;');
  out.line('index = 0;');
  for (const n of g.groups) out.line(`private readonly ${n.name}Group: ${groupClass(`${prefix}${cap(g.name)}`, n, 'Decoder')};`);
  out.line();
  if (g.groups.length === 0) {
    out.line(`constructor(private readonly msg: ${msgClass}) {}`);
  } else {
    out.open(`constructor(private readonly msg: ${msgClass}) {`);
    for (const n of g.groups) out.line(`this.${n.name}Group = new ${groupClass(`${prefix}${cap(g.name)}`, n, 'Decoder')}(msg);`);
    out.close();
  }
  out.line();
  out.line('/** Reads the group header at the message cursor and bounds the claimed count by the bytes present. */');
  out.open('wrap(): this {');
  out.line('const m = this.msg;');
  out.line('const at = m.limit;');
  out.line(`if (at + ${dim.size} > m.end) throw truncated('${where} header', ${dim.size}, m.end - at);`);
  out.line(`const blockLength = ${read(ctx, dim.blockLength.primitive, 'm.buf', `at + ${dim.blockLength.offset}`)};`);
  out.line(`const count = ${read(ctx, dim.numInGroup.primitive, 'm.buf', `at + ${dim.numInGroup.offset}`)};`);
  out.open(`if (blockLength < ${g.blockLength}) {`);
  out.line(`throw new SbeDecodeError('BAD_BLOCK_LENGTH', \`${where} blockLength \${blockLength} < ${g.blockLength}\`);`);
  out.close();
  out.open(`if (count > ${dim.numInGroup.max}) {`);
  out.line(`throw new SbeDecodeError('GROUP_TOO_LARGE', \`${where} numInGroup \${count} > ${dim.numInGroup.max}\`);`);
  out.close();
  out.line(`const remaining = m.end - at - ${dim.size};`);
  out.open(`if (count * ${perEntry === 0 ? 'blockLength' : `(blockLength + ${perEntry})`} > remaining) {`);
  out.line(`throw new SbeDecodeError('GROUP_TOO_LARGE', \`${where} claims \${count} entries of \${blockLength} bytes; \${remaining} bytes remain\`);`);
  out.close();
  out.line('this.buf = m.buf;');
  out.line('this.blockLength = blockLength;');
  out.line('this.count = count;');
  out.line('this.index = 0;');
  out.line(`m.limit = at + ${dim.size};`);
  out.line('return this;');
  out.close();
  out.line();
  out.line('hasNext(): boolean { return this.index < this.count; }');
  out.line();
  out.open('next(): this {');
  out.line(`if (this.index >= this.count) throw new RangeError('${where}: next() past the last entry');`);
  out.line('const m = this.msg;');
  if (perEntry > 0) {
    // Nested groups or var data move the cursor, so the wrap-time bound no longer covers later entries.
    out.line(`if (m.limit + this.blockLength > m.end) throw truncated('${where} entry', this.blockLength, m.end - m.limit);`);
  }
  out.line('this.offset = m.limit;');
  out.line('m.limit += this.blockLength;');
  out.line('this.index += 1;');
  out.line('return this;');
  out.close();
  out.line();
  out.line('/** Moves the message cursor past the remaining entries. */');
  out.open('skipAll(): void {');
  if (g.groups.length === 0 && g.data.length === 0) {
    out.line('this.msg.limit += (this.count - this.index) * this.blockLength;');
    out.line('this.index = this.count;');
  } else {
    out.open('while (this.hasNext()) {');
    out.line('this.next();');
    emitSkipBody(out, g.groups, g.data);
    out.close();
  }
  out.close();
  out.line();
  emitFieldGetters(ctx, out, where, g.fields);
  for (const n of g.groups) out.line(`${n.name}(): ${groupClass(`${prefix}${cap(g.name)}`, n, 'Decoder')} { return this.${n.name}Group.wrap(); }`);
  emitDataGetters(ctx, out, where, { owner: where, msg: 'this.msg' }, g.data);
  out.close();
  out.line();
}

function emitMessageDecoder(ctx: Ctx, out: Out, m: MessageModel): void {
  const cls = `${m.name}Decoder`;
  checkNames(m.name, [...m.fields.map((f) => f.name), ...m.groups.map((x) => x.name), ...m.data.map((d) => d.name)]);
  for (const g of m.groups) emitGroupDecoder(ctx, out, cls, m.name, g, m.name);
  out.line(`/** ${m.name} (templateId ${m.id}): flyweight decoder; wrap() once per message, then read fields in any order and groups/data in schema order. */`);
  out.open(`export class ${cls} {`);
  out.line(`static readonly TEMPLATE_ID = ${m.id};`);
  out.line(`static readonly BLOCK_LENGTH = ${m.blockLength};`);
  out.line(`buf: Uint8Array = ${use(ctx, 'EMPTY_BYTES')};`);
  out.line('/** First byte of the root block (just after the message header). */');
  out.line('offset = 0;');
  out.line('/** One past the last readable byte. */');
  out.line('end = 0;');
  out.line('actingBlockLength = 0;');
  out.line('actingVersion = 0;');
  out.line('/** Cursor for groups and var data: starts after the root block as the header sized it. */');
  out.line('limit = 0;');
  for (const g of m.groups) out.line(`private readonly ${g.name}Group = new ${groupClass(m.name, g, 'Decoder')}(this);`);
  out.line();
  out.open('wrap(buf: Uint8Array, offset: number, end: number, actingBlockLength: number, actingVersion: number): this {');
  out.open(`if (actingBlockLength < ${m.blockLength}) {`);
  out.line(`throw new SbeDecodeError('BAD_BLOCK_LENGTH', \`${m.name} blockLength \${actingBlockLength} < ${m.blockLength}\`);`);
  out.close();
  out.line(`if (offset + actingBlockLength > end) throw truncated('${m.name} root block', actingBlockLength, end - offset);`);
  out.line('this.buf = buf;');
  out.line('this.offset = offset;');
  out.line('this.end = end;');
  out.line('this.actingBlockLength = actingBlockLength;');
  out.line('this.actingVersion = actingVersion;');
  out.line('this.limit = offset + actingBlockLength;');
  out.line('return this;');
  out.close();
  out.line();
  out.line('/** Skips every group and var data field; returns the position just past the message. */');
  out.open('skipAll(): number {');
  emitSkipBody(out, m.groups, m.data);
  out.line('return this.limit;');
  out.close();
  out.line();
  emitFieldGetters(ctx, out, m.name, m.fields);
  for (const g of m.groups) out.line(`${g.name}(): ${groupClass(m.name, g, 'Decoder')} { return this.${g.name}Group.wrap(); }`);
  emitDataGetters(ctx, out, m.name, { owner: m.name, msg: 'this' }, m.data);
  out.close();
  out.line();
}

// ---------------------------------------------------------------------------------------------- encoders

function emitFieldSetters(ctx: Ctx, out: Out, owner: string, fields: FieldModel[]): void {
  for (const f of fields) {
    if (f.presence === 'constant') continue;
    const at = `this.offset + ${f.offset}`;
    const a = ACCESS[f.primitive];
    const type = f.enumName ? cap(f.enumName) : a.ts;
    out.open(`${f.name}(v: ${type}): this {`);
    if (a.range && !f.enumName) out.line(`checkEncodeRange('${owner}.${f.name}', v, ${a.range[0]}, ${a.range[1]});`);
    if (f.primitive === 'int64') out.line(`${use(ctx, 'checkInt64')}('${owner}.${f.name}', v);`);
    out.line(write(ctx, f.primitive, 'this.view', at, 'v'));
    out.line('return this;');
    out.close();
  }
}

function emitDataSetters(ctx: Ctx, out: Out, owner: string, msg: string, data: VarDataModel[]): void {
  const M = msg === 'this' ? 'this' : 'm';
  for (const d of data) {
    out.open(`${d.name}(bytes: Uint8Array): this {`);
    if (msg !== 'this') out.line(`const m = ${msg};`);
    out.line(`if (bytes.length > ${d.maxLength}) throw new SbeEncodeError(\`${owner}.${d.name} is \${bytes.length} bytes; at most ${d.maxLength}\`);`);
    out.line(write(ctx, d.lengthPrimitive, `${M}.view`, `${M}.limit`, 'bytes.length'));
    out.line(`new Uint8Array(${M}.view.buffer, ${M}.view.byteOffset + ${M}.limit + ${d.lengthSize}, bytes.length).set(bytes);`);
    out.line(`${M}.limit += ${d.lengthSize} + bytes.length;`);
    out.line('return this;');
    out.close();
  }
}

function emitGroupEncoder(ctx: Ctx, out: Out, msgClass: string, prefix: string, g: GroupModel, path: string): void {
  const cls = groupClass(prefix, g, 'Encoder');
  for (const nested of g.groups) emitGroupEncoder(ctx, out, msgClass, `${prefix}${cap(g.name)}`, nested, `${path}.${g.name}`);
  const where = `${path}.${g.name}`;
  const dim = g.dimension;
  out.open(`export class ${cls} {`);
  out.line(`static readonly HEADER_SIZE = ${dim.size};`);
  out.line(`static readonly BLOCK_LENGTH = ${g.blockLength};`);
  out.line(`static readonly MAX_COUNT = ${dim.numInGroup.max};`);
  out.line('view: DataView = EMPTY_VIEW;');
  out.line('offset = 0;');
  out.line('count = 0;');
  out.line('index = 0;');
  for (const n of g.groups) out.line(`private readonly ${n.name}Group: ${groupClass(`${prefix}${cap(g.name)}`, n, 'Encoder')};`);
  out.line();
  if (g.groups.length === 0) {
    out.line(`constructor(private readonly msg: ${msgClass}) {}`);
  } else {
    out.open(`constructor(private readonly msg: ${msgClass}) {`);
    for (const n of g.groups) out.line(`this.${n.name}Group = new ${groupClass(`${prefix}${cap(g.name)}`, n, 'Encoder')}(msg);`);
    out.close();
  }
  out.line();
  out.open('wrap(count: number): this {');
  out.line(`checkEncodeRange('${where} count', count, 0, ${dim.numInGroup.max});`);
  out.line('const m = this.msg;');
  out.line(write(ctx, dim.blockLength.primitive, 'm.view', `m.limit + ${dim.blockLength.offset}`, String(g.blockLength)));
  out.line(write(ctx, dim.numInGroup.primitive, 'm.view', `m.limit + ${dim.numInGroup.offset}`, 'count'));
  out.line(`m.limit += ${dim.size};`);
  out.line('this.view = m.view;');
  out.line('this.count = count;');
  out.line('this.index = 0;');
  out.line('return this;');
  out.close();
  out.line();
  out.open('next(): this {');
  out.line(`if (this.index >= this.count) throw new SbeEncodeError('${where}: more entries than the count given');`);
  out.line('this.offset = this.msg.limit;');
  out.line(`this.msg.limit += ${g.blockLength};`);
  out.line('this.index += 1;');
  out.line('return this;');
  out.close();
  out.line();
  emitFieldSetters(ctx, out, where, g.fields);
  for (const n of g.groups) {
    out.line(`${n.name}Count(count: number): ${groupClass(`${prefix}${cap(g.name)}`, n, 'Encoder')} { return this.${n.name}Group.wrap(count); }`);
  }
  emitDataSetters(ctx, out, where, 'this.msg', g.data);
  out.close();
  out.line();
}

function emitMessageEncoder(ctx: Ctx, out: Out, m: MessageModel): void {
  const cls = `${m.name}Encoder`;
  const h = ctx.schema.header;
  for (const g of m.groups) emitGroupEncoder(ctx, out, cls, m.name, g, m.name);
  out.line(`/** ${m.name} (templateId ${m.id}): set fields in any order, then groups and data in schema order. */`);
  out.open(`export class ${cls} {`);
  out.line(`static readonly TEMPLATE_ID = ${m.id};`);
  out.line(`static readonly BLOCK_LENGTH = ${m.blockLength};`);
  out.line('view: DataView = EMPTY_VIEW;');
  out.line('/** First byte of the message header. */');
  out.line('start = 0;');
  out.line('/** First byte of the root block. */');
  out.line('offset = 0;');
  out.line('limit = 0;');
  for (const g of m.groups) out.line(`private readonly ${g.name}Group = new ${groupClass(m.name, g, 'Encoder')}(this);`);
  out.line();
  out.open('wrapAndApplyHeader(view: DataView, offset: number): this {');
  out.line(write(ctx, h.blockLength.primitive, 'view', `offset + ${h.blockLength.offset}`, String(m.blockLength)));
  out.line(write(ctx, h.templateId.primitive, 'view', `offset + ${h.templateId.offset}`, String(m.id)));
  out.line(write(ctx, h.schemaId.primitive, 'view', `offset + ${h.schemaId.offset}`, 'SCHEMA_ID'));
  out.line(write(ctx, h.version.primitive, 'view', `offset + ${h.version.offset}`, 'SCHEMA_VERSION'));
  out.line('this.view = view;');
  out.line('this.start = offset;');
  out.line(`this.offset = offset + ${h.size};`);
  out.line(`this.limit = this.offset + ${m.blockLength};`);
  out.line('return this;');
  out.close();
  out.line();
  out.line('/** Bytes written so far, header included. */');
  out.line('encodedLength(): number { return this.limit - this.start; }');
  out.line();
  emitFieldSetters(ctx, out, m.name, m.fields);
  for (const g of m.groups) out.line(`${g.name}Count(count: number): ${groupClass(m.name, g, 'Encoder')} { return this.${g.name}Group.wrap(count); }`);
  emitDataSetters(ctx, out, m.name, 'this', m.data);
  out.close();
  out.line();
}

// ------------------------------------------------------------------------------------------------ header

function emitHeader(ctx: Ctx, out: Out): void {
  const h = ctx.schema.header;
  out.line('/** The message header that precedes every message. */');
  out.open('export class MessageHeaderDecoder {');
  out.line(`buf: Uint8Array = ${use(ctx, 'EMPTY_BYTES')};`);
  out.line('offset = 0;');
  out.line();
  out.open('wrap(buf: Uint8Array, offset: number, end: number): this {');
  out.line(`if (offset + ${h.size} > end) throw truncated('message header', ${h.size}, end - offset);`);
  out.line('this.buf = buf;');
  out.line('this.offset = offset;');
  out.line('return this;');
  out.close();
  out.line();
  for (const name of ['blockLength', 'templateId', 'schemaId', 'version'] as const) {
    const s = h[name];
    out.line(`${name}(): number { return ${read(ctx, s.primitive, 'this.buf', `this.offset + ${s.offset}`)}; }`);
  }
  out.line();
  out.line('/** Another schema id is another protocol; an older version lacks fields we read. Newer versions only append. */');
  out.open('validate(): this {');
  out.line('const schemaId = this.schemaId();');
  out.line(`if (schemaId !== SCHEMA_ID) throw new SbeDecodeError('SCHEMA_MISMATCH', \`schemaId \${schemaId}, expected \${SCHEMA_ID}\`);`);
  out.line('const version = this.version();');
  out.line(`if (version < SCHEMA_VERSION) throw new SbeDecodeError('SCHEMA_MISMATCH', \`schema version \${version} is older than \${SCHEMA_VERSION}\`);`);
  out.line('return this;');
  out.close();
  out.close();
  out.line();
}

function emitMessageLength(out: Out, schema: SchemaModel): void {
  out.line('const lengthHeader = new MessageHeaderDecoder();');
  for (const m of schema.messages) out.line(`const length${m.name} = new ${m.name}Decoder();`);
  out.line();
  out.line('/** Bytes of the whole message at `offset` (header, root, groups, data): messages are self-delimiting. */');
  out.open('export function messageLength(buf: Uint8Array, offset: number, end: number): number {');
  out.line('const header = lengthHeader.wrap(buf, offset, end).validate();');
  out.line(`const root = offset + ${schema.header.size};`);
  out.open('switch (header.templateId()) {');
  for (const m of schema.messages) {
    out.line(`case ${m.id}:`);
    out.line(`  return length${m.name}.wrap(buf, root, end, header.blockLength(), header.version()).skipAll() - offset;`);
  }
  out.line('default:');
  out.line(`  throw new SbeDecodeError('UNKNOWN_TEMPLATE', \`templateId \${header.templateId()} is not in schema ${schema.packageName}\`);`);
  out.close();
  out.close();
}

export function emitSchema(schema: SchemaModel, sourceName: string): string {
  // The names every schema's codec uses; the rest are added as the code that needs them is emitted.
  const used = new Set(['EMPTY_VIEW', 'SbeDecodeError', 'SbeEncodeError', 'checkEncodeRange', 'truncated']);
  const ctx: Ctx = { schema, le: schema.littleEndian ? 'true' : 'false', used };
  const out = new Out();
  out.line(`export const SCHEMA_ID = ${schema.id};`);
  out.line(`export const SCHEMA_VERSION = ${schema.version};`);
  out.line(`export const MESSAGE_HEADER_SIZE = ${schema.header.size};`);
  out.line(`export const TEMPLATE_IDS: readonly number[] = [${schema.messages.map((m) => m.id).join(', ')}];`);
  out.line();
  for (const e of schema.enums) emitEnum(out, e);
  emitHeader(ctx, out);
  for (const m of schema.messages) emitMessageDecoder(ctx, out, m);
  for (const m of schema.messages) emitMessageEncoder(ctx, out, m);
  emitMessageLength(out, schema);
  const head = new Out();
  head.line(`// Generated by src/sbe/generate.ts from ${sourceName} (package ${schema.packageName}, schema id ${schema.id}, version ${schema.version}).`);
  head.line('// Do not edit: change the schema or the generator and regenerate; a unit test checks that this file matches.');
  head.line(`import { ${[...used].sort().join(', ')} } from './runtime.js';`);
  head.line();
  return head.toString() + out.toString();
}
