/**
 * The error type that every data reader throws for bad input.
 *
 * @module
 */

/** Where a data error happened: the file and, inside an archive, the member. */
export interface DataErrorContext {
  /** The file path (or another label for the bytes, e.g. `"<memory>"`). */
  file?: string;
  /** The member of an `.npz` archive, e.g. `"train_images.npy"`. */
  member?: string;
}

/**
 * A file or archive member that cannot be read as expected. The message names
 * the file, the member (when inside an archive), what was wrong and how to fix
 * it; `file` and `member` are also kept as fields for programmatic use.
 */
export class DataError extends Error {
  /** The file that was being read, when known. */
  readonly file?: string;
  /** The archive member that was being read, when known. */
  readonly member?: string;

  /** Build the error; `problem` is prefixed with the file and member. */
  constructor(problem: string, context: DataErrorContext = {}) {
    super(`${where(context)}${problem}`);
    this.name = "DataError";
    this.file = context.file;
    this.member = context.member;
  }
}

function where(context: DataErrorContext): string {
  const parts: string[] = [];
  if (context.file) parts.push(context.file);
  if (context.member) parts.push(`member "${context.member}"`);
  return parts.length ? `${parts.join(", ")}: ` : "";
}
