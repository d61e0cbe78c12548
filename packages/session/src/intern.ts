/**
 * A bounded pool of canonical strings for values many sessions repeat (player UUIDs of a backend's
 * player list): each session keeps a reference to one shared, flat string instead of its own copy.
 * The decoder builds a UUID as a concatenation of slices (a tree of string pieces in V8); the pooled
 * copy is flat. When the pool is full it starts over: interning is only an optimisation, so sessions
 * that still hold older strings keep them, and nothing grows without bound.
 */
const MAX_POOLED = 65_536;
let pool = new Map<string, string>();

/** The canonical copy of `value`. */
export function intern(value: string): string {
  const pooled = pool.get(value);
  if (pooled !== undefined) return pooled;
  if (pool.size >= MAX_POOLED) pool = new Map();
  // a flat copy: Buffer round trip writes the characters into one new sequential string
  const flat = Buffer.from(value, 'latin1').toString('latin1');
  const canonical = flat === value ? flat : value;
  pool.set(canonical, canonical);
  return canonical;
}
