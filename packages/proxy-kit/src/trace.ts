/**
 * The trace recorder: one record per frame the proxy session handles, in either direction, with what
 * it did with it. Records carry names and sizes only — never a payload, a token or a ticket — so a
 * trace can be kept and shared (`handoff trace` reads the JSONL form).
 */
import type { BackendId, Phase, SessionId } from '@handoff/types';
import type { ChannelName } from './contracts.js';
import type { PacketDirection } from './forward/hooks.js';

/** What the session did with a frame. */
export type TraceAction =
  /** passed on unchanged */
  | 'forwarded'
  /** a packet hook replaced it (the record is the replacement's) */
  | 'rewritten'
  /** kept back by the kit (a backend's Disconnect or ClientReferral it acted on) */
  | 'suppressed'
  /** taken by the migration buffer (client packets, Freeze to the end of the drain) */
  | 'buffered'
  /** a buffered client packet delivered to a backend by a drain */
  | 'replayed'
  /** written by the kit itself (cutover cleanup, the rewritten JoinWorld, a hook's injection) */
  | 'injected'
  /** went nowhere, by the named `rule` */
  | 'dropped';

export interface TraceRecord {
  /** ms since the epoch. */
  readonly time: number;
  readonly session: SessionId;
  readonly direction: PacketDirection;
  readonly channel: ChannelName;
  /** The backend it came from (`ToClient`) or went to (`ToServer`), where there is one. */
  readonly backend?: BackendId | undefined;
  readonly id: number;
  readonly name: string;
  /** Whole frame, header included. */
  readonly size: number;
  readonly phase: Phase;
  readonly action: TraceAction;
  /** For `dropped`: the rule. */
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
