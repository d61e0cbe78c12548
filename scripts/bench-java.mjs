/**
 * The Java verifier's numbers beside the TypeScript verifier's, from one `pnpm bench` run: Java in one
 * thread against TypeScript with one verification in flight, Java in four threads against TypeScript
 * with 32 in flight (its best throughput on one event loop); both with the in-memory replay store.
 */

/** @returns {{ lines: string[], json: Record<string, unknown> }} */
export function compareJavaWithTickets(java, tickets) {
  const lines = ['', '# java beside typescript (same run, in-memory replay store, median verifications/s)'];
  const json = {};
  for (const alg of ['EdDSA', 'HS256']) {
    const j1 = java.results?.[`${alg}/t1`]?.median;
    const j4 = java.results?.[`${alg}/t4`]?.median;
    const t1 = tickets.results?.[`${alg}/memory/c1`]?.median;
    const t32 = tickets.results?.[`${alg}/memory/c32`]?.median;
    if ([j1, j4, t1, t32].some((n) => typeof n !== 'number')) continue;
    const ratio = (a, b) => Math.round((a / b) * 100) / 100;
    json[alg] = { java1Thread: j1, java4Threads: j4, typescript1InFlight: t1, typescript32InFlight: t32, ratio1: ratio(j1, t1), ratio4vs32: ratio(j4, t32) };
    lines.push(
      `${alg.padEnd(6)} java 1 thread ${String(j1).padStart(7)}, 4 threads ${String(j4).padStart(7)} | typescript 1 in flight ${String(t1).padStart(7)}, 32 in flight ${String(t32).padStart(7)} | java/ts ${ratio(j1, t1)}x, ${ratio(j4, t32)}x`,
    );
  }
  return { lines, json };
}
