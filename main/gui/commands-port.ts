/**
 * The slice of main/commands.ts the GUI back end uses. GuiBackend takes it as a parameter, so the GUI
 * compiles and is unit-tested on its own; `loadCommands()` gives the real module.
 */
import type { ChangedEvent, ControlMethods, MethodName, OverlayInfo } from '../../app/control/protocol';

export interface MountRequest {
  base: string;
  storage: string;
  mountpoint: string;
  options?: string[];
}

export interface CommandsPort {
  validateMount(req: MountRequest): Promise<void>;
  mountOverlay(req: MountRequest): Promise<OverlayInfo>;
  unmountOverlay(target: string): Promise<void>;
  overlayState(target: string): Promise<{ mounted: boolean; info?: OverlayInfo }>;
  controlCall<M extends MethodName>(
    target: string,
    method: M,
    params: ControlMethods[M]['params'],
  ): Promise<ControlMethods[M]['result']>;
  subscribeChanges(target: string, onEvent: (e: ChangedEvent) => void): Promise<() => void>;
}

const REQUIRED: readonly (keyof CommandsPort)[] = [
  'validateMount',
  'mountOverlay',
  'unmountOverlay',
  'overlayState',
  'controlCall',
  'subscribeChanges',
];

/**
 * Loads main/commands (build/main/commands.js). Throws a plain-words error when it is missing.
 * (A plain require keeps this file compiling before main/commands.ts exists; `commands-wire.ts`
 * checks the types once it does.)
 */
export function loadCommands(): CommandsPort {
  let mod: Partial<CommandsPort>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('../commands') as Partial<CommandsPort>;
  } catch (error) {
    throw new Error(`minifo's command module could not be loaded: ${(error as Error).message}`);
  }
  for (const name of REQUIRED) {
    if (typeof mod[name] !== 'function') throw new Error(`minifo's command module has no ${name}()`);
  }
  return mod as CommandsPort;
}

/** True when main/commands is present and complete (used by tests to skip with a clear message). */
export function commandsAvailable(): { ok: true } | { ok: false; reason: string } {
  try {
    loadCommands();
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}
