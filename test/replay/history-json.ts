import { temporal } from '@temporalio/proto';

const History = temporal.api.history.v1.History;

/** One file of test/fixtures/histories: a recorded history and what replaying it needs. */
export interface HistoryFixture {
  scenario: string;
  workflowType: 'refreshAllClients' | 'refreshClient';
  workflowId: string;
  /** False when the history was fetched while the execution was still running. */
  complete: boolean;
  /** Commit whose workflow code produced the history. */
  recordedFrom: string;
  /** The history as protobufjs' `toObject` gives it: int64s, enums and bytes (base64) as strings. */
  history: { events: Record<string, unknown>[] };
}

/*
 * Not @temporalio/common's historyToJSON/historyFromJSON: in this install @temporalio/common
 * and @temporalio/proto each carry their own copy of protobufjs, so both throw "type must be a
 * Type". protobufjs' own object form, from and to the SDK's History class, round-trips exactly.
 */

/** A fetched history as plain JSON-safe data. */
export function historyToPlain(history: temporal.api.history.v1.IHistory): HistoryFixture['history'] {
  return History.toObject(History.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  }) as HistoryFixture['history'];
}

/** A fixture's history back as the message `Worker.runReplayHistories` takes. */
export function historyFromPlain(plain: HistoryFixture['history']): temporal.api.history.v1.History {
  return History.fromObject(plain);
}
