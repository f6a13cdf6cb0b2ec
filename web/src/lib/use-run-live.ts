// One run as its page shows it, kept live: the detail, the artifacts, the per-test results, the log
// and the state of the connection to the run's room. The room socket streams log chunks, test results
// and status; on every reconnect it resumes from the last seq the log buffer holds, and a gap (or a
// viewer far behind the stored log) is filled over HTTP. A status change reloads the detail, since a
// new status brings other fields with it (counts, end reason, the pending or finished analysis), and a
// final status reloads the artifacts, which are uploaded as the run ends. The page acknowledges the
// log it has applied; a room that finds it too far behind sends `resync` and closes the socket
// (LIVE_RESYNC), and the reconnect resumes from the last seq as after any other drop.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { isFinal, type RunStatus } from '../../../worker/contracts/vocabulary';
import { api } from './api';
import { roomAcks } from './live-ack';
import { openLive, type LiveState } from './live-socket';
import { logBackfiller, type LogPage } from './log-backfill';
import { LogBuffer } from './log-buffer';
import { mergeResults } from './test-results';
import type { Artifact, Execution, RoomMessage, TestResult } from './types';
import { useApi, type ApiResource } from './use-api';
import { useFrameVersion } from './use-frame-version';

export type RunLive = {
  /** The detail; its status is the latest known, from the socket or from the detail endpoint. */
  execution: ApiResource<Execution>;
  artifacts: ApiResource<Artifact[]>;
  /** One row per test, its latest attempt. */
  results: TestResult[];
  log: LogBuffer;
  /** Changes (at most once per frame) whenever `log` does: the terminal re-renders on it. */
  logVersion: number;
  connection: LiveState;
};

export function useRunLive(taskId: string): RunLive {
  const base = `/api/executions/${encodeURIComponent(taskId)}`;
  const execution = useApi<Execution>(base);
  const artifacts = useApi<Artifact[]>(`${base}/artifacts`);
  const [results, setResults] = useState<TestResult[]>([]);
  const [connection, setConnection] = useState<LiveState>('connecting');
  const log = useMemo(() => new LogBuffer(), [taskId]);
  const [logVersion, bumpLogVersion] = useFrameVersion();
  // The socket's handlers outlive renders: they read the status from here, not from a stale closure.
  const status = useRef<RunStatus | null>(null);
  status.current = execution.data?.status ?? status.current;

  useEffect(() => {
    api<TestResult[]>(`${base}/tests`).then(
      (r) => setResults((cur) => mergeResults(cur, r)),
      () => {
        /* shown live instead */
      },
    );
  }, [base]);

  useEffect(() => {
    const backfill = logBackfiller(log, (since) => api<LogPage>(`${base}/logs?since=${since}`), bumpLogVersion);
    const statusChanged = (next: RunStatus) => {
      if (status.current === next) return;
      status.current = next;
      execution.setData((e) => (e ? { ...e, status: next } : e));
      void execution.reload();
      if (isFinal(next)) void artifacts.reload();
    };
    const acks = roomAcks((text) => socket.send(text));
    const onMessage = (m: RoomMessage) => {
      if (m.type === 'log') {
        if (log.push(m.chunks).missingAfter !== null) void backfill();
        acks.applied(log.lastSeq);
        bumpLogVersion();
      } else if (m.type === 'hello') {
        if (m.status) statusChanged(m.status);
        if (m.lastSeq > log.lastSeq + 5000) void backfill();
      } else if (m.type === 'tests') {
        setResults((cur) => mergeResults(cur, m.results));
      } else if (m.type === 'status') {
        statusChanged(m.status);
      } else if (m.type === 'truncated') {
        log.note(`[agnox] the stored log reached its size limit at chunk ${m.atSeq}; later output was dropped`);
        bumpLogVersion();
      }
    };
    const socket = openLive<RoomMessage>({
      path: `${base}/live`,
      taskId,
      since: () => log.lastSeq,
      onState: setConnection,
      // A room closes normally once the run is over and the log is complete: no reason to come back.
      shouldReconnect: (code) => !(code === 1000 && isFinal(status.current)),
      onMessage,
    });
    return () => {
      acks.stop();
      socket.close();
    };
  }, [base, taskId, log]);

  return { execution, artifacts, results, log, logVersion, connection };
}
