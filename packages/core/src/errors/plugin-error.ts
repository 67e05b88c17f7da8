import { EkiplError } from './ekipl-error.js';

const marker = 'ekipl.error.plugin';
const symbol = Symbol.for(marker);

/** A plugin that cannot be found, loaded or used, or that broke its contract at run time. */
export class PluginError extends EkiplError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through Symbol.for
  private readonly [symbol] = true;
  /** The plugin reference as written in the config (`snis`, `ekipl-plugin-foo`, `./my-reward.mjs`). */
  readonly plugin: string;

  constructor(plugin: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PluginError';
    this.plugin = plugin;
  }

  static override isInstance(error: unknown): error is PluginError {
    return EkiplError.hasMarker(error, marker);
  }
}
