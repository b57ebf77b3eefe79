import { useEffect, useRef } from "react";

const ACTIVITY_EVENTS = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart", "input"] as const;

/**
 * Calls `onIdle` once after `minutes` without keyboard, mouse or touch activity.
 * Activity only records a timestamp; the single timer re-arms itself for the time left,
 * so a moving mouse costs nothing and a laptop waking from sleep locks at once.
 */
export function useInactivity(minutes: number, onIdle: () => void, enabled = true): void {
  const onIdleRef = useRef(onIdle);
  useEffect(() => {
    onIdleRef.current = onIdle;
  }, [onIdle]);

  useEffect(() => {
    if (!enabled || minutes <= 0) return;
    const limit = minutes * 60_000;
    let last = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let fired = false;

    const check = () => {
      const idle = Date.now() - last;
      if (idle >= limit) {
        fired = true;
        onIdleRef.current();
      } else {
        timer = setTimeout(check, limit - idle);
      }
    };
    const touch = () => {
      last = Date.now();
    };
    const onVisible = () => {
      if (document.visibilityState === "visible" && !fired) {
        clearTimeout(timer);
        check();
      }
    };

    timer = setTimeout(check, limit);
    for (const name of ACTIVITY_EVENTS) window.addEventListener(name, touch, { capture: true, passive: true });
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearTimeout(timer);
      for (const name of ACTIVITY_EVENTS) window.removeEventListener(name, touch, { capture: true });
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [minutes, enabled]);
}
