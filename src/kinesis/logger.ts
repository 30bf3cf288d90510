/** The logging surface the Kinesis adapters accept (pino's Logger satisfies it); optional everywhere. */
export interface KinesisLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
