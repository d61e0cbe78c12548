/**
 * IEEE-754 binary16 ("half float") conversions, as Hytale writes them: little-endian
 * int16 on the wire. Encoding rounds to nearest with ties away from zero, overflows
 * to ±Infinity (values that only round past 65504 clamp to it), keeps NaN a NaN and flushes values below the smallest subnormal to ±0.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToFloat(bits: number): number {
  const h = bits & 0xffff;
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) {
    // Infinity or NaN: keep NaN a (quiet) NaN
    return abs > 0x7f800000 ? sign | 0x7e00 : sign | 0x7c00;
  }
  const exp = (abs >>> 23) - 127;
  if (exp > 15) return sign | 0x7c00;
  if (exp >= -14) {
    // normal: 10 mantissa bits, round half away from zero on the 13 dropped bits
    let h = ((exp + 15) << 10) | ((abs >>> 13) & 0x3ff);
    if (abs & 0x1000) h += 1; // may carry into the exponent, which is the correct rounding
    // a finite value that rounds past the largest half clamps to it (65504), as the server does
    return sign | Math.min(h, 0x7bff);
  }
  if (exp < -25) return sign;
  // subnormal: shift the full 24-bit significand
  const mant = (abs & 0x7fffff) | 0x800000;
  const shift = -exp - 14 + 13; // 14..
  let h = mant >>> shift;
  if ((mant >>> (shift - 1)) & 1) h += 1;
  return sign | h;
}
