// Preact with htm (tagged templates instead of JSX, so there is no build step) and the hooks, from one place.
import htm from '/assets/vendor/htm.mjs';
import { Fragment, h, render } from '/assets/vendor/preact.mjs';

export {
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from '/assets/vendor/preact-hooks.mjs';
export { Fragment, render };
export const html = htm.bind(h);
