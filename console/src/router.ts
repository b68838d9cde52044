import { useEffect, useState } from 'preact/hooks';

/** Where the console is mounted; every screen is a path under it (the server answers index.html for all). */
export const BASE = '/console';

/** The screen path of the current location: `/console/escalations/esc_1` → `/escalations/esc_1`. */
export function currentPath(): string {
  const p = location.pathname;
  const rest = p.startsWith(BASE) ? p.slice(BASE.length) : p;
  return rest === '' ? '/' : rest;
}

const listeners = new Set<() => void>();

/** Go to a screen (client-side: no reload, so the in-memory session stays). */
export function navigate(path: string, replace = false): void {
  const url = `${BASE}${path === '/' ? '' : path}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
}

/** The current screen path, re-rendering on navigation and on the browser's back/forward. */
export function useRoute(): string {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const update = () => setPath(currentPath());
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

/** A link to a screen that navigates client-side on a plain click and stays a real link otherwise. */
export function onLinkClick(path: string): (e: MouseEvent) => void {
  return (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(path);
  };
}

/** Repeat `fn` every `ms` while mounted (and once at once); a failed run waits for the next tick. */
export function usePoll(fn: () => Promise<void> | void, ms: number, deps: unknown[]): void {
  useEffect(() => {
    let stopped = false;
    const run = () => {
      if (!stopped) Promise.resolve(fn()).catch(() => undefined);
    };
    run();
    const id = setInterval(run, ms);
    return () => {
      stopped = true;
      clearInterval(id);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
}

/** The current time, ticking every `ms` (countdowns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}
