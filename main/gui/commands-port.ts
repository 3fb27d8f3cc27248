/**
 * The slice of main/commands.ts the GUI back end uses. GuiBackend takes it as a parameter so its
 * validation and the web host's security checks can be unit-tested without mounting anything; the
 * processes pass the real module (`import * as commands from '../commands'`).
 */
import type { ImportResult } from '../../app/changes/import';
import type { ActionOptions } from '../../app/changes/progress';
import type { CallOptions } from '../../app/control/client';
import type { ChangedEvent, ControlMethods, MethodName, OverlayInfo } from '../../app/control/protocol';

import type { MountRequest } from '../commands';

export type { MountRequest };

export interface CommandsPort {
  validateMount(req: MountRequest): Promise<void>;
  mountOverlay(req: MountRequest): Promise<OverlayInfo>;
  unmountOverlay(target: string): Promise<void>;
  overlayState(target: string): Promise<{ mounted: boolean; info?: OverlayInfo }>;
  controlCall<M extends MethodName>(
    target: string,
    method: M,
    params: ControlMethods[M]['params'],
    opts?: CallOptions,
  ): Promise<ControlMethods[M]['result']>;
  importArchive(archive: string, storageDir: string, opts?: ActionOptions & { base?: string }): Promise<ImportResult>;
  subscribeChanges(target: string, onEvent: (e: ChangedEvent) => void): Promise<() => void>;
}
