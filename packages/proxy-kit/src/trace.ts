/**
 * The trace recorder: one record per frame the proxy session handles, in either direction, with what
 * it did with it — on the client's connection and on the backend links the kit plays the client on
 * (a migration target's handshake and setup). Records carry names and sizes only — never a payload,
 * a token or a ticket — so a trace can be kept and shared (`handoff trace analyze` reads the JSONL
 * form; docs/proxy-kit.md describes every field).
 */
import type { BackendId, MigrationId, Phase, SessionId } from '@handoff/types';
import type { ChannelName } from './contracts.js';
import type { PacketDirection } from './forward/hooks.js';

/** What the session did with a frame. */
export type TraceAction =
  /** passed on unchanged */
  | 'forwarded'
  /** changed on the way: a packet hook replaced it (the record is the replacement's), or the cutover rewrote the target's JoinWorld */
  | 'rewritten'
  /**
   * kept from the client by the kit: a backend's Disconnect or ClientReferral it acted on, or a
   * migration target's handshake and setup (`rule`: `handshake`, `setup`, `loading`, `assets`)
   */
  | 'suppressed'
  /**
   * held for later: a client packet taken by the migration buffer (Freeze to the end of the drain),
   * or a frame of the migration target held for the cutover (its JoinWorld and what came before it)
   */
  | 'buffered'
  /**
   * sent again: a buffered client packet delivered to a backend by a drain, or the client's setup
   * replayed to a migration target from the session record (Connect, RequestAssets, ViewRadius, PlayerOptions)
   */
  | 'replayed'
  /** written by the kit itself (cutover cleanup, a password answer, a referral or Disconnect of its own, a hook's injection) */
  | 'injected'
  /** went nowhere, by the named `rule` */
  | 'dropped';

export interface TraceRecord {
  /** ms since the epoch. */
  readonly time: number;
  readonly session: SessionId;
  /** The protocol generation of the session (`G1`, `G2`, `G3`). */
  readonly generation?: string | undefined;
  /** `ToServer`: the client's direction (from the client, or from the kit to a backend); `ToClient`: the server's. */
  readonly direction: PacketDirection;
  /** The stream by its channel: `Default` (the bidirectional stream), `Chunks`, `WorldMap` (G3's uni streams). */
  readonly channel: ChannelName;
  /**
   * Which connection the frame travelled on: `client` (the client's, whichever way), or `backend`
   * (a backend link only: the kit playing the client to a migration target, whose frames the client
   * never sees). Absent in older traces: `client`.
   */
  readonly link?: 'client' | 'backend' | undefined;
  /** The backend it came from (`ToClient`) or went to (`ToServer`), where there is one. */
  readonly backend?: BackendId | undefined;
  readonly id: number;
  readonly name: string;
  /** Whole frame, header included. */
  readonly size: number;
  readonly phase: Phase;
  /** The migration in flight, if any. */
  readonly migrationId?: MigrationId | undefined;
  readonly action: TraceAction;
  /** The session record took data from it (the capture tap reads this packet: docs/session.md). */
  readonly captured?: true | undefined;
  /** For `dropped`: the rule; for a target's suppressed setup: the step (`handshake`, `setup`, `loading`, `assets`). */
  readonly rule?: string | undefined;
}

/** Receives every trace record of a session (synchronously: keep it cheap, or queue). */
export interface TraceRecorder {
  record(entry: TraceRecord): void;
}

/** A recorder that writes one JSON object per line through `write` (e.g. a file stream's `write`). */
export function jsonlTraceRecorder(write: (line: string) => void): TraceRecorder {
  return {
    record(entry) {
      write(`${JSON.stringify(entry)}\n`);
    },
  };
}

/** A recorder that keeps the last `limit` records in memory (tests, debugging). */
export function memoryTraceRecorder(limit = 10_000): TraceRecorder & { readonly records: readonly TraceRecord[] } {
  const records: TraceRecord[] = [];
  return {
    records,
    record(entry) {
      records.push(entry);
      if (records.length > limit) records.splice(0, records.length - limit);
    },
  };
}
