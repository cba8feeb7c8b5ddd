/** A link delivers received frames and transmits frames. pcap is one implementation; tests use others. */
export interface Link {
  /** Our interface name (for messages). */
  readonly name: string;
  /** Transmit `length` bytes of `frame`. The buffer may be reused right after the call returns. */
  send(frame: Buffer, length: number): void;
  /** Register the receive handler. `frame` is only valid during the call. */
  onFrame(handler: FrameHandler): void;
  close(): void;
}

export type FrameHandler = (frame: Buffer, length: number, timeMs: number) => void;
