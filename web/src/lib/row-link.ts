// A list row that opens a page like a link does: a click anywhere but on its own controls opens it,
// a middle or Ctrl/⌘ click opens it in a new tab, and the focused row opens with Enter. The row
// keeps a real <a> for its title, for screen readers, "copy link" and right-click menus.
import { navigate } from './router';

/** Controls inside the row do their own thing. */
const OWN_CONTROLS = 'a, button, input, select, textarea, label, summary, [role="button"]';

const onControl = (e: Event) => e.target instanceof Element && e.target.closest(OWN_CONTROLS) !== null;
// A drag that selected text in the row is not a click on it.
const selectingText = () => (window.getSelection()?.toString() ?? '') !== '';

function open(href: string, newTab: boolean) {
  if (newTab) window.open(href, '_blank', 'noopener');
  else navigate(href);
}

export function rowLink(href: string) {
  return {
    tabIndex: 0,
    onClick: (e: MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || onControl(e) || selectingText()) return;
      open(href, e.ctrlKey || e.metaKey || e.shiftKey);
    },
    onAuxClick: (e: MouseEvent) => {
      if (e.button !== 1 || onControl(e)) return;
      e.preventDefault();
      open(href, true);
    },
    onKeyDown: (e: KeyboardEvent) => {
      if (e.key !== 'Enter' || e.target !== e.currentTarget) return;
      e.preventDefault();
      open(href, e.ctrlKey || e.metaKey);
    },
  };
}
