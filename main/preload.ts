/**
 * Electron preload (sandboxed, context-isolated): exposes `window.minifo` with named functions only.
 * A sandboxed preload cannot load local modules, so this file imports types only.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { ExportFormat, ForgetOptions, GuiEvent, ImportRequest, MinifoBridge, NewOverlayRequest } from './gui/api';

const call = <T>(method: string, ...args: unknown[]): Promise<T> => ipcRenderer.invoke('minifo:call', method, args) as Promise<T>;

const bridge: MinifoBridge = {
  capabilities: () => call('capabilities'),
  listOverlays: () => call('listOverlays'),
  defaultsFor: (name: string) => call('defaultsFor', name),
  validateOverlay: (req: NewOverlayRequest) => call('validateOverlay', req),
  addOverlay: (req: NewOverlayRequest) => call('addOverlay', req),
  mount: (name: string) => call('mount', name),
  unmount: (name: string) => call('unmount', name),
  forget: (name: string, options: ForgetOptions) => call('forget', name, options),
  setRemountAtStart: (name: string, on: boolean) => call('setRemountAtStart', name, on),
  changes: (name: string) => call('changes', name),
  readdir: (name: string, path: string) => call('readdir', name, path),
  entry: (name: string, path: string) => call('entry', name, path),
  revert: (name: string, paths: string[] | 'all') => call('revert', name, paths),
  undoRevert: (name: string, trashId: string) => call('undoRevert', name, trashId),
  meta: (name: string) => call('meta', name),
  openInFileManager: (name: string) => call('openInFileManager', name),
  trySample: () => call('trySample'),
  mergePreview: (name: string) => call('mergePreview', name),
  merge: (name: string, actionId: string) => call('merge', name, actionId),
  exportOverlay: (name: string, actionId: string, out: string, format: ExportFormat) =>
    call('exportOverlay', name, actionId, out, format),
  importArchive: (actionId: string, req: ImportRequest) => call('importArchive', actionId, req),
  cancelAction: (actionId: string) => call('cancelAction', actionId),
  chooseBase: (kind: 'folder' | 'image') => ipcRenderer.invoke('minifo:chooseBase', kind) as Promise<string | null>,
  chooseFolder: (purpose: 'storage' | 'mountpoint') =>
    ipcRenderer.invoke('minifo:chooseFolder', purpose) as Promise<string | null>,
  chooseExportPath: (format: ExportFormat, suggestedName: string) =>
    ipcRenderer.invoke('minifo:chooseExportPath', format, suggestedName) as Promise<string | null>,
  chooseArchive: () => ipcRenderer.invoke('minifo:chooseArchive') as Promise<string | null>,
  droppedFilePath: async (file: unknown) => {
    // Only a real dropped File has a path; the renderer cannot make one up.
    let p = '';
    try {
      p = webUtils.getPathForFile(file as Parameters<typeof webUtils.getPathForFile>[0]);
    } catch {
      return null;
    }
    if (!p) return null;
    return ipcRenderer.invoke('minifo:dropped', p) as Promise<string | null>;
  },
  onEvent: (listener: (event: GuiEvent) => void) => {
    const handler = (_e: IpcRendererEvent, event: GuiEvent): void => listener(event);
    ipcRenderer.on('minifo:event', handler);
    void ipcRenderer.invoke('minifo:subscribe');
    return () => {
      ipcRenderer.removeListener('minifo:event', handler);
    };
  },
};

contextBridge.exposeInMainWorld('minifo', bridge);
