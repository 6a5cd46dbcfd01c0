// The one error a bad setting raises: its message names the setting (or the alias set) and what is wrong.
export class ConfigError extends Error {
  override name = 'ConfigError';
}
