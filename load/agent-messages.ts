// What a fake agent process tells the load run over IPC.
import type { HttpSnapshot } from './http-stats';

export type AgentMessage =
  /** Registered and polling. */
  | { type: 'ready'; name: string; agentId: string }
  /** A poll answered with this job (`at`: epoch ms when the agent had it). */
  | { type: 'job'; name: string; taskId: string; attempt: number; at: number }
  /** The job is over and reported (or abandoned after a lost lease). */
  | { type: 'done'; name: string; taskId: string; status: string; lastSeq: number; at: number; logAcked: boolean; wsConnects: number }
  /** Warnings the agent logged (heartbeat failures, socket errors…), as they happen. */
  | { type: 'warn'; name: string; message: string }
  /** Drained: the process's HTTP counts, then it exits. */
  | { type: 'stats'; name: string; http: HttpSnapshot; cpuSeconds: number };

/** What the load run tells a fake agent. */
export type AgentCommand = { type: 'drain' };
