// A job container's stdout and stderr on their way to the log: decoded as UTF-8 (a character split
// across two reads stays whole), masked (also a secret split across two writes), and capped at the
// agent's log size (past it the output is still read, so the container never blocks, but dropped).
import { StringDecoder } from 'node:string_decoder';
import { MaskingStream, type SecretMasker } from '../../worker/lib/secret-masker';
import type { LogStreamer } from './log-streamer';
import { formatSize, OutputCap } from './output-cap';

type OutputStream = 'stdout' | 'stderr';

export class JobOutput {
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private readonly masks: Record<OutputStream, MaskingStream>;
  private readonly cap: OutputCap;
  private closed = false;

  /** `system` writes the agent's own line into the log (masked). */
  constructor(
    private readonly streamer: LogStreamer,
    masker: SecretMasker,
    maxBytes: number,
    private readonly system: (line: string) => void,
  ) {
    this.masks = { stdout: new MaskingStream(masker), stderr: new MaskingStream(masker) };
    this.cap = new OutputCap(maxBytes);
  }

  /** What Docker's attach stream delivers. */
  take(stream: OutputStream, data: Buffer): void {
    const kept = this.cap.take(data); // counts what is dropped, too
    if (this.closed) return;
    if (kept.length) this.streamer.write(stream, this.masks[stream].push(this.decoders[stream].write(kept)));
    if (this.cap.truncated) {
      this.close();
      this.system(`log truncated at ${formatSize(this.cap.maxBytes)}; further output dropped`);
    }
  }

  /** The output is over (the container exited): the rest goes to the log, and how much the cap dropped. */
  end(): void {
    this.close();
    if (this.cap.truncated) this.system(`${formatSize(this.cap.dropped)} of output past the log cap was dropped`);
  }

  /** Sends what the decoders and maskers still hold; after it, output is no longer forwarded. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of ['stdout', 'stderr'] as const) this.streamer.write(s, this.masks[s].push(this.decoders[s].end()) + this.masks[s].end());
  }
}
