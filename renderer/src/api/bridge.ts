/**
 * `window.minifo`: set by the Electron preload, or (web mode) by the small client shim below, which
 * implements the same functions over fetch (token in the X-Minifo-Token header) and SSE.
 */
import type { GuiApi, GuiEvent, GuiMethod, MinifoBridge } from '../../../main/gui/api';
import { GUI_METHODS } from '../../../main/gui/api';

declare global {
  interface Window {
    minifo?: MinifoBridge;
  }
}

/** An error whose message is already in plain words (from the back end). */
export class ApiError extends Error {}

function createWebBridge(token: string): MinifoBridge {
  const call = async (method: GuiMethod, args: unknown[]): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(`/api/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Minifo-Token': token },
        body: JSON.stringify({ args }),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new ApiError('The minifo web host is not answering. Is "minifo ui" still running?');
    }
    let body: { ok: boolean; result?: unknown; error?: { message: string } };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new ApiError(`The minifo web host answered ${res.status} ${res.statusText}.`);
    }
    if (!body.ok) throw new ApiError(body.error?.message ?? 'The request failed.');
    return body.result;
  };
  const api = {} as Record<GuiMethod, (...args: unknown[]) => Promise<unknown>>;
  for (const method of GUI_METHODS) api[method] = (...args: unknown[]) => call(method, args);

  const listeners = new Set<(e: GuiEvent) => void>();
  let source: EventSource | null = null;
  const connect = (): void => {
    source = new EventSource(`/events?token=${encodeURIComponent(token)}`);
    source.onmessage = (message) => {
      let event: GuiEvent;
      try {
        event = JSON.parse(message.data as string) as GuiEvent;
      } catch {
        return;
      }
      for (const l of listeners) l(event);
    };
    // After a reconnect, everything may be stale.
    source.onopen = () => {
      for (const l of listeners) l({ type: 'overlays' });
    };
  };

  return {
    ...(api as unknown as GuiApi),
    chooseBase: async () => null,
    chooseFolder: async () => null,
    droppedFilePath: async () => null,
    chooseExportPath: async () => null,
    chooseArchive: async () => null,
    onEvent(listener) {
      listeners.add(listener);
      if (!source) connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && source) {
          source.close();
          source = null;
        }
      };
    },
  };
}

let bridge: MinifoBridge | null = null;

export function getBridge(): MinifoBridge {
  if (bridge) return bridge;
  if (window.minifo) {
    bridge = window.minifo;
    return bridge;
  }
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  bridge = createWebBridge(token);
  window.minifo = bridge;
  return bridge;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    // Electron wraps IPC errors: "Error invoking remote method 'minifo:call': Error: message"
    return error.message.replace(/^Error invoking remote method '[^']+': (?:\w*Error: )?/, '');
  }
  return String(error);
}
