import { useCallback, useRef, useState } from 'react';
import type { Progress } from '../../../main/gui/api';
import { getBridge } from '../api/bridge';

export interface ActionRunner {
  running: boolean;
  /** The latest progress event of the running action (null before the first). */
  progress: Progress | null;
  /** Runs `work` with a fresh action id; progress events with that id update `progress` meanwhile. */
  run: <T>(work: (actionId: string) => Promise<T>) => Promise<T>;
  /** Asks the back end to cancel the running action; its call then fails with "… was cancelled.". */
  cancel: () => void;
}

/** One long action (merge, export, import) at a time, with its progress and cancel. */
export function useAction(): ActionRunner {
  const bridge = getBridge();
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);
  const current = useRef<string | null>(null);

  const run = useCallback(
    async <T,>(work: (actionId: string) => Promise<T>): Promise<T> => {
      const actionId = crypto.randomUUID();
      // Listen before starting, so the first event cannot slip past.
      const off = bridge.onEvent((event) => {
        if (event.type === 'progress' && event.action === actionId) setProgress(event.progress);
      });
      current.current = actionId;
      setProgress(null);
      setRunning(true);
      try {
        return await work(actionId);
      } finally {
        off();
        current.current = null;
        setRunning(false);
      }
    },
    [bridge],
  );

  const cancel = useCallback(() => {
    const id = current.current;
    if (id) void bridge.cancelAction(id);
  }, [bridge]);

  return { running, progress, run, cancel };
}
