// A job's output (stdout and stderr together) is forwarded up to a cap. Past it the agent keeps
// reading the container's output, so the container never blocks on a full pipe and runs to its end,
// but drops it: memory stays bounded however much a job prints and however slowly the room acks.
export class OutputCap {
  private forwarded = 0;
  /** Bytes read past the cap and dropped. */
  dropped = 0;

  constructor(readonly maxBytes: number) {}

  get truncated(): boolean {
    return this.dropped > 0;
  }

  /** The part of `data` still within the cap: all of it, its beginning, or nothing. */
  take(data: Buffer): Buffer {
    const room = this.maxBytes - this.forwarded;
    if (data.length <= room) {
      this.forwarded += data.length;
      return data;
    }
    const kept = data.subarray(0, Math.max(0, room));
    this.forwarded += kept.length;
    this.dropped += data.length - kept.length;
    return kept;
  }
}

/** 19 MiB, 0.5 MiB, 64 KiB. */
export function formatSize(bytes: number): string {
  const mib = bytes / 1024 / 1024;
  if (mib >= 0.5) return `${Math.round(mib * 10) / 10} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}
