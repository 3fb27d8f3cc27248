/**
 * The Electron main process: a thin shell around GuiBackend. It does not serve FUSE (each mount is a
 * separate daemon process started by mountOverlay) and never reads a mountpoint.
 *
 * Hygiene: contextIsolation + sandbox, no nodeIntegration, CSP in index.html, navigation and new
 * windows denied, IPC senders checked, IPC arguments validated (by GuiBackend), and new overlays,
 * imports and exports may only use paths the user chose in a dialog or dropped on the window (or the
 * defaults).
 */
import { app, BrowserWindow, dialog, ipcMain, session, shell, type IpcMainInvokeEvent, type WebContents } from 'electron';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { GuiBackend, UserError, type PathRole } from './gui/backend';
import * as commands from './commands';
import type { ExportFormat } from './gui/api';
import { ArgumentError, asExportFormat, asString } from './gui/validate';

const rendererIndex = path.resolve(__dirname, '..', 'renderer', 'index.html');
const rendererUrl = pathToFileURL(rendererIndex).href;

/** Paths the user chose (dialog or drop), by role. */
const chosen = new Map<PathRole, Set<string>>([
  ['base', new Set()],
  ['storage', new Set()],
  ['mountpoint', new Set()],
  ['archive', new Set()],
  ['export', new Set()],
]);

/** Save-dialog filters per export format. */
const EXPORT_FILTERS: Readonly<Record<ExportFormat, { name: string; extensions: string[] }>> = {
  tar: { name: 'Tar archive', extensions: ['tar'] },
  'tar.gz': { name: 'Gzip-compressed tar archive', extensions: ['tar.gz'] },
  'tar.zst': { name: 'Zstandard-compressed tar archive', extensions: ['tar.zst'] },
  iso: { name: 'ISO 9660 image', extensions: ['iso'] },
};

let backend: GuiBackend | null = null;
let mainWindow: BrowserWindow | null = null;
const subscribers = new Set<WebContents>();

function trustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return (
    mainWindow !== null &&
    event.sender === mainWindow.webContents &&
    frame !== null &&
    frame === event.sender.mainFrame &&
    frame.url.split(/[?#]/)[0] === rendererUrl
  );
}

function plainError(error: unknown): Error {
  // Only the message crosses IPC; keep it one plain line.
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new Error(error instanceof UserError || error instanceof ArgumentError ? message : `Unexpected error: ${message}`);
}

function handle(channel: string, fn: (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>): void {
  ipcMain.handle(channel, async (event, ...args: unknown[]) => {
    if (!trustedSender(event)) throw new Error('Refused: this request does not come from the minifo window.');
    try {
      return await fn(event, ...args);
    } catch (error) {
      throw plainError(error);
    }
  });
}

function registerIpc(b: GuiBackend): void {
  handle('minifo:call', async (_event, method, args) => b.call(method, args));

  handle('minifo:subscribe', async (event) => {
    const wc = event.sender;
    if (subscribers.has(wc)) return true;
    subscribers.add(wc);
    const off = b.onEvent((e) => {
      if (!wc.isDestroyed()) wc.send('minifo:event', e);
    });
    wc.once('destroyed', () => {
      off();
      subscribers.delete(wc);
    });
    return true;
  });

  handle('minifo:chooseBase', async (_event, kind) => {
    if (kind !== 'folder' && kind !== 'image') throw new ArgumentError('Choose a folder or an image.');
    if (!mainWindow) return null;
    const result = await dialog.showOpenDialog(mainWindow, {
      title: kind === 'folder' ? 'Choose the base folder' : 'Choose the base image',
      properties: kind === 'folder' ? ['openDirectory'] : ['openFile'],
      filters: kind === 'image' ? [{ name: 'Disc images', extensions: ['iso', 'img'] }, { name: 'All files', extensions: ['*'] }] : undefined,
    });
    const picked = result.canceled ? undefined : result.filePaths[0];
    if (!picked) return null;
    chosen.get('base')?.add(path.resolve(picked));
    return picked;
  });

  handle('minifo:chooseFolder', async (_event, purpose) => {
    if (purpose !== 'storage' && purpose !== 'mountpoint') throw new ArgumentError('Unknown folder purpose.');
    if (!mainWindow) return null;
    const result = await dialog.showOpenDialog(mainWindow, {
      title: purpose === 'storage' ? 'Choose the storage folder' : 'Choose an empty folder as the mountpoint',
      properties: ['openDirectory', 'createDirectory'],
    });
    const picked = result.canceled ? undefined : result.filePaths[0];
    if (!picked) return null;
    chosen.get(purpose)?.add(path.resolve(picked));
    return picked;
  });

  handle('minifo:chooseExportPath', async (_event, formatArg, suggestedArg) => {
    const format = asExportFormat(formatArg);
    const suggested = asString(suggestedArg, 'The suggested file name', 255);
    if (suggested.includes('/') || suggested.startsWith('.')) throw new ArgumentError('The suggested file name must be a plain file name.');
    if (!mainWindow) return null;
    const result = await dialog.showSaveDialog(mainWindow, {
      title: format === 'iso' ? 'Export the merged view as an ISO image' : 'Export the changes as an archive',
      defaultPath: path.join(app.getPath('home'), suggested),
      filters: [EXPORT_FILTERS[format]],
      properties: ['createDirectory', 'showOverwriteConfirmation'],
    });
    if (result.canceled || !result.filePath) return null;
    // Some file choosers drop a double extension such as .tar.gz: put it back.
    const ext = `.${format}`;
    const picked = path.resolve(result.filePath.endsWith(ext) ? result.filePath : result.filePath + ext);
    chosen.get('export')?.add(picked);
    return picked;
  });

  handle('minifo:chooseArchive', async () => {
    if (!mainWindow) return null;
    const result = await dialog.showOpenDialog(mainWindow, {
      title: 'Choose a changes archive to import',
      properties: ['openFile'],
      filters: [{ name: 'minifo changes archives', extensions: ['tar', 'gz', 'zst'] }, { name: 'All files', extensions: ['*'] }],
    });
    const picked = result.canceled ? undefined : result.filePaths[0];
    if (!picked) return null;
    chosen.get('archive')?.add(path.resolve(picked));
    return picked;
  });

  handle('minifo:dropped', async (_event, p) => {
    if (typeof p !== 'string' || !path.isAbsolute(p) || p.includes('\0')) throw new ArgumentError('Not a dropped file.');
    if (!/\.(iso|img)$/i.test(p)) throw new UserError('Only disc images (.iso) can be dropped.');
    chosen.get('base')?.add(path.resolve(p));
    return p;
  });
}

function createWindow(): void {
  mainWindow = new BrowserWindow({
    width: 1360,
    height: 860,
    minWidth: 900,
    minHeight: 560,
    title: 'minifo',
    show: false,
    webPreferences: {
      preload: path.join(__dirname, 'preload.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  });
  const wc = mainWindow.webContents;
  wc.on('will-navigate', (event) => event.preventDefault());
  wc.on('will-redirect', (event) => event.preventDefault());
  wc.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  // Dropped files must not navigate the window.
  wc.on('will-attach-webview', (event) => event.preventDefault());
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
  void mainWindow.loadFile(rendererIndex);
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
  await app.whenReady();
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  backend = new GuiBackend({
    commands,
    mode: 'electron',
    allowPath: (p, role) => chosen.get(role)?.has(p) ?? false,
  });
  registerIpc(backend);
  createWindow();
  void backend.remountAtStart();

  app.on('window-all-closed', () => {
    backend?.close();
    app.quit();
  });
}

void main();
