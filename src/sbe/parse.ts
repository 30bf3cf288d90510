/**
 * SBE schema XML → SchemaModel. Reads the subset of SBE 1.0 that Binance's stream schemas use (primitive
 * fields, enums, constants, repeating groups, var data) and rejects anything else by name rather than
 * generating a codec that silently misreads bytes.
 */
import { XMLParser } from 'fast-xml-parser';
import {
  PRIMITIVE_SIZE,
  type DimensionModel,
  type EnumModel,
  type FieldModel,
  type GroupModel,
  type HeaderModel,
  type MessageModel,
  type Primitive,
  type SchemaModel,
  type VarDataModel,
} from './model.js';

export class SchemaError extends Error {
  override readonly name = 'SchemaError';
}

interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

type RawNode = Record<string, unknown>;

function localName(tag: string): string {
  const i = tag.indexOf(':');
  return i < 0 ? tag : tag.slice(i + 1);
}

function toNodes(raw: unknown): XmlNode[] {
  if (!Array.isArray(raw)) return [];
  const out: XmlNode[] = [];
  for (const item of raw as RawNode[]) {
    const tag = Object.keys(item).find((k) => k !== ':@');
    if (tag === undefined || tag === '#comment' || tag.startsWith('?')) continue;
    if (tag === '#text') continue;
    const kids = item[tag];
    const attrs = (item[':@'] as Record<string, string> | undefined) ?? {};
    const text = Array.isArray(kids)
      ? (kids as RawNode[])
          .map((k) => (typeof k['#text'] === 'string' || typeof k['#text'] === 'number' ? String(k['#text']) : ''))
          .join('')
      : '';
    out.push({ tag: localName(tag), attrs, children: toNodes(kids), text: text.trim() });
  }
  return out;
}

function readXml(xml: string): XmlNode {
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: true,
  });
  let parsed: unknown;
  try {
    parsed = parser.parse(xml, true);
  } catch (err) {
    throw new SchemaError(`schema XML does not parse: ${err instanceof Error ? err.message : String(err)}`);
  }
  const root = toNodes(parsed).find((n) => n.tag === 'messageSchema');
  if (!root) throw new SchemaError('no <messageSchema> root element');
  return root;
}

function attr(node: XmlNode, name: string): string {
  const v = node.attrs[name];
  if (v === undefined) throw new SchemaError(`<${node.tag}> lacks attribute ${name}`);
  return v;
}

function intAttr(node: XmlNode, name: string, fallback?: number): number {
  const v = node.attrs[name];
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new SchemaError(`<${node.tag}> lacks attribute ${name}`);
  }
  if (!/^-?\d+$/.test(v)) throw new SchemaError(`<${node.tag} ${name}="${v}"> is not an integer`);
  return Number(v);
}

function asPrimitive(name: string, where: string): Primitive {
  if (Object.hasOwn(PRIMITIVE_SIZE, name)) return name as Primitive;
  throw new SchemaError(`${where}: unsupported primitive type ${name}`);
}

const PRIMITIVE_MAX: Partial<Record<Primitive, number>> = {
  uint8: 0xfe,
  uint16: 0xfffe,
  uint32: 0xfffffffe,
};

interface SimpleType {
  primitive: Primitive;
  presence: 'required' | 'optional' | 'constant';
  constantText: string;
  maxValue?: number;
}

interface Types {
  simple: Map<string, SimpleType>;
  enums: Map<string, EnumModel>;
  composites: Map<string, XmlNode>;
}

function readTypes(root: XmlNode): Types {
  const types: Types = { simple: new Map(), enums: new Map(), composites: new Map() };
  for (const block of root.children.filter((n) => n.tag === 'types')) {
    for (const t of block.children) {
      const name = attr(t, 'name');
      if (t.tag === 'type') {
        types.simple.set(name, simpleType(t));
      } else if (t.tag === 'enum') {
        const encoding = asPrimitive(attr(t, 'encodingType'), `enum ${name}`);
        const values = t.children
          .filter((v) => v.tag === 'validValue')
          .map((v) => ({ name: attr(v, 'name'), value: Number(v.text) }));
        if (values.some((v) => !Number.isInteger(v.value))) throw new SchemaError(`enum ${name} has a non-integer value`);
        types.enums.set(name, { name, encoding, values });
      } else if (t.tag === 'composite') {
        types.composites.set(name, t);
      } else {
        throw new SchemaError(`unsupported type element <${t.tag} name="${name}">`);
      }
    }
  }
  return types;
}

function simpleType(t: XmlNode): SimpleType {
  const name = attr(t, 'name');
  const primitive = asPrimitive(attr(t, 'primitiveType'), `type ${name}`);
  const length = intAttr(t, 'length', 1);
  if (length !== 1) throw new SchemaError(`type ${name}: arrays (length ${length}) are not supported`);
  const presence = (t.attrs.presence ?? 'required') as SimpleType['presence'];
  if (!['required', 'optional', 'constant'].includes(presence)) throw new SchemaError(`type ${name}: presence ${presence}`);
  const maxValue = t.attrs.maxValue === undefined ? undefined : intAttr(t, 'maxValue');
  return { primitive, presence, constantText: t.text, maxValue };
}

/** The members of a composite as primitive slots with offsets (composites of primitives only). */
function compositeSlots(types: Types, name: string): Map<string, { primitive: Primitive; offset: number; length: number; maxValue?: number; characterEncoding?: string }> {
  const node = types.composites.get(name);
  if (!node) throw new SchemaError(`composite ${name} is not defined`);
  const slots = new Map<string, { primitive: Primitive; offset: number; length: number; maxValue?: number; characterEncoding?: string }>();
  let offset = 0;
  for (const m of node.children) {
    if (m.tag !== 'type') throw new SchemaError(`composite ${name}: nested <${m.tag}> is not supported`);
    const primitive = asPrimitive(attr(m, 'primitiveType'), `composite ${name}`);
    const length = intAttr(m, 'length', 1);
    offset = intAttr(m, 'offset', offset);
    slots.set(attr(m, 'name'), {
      primitive,
      offset,
      length,
      maxValue: m.attrs.maxValue === undefined ? undefined : intAttr(m, 'maxValue'),
      characterEncoding: m.attrs.characterEncoding,
    });
    offset += PRIMITIVE_SIZE[primitive] * length;
  }
  return slots;
}

function compositeSize(types: Types, name: string): number {
  let size = 0;
  for (const s of compositeSlots(types, name).values()) size = Math.max(size, s.offset + PRIMITIVE_SIZE[s.primitive] * s.length);
  return size;
}

function slot(types: Types, composite: string, member: string): { primitive: Primitive; offset: number; maxValue?: number } {
  const s = compositeSlots(types, composite).get(member);
  if (!s) throw new SchemaError(`composite ${composite} has no member ${member}`);
  return s;
}

function readHeader(types: Types, name: string): HeaderModel {
  const pick = (m: string) => {
    const s = slot(types, name, m);
    return { primitive: s.primitive, offset: s.offset };
  };
  return {
    size: compositeSize(types, name),
    blockLength: pick('blockLength'),
    templateId: pick('templateId'),
    schemaId: pick('schemaId'),
    version: pick('version'),
  };
}

function readDimension(types: Types, name: string): DimensionModel {
  const bl = slot(types, name, 'blockLength');
  const n = slot(types, name, 'numInGroup');
  return {
    name,
    size: compositeSize(types, name),
    blockLength: { primitive: bl.primitive, offset: bl.offset },
    numInGroup: { primitive: n.primitive, offset: n.offset, max: n.maxValue ?? PRIMITIVE_MAX[n.primitive] ?? 0xfffe },
  };
}

function readVarData(types: Types, node: XmlNode): VarDataModel {
  const typeName = attr(node, 'type');
  const slots = compositeSlots(types, typeName);
  const length = slots.get('length');
  const data = slots.get('varData');
  if (!length || !data) throw new SchemaError(`data ${attr(node, 'name')}: ${typeName} needs length and varData members`);
  if (data.offset !== PRIMITIVE_SIZE[length.primitive] || data.length !== 0) {
    throw new SchemaError(`data ${attr(node, 'name')}: varData must directly follow length with length="0"`);
  }
  if (!['uint8', 'uint16', 'uint32'].includes(length.primitive)) throw new SchemaError(`data ${attr(node, 'name')}: length must be unsigned`);
  const typeMax = { uint8: 0xff, uint16: 0xffff, uint32: 0x7fffffff }[length.primitive as 'uint8' | 'uint16' | 'uint32'];
  return {
    name: attr(node, 'name'),
    id: intAttr(node, 'id'),
    lengthPrimitive: length.primitive,
    lengthSize: PRIMITIVE_SIZE[length.primitive],
    maxLength: Math.min(length.maxValue ?? typeMax, typeMax),
    characterEncoding: data.characterEncoding,
  };
}

function readField(types: Types, node: XmlNode, offset: number, siblings: FieldModel[], rootFields: FieldModel[] | null): FieldModel {
  const name = attr(node, 'name');
  const typeName = attr(node, 'type');
  let primitive: Primitive;
  let presence = (node.attrs.presence ?? '') as FieldModel['presence'] | '';
  let enumModel: EnumModel | undefined;
  let constantText = '';
  const simple = types.simple.get(typeName);
  if (simple) {
    primitive = simple.primitive;
    presence ||= simple.presence;
    constantText = simple.constantText;
  } else if (types.enums.has(typeName)) {
    enumModel = types.enums.get(typeName);
    primitive = enumModel!.encoding;
  } else if (Object.hasOwn(PRIMITIVE_SIZE, typeName)) {
    primitive = typeName as Primitive;
  } else {
    throw new SchemaError(`field ${name}: type ${typeName} is not a primitive, simple type or enum`);
  }
  presence ||= 'required';
  const field: FieldModel = {
    name,
    id: intAttr(node, 'id'),
    primitive,
    offset,
    size: presence === 'constant' ? 0 : PRIMITIVE_SIZE[primitive],
    presence,
    sinceVersion: intAttr(node, 'sinceVersion', 0),
  };
  if (enumModel) field.enumName = enumModel.name;
  if (presence === 'constant') field.constantValue = constantValue(types, node, enumModel, constantText);
  const exp = node.attrs['mbx:exponent'];
  if (exp !== undefined) {
    if (siblings.some((f) => f.name === exp)) field.exponentField = { name: exp, scope: 'self' };
    else if (rootFields?.some((f) => f.name === exp)) field.exponentField = { name: exp, scope: 'root' };
    else throw new SchemaError(`field ${name}: exponent field ${exp} does not precede it`);
  }
  return field;
}

function constantValue(types: Types, node: XmlNode, enumModel: EnumModel | undefined, typeText: string): number {
  const ref = node.attrs.valueRef;
  if (ref !== undefined) {
    const [enumName, valueName] = ref.split('.');
    const e = types.enums.get(enumName ?? '');
    const v = e?.values.find((x) => x.name === valueName);
    if (!v || (enumModel && e !== enumModel)) throw new SchemaError(`field ${attr(node, 'name')}: bad valueRef ${ref}`);
    return v.value;
  }
  const text = node.text || typeText;
  if (!/^-?\d+$/.test(text)) throw new SchemaError(`field ${attr(node, 'name')}: constant needs an integer value`);
  return Number(text);
}

interface Body {
  blockLength: number;
  fields: FieldModel[];
  groups: GroupModel[];
  data: VarDataModel[];
}

function readBody(types: Types, node: XmlNode, rootFields: FieldModel[] | null): Body {
  const fields: FieldModel[] = [];
  const groups: GroupModel[] = [];
  const data: VarDataModel[] = [];
  let offset = 0;
  for (const child of node.children) {
    if (child.tag === 'field') {
      if (groups.length || data.length) throw new SchemaError(`${attr(node, 'name')}: field ${attr(child, 'name')} after a group or data`);
      const f = readField(types, child, intAttr(child, 'offset', offset), fields, rootFields);
      if (f.offset < offset) throw new SchemaError(`field ${f.name}: offset ${f.offset} overlaps the previous field`);
      fields.push(f);
      offset = f.offset + f.size;
    } else if (child.tag === 'group') {
      if (data.length) throw new SchemaError(`${attr(node, 'name')}: group ${attr(child, 'name')} after data`);
      const body = readBody(types, child, rootFields ?? fields);
      groups.push({
        name: attr(child, 'name'),
        id: intAttr(child, 'id'),
        dimension: readDimension(types, child.attrs.dimensionType ?? 'groupSizeEncoding'),
        ...body,
      });
    } else if (child.tag === 'data') {
      data.push(readVarData(types, child));
    } else {
      throw new SchemaError(`${attr(node, 'name')}: unsupported element <${child.tag}>`);
    }
  }
  const blockLength = intAttr(node, 'blockLength', offset);
  if (blockLength < offset) throw new SchemaError(`${attr(node, 'name')}: blockLength ${blockLength} < fields' ${offset}`);
  return { blockLength, fields, groups, data };
}

export function parseSchema(xml: string): SchemaModel {
  const root = readXml(xml);
  const byteOrder = root.attrs.byteOrder ?? 'littleEndian';
  if (byteOrder !== 'littleEndian' && byteOrder !== 'bigEndian') throw new SchemaError(`byteOrder ${byteOrder}`);
  const types = readTypes(root);
  const messages: MessageModel[] = root.children
    .filter((n) => n.tag === 'message')
    .map((m) => ({ name: attr(m, 'name'), id: intAttr(m, 'id'), ...readBody(types, m, null) }));
  if (messages.length === 0) throw new SchemaError('schema has no messages');
  const ids = new Set(messages.map((m) => m.id));
  if (ids.size !== messages.length) throw new SchemaError('duplicate message ids');
  return {
    packageName: attr(root, 'package'),
    id: intAttr(root, 'id'),
    version: intAttr(root, 'version', 0),
    littleEndian: byteOrder === 'littleEndian',
    header: readHeader(types, root.attrs.headerType ?? 'messageHeader'),
    enums: [...types.enums.values()],
    messages,
  };
}
