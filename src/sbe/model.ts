/** The resolved schema the emitter works from: every field has its wire type, offset and size. */

export type Primitive =
  | 'char'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float'
  | 'double';

export const PRIMITIVE_SIZE: Record<Primitive, number> = {
  char: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float: 4,
  double: 8,
};

export interface EnumModel {
  name: string;
  encoding: Primitive;
  values: { name: string; value: number }[];
}

export interface FieldModel {
  name: string;
  id: number;
  primitive: Primitive;
  /** Offset inside the root block or group entry; constant fields take no bytes (size 0). */
  offset: number;
  size: number;
  presence: 'required' | 'optional' | 'constant';
  /** Set for enum-typed fields. */
  enumName?: string;
  /** For presence="constant": the numeric value. */
  constantValue?: number;
  /** mbx:exponent: the sibling or root field holding this mantissa's decimal exponent. */
  exponentField?: { name: string; scope: 'self' | 'root' };
  sinceVersion: number;
}

export interface DimensionModel {
  name: string;
  size: number;
  blockLength: { primitive: Primitive; offset: number };
  numInGroup: { primitive: Primitive; offset: number; max: number };
}

export interface VarDataModel {
  name: string;
  id: number;
  lengthPrimitive: Primitive;
  lengthSize: number;
  maxLength: number;
  characterEncoding?: string;
}

export interface GroupModel {
  name: string;
  id: number;
  blockLength: number;
  dimension: DimensionModel;
  fields: FieldModel[];
  groups: GroupModel[];
  data: VarDataModel[];
}

export interface MessageModel {
  name: string;
  id: number;
  blockLength: number;
  fields: FieldModel[];
  groups: GroupModel[];
  data: VarDataModel[];
}

export interface HeaderModel {
  size: number;
  blockLength: { primitive: Primitive; offset: number };
  templateId: { primitive: Primitive; offset: number };
  schemaId: { primitive: Primitive; offset: number };
  version: { primitive: Primitive; offset: number };
}

export interface SchemaModel {
  packageName: string;
  id: number;
  version: number;
  littleEndian: boolean;
  header: HeaderModel;
  enums: EnumModel[];
  messages: MessageModel[];
}
