// A tiny element builder: the client is a handful of screens, which plain DOM calls draw without a framework.
type Child = Node | string | false | null | undefined;
type Attributes = Record<string, string | boolean | number | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  element.append(
    ...children.filter((child): child is Node | string => child !== false && child !== null && child !== undefined),
  );
  return element;
}

/** Replaces a container's children, keeping keyboard focus on the element with the same data-key, if any. */
export function replaceChildren(container: Element, children: Node[]): void {
  const focused =
    document.activeElement instanceof HTMLElement && container.contains(document.activeElement)
      ? document.activeElement.dataset.key
      : undefined;
  container.replaceChildren(...children);
  if (focused) container.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

let ids = 0;
/** A unique id for label/aria wiring. */
export const uniqueId = (prefix: string): string => `${prefix}-${++ids}`;

export const time = (iso: string): string =>
  new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
