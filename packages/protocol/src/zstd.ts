/**
 * zstd for compressed packets, through `@bokuweb/zstd-wasm` (the reference zstd C
 * library compiled to WebAssembly: no native build, nothing downloaded at install).
 * See docs/protocol.md for the comparison that chose it.
 *
 * Hytale requires every compressed payload to be one zstd frame that declares its
 * content size; the declared size is checked against the packet's maxSize before
 * anything is allocated (docs/protocol.md, "Compression").
 */
import zstd from '@bokuweb/zstd-wasm';
import { ProtocolError } from './errors.js';

let loaded = false;
let loadError: unknown;

/**
 * Resolves once the WebAssembly module is instantiated (a few milliseconds after
 * import). Await it once at start-up; the codec's compressed paths are synchronous
 * and throw `ERR_PROTOCOL_ZSTD_NOT_READY` before it resolves.
 */
export const zstdReady: Promise<void> = zstd.init().then(
  () => {
    loaded = true;
  },
  (error: unknown) => {
    loadError = error;
    throw new ProtocolError('ERR_PROTOCOL_ZSTD_NOT_READY', 'zstd WebAssembly failed to load', { cause: error });
  },
);
// a load failure surfaces on first use, never as an unhandled rejection
zstdReady.catch(() => {});

function assertLoaded(): void {
  if (!loaded) {
    throw new ProtocolError(
      'ERR_PROTOCOL_ZSTD_NOT_READY',
      loadError ? 'zstd WebAssembly failed to load' : 'zstd is still loading: await zstdReady before the first compressed packet',
      loadError ? { cause: loadError } : {},
    );
  }
}

const ZSTD_MAGIC = 0xfd2fb528;
const DICT_ID_SIZES = [0, 1, 2, 4] as const;
const FCS_SIZES = [0, 2, 4, 8] as const;

/**
 * The content size a zstd frame header declares (RFC 8878 §3.1.1.1), or `undefined`
 * when the frame does not declare one. Throws `ERR_PROTOCOL_ZSTD_CORRUPT` when the
 * bytes are not a zstd frame header.
 */
export function zstdContentSize(src: Uint8Array): number | undefined {
  if (src.length < 5) throw new ProtocolError('ERR_PROTOCOL_ZSTD_CORRUPT', `${src.length} byte(s) is too short for a zstd frame`);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const magic = view.getUint32(0, true);
  if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) return undefined; // skippable frame: no content
  if (magic !== ZSTD_MAGIC) throw new ProtocolError('ERR_PROTOCOL_ZSTD_CORRUPT', 'not a zstd frame (bad magic number)');
  const fhd = src[4]!;
  if (fhd & 0x08) throw new ProtocolError('ERR_PROTOCOL_ZSTD_CORRUPT', 'zstd frame header sets the reserved bit');
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const pos = 5 + (singleSegment ? 0 : 1) + DICT_ID_SIZES[fhd & 3]!;
  const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : FCS_SIZES[fcsFlag]!;
  if (fcsSize === 0) return undefined;
  if (pos + fcsSize > src.length) throw new ProtocolError('ERR_PROTOCOL_ZSTD_CORRUPT', 'zstd frame header is cut short');
  switch (fcsSize) {
    case 1:
      return src[pos]!;
    case 2:
      return view.getUint16(pos, true) + 256;
    case 4:
      return view.getUint32(pos, true);
    default: {
      const size = view.getBigUint64(pos, true);
      return size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
    }
  }
}

/**
 * Decompresses one compressed payload. `limit` is the packet's maxSize (or lower):
 * a payload whose compressed length or declared content size is over it is refused
 * before anything is allocated.
 */
export function decompressPayload(src: Uint8Array, limit: number): Uint8Array {
  if (src.length > limit) {
    throw new ProtocolError('ERR_PROTOCOL_ZSTD_TOO_LARGE', `compressed size ${src.length} is over the maximum ${limit}`);
  }
  const size = zstdContentSize(src);
  if (size === undefined) {
    throw new ProtocolError('ERR_PROTOCOL_ZSTD_NO_CONTENT_SIZE', 'zstd frame does not declare its content size');
  }
  if (size > limit) {
    throw new ProtocolError('ERR_PROTOCOL_ZSTD_TOO_LARGE', `declared content size ${size} is over the maximum ${limit}`);
  }
  assertLoaded();
  let out: Uint8Array;
  try {
    out = zstd.decompress(src, { defaultHeapSize: Math.max(1, size) });
  } catch (error) {
    throw new ProtocolError('ERR_PROTOCOL_ZSTD_CORRUPT', 'zstd data is corrupt', { cause: error });
  }
  if (out.length !== size) {
    throw new ProtocolError('ERR_PROTOCOL_ZSTD_CORRUPT', `zstd frame declares ${size} bytes but holds ${out.length}`);
  }
  return out;
}

/** Default level, as the server's (`zstd-jni` default 3). */
export const DEFAULT_ZSTD_LEVEL = 3;

/** Compresses one payload into a single zstd frame that declares its content size. */
export function compressPayload(src: Uint8Array, level = DEFAULT_ZSTD_LEVEL): Uint8Array {
  assertLoaded();
  const out = zstd.compress(src, level);
  if (zstdContentSize(out) !== src.length) {
    throw new ProtocolError('ERR_PROTOCOL_ZSTD_CORRUPT', 'zstd encoder wrote a frame without its content size');
  }
  return out;
}
