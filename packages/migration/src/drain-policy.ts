import type { FrameLike, MigrationEnds, SourcePongTest } from '@handoff/types';

/** Where a buffered packet goes when the buffer drains to B. */
export type DrainDecision = { readonly action: 'keep' } | { readonly action: 'drop'; readonly rule: string };

/** What the policy knows besides the packet: the migration's two ends, and where the drain is. */
export interface DrainContext extends MigrationEnds {
  /**
   * True once the drain passed the client's `ClientReady` for B (the one it sent on B's JoinWorld; with
   * `isTargetClientReady`, exactly that one, else the first one kept): the client sent the packets
   * after it in B's world, so none of them can refer to A's entities, windows or pings.
   */
  readonly afterClientReady: boolean;
}

/**
 * True for the client's `ClientReady` that answers the target's JoinWorld: the first packet the client
 * sent in B's world. Asked in the client's order, for packets named `ClientReady` that come before it.
 */
export type TargetReadyTest<F extends FrameLike = FrameLike> = (frame: F, ends: MigrationEnds) => boolean;

/** A per-packet override: a fixed action, or a function (return `undefined` to fall through to the defaults). */
export type DrainOverride<F extends FrameLike = FrameLike> =
  | 'keep'
  | 'drop'
  | ((frame: F, context: DrainContext) => DrainDecision | 'keep' | 'drop' | undefined);

export interface DrainPolicyInit<F extends FrameLike = FrameLike> {
  /**
   * True when a buffered Pong must not reach B because it answers a Ping of A (the migration's
   * `source`): pass the session's ping ledger, `record.pings.isSourcePong` (`@handoff/session`).
   * It is asked only for packets named `Pong`, with the migration's `{ source, target }`. Without
   * it, Pongs before the client's ClientReady are taken to answer A (B pings only once the player
   * is in its world, which needs that ClientReady) and Pongs after it to answer B.
   */
  readonly isSourcePong?: SourcePongTest<F>;
  /**
   * Which `ClientReady` the client sent in B's world (the answer to B's JoinWorld, rewritten at the
   * cut). A ClientReady before it was sent in A's world (the answer to A's SetClientId, or to an
   * earlier JoinWorld): it is dropped as `client-ready-for-source`, and the drain is not past the
   * client's ClientReady yet. The proxy kit's session passes its own (it counts the JoinWorlds the
   * client got and the world-entry ClientReadys it sent). Without it, the first ClientReady is B's.
   */
  readonly isTargetClientReady?: TargetReadyTest<F>;
  /** Packet names that refer to A's entity, window, interaction or teleport ids; replaces `DEFAULT_SOURCE_BOUND`. */
  readonly sourceBound?: Iterable<string>;
  /** Overrides by packet name; checked after `byId`, before the defaults. */
  readonly byName?: Readonly<Record<string, DrainOverride<F>>>;
  /** Overrides by packet id; checked first. */
  readonly byId?: Readonly<Record<number, DrainOverride<F>>>;
}

export interface DrainPolicy<F extends FrameLike = FrameLike> {
  decide(frame: F, context: DrainContext): DrainDecision;
}

/** Names of the drop rules the package itself uses (`override:<name|id>` for overrides). */
export const dropRules = {
  /** A Pong answering one of A's Pings: B would see an unknown ping id and disconnect. */
  pongForSource: 'pong-for-source',
  /** An ack or interaction the client sent in A's world, referring to A's ids. */
  sourceBound: 'source-bound',
  /** A ClientReady the client sent in A's world (`isTargetClientReady` said it is not B's). */
  clientReadyForSource: 'client-ready-for-source',
  /** The write to B (or A) failed while draining; the packet may not have arrived. */
  deliveryFailed: 'delivery-failed',
  /** The migration failed after the cut and the session is referred or disconnected. */
  sessionEnded: 'session-ended',
  /** The migrator was stopped (the session ended) mid-migration. */
  migrationStopped: 'migration-stopped',
} as const;

/** What each drop rule means (rendered into `docs/migration.md`). */
export const dropRuleDocs: Readonly<Record<string, string>> = {
  [dropRules.pongForSource]:
    "a Pong answering one of A's Pings (the ping ledger's `isSourcePong`, or by default: sent before the client's ClientReady); B would see an unknown ping id and disconnect",
  [dropRules.sourceBound]:
    "a packet named in `sourceBound` (acks, interactions, window actions, positions) sent before the client's ClientReady: it refers to A's ids and A's world",
  [dropRules.clientReadyForSource]:
    "a ClientReady the client sent in A's world, before the one answering B's JoinWorld (`isTargetClientReady`): A's readyForGameplay, or a world entry of A's. On B it would end the wait for the client's ClientReady early, or make B run its world entry on it",
  'override:<name>': 'an override returned `drop` for this packet name (`override:id:<n>` for an id)',
  [dropRules.deliveryFailed]: 'the write to B (or A) threw while draining: the packet may not have arrived; the drain fails',
  [dropRules.sessionEnded]:
    'the migration failed over after the cut (referral or Disconnect): what was still buffered, and every later offer, is dropped',
  [dropRules.migrationStopped]: '`migrator.stop()` ended the session mid-migration',
};

/**
 * Client→server packets (G3 registry names) that carry A's entity, window, interaction or
 * teleport ids, or positions in A's world. Sent before the client's ClientReady they are dropped
 * (why: docs/migration.md, "Protocol facts this package relies on", facts 2 and 3).
 */
export const DEFAULT_SOURCE_BOUND: readonly string[] = Object.freeze([
  'ClientMovement', // position in A's world, teleport acknowledgements
  'MountMovement',
  'MouseInteraction', // target entity ids
  'SyncInteractionChains',
  'DismountNPC',
  'ClientPlaceBlock', // coordinates in A's world
  'SendWindowAction', // A's window ids
  'CloseWindow',
  'ClientOpenWindow',
  'CustomPageEvent',
  'TeleportToWorldMapMarker',
  'TeleportToWorldMapPosition',
  'BuilderToolEntityAction',
  'BuilderToolSetEntityTransform',
  'BuilderToolSetEntityScale',
  'BuilderToolSetEntityPickupEnabled',
  'BuilderToolSetEntityLight',
  'BuilderToolSetEntityCollision',
  'BuilderToolOnUseInteraction',
]);

const KEEP: DrainDecision = Object.freeze({ action: 'keep' });

function normalise(
  result: DrainDecision | 'keep' | 'drop' | undefined,
  overrideRule: string,
): DrainDecision | undefined {
  if (result === undefined) return undefined;
  if (result === 'keep') return KEEP;
  if (result === 'drop') return { action: 'drop', rule: overrideRule };
  return result;
}

/**
 * The drain policy for buffered client packets going to B. In order: `byId`, `byName`, then the
 * defaults — drop Pongs answering A's pings (`pong-for-source`: `isSourcePong`, else sent before the
 * client's ClientReady; docs/migration.md, fact 4), drop a ClientReady before the client's ClientReady
 * for B (`client-ready-for-source`: `isTargetClientReady` says it is not B's), drop packets named in
 * `sourceBound` sent before the client's ClientReady (`source-bound`), keep the rest in order.
 */
export function createDrainPolicy<F extends FrameLike = FrameLike>(init: DrainPolicyInit<F> = {}): DrainPolicy<F> {
  const sourceBound = new Set(init.sourceBound ?? DEFAULT_SOURCE_BOUND);
  const byId = new Map(Object.entries(init.byId ?? {}).map(([k, v]) => [Number(k), v] as const));
  const byName = new Map(Object.entries(init.byName ?? {}));
  const apply = (o: DrainOverride<F> | undefined, frame: F, ctx: DrainContext, rule: string) =>
    o === undefined ? undefined : normalise(typeof o === 'function' ? o(frame, ctx) : o, rule);
  return {
    decide(frame, ctx) {
      const name = frame.descriptor.name;
      const overridden =
        apply(byId.get(frame.id), frame, ctx, `override:id:${frame.id}`) ?? apply(byName.get(name), frame, ctx, `override:${name}`);
      if (overridden) return overridden;
      if (name === 'Pong') {
        // `ctx` is a MigrationEnds ({ source, target } plus afterClientReady): no copy per Pong.
        const forSource = init.isSourcePong ? init.isSourcePong(frame, ctx) : !ctx.afterClientReady;
        return forSource ? { action: 'drop', rule: dropRules.pongForSource } : KEEP;
      }
      if (name === 'ClientReady' && !ctx.afterClientReady && init.isTargetClientReady && !init.isTargetClientReady(frame, ctx)) {
        return { action: 'drop', rule: dropRules.clientReadyForSource };
      }
      if (!ctx.afterClientReady && sourceBound.has(name)) return { action: 'drop', rule: dropRules.sourceBound };
      return KEEP;
    },
  };
}
