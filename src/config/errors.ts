// The configuration's error and exit code, apart from the loader (which loads the schema library):
// the CLI maps them to its exit code on every run.
export const EX_CONFIG = 78;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly key: string | null,
    readonly expected: string,
  ) {
    super(`${source}${key ? `: "${key}"` : ""}: ${expected}`);
    this.name = "ConfigError";
  }
}
