/**
 * Compiles a struct layout into specialised read, size and write functions (the
 * approach of node-protodef's compiler): fixed primitive fields become inline
 * DataView/byte accesses, the result object gets one literal shape, and only
 * composite fields call into their codecs. The generated code is derived from the
 * layout alone: field names enter it only as JSON string literals.
 */
import { isUuid, uuidFromBytes, uuidToBytes } from '../bytes.js';
import { ProtocolError, invalidValue, isProtocolError, truncated, withPath } from '../errors.js';
import { floatToHalf, halfToFloat } from '../half.js';
import { ReadContext, type AnyCodec, type WriteContext } from './codec.js';

export interface CompiledFieldInfo {
  readonly name: string;
  readonly codec: AnyCodec;
  readonly nullable: boolean;
  readonly bit: number;
  readonly offset: number;
  readonly slot: number;
  readonly fixedSize: number;
}

export interface StructPlan {
  readonly name: string;
  readonly nullBytes: number;
  readonly fixedBlockSize: number;
  readonly variableBlockStart: number;
  readonly maxNesting: number;
  /** Fields in declared order (the order of keys in decoded objects). */
  readonly declared: readonly CompiledFieldInfo[];
  readonly fixedFields: readonly CompiledFieldInfo[];
  readonly varFields: readonly CompiledFieldInfo[];
}

export interface CompiledStruct {
  read(r: ReadContext): unknown;
  size(value: unknown): number;
  write(w: WriteContext, value: unknown): void;
}

function bitTest(f: CompiledFieldInfo): string {
  return `(bytes[start + ${f.bit >> 3}] & ${1 << (f.bit & 7)}) !== 0`;
}

function bitSet(f: CompiledFieldInfo): string {
  return `bytes[start + ${f.bit >> 3}] |= ${1 << (f.bit & 7)};`;
}

/** An inline read expression for a fixed primitive at `at`, or undefined. */
function inlineRead(c: AnyCodec, i: number, at: string): string | undefined {
  const spec = c.spec;
  switch (spec.kind) {
    case 'int':
      if (spec.bits === 8) return spec.signed ? `r.view.getInt8(${at})` : `bytes[${at}]`;
      return `r.view.get${spec.signed ? 'Int' : 'Uint'}${spec.bits}(${at}, true)`;
    case 'int64':
      return `r.view.getBigInt64(${at}, true)`;
    case 'float':
      return spec.bits === 16 ? `h2f(r.view.getUint16(${at}, true))` : `r.view.getFloat${spec.bits}(${at}, true)`;
    case 'bool':
      return `bytes[${at}] !== 0`;
    case 'uuid':
      return `u2s(bytes, ${at})`;
    case 'enum':
      return `(e${i}[bytes[${at}]] ?? badEnum(${i}, bytes[${at}]))`;
    default:
      return undefined;
  }
}

/** An inline write statement for a fixed primitive `x` at `at`, or undefined. */
function inlineWrite(c: AnyCodec, i: number, at: string): string | undefined {
  const spec = c.spec;
  switch (spec.kind) {
    case 'int':
      if (spec.bits === 8) return `bytes[${at}] = x & 0xff;`;
      if (spec.bits === 16) return `w.view.setUint16(${at}, x & 0xffff, true);`;
      return `w.view.setUint32(${at}, x >>> 0, true);`;
    case 'int64':
      return `w.view.setBigInt64(${at}, x, true);`;
    case 'float':
      return spec.bits === 16 ? `w.view.setUint16(${at}, f2h(x), true);` : `w.view.setFloat${spec.bits}(${at}, x, true);`;
    case 'bool':
      return `bytes[${at}] = x ? 1 : 0;`;
    case 'uuid':
      return `s2u(x, bytes, ${at});`;
    case 'enum':
      return `bytes[${at}] = x${i}.get(x);`;
    default:
      return undefined;
  }
}

/** An inline "is this value certainly valid" test for a fixed primitive, or undefined. */
function inlineValid(c: AnyCodec): string | undefined {
  const spec = c.spec;
  switch (spec.kind) {
    case 'int':
      if (spec.bits === 32 && spec.signed) return `(x | 0) === x`;
      return `typeof x === 'number' && Number.isInteger(x) && x >= ${spec.signed ? -(2 ** (spec.bits - 1)) : 0} && x <= ${spec.signed ? 2 ** (spec.bits - 1) - 1 : 2 ** spec.bits - 1}`;
    case 'bool':
      return `typeof x === 'boolean'`;
    case 'uuid':
      return `isUuid(x)`;
    case 'float':
      return `typeof x === 'number'`;
    default:
      return undefined;
  }
}

export function compileStruct(plan: StructPlan): CompiledStruct {
  const { name, nullBytes, fixedBlockSize, variableBlockStart, declared, fixedFields, varFields } = plan;
  const index = new Map(declared.map((f, i) => [f.name, i]));
  const codecs = declared.map((f) => f.codec);
  const enums = declared.map((f) => (f.codec.spec.kind === 'enum' ? f.codec.spec.values : undefined));
  const enumIndex = enums.map((values) => (values ? new Map(values.map((v, i) => [v, i])) : undefined));
  const recursive = varFields.length > 0;
  const q = JSON.stringify;

  // ---------------------------------------------------------------- read
  const read: string[] = [];
  read.push(`const start = r.pos;`);
  read.push(`if (start + ${variableBlockStart} > r.end) throw truncated(${q(name)}, ${variableBlockStart}, Math.max(0, r.end - start));`);
  if (recursive) read.push(`if (++r.depth > ${plan.maxNesting}) { r.depth--; throw tooDeep(); }`);
  read.push(`const bytes = r.bytes;`);
  read.push(`const varStart = start + ${variableBlockStart};`);
  read.push(`let end = ${recursive ? 'varStart' : `start + ${fixedBlockSize}`};`);
  read.push(`let field = '';`);
  read.push(`let rel = 0;`);
  read.push(declared.map((_, i) => `let v${i} = null;`).join(' '));
  read.push(`try {`);
  for (const f of declared) {
    const i = index.get(f.name)!;
    const body: string[] = [];
    if (f.offset >= 0) {
      const inline = inlineRead(f.codec, i, `start + ${f.offset}`);
      body.push(inline ? `v${i} = ${inline};` : `r.pos = start + ${f.offset}; v${i} = c${i}.read(r);`);
    } else {
      if (f.slot < 0) {
        body.push(`r.pos = start + ${fixedBlockSize};`);
      } else {
        body.push(`rel = r.view.getInt32(start + ${f.slot}, true);`);
        body.push(`if (rel < 0) throw badOffset(rel, ${f.nullable});`);
        body.push(`if (rel > r.end - varStart) throw pastEnd(rel, r.end - varStart);`);
        body.push(`r.pos = varStart + rel;`);
      }
      body.push(`v${i} = c${i}.read(r);`);
      body.push(`if (r.pos > end) end = r.pos;`);
    }
    read.push(`field = ${q(f.name)};`);
    read.push(f.bit >= 0 ? `if (${bitTest(f)}) { ${body.join(' ')} }` : body.join(' '));
  }
  read.push(`} catch (error) { throw withPath(error, field); }${recursive ? ' finally { r.depth--; }' : ''}`);
  read.push(`r.pos = end;`);
  read.push(`return { ${declared.map((f) => `${q(f.name)}: v${index.get(f.name)}`).join(', ')} };`);

  // ---------------------------------------------------------------- size
  const size: string[] = [];
  size.push(`if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw notObject();`);
  size.push(`let total = ${variableBlockStart};`);
  size.push(`let x;`);
  for (const f of declared) {
    const i = index.get(f.name)!;
    size.push(`x = v[${q(f.name)}];`);
    const missing = f.nullable ? '' : ` throw missing(${q(f.name)});`;
    const valid = f.offset >= 0 ? inlineValid(f.codec) : undefined;
    const measure = f.offset >= 0 ? (valid ? `if (!(${valid})) sizeOf(${i}, x);` : `sizeOf(${i}, x);`) : `total += sizeOf(${i}, x);`;
    size.push(`if (x === null || x === undefined) {${missing} } else { ${measure} }`);
  }
  size.push(`return total;`);

  // ---------------------------------------------------------------- write
  const write: string[] = [];
  write.push(`const start = w.pos;`);
  write.push(`const bytes = w.bytes;`);
  for (let k = 0; k < nullBytes; k++) write.push(`bytes[start + ${k}] = 0;`);
  write.push(`let x;`);
  for (const f of fixedFields) {
    const i = index.get(f.name)!;
    const at = `start + ${f.offset}`;
    write.push(`x = v[${q(f.name)}];`);
    const inline = inlineWrite(f.codec, i, at) ?? `w.pos = ${at}; c${i}.write(w, x);`;
    const set = f.bit >= 0 ? bitSet(f) : '';
    write.push(`if (x === null || x === undefined) { bytes.fill(0, ${at}, ${at} + ${f.fixedSize}); } else { ${set} ${inline} }`);
  }
  if (varFields.length > 0) {
    write.push(`const varStart = start + ${variableBlockStart};`);
    write.push(`w.pos = varStart;`);
    for (const f of varFields) {
      const i = index.get(f.name)!;
      write.push(`x = v[${q(f.name)}];`);
      const set = f.bit >= 0 ? bitSet(f) : '';
      const slot = f.slot >= 0 ? `w.view.setInt32(start + ${f.slot}, w.pos - varStart, true);` : '';
      const nullSlot = f.slot >= 0 ? `w.view.setInt32(start + ${f.slot}, -1, true);` : '';
      write.push(`if (x === null || x === undefined) { ${nullSlot} } else { ${set} ${slot} c${i}.write(w, x); }`);
    }
  } else {
    write.push(`w.pos = start + ${fixedBlockSize};`);
  }

  const helpers = {
    truncated,
    withPath,
    tooDeep: () => new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `${name} nests deeper than ${plan.maxNesting} levels`),
    badOffset: (rel: number, nullable: boolean) =>
      rel === -1 && !nullable
        ? new ProtocolError('ERR_PROTOCOL_MISSING_FIELD', 'required field has the null offset -1')
        : new ProtocolError('ERR_PROTOCOL_INVALID_OFFSET', `negative offset ${rel}`),
    pastEnd: (rel: number, room: number) =>
      new ProtocolError('ERR_PROTOCOL_INVALID_OFFSET', `offset ${rel} is past the end of the payload (${room} bytes of variable block)`),
    badEnum: (i: number, b: number) => {
      throw new ProtocolError('ERR_PROTOCOL_INVALID_ENUM', `${b} is not a value of ${declared[i]!.name}'s enum`);
    },
    notObject: () => invalidValue(`expected a ${name} object`),
    missing: (field: string) => new ProtocolError('ERR_PROTOCOL_MISSING_FIELD', `${name}.${field} is required`, { path: [field] }),
    sizeOf: (i: number, x: unknown) => {
      try {
        return codecs[i]!.size(x);
      } catch (error) {
        throw withPath(error, declared[i]!.name);
      }
    },
    u2s: uuidFromBytes,
    s2u: uuidToBytes,
    isUuid,
    h2f: halfToFloat,
    f2h: floatToHalf,
  };
  const names = [
    ...Object.keys(helpers),
    ...codecs.map((_, i) => `c${i}`),
    ...enums.map((_, i) => `e${i}`),
    ...enumIndex.map((_, i) => `x${i}`),
  ];
  const values = [...Object.values(helpers), ...codecs, ...enums, ...enumIndex];
  const source = `return {
    read(r) { ${read.join('\n')} },
    size(v) { ${size.join('\n')} },
    write(w, v) { ${write.join('\n')} },
  };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(...names, source)(...values) as CompiledStruct;
}

/** What {@link compileFixedReader} reads: fields at fixed offsets of one packet's payload. */
export interface FixedReaderPlan {
  /** The packet (or struct) name, for errors. */
  readonly name: string;
  /** Bytes the payload must have from its start (the fixed block). */
  readonly need: number;
  /** The fields to read; each has `offset >= 0`. */
  readonly fields: readonly CompiledFieldInfo[];
}

/** An inline read of an int32 LE from `bytes` without a DataView (the common case of the fixed readers). */
function int32Read(at: string): string {
  return `(bytes[${at}] | (bytes[${at} + 1] << 8) | (bytes[${at} + 2] << 16) | (bytes[${at} + 3] << 24))`;
}

/**
 * Compiles a reader of a few fixed-offset fields of a payload into one specialised function:
 * a length check against the fixed block, then one inline read per field (null bits honoured),
 * returned as one object literal. Nothing else of the payload is looked at.
 */
export function compileFixedReader(plan: FixedReaderPlan): (bytes: Uint8Array, start: number) => Record<string, unknown> {
  const { name, need, fields } = plan;
  const q = JSON.stringify;
  const codecs = fields.map((f) => f.codec);
  const enums = fields.map((f) => (f.codec.spec.kind === 'enum' ? f.codec.spec.values : undefined));
  const reads = fields.map((f, i) => {
    const at = `start + ${f.offset}`;
    const spec = f.codec.spec;
    const inline = spec.kind === 'int' && spec.bits === 32 && spec.signed ? int32Read(at) : inlineRead(f.codec, i, at);
    const expr = inline ?? `(r.pos = ${at}, c${i}.read(r))`;
    return f.bit >= 0 ? `(${bitTest(f)} ? ${expr} : null)` : expr;
  });
  const body: string[] = [];
  body.push(`if (start + ${need} > bytes.length) throw short(Math.max(0, bytes.length - start));`);
  if (reads.some((expr) => expr.includes('r.'))) body.push(`const r = new RC(bytes, start);`);
  body.push(`let field = '';`);
  body.push(`try {`);
  fields.forEach((f, i) => body.push(`field = ${q(f.name)}; const v${i} = ${reads[i]};`));
  body.push(`return { ${fields.map((f, i) => `${q(f.name)}: v${i}`).join(', ')} };`);
  body.push(`} catch (error) { throw tag(error, field); }`);

  const helpers = {
    short: (available: number) =>
      new ProtocolError('ERR_PROTOCOL_TRUNCATED', `${name} needs ${need} byte(s), ${available} available`, { packet: name }),
    tag: (error: unknown, field: string) => {
      if (isProtocolError(error) && error.packet === undefined) error.packet = name;
      return withPath(error, field);
    },
    badEnum: (i: number, b: number) => {
      throw new ProtocolError('ERR_PROTOCOL_INVALID_ENUM', `${b} is not a value of ${fields[i]!.name}'s enum`);
    },
    u2s: uuidFromBytes,
    h2f: halfToFloat,
    RC: ReadContext,
  };
  const names = [...Object.keys(helpers), ...codecs.map((_, i) => `c${i}`), ...enums.map((_, i) => `e${i}`)];
  const values = [...Object.values(helpers), ...codecs, ...enums];
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(...names, `return function read(bytes, start) { ${body.join('\n')} };`)(...values) as (
    bytes: Uint8Array,
    start: number,
  ) => Record<string, unknown>;
}
